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


def _decimal_log_mean_expit(eta: np.ndarray) -> np.ndarray:
    """``[log mean expit(-eta), log mean expit(eta)]`` per column, in 400-digit decimals (1 - p resolved to 1e-400)."""
    from decimal import Decimal, localcontext

    out = np.empty((eta.shape[1], 2))
    with localcontext() as ctx:
        ctx.prec = 400
        for j in range(eta.shape[1]):
            column = [Decimal(float(v)) for v in eta[:, j]]
            for k, sign in enumerate((-1, 1)):
                mean = sum(1 / (1 + (-sign * v).exp()) for v in column) / len(column)
                out[j, k] = float(mean.ln())
    return out


def _extreme_bernoulli():
    """Draws whose rows reach p ~ exp(-800) (exp underflows) and ~1e-26 (1 - p rounds to 1)."""
    from bayes_sklearn.posterior import TermEffects

    rng = np.random.default_rng(4)
    n_draws, n_groups = 60, 3
    x = np.array([-400.0, 3.0, -30.0, 0.01, 30.0, 250.0, -29.0, -3.0, 31.0, 400.0, -250.0])
    codes = np.array([0, 1, 2, -1, 0, 1, 2, -1, 0, 1, 2])
    # a group intercept per draw and group: the term (1 | g), code -1 for none
    intercepts = rng.normal(size=(n_draws, n_groups))
    term = TermEffects(intercepts[:, :, None, None], np.ones((n_draws, 1, 1)))
    post = Posterior("bernoulli", rng.normal(0.5, 1.0, (n_draws, 1)),
                     rng.normal(2.0, 0.1, (n_draws, 1, 1)), terms=(term,))
    post = post.with_term_rows([(np.ones((len(x), 1)), codes)])
    eta = post.intercept + post.coef[:, 0, :] * x + np.where(codes >= 0, intercepts[:, codes], 0)
    return post, x[:, None], eta


def test_bernoulli_log_mean_is_exact_where_probabilities_underflow():
    post, X, eta = _extreme_bernoulli()
    expected = _decimal_log_mean_expit(eta)
    # chunk_bytes: the whole block, and three rows per block (tail rows are
    # then recomputed from later blocks, with their own group codes)
    for chunk_bytes in (10**9, 3 * post.n_draws * 8):
        log_p = post.log_mean(X, chunk_bytes=chunk_bytes)
        assert np.all(np.isfinite(log_p))
        np.testing.assert_allclose(log_p, expected, rtol=1e-12)


def test_bernoulli_probabilities_stay_inside_zero_one():
    post, X, eta = _extreme_bernoulli()
    expected = _decimal_log_mean_expit(eta)
    proba = post.mean(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4e-16)
    representable = expected > -700.0  # exp(-745) is the smallest double
    assert np.all(proba[representable] > 0)
    np.testing.assert_allclose(proba[representable], np.exp(expected[representable]), rtol=1e-12)


def test_categorical_log_mean_is_exact_where_probabilities_underflow():
    from decimal import Decimal, localcontext

    rng = np.random.default_rng(5)
    n_draws = 40
    post = Posterior("categorical", rng.normal(size=(n_draws, 2)),
                     rng.normal([2.0, -1.0], 0.1, (n_draws, 1, 2)))
    X = np.array([[-400.0], [0.3], [500.0], [-20.0]])
    logits = np.concatenate([np.zeros((n_draws, 4, 1)),
                             post.intercept[:, None, :] + X[None, :, :] * post.coef[:, 0, None, :]],
                            axis=-1)
    expected = np.empty((4, 3))
    with localcontext() as ctx:
        ctx.prec = 400
        for i in range(4):
            total = [Decimal(0)] * 3
            for s in range(n_draws):
                weights = [Decimal(float(v)).exp() for v in logits[s, i]]
                total = [t + w / sum(weights) for t, w in zip(total, weights)]
            expected[i] = [float((t / n_draws).ln()) for t in total]
    log_p = post.log_mean(X)
    assert expected.min() < -745  # some probabilities are below the smallest double
    np.testing.assert_allclose(log_p, expected, rtol=1e-12)
    proba = post.mean(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4e-16)


def test_blocks_are_computed_with_one_blas_thread_and_the_limit_is_lifted_after():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {info["num_threads"] for info in threadpool_info()
                if info["user_api"] == "blas"}

    before = blas_threads()
    rng = np.random.default_rng(0)
    post = Posterior("gaussian", rng.normal(size=(50, 1)), rng.normal(size=(50, 2, 1)))
    seen = [blas_threads() for _ in post.linear_predictor_chunks(rng.normal(size=(10, 2)))]
    assert seen and all(threads == {1} for threads in seen)
    assert blas_threads() == before


def test_thin_designs_get_blocks_that_fit_a_cache_and_wide_ones_the_memory_bound():
    from bayes_sklearn.posterior import CACHE_BLOCK_BYTES, CHUNK_BYTES, THIN_DESIGN_COLUMNS

    def rows_per_block(n_features):
        post = Posterior("bernoulli", np.zeros((4000, 1)), np.zeros((4000, n_features, 1)))
        return post._rows_per_chunk(CHUNK_BYTES)

    # an intercept column plus the features
    assert rows_per_block(THIN_DESIGN_COLUMNS - 1) == CACHE_BLOCK_BYTES // (4000 * 8) == 32
    assert rows_per_block(THIN_DESIGN_COLUMNS) == CHUNK_BYTES // (4000 * 8) == 2097
