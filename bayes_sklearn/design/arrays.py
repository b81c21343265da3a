"""Design for numeric arrays: the columns are the features as given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ArrayDesign:
    """Fitted design state for plain numeric features.

    Attributes
    ----------
    column_names : tuple of str
        Names of the design columns; they name the coefficients.
    """

    column_names: tuple[str, ...]

    @classmethod
    def fit(cls, X: np.ndarray, feature_names: np.ndarray | None) -> ArrayDesign:
        if feature_names is None:
            names = tuple(f"x{i}" for i in range(X.shape[1]))
        else:
            names = tuple(str(name) for name in feature_names)
        return cls(column_names=names)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(X, dtype=np.float64)
