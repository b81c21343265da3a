"""The NumPy LKJ sampler of prior draws (``model/lkj.py``) against LKJ's known marginals.

Under LKJ(eta) in dimension K every off-diagonal correlation has the marginal
``2 * Beta(eta - 1 + K/2, eta - 1 + K/2) - 1`` (Lewandowski, Kurowicka and Joe
2009, section 3.2), whatever its position; a Kolmogorov-Smirnov test at
20,000 draws rejects a wrong shape by far (for eta = 1, K = 3 the shapes 1.5
against 1 give a KS distance ~0.05, over 7 times the 0.0096 critical value at
the 1e-3 level).
"""

import numpy as np
import pytest
from scipy import stats

from bayes_sklearn.model.lkj import cholesky_from_cpc, correlation_draws, cpc_shapes


@pytest.mark.parametrize("k, eta", [(2, 1.0), (2, 3.0), (3, 1.0), (4, 0.8), (4, 2.5)])
def test_every_correlation_has_lkjs_marginal(k, eta):
    rng = np.random.default_rng(k * 10 + int(eta * 10))
    corr = correlation_draws(k, eta, 20_000, rng)
    assert corr.shape == (20_000, k, k)
    np.testing.assert_allclose(np.diagonal(corr, axis1=1, axis2=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(corr, np.swapaxes(corr, 1, 2), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(corr) > -1e-12)  # positive semi-definite
    shape = eta - 1 + k / 2
    marginal = stats.beta(shape, shape, loc=-1, scale=2)
    for i, j in zip(*np.tril_indices(k, -1)):
        assert stats.kstest(corr[:, i, j], marginal.cdf).pvalue > 1e-3, (i, j)


def test_partial_correlation_shapes_follow_the_vine():
    # b_j = eta + (K - 2 - j) / 2 for the entries (1,0), (2,0), (2,1), (3,0), (3,1), (3,2)
    np.testing.assert_allclose(cpc_shapes(4, 2.0), [3.0, 3.0, 2.5, 3.0, 2.5, 2.0])
    assert cpc_shapes(1, 1.0).shape == (0,)


def test_cholesky_factors_of_a_batch_of_any_shape_are_those_of_each_entry():
    """Survivor of mutation testing: only (draws, n_cpc) inputs were tried, where
    ``shape[:-1]`` and ``shape[:1]`` agree."""
    rng = np.random.default_rng(3)
    cpc = rng.uniform(-0.9, 0.9, size=(2, 3, 6))
    L = cholesky_from_cpc(cpc, 4)
    assert L.shape == (2, 3, 4, 4)
    for index in np.ndindex(2, 3):
        np.testing.assert_array_equal(L[index], cholesky_from_cpc(cpc[index][None], 4)[0])
        corr = L[index] @ L[index].T
        np.testing.assert_allclose(np.diag(corr), 1.0, rtol=1e-12)
    # the first partial correlations are the correlations with effect 0
    np.testing.assert_allclose((L @ np.swapaxes(L, -1, -2))[..., 1:, 0], cpc[..., [0, 1, 3]],
                               rtol=1e-12)
