"""No intercept, fixed values and intercept priors at x = 0 (issue 14, items 1 and 3).

The known answers are the Gaussian closed form of a linear model whose noise
sd is known, written here with numpy alone: prior precision plus
``X'X / sigma^2``, and the precision-weighted mean.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from bayes_sklearn import (
    BayesianConvergenceWarning,
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalRegression,
)
from bayes_sklearn.inference import _kernel
from bayes_sklearn.inference.packing import pack_model
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import Constant, Normal, StudentT

from conftest import FAST_NUTS


def closed_form(A, y, prior_mean, prior_sd, sigma):
    """Posterior mean and covariance of ``theta`` in ``y ~ N(A theta, sigma^2)``
    with independent normal priors.

    The posterior is the least-squares problem ``[A / sigma; I / s] theta ~
    [y / sigma; m / s]``; solved by QR, not through the normal equations, so
    that ill-conditioned designs keep their digits.
    """
    prior_mean, prior_sd = np.asarray(prior_mean, float), np.asarray(prior_sd, float)
    stacked = np.vstack([A / sigma, np.diag(1.0 / prior_sd)])
    target = np.concatenate([y / sigma, prior_mean / prior_sd])
    q, r = np.linalg.qr(stacked)
    mean = np.linalg.solve(r, q.T @ target)
    r_inv = np.linalg.inv(r)
    return mean, r_inv @ r_inv.T


def seed_002_data():
    # 11 points on y = 0.3 x + 2 with noise sd 0.1, as in the seed-002 post
    x = np.linspace(0.0, 1.0, 11)
    y = 0.3 * x + 2.0 + np.random.default_rng(2).normal(scale=0.1, size=11)
    return x[:, None], y


def test_seed_002_known_noise_is_the_closed_form():
    X, y = seed_002_data()
    model = BayesianLinearRegression(
        inference="exact", prior_noise=0.1, center_predictors=False,
        priors={"intercept": Normal(0.0, 0.2), "x0": Normal(0.0, 0.2)}, random_state=0,
    ).fit(X, y)
    A = np.column_stack([np.ones(11), X])
    mean, cov = closed_form(A, y, [0.0, 0.0], [0.2, 0.2], 0.1)
    np.testing.assert_allclose([model.intercept_, *model.coef_], mean, rtol=1e-10, atol=0)
    np.testing.assert_allclose(model.coef_cov_, cov, rtol=1e-10, atol=1e-10 * np.abs(cov).max())
    assert model.sigma_ == 0.1
    assert np.all(model.posterior_.sigma.values == 0.1)
    # the draws are the same Gaussian: means within 4 Monte Carlo se of 4000 draws
    draws = np.column_stack([model.posterior_.intercept.values.ravel(),
                             model.posterior_.coef.values.reshape(-1)])
    se = np.sqrt(np.diag(cov) / draws.shape[0])
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 4 * se)
    # exact inference predicts with the exact mean line
    np.testing.assert_allclose(model.predict(X), A @ mean, rtol=1e-10)


def test_the_intercept_prior_applies_where_center_predictors_says():
    """The same Normal(0, 0.2) on the intercept at x = 0 and at the feature
    means are different models; each is its own closed form."""
    X, y = seed_002_data()
    X = X * 50 - 300  # x from -300 to -250: the two intercepts are far apart
    A0 = np.column_stack([np.ones(11), X])
    kwargs = dict(inference="exact", prior_noise=0.1, random_state=0,
                  priors={"intercept": Normal(0.0, 0.2), "x0": Normal(0.0, 0.2)})
    at_zero = BayesianLinearRegression(center_predictors=False, **kwargs).fit(X, y)
    mean0, _ = closed_form(A0, y, [0.0, 0.0], [0.2, 0.2], 0.1)
    np.testing.assert_allclose([at_zero.intercept_, *at_zero.coef_], mean0, rtol=1e-9)

    at_mean = BayesianLinearRegression(**kwargs).fit(X, y)
    xbar = X.mean(axis=0)
    Ac = np.column_stack([np.ones(11), X - xbar])
    mean_c, cov_c = closed_form(Ac, y, [0.0, 0.0], [0.2, 0.2], 0.1)
    # (c, beta) -> (intercept at 0, beta): intercept = c - xbar beta
    T = np.array([[1.0, -xbar[0]], [0.0, 1.0]])
    np.testing.assert_allclose([at_mean.intercept_, *at_mean.coef_], T @ mean_c, rtol=1e-9)
    np.testing.assert_allclose(at_mean.coef_cov_, T @ cov_c @ T.T, rtol=1e-8)
    assert abs(at_mean.intercept_ - at_zero.intercept_) > 1.0


def far_data(n=120, seed=5):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(3.0, 5.0, n), rng.normal(-200.0, 0.01, n),
                         rng.normal(1000.0, 40.0, n)])
    y = X @ [2.0, 30.0, -0.5] + rng.normal(scale=2.0, size=n)
    return X, y


def test_no_intercept_exact_is_the_closed_form_through_the_origin():
    X, y = far_data()
    priors = {j: Normal(mu, sd) for j, (mu, sd) in enumerate([(0, 10), (1, 50), (0, 2)])}
    model = BayesianLinearRegression(inference="exact", fit_intercept=False, prior_noise=2.0,
                                     priors=priors, random_state=0).fit(X, y)
    mean, cov = closed_form(X, y, [0, 1, 0], [10, 50, 2], 2.0)
    assert model.intercept_ == 0.0
    assert np.all(model.posterior_.intercept.values == 0.0)
    np.testing.assert_allclose(model.coef_, mean, rtol=1e-9)
    np.testing.assert_allclose(model.coef_cov_[1:, 1:], cov, rtol=1e-7,
                               atol=1e-9 * np.abs(cov).max())
    np.testing.assert_array_equal(model.coef_cov_[0], 0.0)
    np.testing.assert_allclose(model.predict(X), X @ mean, rtol=1e-9)


@pytest.mark.parametrize("inference", ["nuts", "advi"])
def test_no_intercept_sampled_agrees_with_the_closed_form(inference):
    X, y = far_data()
    if inference == "advi":
        # Adam on the strongly correlated posterior of far_data needs far more
        # steps than a test affords; uncentred columns of mean 1.5 sd still
        # test the uncentred design and y with a mean of 1000.
        rng = np.random.default_rng(9)
        X = rng.normal(size=(120, 3)) * [5.0, 0.01, 40.0] + [7.5, 0.015, 60.0]
        y = 1000 + X @ [2.0, 3000.0, -0.5] + rng.normal(scale=2.0, size=120)
    priors = {j: Normal(0.0, 100.0) for j in range(3)}
    extra = dict(max_iter=30_000, tol=1e-3) if inference == "advi" else {}
    model = BayesianLinearRegression(
        inference=inference, fit_intercept=False, prior_noise=2.0, priors=priors,
        draws=500, tune=500, chains=2, progressbar=False, random_state=1, **extra,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BayesianConvergenceWarning)
        model.fit(X, y)
    mean, cov = closed_form(X, y, [0, 0, 0], [100, 100, 100], 2.0)
    sd = np.sqrt(np.diag(cov))
    assert model.intercept_ == 0.0
    if inference == "nuts":
        # Uncentred columns with means far from 0 give a correlated posterior,
        # which a diagonal mass matrix samples slowly: the tolerance is 4 Monte
        # Carlo se at the ESS reached (asserted to be reasonable).
        ess = model.convergence_.min_ess_bulk
        assert ess > 100
        np.testing.assert_array_less(np.abs(model.coef_ - mean), 4 * sd / np.sqrt(ess))
    else:
        # ADVI's optimum is the Gaussian itself here; its averaged iterates
        # stay within a quarter sd of it
        np.testing.assert_array_less(np.abs(model.coef_ - mean), 0.25 * sd)


def test_formulas_without_intercept_are_fit_intercept_false():
    X, y = far_data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    reference = BayesianLinearRegression(inference="exact", fit_intercept=False,
                                         random_state=0).fit(frame, y)
    for formula in ["0 + a + b + c", "a + b + c - 1"]:
        model = BayesianLinearRegression(formula=formula, inference="exact",
                                         random_state=0).fit(frame, y)
        assert model.intercept_ == 0.0
        assert model.design_.intercept is False
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
        np.testing.assert_allclose(model.predict(frame.iloc[:5]), reference.predict(frame.iloc[:5]),
                                   rtol=1e-12)
    # fit_intercept=False with a formula that has one: no intercept either
    model = BayesianLinearRegression(formula="a + b + c", fit_intercept=False,
                                     inference="exact", random_state=0).fit(frame, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)


def test_a_number_fixes_a_coefficient_as_an_offset():
    X, y = far_data()
    prior_sd = [10.0, 50.0, 2.0]
    priors = {0: 2.0, 1: Normal(0, prior_sd[1]), 2: Normal(0, prior_sd[2]),
              "intercept": Normal(0.0, 1000.0)}
    model = BayesianLinearRegression(inference="exact", prior_noise=2.0, priors=priors,
                                     center_predictors=False, random_state=0).fit(X, y)
    assert isinstance(model.model_spec_.coef_priors[0], Constant)
    A = np.column_stack([np.ones(len(y)), X[:, 1:]])
    mean, cov = closed_form(A, y - 2.0 * X[:, 0], [0, 0, 0], [1000, 50, 2], 2.0)
    assert model.coef_[0] == pytest.approx(2.0, rel=1e-12)
    np.testing.assert_allclose(model.coef_[1:], mean[1:], rtol=1e-9)
    np.testing.assert_allclose(model.intercept_, mean[0], rtol=1e-9)
    np.testing.assert_allclose(model.coef_cov_[1, :], 0.0, atol=1e-12 * np.abs(cov).max())
    nuts = BayesianLinearRegression(prior_noise=2.0, priors=priors, center_predictors=False,
                                    **{**FAST_NUTS, "draws": 400}).fit(X, y)
    np.testing.assert_allclose(nuts.posterior_.coef.sel(feature="x0").values, 2.0, rtol=1e-12)
    assert nuts.coef_[0] == 2.0 and nuts.sigma_ == 2.0  # fixed values read exactly
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_array_less(np.abs(nuts.coef_[1:] - mean[1:]), 0.4 * sd[1:])


def test_fixed_values_are_the_models_conditional_in_the_kernel():
    """Fixing a parameter in the kernel gives the full model's log density at
    that value, less the fixed parameters' prior terms, and its gradient."""
    X, y = far_data(n=40)
    rng = np.random.default_rng(0)
    yb = (rng.random(40) < 0.5).astype(float)
    for family, target in [("gaussian", y), ("bernoulli", yb)]:
        common = dict(family=family, coef_names=("a", "b", "c"), X=X, y=target,
                      center_predictors=False)
        free = resolve_model_spec(**common, priors={"intercept": Normal(0.3, 2.0),
                                                    "b": StudentT(3, 0, 5)})
        fixed = resolve_model_spec(**common, priors={"intercept": 0.3, "b": 0.7},
                                   prior_noise=1.5 if family == "gaussian" else None)
        # the free model in the same coordinates: not recentred for its free intercept
        packed_free = pack_model(free, free.standardizer.transform(X), target,
                                 intercept_shift=np.zeros(3))
        packed_fixed = pack_model(fixed, fixed.standardizer.transform(X), target)
        # layout: intercept, a, b, c (, log sigma): the free ones are a and c
        assert packed_fixed.free.tolist() == [1, 3]
        theta = rng.normal(size=2)
        full = packed_fixed.expand(theta)
        b_z = 0.7 * fixed.standardizer.scale[1]
        assert full[0] == 0.3 and full[2] == pytest.approx(b_z, rel=1e-15)
        logp_fixed, grad_fixed = _kernel.log_density(packed_fixed.header, theta)
        logp_free, grad_free = _kernel.log_density(packed_free.header, full)
        # the kernel's prior terms of the fixed parameters (constants dropped):
        # Normal at its own mean is 0; Student-t(3) of b on the standardised scale
        prior_terms = -2.0 * np.log1p((b_z / (5 * free.standardizer.scale[1])) ** 2 / 3)
        if family == "gaussian":
            u = full[4]
            assert u == pytest.approx(np.log(1.5), rel=1e-15)
            prior_terms += -np.exp(u) / free.noise_prior.scale + u  # Exponential, log-Jacobian
        assert logp_fixed == pytest.approx(logp_free - prior_terms, rel=1e-12)
        np.testing.assert_allclose(grad_fixed, grad_free[[1, 3]], rtol=1e-10)


