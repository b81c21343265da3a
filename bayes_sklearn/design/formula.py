"""Design from a Wilkinson formula, through formulaic.

The formula is the right-hand side only (``"x1 * x2 + C(region)"``). At fit
time formulaic learns the state of every stateful transform (the mean in
``center(x)``, the levels in ``C(region)``, the knots of ``bs(x)``) and keeps
it in a ``ModelSpec``; :meth:`FormulaDesign.transform` replays exactly that
state on new rows, so held-out data are never re-centred or re-levelled.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayes_sklearn._messages import format_items
from bayes_sklearn.design.frames import is_sparse, to_pandas

#: Names a formula may use besides its columns and formulaic's transforms
#: (center, scale, C, bs, poly, ...). Kept small and explicit: formulas are
#: never evaluated against the caller's globals.
FORMULA_CONTEXT: dict[str, Any] = {"np": np, "log": np.log, "exp": np.exp, "sqrt": np.sqrt}

HANDLE_UNKNOWN_OPTIONS = ("error", "ignore")


#: Shown with every formula error: what a valid formula looks like.
FORMULA_EXAMPLES = "e.g. 'x1 + x2', 'x1 * C(region)' or 'center(x1) + np.log(x2)'"

#: Column names listed in an error before it is abbreviated.
MAX_LISTED_COLUMNS = 20


def _check_formula(formula: str) -> None:
    if not isinstance(formula, str) or not formula.strip():
        raise ValueError(f"formula must be a non-empty string, got {formula!r}.")
    if "~" in formula:
        raise ValueError(
            f"formula {formula!r} has a '~': give only the right-hand side "
            "(e.g. 'x1 * x2'); the target is the y passed to fit."
        )


def parse_formula(formula: str) -> Any:
    """formulaic's parsed ``formula``; a ``ValueError`` in our words if it is not one."""
    from formulaic import Formula, SimpleFormula
    from formulaic.errors import FormulaParsingError, FormulaSyntaxError

    _check_formula(formula)
    try:
        parsed = Formula(formula)
    except (FormulaSyntaxError, FormulaParsingError) as error:
        if "`.` operator" in str(error):
            raise ValueError(
                f"formula {formula!r} uses '.', which is not supported: name the "
                f"columns ({FORMULA_EXAMPLES}), or pass formula=None to use every "
                "column of X as it is."
            ) from error
        raise ValueError(
            f"formula {formula!r} is not a valid formula: {_first_line(error)} Give the "
            f"right-hand side as column names joined by operators, {FORMULA_EXAMPLES}."
        ) from error
    if not isinstance(parsed, SimpleFormula):
        raise ValueError(
            f"formula {formula!r} has several parts ('|' separates formula parts in "
            "formulaic; it is not lme4's '(1 | group)'). Give one right-hand side, "
            f"{FORMULA_EXAMPLES}; group effects come from the group parameter."
        )
    return parsed


def _explain_unknown_names(needed: Any, columns: Any, formula: str, error: Exception) -> None:
    """After formulaic failed: raise our error, from its, if names are unknown."""
    try:
        check_columns_known(needed, columns, formula)
    except ValueError as ours:
        raise ours from error


def check_columns_known(needed: Any, columns: Any, formula: str) -> None:
    """Raise a ``ValueError`` naming the variables of a formula that ``X`` lacks.

    ``needed`` are formulaic ``Variable`` names; names of functions are
    checked against the formula context, names of values against ``columns``
    (then the context).
    """
    from formulaic.transforms import TRANSFORMS
    from formulaic.utils.variables import Variable

    available = set(map(str, columns))
    known = set(FORMULA_CONTEXT) | set(TRANSFORMS)
    functions = sorted(v for v in needed if Variable.Role.CALLABLE in getattr(v, "roles", ())
                       and v not in known)
    values = sorted(v for v in needed if v not in functions and v not in available
                    and v not in known)
    if values:
        raise ValueError(
            f"formula {formula!r} names {_quoted(values)}, which X does not have as "
            f"column(s). X has columns {format_items(sorted(available), MAX_LISTED_COLUMNS)}. Quote column "
            "names that are not Python identifiers with backticks, e.g. '`my col` + x'."
        )
    if functions:
        raise ValueError(
            f"formula {formula!r} calls unknown function(s) {_quoted(functions)}. "
            "Available are formulaic's transforms (C, center, scale, bs, poly, ...) "
            f"and {', '.join(sorted(FORMULA_CONTEXT))} ({FORMULA_EXAMPLES})."
        )


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(str(name)) for name in names)


def _first_line(error: Exception) -> str:
    """formulaic's message without its terminal colour codes and source excerpt."""
    text = re.sub(r"\x1b\[[0-9;]*m|[\u29da\u29db]", "", str(error))
    return text.strip().splitlines()[0].strip() if text.strip() else type(error).__name__


def as_frame(X: Any, feature_names: np.ndarray | None = None) -> pd.DataFrame:
    """A pandas DataFrame of ``X``.

    pandas frames pass through; other data frames (polars, pyarrow, the
    interchange protocol) are converted keeping their column names and
    dtypes; arrays get columns ``feature_names`` or ``x0, x1, ...``.
    """
    if is_sparse(X):
        raise ValueError(
            "A formula needs named columns, but X is a scipy sparse matrix. Pass a "
            "DataFrame, or formula=None to use the sparse columns as they are."
        )
    frame = to_pandas(X)
    if frame is not None:
        return frame
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
    intercept : bool
        Whether the formula keeps the intercept (``"0 +"`` and ``"- 1"`` remove it).
    """

    formula: str
    model_spec: Any
    column_names: tuple[str, ...]
    intercept: bool = True

    @classmethod
    def fit(cls, X: pd.DataFrame, formula: str) -> tuple[FormulaDesign, np.ndarray]:
        """Learn the design of ``formula`` on ``X``; return it and the training matrix."""
        parsed = parse_formula(formula)
        try:
            matrix = parsed.get_model_matrix(X, na_action="raise", context=FORMULA_CONTEXT)
        except Exception as error:
            _explain_unknown_names(parsed.required_variables, X.columns, formula, error)
            raise ValueError(f"Could not evaluate formula {formula!r} on X: {error}") from error
        names = tuple(matrix.columns)
        keep = [i for i, name in enumerate(names) if name != "Intercept"]
        design = cls(
            formula=formula,
            model_spec=matrix.model_spec,
            column_names=tuple(names[i] for i in keep),
            intercept="Intercept" in names,
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
                _explain_unknown_names(
                    self.model_spec.required_variables, X.columns, self.formula, error
                )
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
