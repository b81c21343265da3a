"""Known answers for every number BayesianLinearRegression reports.

The reference posterior is computed in ``_gaussian_reference.py`` from the
model's math (conjugate normal update given sigma, quadrature over sigma),
not with the package's exact backend. Data are far from standard scale:
x0 has mean 3 and sd 5, x1 mean -200 and sd 0.01, correlated 0.8; y is about
1000. Tolerances are Monte Carlo errors of the draws (4 standard errors),
with the ESS they rely on asserted first.
"""

import warnings

import numpy as np
import pytest
from _gaussian_reference import (
    NOISE_SD,
    PRIOR_MEAN,
    PRIOR_SD,
    GaussianReference,
    model_kwargs,
    scaled_data,
)
from scipy import stats

from bayes_sklearn import BayesianLinearRegression, BayesianLogisticRegression
from bayes_sklearn.priors import HalfNormal, Normal


#: Independent exact draws are cheap: 40000 make E[sigma^2] accurate enough
#: to tell it from E[sigma]^2 in the predictive sd (0.17% apart here).
EXACT_DRAWS = 40_000


@pytest.fixture(scope="module")
def data():
    return scaled_data()


@pytest.fixture(scope="module")
def reference(data):
    return GaussianReference(*data, PRIOR_MEAN, PRIOR_SD, NOISE_SD)


@pytest.fixture(scope="module")
def exact(data):
    return BayesianLinearRegression(inference="exact", draws=EXACT_DRAWS // 4, chains=4,
                                    random_state=0, **model_kwargs()).fit(*data)


@pytest.fixture(scope="module")
def nuts(data):
    return BayesianLinearRegression(draws=1000, tune=500, chains=2, random_state=1,
                                    **model_kwargs()).fit(*data)


# New rows: at the data, far out in x0, and off the x0-x1 correlation.
X_NEW = np.array([[3.0, -200.0], [30.0, -199.95], [-10.0, -199.98], [8.0, -200.02]])


def _draws(model):
    post = model.posterior_
    theta = np.column_stack([post["intercept"].values.ravel(),
                             post["coef"].values.reshape(-1, post.sizes["feature"])])
    return theta, post["sigma"].values.ravel()


def _ess_of_squares(model):
    """Bulk ESS of the squared deviations of (intercept, coef...) and of sigma:
    what the Monte Carlo error of an sd or a correlation depends on. NUTS
    draws can be antithetic, with an ESS above the number of draws for the
    mean and well below it for the squares."""
    import arviz as az

    theta, sigma = _draws(model)
    chains = model.posterior_.sizes["chain"]
    squares = ((theta - theta.mean(axis=0)) ** 2).reshape(chains, -1, theta.shape[1])
    ess = np.array([az.ess(squares[..., j]) for j in range(theta.shape[1])])
    return ess, float(az.ess(((sigma - sigma.mean()) ** 2).reshape(chains, -1)))


def _check_against_reference(theta, sigma, reference, ess_theta, ess_sigma,
                             ess_squares=None):
    """``ess_squares``: the ESS of the squared deviations (theta's, sigma's)
    for the sds and correlations; independent draws: the same as the means'."""
    ess_theta_sq, ess_sigma_sq = ess_squares or (ess_theta, ess_sigma)
    """Means, sds and correlations of (intercept, coef) and sigma within 4 MC errors."""
    mean, cov = reference.moments()
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    # MC standard errors: of a mean sd/sqrt(ess); of an sd about sd/sqrt(2 ess)
    # (near-normal marginals); of a correlation (1 - rho^2)/sqrt(ess).
    np.testing.assert_array_less(np.abs(theta.mean(axis=0) - mean), 4 * sd / np.sqrt(ess_theta))
    np.testing.assert_array_less(np.abs(theta.std(axis=0) - sd),
                                 4 * sd / np.sqrt(2 * ess_theta_sq))
    ess_pair = np.minimum.outer(ess_theta_sq, ess_theta_sq)
    off = ~np.eye(len(mean), dtype=bool)
    np.testing.assert_array_less(np.abs(np.corrcoef(theta, rowvar=False) - corr)[off],
                                 (4 * (1 - corr**2) / np.sqrt(ess_pair))[off])
    sigma_mean = reference.sigma_moment(1)
    sigma_sd = np.sqrt(reference.sigma_moment(2) - sigma_mean**2)
    assert abs(sigma.mean() - sigma_mean) < 4 * sigma_sd / np.sqrt(ess_sigma)
    assert abs(sigma.std() - sigma_sd) < 4 * sigma_sd / np.sqrt(2 * ess_sigma_sq)