def test_no_intercept_classifier_and_hierarchical():
    X, y = far_data()
    labels = (y > np.median(y)).astype(int)
    clf = BayesianLogisticRegression(fit_intercept=False, **FAST_NUTS).fit(X, labels)
    np.testing.assert_array_equal(clf.intercept_, 0.0)
    # every draw's line passes through the origin: probability one half there
    np.testing.assert_array_equal(clf.predict_proba(np.zeros((1, 3))), [[0.5, 0.5]])
    groups = np.repeat(np.arange(6), 20)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(g=groups)
    hier = HierarchicalRegression(group="g", fit_intercept=False, **FAST_NUTS).fit(
        frame, y + 5 * groups)
    assert hier.intercept_ == 0.0
    # the group intercepts still vary, as in lme4's 0 + x + (1 | g)
    spread = hier.posterior_["1|g"].mean(("chain", "draw")).values
    assert np.ptp(spread) > 10


def test_fixed_values_reach_the_prior_predictive():
    _, y = far_data()
    model = BayesianLinearRegression(fit_intercept=False, prior_noise=3.0,
                                     priors={"x0": Normal(0.0, 1.0), "x1": 30.0,
                                             "x2": Normal(0.0, 1.0)})
    at_origin = np.zeros((len(y), 3))
    lines = model.sample_prior_predictive(at_origin, y, n_samples=40, random_state=0,
                                          kind="mean")
    # no intercept: every prior line passes through the origin
    np.testing.assert_array_equal(lines, 0.0)
    outcomes = model.sample_prior_predictive(at_origin, y, n_samples=100, random_state=0)
    # 12000 outcomes of pure noise: their sd is the known 3 (to 5%; se 0.7%)
    assert np.std(outcomes) == pytest.approx(3.0, rel=0.05)
    unit_x1 = np.tile([0.0, 1.0, 0.0], (len(y), 1))
    lines = model.sample_prior_predictive(unit_x1, y, n_samples=20, random_state=0, kind="mean")
    np.testing.assert_allclose(lines, 30.0, rtol=1e-12)  # the fixed slope of x1


