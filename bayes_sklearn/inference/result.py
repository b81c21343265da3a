"""The one result type that every inference backend returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


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
    group_effect_z : ndarray of shape (n_chains, n_draws, n_groups, n_effects) or None
        Group effects on the standardised scale, for hierarchical models.
    group_sd_z : ndarray of shape (n_chains, n_draws, n_effects) or None
        Group standard deviations on the standardised scale.
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
    """

    intercept_z: np.ndarray
    coef_z: np.ndarray
    sigma: np.ndarray | None
    sample_stats: Any
    method: str
    group_effect_z: np.ndarray | None = None
    group_sd_z: np.ndarray | None = None
    elbo_history: np.ndarray | None = None
    converged: bool | None = None
    moments: tuple[np.ndarray, np.ndarray] | None = None
    engine: str | None = None
