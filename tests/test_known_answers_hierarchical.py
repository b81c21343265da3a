"""Known answers for the hierarchical models, on features far from N(0, 1).

Every reference number is computed here from the model's math with numpy
and scipy, from the simulated truth or from the stored draws in
``posterior_``; never with the package's own prediction or likelihood code.
Features have mean 3 and sd 5: group effects taken at the feature means
instead of x = 0, or a slope sd per feature sd instead of per unit, are off
by a factor of 3 or 5 here, where with x ~ N(0, 1) both errors cancel.

The model of ``group="site", varying_slopes=["x1"]``, the term
``(1 + x1 | site)``: row ``i`` of group ``g``::

    eta_i = intercept + x_i @ coef + u_g + v_g * x_i1
    (u_g, v_g) ~ MvNormal(0, diag(tau_0, tau_1) R diag(tau_0, tau_1))

with the effects at x = 0 of the original scale, as lme4 and brms define
them: ``"1|site"`` is ``u_g``, ``"x1|site"`` is ``v_g``, ``"1|site_sigma"``
and ``"x1|site_sigma"`` are ``tau_0`` (at x = 0) and ``tau_1`` (per unit of
``x_1``), ``"site_corr"`` is ``R``.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, log_expit
from scipy.stats import norm

from bayes_sklearn import HierarchicalLogisticRegression, HierarchicalRegression

N_GROUPS = 30
X_MEAN, X_SD = 3.0, 5.0
#: truth: population intercept and slopes, group sds (tau_0 at x = 0, tau_1
#: per unit of x1) and their correlation, noise sd
GAUSSIAN_TRUTH = dict(intercept=10.0, coef=np.array([0.5, -0.7]), tau0=1.0, tau1=0.3,
                      rho=-0.5, sigma=0.5)
BERNOULLI_TRUTH = dict(intercept=-0.5, coef=np.array([0.3, -0.2]), tau0=0.8, tau1=0.15,
                       rho=0.4)
NUTS = dict(draws=500, tune=500, chains=2, progressbar=False, random_state=0)


def _simulate(truth: dict, per_group: int, seed: int, family: str):
    """Rows of ``N_GROUPS`` groups and the true (u_g, v_g) of each group."""
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(N_GROUPS), per_group)
    x = X_MEAN + X_SD * rng.standard_normal((codes.size, 2))
    # correlated effects at x = 0, as the model has them
    tau = np.array([truth["tau0"], truth["tau1"]])
    cov = np.outer(tau, tau) * np.array([[1.0, truth["rho"]], [truth["rho"], 1.0]])
    u, v = rng.multivariate_normal(np.zeros(2), cov, N_GROUPS).T
    eta = truth["intercept"] + x @ truth["coef"] + u[codes] + v[codes] * x[:, 0]
    if family == "gaussian":
        y = eta + rng.normal(0.0, truth["sigma"], codes.size)
    else:
        y = (rng.uniform(size=codes.size) < expit(eta)).astype(int)
    labels = np.array([f"g{k:02d}" for k in range(N_GROUPS)])
    X = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "site": labels[codes]})
    return X, y, codes, u, v


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains: the checks below assert ESS
        return estimator.fit(X, y)


@pytest.fixture(scope="module")
def gaussian_data():
    return _simulate(GAUSSIAN_TRUTH, per_group=40, seed=11, family="gaussian")


@pytest.fixture(scope="module")
def gaussian_fit(gaussian_data):
    X, y, *_ = gaussian_data
    # 40 rows per group inform each group well: the non-centred sds then mix
    # slowly (ESS 1.5-5% of the draws, by nutpie release) and get more draws
    model = HierarchicalRegression(group="site", varying_slopes=["x1"],
                                   **{**NUTS, "draws": 4000, "tune": 1000})
    return _fit(model, X, y)


@pytest.fixture(scope="module")
def bernoulli_data():
    return _simulate(BERNOULLI_TRUTH, per_group=100, seed=12, family="bernoulli")


@pytest.fixture(scope="module")
def bernoulli_fit(bernoulli_data):
    X, y, *_ = bernoulli_data
    model = HierarchicalLogisticRegression(group="site", varying_slopes=["x1"],
                                           **{**NUTS, "draws": 2000})
    return _fit(model, X, y)


def _draws(model) -> dict[str, np.ndarray]:
    """Stored draws with a flat draw axis, straight from ``posterior_``."""
    post = model.posterior_
    flat = {name: np.asarray(post[name].values) for name in post.data_vars}
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    return {name: v.reshape((chains * draws,) + v.shape[2:]) for name, v in flat.items()}


def _by_chain(model, values: np.ndarray) -> np.ndarray:
    post = model.posterior_
    return values.reshape((post.sizes["chain"], post.sizes["draw"]) + values.shape[1:])


def _ess(model, values: np.ndarray) -> np.ndarray:
    """Bulk ESS of each column of ``values`` (flat draws x columns)."""
    chained = _by_chain(model, values.reshape(values.shape[0], -1))
    return np.array([float(az.ess(chained[..., k])) for k in range(chained.shape[-1])])


def _linear_predictor(d: dict, X: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
    """``intercept + x @ coef + u_g + v_g x_1`` per draw and row, from the draws."""
    x = X[["x1", "x2"]].to_numpy()
    eta = d["intercept"][:, None] + d["coef"] @ x.T
    eta = eta + d["1|site"][:, codes]
    return eta + d["x1|site"][:, codes] * x[:, 0]


def _z_scores(model, draws: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(posterior mean - truth) / sd, the sd widened by the Monte Carlo error."""
    ess = _ess(model, draws)
    assert ess.min() > 100, ess.min()
    sd = draws.std(axis=0) * np.sqrt(1.0 + 1.0 / ess)
    return (draws.mean(axis=0) - truth) / sd


