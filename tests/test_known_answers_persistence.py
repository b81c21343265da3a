"""save/load keeps every group of ``idata_`` and every fitted attribute, bit for bit.

One small fit per estimator (NUTS, so there are sampler statistics; ADVI for
``elbo_history_``) with ``compute_log_likelihood`` and
``sample_posterior_predictive(extend_inferencedata=True)``, so that ``idata_``
holds every kind of group. A round trip must give back the same groups,
variables, coordinates, dims, dtypes, attributes and values (compared as
bytes), and the same fitted attributes: a file that loads but has lost
``sample_stats``, a coordinate or a dtype fails here.
"""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from bayes_sklearn import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalLogisticRegression,
    HierarchicalRegression,
)

QUICK_NUTS = {"draws": 100, "tune": 100, "chains": 2, "progressbar": False, "random_state": 0}


def _frame():
    """A feature of mean 3 and sd 5, y around 1000, six groups with string labels."""
    rng = np.random.default_rng(11)
    n = 60
    X = pd.DataFrame({
        "a": 3.0 + 5.0 * rng.normal(size=n),
        "b": rng.uniform(1, 2, n),
        "g": np.repeat(["north", "south", "east", "west", "up", "down"], n // 6),
    })
    y = 1000.0 + 2.0 * X["a"].to_numpy() + rng.normal(size=n)
    labels = np.where(X["a"].to_numpy() + rng.logistic(size=n) > 3.0, "yes", "no")
    return X, y, labels


def _models():
    X, y, labels = _frame()
    three = np.array([0, 1, 2])[np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))]
    return {
        "linear nuts": (BayesianLinearRegression(**QUICK_NUTS), X[["a", "b"]], y),
        "logistic nuts three classes": (BayesianLogisticRegression(**QUICK_NUTS),
                                        X[["a", "b"]], three),
        "hierarchical nuts": (
            HierarchicalRegression(group="g", varying_slopes=["a"], **QUICK_NUTS), X, y),
        "hierarchical logistic nuts": (
            HierarchicalLogisticRegression(group="g", **QUICK_NUTS), X, labels),
        "linear advi": (BayesianLinearRegression(inference="advi", progressbar=False,
                                                 random_state=0), X[["a", "b"]], y),
    }


NAMES = list(_models())


@pytest.fixture(scope="module")
def fitted():
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 100 draws: too few for the convergence checks
        for name, (model, X, y) in _models().items():
            model.fit(X, y)
            model.compute_log_likelihood(X, y)
            model.sample_posterior_predictive(X, random_state=0, extend_inferencedata=True)
            out[name] = model
    return out


def _assert_same_array(a, b, what: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} became {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} became {b.shape}"
    if a.dtype.kind == "O":
        assert a.tolist() == b.tolist(), what
    else:
        assert a.tobytes() == b.tobytes(), f"{what}: values differ"


def _assert_same_dataset(a, b, group: str) -> None:
    assert set(a.data_vars) == set(b.data_vars), group
    assert set(a.coords) == set(b.coords), f"{group}: coords {set(a.coords)} vs {set(b.coords)}"
    assert dict(a.sizes) == dict(b.sizes), group
    assert a.attrs == b.attrs, group
    for name in a.variables:
        assert a[name].dims == b[name].dims, f"{group}.{name}"
        assert a[name].attrs == b[name].attrs, f"{group}.{name}"
        _assert_same_array(a[name].values, b[name].values, f"{group}.{name}")


def _assert_same_value(a, b, what: str) -> None:
    """Equal values of equal types: arrays by bytes, dataclasses field by field."""
    assert type(a) is type(b), f"{what}: {type(a).__name__} became {type(b).__name__}"
    if isinstance(a, np.ndarray):
        _assert_same_array(a, b, what)
    elif dataclasses.is_dataclass(a):
        for field in dataclasses.fields(a):
            _assert_same_value(getattr(a, field.name), getattr(b, field.name),
                               f"{what}.{field.name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), what
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_value(x, y, f"{what}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), what
    else:
        assert a == b, f"{what}: {a!r} became {b!r}"


FITTED_ATTRIBUTES = ("coef_", "intercept_", "sigma_", "coef_cov_", "classes_", "groups_",
                     "convergence_", "n_iter_", "elbo_history_", "inference_method_",
                     "n_features_in_", "feature_names_in_", "model_spec_")


@pytest.mark.parametrize("name", NAMES)
def test_every_group_and_fitted_attribute_survives_save_and_load(name, fitted, tmp_path):
    model = fitted[name]
    loaded = type(model).load(model.save(tmp_path / "model.nc", include_data=True))
    expected_groups = {"posterior", "log_likelihood", "observed_data", "posterior_predictive"}
    if "nuts" in name:
        expected_groups.add("sample_stats")
    assert set(model.idata_.groups()) == expected_groups  # the fixture made them all
    assert set(loaded.idata_.groups()) == expected_groups
    for group in expected_groups:
        _assert_same_dataset(model.idata_[group], loaded.idata_[group], group)
    _assert_same_dataset(model.posterior_, loaded.posterior_, "posterior_")

    public = {key for key in vars(model) if key.endswith("_") and not key.startswith("_")}
    assert public == {key for key in vars(loaded) if key.endswith("_") and not key.startswith("_")}
    for key in FITTED_ATTRIBUTES:
        if hasattr(model, key):
            _assert_same_value(getattr(model, key), getattr(loaded, key), key)
    if name == "linear advi":
        assert loaded.elbo_history_.size > 1
    if "nuts" in name:
        assert loaded.convergence_ is not None and loaded.n_iter_ == 200
    if name.startswith("hierarchical"):
        assert list(loaded.posterior_["g__factor_dim"].values) == list(model.groups_)


@pytest.mark.parametrize("name", NAMES)
def test_without_data_only_the_posterior_and_sampler_statistics_are_stored(
    name, fitted, tmp_path
):
    model = fitted[name]
    loaded = type(model).load(model.save(tmp_path / "model.nc"))
    expected_groups = {"posterior", "sample_stats"} if "nuts" in name else {"posterior"}
    assert set(loaded.idata_.groups()) == expected_groups
    for group in expected_groups:
        _assert_same_dataset(model.idata_[group], loaded.idata_[group], group)
    for key in FITTED_ATTRIBUTES:
        if hasattr(model, key):
            _assert_same_value(getattr(model, key), getattr(loaded, key), key)