def test_bad_fixed_values_are_refused():
    X, y = far_data()
    with pytest.raises(ValueError, match="fit_intercept=False"):
        BayesianLinearRegression(fit_intercept=False, priors={"intercept": Normal(0, 1)},
                                 inference="exact").fit(X, y)
    with pytest.raises(ValueError, match="prior_noise"):
        BayesianLinearRegression(prior_noise=-1.0, inference="exact").fit(X, y)
    with pytest.raises(ValueError, match="finite"):
        BayesianLinearRegression(priors={"x0": np.inf}, inference="exact").fit(X, y)
    with pytest.raises(ValueError, match="nothing to infer"):
        BayesianLinearRegression(fit_intercept=False, priors=dict.fromkeys(range(3), 1.0),
                                 prior_noise=1.0, **FAST_NUTS).fit(X, y)


def test_sklearn_tools_see_the_new_parameters():
    X, y = far_data()
    model = BayesianLinearRegression(fit_intercept=False, center_predictors=False,
                                     prior_noise=2.0, inference="exact", random_state=0)
    assert clone(model).get_params()["fit_intercept"] is False
    search = GridSearchCV(model, {"fit_intercept": [True, False], "prior_noise": [1.0, 2.0]},
                          cv=3).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_a_model_without_intercept_survives_save_and_load(tmp_path):
    X, y = far_data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = BayesianLinearRegression(formula="0 + a + b", prior_noise=2.0, inference="exact",
                                     random_state=0).fit(frame, y)
    path = model.save(tmp_path / "m.bsk")
    loaded = BayesianLinearRegression.load(path)
    assert loaded.design_.intercept is False
    assert loaded.model_spec_.fit_intercept is False
    assert loaded.model_spec_.noise_prior == Constant(2.0)
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame), rtol=1e-12)


