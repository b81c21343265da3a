"""Files crafted to hang predict or exhaust memory are refused at load, fast.

Each test saves a genuine file, tampers with it (JSON attributes or NetCDF
groups), and checks that load raises ValueError well within a few seconds: a
correctness bound (nothing is computed at the file's request), not a benchmark.
"""

import json
import time
import warnings
from pathlib import Path

import h5netcdf
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayes_sklearn
from bayes_sklearn import BayesianLinearRegression, HierarchicalRegression

FAST = 5.0  # seconds


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.uniform(1, 2, 60),
                      "g": np.repeat(list("ABC"), 20)})
    y = 100.0 + 30.0 * X["a"].to_numpy() + rng.normal(scale=5.0, size=60)
    return X, y


@pytest.fixture(scope="module")
def formula_model(data):
    X, y = data
    return BayesianLinearRegression(formula="a + np.log(b)", inference="exact", draws=50,
                                    chains=2, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def nuts_model(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BayesianLinearRegression(draws=50, tune=50, chains=2, progressbar=False,
                                        random_state=0).fit(X[["a", "b"]], y)


@pytest.fixture(scope="module")
def hierarchical_model(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HierarchicalRegression(group="g", varying_slopes=["a"], inference="advi",
                                      max_iter=200, random_state=0).fit(X, y)


def _refused_fast(path, match):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        bayes_sklearn.load(path)
    assert time.perf_counter() - start < FAST


def _edit_state(path: Path, edit) -> None:
    with h5netcdf.File(path, "a") as handle:
        state = json.loads(handle.attrs["state"])
        edit(state)
        handle.attrs["state"] = json.dumps(state)


def _set_formula(formula):
    def edit(state):
        state["fitted"]["design_"]["__formula_design__"]["formula"] = formula
        state["params"]["__dict__"] = [[k, formula if k == "formula" else v]
                                       for k, v in state["params"]["__dict__"]]
    return edit


@pytest.mark.parametrize("formula, match", [
    ("a + I(a ** 10**10)", "raises a power to a power"),
    ("a + I(2**2**64)", "raises a power to a power"),
    ("a + I(a ** 1e10)", "exponent"),
    ("a + I(123456789012345678901 * a)", "larger than"),
    ("a + C(b, levels=['x' * 10**12])", "arithmetic on a string"),
    ("a + np.ones(10**12)", r"np\.ones\(\.\.\.\) is not an allowed transform"),
    ("a + poly(b, 10**6)", "sizes"),
    ("a + bs(b, df=100000)", "basis columns"),
    ("a + I(" + " + ".join(["a"] * 300) + ")", "syntax nodes"),
])
def test_a_formula_that_would_hang_or_exhaust_memory_is_refused(formula, match, formula_model,
                                                                 tmp_path):
    path = formula_model.save(tmp_path / "model.nc")
    _edit_state(path, _set_formula(formula))
    _refused_fast(path, match)


def test_a_formula_with_bounded_arithmetic_still_loads(formula_model, data, tmp_path):
    X, y = data
    model = BayesianLinearRegression(formula="a + I(a ** 2) + I(b / 1e3) + I((a + 1) ** -1)",
                                     inference="exact", draws=50, chains=2).fit(X, y)
    loaded = bayes_sklearn.load(model.save(tmp_path / "model.nc"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def _rewrite_group(path: Path, group: str, edit) -> None:
    """Replace one NetCDF group by ``edit(dataset)``, keeping the rest of the file."""
    with h5netcdf.File(path, "r") as handle:
        attrs = dict(handle.attrs)
        names = attrs["groups"].split(",")
    datasets = {}
    for name in names:
        with xr.open_dataset(path, group=name, engine="h5netcdf") as dataset:
            datasets[name] = dataset.load()
    datasets[group] = edit(datasets[group])
    path.unlink()
    xr.Dataset(attrs=attrs).to_netcdf(path, engine="h5netcdf")
    for name, dataset in datasets.items():
        dataset.to_netcdf(path, mode="a", group=name, engine="h5netcdf")


def test_more_coefficient_names_than_draws_are_refused(formula_model, tmp_path):
    path = formula_model.save(tmp_path / "model.nc")

    def edit(state):
        spec = state["fitted"]["model_spec_"]["fields"]
        spec["coef_names"]["__tuple__"].append("extra")
    _edit_state(path, edit)
    _refused_fast(path, "design has 2 columns but the model description 3 coefficients")


def test_draws_of_the_wrong_width_are_refused(formula_model, tmp_path):
    path = formula_model.save(tmp_path / "model.nc")
    _rewrite_group(path, "posterior", lambda post: post.isel(feature=[0]))
    _refused_fast(path, "posterior dim 'feature' has 1 entries, the model description says 2")


def test_non_finite_draws_are_refused(formula_model, tmp_path):
    path = formula_model.save(tmp_path / "model.nc")
    with h5netcdf.File(path, "a") as handle:
        handle["posterior"]["sigma"][0, 3] = np.nan
    _refused_fast(path, "'sigma' holds NaN")


def test_sampler_statistics_of_other_draws_are_refused(nuts_model, tmp_path):
    path = nuts_model.save(tmp_path / "model.nc")
    _rewrite_group(path, "sample_stats", lambda stats: stats.isel(draw=slice(0, 10)))
    _refused_fast(path, "group 'sample_stats' has 10 entries on 'draw', the posterior 50")


def test_more_group_labels_than_group_effects_are_refused(hierarchical_model, tmp_path):
    path = hierarchical_model.save(tmp_path / "model.nc")

    def edit(state):
        # group= is the term (1 + a | g): its levels
        term = state["fitted"]["model_spec_"]["fields"]["group_terms"]["__tuple__"][0]
        term["fields"]["levels"]["__tuple__"].extend(f"G{i}" for i in range(10**5))
    _edit_state(path, edit)
    _refused_fast(path, "posterior dim 'g__factor_dim' has 3 entries, the model description "
                        "says 100003")


def test_huge_declared_arrays_are_refused_before_reading(formula_model, tmp_path):
    path = formula_model.save(tmp_path / "model.nc")
    with h5netcdf.File(path, "a") as handle:
        group = handle.create_group("observed_data")
        group.dimensions = {"obs": 10**11}
        group.create_variable("y", ("obs",), dtype="f8", chunks=(10**6,))
        handle.attrs["groups"] = handle.attrs["groups"] + ",observed_data"
    assert path.stat().st_size < 10**6  # 800 GB declared, nothing written
    _refused_fast(path, "declares 8000.* bytes of arrays")


def test_a_huge_stored_dtype_is_refused(formula_model, tmp_path):
    path = formula_model.save(tmp_path / "model.nc")

    def edit(state):
        state["fitted"]["n_features_in_"] = {"__numpy__": "x", "dtype": "<U1000000000"}
    _edit_state(path, edit)
    _refused_fast(path, "unexpected array dtype")


def test_a_stored_array_of_another_shape_is_refused(formula_model, tmp_path):
    path = formula_model.save(tmp_path / "model.nc")

    def edit(state):
        state["fitted"]["feature_names_in_"]["shape"] = [10**12]
    _edit_state(path, edit)
    _refused_fast(path, "declares shape")
