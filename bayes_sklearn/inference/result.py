"""The one result type that every inference backend returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class TermDraws:
    """Draws of one lme4-style group term, with chain structure kept.

    Attributes
    ----------
    effects : ndarray of shape (n_chains, n_draws, n_levels, n_effects[, n_outputs])
        Each level's deviations (effects at x = 0 of the term's design); a
        categorical model's have one column per non-reference class.
    sd : ndarray of shape (n_chains, n_draws, n_effects[, n_outputs])
        Standard deviations of the effects across levels.
    corr : ndarray of shape (n_chains, n_draws[, n_outputs], n_effects, n_effects) or None
        Correlation matrix of the effects; None when independent.
    """

    effects: np.ndarray
    sd: np.ndarray
    corr: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class SamplerResult:
    """Draws on the standardised design scale, with chain structure kept.

    Attributes
    ----------
    intercept_z : ndarray of shape (n_chains, n_draws, n_outputs)
        Intercept at the feature means.
    coef_z : ndarray of shape (n_chains, n_draws, n_features, n_outputs)
        Coefficients of the standardised design columns.
    sigma : ndarray of shape (n_chains, n_draws) or None
        Noise scale, for families that have one.
    sample_stats : dict of str to ndarray of shape (n_chains, n_draws), or None
        Sampler statistics (``diverging``, ``step_size``, ...) where the
        method has them, under ArviZ's names.
    method : str
        Name of the inference method that produced the draws.
    elbo_history : ndarray or None
        ELBO after each iteration, for variational inference.
    moments : tuple of ndarray or None
        Exact posterior mean ``(k,)`` and covariance ``(k, k)`` of
        ``[intercept_z, coef_z...]``, when inference computed them (exact
        inference of the single-output gaussian model); draws carry Monte
        Carlo error, these do not.
    converged : bool or None
        Whether variational inference met its convergence rule.
    engine : str or None
        ``"kernel"``, ``"pymc"`` or ``"exact"``, set by ``run_inference``.
    group_terms : tuple of TermDraws
        One per ``spec.group_terms`` entry (original scale: their designs
        are never standardised).
    """

    intercept_z: np.ndarray
    coef_z: np.ndarray
    sigma: np.ndarray | None
    sample_stats: Any
    method: str
    elbo_history: np.ndarray | None = None
    converged: bool | None = None
    moments: tuple[np.ndarray, np.ndarray] | None = None
    engine: str | None = None
    group_terms: tuple[TermDraws, ...] = ()
