"""A formula on a Dask DataFrame: learnt from global state, replayed per partition.

formulaic learns a formula's state from the rows it sees. On partitions that
state must be the whole data's: the levels of every categorical column are
taken from the column's known categories, or else from one distributed pass
(``unique``), and the formula is learnt on a few rows whose columns carry
those levels as pandas categories. Every partition is then encoded by the
learnt design on its worker, into a Dask DataFrame of the design columns.

A stateful transform learns something else from the rows it is fitted on:
``center(x)`` a mean, ``bs(x)`` knots from quantiles. Learnt on a few rows
it would be wrong for the rest, and quantiles do not merge, so a formula
with one is refused by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayes_sklearn.design.formula import FormulaDesign, parse_formula

#: Rows the formula is learnt on (their levels are the global ones).
PROTOTYPE_ROWS = 64


def _levels(X, names: list[str]) -> dict[str, list]:
    """Every level of the non-numeric columns ``names``, from known categories or one pass."""
    import dask

    levels, unknown = {}, []
    for name in names:
        column = X[name]
        if isinstance(column.dtype, pd.CategoricalDtype) and column.cat.known:
            levels[name] = list(column.cat.categories)
        else:
            unknown.append(name)
    if unknown:
        found = dask.compute(*[X[name].dropna().unique() for name in unknown])
        for name, values in zip(unknown, found):
            levels[name] = sorted(pd.unique(np.asarray(values)).tolist())
    return levels


def _with_levels(part: pd.DataFrame, levels: dict[str, list]) -> pd.DataFrame:
    """The partition with its categorical columns as categories of the global levels."""
    if not levels:
        return part
    return part.assign(**{name: pd.Categorical(part[name], categories=values)
                          for name, values in levels.items()})


def design_frame(X, formula: str, handle_unknown: str = "error") -> tuple[FormulaDesign, Any]:
    """The formula's design learnt on ``X`` (a Dask DataFrame), and ``X`` as design columns.

    Returns the fitted :class:`~bayes_sklearn.design.formula.FormulaDesign` and
    a Dask DataFrame of its columns (the intercept left out), partitioned as ``X``.
    """
    parsed = parse_formula(formula)
    needed = [name for name in X.columns if name in set(parsed.required_variables)]
    text = [name for name in needed
            if not (pd.api.types.is_numeric_dtype(X[name].dtype)
                    or pd.api.types.is_bool_dtype(X[name].dtype))]
    levels = _levels(X, text)
    prototype = _with_levels(X.head(PROTOTYPE_ROWS, npartitions=-1), levels)
    design, _ = FormulaDesign.fit(prototype, formula)
    stateful = sorted(design.model_spec.transform_state)
    if stateful:
        raise ValueError(
            f"formula {formula!r} has stateful transforms {stateful}, which learn from the "
            "rows they are fitted on (a mean, quantile knots): on data in chunks they would "
            "learn from a few rows only. Compute those columns first (e.g. with Dask), or "
            "fit the formula on rows in memory."
        )
    columns = list(design.column_names)

    def encode(part: pd.DataFrame) -> pd.DataFrame:
        matrix = design.transform(_with_levels(part, levels), handle_unknown)
        return pd.DataFrame(matrix, columns=columns, index=part.index)

    meta = pd.DataFrame({name: pd.Series([], dtype=np.float64) for name in columns})
    return design, X.map_partitions(encode, meta=meta)