def test_an_intercept_prior_at_zero_is_sampled_at_the_means():
    """center_predictors=False: the kernel recentres its design and applies
    the prior at theta_0 - shift . coef; the log density is the uncentred
    model's, at the corresponding point, to rounding."""
    X, y = far_data(n=60)
    spec = resolve_model_spec(family="gaussian", coef_names=("a", "b", "c"), X=X, y=y,
                              center_predictors=False,
                              priors={"intercept": StudentT(4, 100.0, 30.0)})
    X_z = spec.standardizer.transform(X)
    recentred = pack_model(spec, X_z, y, sufficient_statistics=False)
    as_given = pack_model(spec, X_z, y, sufficient_statistics=False,
                          intercept_shift=np.zeros(3))
    shift = recentred.intercept_shift
    np.testing.assert_allclose(shift, X_z.mean(axis=0), rtol=1e-12)
    theta = np.random.default_rng(3).normal(size=5) + [100.0, 0, 0, 0, 0]
    # the same line: intercept at the means c = a + shift . coef
    centred = theta.copy()
    centred[0] = theta[0] + shift @ theta[1:4]
    logp_c, grad_c = _kernel.log_density(recentred.header, centred)
    logp_a, grad_a = _kernel.log_density(as_given.header, theta)
    assert logp_c == pytest.approx(logp_a, rel=1e-10)
    # chain rule of theta -> centred: d/d coef_j picks up shift_j * d/dc
    expected = grad_c.copy()
    expected[1:4] += shift * grad_c[0]
    np.testing.assert_allclose(expected, grad_a, rtol=1e-8, atol=1e-8 * np.abs(grad_a).max())


