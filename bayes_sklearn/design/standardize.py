"""Centering and scaling of the design matrix for sampling.

Samplers see ``(X - center) / scale``: centred columns decorrelate the
intercept from the slopes and unit scales give NUTS a well-conditioned
posterior. Draws are mapped back to the user's scale before anyone sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Standardizer:
    """Column centres and scales learnt from the training design matrix.

    A constant column gets scale 1 (its centred values are all zero, so its
    coefficient is informed by the prior alone).
    """

    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        center = X.mean(axis=0)
        scale = X.std(axis=0)
        # A column is constant when its spread is at rounding level of its values.
        constant = scale <= 1e-12 * np.maximum(np.abs(center), 1.0)
        scale = np.where(constant, 1.0, scale)
        return cls(center=center, scale=scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.center) / self.scale

    def coef_to_original(
        self, intercept_z: np.ndarray, coef_z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Map draws from the standardised model to the original feature scale.

        Shapes: ``intercept_z`` is ``(..., n_outputs)`` and ``coef_z`` is
        ``(..., n_features, n_outputs)``.
        """
        coef = coef_z / self.scale[:, None]
        shift = np.einsum("...po,p->...o", coef, self.center)
        return intercept_z - shift, coef
