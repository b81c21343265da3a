"""Known answers for the autoscaled default priors, on data far from unit scale.

The documented defaults (docs/user_guide/priors.md), with ``s_y = sd(y)``
(``np.std``, ddof=0) for regression and 1 for classification and
``z_j = (x_j - mean(x_j)) / sd(x_j)``:

* intercept at the feature means ~ ``Normal(mean(y), 2.5 s_y)`` (regression)
  or ``Normal(0, 2.5)`` (classification);
* slope ``j`` ~ ``Normal(0, 2.5 s_y / sd(x_j))``, so ``slope_j * sd(x_j)`` ~
  ``Normal(0, 2.5 s_y)``;
* noise sd ~ ``Exponential`` with mean ``s_y``, so ``E[sigma^2] = 2 s_y^2``;
* group sds ~ ``HalfNormal(s_y / sd(z))`` for an effect of design column
  ``z`` (sd 1 for the intercept's column of ones), the effects at x = 0: a
  group's intercept at x = 0 and its slope per feature sd each deviate with
  ``E[tau^2] = s_y^2``, so at the feature means its line deviates with
  ``s_y^2 (1 + (mean(x_1) / sd(x_1))^2)`` (the LKJ correlation has mean 0).

Each is computed here from the data, and checked in the resolved spec and in
what a user sees: the regression lines of ``sample_prior_predictive``. A line
is linear in ``z``, so a least-squares fit of each simulated line on
``[1, z]`` returns that draw's intercept and standardised slopes exactly;
their moments over draws are compared with the ones above, with tolerances
from the Monte Carlo error of ``N_SAMPLES`` independent prior draws.
"""

from __future__ import annotations

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
from bayes_sklearn.priors import Exponential, HalfNormal, Normal

N_SAMPLES = 4000
N_GROUPS, PER_GROUP = 6, 10
TINY_NUTS = dict(draws=20, tune=20, chains=1, progressbar=False, random_state=0)


@pytest.fixture(scope="module")
def data():
    """x1: mean 3, sd 5; x2: mean -200, sd 0.01; y: about 1000, sd 50; six groups."""
    rng = np.random.default_rng(3)
    n = N_GROUPS * PER_GROUP
    # bounded z keeps logistic linear predictors where logit(p) is exact in doubles
    z = rng.uniform(-1.5, 1.5, size=(n, 2))
    X = pd.DataFrame({"x1": 3.0 + 5.0 * z[:, 0], "x2": -200.0 + 0.01 * z[:, 1],
                      "site": np.repeat([f"s{k}" for k in range(N_GROUPS)], PER_GROUP)})
    y = 1000.0 + 50.0 * rng.standard_normal(n)
    y_binary = (rng.uniform(size=n) < 0.4).astype(int)
    x = X[["x1", "x2"]].to_numpy()
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    return X, y, y_binary, z


def _check_moments(values: np.ndarray, mean: float, sd: float) -> None:
    """Independent draws: mean within 5 SE of ``mean``; sd within 5 SE of ``sd``."""
    n = values.shape[0]
    se_mean = sd / np.sqrt(n)
    np.testing.assert_array_less(np.abs(values.mean(axis=0) - mean), 5 * se_mean)
    # sd of a normal sample's sd: sd / sqrt(2 n)
    np.testing.assert_array_less(np.abs(values.std(axis=0) / sd - 1), 5 / np.sqrt(2 * n))


