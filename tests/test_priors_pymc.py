"""New priors (Uniform, HalfCauchy, Flat, HalfFlat), PyMC priors as data, and
PyMC distributions and pymc-extras Priors in the estimators."""

import json
import pickle
import subprocess
import sys

import h5netcdf
import numpy as np
import pandas as pd
import pymc as pm
import pytest
try:  # pymc-extras needs pymc >= 5.28, above the oldest pymc supported
    from pymc_extras.prior import Prior
except ImportError:
    Prior = None
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import bayes_sklearn
from bayes_sklearn import BayesianLinearRegression, HierarchicalRegression
from bayes_sklearn.persistence._codec import decode, encode
from bayes_sklearn.priors import (
    PYMC_DISTRIBUTIONS,
    Constant,
    Exponential,
    Flat,
    HalfCauchy,
    HalfFlat,
    HalfNormal,
    HalfStudentT,
    Laplace,
    Normal,
    PyMCPrior,
    StudentT,
    Uniform,
    as_prior,
)

needs_extras = pytest.mark.skipif(Prior is None, reason="pymc-extras is not installed")

EVERY_PRIOR = [
    Normal(1.5, 2.5), StudentT(3.5, -1.0, 2.0), Laplace(0.5, 3.0),
    Exponential(2.0), HalfNormal(1.5), HalfStudentT(4.0, 2.0), HalfCauchy(2.5),
    Uniform(-1.0, 3.0), Flat(), HalfFlat(),
    PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 1.5))),
    PyMCPrior("Beta", {"alpha": 2.0, "beta": 3.0}),
]
POINTS = np.array([-7.3, -0.9, 0.05, 0.4, 1.7, 2.9, 12.0])


@pytest.mark.parametrize("prior", EVERY_PRIOR, ids=repr)
def test_logpdf_is_pymcs_density_of_the_named_distribution(prior):
    # float64: PyTensor makes a Python float such as 2.5 a float32 constant
    params = {name: np.float64(value) for name, value in prior.pymc_parameters().items()}
    dist = getattr(pm, prior.pymc_distribution).dist(**params)
    expected = pm.logp(dist, POINTS).eval()
    if prior.pymc_distribution in ("HalfStudentT", "HalfCauchy"):
        # PyMC adds log(2) as a float32 constant there: 1.9e-9 off
        expected = expected + np.log(2.0) - np.float64(np.log(np.float32(2.0)))
    np.testing.assert_allclose(prior.logpdf(POINTS), expected, rtol=0, atol=1e-12)
    assert np.isfinite(expected).sum() >= 2  # some points are on the support


@pytest.mark.parametrize("prior, factor", [
    (Uniform(-1.0, 3.0), -2.5), (Uniform(0.0, 100.0), 0.01), (HalfCauchy(2.5), 4.0),
    (Normal(1.0, 2.0), -3.0),
])
def test_scaled_is_the_prior_of_the_rescaled_parameter(prior, factor):
    # change of variables: p_{a theta}(a x) = p_theta(x) / |a|
    x = np.array([0.3, 0.9, 2.0])
    np.testing.assert_allclose(
        prior.scaled(factor).logpdf(factor * x), prior.logpdf(x) - np.log(abs(factor)),
        rtol=0, atol=1e-12,
    )


@pytest.mark.parametrize("prior", [Normal(1.0, 2.0), StudentT(3.0, 1.0, 2.0),
                                   Laplace(-1.0, 0.5), Uniform(-1.0, 3.0), Constant(0.3)],
                         ids=repr)
def test_shifted_is_the_prior_of_the_shifted_parameter(prior):
    shifted = prior.shifted(-41.5)
    if isinstance(prior, Constant):
        assert shifted == Constant(0.3 - 41.5)
        return
    x = np.array([-0.5, 0.3, 2.5])
    np.testing.assert_allclose(shifted.logpdf(x - 41.5), prior.logpdf(x), rtol=0, atol=1e-12)
    assert type(shifted) is type(prior)


