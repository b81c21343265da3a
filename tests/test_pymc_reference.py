"""``to_pymc`` and the original-scale reference model (model/pymc_model.py).

The log density is checked, constants included, against the model written
out by hand with scipy on the kernel's standardised parameters
(``hand_log_density``), mapped to the original scale: ``intercept_c`` is the
standardised intercept, ``coef = coef_z / sd(x)``. Only the coefficients'
densities change by the Jacobian of that linear map (``+ n_outputs *
sum(log sd(x))``); the log-transformed scale carries its own Jacobian on both
sides, which cancels. Group terms are checked against hand-written PyMC
models in tests/test_group_model.py.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from reference_map import jacobian, reference_point
from test_known_answers_kernel import hand_log_density

from bayes_sklearn import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalRegression,
)
from bayes_sklearn.design.standardize import Standardizer
from bayes_sklearn.model.pymc_model import build_reference_model
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import Constant, HalfNormal, Laplace, Normal, StudentT

pm = pytest.importorskip("pymc")


def _case(family, priors, prior_noise=None, n=30):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(n, 3)) * [2.0, 30.0, 0.5] + [5.0, -300.0, 0.0]
    if family == "gaussian":
        y = 1000.0 + rng.normal(scale=50.0, size=n)
    else:
        y = rng.integers(0, 3 if family == "categorical" else 2, size=n).astype(float)
    spec = resolve_model_spec(
        family=family, coef_names=["a", "b", "c"], X=X, y=y,
        n_outputs=2 if family == "categorical" else 1, priors=priors, prior_noise=prior_noise,
    )
    return spec, spec.standardizer.transform(X), y


def _n_dim(spec):
    return spec.n_outputs * (spec.n_coef + 1) + (spec.family == "gaussian")


MIXED = dict(
    family="gaussian",
    priors={"a": StudentT(nu=3.0, mu=0.0, sigma=2.0), "b": StudentT(nu=7.0, mu=1.0, sigma=0.5),
            "c": Laplace(0.0, 1.0)},
    prior_noise=HalfNormal(80.0),
)
CATEGORICAL = dict(
    family="categorical",
    priors={"a": StudentT(nu=2.0, mu=0.0, sigma=1.0), "b": StudentT(nu=5.0, mu=0.5, sigma=2.0),
            "c": StudentT(nu=30.0, mu=-0.5, sigma=1.5)},
)


CASES = {
    "gaussian": dict(family="gaussian", priors=None),
    "bernoulli": dict(family="bernoulli", priors=None),
    "categorical": CATEGORICAL,
    "mixed-priors": MIXED,
}


@pytest.mark.parametrize("name", CASES)
def test_log_density_is_the_kernels_on_the_original_scale(name):
    spec, X_z, y = _case(**CASES[name])
    X = X_z * spec.standardizer.scale + spec.standardizer.center
    y_fit = y.astype(np.int64) if spec.family != "gaussian" else y
    theta = np.random.default_rng(2).normal(scale=0.7, size=_n_dim(spec))
    expected = hand_log_density(spec, X_z, y, theta) + jacobian(spec)
    model = build_reference_model(spec, X, y_fit)
    got = model.compile_logp()(reference_point(model, spec, theta))
    np.testing.assert_allclose(got, expected, rtol=1e-9)

    weighted = build_reference_model(spec, X, y_fit, sample_weight=np.full(len(y), 2.0))
    expected_2 = hand_log_density(spec, X_z, y, theta, weight=2.0) + jacobian(spec)
    np.testing.assert_allclose(weighted.compile_logp()(reference_point(weighted, spec, theta)),
                               expected_2, rtol=1e-9)


def _far_data(n=60, seed=3):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 1))
    # correlated columns far from standard scale
    X = np.column_stack([z[:, 0] * 40 + 500, (z[:, 0] + 0.3 * rng.normal(size=n)) * 0.05 - 2])
    y = 3000.0 + X @ [1.5, -200.0] + rng.normal(scale=20.0, size=n)
    return X, y


def test_pm_sample_recovers_the_exact_posterior():
    X, y = _far_data()
    est = BayesianLinearRegression(inference="exact", draws=2000, random_state=0).fit(X, y)
    exact = est.posterior_
    model = BayesianLinearRegression().to_pymc(X, y)
    with model:
        idata = pm.sample(draws=500, tune=500, chains=2, random_seed=1, progressbar=False,
                          compute_convergence_checks=False)
    import arviz as az

    summary = az.summary(idata, var_names=["intercept", "coef"])
    assert (summary["ess_bulk"] > 100).all(), summary
    mcmc_mean = summary["mean"].to_numpy()
    mcmc_se = summary["mcse_mean"].to_numpy()
    exact_draws = np.column_stack([exact["intercept"].values.ravel(),
                                   exact["coef"].values.reshape(-1, 2)])
    exact_mean = exact_draws.mean(axis=0)
    exact_se = exact_draws.std(axis=0) / np.sqrt(len(exact_draws))  # iid exact draws
    # az.summary rounds to 2 decimals: add that to the tolerance
    tolerance = 4 * np.sqrt(mcmc_se**2 + exact_se**2) + 0.01
    assert np.all(np.abs(mcmc_mean - exact_mean) < tolerance), (mcmc_mean, exact_mean, tolerance)


def _hier_frame():
    X, y = _far_data(n=48)
    frame = pd.DataFrame(X, columns=["dose", "level"])
    frame["site"] = np.repeat(list("abcd"), 12)
    return frame, y


def test_coords_and_variable_names_match_posterior_():
    X, y = _far_data()
    model = BayesianLinearRegression().to_pymc(pd.DataFrame(X, columns=["dose", "level"]), y)
    assert model.coords == {"feature": ("dose", "level")}
    assert model.named_vars_to_dims["coef"] == ("feature",)
    assert {v.name for v in model.free_RVs} == {"intercept_c", "coef", "sigma"}
    assert {v.name for v in model.deterministics} == {"intercept"}
    assert {"X", "y_data", "x_mean"} <= set(model.named_vars)
    assert [v.name for v in model.observed_RVs] == ["y"]

    labels = np.array(["lo", "mid", "hi"])[np.arange(60) % 3]
    clf = BayesianLogisticRegression().to_pymc(X, labels)
    assert clf.coords == {"feature": ("x0", "x1"), "class": ("lo", "mid")}  # "hi" is the reference
    assert clf.named_vars_to_dims["coef"] == ("feature", "class")
    assert clf.named_vars_to_dims["intercept"] == ("class",)

    frame, y = _hier_frame()
    # group= is the term (1 + dose | site), with its names
    hier = HierarchicalRegression(group="site", varying_slopes=["dose"]).to_pymc(frame, y)
    assert hier.coords["site__factor_dim"] == ("a", "b", "c", "d")
    assert hier.coords["site__effect"] == ("1|site", "dose|site")
    assert hier.named_vars_to_dims["1|site"] == ("site__factor_dim",)
    assert hier.named_vars_to_dims["dose|site"] == ("site__factor_dim",)
    assert hier.named_vars_to_dims["site_corr"] == ("site__effect", "site__effect2")
    assert {"1|site_sigma", "dose|site_sigma", "site__design", "site__code"} <= set(
        hier.named_vars)
    assert "group_code" not in hier.named_vars


def test_users_extend_the_model_and_the_estimator_is_untouched():
    X, y = _far_data()
    est = BayesianLinearRegression()
    model = est.to_pymc(X, y)
    assert not hasattr(est, "n_features_in_")
    with model:
        extra = pm.Normal("extra", 0.0, 1.0)
        pm.Potential("tie", pm.logp(pm.Normal.dist(model["coef"][0], 1.0), extra))
    assert "extra" in model.named_vars
    assert np.isfinite(model.compile_logp()(model.initial_point()))


def test_sample_weight_is_checked():
    X, y = _far_data()
    with pytest.raises(ValueError, match="zero"):
        BayesianLinearRegression().to_pymc(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="shape"):
        BayesianLinearRegression().to_pymc(X, y, sample_weight=np.ones(3))


def test_weights_reach_the_autoscaled_priors_and_x_mean():
    """``to_pymc(X, y, w)`` is the model ``fit(X, y, w)`` samples: weighted moments."""
    X, y = _far_data()
    w = np.linspace(0.2, 3.0, len(y))
    model = BayesianLinearRegression().to_pymc(X, y, sample_weight=w)
    np.testing.assert_allclose(model["x_mean"].get_value(), w @ X / w.sum(), rtol=1e-12)
    y_mean = w @ y / w.sum()
    np.testing.assert_allclose(model["intercept_c_mu"].get_value(), [y_mean], rtol=1e-12)
    np.testing.assert_allclose(model["sample_weight"].get_value(), w)


def _gaussian_spec(**changes):
    """A resolved gaussian spec (data far from standard scale), with fields replaced."""
    spec, X_z, y = _case(family="gaussian", priors=None)
    X = X_z * spec.standardizer.scale + spec.standardizer.center
    return dataclasses.replace(spec, **changes), X, y


def _hand_gaussian(spec, X, y, intercept, coef, sigma, free_sigma):
    """log p by hand (scipy), original scale; ``+ log sigma``: PyMC's log-transform Jacobian."""
    from scipy import stats

    out = stats.norm.logpdf(y, intercept + X @ coef, sigma).sum()
    for prior, value in zip(spec.coef_priors, coef, strict=True):
        if not isinstance(prior, Constant):
            out += stats.norm.logpdf(value, prior.mu, prior.sigma)
    if spec.fit_intercept:
        at = intercept + (spec.standardizer.center @ coef if spec.intercept_at_mean else 0.0)
        out += stats.norm.logpdf(at, spec.intercept_prior.mu, spec.intercept_prior.sigma)
    if free_sigma:
        out += stats.expon.logpdf(sigma, scale=spec.noise_prior.scale) + np.log(sigma)
    return out


