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
    sample_stats : xarray.Dataset or None
        Sampler statistics (divergences, step sizes, ...) where the method has them.
    method : str
        Name of the inference method that produced the draws.
    """

    intercept_z: np.ndarray
    coef_z: np.ndarray
    sigma: np.ndarray | None
    sample_stats: Any
    method: str
