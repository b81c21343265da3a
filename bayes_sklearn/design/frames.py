"""Data frames of any library as pandas, and sparse matrices recognised.

Formulas and the group column need column names, and formulaic evaluates
pandas frames. Any other frame scikit-learn accepts (polars, pyarrow, or an
object with ``to_pandas()`` or the ``__dataframe__`` interchange protocol) is
converted to pandas once, keeping its column names and dtypes; no library
but pandas is imported here.
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd


def to_pandas(X: Any) -> pd.DataFrame | None:
    """``X`` as a pandas DataFrame, or None when ``X`` is not a data frame."""
    if isinstance(X, pd.DataFrame):
        return X
    if _is_polars_frame(X):
        return _polars_to_pandas(X)
    if callable(getattr(X, "to_pandas", None)) and hasattr(X, "columns"):
        frame = X.to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    if hasattr(X, "__dataframe__"):
        return pd.api.interchange.from_dataframe(X)
    return None


def pandas_if_frame(X: Any) -> Any:
    """``X`` as pandas when it is a data frame of another library, else ``X`` itself."""
    frame = to_pandas(X)
    return X if frame is None else frame


def is_sparse(X: Any) -> bool:
    """True for scipy sparse matrices and arrays (without importing scipy needlessly)."""
    if "scipy.sparse" not in sys.modules:
        return False
    return sys.modules["scipy.sparse"].issparse(X)


def _is_polars_frame(X: Any) -> bool:
    polars = sys.modules.get("polars")
    return polars is not None and isinstance(X, polars.DataFrame)


def _polars_to_pandas(X: Any) -> pd.DataFrame:
    """Through pyarrow; a polars ``Categorical`` gets the levels a pandas one would.

    polars orders a Categorical's levels by first appearance, pandas sorts
    them; formulaic's reference level is the first, so the frames must agree
    (an ``Enum`` keeps its declared order, as a pandas Categorical given
    ``categories``).
    """
    import polars as pl

    frame = X.to_pandas()
    for name, dtype in X.schema.items():
        if isinstance(dtype, pl.Categorical) or dtype == pl.Categorical:
            column = frame[name]
            levels = sorted(column.dropna().unique().tolist())
            frame[name] = pd.Categorical(column, categories=levels)
    return frame
