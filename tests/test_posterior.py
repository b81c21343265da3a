"""Prediction algebra: chunking, likelihoods and simulation against direct formulas."""

import numpy as np
from scipy import stats
from scipy.special import softmax

from bayes_sklearn.posterior import Posterior


def _posterior(family, n_outputs=1, n_draws=300, seed=0):
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(0.5, 2.0, n_draws) if family == "gaussian" else None
    return Posterior(family, rng.normal(size=(n_draws, n_outputs)),
                     rng.normal(size=(n_draws, 4, n_outputs)), sigma)


def test_chunked_equals_unchunked():
    X = np.random.default_rng(1).normal(size=(257, 4))
    for family, m in [("gaussian", 1), ("bernoulli", 1), ("categorical", 3)]:
        post = _posterior(family, m)
        whole = post.map_rows(X, lambda eta: eta.mean(axis=0), chunk_bytes=10**9)
        tiny = post.map_rows(X, lambda eta: eta.mean(axis=0), chunk_bytes=1)
        # BLAS may sum in a different order per chunk shape: rounding only.
        np.testing.assert_allclose(whole, tiny, rtol=1e-12, atol=1e-14)
    # and the probabilities predict_proba averages, chunked against unchunked
    post = _posterior("bernoulli", 1)
    np.testing.assert_allclose(
        post._reduce_positive_class(X, lambda mu: mu.mean(axis=0), lambda m: 1.0 - m),
        np.stack([1 - (p1 := _expit_mean(post, X)), p1], axis=-1),
        rtol=1e-12, atol=1e-14,
    )


def _expit_mean(post, X):
    from scipy.special import expit

    eta = post.intercept[:, 0][:, None] + np.einsum("np,sp->sn", X, post.coef[..., 0])
    return expit(eta).mean(axis=0)


def test_log_likelihood_against_scipy():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 4))
    post = _posterior("gaussian")
    y = rng.normal(size=20)
    mu = post.intercept + post.coef[:, :, 0] @ X.T
    expected = stats.norm.logpdf(y, mu, post.sigma[:, None])
    np.testing.assert_allclose(post.log_likelihood(X, y), expected)

    post = _posterior("categorical", 2)
    codes = rng.integers(0, 3, 20)
    eta = post.intercept[:, None, :] + np.einsum("np,spo->sno", X, post.coef)
    p = softmax(np.concatenate([np.zeros(eta.shape[:2] + (1,)), eta], axis=-1), axis=-1)
    expected = np.log(np.take_along_axis(p, codes[None, :, None], axis=-1)[..., 0])
    np.testing.assert_allclose(post.log_likelihood(X, codes), expected)


def test_categorical_sampling_frequencies():
    rng = np.random.default_rng(3)
    post = Posterior("categorical", np.array([[0.5, -0.5]]), np.zeros((1, 4, 2)))
    X = np.zeros((200_000, 4))
    codes = post.sample_outcomes(X, rng)[0]
    expected = softmax([0.0, 0.5, -0.5])
    # 200k draws: Monte Carlo sd of a frequency is below 0.0012.
    np.testing.assert_allclose(np.bincount(codes) / len(codes), expected, atol=0.005)