def test_the_kernel_runs_flat_and_half_cauchy_priors():
    from bayes_sklearn.priors import Flat, HalfCauchy, HalfStudentT

    X, y = far_data(n=50)
    common = dict(family="gaussian", coef_names=("a", "b", "c"), X=X, y=y)
    cauchy = resolve_model_spec(**common, prior_noise=HalfCauchy(3.0))
    half_t = resolve_model_spec(**common, prior_noise=HalfStudentT(nu=1, sigma=3.0))
    X_z = cauchy.standardizer.transform(X)
    theta = np.random.default_rng(4).normal(size=5)
    logp_c, grad_c = _kernel.log_density(pack_model(cauchy, X_z, y).header, theta)
    logp_t, grad_t = _kernel.log_density(pack_model(half_t, X_z, y).header, theta)
    assert logp_c == logp_t
    np.testing.assert_array_equal(grad_c, grad_t)
    # Flat on b: the log density moves along b by the likelihood alone
    flat = resolve_model_spec(**common, priors={"b": Flat()}, prior_noise=2.0)
    packed = pack_model(flat, flat.standardizer.transform(X), y)
    theta = np.random.default_rng(5).normal(size=packed.n_dim)
    moved = theta.copy()
    moved[2] += 0.5
    full, full_moved = packed.expand(theta), packed.expand(moved)

    def loglik(point):
        eta = point[0] + flat.standardizer.transform(X) @ point[1:4]
        return -0.5 * np.sum((y - eta) ** 2) / np.exp(point[4]) ** 2

    change = (_kernel.log_density(packed.header, moved)[0]
              - _kernel.log_density(packed.header, theta)[0])
    # both sides difference two log likelihoods of size |loglik|: rounding at 1e-13 of it
    assert change == pytest.approx(loglik(full_moved) - loglik(full),
                                   abs=1e-13 * abs(loglik(full)))