def _fixed_coef():
    spec, X, y = _gaussian_spec()
    priors = list(spec.coef_priors)
    priors[1] = Constant(0.4)
    return dataclasses.replace(spec, coef_priors=tuple(priors)), X, y


def _no_intercept():
    spec, X, y = _gaussian_spec(fit_intercept=False, intercept_prior=Constant(0.0))
    center = np.zeros(spec.n_coef)
    return dataclasses.replace(spec, standardizer=Standardizer(center, spec.standardizer.scale)), X, y


def _intercept_at_zero():
    spec, X, y = _gaussian_spec(intercept_at_mean=False, intercept_prior=Normal(900.0, 300.0))
    center = np.zeros(spec.n_coef)
    return dataclasses.replace(spec, standardizer=Standardizer(center, spec.standardizer.scale)), X, y


FIXED_CASES = {
    "fixed-coefficient": _fixed_coef,
    "fixed-sigma": lambda: _gaussian_spec(noise_prior=Constant(45.0)),
    "no-intercept": _no_intercept,
    "intercept-at-zero": _intercept_at_zero,
}


@pytest.mark.parametrize("make", list(FIXED_CASES.values()), ids=list(FIXED_CASES))
def test_log_density_with_fixed_values_and_intercept_choices(make):
    spec, X, y = make()
    model = build_reference_model(spec, X, y)
    rng = np.random.default_rng(4)
    coef = rng.normal(size=spec.n_coef) * [3.0, 0.2, 40.0]
    fixed = [j for j, p in enumerate(spec.coef_priors) if isinstance(p, Constant)]
    coef[fixed] = [spec.coef_priors[j].value for j in fixed]
    intercept = 950.0 if spec.fit_intercept else 0.0
    free_sigma = not isinstance(spec.noise_prior, Constant)
    sigma = 60.0 if free_sigma else spec.noise_prior.value
    point = {}
    values = {v.name for v in model.value_vars}
    if "coef" in values:
        point["coef"] = coef
    else:
        point["coef_normal"] = np.delete(coef, fixed)
    if "intercept_c" in values:
        point["intercept_c"] = intercept + spec.standardizer.center @ coef
    if "intercept" in values:
        point["intercept"] = intercept
    if free_sigma:
        point["sigma_log__"] = np.log(sigma)
    assert set(point) == values
    expected = _hand_gaussian(spec, X, y, intercept, coef, sigma, free_sigma)
    np.testing.assert_allclose(model.compile_logp()(point), expected, rtol=1e-10)
    if fixed:
        np.testing.assert_allclose(model["coef_fixed_value"].get_value(), [0.4])
    if not free_sigma:
        assert model["sigma"].get_value() == 45.0
    if not spec.fit_intercept:
        assert "intercept" not in model.named_vars and "intercept_c" not in model.named_vars


