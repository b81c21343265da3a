"""Design from a Wilkinson formula, through formulaic.

The formula is the right-hand side only (``"x1 * x2 + C(region)"``). At fit
time formulaic learns the state of every stateful transform (the mean in
``center(x)``, the levels in ``C(region)``, the knots of ``bs(x)``) and keeps
it in a ``ModelSpec``; :meth:`FormulaDesign.transform` replays exactly that
state on new rows, so held-out data are never re-centred or re-levelled.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Names a formula may use besides its columns and formulaic's transforms
#: (center, scale, C, bs, poly, ...). Kept small and explicit: formulas are
#: never evaluated against the caller's globals.
FORMULA_CONTEXT: dict[str, Any] = {"np": np, "log": np.log, "exp": np.exp, "sqrt": np.sqrt}

HANDLE_UNKNOWN_OPTIONS = ("error", "ignore")


def _check_formula(formula: str) -> None:
    if not isinstance(formula, str) or not formula.strip():
        raise ValueError(f"formula must be a non-empty string, got {formula!r}.")
    if "~" in formula:
        raise ValueError(
            f"formula {formula!r} has a '~': give only the right-hand side "
            "(e.g. 'x1 * x2'); the target is the y passed to fit."
        )


def as_frame(X: Any, feature_names: np.ndarray | None = None) -> pd.DataFrame:
    """A DataFrame view of ``X``; arrays get columns ``x0, x1, ...``."""
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(
            f"Expected a 2D array or DataFrame, got an array of shape {array.shape}. "
            "Reshape your data with array.reshape(-1, 1) for a single feature."
        )
    names = feature_names if feature_names is not None else [f"x{i}" for i in range(array.shape[1])]
    return pd.DataFrame(array, columns=list(names))


@dataclass(frozen=True, eq=False)
class FormulaDesign:
    """Fitted design state of a formula.

    Attributes
    ----------
    formula : str
        The right-hand side as given.
    model_spec : formulaic.ModelSpec
        formulaic's fitted spec, holding the state of stateful transforms.
    column_names : tuple of str
        Design columns without the intercept; they name the coefficients.
    """

    formula: str
    model_spec: Any
    column_names: tuple[str, ...]

    @classmethod
    def fit(cls, X: pd.DataFrame, formula: str) -> tuple[FormulaDesign, np.ndarray]:
        """Learn the design of ``formula`` on ``X``; return it and the training matrix."""
        from formulaic import Formula

        _check_formula(formula)
        try:
            matrix = Formula(formula).get_model_matrix(
                X, na_action="raise", context=FORMULA_CONTEXT
            )
        except Exception as error:
            raise ValueError(f"Could not evaluate formula {formula!r} on X: {error}") from error
        names = tuple(matrix.columns)
        if "Intercept" not in names:
            raise ValueError(
                f"formula {formula!r} removes the intercept; the estimators always "
                "fit one (it is the intercept_ attribute), so drop the '- 1' / '0 +'."
            )
        keep = [i for i, name in enumerate(names) if name != "Intercept"]
        design = cls(
            formula=formula,
            model_spec=matrix.model_spec,
            column_names=tuple(names[i] for i in keep),
        )
        return design, _to_float(matrix, keep)

    def transform(self, X: pd.DataFrame, handle_unknown: str = "error") -> np.ndarray:
        """Replay the fitted design on new rows (one output row per input row).

        ``handle_unknown`` says what to do with categorical levels not seen in
        fit: ``"error"`` raises, ``"ignore"`` encodes them as the reference level.
        """
        from formulaic.errors import DataMismatchWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataMismatchWarning)
            try:
                matrix = self.model_spec.get_model_matrix(
                    X, na_action="raise", context=FORMULA_CONTEXT
                )
            except Exception as error:
                raise ValueError(
                    f"Could not apply formula {self.formula!r} to X: {error}"
                ) from error
        mismatches = [w for w in caught if issubclass(w.category, DataMismatchWarning)]
        if not mismatches:
            # nothing of ours to handle: pass on whatever else was said
            for other in caught:
                warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
        elif handle_unknown == "error":
            detail = str(mismatches[0].message).split(" They are being")[0]
            raise ValueError(
                f"X has categorical levels not seen during fit. {detail} "
                "Set handle_unknown='ignore' to encode them as the reference level."
            )
        keep = [i for i, name in enumerate(matrix.columns) if name != "Intercept"]
        return _to_float(matrix, keep)


def _to_float(matrix: Any, columns: list[int]) -> np.ndarray:
    # C order always: sums and BLAS round differently by memory layout, and
    # NUTS amplifies rounding, so equal designs must reach it in equal layout.
    return np.ascontiguousarray(np.asarray(matrix, dtype=np.float64)[:, columns])
