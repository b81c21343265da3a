"""Known answers for the prediction algebra of :class:`Posterior` and :class:`TermEffects`.

Hand-made draws far from standard scale; every expected value is computed here
with numpy/scipy from the draws directly (``eta = a + X b`` per draw, plus
each group term's ``b[level] . Z`` of the row), not with the code under test.
"""

import warnings

import numpy as np
import pytest
from scipy import sparse, stats
from scipy.special import expit, logsumexp, softmax

from bayes_sklearn.posterior import (
    Posterior,
    TermEffects,
    _bernoulli_log_mean_exact,
    _categorical_log_mean_exact,
    _complement_likeliest,
    _log1mexp,
)

S = 50  # draws


def _gaussian(seed=0, n_features=2):
    rng = np.random.default_rng(seed)
    return Posterior(
        "gaussian",
        rng.normal(1000.0, 5.0, (S, 1)),
        rng.normal([3.0, -0.02][:n_features], [0.5, 0.01][:n_features], (S, n_features))[..., None],
        rng.uniform(20.0, 40.0, S),
    )


def _X(n=7, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal([50.0, 2000.0], [10.0, 300.0], (n, 2))


def _eta(post, X):
    """``(S, n[, outputs])`` linear predictors by hand."""
    eta = post.intercept[:, None, :] + np.einsum("np,spo->sno", X, post.coef)
    return eta[..., 0] if post.family != "categorical" else eta


def test_gaussian_mean_std_and_predictive_std():
    post, X = _gaussian(), _X()
    eta = _eta(post, X)
    np.testing.assert_allclose(post.mean(X), eta.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(post.std(X), eta.std(axis=0), rtol=1e-9)
    # Var[mu] + E[sigma^2], sigma ~ 30: the noise dominates
    expected = np.sqrt(eta.var(axis=0) + np.mean(post.sigma**2))
    np.testing.assert_allclose(post.predictive_std(X), expected, rtol=1e-12)
    assert np.all(post.predictive_std(X) > 20.0)


def test_predictive_std_without_noise_is_the_spread_of_the_mean():
    post, X = _gaussian(), _X()
    bare = Posterior("gaussian", post.intercept, post.coef)
    np.testing.assert_allclose(bare.predictive_std(X), _eta(post, X).std(axis=0), rtol=1e-9)


def test_quantiles_over_draws():
    post, X = _gaussian(), _X()
    q = np.array([0.05, 0.5, 0.975])
    expected = np.quantile(_eta(post, X), q, axis=0).T
    out = post.quantiles(X, q)
    assert out.shape == (7, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-12)

    rng = np.random.default_rng(2)
    cat = Posterior("categorical", rng.normal(size=(S, 2)), rng.normal(0.0, 0.01, (S, 2, 2)))
    p = softmax(np.concatenate([np.zeros((S, 7, 1)), _eta(cat, X)], axis=-1), axis=-1)
    out = cat.quantiles(X, q)
    assert out.shape == (7, 3, 3)
    np.testing.assert_allclose(out, np.moveaxis(np.quantile(p, q, axis=0), 0, -1), rtol=1e-12)


def _bernoulli(seed=3):
    rng = np.random.default_rng(seed)
    return Posterior("bernoulli", rng.normal(-2.0, 0.3, (S, 1)),
                     rng.normal([0.01, 0.001], [0.01, 0.0005], (S, 2))[..., None])


def test_bernoulli_mean_std_quantiles_have_both_class_columns():
    post, X = _bernoulli(), _X()
    p1 = expit(_eta(post, X))
    np.testing.assert_allclose(post.mean(X), np.stack([1 - p1.mean(0), p1.mean(0)], -1), rtol=1e-12)
    std = post.std(X)
    np.testing.assert_allclose(std, np.stack([p1.std(0), p1.std(0)], -1), rtol=1e-9)
    np.testing.assert_array_equal(std[:, 0], std[:, 1])  # sd of 1 - p is that of p
    np.testing.assert_allclose(post.expected_values(_eta(post, X)), np.stack([1 - p1, p1], -1),
                               rtol=1e-12)
    q = np.array([0.1, 0.9])
    expected = np.moveaxis(np.quantile(np.stack([1 - p1, p1], -1), q, axis=0), 0, -1)
    np.testing.assert_allclose(post.quantiles(X, q), expected, rtol=1e-12)
    # no noise scale: the predictive sd is that of the linear predictor
    np.testing.assert_allclose(post.predictive_std(X), _eta(post, X).std(axis=0), rtol=1e-9)


def test_categorical_mean_is_the_average_softmax_with_class_zero_as_reference():
    rng = np.random.default_rng(4)
    post = Posterior("categorical", rng.normal([1.0, -1.0], 0.5, (S, 2)),
                     rng.normal(0.0, 0.002, (S, 2, 2)))
    X = _X()
    p = softmax(np.concatenate([np.zeros((S, 7, 1)), _eta(post, X)], axis=-1), axis=-1).mean(0)
    out = post.mean(X)
    assert out.shape == (7, 3)
    np.testing.assert_allclose(out, p, rtol=1e-12)
    np.testing.assert_allclose(post.log_mean(X), np.log(p), rtol=1e-12)
    # predict_proba is exp of predict_log_proba, bit for bit
    np.testing.assert_array_equal(out, np.exp(post.log_mean(X)))


def test_log_mean_of_a_gaussian_model_is_refused():
    post, X = _gaussian(), _X()
    with pytest.raises(ValueError, match="gaussian family has no class probabilities"):
        post.log_mean(X)


def _log_mean_expit(eta):
    """``[log mean expit(-eta), log mean expit(eta)]`` over draws via logsumexp of log-expit."""
    # the less likely class by logsumexp (relatively accurate), the other as
    # log(1 - p_small): logsumexp of values near 0 has only absolute accuracy
    log_p1 = logsumexp(-np.logaddexp(0.0, -eta), axis=0) - np.log(len(eta))
    log_p0 = logsumexp(-np.logaddexp(0.0, eta), axis=0) - np.log(len(eta))
    small = np.minimum(log_p0, log_p1)
    large = np.log1p(-np.exp(small))
    return np.stack([np.where(log_p0 <= log_p1, log_p0, large),
                     np.where(log_p1 < log_p0, log_p1, large)], axis=-1)


def test_bernoulli_exact_log_mean_against_logsumexp():
    rng = np.random.default_rng(5)
    # columns: moderate, far negative, far positive, and mixed signs
    eta = np.stack([rng.normal(0.3, 1.0, S), rng.normal(-60.0, 3.0, S),
                    rng.normal(80.0, 5.0, S), rng.normal(0.0, 40.0, S)], axis=1)
    expected = _log_mean_expit(eta)
    np.testing.assert_allclose(_bernoulli_log_mean_exact(eta.copy()), expected, rtol=1e-12)


def test_categorical_exact_log_mean_against_logsumexp():
    rng = np.random.default_rng(6)
    eta = rng.normal([3.0, -2.0], [1.0, 4.0], (S, 5, 2))
    logits = np.concatenate([np.zeros((S, 5, 1)), eta], axis=-1)
    log_softmax = logits - logsumexp(logits, axis=-1, keepdims=True)
    expected = logsumexp(log_softmax, axis=0) - np.log(S)
    np.testing.assert_allclose(_categorical_log_mean_exact(eta), expected, rtol=1e-12, atol=1e-15)


def test_log1mexp_on_both_sides_of_minus_log_two():
    a = np.array([-1e-20, -1e-5, -0.5, -1.0, -40.0])
    # series: log(1 - e^a) = log(-a) + a/2 + a^2/24 near 0; -e^a - e^(2a)/2 far out
    expected = np.array([
        np.log(1e-20), np.log(1e-5) - 0.5e-5 + 1e-10 / 24, np.log(1 - np.exp(-0.5)),
        np.log(1 - np.exp(-1.0)), -np.exp(-40.0) - np.exp(-80.0) / 2,
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the branch not taken must not warn either
        np.testing.assert_allclose(_log1mexp(a), expected, rtol=1e-12)


def test_complement_likeliest_recomputes_only_a_class_above_one_half():
    rest = np.array([6e-13, 4e-13])
    log_p = np.log(np.array([
        [0.1, 0.9, 0.2],          # top above 1/2 (inconsistent on purpose): recomputed
        [rest[0], rest[1], 1.0],  # top = 1 - 1e-12 up to rounding: recomputed from the rest
        [0.4, 0.35, 0.25],        # no class above 1/2: kept
        [0.4, 0.3, 0.25],         # the rest 0.55 is above 1/2: kept, though inconsistent
        [0.2, 0.8, 0.2],          # the rest 0.4 is below 1/2: recomputed
    ]))
    out = _complement_likeliest(log_p.copy())
    np.testing.assert_allclose(out[0], [np.log(0.1), np.log(0.7), np.log(0.2)], rtol=1e-12)
    np.testing.assert_allclose(out[1, :2], np.log(rest), rtol=1e-12)
    np.testing.assert_allclose(out[1, 2], np.log1p(-1e-12), rtol=1e-9)
    np.testing.assert_array_equal(out[2:4], log_p[2:4])
    np.testing.assert_allclose(out[4], np.log([0.2, 0.6, 0.2]), rtol=1e-12)


# --- group terms ---------------------------------------------------------


def _correlations(n_effects, n_outputs, rng):
    """A random correlation matrix per draw and output, (S, n_outputs, E, E)."""
    a = rng.normal(size=(S, n_outputs, n_effects, n_effects))
    cov = a @ np.swapaxes(a, -1, -2) + np.eye(n_effects)
    d = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    return cov / d[..., :, None] / d[..., None, :]


def _term(n_levels=3, n_effects=2, n_outputs=1, correlated=True, seed=7):
    rng = np.random.default_rng(seed)
    effects = rng.normal(size=(S, n_levels, n_effects, n_outputs)) * 5.0
    sd = rng.uniform(0.5, 2.0, (S, n_effects, n_outputs))
    corr = _correlations(n_effects, n_outputs, rng) if correlated else None
    return TermEffects(effects, sd, corr)


def _Z(n=7, seed=11):
    """A term's design on the user's scale: the intercept column and one far from 0."""
    return np.column_stack([np.ones(n), np.random.default_rng(seed).normal(50.0, 10.0, n)])


def _term_contribution(term, Z, codes):
    """``(S, n, outputs)``: each row's ``b[code] . Z_row``, row by row; code -1 adds nothing."""
    out = np.zeros((term.effects.shape[0], len(codes), term.effects.shape[-1]))
    for n, c in enumerate(codes):
        if c >= 0:
            out[:, n] = sum(term.effects[:, c, e] * Z[n, e] for e in range(Z.shape[1]))
    return out


@pytest.mark.parametrize("n_effects, n_outputs", [(2, 1), (1, 1), (2, 3)])
def test_term_contribution_row_by_row(n_effects, n_outputs):
    term = _term(n_effects=n_effects, n_outputs=n_outputs)
    Z, codes = _Z()[:, :n_effects], np.array([2, -1, 0, 1, 1, -1, 2])
    np.testing.assert_allclose(term.contribution(Z, codes), _term_contribution(term, Z, codes),
                               rtol=1e-12)


def test_term_contribution_with_a_single_level_and_rows_of_no_level():
    term = _term(n_levels=1)
    Z, codes = _Z(), np.array([0, -1, -1, 0, 0, -1, 0])
    np.testing.assert_allclose(term.contribution(Z, codes), _term_contribution(term, Z, codes),
                               rtol=1e-12)


def test_prediction_adds_each_rows_term_effects():
    post, X = _gaussian(), _X()
    first, second = _term(), _term(n_levels=2, n_effects=1, correlated=False, seed=8)
    Z, codes = _Z(), np.array([2, -1, 0, 1, 1, -1, 2])
    other = np.array([1, 1, 0, -1, 0, 1, 0])
    hier = Posterior(post.family, post.intercept, post.coef, post.sigma,
                     terms=(first, second))
    bound = hier.with_term_rows([(Z, codes), (Z[:, :1], other)])
    eta = (_eta(post, X) + _term_contribution(first, Z, codes)[..., 0]
           + _term_contribution(second, Z[:, :1], other)[..., 0])
    np.testing.assert_allclose(bound.mean(X), eta.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bound.predictive_std(X),
                               np.sqrt(eta.var(axis=0) + np.mean(post.sigma**2)), rtol=1e-12)
    # chunked, each block with its own rows of each term
    np.testing.assert_allclose(bound.map_rows(X, lambda e: e.mean(0), chunk_bytes=2 * S * 8),
                               eta.mean(axis=0), rtol=1e-12)
    # a None entry leaves its term out; without rows no term contributes
    only_first = hier.with_term_rows([(Z, codes), None])
    np.testing.assert_allclose(only_first.mean(X),
                               (_eta(post, X) + _term_contribution(first, Z, codes)[..., 0]
                                ).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(hier.mean(X), _eta(post, X).mean(axis=0), rtol=1e-12)
    with pytest.raises(ValueError, match="2 group terms, but rows for 1"):
        hier.with_term_rows([(Z, codes)])


def test_categorical_prediction_adds_each_classs_term_effects():
    rng = np.random.default_rng(4)
    post = Posterior("categorical", rng.normal([1.0, -1.0], 0.5, (S, 2)),
                     rng.normal(0.0, 0.002, (S, 2, 2)))
    term = _term(n_outputs=2)
    Z, codes, X = _Z(), np.array([2, -1, 0, 1, 1, -1, 2]), _X()
    bound = Posterior(post.family, post.intercept, post.coef,
                      terms=(term,)).with_term_rows([(Z, codes)])
    eta = _eta(post, X) + _term_contribution(term, Z, codes)
    p = softmax(np.concatenate([np.zeros((S, 7, 1)), eta], axis=-1), axis=-1).mean(0)
    np.testing.assert_allclose(bound.mean(X), p, rtol=1e-12)


def test_subset_keeps_the_draws_at_index_everywhere():
    post = _gaussian()
    correlated, independent = _term(), _term(correlated=False, seed=8)
    hier = Posterior(post.family, post.intercept, post.coef, post.sigma,
                     terms=(correlated, independent))
    index = np.array([4, 0, 17])
    sub = hier.subset(index)
    assert sub.n_draws == 3
    np.testing.assert_array_equal(sub.intercept, post.intercept[index])
    np.testing.assert_array_equal(sub.coef, post.coef[index])
    np.testing.assert_array_equal(sub.sigma, post.sigma[index])
    np.testing.assert_array_equal(sub.terms[0].effects, correlated.effects[index])
    np.testing.assert_array_equal(sub.terms[0].sd, correlated.sd[index])
    np.testing.assert_array_equal(sub.terms[0].corr, correlated.corr[index])
    np.testing.assert_array_equal(sub.terms[1].effects, independent.effects[index])
    assert sub.terms[1].corr is None
    assert Posterior("bernoulli", post.intercept, post.coef).subset(index).sigma is None


def test_new_levels_are_drawn_from_the_fitted_distribution():
    """``Normal(0, diag(sd) R diag(sd))`` per draw and output: ``sd * (L z)`` with
    ``L`` the Cholesky factor of the draw's correlation ``R`` and ``z`` standard normal."""
    term = _term(n_outputs=2)
    z = np.random.default_rng(8).standard_normal((S, 2, 2, 2))  # (draws, levels, effects, outputs)
    grown = term.with_new_levels(2, np.random.default_rng(8))
    assert grown.effects.shape == (S, 5, 2, 2) and grown.n_levels == 5
    np.testing.assert_array_equal(grown.effects[:, :3], term.effects)
    np.testing.assert_array_equal(grown.sd, term.sd)
    np.testing.assert_array_equal(grown.corr, term.corr)
    expected = np.empty((S, 2, 2, 2))
    for s in range(S):
        for o in range(2):
            chol = np.linalg.cholesky(term.corr[s, o])
            expected[s, :, :, o] = (z[s, :, :, o] @ chol.T) * term.sd[s, :, o]
    np.testing.assert_allclose(grown.effects[:, 3:], expected, rtol=1e-12)
    # independent: sd * z
    independent = _term(correlated=False, seed=9)
    new = independent.draw_levels(3, np.random.default_rng(10))
    z = np.random.default_rng(10).standard_normal((S, 3, 2, 1))
    np.testing.assert_allclose(new, z * independent.sd[:, None], rtol=1e-12)

    # spread: 20000 new levels for one draw; each sample sd is within 4% of the
    # truth and the correlation within 0.04 with probability > 0.9999
    one = TermEffects(np.zeros((1, 0, 2, 1)), np.array([[[2.0], [0.5]]]),
                      np.array([[[[1.0, -0.6], [-0.6, 1.0]]]]))
    levels = one.draw_levels(20_000, np.random.default_rng(9))[0, :, :, 0]
    np.testing.assert_allclose(levels.std(axis=0), [2.0, 0.5], rtol=0.04)
    assert abs(np.corrcoef(levels.T)[0, 1] + 0.6) < 0.04


def test_a_correlation_rounded_past_one_still_draws_new_levels():
    """Stored correlations near +-1 can round to a matrix just off positive definite,
    where Cholesky fails: the factor then comes from the eigenvalues, clipped at 0."""
    rho = 1.0 + 1e-12
    corr = np.array([[[[1.0, rho], [rho, 1.0]]]])
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(corr)
    term = TermEffects(np.zeros((1, 0, 2, 1)), np.array([[[2.0], [3.0]]]), corr)
    levels = term.draw_levels(1000, np.random.default_rng(1))[0, :, :, 0]
    assert np.all(np.isfinite(levels))
    # perfectly correlated: the second effect is 3/2 of the first
    np.testing.assert_allclose(levels[:, 1], 1.5 * levels[:, 0], rtol=1e-5, atol=1e-5)


def test_chunks_are_bounded_by_chunk_bytes_and_sparse_input_matches_dense():
    post, X = _gaussian(), _X(n=23)
    rows = [r for r, _ in post.linear_predictor_chunks(X, chunk_bytes=5 * S * 8 + 7)]
    assert [(r.start, r.stop) for r in rows] == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    rows = [r for r, _ in post.linear_predictor_chunks(X, chunk_bytes=1)]
    assert len(rows) == 23
    sizes = []
    post.map_rows(X, lambda e: sizes.append(e.shape[1]) or e.mean(0), chunk_bytes=4 * S * 8)
    assert sizes == [4, 4, 4, 4, 4, 3]
    dense = post.map_rows(X, lambda e: e.T, chunk_bytes=4 * S * 8)
    sparse_out = post.map_rows(sparse.csr_matrix(X), lambda e: e.T, chunk_bytes=4 * S * 8)
    np.testing.assert_array_equal(sparse_out, dense)
    np.testing.assert_allclose(post.mean(X), _eta(post, X).mean(0), rtol=1e-12)
    # no rows: one empty block, empty predictions
    assert post.mean(X[:0]).shape == (0,)
    assert post.map_rows(X[:0], lambda e: e.mean(0), chunk_bytes=1).shape == (0,)
    assert _bernoulli().log_mean(X[:0]).shape == (0, 2)


def test_gaussian_predictive_quantiles_solve_the_normal_mixture_cdf():
    post, X = _gaussian(), _X()
    eta = _eta(post, X)
    q = np.array([0.001, 0.25, 0.5, 0.9])
    out = post.gaussian_predictive_quantiles(X, q)
    assert out.shape == (7, 4)
    cdf = stats.norm.cdf((out[None, :, :] - eta[..., None]) / post.sigma[:, None, None]).mean(0)
    np.testing.assert_allclose(cdf, np.broadcast_to(q, cdf.shape), rtol=0, atol=1e-11)


def test_gaussian_predictive_quantiles_when_the_noise_dominates():
    # the noise (sd 1e4) is far wider than the spread of the line (sd ~1):
    # the quantiles lie many line-sds out, inside the bracket of +-12 noise sds
    rng = np.random.default_rng(10)
    post = Posterior("gaussian", rng.normal(-5e4, 1.0, (S, 1)), np.zeros((S, 1, 1)),
                     rng.uniform(0.9e4, 1.1e4, S))
    X = np.zeros((3, 1))
    q = np.array([1e-6, 0.3, 0.999999])
    out = post.gaussian_predictive_quantiles(X, q)
    eta = post.intercept[:, 0]
    cdf = stats.norm.cdf((out[None, :, :] - eta[:, None, None]) / post.sigma[:, None, None]).mean(0)
    np.testing.assert_allclose(cdf, np.broadcast_to(q, cdf.shape), rtol=1e-9, atol=1e-13)
    assert np.all(out[:, 2] > -5e4 + 4.5e4)


def test_log_likelihood_and_simulation_join_blocks_along_rows(monkeypatch):
    post, X = _gaussian(), _X()
    y = np.random.default_rng(11).normal(1000.0, 30.0, 7)
    whole_ll = post.log_likelihood(X, y)
    whole_sim = post.sample_outcomes(X, np.random.default_rng(12))
    monkeypatch.setattr(Posterior, "_rows_per_chunk", lambda self, chunk_bytes: 3)
    assert len(list(post.linear_predictor_chunks(X))) == 3
    ll = post.log_likelihood(X, y)
    assert ll.shape == (S, 7)
    np.testing.assert_allclose(ll, whole_ll, rtol=1e-12)
    expected = stats.norm.logpdf(y, _eta(post, X), post.sigma[:, None])
    np.testing.assert_allclose(ll, expected, rtol=1e-10)
    sim = post.sample_outcomes(X, np.random.default_rng(12))
    assert sim.shape == (S, 7)
    # the same normal draws, consumed block after block in row order
    z = np.random.default_rng(12)
    blocks = [z.standard_normal((S, n)) for n in (3, 3, 1)]
    np.testing.assert_allclose(sim, _eta(post, X) + post.sigma[:, None] * np.hstack(blocks),
                               rtol=1e-12)
    assert whole_sim.shape == (S, 7)


def test_bimodal_predictive_quantiles_fall_back_on_bisection():
    # two far modes (eta -1000 and +1000, sigma ~1): Newton steps from the
    # gap overshoot wildly, only the bisection bracket brings x to the root
    rng = np.random.default_rng(13)
    intercept = np.where(np.arange(S) % 2 == 0, -1000.0, 1000.0)[:, None]
    post = Posterior("gaussian", intercept + rng.normal(0.0, 0.1, (S, 1)),
                     rng.normal(1.0, 0.01, (S, 1, 1)), rng.uniform(0.8, 1.2, S))
    X = np.array([[0.0], [300.0], [-2000.0]])
    q = np.array([0.02, 0.25, 0.49, 0.75, 0.97])
    out = post.gaussian_predictive_quantiles(X, q)
    eta = _eta(post, X)
    cdf = stats.norm.cdf((out[None, :, :] - eta[..., None]) / post.sigma[:, None, None]).mean(0)
    np.testing.assert_allclose(cdf, np.broadcast_to(q, cdf.shape), rtol=0, atol=1e-11)


def test_tail_probabilities_raise_no_numpy_warnings_and_tail_rows_are_redone():
    rng = np.random.default_rng(14)
    X = np.array([[0.1], [0.5], [-0.2], [0.3], [1.0], [0.0], [-450.0]])
    # bernoulli: the last row has p = exp(-900) (log 0 in the fast path), one
    # draw far on either side overflows exp in the exact path
    bern = Posterior("bernoulli", rng.normal(0.0, 1.0, (S, 1)), rng.normal(2.0, 0.1, (S, 1, 1)))
    wide = Posterior("bernoulli", np.zeros((2, 1)), np.array([[[1.0]], [[40.0]]]))
    cat = Posterior("categorical", rng.normal(size=(S, 2)), rng.normal([2.0, -1.0], 0.1, (S, 1, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_p = bern.log_mean(X)
        wide_p = wide.log_mean(np.array([[-20.0]]))  # eta -20 and -800: p ~ 1e-9
        cat_p = cat.log_mean(X)
    eta = _eta(bern, X)
    np.testing.assert_allclose(log_p, _log_mean_expit(eta), rtol=1e-12)
    np.testing.assert_allclose(wide_p, _log_mean_expit(np.array([[-20.0], [-800.0]])), rtol=1e-12)
    # categorical: the last row (class 1 near exp(-900)) is found and redone
    logits = np.concatenate([np.zeros((S, 7, 1)), _eta(cat, X)], axis=-1)
    log_softmax = logits - logsumexp(logits, axis=-1, keepdims=True)
    expected = logsumexp(log_softmax, axis=0) - np.log(S)
    assert expected[6, 1] < -800
    np.testing.assert_allclose(cat_p, expected, rtol=1e-12, atol=1e-15)
