"""Rank-normalised split r_hat and bulk/tail ESS (Vehtari et al. 2021).

The same formulas as ``arviz.rhat(method="rank")`` and ``arviz.ess(method=
"bulk"|"tail")`` (tests compare the two), on plain arrays. ArviZ's own
functions need ``import arviz``, which costs 2-4 s per process here: more
than a whole small fit with the precompiled sampler.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata


def _split_chains(draws: np.ndarray) -> np.ndarray:
    """(chains, draws, k) -> (2 chains, draws // 2, k)."""
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, -half:]], axis=0)


def _z_scale(draws: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks (Blom's offset 3/8), per parameter."""
    flat = draws.reshape(-1, draws.shape[-1])
    ranks = rankdata(flat, method="average", axis=0)
    size = flat.shape[0]
    return ndtri((ranks - 0.375) / (size + 0.25)).reshape(draws.shape)


def _rhat(draws: np.ndarray) -> np.ndarray:
    n = draws.shape[1]
    between = n * np.var(draws.mean(axis=1), axis=0, ddof=1)
    within = np.mean(np.var(draws, axis=1, ddof=1), axis=0)
    return np.sqrt((between / within + n - 1) / n)


def rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split r_hat of each column of ``draws`` (chains, draws, k)."""
    split = _split_chains(draws)
    folded = np.abs(split - np.median(split.reshape(-1, split.shape[-1]), axis=0))
    return np.maximum(_rhat(_z_scale(split)), _rhat(_z_scale(folded)))


def _autocovariance(draws: np.ndarray) -> np.ndarray:
    n = draws.shape[1]
    centered = draws - draws.mean(axis=1, keepdims=True)
    size = 1 << int(2 * n - 1).bit_length()
    spectrum = np.fft.rfft(centered, n=size, axis=1)
    return np.fft.irfft(spectrum * np.conjugate(spectrum), n=size, axis=1)[:, :n] / n


def _ess_column(draws: np.ndarray, acov: np.ndarray) -> float:
    """ESS of one parameter, Geyer's initial monotone sequence (as ArviZ)."""
    n_chain, n_draw = draws.shape
    if np.ptp(draws) < np.finfo(float).resolution:
        return float(draws.size)
    mean_var = np.mean(acov[:, 0]) * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus += np.var(draws.mean(axis=1), ddof=1)
    rho = np.zeros(n_draw)
    rho_even, rho_odd = 1.0, 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    rho[0], rho[1] = rho_even, rho_odd
    t = 1
    while t < n_draw - 3 and rho_even + rho_odd > 0.0:
        rho_even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        rho_odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    size = n_chain * n_draw
    tau = -1.0 + 2.0 * np.sum(rho[: max_t + 1]) + np.sum(rho[max_t + 1 : max_t + 2])
    return float(size / max(tau, 1 / np.log10(size)))


def _ess(draws: np.ndarray) -> np.ndarray:
    acov = _autocovariance(draws)
    return np.array([_ess_column(draws[..., k], acov[..., k]) for k in range(draws.shape[-1])])


def ess_bulk(draws: np.ndarray) -> np.ndarray:
    """Bulk ESS of each column of ``draws`` (chains, draws, k)."""
    return _ess(_z_scale(_split_chains(draws)))


def ess_tail(draws: np.ndarray) -> np.ndarray:
    """Tail ESS: the smaller ESS of the 5% and 95% quantile indicators."""
    flat = draws.reshape(-1, draws.shape[-1])
    low, high = np.quantile(flat, [0.05, 0.95], axis=0)
    ess_low = _ess(_split_chains((draws <= low).astype(float)))
    ess_high = _ess(_split_chains((draws <= high).astype(float)))
    return np.minimum(ess_low, ess_high)