def test_flat_priors_stay_flat_and_have_no_draws():
    assert Flat().scaled(-3.0) == Flat() and Flat().shifted(5.0) == Flat()
    assert HalfFlat().scaled(3.0) == HalfFlat()
    for prior in (Flat(), HalfFlat(), PyMCPrior("Flat"), PyMCPrior("HalfFlat")):
        with pytest.raises(ValueError, match="improper prior and has no draws; prior "
                                             "predictive checks need proper priors"):
            prior.rvs(3, np.random.default_rng(0))


def test_new_priors_draw_on_their_support_with_their_moments():
    rng = np.random.default_rng(1)
    draws = Uniform(10.0, 110.0).rvs(4000, rng)
    assert draws.min() >= 10.0 and draws.max() <= 110.0
    # sd of the mean of U(10, 110): 100 / sqrt(12 * 4000) = 0.46; 4 sd
    assert abs(draws.mean() - 60.0) < 1.9
    half_cauchy = HalfCauchy(3.0).rvs(4000, rng)
    # median of the half-Cauchy is beta; the sample median's sd is about 0.047 here
    assert half_cauchy.min() >= 0 and abs(np.median(half_cauchy) - 3.0) < 0.2


def test_pymc_prior_draws_through_pymc_reproducibly():
    prior = PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 0.5)))
    draws = prior.rvs(4000, np.random.default_rng(3))
    np.testing.assert_array_equal(draws, prior.rvs(4000, np.random.default_rng(3)))
    # Gamma(2, rate 0.5): mean 4, sd 2 * sqrt(2); sd of the mean 0.045; 4 sd
    assert draws.shape == (4000,) and abs(draws.mean() - 4.0) < 0.18
    assert prior.rvs((2, 3), np.random.default_rng(0)).shape == (2, 3)


def test_pymc_prior_checks_its_name_and_parameters():
    with pytest.raises(ValueError, match=r"distribution 'Poisson' is not accepted; the "
                                         r"accepted PyMC distributions are Normal, "):
        PyMCPrior("Poisson", (("mu", 1.0),))
    with pytest.raises(ValueError, match=r"Gamma takes the parameters \['alpha', 'beta'\], "
                                         r"got \['mu', 'sigma'\]"):
        PyMCPrior("Gamma", (("mu", 1.0), ("sigma", 1.0)))
    with pytest.raises(ValueError, match="Gamma beta must be positive"):
        PyMCPrior("Gamma", (("alpha", 1.0), ("beta", -1.0)))
    with pytest.raises(ValueError, match="must be a finite number"):
        PyMCPrior("Normal", (("mu", np.nan), ("sigma", 1.0)))
    with pytest.raises(ValueError, match="lower < upper"):
        PyMCPrior("Uniform", (("lower", 2.0), ("upper", 1.0)))
    with pytest.raises(TypeError, match="run on the PyMC engine, on the parameter's "
                                        "original scale"):
        PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 1.0))).scaled(2.0)
    # stored in the table's order, whatever order it was given in
    assert PyMCPrior("Beta", {"beta": 3, "alpha": 2}).parameters == (("alpha", 2.0),
                                                                      ("beta", 3.0))


def test_the_allow_list_names_pymc_classes_split_by_support():
    assert set(PYMC_DISTRIBUTIONS) == {"real", "positive", "bounded"}
    assert "Gamma" in PYMC_DISTRIBUTIONS["positive"] and "Normal" in PYMC_DISTRIBUTIONS["real"]
    assert "Uniform" in PYMC_DISTRIBUTIONS["bounded"]
    names = [name for group in PYMC_DISTRIBUTIONS.values() for name in group]
    assert len(names) == len(set(names))
    assert all(issubclass(getattr(pm, name), pm.Distribution) for name in names)