def test_reference_is_far_from_standard_scale_and_informed_by_the_prior(reference, data):
    """The case is the one the audit asked for, and the x1 prior matters."""
    X, y = data
    mean, cov = reference.moments()
    assert 900 < y.mean() < 1100 and abs(X[:, 1].mean() + 200) < 0.01
    # the intercept at x = 0 is far from the one at the feature means, mean(y)
    assert abs(mean[0] - y.mean()) > 10_000
    ols = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0]
    assert abs(mean[2] - ols[2]) > 0.2 * np.sqrt(cov[2, 2])  # shrunk towards 100
    assert np.corrcoef(X, rowvar=False)[0, 1] > 0.7


def test_exact_draws_match_the_independent_posterior(exact, reference):
    theta, sigma = _draws(exact)
    assert len(sigma) == EXACT_DRAWS  # independent draws: ESS = number of draws
    ess = np.full(theta.shape[1], float(EXACT_DRAWS))
    _check_against_reference(theta, sigma, reference, ess, float(EXACT_DRAWS))
    # the point estimates are those posterior means
    mean, cov = reference.moments()
    sd = np.sqrt(np.diag(cov))
    assert abs(exact.intercept_ - mean[0]) < 4 * sd[0] / np.sqrt(EXACT_DRAWS)
    np.testing.assert_array_less(np.abs(exact.coef_ - mean[1:]), 4 * sd[1:] / np.sqrt(EXACT_DRAWS))
    np.testing.assert_allclose(np.sqrt(np.diag(exact.coef_cov_)), sd,
                               rtol=4 / np.sqrt(2 * EXACT_DRAWS))


def test_nuts_matches_the_independent_posterior_sigma_included(nuts, reference):
    import arviz as az

    theta, sigma = _draws(nuts)
    ess_all = az.ess(nuts.posterior_)
    ess_theta = np.r_[ess_all["intercept"].values.ravel(), ess_all["coef"].values.ravel()]
    ess_sigma = float(ess_all["sigma"])
    assert np.all(ess_theta > 400) and ess_sigma > 400
    _check_against_reference(theta, sigma, reference, ess_theta, ess_sigma,
                             _ess_of_squares(nuts))


def _correlated_case(n=300, p=8, seed=21):
    """Eight columns of one latent factor (pairwise correlation about 0.995),
    at means from -500 to 3000 and sds from 0.02 to 40; y about 5000."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal(n)
    loc = np.linspace(-500.0, 3000.0, p)
    scale = np.geomspace(0.02, 40.0, p)
    X = loc + scale * (latent[:, None] + 0.07 * rng.standard_normal((n, p)))
    coef = rng.normal(size=p) / scale
    y = 5000.0 + (X - loc) @ coef + rng.normal(scale=2.0, size=n)
    prior_mean = np.r_[5000.0, np.zeros(p)]
    prior_sd = np.r_[50.0, 3.0 / scale]
    return X, y, prior_mean, prior_sd


@pytest.fixture(scope="module")
def correlated():
    X, y, prior_mean, prior_sd = _correlated_case()
    priors = {"intercept": Normal(prior_mean[0], prior_sd[0]),
              **{j: Normal(m, s) for j, (m, s) in enumerate(zip(prior_mean[1:], prior_sd[1:]))}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converges at default settings
        model = BayesianLinearRegression(priors=priors, prior_noise=HalfNormal(NOISE_SD),
                                         progressbar=False, random_state=3).fit(X, y)
    return model, GaussianReference(X, y, prior_mean, prior_sd, NOISE_SD)


def test_nuts_on_strongly_correlated_columns_matches_the_independent_posterior(correlated):
    """NUTS samples in the coordinates of the posterior's Laplace approximation
    (inference/preconditioning.py); the posterior must be the model's."""
    import arviz as az

    model, reference = correlated
    X = _correlated_case()[0]
    corr = np.corrcoef(X, rowvar=False)[~np.eye(X.shape[1], dtype=bool)]
    assert corr.min() > 0.98
    assert model.inference_method_ == "nuts (nutpie, precompiled, laplace-whitened)"
    theta, sigma = _draws(model)
    ess_all = az.ess(model.posterior_)
    ess_theta = np.r_[ess_all["intercept"].values.ravel(), ess_all["coef"].values.ravel()]
    ess_sigma = float(ess_all["sigma"])
    assert np.all(ess_theta > 1000) and ess_sigma > 1000
    _check_against_reference(theta, sigma, reference, ess_theta, ess_sigma,
                             _ess_of_squares(model))
    # a hard posterior for a diagonal mass matrix: the coefficients' correlation
    # matrix has condition number above 1000 (scales 30x apart off the axes)
    _, cov = reference.moments()
    sd = np.sqrt(np.diag(cov))
    assert np.linalg.cond(cov[1:, 1:] / np.outer(sd[1:], sd[1:])) > 1000