def test_prior_parameters_are_data_and_any_pymc_distribution_is_built():
    """Priors are built from ``pymc_distribution``/``pymc_parameters()``, parameters as data."""

    @dataclasses.dataclass(frozen=True)
    class Uniform:  # a stand-in for the priors branch's Uniform
        lower: float
        upper: float
        pymc_distribution = "Uniform"

        def pymc_parameters(self):
            return {"lower": self.lower, "upper": self.upper}

    spec, X, y = _gaussian_spec()
    priors = list(spec.coef_priors)
    priors[0] = Uniform(-10.0, 10.0)
    spec = dataclasses.replace(spec, coef_priors=tuple(priors))
    model = build_reference_model(spec, X, y)
    assert {"coef_uniform", "coef_normal"} <= {v.name for v in model.free_RVs}
    np.testing.assert_allclose(model["coef_uniform_upper"].get_value(), [10.0])
    np.testing.assert_allclose(model["coef_normal_sigma"].get_value(),
                               [p.sigma for p in spec.coef_priors[1:]])
    model["coef_uniform_upper"].set_value(np.array([20.0]))  # a new prior, same graph
    point = model.initial_point()
    logp = model.compile_logp(vars=[model["coef_uniform"]], jacobian=False)
    np.testing.assert_allclose(logp(point), -np.log(30.0), rtol=1e-12)


def test_an_unknown_family_is_named():
    spec, X, y = _gaussian_spec()
    with pytest.raises(ValueError, match="Unknown family 'poisson'"):
        build_reference_model(dataclasses.replace(spec, family="poisson"), X, y)