def _line_coefficients(lines: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per draw, ``[intercept, slope_1 sd(x_1), ...]`` of lines ``(draws, rows)`` in ``z``."""
    design = np.column_stack([np.ones(len(z)), z])
    coef, *_ = np.linalg.lstsq(design, lines.T, rcond=None)
    return coef.T


def _logit(p: np.ndarray) -> np.ndarray:
    eta = np.log(p[..., 1]) - np.log(p[..., 0])
    assert np.isfinite(eta).all(), "prior log-odds beyond double precision: priors too wide"
    return eta


def _prior_lines(estimator, X, y, kind="mean"):
    return estimator.sample_prior_predictive(X, y, n_samples=N_SAMPLES, kind=kind,
                                             random_state=0)


def _fitted_spec(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 20 draws: only the spec is read
        return estimator.fit(X, y).model_spec_


def _assert_normal(prior, mu: float, sigma: float) -> None:
    assert isinstance(prior, Normal), prior
    np.testing.assert_allclose([prior.mu, prior.sigma], [mu, sigma], rtol=1e-12)


# -- linear regression ---------------------------------------------------------


def test_linear_spec_is_the_documented_default(data):
    X, y, _, _ = data
    x = X[["x1", "x2"]]
    spec = BayesianLinearRegression(inference="exact", random_state=0).fit(x, y).model_spec_
    s_y = np.std(y)
    _assert_normal(spec.intercept_prior, np.mean(y), 2.5 * s_y)
    for prior, column in zip(spec.coef_priors, ["x1", "x2"]):
        _assert_normal(prior, 0.0, 2.5 * s_y / np.std(x[column]))
    assert isinstance(spec.noise_prior, Exponential)
    np.testing.assert_allclose(spec.noise_prior.scale, s_y, rtol=1e-12)


def test_linear_prior_lines_and_noise(data):
    X, y, _, z = data
    x = X[["x1", "x2"]]
    s_y = np.std(y)
    model = BayesianLinearRegression()
    coef = _line_coefficients(_prior_lines(model, x, y), z)
    _check_moments(coef[:, 0], np.mean(y), 2.5 * s_y)         # the line at the feature means
    _check_moments(coef[:, 1:], 0.0, 2.5 * s_y)              # slope x sd(x_j), both columns
    # outcomes: the residual variance about each draw's line estimates sigma^2
    # without bias; over draws its mean is E[sigma^2] = 2 s_y^2 (Exponential, mean s_y)
    outcomes = _prior_lines(model, x, y, kind="outcome")
    design = np.column_stack([np.ones(len(z)), z])
    _, rss, *_ = np.linalg.lstsq(design, outcomes.T, rcond=None)
    sigma2 = rss / (len(z) - design.shape[1])
    se = sigma2.std() / np.sqrt(len(sigma2))
    assert abs(sigma2.mean() - 2 * s_y**2) < 5 * se, (sigma2.mean(), 2 * s_y**2, se)


# -- logistic regression -------------------------------------------------------


def test_logistic_spec_and_prior_log_odds(data):
    X, _, y, z = data
    x = X[["x1", "x2"]]
    spec = _fitted_spec(BayesianLogisticRegression(**TINY_NUTS), x, y)
    _assert_normal(spec.intercept_prior, 0.0, 2.5)
    for prior, column in zip(spec.coef_priors, ["x1", "x2"]):
        _assert_normal(prior, 0.0, 2.5 / np.std(x[column]))
    coef = _line_coefficients(_logit(_prior_lines(BayesianLogisticRegression(), x, y)), z)
    _check_moments(coef[:, 0], 0.0, 2.5)
    _check_moments(coef[:, 1:], 0.0, 2.5)


# -- hierarchical models --------------------------------------------------------


def _group_line_coefficients(lines: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``(draws, groups, 3)``: each group's line per draw, fitted on its own rows."""
    return np.stack([_line_coefficients(lines[:, g * PER_GROUP:(g + 1) * PER_GROUP],
                                        z[g * PER_GROUP:(g + 1) * PER_GROUP])
                     for g in range(N_GROUPS)], axis=1)


def _group_variances(X, group_sd: float) -> np.ndarray:
    """Prior variance of a group's deviation of ``[line at the means, x1 slope * sd(x1)]``.

    The effects are at x = 0 with ``E[tau_0^2] = group_sd^2`` and
    ``E[tau_1^2] = (group_sd / sd(x1))^2``; at the mean of x1 the intercept's
    deviation is ``u + v mean(x1)``, and ``E[rho] = 0`` drops the cross term.
    """
    ratio = X["x1"].mean() / X["x1"].std(ddof=0)
    return np.array([group_sd**2 * (1 + ratio**2), group_sd**2])


def _check_group_prior(coef: np.ndarray, intercept: float, scale: float, group_var):
    """Group lines = population line + Normal(0, tau) deviations of ``group_var``.

    The intercept and x1 slope vary by group (x2's does not): a group's line
    has the population moments plus ``group_var`` of variance; the difference
    of two groups has variance 2 group_var and no population part.
    """
    var_group = np.array([*group_var, 0.0])
    for k, center in enumerate([intercept, 0.0, 0.0]):
        # tau is random: the lines are a scale mixture, so the SE is measured
        values = coef[:, :, k]
        sd = np.sqrt((2.5 * scale) ** 2 + var_group[k])
        se = values.std(axis=0) / np.sqrt(len(values))
        np.testing.assert_array_less(np.abs(values.mean(axis=0) - center), 5 * se)
        square = (values - center) ** 2
        se_var = square.std(axis=0) / np.sqrt(len(values))
        np.testing.assert_array_less(np.abs(square.mean(axis=0) - sd**2), 5 * se_var)
    difference = coef[:, 1:, :2] - coef[:, :1, :2]
    square = difference**2
    se = square.std(axis=0) / np.sqrt(len(square))
    np.testing.assert_array_less(np.abs(square.mean(axis=0) - 2 * var_group[:2]), 5 * se)
    # (log-odds recovered from probabilities near 1 keep only about 1e-6 of them)
    np.testing.assert_allclose(coef[:, 1:, 2], coef[:, :1, 2].repeat(N_GROUPS - 1, axis=1),
                               atol=1e-4 * scale)


def test_hierarchical_regression_spec_and_prior_lines(data):
    X, y, _, z = data
    s_y = np.std(y)
    settings = dict(group="site", varying_slopes=["x1"])
    spec = _fitted_spec(HierarchicalRegression(**settings, **TINY_NUTS), X, y)
    _assert_normal(spec.intercept_prior, np.mean(y), 2.5 * s_y)
    _assert_normal(spec.coef_priors[0], 0.0, 2.5 * s_y / np.std(X["x1"]))
    (term,) = spec.group_terms  # group= is the term (1 + x1 | site)
    for prior, sd in zip(term.sd_priors, [s_y, s_y / np.std(X["x1"])]):
        assert isinstance(prior, HalfNormal), prior
        np.testing.assert_allclose(prior.sigma, sd, rtol=1e-12)
    lines = _prior_lines(HierarchicalRegression(**settings), X, y)
    _check_group_prior(_group_line_coefficients(lines, z), np.mean(y), s_y,
                       _group_variances(X, s_y))
    # prior_group_scale multiplies the group sds' prior scale only
    lines = _prior_lines(HierarchicalRegression(**settings, prior_group_scale=0.5), X, y)
    _check_group_prior(_group_line_coefficients(lines, z), np.mean(y), s_y,
                       _group_variances(X, 0.5 * s_y))


def test_hierarchical_logistic_spec_and_prior_log_odds(data):
    X, _, y, z = data
    settings = dict(group="site", varying_slopes=["x1"])
    spec = _fitted_spec(HierarchicalLogisticRegression(**settings, **TINY_NUTS), X, y)
    _assert_normal(spec.intercept_prior, 0.0, 2.5)
    (term,) = spec.group_terms
    for prior, sd in zip(term.sd_priors, [1.0, 1.0 / np.std(X["x1"])]):
        assert isinstance(prior, HalfNormal), prior
        np.testing.assert_allclose(prior.sigma, sd, rtol=1e-12)
    eta = _logit(_prior_lines(HierarchicalLogisticRegression(**settings), X, y))
    _check_group_prior(_group_line_coefficients(eta, z), 0.0, 1.0, _group_variances(X, 1.0))
