"""save/load: exact round trips, no training data by default, and files that
cannot make loading run code."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import h5netcdf
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import bayes_sklearn
from bayes_sklearn import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalLogisticRegression,
    HierarchicalRegression,
)
from bayes_sklearn.persistence import FORMAT_VERSION
from bayes_sklearn.priors import HalfNormal, StudentT

QUICK_NUTS = {"draws": 100, "tune": 100, "chains": 2, "progressbar": False, "random_state": 0}


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 60
    X = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.uniform(1, 2, n),
        "r": list("xyz") * (n // 3),
        "g": np.repeat(list("ABCDEF"), n // 6),
    })
    y = X["a"].to_numpy() + rng.normal(size=n)
    return X, y


def _models(X, y):
    labels = (y > 0).astype(int)
    three = np.array(["lo", "mid", "hi"])[np.digitize(y, [-0.5, 0.5])]
    return {
        "linear arrays exact": (BayesianLinearRegression(inference="exact", random_state=0),
                                X[["a", "b"]].to_numpy(), y),
        "linear formula nuts": (
            BayesianLinearRegression(
                formula="a * b + C(r, contr.sum) + np.log(b) + bs(a, df=4) + poly(b, 2) + center(a)",
                priors={"a": StudentT(3, 0, 2)}, prior_noise=HalfNormal(2.0), **QUICK_NUTS),
            X, y),
        "logistic three classes": (BayesianLogisticRegression(formula="a + C(r)", **QUICK_NUTS),
                                   X, three),
        "logistic bool labels advi": (BayesianLogisticRegression(inference="advi", random_state=0),
                                      X[["a", "b"]], labels.astype(bool)),
        "hierarchical varying slope": (
            HierarchicalRegression(group="g", varying_slopes=["a"], inference="advi",
                                   random_state=0),
            X[["a", "b", "g"]], y),
        "hierarchical logistic formula": (
            HierarchicalLogisticRegression(group="g", formula="a + C(r)", **QUICK_NUTS), X, labels),
    }


@pytest.fixture(scope="module")
def fitted(frame):
    X, y = frame
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {name: (model.fit(X_, y_), X_, y_) for name, (model, X_, y_) in _models(X, y).items()}
    assert list(models) == MODEL_NAMES
    return models


PREDICTIONS = ["predict", "predict_proba", "predict_interval", "predict_proba_interval"]


MODEL_NAMES = ["linear arrays exact", "linear formula nuts", "logistic three classes",
               "logistic bool labels advi", "hierarchical varying slope",
               "hierarchical logistic formula"]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_predicts_identically(name, fitted, tmp_path):
    model, X, y = fitted[name]
    path = model.save(tmp_path / "model.nc")
    loaded = type(model).load(path)
    assert type(loaded) is type(model)
    for method in PREDICTIONS:
        if hasattr(model, method):
            np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))
    assert loaded.get_params() == model.get_params()
    assert set(vars(loaded)) == set(vars(model))
    for key in ("coef_", "intercept_", "n_features_in_", "feature_names_in_", "classes_",
                "groups_", "n_iter_", "convergence_", "inference_method_"):
        if hasattr(model, key):
            np.testing.assert_array_equal(getattr(loaded, key), getattr(model, key))
    np.testing.assert_array_equal(loaded.posterior_["coef"].values, model.posterior_["coef"].values)
    # the loaded estimator refits like the original (parameters intact)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refit = loaded.fit(X, y)
    np.testing.assert_allclose(refit.predict(X[:5]) if not hasattr(refit, "predict_proba")
                               else refit.predict_proba(X[:5]),
                               model.predict(X[:5]) if not hasattr(model, "predict_proba")
                               else model.predict_proba(X[:5]))


def _groups(path: Path) -> set[str]:
    with h5netcdf.File(path, "r") as handle:
        return set(handle.groups)


def test_training_data_are_stored_only_when_asked(fitted, tmp_path):
    model, X, y = fitted["linear arrays exact"]
    without = model.save(tmp_path / "without.nc")
    assert _groups(without) == {"posterior"}
    with h5netcdf.File(without, "r") as handle:
        assert "obs" not in handle["posterior"].dimensions
    model = clone(model).fit(X, y)  # the shared fixture stays without data groups
    with pytest.warns(UserWarning, match="idata_ holds no data groups"):
        bare = model.save(tmp_path / "bare.nc", include_data=True)
    assert _groups(bare) == {"posterior"}
    model.compute_log_likelihood(X, y)
    model.sample_posterior_predictive(X, random_state=0, extend_inferencedata=True)
    assert _groups(model.save(tmp_path / "without.nc")) == {"posterior"}
    with_data = model.save(tmp_path / "with.nc", include_data=True)
    assert _groups(with_data) == {"posterior", "observed_data", "log_likelihood",
                                  "posterior_predictive"}
    idata = BayesianLinearRegression.load(with_data).idata_
    np.testing.assert_array_equal(idata.observed_data["y"].values, y)
    for group in ("log_likelihood", "posterior_predictive"):
        np.testing.assert_array_equal(idata[group]["y"].values, model.idata_[group]["y"].values)


def test_another_class_is_refused(fitted, tmp_path):
    path = fitted["linear arrays exact"][0].save(tmp_path / "linear.nc")
    with pytest.raises(TypeError, match="holds a BayesianLinearRegression, not a BayesianLogisticRegression"):
        BayesianLogisticRegression.load(path)
    assert type(bayes_sklearn.load(path)) is BayesianLinearRegression


def _edit_attribute(path: Path, name: str, value) -> None:
    with h5netcdf.File(path, "a") as handle:
        handle.attrs[name] = value


def test_another_format_version_is_refused(fitted, tmp_path):
    path = fitted["linear arrays exact"][0].save(tmp_path / "model.nc")
    _edit_attribute(path, "format_version", FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}.*reads version {FORMAT_VERSION}"):
        bayes_sklearn.load(path)


def test_a_netcdf_file_of_something_else_is_refused(tmp_path):
    import xarray as xr

    path = tmp_path / "other.nc"
    xr.Dataset({"x": ("i", np.arange(3))}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(ValueError, match="not a bayes_sklearn estimator file"):
        bayes_sklearn.load(path)


def _tamper_state(path: Path, edit) -> None:
    with h5netcdf.File(path, "r") as handle:
        state = json.loads(handle.attrs["state"])
    edit(state)
    _edit_attribute(path, "state", json.dumps(state))


def test_a_formula_that_would_run_code_is_refused_at_load(fitted, tmp_path):
    marker = tmp_path / "pwned"
    path = fitted["linear formula nuts"][0].save(tmp_path / "model.nc")

    def inject(state):
        design = state["fitted"]["design_"]["__formula_design__"]
        design["formula"] = f"a + {{open({str(marker)!r}, 'w')}}"
        state["params"]["__dict__"] = [
            [k, f"a + {{open({str(marker)!r}, 'w')}}" if k == "formula" else v]
            for k, v in state["params"]["__dict__"]
        ]

    _tamper_state(path, inject)
    with pytest.raises(ValueError, match=r"the call open\(\.\.\.\) is not an allowed transform"):
        bayes_sklearn.load(path)
    assert not marker.exists()


def test_unknown_stored_types_are_refused(fitted, tmp_path):
    path = fitted["linear arrays exact"][0].save(tmp_path / "model.nc")

    def inject(state):
        state["fitted"]["design_"]["__dataclass__"] = "Popen"

    _tamper_state(path, inject)
    with pytest.raises(ValueError, match="unknown stored type 'Popen'"):
        bayes_sklearn.load(path)


def test_a_formula_with_a_transform_off_the_list_cannot_be_saved(frame, tmp_path):
    X, y = frame
    model = BayesianLinearRegression(formula="np.clip(a, -1, 1)", inference="exact").fit(X, y)
    with pytest.raises(ValueError, match=r"np\.clip\(\.\.\.\) is not an allowed transform"):
        model.save(tmp_path / "model.nc")
    assert list(tmp_path.iterdir()) == []


def test_unfitted_estimators_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        BayesianLinearRegression().save(tmp_path / "model.nc")


def test_failed_save_leaves_the_previous_file_and_no_debris(fitted, tmp_path, monkeypatch):
    import xarray as xr

    model = fitted["linear formula nuts"][0]
    path = model.save(tmp_path / "model.nc")
    before = path.read_bytes()
    real = xr.Dataset.to_netcdf

    def fail_on_groups(self, *args, **kwargs):
        if kwargs.get("group") == "sample_stats":
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(xr.Dataset, "to_netcdf", fail_on_groups)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.nc"]


def test_non_integer_random_state_is_stored_as_none_with_a_warning(frame, tmp_path):
    X, y = frame
    model = BayesianLinearRegression(inference="exact", random_state=np.random.RandomState(0))
    model.fit(X[["a"]], y)
    with pytest.warns(UserWarning, match="random_state"):
        path = model.save(tmp_path / "model.nc")
    assert bayes_sklearn.load(path).random_state is None


def test_loading_and_predicting_imports_no_backend(fitted, tmp_path):
    model, X, _ = fitted["hierarchical logistic formula"]
    path = model.save(tmp_path / "model.nc")
    X.to_csv(tmp_path / "X.csv", index=False)
    expected = model.predict_proba(X)
    code = f"""
import sys, numpy as np, pandas as pd, bayes_sklearn
model = bayes_sklearn.load({str(path)!r})
proba = model.predict_proba(pd.read_csv({str(tmp_path / 'X.csv')!r}))
np.save({str(tmp_path / 'proba.npy')!r}, proba)
print(sorted(m for m in ("pymc", "pytensor", "nutpie", "numba", "arviz") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), expected, rtol=1e-12)
