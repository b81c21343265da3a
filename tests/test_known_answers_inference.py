"""Known answers for the exact posterior and the unit-scale response.

The exact posterior is checked against an independent quadrature: for each
``sigma`` on a grid, the coefficients' conditional posterior is the textbook
normal (precision ``S^-1 + A'A / sigma^2``) and ``p(y | sigma)`` is the
multivariate normal ``N(A m, sigma^2 I + A S A')``, evaluated with scipy.
Responses have mean 1e3 and sd 1e-2 (or 1e8), far from the standard scale.
"""

from dataclasses import replace

import numpy as np
import pytest
from scipy import integrate, special, stats

from bayes_sklearn.inference import InferenceSettings, SamplerResult, run_inference
from bayes_sklearn.inference.exact import exact_posterior, sample_exact
from bayes_sklearn.inference.response import ResponseScale
from bayes_sklearn.inference.result import TermDraws
from bayes_sklearn.model.spec import GroupTerm, resolve_model_spec
from bayes_sklearn.priors import (
    Exponential,
    HalfNormal,
    HalfStudentT,
    Laplace,
    Normal,
    StudentT,
)


def _problem(y_center=1e3, y_sd=1e-2, n=25, seed=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [1.0, 10.0] + [5.0, -50.0]
    y = y_center + y_sd * (X @ [0.8, -0.05] + 0.6 * rng.normal(size=n))
    priors = {
        "intercept": Normal(y_center, 3 * y_sd),
        "a": Normal(0.5 * y_sd, 1.0 * y_sd),
        "b": Normal(0.0, 0.2 * y_sd),
    }
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y,
                              priors=priors, prior_noise=HalfNormal(2 * y_sd))
    return spec, spec.standardizer.transform(X), y


def _design_and_prior(spec, X_z):
    A = np.column_stack([np.ones(len(X_z)), X_z])
    priors = [spec.intercept_prior, *spec.sampling_coef_priors()]
    return A, np.array([p.mu for p in priors]), np.diag([p.sigma**2 for p in priors])


def _conditional_mean_and_cov(spec, X_z, y, sigma):
    """The textbook normal posterior of theta given sigma."""
    A, m, S = _design_and_prior(spec, X_z)
    S_inv = np.linalg.inv(S)
    cov = np.linalg.inv(S_inv + A.T @ A / sigma**2)
    return cov @ (S_inv @ m + A.T @ y / sigma**2), cov


def _quadrature(spec, X_z, y, points=1001):
    """Grid of log sigma, normalised posterior weights on it, conditional moments."""
    n = len(y)
    A, m, S = _design_and_prior(spec, X_z)
    ols = np.linalg.lstsq(A, y, rcond=None)[0]
    s_hat = np.sqrt(np.sum((y - A @ ols) ** 2) / n)
    log_sigma = np.linspace(np.log(s_hat) - 2.5, np.log(s_hat) + 2.5, points)
    log_w = np.empty(points)
    means = np.empty((points, len(m)))
    covs = np.empty((points, len(m), len(m)))
    for i, ls in enumerate(log_sigma):
        s2 = np.exp(2 * ls)
        log_w[i] = (stats.multivariate_normal.logpdf(y, A @ m, s2 * np.eye(n) + A @ S @ A.T)
                    + stats.halfnorm.logpdf(np.exp(ls), scale=spec.noise_prior.sigma) + ls)
        means[i], covs[i] = _conditional_mean_and_cov(spec, X_z, y, np.exp(ls))
    w = np.exp(log_w - log_w.max())
    assert w[0] < 1e-12 and w[-1] < 1e-12  # the grid holds all the mass
    return log_sigma, w / w.sum(), means, covs


def _quadrature_moments(spec, X_z, y):
    """Posterior mean and covariance of theta, and E[sigma]."""
    log_sigma, w, means, covs = _quadrature(spec, X_z, y)
    mean = w @ means
    spread = means - mean  # not E[theta theta'] - mean mean': the intercept is near 1e3
    cov = np.einsum("g,gi,gj->ij", w, spread, spread) + np.einsum("g,gij->ij", w, covs)
    return mean, cov, w @ np.exp(log_sigma)


