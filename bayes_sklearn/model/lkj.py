"""The LKJ distribution of correlation matrices through its partial correlations.

Under LKJ(eta) in dimension K the partial correlations of the C-vine, entry
(i, j) of the lower triangle being that of effects i and j given effects
0..j-1, are independent, ``2 * Beta(b_j, b_j) - 1`` with
``b_j = eta + (K - 2 - j) / 2`` (Lewandowski, Kurowicka and Joe 2009,
section 3.2). The reference model puts its prior there
(:func:`~bayes_sklearn.model.pymc_model.corr_cholesky` builds the Cholesky
factor in PyTensor); :func:`correlation_draws` is the same map in NumPy, for
prior draws without PyMC.
"""

from __future__ import annotations

import numpy as np


def cpc_shapes(n_effects: int, eta):
    """Beta shapes of the partial correlations, ordered row by row: (1, 0), (2, 0), (2, 1), ..."""
    columns = np.array([j for i in range(1, n_effects) for j in range(i)], dtype=float)
    return eta + (n_effects - 2 - columns) / 2.0


def correlation_draws(n_effects: int, eta: float, n_draws: int,
                      rng: np.random.Generator) -> np.ndarray:
    """``n_draws`` correlation matrices from LKJ(``eta``), shape (n_draws, K, K)."""
    shapes = cpc_shapes(n_effects, eta)
    cpc = 2.0 * rng.beta(shapes, shapes, size=(n_draws, len(shapes))) - 1.0
    L = cholesky_from_cpc(cpc, n_effects)
    return L @ np.swapaxes(L, 1, 2)


def cholesky_from_cpc(cpc: np.ndarray, n_effects: int) -> np.ndarray:
    """Cholesky factors ``(..., K, K)`` of the correlation matrices of partial
    correlations ``cpc`` ``(..., K(K-1)/2)``, ordered as in :func:`cpc_shapes`."""
    cpc = np.asarray(cpc, dtype=float)
    L = np.zeros(cpc.shape[:-1] + (n_effects, n_effects))
    L[..., 0, 0] = 1.0
    entry = 0
    for i in range(1, n_effects):
        remaining = np.ones(cpc.shape[:-1])
        for j in range(i):
            L[..., i, j] = cpc[..., entry] * np.sqrt(remaining)
            remaining = remaining - L[..., i, j] ** 2
            entry += 1
        L[..., i, i] = np.sqrt(np.clip(remaining, 0.0, None))
    return L