def _assert_calibrated(z: np.ndarray) -> None:
    # The truth is one draw from (nearly) the posterior of each group: z is
    # about N(0, 1) per group, so sum z^2 is about chi^2 with N_GROUPS dof
    # (mean 30, sd 7.7); 5 sds and a 4.5-sigma maximum leave room for the
    # approximation. The bugs these catch give z of 5 to 30.
    assert np.max(np.abs(z)) < 4.5, z
    assert np.sum(z**2) < N_GROUPS + 5 * np.sqrt(2 * N_GROUPS), np.sum(z**2)


# -- group effects on the original scale ----------------------------------------


def test_group_lines_recover_the_truth_at_x_zero(gaussian_fit, gaussian_data):
    """Each group's intercept (at x = 0) and slope of x1, against the simulation."""
    _, _, _, u, v = gaussian_data
    d = _draws(gaussian_fit)
    t = GAUSSIAN_TRUTH
    # population + group: identified per group; the split between them is not
    line0 = d["intercept"][:, None] + d["1|site"]
    slope = d["coef"][:, [0]] + d["x1|site"]
    _assert_calibrated(_z_scores(gaussian_fit, line0, t["intercept"] + u))
    _assert_calibrated(_z_scores(gaussian_fit, slope, t["coef"][0] + v))
    # and the deviations themselves, about their mean across groups
    dev0 = d["1|site"] - d["1|site"].mean(axis=1, keepdims=True)
    _assert_calibrated(_z_scores(gaussian_fit, dev0, u - u.mean()))


def _assert_sds_and_correlation(model, d, u, v) -> None:
    """The sds and the correlation against those of the realised effects, at x = 0."""
    # the realised effects the posterior sees (G - 1 dof: the population-level
    # terms absorb their mean)
    realised = np.array([np.std(u, ddof=1), np.std(v, ddof=1), np.corrcoef(u, v)[0, 1]])
    draws = np.column_stack([d["1|site_sigma"], d["x1|site_sigma"], d["site_corr"][:, 0, 1]])
    ess = _ess(model, draws)
    assert ess.min() > 100, ess
    # Posterior sd of tau is about tau / sqrt(2 (G - 1)); 4 of them plus the MC error
    tolerance = 4 * draws.std(axis=0) * np.sqrt(1 + 1 / ess)
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - realised), tolerance)


def test_group_sds_match_the_spread_of_the_true_effects(gaussian_fit, gaussian_data):
    """The intercept's sd at x = 0, the slope's per unit of x1, and their correlation."""
    *_, u, v = gaussian_data
    _assert_sds_and_correlation(gaussian_fit, _draws(gaussian_fit), u, v)
    assert list(gaussian_fit.posterior_["site__effect"].values) == ["1|site", "x1|site"]


def test_predictions_are_the_stored_lines_and_fit_the_noise(gaussian_fit, gaussian_data):
    X, y, codes, *_ = gaussian_data
    d = _draws(gaussian_fit)
    eta = _linear_predictor(d, X, codes)
    mean = gaussian_fit.predict(X)
    np.testing.assert_allclose(mean, eta.mean(axis=0), rtol=1e-10, atol=1e-8)
    # training RMSE: the noise sd, less the ~63 fitted parameters' share
    # (sqrt(1 - 63/1200) = 0.974), with sampling sd 0.5 / sqrt(2 * 1200) = 0.01
    rmse = np.sqrt(np.mean((y - mean) ** 2))
    expected = GAUSSIAN_TRUTH["sigma"] * np.sqrt(1 - 63 / len(y))
    assert abs(rmse - expected) < 0.04, rmse
    # with return_std: Var over draws of the line plus E[sigma^2]
    _, std = gaussian_fit.predict(X.iloc[:50], return_std=True)
    reference = np.sqrt(eta[:, :50].var(axis=0) + np.mean(d["sigma"] ** 2))
    np.testing.assert_allclose(std, reference, rtol=1e-10)