@pytest.mark.parametrize("dist, expected", [
    (lambda: pm.Normal.dist(0, 10), Normal(0.0, 10.0)),
    (lambda: pm.Normal.dist(mu=-3.5, sigma=0.1), Normal(-3.5, 0.1)),
    (lambda: pm.StudentT.dist(nu=4, mu=1, sigma=2), StudentT(4.0, 1.0, 2.0)),
    (lambda: pm.Laplace.dist(0, 0.5), Laplace(0.0, 0.5)),
    (lambda: pm.Cauchy.dist(1.0, 2.0), StudentT(1.0, 1.0, 2.0)),
    (lambda: pm.Uniform.dist(0, 100), Uniform(0.0, 100.0)),
    (lambda: pm.Flat.dist(), Flat()),
    (lambda: pm.HalfFlat.dist(), HalfFlat()),
    (lambda: pm.Exponential.dist(lam=2.5), Exponential(1 / 2.5)),  # exact in float64
    (lambda: pm.Exponential.dist(scale=3.0), Exponential(3.0)),
    (lambda: pm.HalfNormal.dist(5.0), HalfNormal(5.0)),
    (lambda: pm.HalfStudentT.dist(nu=3, sigma=2), HalfStudentT(3.0, 2.0)),
    (lambda: pm.HalfCauchy.dist(2.5), HalfCauchy(2.5)),
    (lambda: pm.Gamma.dist(2, 2.5), PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 2.5)))),
    (lambda: pm.Gamma.dist(mu=2.0, sigma=1.0),
     PyMCPrior("Gamma", (("alpha", 4.0), ("beta", 2.0)))),
    (lambda: pm.InverseGamma.dist(3, 2), PyMCPrior("InverseGamma", (("alpha", 3.0),
                                                                     ("beta", 2.0)))),
    (lambda: pm.LogNormal.dist(0, 1), PyMCPrior("LogNormal", (("mu", 0.0), ("sigma", 1.0)))),
    pytest.param(lambda: Prior("Normal", mu=0, sigma=10), Normal(0.0, 10.0),
                 marks=needs_extras),
    pytest.param(lambda: Prior("Exponential", lam=4), Exponential(0.25), marks=needs_extras),
    pytest.param(lambda: Prior("Gamma", alpha=2, beta=1),
                 PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 1.0))), marks=needs_extras),
], ids=lambda value: repr(value) if not callable(value) else "")
def test_pymc_and_pymc_extras_priors_become_prior_values(dist, expected):
    prior = as_prior(dist(), role="coefficient", what="x1")
    assert prior == expected and type(prior) is type(expected)


def test_as_prior_reads_numbers_and_pairs_and_passes_priors_through():
    assert as_prior(0.3, role="coefficient", what="x") == Constant(0.3)
    assert as_prior(np.float32(2.0), role="scale", what="sigma") == Constant(2.0)
    assert as_prior((1, 2.5), role="coefficient", what="x") == Normal(1.0, 2.5)
    prior = PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 1.0)))
    assert as_prior(prior, role="scale", what="sigma") is prior


@pytest.mark.parametrize("value", [
    Normal(0.0, 1.0), Uniform(-1.0, 1.0), Flat(), PyMCPrior("Normal", (("mu", 0), ("sigma", 1))),
    -0.1, 0.0,
])
def test_a_scale_prior_must_be_on_positive_numbers(value):
    with pytest.raises(ValueError, match="The prior for sigma must be on positive numbers"):
        as_prior(value, role="scale", what="sigma")


def test_scale_priors_on_positive_numbers_are_accepted():
    for value, expected in [
        (pm.Uniform.dist(0, 100), Uniform(0.0, 100.0)),
        (pm.Gamma.dist(2, 1), PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 1.0)))),
        (pm.Beta.dist(2, 2), PyMCPrior("Beta", (("alpha", 2.0), ("beta", 2.0)))),
        (HalfFlat(), HalfFlat()), (0.1, Constant(0.1)),
    ]:
        assert as_prior(value, role="scale", what="sigma") == expected
    with pytest.raises(ValueError, match="must be a prior of bayes_sklearn.priors, a number "
                                         r"\(a fixed value\), a PyMC distribution"):
        as_prior((0.0, 1.0), role="scale", what="sigma")  # a pair is a coefficient's