def test_predictive_std_is_line_variance_plus_mean_noise_variance(exact, reference):
    _, std = exact.predict(X_NEW, return_std=True)
    line_var = reference.line_var(X_NEW)
    noise_var = reference.sigma_moment(2)
    truth = np.sqrt(line_var + noise_var)
    # MC error from N independent draws: Var of the line to relative
    # sqrt(2/N), E[sigma^2] to sd(sigma^2)/sqrt(N); propagated through the sqrt.
    sd_sigma2 = np.sqrt(reference.sigma_moment(4) - noise_var**2)
    se = (line_var * np.sqrt(2 / EXACT_DRAWS) + sd_sigma2 / np.sqrt(EXACT_DRAWS)) / (2 * truth)
    np.testing.assert_array_less(np.abs(std - truth), 4 * se)
    # and the mean prediction is the posterior mean of the line
    mean, _ = reference.moments()
    line_mean = mean[0] + X_NEW @ mean[1:]
    np.testing.assert_array_less(np.abs(exact.predict(X_NEW) - line_mean),
                                 4 * np.sqrt(line_var / EXACT_DRAWS))


@pytest.mark.parametrize("kind", ["mean", "predictive"])
@pytest.mark.parametrize("prob", [0.5, 0.9])
def test_interval_has_the_stated_posterior_probability(exact, reference, kind, prob):
    """The bounds sit at the reference posterior's (1 -+ prob)/2 quantiles.

    Under the reference, F(lower) and F(upper) of a quantile estimated from
    N independent draws have sd sqrt(q (1 - q) / N): 0.0034 at q = 0.05
    with 4000 draws, 0.0011 with 40000. An 80% interval in place of 90% puts F(lower) at 0.10.
    """
    interval = exact.predict_interval(X_NEW, prob=prob, kind=kind)
    predictive = kind == "predictive"
    levels = np.array([(1 - prob) / 2, (1 + prob) / 2])
    cdf = reference.line_cdf(X_NEW, interval, predictive=predictive)
    se = np.sqrt(levels * (1 - levels) / EXACT_DRAWS)
    np.testing.assert_array_less(np.abs(cdf - levels), np.broadcast_to(4 * se, cdf.shape))
    # the same statement for the width: a sample quantile's se is
    # sqrt(q (1 - q) / N) / density, for a near-normal line z-scaled by sd,
    # so the width 2 z sd is relatively accurate to sqrt(2) that over 2 z
    truth = reference.line_quantiles(X_NEW, levels, predictive=predictive)
    z = stats.norm.ppf(levels[1])
    rtol = 4 * np.sqrt(2) * se[1] / stats.norm.pdf(z) / (2 * z)
    np.testing.assert_allclose(interval[:, 1] - interval[:, 0], truth[:, 1] - truth[:, 0],
                               rtol=rtol)