def test_logistic_group_lines_and_probabilities(bernoulli_fit, bernoulli_data):
    X, y, codes, u, v = bernoulli_data
    d = _draws(bernoulli_fit)
    t = BERNOULLI_TRUTH
    line0 = d["intercept"][:, None] + d["1|site"]
    slope = d["coef"][:, [0]] + d["x1|site"]
    _assert_calibrated(_z_scores(bernoulli_fit, line0, t["intercept"] + u))
    _assert_calibrated(_z_scores(bernoulli_fit, slope, t["coef"][0] + v))
    eta = _linear_predictor(d, X, codes)
    p1 = bernoulli_fit.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p1, expit(eta).mean(axis=0), rtol=1e-9)
    _assert_sds_and_correlation(bernoulli_fit, d, u, v)


# -- new groups ----------------------------------------------------------------


def _new_group_rows(X: pd.DataFrame) -> pd.DataFrame:
    """One unseen group at x1 = mean, mean +- 2 sd (x2 at its mean)."""
    c1, s1, c2 = X["x1"].mean(), X["x1"].std(ddof=0), X["x2"].mean()
    return pd.DataFrame({"x1": [c1, c1 + 2 * s1, c1 - 2 * s1], "x2": [c2] * 3,
                         "site": ["unseen"] * 3})


def test_new_group_spread_is_population_plus_a_new_group_draw(gaussian_fit, gaussian_data):
    """Var of a new group's line = Var(population line) + E[Var(u + v x1)], at x = 0's scale."""
    X = gaussian_data[0]
    d = _draws(gaussian_fit)
    new = _new_group_rows(X)
    x = new[["x1", "x2"]].to_numpy()
    population = d["intercept"][:, None] + d["coef"] @ x.T
    # new effects (u, v) at x = 0 with the draw's sds and correlation
    tau0, tau1 = d["1|site_sigma"][:, None], d["x1|site_sigma"][:, None]
    rho = d["site_corr"][:, 0, 1][:, None]
    x1 = x[:, 0]
    group_var = np.mean(tau0**2 + 2 * rho * tau0 * tau1 * x1 + tau1**2 * x1**2, axis=0)
    reference_var = population.var(axis=0) + group_var
    model = gaussian_fit.set_params(new_groups="sample")
    try:
        lines = model.predict_draws(new)
        _, std = model.predict(new, return_std=True)
    finally:
        model.set_params(new_groups="population")
    # the new group's effects are fresh normal draws, one per stored draw:
    # the sample variance has relative sd sqrt(Var(w^2)) / (sqrt(S) E[w^2])
    w = lines - lines.mean(axis=0)
    rel_se = (w**2).std(axis=0) / (np.sqrt(len(w)) * (w**2).mean(axis=0))
    np.testing.assert_array_less(np.abs(lines.var(axis=0) / reference_var - 1), 5 * rel_se)
    # the same new-group draws feed predict's std, plus the noise
    np.testing.assert_allclose(std**2, lines.var(axis=0) + np.mean(d["sigma"] ** 2), rtol=1e-9)
    # one group: the three rows share its effects, so the line is straight
    np.testing.assert_allclose(lines[:, 1] + lines[:, 2], 2 * lines[:, 0], rtol=1e-9)


# -- log likelihood --------------------------------------------------------------


def test_gaussian_log_likelihood_includes_the_group_effects(gaussian_fit, gaussian_data):
    X, y, codes, *_ = gaussian_data
    d = _draws(gaussian_fit)
    rows = slice(0, None, 7)  # a spread of rows from every group
    eta = _linear_predictor(d, X.iloc[rows], codes[rows])
    reference = norm.logpdf(y[rows], loc=eta, scale=d["sigma"][:, None])
    log_lik = gaussian_fit.log_likelihood(X.iloc[rows], y[rows])
    np.testing.assert_allclose(log_lik.reshape(reference.shape), reference, rtol=1e-10)
    idata = gaussian_fit.compute_log_likelihood(X.iloc[rows], y[rows])
    stored = idata.log_likelihood["y"].values
    np.testing.assert_allclose(stored.reshape(reference.shape), reference, rtol=1e-10)
    np.testing.assert_array_equal(idata.observed_data["y"].values, y[rows])


def test_bernoulli_log_likelihood_includes_the_group_effects(bernoulli_fit, bernoulli_data):
    X, y, codes, *_ = bernoulli_data
    d = _draws(bernoulli_fit)
    rows = slice(0, None, 17)
    eta = _linear_predictor(d, X.iloc[rows], codes[rows])
    reference = np.where(y[rows] == 1, log_expit(eta), log_expit(-eta))
    log_lik = bernoulli_fit.log_likelihood(X.iloc[rows], y[rows])
    np.testing.assert_allclose(log_lik.reshape(reference.shape), reference, rtol=1e-9)
    idata = bernoulli_fit.compute_log_likelihood(X.iloc[rows], y[rows])
    stored = idata.log_likelihood["y"].values
    np.testing.assert_allclose(stored.reshape(reference.shape), reference, rtol=1e-9)
