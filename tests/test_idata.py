"""idata_: one object per fit, sized by draws x parameters; per-row groups
(log likelihood, observed data, posterior predictive) added on request."""

import pickle
import warnings

import arviz as az
import numpy as np
import pytest
import xarray as xr
from scipy.special import logsumexp

from bayes_sklearn import BayesianLinearRegression, BayesianLogisticRegression, HierarchicalRegression
from tests.conftest import FAST_NUTS


def _linear_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 50.0, 0.01] + [0.0, 1e3, 5.0]
    y = 300.0 + X @ [2.0, -0.1, 400.0] + rng.normal(scale=20.0, size=n)
    return X, y


def _exact(draws=100, chains=2):
    return BayesianLinearRegression(inference="exact", draws=draws, chains=chains, random_state=0)


def test_pickle_size_does_not_grow_with_rows():
    sizes = {}
    for n in (1_000, 20_000):
        X, y = _linear_problem(n)
        sizes[n] = len(pickle.dumps(_exact(draws=500, chains=2).fit(X, y)))
    # the old fit stored a (chain, draw, row) log likelihood: 8 MB at 1,000 rows here
    assert abs(sizes[20_000] - sizes[1_000]) < 4_000, sizes


def test_idata_is_one_object_that_keeps_added_groups_until_refit():
    X, y = _linear_problem(60)
    model = _exact().fit(X, y)
    assert model.idata_ is model.idata_
    model.idata_.add_groups(constant_data=xr.Dataset({"x0": ("obs", X[:, 0])}))
    assert "constant_data" in model.idata_.groups()
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.idata_.constant_data["x0"].values, X[:, 0])
    assert copy.idata_ is copy.idata_
    first = model.idata_
    model.fit(X[:40], y[:40])
    assert model.idata_ is not first
    assert model.idata_.groups() == ["posterior"]


def test_posterior_is_one_dataset_around_the_fits_arrays_until_refit():
    X, y = _linear_problem(60)
    model = _exact().fit(X, y)
    post = model.posterior_
    assert post is model.posterior_ and post is model.idata_.posterior
    # the Dataset wraps the arrays prediction reads: one stored copy
    assert np.shares_memory(post["coef"].values, model._posterior().coef)
    np.testing.assert_array_equal(post["coef"].values.reshape(-1, 3),
                                  model._posterior().coef[..., 0])
    size = len(pickle.dumps(model))
    # the cached Dataset is not pickled beside the arrays
    assert size < len(pickle.dumps(_exact().fit(X, y))) + 2_000
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.posterior_["coef"].values, post["coef"].values)
    model.fit(X[:40], y[:40])
    assert model.posterior_ is not post
    assert not np.array_equal(model.posterior_["coef"].values, post["coef"].values)
    with pytest.raises(AttributeError, match="fit it first"):
        _exact().posterior_


def test_fitting_and_predicting_never_import_xarray():
    """The first xarray Dataset of a process costs 0.6-0.9 s where dask is
    installed: NUTS fits and predictions use the arrays only."""
    import subprocess
    import sys

    code = """
import sys
import numpy as np
from bayes_sklearn import BayesianLinearRegression, BayesianLogisticRegression
rng = np.random.default_rng(0)
X = rng.normal(size=(80, 2))
reg = BayesianLinearRegression(draws=50, tune=50, chains=2, random_state=0).fit(X, X @ [1.0, 2.0])
reg.predict(X, return_std=True)
clf = BayesianLogisticRegression(draws=50, tune=50, chains=2, random_state=0)
clf.fit(X, X[:, 0] > 0).predict_proba(X)
print("xarray" in sys.modules, reg.convergence_ is not None)
reg.posterior_
print("xarray" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"], out.stdout + out.stderr


def test_a_failed_fit_keeps_the_previous_idata():
    X, y = _linear_problem(60)
    model = _exact().fit(X, y)
    idata = model.compute_log_likelihood(X, y)
    with pytest.raises(ValueError):
        model.fit(X, np.full(len(y), np.nan))
    assert model.idata_ is idata
    assert "log_likelihood" in model.idata_.groups()


def test_unpickling_a_model_whose_idata_was_used_needs_no_arviz(tmp_path):
    import subprocess
    import sys

    X, y = _linear_problem(60)
    model = _exact().fit(X, y)
    model.compute_log_likelihood(X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    code = f"""
import pickle, sys
model = pickle.loads(open({str(path)!r}, "rb").read())
model.predict([[0.0, 1e3, 5.0]])
print("arviz" in sys.modules, sorted(model._idata_datasets()))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False ['log_likelihood', 'observed_data']"