def test_pymc_objects_that_are_not_plain_numbers_are_refused():
    with pytest.raises(ValueError, match=r"has shape \(3,\); give one scalar distribution"):
        as_prior(pm.Normal.dist(0, 1, shape=3), role="coefficient", what="x")
    with pytest.raises(ValueError, match=r"parameter mu of pm.Normal.dist\(...\) is not a "
                                         "number"):
        as_prior(pm.Normal.dist(pm.Normal.dist(), 1), role="coefficient", what="x")
    with pm.Model():
        scale = pm.Data("scale", 2.0)
        with pytest.raises(ValueError, match=r"parameter sigma of pm.Normal.dist\(...\) is "
                                             "not a number"):
            as_prior(pm.Normal.dist(0, scale), role="coefficient", what="x")
    with pytest.raises(ValueError, match="not a plain distribution from pm.X.dist"):
        as_prior(pm.Poisson.dist(2), role="coefficient", what="x")
    if Prior is None:
        return
    with pytest.raises(ValueError, match="Hierarchical priors"):
        as_prior(Prior("Normal", mu=Prior("Normal"), sigma=1), role="coefficient", what="x")
    with pytest.raises(ValueError, match="has dims or a transform"):
        as_prior(Prior("Normal", dims="coef"), role="coefficient", what="x")
    with pytest.raises(ValueError, match=r"Prior\('Wald'\), is not an accepted distribution"):
        as_prior(Prior("Wald", mu=1, lam=1), role="coefficient", what="x")


def test_importing_the_priors_does_not_import_pymc():
    code = "import sys, bayes_sklearn.priors; print('pymc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"dose": rng.normal(40.0, 8.0, 60), "age": rng.normal(300.0, 50.0, 60)})
    y = 1200.0 + 3.0 * X["dose"] - 0.5 * X["age"] + rng.normal(0.0, 20.0, 60)
    return X, y.to_numpy()


def _exact(**params):
    return BayesianLinearRegression(inference="exact", draws=200, random_state=0, **params)


def test_pymc_distributions_keyed_by_term_name_fit_as_our_priors(data):
    # seed 000: each coefficient's prior is pm.Normal.dist(mu=0, sigma=10), by term name
    X, y = data
    pymc_priors = {name: pm.Normal.dist(mu=0, sigma=10) for name in X.columns}
    ours = {name: Normal(0.0, 10.0) for name in X.columns}
    fitted = _exact(priors=pymc_priors, prior_noise=pm.Uniform.dist(0, 100)).fit(X, y)
    reference = _exact(priors=ours, prior_noise=Uniform(0.0, 100.0)).fit(X, y)
    assert fitted.model_spec_.coef_priors == (Normal(0.0, 10.0),) * 2
    assert fitted.model_spec_.noise_prior == Uniform(0.0, 100.0)
    np.testing.assert_array_equal(fitted.coef_, reference.coef_)
    default = _exact().fit(X, y)
    assert not np.array_equal(fitted.coef_, default.coef_)


@needs_extras
def test_a_single_pymc_or_pymc_extras_prior_applies_to_every_coefficient(data):
    X, y = data
    for single in (pm.Normal.dist(0, 10), Prior("Normal", mu=0, sigma=10)):
        spec = _exact(priors=single, prior_noise=pm.HalfCauchy.dist(50.0)).fit(X, y).model_spec_
        assert spec.coef_priors == (Normal(0.0, 10.0),) * 2
        assert spec.noise_prior == HalfCauchy(50.0)