def test_flat_priors_and_known_noise_give_least_squares():
    """Flat priors everywhere and a known sd: the posterior is N(b_ols, sigma^2 (A'A)^-1)."""
    from bayes_sklearn.priors import Flat

    X, y = far_data()
    X = X[:, [0, 2]]
    model = BayesianLinearRegression(priors={"intercept": Flat(), "x0": Flat(), "x1": Flat()},
                                     prior_noise=2.0, **{**FAST_NUTS, "draws": 500})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BayesianConvergenceWarning)
        model.fit(X, y)
    A = np.column_stack([np.ones(len(y)), X])
    ols = np.linalg.lstsq(A, y, rcond=None)[0]
    sd = 2.0 * np.sqrt(np.diag(np.linalg.inv(A.T @ A)))
    ess = model.convergence_.min_ess_bulk
    assert ess > 100
    estimate = np.array([model.intercept_, *model.coef_])
    np.testing.assert_array_less(np.abs(estimate - ols), 4 * sd / np.sqrt(ess))


def test_the_recentred_intercept_is_reported_at_the_origin():
    """unpack_draws maps the sampled intercept at X_z = shift back to X_z = 0."""
    from bayes_sklearn.inference.packing import intercept_shift_for, unpack_draws

    X, y = far_data(n=30)
    spec = resolve_model_spec(family="gaussian", coef_names=("a", "b", "c"), X=X, y=y,
                              center_predictors=False)
    theta = np.random.default_rng(6).normal(size=(2, 3, 5))
    shift = np.array([0.5, -2.0, 4.0])
    result = unpack_draws(spec, theta, method="m", intercept_shift=shift, sample_stats=None)
    np.testing.assert_allclose(result.intercept_z[..., 0],
                               theta[..., 0] - theta[..., 1:4] @ shift, rtol=1e-12)
    # the shift is the weighted column mean; weight 0 rows do not count
    X_z = spec.standardizer.transform(X)
    w = np.r_[np.zeros(10), np.full(20, 2.0)]
    np.testing.assert_allclose(intercept_shift_for(spec, X_z, w), X_z[10:].mean(axis=0),
                               rtol=1e-12)
    packed = pack_model(spec, X_z, y, sample_weight=w)
    np.testing.assert_allclose(packed.intercept_shift, X_z[10:].mean(axis=0), rtol=1e-12)
    at_mean = resolve_model_spec(family="gaussian", coef_names=("a", "b", "c"), X=X, y=y)
    assert not np.any(intercept_shift_for(at_mean, X_z))


def test_sampled_intercept_at_zero_agrees_with_the_closed_form():
    X, y = far_data()
    priors = {"intercept": Normal(50.0, 100.0), 0: Normal(0, 10), 1: Normal(0, 50),
              2: Normal(0, 2)}
    model = BayesianLinearRegression(prior_noise=2.0, priors=priors, center_predictors=False,
                                     **{**FAST_NUTS, "draws": 400}).fit(X, y)
    A = np.column_stack([np.ones(len(y)), X])
    mean, cov = closed_form(A, y, [50, 0, 0, 0], [100, 10, 50, 2], 2.0)
    ess = model.convergence_.min_ess_bulk
    assert ess > 100
    estimate = np.array([model.intercept_, *model.coef_])
    np.testing.assert_array_less(np.abs(estimate - mean), 4 * np.sqrt(np.diag(cov) / ess))