def test_loo_on_a_fair_sized_problem_matches_a_direct_computation():
    # statsmodels' `fair` data have 6,366 rows, above the 25 million values at
    # which the old idata_ silently dropped its log likelihood.
    X, y = _linear_problem(7_000)
    model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)  # 4 x 1000 draws
    idata = model.compute_log_likelihood(X, y)
    assert idata is model.idata_
    assert idata.log_likelihood["y"].shape == (4, 1000, 7_000)
    assert idata.log_likelihood["y"].dtype == np.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(idata)
        waic = az.waic(idata)
    # WAIC by hand from the pointwise values: lppd - p_waic
    pointwise = model.log_likelihood(X, y).reshape(-1, len(y))
    lppd = logsumexp(pointwise, axis=0) - np.log(pointwise.shape[0])
    p_waic = pointwise.var(axis=0)  # ArviZ divides by S, not S - 1
    np.testing.assert_allclose(waic.elpd_waic, np.sum(lppd - p_waic), rtol=1e-10)
    # PSIS-LOO differs from WAIC by Monte Carlo and truncation error only;
    # with p = 4 parameters and 7,000 rows the two agree to well under 1.
    assert abs(loo.elpd_loo - waic.elpd_waic) < 1.0
    assert loo.n_data_points == 7_000
    assert 3.0 < loo.p_loo < 6.0  # intercept, 3 slopes (and sigma)


def test_compare_ranks_the_true_model_first():
    X, y = _linear_problem(300)
    full = _exact(draws=300).fit(X, y)
    small = _exact(draws=300).fit(X[:, :1], y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare({"full": full.compute_log_likelihood(X, y),
                            "small": small.compute_log_likelihood(X[:, :1], y)})
    assert table.index[0] == "full"


def test_compute_log_likelihood_replaces_the_previous_groups():
    X, y = _linear_problem(60)
    model = _exact().fit(X, y)
    model.compute_log_likelihood(X, y)
    idata = model.compute_log_likelihood(X[:10], y[:10])
    assert sorted(idata.groups()) == ["log_likelihood", "observed_data", "posterior"]
    assert idata.log_likelihood["y"].shape == (2, 100, 10)
    np.testing.assert_array_equal(idata.observed_data["y"].values, y[:10])


def test_posterior_predictive_group_for_plot_ppc():
    import matplotlib.pyplot as plt

    X, y = _linear_problem(80)
    model = _exact().fit(X, y)
    model.compute_log_likelihood(X, y)
    sims = model.sample_posterior_predictive(X, random_state=0, extend_inferencedata=True)
    assert isinstance(sims, np.ndarray) and sims.shape == (200, 80)
    group = model.idata_.posterior_predictive["y"]
    assert group.dims == ("chain", "draw", "obs") and group.shape == (2, 100, 80)
    np.testing.assert_array_equal(group.values.reshape(200, 80), sims)
    axes = az.plot_ppc(model.idata_, num_pp_samples=20, random_seed=0)
    assert axes is not None
    plt.close("all")
    # the default leaves idata_ alone
    model.sample_posterior_predictive(X[:5], random_state=1)
    assert model.idata_.posterior_predictive["y"].shape == (2, 100, 80)


def test_extend_inferencedata_needs_one_simulation_per_draw():
    X, y = _linear_problem(20)
    model = _exact().fit(X, y)
    with pytest.raises(ValueError, match="n_samples must be None"):
        model.sample_posterior_predictive(X, n_samples=10, extend_inferencedata=True)
    assert "posterior_predictive" not in model.idata_.groups()


def test_classifier_groups_keep_labels():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    y = np.where(X[:, 0] + rng.logistic(size=60) > 0, "yes", "no")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BayesianLogisticRegression(**FAST_NUTS).fit(X, y)
    idata = model.compute_log_likelihood(X, y)
    assert sorted(idata.groups()) == ["log_likelihood", "observed_data", "posterior", "sample_stats"]
    np.testing.assert_array_equal(idata.observed_data["y"].values, y)
    model.sample_posterior_predictive(X, random_state=0, extend_inferencedata=True)
    assert set(np.unique(idata.posterior_predictive["y"].values)) <= {"yes", "no"}


def test_hierarchical_log_likelihood_uses_the_groups():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(6), 20)
    X = np.column_stack([rng.normal(size=120), g])
    y = 3.0 * g + X[:, 0] + rng.normal(scale=0.3, size=120)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = HierarchicalRegression(group=1, inference="advi", random_state=0).fit(X, y)
    idata = model.compute_log_likelihood(X, y)
    np.testing.assert_allclose(idata.log_likelihood["y"].values, model.log_likelihood(X, y))
    # the group offsets (0 to 15) matter: without them the fit would be far worse
    assert idata.log_likelihood["y"].values.mean() > -5.0
