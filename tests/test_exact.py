"""The exact gaussian posterior against brute-force quadrature."""

import numpy as np
import pytest
from scipy import stats

from bayes_sklearn.inference.exact import exact_posterior
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import HalfNormal, Normal


def _problem(prior_noise=None, priors=None):
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 1.5, size=12)
    y = 0.5 + 1.2 * x + rng.normal(scale=0.8, size=12)
    X = x[:, None]
    spec = resolve_model_spec(
        family="gaussian", coef_names=["x"], X=X, y=y, priors=priors, prior_noise=prior_noise
    )
    return spec, X, y


def _brute_force_moments(spec, X, y, center, half_width, points=161):
    """Posterior mean and sd of (intercept_z, coef_z, log sigma) on a dense 3-D grid."""
    axes = [np.linspace(c - h, c + h, points) for c, h in zip(center, half_width)]
    a, b, log_s = np.meshgrid(*axes, indexing="ij")
    sigma = np.exp(log_s)
    X_z = spec.standardizer.transform(X)[:, 0]
    mu = a[..., None] + b[..., None] * X_z
    log_post = stats.norm.logpdf(y, mu, sigma[..., None]).sum(axis=-1)
    coef_prior = spec.sampling_coef_priors()[0]
    log_post += stats.norm.logpdf(a, spec.intercept_prior.mu, spec.intercept_prior.sigma)
    log_post += stats.norm.logpdf(b, coef_prior.mu, coef_prior.sigma)
    log_post += spec.noise_prior.logpdf(sigma) + log_s  # density of log sigma
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    grids = (a, b, log_s)
    means = np.array([np.sum(w * g) for g in grids])
    sds = np.array([np.sqrt(np.sum(w * (g - m) ** 2)) for g, m in zip(grids, means)])
    # the grid must hold essentially all the mass
    for axis in range(3):
        edge = np.take(w, [0, -1], axis=axis).sum()
        assert edge < 1e-6
    return means, sds


@pytest.mark.parametrize(
    "prior_noise, priors",
    [(None, None), (HalfNormal(1.0), {"x": Normal(0.5, 0.3)})],
    ids=["autoscaled", "informative"],
)
def test_exact_moments_match_brute_force_quadrature(prior_noise, priors):
    spec, X, y = _problem(prior_noise, priors)
    X_z = spec.standardizer.transform(X)
    exact = exact_posterior(spec, X_z, y)
    mean, cov = exact.moments()
    sd = np.sqrt(np.diag(cov))

    draws_theta, draws_sigma = exact.sample(200_000, np.random.default_rng(0))
    log_sigma = np.log(draws_sigma)
    center = np.r_[mean, log_sigma.mean()]
    half_width = 12 * np.r_[sd, log_sigma.std()]
    bf_mean, bf_sd = _brute_force_moments(spec, X, y, center, half_width)

    # Quadrature on 161 points over +-12 sd is accurate to far below 1e-3 sd.
    np.testing.assert_allclose(mean, bf_mean[:2], atol=1e-3 * bf_sd[:2].max())
    np.testing.assert_allclose(sd, bf_sd[:2], rtol=1e-3)
    # log sigma from 200k exact draws: Monte Carlo error of the mean is sd/447.
    assert abs(log_sigma.mean() - bf_mean[2]) < 4 * bf_sd[2] / np.sqrt(200_000)
    assert abs(log_sigma.std() / bf_sd[2] - 1) < 0.01
    # the draws agree with the exact moments within Monte Carlo error
    assert np.all(np.abs(draws_theta.mean(axis=0) - mean) < 4 * sd / np.sqrt(200_000))


def test_exact_is_stable_for_noise_free_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(10, 4))
    y = X[:, 0]
    spec = resolve_model_spec(family="gaussian", coef_names=list("abcd"), X=X, y=y)
    exact = exact_posterior(spec, spec.standardizer.transform(X), y)
    theta, sigma = exact.sample(1000, np.random.default_rng(0))
    assert np.all(np.isfinite(theta)) and np.all(sigma > 0)
    assert sigma.max() < 1e-6
    coef = theta[:, 1:] / spec.standardizer.scale
    np.testing.assert_allclose(coef.mean(axis=0), [1, 0, 0, 0], atol=1e-6)


def test_the_covariance_keeps_its_digits_when_the_mean_is_many_sds_away():
    """Known sigma: the posterior is N((A'A/s2 + S^-1)^-1 (A'y/s2 + S^-1 m), (A'A/s2 + S^-1)^-1),
    computed here directly. The slope is about 2e4 posterior sds from 0 (and from
    the prior's centre), where E[tt'] - E[t]E[t]' would keep only 8 of the
    covariance's 16 digits."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=4000)
    y = 5e3 + 3.0 * x + rng.normal(scale=0.01, size=4000)
    X = x[:, None]
    spec = resolve_model_spec(family="gaussian", coef_names=["x"], X=X, y=y, prior_noise=0.01)
    X_z = spec.standardizer.transform(X)
    mean, cov = exact_posterior(spec, X_z, y).moments()
    A = np.column_stack([np.ones(4000), X_z])
    prior_mean = np.array([spec.intercept_prior.mu, spec.sampling_coef_priors()[0].mu])
    prior_var = np.array([spec.intercept_prior.sigma, spec.sampling_coef_priors()[0].sigma]) ** 2
    precision = A.T @ A / 0.01**2 + np.diag(1.0 / prior_var)
    expected_cov = np.linalg.inv(precision)
    expected_mean = expected_cov @ (A.T @ y / 0.01**2 + prior_mean / prior_var)
    assert np.abs(mean / np.sqrt(np.diag(cov))).min() > 1e4
    np.testing.assert_allclose(cov, expected_cov, rtol=1e-10, atol=1e-12 * expected_cov.max())
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-12)