class _QuantileRng:
    """Stands in for a Generator: the given uniforms, and normal deviates of 0."""

    def __init__(self, u):
        self.u = np.asarray(u)

    def random(self, n):
        assert n == len(self.u)
        return self.u

    def standard_normal(self, shape):
        return np.zeros(shape)


def test_exact_draws_are_inverse_cdf_quantiles_of_sigma_and_conditional_means():
    """sample() draws log sigma by inverse CDF, then theta given sigma: with chosen
    uniforms and zero deviates, it returns sigma's posterior quantiles and the
    conditional posterior means there."""
    spec, X_z, y = _problem()
    log_sigma, w, _, _ = _quadrature(spec, X_z, y)
    cdf = integrate.cumulative_trapezoid(w, log_sigma, initial=0.0)
    u = np.array([0.05, 0.5, 0.95])
    expected = np.interp(u, cdf / cdf[-1], log_sigma)
    sd_log_sigma = np.sqrt(w @ log_sigma**2 - (w @ log_sigma) ** 2)
    theta, sigma = exact_posterior(spec, X_z, y).sample(3, _QuantileRng(u))
    np.testing.assert_allclose(np.log(sigma), expected, rtol=0, atol=2e-4 * sd_log_sigma)
    for row, s in zip(theta, sigma):
        mean, cov = _conditional_mean_and_cov(spec, X_z, y, s)
        np.testing.assert_allclose(row, mean, rtol=0, atol=1e-6 * np.sqrt(np.diag(cov)).min())


@pytest.mark.parametrize("y_center, y_sd", [(1e3, 1e-2), (-3e9, 1e8)], ids=["1e3+-1e-2", "1e8"])
def test_exact_moments_match_independent_quadrature(y_center, y_sd):
    spec, X_z, y = _problem(y_center, y_sd)
    exact = exact_posterior(spec, X_z, y)
    mean, cov = exact.moments()
    q_mean, q_cov, q_sigma = _quadrature_moments(spec, X_z, y)
    sd = np.sqrt(np.diag(q_cov))
    np.testing.assert_allclose(mean, q_mean, rtol=0, atol=1e-5 * sd.min())
    np.testing.assert_allclose(cov, q_cov, rtol=1e-4, atol=1e-5 * sd.min() ** 2)

    draws, sigma = exact.sample(40_000, np.random.default_rng(1))
    # Monte Carlo error of a mean of 40k independent draws is sd / 200
    assert np.all(np.abs(draws.mean(axis=0) - q_mean) < 4 * sd / 200)
    # relative sd of a variance estimate is sqrt(2 / n) = 0.007; of a correlation 1 / sqrt(n)
    np.testing.assert_allclose(draws.var(axis=0), sd**2, rtol=0.03)
    np.testing.assert_allclose(np.corrcoef(draws.T), q_cov / np.outer(sd, sd), atol=0.02)
    assert abs(sigma.mean() - q_sigma) < 4 * sigma.std() / 200


def test_sample_exact_lays_out_independent_draws_as_chains():
    spec, X_z, y = _problem()
    settings = InferenceSettings(method="exact", draws=50, chains=3, seed=7)
    result = sample_exact(spec, X_z, y, settings)
    theta, sigma = exact_posterior(spec, X_z, y).sample(150, np.random.default_rng(7))
    assert result.intercept_z.shape == (3, 50, 1)
    assert result.coef_z.shape == (3, 50, 2, 1)
    assert result.sigma.shape == (3, 50)
    # chain c, draw d is independent draw c * 50 + d
    np.testing.assert_array_equal(result.intercept_z[2, 10, 0], theta[110, 0])
    np.testing.assert_array_equal(result.coef_z[1, 49, :, 0], theta[99, 1:])
    np.testing.assert_array_equal(result.sigma[2, 10], sigma[110])
    assert result.method == "exact" and result.sample_stats is None


def test_exact_rejects_other_families_and_priors_with_a_message():
    X = np.random.default_rng(0).normal(size=(10, 2))
    y = (X[:, 0] > 0).astype(float)
    spec = resolve_model_spec(family="bernoulli", coef_names=["a", "b"], X=X, y=y)
    with pytest.raises(ValueError, match=r"^inference='exact' applies only to the gaussian linear model\.$"):
        exact_posterior(spec, X, y)
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y,
                              priors={"b": StudentT(nu=3.0)})
    with pytest.raises(ValueError, match=r"inference='exact' needs Normal priors \(or fixed "
                       r"values\) on the intercept and every coefficient; the prior of 'b' is StudentT\(.*"
                       r"Use inference='nuts'\."):
        exact_posterior(spec, X, y)
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y,
                              priors={"intercept": Laplace()})
    with pytest.raises(ValueError, match="the prior of 'intercept' is Laplace"):
        exact_posterior(spec, X, y)


