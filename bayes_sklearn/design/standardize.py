"""Centering and scaling of the design matrix for sampling.

Samplers see ``(X - center) / scale``: centred columns decorrelate the
intercept from the slopes and unit scales give NUTS a well-conditioned
posterior. Draws are mapped back to the user's scale before anyone sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def column_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, standard deviation and largest magnitude of each column of ``X``.

    Columns of extreme magnitude are divided by their largest value first, so
    the squares in the variance neither overflow (values near 1e200) nor
    underflow (values near 1e-200); other data are not copied.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] == 0:
        return X.mean(axis=0), X.std(axis=0), np.zeros(X.shape[1:])
    magnitude = np.maximum(X.max(axis=0), -X.min(axis=0))
    if np.all((magnitude == 0) | ((magnitude > 1e-100) & (magnitude < 1e100))):
        return X.mean(axis=0), X.std(axis=0), magnitude
    divisor = np.where(magnitude > 0, magnitude, 1.0)
    unit = X / divisor
    return unit.mean(axis=0) * divisor, unit.std(axis=0) * divisor, magnitude


def location_scale(y: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of a vector; scale 1 when it is constant."""
    center, scale, _ = column_moments(y)
    return float(center), float(scale) if scale > 0 else 1.0


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
        center, scale, magnitude = column_moments(X)
        # A column is constant when its spread is at rounding level of its values.
        constant = scale <= 1e-12 * magnitude
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