def test_a_bad_pymc_prior_is_a_value_error_at_fit(data):
    X, y = data
    with pytest.raises(ValueError, match=r"The prior for the noise sd \(prior_noise\) must be "
                                         "on positive numbers"):
        _exact(prior_noise=pm.Normal.dist(0, 1)).fit(X, y)
    with pytest.raises(ValueError, match=r"The prior for 'dose' is a PyMC object"):
        _exact(priors={"dose": pm.Poisson.dist(3)}).fit(X, y)
    with pytest.raises(ValueError, match=r"parameter mu .* is not a number"):
        HierarchicalRegression(group="g", priors={"dose": pm.Normal.dist(pm.Normal.dist(), 1)}).fit(
            X.assign(g=["a", "b"] * 30), y)


@needs_extras
def test_clone_get_set_params_and_pickle_keep_pymc_priors(data):
    X, y = data
    priors = {"dose": pm.Normal.dist(0, 10), "intercept": Prior("Normal", mu=1000, sigma=500)}
    model = _exact(priors=priors, prior_noise=pm.HalfNormal.dist(100.0))
    cloned = clone(model)
    assert set(cloned.get_params()["priors"]) == {"dose", "intercept"}
    assert cloned.get_params()["prior_noise"] is not model.prior_noise  # a copy
    cloned.set_params(prior_noise=pm.Exponential.dist(lam=0.05))
    assert cloned.fit(X, y).model_spec_.noise_prior == Exponential(20.0)
    fitted = model.fit(X, y)
    assert fitted.model_spec_.intercept_prior == Normal(1000.0, 500.0)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), fitted.predict(X))
    refit = pickle.loads(pickle.dumps(clone(model))).fit(X, y)
    np.testing.assert_array_equal(refit.coef_, fitted.coef_)


def test_grid_search_over_pymc_distributions_and_numbers(data):
    X, y = data
    grid = {
        "priors": [pm.Normal.dist(0, 10), {"dose": pm.Normal.dist(0, 0.001)}, (0.0, 5.0)],
        "prior_noise": [pm.HalfNormal.dist(50.0), None],
    }
    search = GridSearchCV(_exact(), grid, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    # a tight prior at 0 on dose (whose true slope is 3) scores worst
    worst = search.cv_results_["params"][int(np.argmin(scores))]
    assert isinstance(worst["priors"], dict)


def test_new_priors_and_pymc_priors_round_trip_as_data():
    for prior in EVERY_PRIOR:
        data = json.loads(json.dumps(encode(prior)))
        assert decode(data) == prior and type(decode(data)) is type(prior)


def test_save_stores_pymc_priors_as_data_and_load_runs_no_code(data, tmp_path):
    X, y = data
    model = _exact(priors={"dose": pm.Normal.dist(0, 10)},
                   prior_noise=pm.Uniform.dist(0, 100)).fit(X, y)
    path = model.save(tmp_path / "model.nc")
    loaded = bayes_sklearn.load(path)
    assert loaded.get_params()["priors"] == {"dose": Normal(0.0, 10.0)}
    assert loaded.get_params()["prior_noise"] == Uniform(0.0, 100.0)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # a PyMCPrior parameter is stored as its name and numbers
    model.set_params(prior_noise=pm.Gamma.dist(2, 0.05))
    loaded = bayes_sklearn.load(model.save(tmp_path / "gamma.nc"))
    assert loaded.prior_noise == PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 0.05)))


def test_load_refuses_a_pymc_prior_outside_the_allow_list(data, tmp_path):
    X, y = data
    model = _exact(prior_noise=pm.HalfNormal.dist(100.0)).fit(X, y)
    model.set_params(prior_noise=PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 1.0))))
    path = model.save(tmp_path / "model.nc")
    with h5netcdf.File(path, "a") as handle:
        state = handle.attrs["state"]
        assert state.count('"Gamma"') == 1
        handle.attrs["state"] = state.replace('"Gamma"', '"os.system"')
    with pytest.raises(ValueError, match="distribution 'os.system' is not accepted"):
        bayes_sklearn.load(path)

