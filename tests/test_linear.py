"""BayesianLinearRegression: NUTS against the exact posterior, priors, predictions."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from bayes_sklearn import BayesianLinearRegression
from bayes_sklearn.inference.exact import exact_posterior
from bayes_sklearn.priors import Normal, StudentT



@pytest.fixture(scope="module")
def exact_and_nuts(regression_data):
    X, y = regression_data
    exact = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    nuts = BayesianLinearRegression(draws=1000, tune=1000, chains=4, random_state=1,
                                    progressbar=False).fit(X, y)
    return exact, nuts


def _exact_moments(model, X, y):
    spec = model.model_spec_
    post = exact_posterior(spec, spec.standardizer.transform(X), y)
    mean_z, cov_z = post.moments()
    # map (intercept_z, coef_z) to (intercept, coef) on the original scale
    scale, center = spec.standardizer.scale, spec.standardizer.center
    T = np.zeros((len(mean_z), len(mean_z)))
    T[0, 0] = 1.0
    T[0, 1:] = -center / scale
    T[1:, 1:] = np.diag(1.0 / scale)
    return T @ mean_z, T @ cov_z @ T.T


def test_nuts_matches_exact_posterior_within_monte_carlo_error(exact_and_nuts, regression_data):
    import arviz as az

    X, y = regression_data
    _, nuts = exact_and_nuts
    mean, cov = _exact_moments(nuts, X, y)
    sd = np.sqrt(np.diag(cov))
    post = nuts.idata_.posterior
    draws = np.column_stack([
        post["intercept"].values.ravel(),
        post["coef"].values.reshape(-1, X.shape[1]),
    ])
    ess_all = az.ess(post)
    ess = np.r_[ess_all["intercept"].values.ravel(), ess_all["coef"].values.ravel()]
    assert np.all(ess > 400)
    # Monte Carlo standard error of a mean is sd / sqrt(ESS); of an sd it is
    # about sd / sqrt(2 ESS') for near-normal marginals, ESS' that of the
    # squared deviations (NUTS draws can be antithetic: ESS above the number
    # of draws for the mean, well below it for the squares). 4 standard errors.
    chains = post.sizes["chain"]
    squares = ((draws - draws.mean(axis=0)) ** 2).reshape(chains, -1, draws.shape[1])
    ess_squares = np.array([az.ess(squares[..., j]) for j in range(draws.shape[1])])
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 4 * sd / np.sqrt(ess))
    np.testing.assert_array_less(np.abs(draws.std(axis=0) - sd),
                                 4 * sd / np.sqrt(2 * ess_squares))
    # the full posterior covariance, not just the marginals: the correlation
    # between intercept and slopes is strong with uncentred features
    corr_exact = cov / np.outer(sd, sd)
    np.testing.assert_allclose(np.corrcoef(draws, rowvar=False), corr_exact, atol=0.08)


def test_exact_fit_draws_match_exact_moments(exact_and_nuts, regression_data):
    X, y = regression_data
    exact, _ = exact_and_nuts
    mean, cov = _exact_moments(exact, X, y)
    sd = np.sqrt(np.diag(cov))
    n = exact.idata_.posterior.sizes["chain"] * exact.idata_.posterior.sizes["draw"]
    assert abs(exact.intercept_ - mean[0]) < 4 * sd[0] / np.sqrt(n)
    np.testing.assert_array_less(np.abs(exact.coef_ - mean[1:]), 4 * sd[1:] / np.sqrt(n))
    assert exact.convergence_ is None


def test_coef_cov_is_posterior_covariance(exact_and_nuts, regression_data):
    exact, nuts = exact_and_nuts
    post = nuts.idata_.posterior
    draws = np.column_stack([post["intercept"].values.ravel(),
                             post["coef"].values.reshape(-1, 3)])
    # sampled inference: the covariance of the draws
    np.testing.assert_allclose(nuts.coef_cov_, np.cov(draws, rowvar=False))
    # exact inference: the exact posterior covariance, not that of its draws
    mean, cov = _exact_moments(exact, *regression_data)
    # the same moments mapped in another order: equal to rounding of the map
    np.testing.assert_allclose(exact.coef_cov_, cov, rtol=1e-10)
    np.testing.assert_allclose([exact.intercept_, *exact.coef_], mean, rtol=1e-10)
    assert exact.coef_cov_.shape == (4, 4)


def test_predict_std_is_total_predictive_variance(exact_and_nuts, regression_data):
    X, y = regression_data
    exact, nuts = exact_and_nuts
    for model in (exact, nuts):
        post = model.idata_.posterior
        coef = post["coef"].values.reshape(-1, 3)
        mu = post["intercept"].values.reshape(-1, 1) + coef @ X[:5].T
        sigma2 = post["sigma"].values.ravel() ** 2
        mean, std = model.predict(X[:5], return_std=True)
        np.testing.assert_allclose(std**2, mu.var(axis=0) + sigma2.mean())
    # the mean line: of the draws for NUTS, the exact posterior's for exact inference
    np.testing.assert_allclose(nuts.predict(X[:5]), mu.mean(axis=0))
    exact_mean, _ = _exact_moments(exact, X, y)
    np.testing.assert_allclose(exact.predict(X[:5]), exact_mean[0] + X[:5] @ exact_mean[1:],
                               rtol=1e-12)


def test_predictive_interval_matches_simulation(exact_and_nuts, regression_data):
    X, _ = regression_data
    exact, _ = exact_and_nuts
    interval = exact.predict_interval(X[:4], prob=0.8)
    sims = exact.sample_posterior_predictive(X[:4], n_samples=200_000, random_state=0)
    # 200k simulated outcomes: the coverage of a fixed interval has
    # Monte Carlo sd sqrt(0.8 * 0.2 / 2e5) < 0.001.
    inside = (sims >= interval[:, 0]) & (sims <= interval[:, 1])
    np.testing.assert_allclose(inside.mean(axis=0), 0.8, atol=0.004)
    mean_band = exact.predict_interval(X[:4], prob=0.8, kind="mean")
    assert np.all(mean_band[:, 0] > interval[:, 0]) and np.all(mean_band[:, 1] < interval[:, 1])


def test_user_priors_by_name_index_and_intercept(regression_data):
    X, y = regression_data
    tight = {1: Normal(0.123, 1e-4), "intercept": Normal(0.0, 1e-4)}
    model = BayesianLinearRegression(inference="exact", priors=tight, random_state=0).fit(X, y)
    assert abs(model.coef_[1] - 0.123) < 1e-3
    assert model.model_spec_.coef_priors[1] == Normal(0.123, 1e-4)
    # the intercept prior is at the feature means
    at_means = model.intercept_ + model.coef_ @ X.mean(axis=0)
    assert abs(at_means) < 1e-3

    import pandas as pd

    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    by_name = BayesianLinearRegression(inference="exact", priors={"b": (0.123, 1e-4)},
                                       random_state=0).fit(frame, y)
    assert abs(by_name.coef_[1] - 0.123) < 1e-3
    assert list(by_name.idata_.posterior["coef"].coords["feature"].values) == ["a", "b", "c"]


def test_autoscaled_priors_follow_the_data(regression_data):
    X, y = regression_data
    model = BayesianLinearRegression(inference="exact", prior_scale=1.0, random_state=0).fit(X, y)
    expected = np.std(y) / np.std(X, axis=0)
    np.testing.assert_allclose([p.sigma for p in model.model_spec_.coef_priors], expected)
    assert model.model_spec_.noise_prior.scale == pytest.approx(np.std(y))


def test_unknown_prior_name_is_a_clear_error(regression_data):
    X, y = regression_data
    with pytest.raises(ValueError, match="unknown coefficient 'nope'"):
        BayesianLinearRegression(inference="exact", priors={"nope": Normal()}).fit(X, y)


def test_exact_refuses_non_normal_priors(regression_data):
    X, y = regression_data
    with pytest.raises(ValueError, match="needs Normal priors"):
        BayesianLinearRegression(inference="exact", priors=StudentT(3, 0, 1)).fit(X, y)


def test_prior_predictive_before_fit_needs_y(regression_data):
    X, y = regression_data
    model = BayesianLinearRegression()
    with pytest.raises(NotFittedError, match="needs y"):
        model.sample_prior_predictive(X)
    sims = model.sample_prior_predictive(X, y, n_samples=4000, random_state=0)
    assert sims.shape == (4000, len(X))
    assert not hasattr(model, "idata_")
    # Autoscaled priors are weakly informative: prior predictive spread at the
    # mean of X is several times sd(y), but not astronomically larger.
    spread = np.std(sims.mean(axis=1))
    assert 1 < spread / np.std(y) < 30


def test_prior_predictive_after_fit_uses_fitted_priors(exact_and_nuts, regression_data):
    X, y = regression_data
    exact, _ = exact_and_nuts
    a = exact.sample_prior_predictive(X, n_samples=10, random_state=3)
    b = BayesianLinearRegression().sample_prior_predictive(X, y, n_samples=10, random_state=3)
    np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("sampler", ["pymc", "nutpie"])
def test_compiled_pymc_samplers_agree_with_exact(sampler, regression_data):
    """The PyMC-model paths, kept as cross-checks of the precompiled default."""
    X, y = regression_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BayesianLinearRegression(nuts_sampler=sampler, draws=500, tune=500,
                                         chains=2, random_state=0, progressbar=False).fit(X, y)
    mean, cov = _exact_moments(model, X, y)
    sd = np.sqrt(np.diag(cov))
    # 1000 draws with ESS of several hundred: 0.25 sd is > 5 Monte Carlo errors.
    assert abs(model.intercept_ - mean[0]) < 0.25 * sd[0]
    np.testing.assert_array_less(np.abs(model.coef_ - mean[1:]), 0.25 * sd[1:])
    assert model.inference_method_ == f"nuts ({sampler})"


@pytest.mark.parametrize("method", ["advi", "fullrank_advi"])
def test_variational_inference_against_exact(method, exact_and_nuts, regression_data):
    X, y = regression_data
    exact, _ = exact_and_nuts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BayesianLinearRegression(inference=method, random_state=0,
                                         progressbar=False).fit(X, y)
    mean, cov = _exact_moments(model, X, y)
    sd = np.sqrt(np.diag(cov))
    post = model.idata_.posterior
    draws = np.column_stack([post["intercept"].values.ravel(),
                             post["coef"].values.reshape(-1, X.shape[1])])
    # Means within half a posterior sd of the exact ones (stochastic
    # optimisation stops at a noise floor, not at the optimum).
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 0.5 * sd)
    if method == "fullrank_advi":
        # a full-rank Gaussian can represent this (Gaussian-like) posterior:
        # marginal sds within 30%
        np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.3)
    assert model.elbo_history_ is not None and model.n_iter_ == len(model.elbo_history_)


def test_advi_started_nuts_agrees_with_exact(regression_data):
    X, y = regression_data
    model = BayesianLinearRegression(nuts_init="advi", draws=500, tune=300, chains=2,
                                     random_state=0, progressbar=False).fit(X, y)
    mean, cov = _exact_moments(model, X, y)
    sd = np.sqrt(np.diag(cov))
    # 1000 draws with ESS of several hundred: 0.25 sd is > 5 Monte Carlo errors.
    np.testing.assert_array_less(np.abs(model.coef_ - mean[1:]), 0.25 * sd[1:])
    assert model.convergence_.n_divergences == 0


def test_prior_lines_follow_the_priors(regression_data):
    """kind="mean" gives E[y|x] under each prior draw: the lines' slopes have
    the slope prior and their value at the feature means the intercept prior
    (the intercept is defined there). 4000 draws: the se of a sample sd s is
    about s / sqrt(8000), so 5 se is 0.056 s."""
    X, y = regression_data
    priors = {"intercept": Normal(3.0, 1.0), 0: Normal(0.0, 2.0), 1: Normal(0.0, 0.5),
              2: Normal(0.0, 0.1)}
    model = BayesianLinearRegression(priors=priors)
    # two rows one unit apart in x0; the intercept is at their mean
    rows = X.mean(axis=0) + np.array([[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0]])
    lines = model.sample_prior_predictive(rows, y=np.resize(y, 2),
                                          n_samples=4000, kind="mean", random_state=0)
    at_center, slope = lines.mean(axis=1), lines[:, 1] - lines[:, 0]
    assert at_center.mean() == pytest.approx(3.0, abs=5 * 1.0 / np.sqrt(4000))
    assert at_center.std() == pytest.approx(1.0, rel=0.056)
    assert slope.std() == pytest.approx(2.0, rel=0.056)
    with pytest.raises(ValueError, match="kind must be"):
        model.sample_prior_predictive(rows, y=np.resize(y, 2), kind="line")