# ---------------------------------------------------------------- ResponseScale

def test_response_scale_fit_and_transform_by_hand():
    y = np.array([999.99, 1000.0, 1000.01, 1000.02])
    scale = ResponseScale.fit(y)
    assert scale.center == pytest.approx(1000.005, rel=1e-15)
    # population sd (ddof 0) of [-1.5, -0.5, 0.5, 1.5] * 1e-2
    assert scale.scale == pytest.approx(np.sqrt(1.25) * 1e-2, rel=1e-10)
    unit = ResponseScale(center=1000.0, scale=0.01).transform(np.array([999, 1000, 1002]))
    assert unit.dtype == np.float64
    np.testing.assert_allclose(unit, [-100.0, 0.0, 200.0], rtol=1e-12)
    # float32 data are fitted in float64, as everywhere else
    unit = ResponseScale(center=1000.0, scale=0.01).transform(np.array([1000.5], dtype=np.float32))
    assert unit.dtype == np.float64 and unit[0] == 50.0
    # a constant response keeps scale 1: the transform only centres it
    constant = ResponseScale.fit(np.full(5, 1e3))
    assert (constant.center, constant.scale) == (1e3, 1.0)


def _spec_with_every_prior():
    X = np.random.default_rng(0).normal(size=(12, 3))
    y = np.zeros(12)
    spec = resolve_model_spec(
        family="gaussian", coef_names=["a", "b", "c"], X=X, y=y,
        priors={"intercept": Normal(1000.5, 0.2), "a": Normal(0.03, 0.04),
                "b": StudentT(nu=4.0, mu=-0.02, sigma=0.05), "c": Laplace(mu=0.01, b=0.06)},
        prior_noise=Exponential(0.02),
    )
    term = GroupTerm("g", ("u", "v"), ("1|g", "b|g"),
                     (HalfNormal(0.03), HalfStudentT(nu=5.0, sigma=0.07)))
    return spec, replace(spec, group_terms=(term,))


def test_spec_to_unit_maps_every_prior_by_hand():
    spec, grouped = _spec_with_every_prior()
    response = ResponseScale(center=1000.0, scale=0.01)
    unit = response.spec_to_unit(grouped)
    # intercept: (Normal(1000.5, 0.2) - 1000) / 0.01
    assert type(unit.intercept_prior) is Normal
    assert (unit.intercept_prior.mu, unit.intercept_prior.sigma) == pytest.approx((50.0, 20.0))
    a, b, c = unit.coef_priors
    assert (a.mu, a.sigma) == pytest.approx((3.0, 4.0))
    assert type(b) is StudentT and (b.nu, b.mu, b.sigma) == pytest.approx((4.0, -2.0, 5.0))
    assert type(c) is Laplace and (c.mu, c.b) == pytest.approx((1.0, 6.0))
    assert type(unit.noise_prior) is Exponential and unit.noise_prior.scale == pytest.approx(2.0)
    # a term's effects are in y's units per unit of its design: their sds scale with y
    (term,) = unit.group_terms
    sd0, sd1 = term.sd_priors
    assert type(sd0) is HalfNormal and sd0.sigma == pytest.approx(3.0)
    assert type(sd1) is HalfStudentT and (sd1.nu, sd1.sigma) == pytest.approx((5.0, 7.0))
    assert term.levels == ("u", "v") and term.effect_names == ("1|g", "b|g")
    assert unit.coef_names == spec.coef_names and unit.standardizer is spec.standardizer
    # the original spec is left alone
    assert grouped.intercept_prior == Normal(1000.5, 0.2)
    assert grouped.group_terms[0].sd_priors[0] == HalfNormal(0.03)
    assert response.spec_to_unit(spec).group_terms == ()


