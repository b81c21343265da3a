"""Design for numeric arrays: the columns are the features as given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bayes_sklearn.design.frames import is_sparse


@dataclass(frozen=True)
class ArrayDesign:
    """Fitted design state for plain numeric features.

    Dense or scipy sparse; a sparse design stays sparse (CSR) for prediction,
    which densifies one block of rows at a time.

    Attributes
    ----------
    column_names : tuple of str
        Names of the design columns; they name the coefficients.
    """

    #: Sparse layouts kept as they are by validation; others are converted to CSR.
    SPARSE_FORMATS: ClassVar[tuple[str, ...]] = ("csr", "csc")

    column_names: tuple[str, ...]

    @classmethod
    def fit(cls, X: Any, feature_names: np.ndarray | None) -> ArrayDesign:
        if feature_names is None:
            names = tuple(f"x{i}" for i in range(X.shape[1]))
        else:
            names = tuple(str(name) for name in feature_names)
        return cls(column_names=names)

    def transform(self, X: Any, dense: bool = False) -> Any:
        """Float64 design: C-ordered dense, or CSR for sparse ``X`` unless ``dense``.

        A new array in every sparse case, so standardising it never touches
        the caller's matrix.
        """
        if is_sparse(X):
            if dense:
                return np.ascontiguousarray(X.toarray(), dtype=np.float64)
            return X.tocsr().astype(np.float64, copy=True)
        return np.ascontiguousarray(X, dtype=np.float64)