@pytest.fixture(scope="module")
def logistic():
    rng = np.random.default_rng(5)
    X = np.column_stack([3 + 5 * rng.standard_normal(200), 1000 + 0.01 * rng.standard_normal(200)])
    eta = 0.5 + 0.3 * (X[:, 0] - 3) - 80 * (X[:, 1] - 1000)
    y = (rng.random(200) < 1 / (1 + np.exp(-eta))).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BayesianLogisticRegression(draws=1000, tune=500, chains=2, random_state=0,
                                           progressbar=False).fit(X, y)
    return model, X


@pytest.mark.parametrize("prob", [0.5, 0.9])
def test_proba_interval_holds_the_stated_fraction_of_posterior_draws(logistic, prob):
    model, X = logistic
    rows = np.array([[3.0, 1000.0], [10.0, 1000.01], [-5.0, 999.99]])
    draws = model.predict_proba_draws(rows)  # (draws, rows, classes)
    interval = model.predict_proba_interval(rows, prob=prob)
    inside = (draws >= interval[None, ..., 0]) & (draws <= interval[None, ..., 1])
    fraction = inside.mean(axis=0)
    n = draws.shape[0]
    # binomial MC error of a fraction of n draws
    np.testing.assert_array_less(np.abs(fraction - prob), 4 * np.sqrt(prob * (1 - prob) / n))
    # equal tails: as much mass below the interval as above it
    below = (draws < interval[None, ..., 0]).mean(axis=0)
    np.testing.assert_array_less(np.abs(below - (1 - prob) / 2),
                                 4 * np.sqrt((1 - prob) / 2 * (1 + prob) / 2 / n))


def test_proba_interval_width_follows_the_quantiles(logistic):
    """prob=0.5 and 0.9 give the interquartile and the 5-95% ranges of p."""
    model, X = logistic
    rows = np.array([[3.0, 1000.0], [10.0, 1000.01]])
    p1 = model.predict_proba_draws(rows)[..., 1]
    for prob in (0.5, 0.9):
        width = np.diff(model.predict_proba_interval(rows, prob=prob)[:, 1, :], axis=-1)[:, 0]
        lo, hi = (1 - prob) / 2, (1 + prob) / 2
        expected = np.quantile(p1, hi, axis=0) - np.quantile(p1, lo, axis=0)
        np.testing.assert_allclose(width, expected, rtol=1e-10)
    wide = np.diff(model.predict_proba_interval(rows, prob=0.9)[:, 1, :], axis=-1)
    narrow = np.diff(model.predict_proba_interval(rows, prob=0.5)[:, 1, :], axis=-1)
    # for a near-normal posterior of p the ratio is z_0.95 / z_0.75 = 2.44
    ratio = (wide / narrow).ravel()
    assert np.all((ratio > 1.8) & (ratio < 3.2))
    assert stats.norm.ppf(0.95) / stats.norm.ppf(0.75) == pytest.approx(2.44, abs=0.01)


def test_predictive_quantiles_solve_the_mixture_cdf_in_every_row():
    """The predictive interval's bounds are the quantiles of the mixture of
    normals over the draws, to the solver's tolerance, in every row at once.

    A row solved before the others used to be thrown back to the middle of
    its bracket (the Newton step landed on the bracket's end and was taken
    for a step outside it): a 90% bound came out at the 100% level.
    """
    from scipy.special import ndtr

    from bayes_sklearn.posterior import Posterior

    rng = np.random.default_rng(0)
    n_draws = 4000
    posterior = Posterior("gaussian", intercept=rng.standard_normal((n_draws, 1)),
                          coef=rng.standard_normal((n_draws, 2, 1)),
                          sigma=np.exp(0.1 * rng.standard_normal(n_draws)))
    X = rng.standard_normal((6, 2)) * [1.0, 20.0]
    q = np.array([0.05, 0.5, 0.95])
    bounds = posterior.gaussian_predictive_quantiles(X, q)
    eta = posterior.intercept[:, 0][:, None] + posterior.coef[:, :, 0] @ X.T
    cdf = ndtr((bounds[None] - eta[..., None]) / posterior.sigma[:, None, None]).mean(axis=0)
    np.testing.assert_allclose(cdf, np.broadcast_to(q, cdf.shape), atol=1e-9)