def test_result_to_original_by_hand():
    response = ResponseScale(center=1000.0, scale=0.01)
    stats_ = {"diverging": np.zeros((1, 2), dtype=bool)}
    unit = SamplerResult(
        intercept_z=np.array([[[1.0], [-2.0]]]),
        coef_z=np.array([[[[3.0]], [[4.0]]]]),
        sigma=np.array([[0.5, 2.0]]),
        sample_stats=stats_,
        method="advi",
        elbo_history=np.array([-10.0, -4.0]),
        converged=True,
        # one level, two effects: (chains, draws, levels, effects), (chains, draws, effects)
        group_terms=(TermDraws(effects=np.array([[[[5.0, 1.0]], [[-6.0, 2.0]]]]),
                               sd=np.array([[[7.0, 1.0], [8.0, 2.0]]]),
                               corr=np.array([[[[1.0, 0.5], [0.5, 1.0]]] * 2])),),
    )
    out = response.result_to_original(unit, n_rows=7)
    np.testing.assert_allclose(out.intercept_z.ravel(), [1000.01, 999.98], rtol=1e-15)
    np.testing.assert_allclose(out.coef_z.ravel(), [0.03, 0.04], rtol=1e-15)
    np.testing.assert_allclose(out.sigma.ravel(), [0.005, 0.02], rtol=1e-15)
    (term,) = out.group_terms
    np.testing.assert_allclose(term.effects.ravel(), [0.05, 0.01, -0.06, 0.02], rtol=1e-15)
    np.testing.assert_allclose(term.sd.ravel(), [0.07, 0.01, 0.08, 0.02], rtol=1e-15)
    np.testing.assert_array_equal(term.corr, unit.group_terms[0].corr)  # unitless
    # log p(y) = log p(y_unit) - n log(scale): 7 * log(100) added
    np.testing.assert_allclose(out.elbo_history, [-10.0 + 7 * np.log(100), -4.0 + 7 * np.log(100)],
                               rtol=1e-14)
    assert out.sample_stats is stats_ and out.method == "advi" and out.converged is True
    # absent quantities stay absent
    bare = replace(unit, sigma=None, group_terms=(), elbo_history=None)
    out = response.result_to_original(bare, n_rows=7)
    assert out.sigma is None and out.group_terms == () and out.elbo_history is None


def test_unit_scale_exact_fit_equals_the_original_scale_posterior():
    """run_inference fits (y - 1e3) / 1e-2 and maps back: the same posterior."""
    spec, X_z, y = _problem()
    mean, cov = exact_posterior(spec, X_z, y).moments()
    q_mean, _, q_sigma = _quadrature_moments(spec, X_z, y)
    settings = InferenceSettings(method="exact", draws=10_000, chains=2, seed=3)
    result = run_inference(spec, X_z, y, settings)
    theta = np.column_stack([result.intercept_z.reshape(-1), result.coef_z.reshape(-1, 2)])
    sd = np.sqrt(np.diag(cov))
    # 20k independent draws: Monte Carlo error of the mean is sd / 141
    assert np.all(np.abs(theta.mean(axis=0) - mean) < 4 * sd / np.sqrt(20_000))
    np.testing.assert_allclose(theta.std(axis=0), sd, rtol=0.03)
    sigma = result.sigma.ravel()
    assert abs(sigma.mean() - q_sigma) < 4 * sigma.std() / np.sqrt(20_000)


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_duplicate_column_keeps_the_prior_on_the_unidentified_difference(seed):
    """y = 1e3 + 3 (x - 1e3) + 1e-9 noise, with x entered twice.

    The data fix b1 + b2 = 3 and say nothing about b1 - b2; with equal prior
    sds s, sum and difference are independent a priori, so b1 - b2 keeps its
    prior N(0, 2 s^2) exactly. The null direction's eigenvalue comes out of
    eigh as rounding (0, or 1e-14 for seed 0), which must not be read as
    information even though sigma^2 is that small too.
    """
    rng = np.random.default_rng(seed)
    x = 1e3 + 1e-2 * rng.normal(size=(20, 1))
    y = 1e3 + 3.0 * (x[:, 0] - 1e3) + 1e-9 * rng.normal(size=20)
    X = np.hstack([x, x])
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y)
    mean, cov = exact_posterior(spec, spec.standardizer.transform(X), y).moments()
    scale = spec.standardizer.scale
    coef, coef_cov = mean[1:] / scale, cov[1:, 1:] / np.outer(scale, scale)
    difference, total = np.array([1.0, -1.0]), np.array([1.0, 1.0])
    prior_sd = spec.coef_priors[0].sigma
    assert prior_sd == spec.coef_priors[1].sigma
    assert np.sqrt(difference @ coef_cov @ difference) == pytest.approx(np.sqrt(2) * prior_sd,
                                                                        rel=1e-6)
    assert total @ coef == pytest.approx(3.0, abs=1e-6)
    np.testing.assert_allclose(coef, [1.5, 1.5], atol=1e-6)


