"""Centering and scaling of the design matrix for sampling.

Samplers see ``(X - center) / scale``: centred columns decorrelate the
intercept from the slopes and unit scales give NUTS a well-conditioned
posterior. Draws are mapped back to the user's scale before anyone sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def column_moments(
    X: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, standard deviation and largest magnitude of each column of ``X``.

    With ``sample_weight`` these are the frequency-weighted mean and
    population standard deviation (over ``sum(w)``), equal to those of ``X``
    with row ``i`` repeated ``w_i`` times; rows of weight 0 count for nothing,
    also in the magnitude.

    Columns of extreme magnitude are divided by their largest value first, so
    the squares in the variance neither overflow (values near 1e200) nor
    underflow (values near 1e-200); other data are not copied.
    """
    X = np.asarray(X, dtype=np.float64)
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float64)
        X = X[w > 0]
        w = w[w > 0]
    else:
        w = None
    if X.shape[0] == 0:
        return X.mean(axis=0), X.std(axis=0), np.zeros(X.shape[1:])
    magnitude = np.maximum(X.max(axis=0), -X.min(axis=0))
    if np.all((magnitude == 0) | ((magnitude > 1e-100) & (magnitude < 1e100))):
        mean, std = _mean_std(X, w)
        return mean, std, magnitude
    divisor = np.where(magnitude > 0, magnitude, 1.0)
    mean, std = _mean_std(X / divisor, w)
    return mean * divisor, std * divisor, magnitude


def _mean_std(X: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if w is None:
        return X.mean(axis=0), X.std(axis=0)
    mean = np.average(X, axis=0, weights=w)
    # Two-pass: the deviations from the weighted mean, as np.std does.
    var = np.average((X - mean) ** 2, axis=0, weights=w)
    return mean, np.sqrt(var)


def location_scale(
    y: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[float, float]:
    """(Weighted) mean and standard deviation of a vector; scale 1 when it is constant."""
    center, scale, _ = column_moments(y, sample_weight)
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
    def fit(
        cls, X: np.ndarray, sample_weight: np.ndarray | None = None, center: bool = True
    ) -> Standardizer:
        """Learn (weighted) column centres and scales; see :func:`column_moments`.

        ``center=False`` (no intercept, or an intercept stated at x = 0) keeps
        the origin: centres are 0 and only the scales are learnt. A constant
        column then keeps its values, so it is scaled by its magnitude.
        """
        return cls.from_moments(*column_moments(X, sample_weight), center=center)

    @classmethod
    def from_moments(
        cls, mean: np.ndarray, scale: np.ndarray, magnitude: np.ndarray, center: bool = True
    ) -> Standardizer:
        """:meth:`fit` from the columns' moments (:func:`column_moments`' values),
        wherever they were computed: in memory or merged over chunks."""
        # A column is constant when its spread is at rounding level of its values.
        constant = scale <= 1e-12 * magnitude
        fallback = 1.0 if center else np.where(magnitude > 0, magnitude, 1.0)
        scale = np.where(constant, fallback, scale)
        return cls(center=mean if center else np.zeros_like(mean), scale=scale)

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

    def moments_to_original(
        self, mean: np.ndarray, cov: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of ``[intercept, coef...]`` from those of the
        standardised model's ``[intercept_z, coef_z...]`` (one output)."""
        # the linear map of coef_to_original, as a matrix
        k = mean.shape[0]
        to_original = np.eye(k)
        to_original[0, 1:] = -self.center / self.scale
        to_original[1:, 1:] = np.diag(1.0 / self.scale)
        return to_original @ mean, to_original @ cov @ to_original.T