def test_exact_with_more_columns_than_rows_and_everything_fixed():
    rng = np.random.default_rng(8)
    X = rng.normal(2.0, 3.0, size=(5, 8))
    y = X @ rng.normal(size=8) + 100.0
    priors = {j: Normal(0.0, 1.0) for j in range(8)} | {"intercept": Normal(100.0, 5.0)}
    model = BayesianLinearRegression(inference="exact", prior_noise=0.5, priors=priors,
                                     center_predictors=False, random_state=0).fit(X, y)
    A = np.column_stack([np.ones(5), X])
    mean, cov = closed_form(A, y, [100.0] + [0.0] * 8, [5.0] + [1.0] * 8, 0.5)
    np.testing.assert_allclose([model.intercept_, *model.coef_], mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.coef_cov_, cov, rtol=1e-8, atol=1e-10)
    fixed = BayesianLinearRegression(inference="exact", fit_intercept=False, prior_noise=0.5,
                                     priors=dict.fromkeys(range(8), 1.0))
    with pytest.raises(ValueError, match="nothing to infer"):
        fixed.fit(X, y)


def test_an_uncentred_standardizer_keeps_constant_columns():
    from bayes_sklearn.design.standardize import Standardizer

    X = np.column_stack([np.full(6, 5.0), np.zeros(6), np.arange(6.0)])
    uncentred = Standardizer.fit(X, center=False)
    np.testing.assert_array_equal(uncentred.center, 0.0)
    # a constant column keeps its values, scaled by their magnitude; zeros by 1
    np.testing.assert_allclose(uncentred.scale, [5.0, 1.0, np.std(np.arange(6.0))])
    np.testing.assert_allclose(Standardizer.fit(X).scale, [1.0, 1.0, np.std(np.arange(6.0))])


def test_one_free_parameter_is_enough_to_sample():
    X, y = far_data()
    model = BayesianLinearRegression(priors=dict.fromkeys(range(3), 0.5), prior_noise=2.0,
                                     **FAST_NUTS).fit(X, y)
    # only the intercept is free: its posterior is the mean residual, sd 2 / sqrt(n)
    residual_mean = np.mean(y - X @ [0.5, 0.5, 0.5])
    sd = 2.0 / np.sqrt(len(y))
    assert model.intercept_ == pytest.approx(residual_mean, abs=4 * sd / np.sqrt(100))
    np.testing.assert_array_equal(model.coef_, 0.5)


@pytest.mark.parametrize("form", [{"fit_intercept": False}, {"center_predictors": False}])
def test_minibatch_advi_fits_the_uncentred_forms(form):
    rng = np.random.default_rng(10)
    X = rng.normal(size=(2000, 2)) * [5.0, 40.0] + [7.5, 60.0]
    y = (0.0 if "fit_intercept" in form else 300.0) + X @ [2.0, -0.5] + rng.normal(size=2000)
    priors = {0: Normal(0, 100), 1: Normal(0, 100)}
    if "center_predictors" in form:
        priors["intercept"] = Normal(0.0, 1000.0)
    model = BayesianLinearRegression(inference="advi", batch_size=200, prior_noise=1.0,
                                     priors=priors, max_iter=20_000, random_state=0,
                                     progressbar=False, **form)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BayesianConvergenceWarning)
        model.fit(X, y)
    A = X if "fit_intercept" in form else np.column_stack([np.ones(2000), X])
    mean, cov = closed_form(A, y, [0.0] * A.shape[1], [100.0] * 2 if A.shape[1] == 2
                            else [1000.0, 100.0, 100.0], 1.0)
    estimate = model.coef_ if "fit_intercept" in form else np.r_[model.intercept_, model.coef_]
    # minibatch gradients are noisy: within 1% of each coefficient's size
    # (hundreds of posterior sds at n = 2000), far from the unshifted mistake
    np.testing.assert_allclose(estimate, mean, rtol=0.01)