def test_exact_high_signal_to_noise_is_ordinary_least_squares():
    """200 rows, noise 1e-4 of y's sd: the log density reaches ~1800 at its peak, so
    it must be shifted down before exp. With priors this weak (flat on theta,
    p(sigma) ~ constant) the marginal is p(sigma | y) ~ sigma^-k exp(-rss / 2 sigma^2),
    k = n - 2, so theta's mean is the least-squares fit, its covariance
    E[sigma^2] (A'A)^-1 with E[sigma^2] = rss / (k - 3), and
    E[sigma] = sqrt(rss / 2) Gamma((k - 2) / 2) / Gamma((k - 1) / 2)."""
    rng = np.random.default_rng(8)
    X = 1e3 + 1e-2 * rng.normal(size=(200, 1))
    y = 1e3 + 2.0 * (X[:, 0] - 1e3) + 1e-6 * rng.normal(size=200)
    spec = resolve_model_spec(family="gaussian", coef_names=["x"], X=X, y=y)
    X_z = spec.standardizer.transform(X)
    A = np.column_stack([np.ones(200), X_z])
    ols, rss = np.linalg.lstsq(A, y, rcond=None)[:2]
    k = 200 - 2
    expected_cov = rss[0] / (k - 3) * np.linalg.inv(A.T @ A)
    exact = exact_posterior(spec, X_z, y)
    mean, cov = exact.moments()
    sd = np.sqrt(np.diag(expected_cov))
    np.testing.assert_allclose(mean, ols, rtol=0, atol=1e-3 * sd.min())
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), sd, rtol=1e-3)
    e_sigma = np.sqrt(rss[0] / 2) * np.exp(special.gammaln((k - 2) / 2) - special.gammaln((k - 1) / 2))
    _, sigma = exact.sample(4000, np.random.default_rng(0))
    # sigma's posterior sd is ~5% of its mean: 4000 draws give 0.08% Monte Carlo error
    assert sigma.mean() == pytest.approx(e_sigma, rel=4 * sigma.std() / e_sigma / np.sqrt(4000))


def test_exact_sigma_posterior_narrower_than_the_coarse_grid_step():
    """A million rows: log sigma's posterior sd, 1 / sqrt(2 n) = 7e-4, is below the
    coarse grid's step (0.0125), so a single coarse point may hold all the mass and
    the fine grid must still bracket it. Same closed form as above (flat-prior limit)."""
    rng = np.random.default_rng(9)
    n = 1_000_000
    x = rng.normal(size=n)
    y = 1e3 + 1e-2 * (2.0 * x + 0.5 * rng.normal(size=n))
    spec = resolve_model_spec(family="gaussian", coef_names=["x"], X=x[:, None], y=y)
    X_z = spec.standardizer.transform(x[:, None])
    A = np.column_stack([np.ones(n), X_z])
    ols, rss = np.linalg.lstsq(A, y, rcond=None)[:2]
    k = n - 2
    exact = exact_posterior(spec, X_z, y)
    mean, cov = exact.moments()
    sd = np.sqrt(rss[0] / (k - 3) * np.diag(np.linalg.inv(A.T @ A)))
    np.testing.assert_allclose(mean, ols, rtol=0, atol=1e-3 * sd.min())
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), sd, rtol=1e-3)
    e_sigma = np.sqrt(rss[0] / 2) * np.exp(special.gammaln((k - 2) / 2) - special.gammaln((k - 1) / 2))
    _, sigma = exact.sample(4000, np.random.default_rng(0))
    sd_sigma = e_sigma / np.sqrt(2 * n)
    assert abs(sigma.mean() - e_sigma) < 4 * sd_sigma / np.sqrt(4000)
    assert sigma.std() == pytest.approx(sd_sigma, rel=0.1)
