"""Data that arrive in chunks: Dask collections, parquet files, iterators.

Each source is read one chunk at a time and reduced to
:class:`~bayes_sklearn.chunked.statistics.GaussianStatistics`; no source is
ever gathered into one array. On Dask the chunks' statistics are computed
where the chunks live and merged as a tree of tasks, so only statistics of
``(p + 1)^2`` numbers travel to the client. Parquet files are read through
Dask when it is installed (in parallel, on its scheduler), and else batch
by batch with ``pyarrow.dataset``.

Sources
-------
- ``dask.array.Array`` ``X`` (chunked by rows) with ``y`` (and weights) as
  Dask arrays of the same length;
- ``dask.dataframe.DataFrame`` ``X`` with ``y`` (and weights) as Dask
  Series of the same frame (joined to ``X``'s partitions by index);
- a parquet path or a list of paths (files or directories), with ``y``
  (and ``sample_weight``) naming columns; the features are the other columns;
- a callable returning an iterable of ``(X, y)`` or ``(X, y, sample_weight)``
  chunks, called once per pass over the data.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayes_sklearn.chunked.statistics import GaussianStatistics, statistics_of_rows, tree_reduce

#: Rows per batch when pyarrow reads parquet without Dask.
PARQUET_BATCH_ROWS = 262_144


@dataclass(frozen=True)
class ChunkedData:
    """A recognised chunked source: how to read it, and its feature names if known."""

    kind: str
    X: Any
    y: Any
    sample_weight: Any
    feature_names: tuple[str, ...] | None


def _dask_kind(X: Any) -> str | None:
    """"dask-array" or "dask-frame" for Dask collections, without importing Dask."""
    if "dask" not in sys.modules:
        return None
    module = type(X).__module__
    if not module.startswith("dask"):
        return None
    if hasattr(X, "to_delayed") and hasattr(X, "chunks") and getattr(X, "ndim", 0) == 2:
        return "dask-array"
    if hasattr(X, "to_delayed") and hasattr(X, "npartitions") and hasattr(X, "columns"):
        return "dask-frame"
    return None


def _is_paths(X: Any) -> bool:
    if isinstance(X, (str, os.PathLike)):
        return True
    return (isinstance(X, (list, tuple)) and len(X) > 0
            and all(isinstance(item, (str, os.PathLike)) for item in X))


def is_chunked(X: Any) -> bool:
    """Whether ``X`` is a source of chunks rather than an in-memory array or frame."""
    return _dask_kind(X) is not None or _is_paths(X) or (callable(X) and not hasattr(X, "shape"))


def recognise(X: Any, y: Any, sample_weight: Any = None) -> ChunkedData:
    """Check a chunked source's parts fit together; see the module docstring."""
    kind = _dask_kind(X)
    if kind == "dask-frame":
        names = tuple(str(c) for c in X.columns)
        return ChunkedData(kind, X, y, sample_weight, names)
    if kind == "dask-array":
        return ChunkedData(kind, X, y, sample_weight, None)
    if _is_paths(X):
        if not isinstance(y, str):
            raise ValueError("For parquet input y must name the target column, e.g. "
                             f"fit('data/*.parquet', 'price'); got {type(y).__name__}.")
        if sample_weight is not None and not isinstance(sample_weight, str):
            raise ValueError("For parquet input sample_weight must name a column or be "
                             f"None; got {type(sample_weight).__name__}.")
        paths = _parquet_files([X] if isinstance(X, (str, os.PathLike)) else X)
        names = _parquet_feature_names(paths, y, sample_weight)
        frame = _dask_read_parquet(paths)
        if frame is not None:
            weights = None if sample_weight is None else frame[sample_weight]
            return ChunkedData("dask-frame", frame[list(names)], frame[y], weights, names)
        return ChunkedData("parquet", paths, y, sample_weight, names)
    if y is not None or sample_weight is not None:
        raise ValueError("An iterator factory yields (X, y) or (X, y, sample_weight) "
                         "chunks itself: y and sample_weight must be None.")
    return ChunkedData("iterator", X, None, None, None)


def _parquet_files(paths) -> list[str]:
    """Files and directories (read as the files they hold) as a list of files."""
    import pyarrow.dataset as ds

    files = []
    for path in map(os.fspath, paths):
        files += ds.dataset(path, format="parquet").files if os.path.isdir(path) else [path]
    if not files:
        raise ValueError(f"No parquet files found in {[os.fspath(p) for p in paths]}.")
    return files


def _dask_read_parquet(paths):
    """The files as a Dask DataFrame, or None without ``dask.dataframe``."""
    try:
        import dask.dataframe as dd
    except ImportError:
        return None
    return dd.read_parquet(paths)


def _is_numeric(arrow_type) -> bool:
    import pyarrow as pa

    return (pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)
            or pa.types.is_boolean(arrow_type) or pa.types.is_decimal(arrow_type))


def _parquet_feature_names(paths, y: str, weight: str | None) -> tuple[str, ...]:
    """The feature columns (all but the target and weight), checked numeric."""
    import pyarrow.dataset as ds

    schema = ds.dataset(paths, format="parquet").schema
    missing = [name for name in (y, weight) if name is not None and name not in schema.names]
    if missing:
        raise ValueError(f"The parquet data have no column {missing[0]!r}; its columns "
                         f"are {schema.names}.")
    # a pandas index written with the rows is not a feature (a RangeIndex is
    # kept as metadata only, the others as columns)
    index = {name for name in (schema.pandas_metadata or {}).get("index_columns", [])
             if isinstance(name, str)}
    # the target may hold labels of any type (a classifier's classes)
    bad = [field.name for field in schema
           if field.name not in index and field.name != y and not _is_numeric(field.type)]
    if bad:
        raise ValueError(f"The parquet data have non-numeric columns {bad}. Encode them "
                         "first: data in chunks take the design columns as they are.")
    return tuple(name for name in schema.names if name not in (y, weight) and name not in index)


def check_chunk(X: Any, y: Any, sample_weight: Any, n_features: int | None,
                names: tuple[str, ...] | None = None):
    """One chunk as float64 arrays, checked as scikit-learn checks a whole ``X``."""
    if hasattr(X, "dtypes") and hasattr(X.dtypes, "items"):
        from bayes_sklearn.estimators._base import _refuse_non_numeric_frame

        _refuse_non_numeric_frame(X)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D chunk of X, got shape {X.shape}.")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"A chunk of X has {X.shape[0]} rows but its y has shape {y.shape}.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features in one chunk, but {n_features} "
                         "were expected.")
    for name, values in (("X", X), ("y", y)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"Input {name} contains NaN or infinity.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if sample_weight.shape != y.shape:
            raise ValueError(f"A chunk has {y.shape[0]} rows but {sample_weight.shape[0]} "
                             "sample weights.")
        if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
            raise ValueError("sample_weight must be finite and non-negative.")
    return X, y, sample_weight


def _chunk_statistics(X, y, sample_weight, n_features: int | None) -> GaussianStatistics:
    return statistics_of_rows(*check_chunk(X, y, sample_weight, n_features))


def gaussian_statistics(data: ChunkedData) -> GaussianStatistics:
    """One pass over ``data``: the merged statistics of all its chunks."""
    if data.kind in ("dask-array", "dask-frame"):
        return _dask_statistics(data)
    n_features = None if data.feature_names is None else len(data.feature_names)
    total = None
    for X, y, w in chunks(data):
        part = _chunk_statistics(X, y, w, n_features)
        n_features = part.n_features
        total = part if total is None else total.merge(part)
    if total is None:
        raise ValueError("The data have no chunk: found 0 rows.")
    return total


def chunks(data: ChunkedData) -> Iterator[tuple[Any, Any, Any]]:
    """The chunks of an iterator or parquet source, in their order."""
    if data.kind == "iterator":
        produced = data.X()
        if not isinstance(produced, Iterable):
            raise ValueError("An iterator factory must return an iterable of (X, y) or "
                             f"(X, y, sample_weight) chunks; it returned {type(produced).__name__}.")
        for chunk in produced:
            if not isinstance(chunk, tuple) or len(chunk) not in (2, 3):
                raise ValueError("Each chunk of an iterator factory must be a tuple (X, y) or "
                                 "(X, y, sample_weight).")
            yield chunk if len(chunk) == 3 else (*chunk, None)
        return
    yield from _parquet_batches(data)


def _parquet_batches(data: ChunkedData) -> Iterator[tuple[Any, Any, Any]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    columns = list(data.feature_names) + [data.y] + (
        [data.sample_weight] if data.sample_weight is not None else [])
    dataset = ds.dataset(data.X, format="parquet")
    p = len(data.feature_names)
    numeric_target = _is_numeric(dataset.schema.field(data.y).type)
    for batch in dataset.to_batches(columns=columns, batch_size=PARQUET_BATCH_ROWS):
        # a null becomes NaN, which the chunk's check refuses by name
        table = np.zeros((batch.num_rows, batch.num_columns))
        for i in range(batch.num_columns):
            if i != p or numeric_target:
                table[:, i] = pc.cast(batch.column(i), pa.float64()).to_numpy(
                    zero_copy_only=False)
        y = table[:, p] if numeric_target else _labels(batch.column(p), data.y)
        yield table[:, :p], y, table[:, p + 1] if data.sample_weight is not None else None


def _labels(column, name: str) -> np.ndarray:
    """A non-numeric target column's labels, as they are."""
    if column.null_count:
        raise ValueError(f"Input y contains missing values: {column.null_count} in a batch "
                         f"of column {name!r}.")
    return column.to_numpy(zero_copy_only=False)


def _dask_array_blocks(data: ChunkedData) -> list[tuple]:
    """The delayed row blocks of a Dask array X with those of y and the weights."""
    X = data.X.rechunk({1: -1})
    row_chunks = X.chunks[0]
    arrays = {}
    for name, values in (("y", data.y), ("sample_weight", data.sample_weight)):
        if values is None:
            continue
        values = _as_dask_array(values, name)
        if values.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but {name} has {values.shape[0]}.")
        arrays[name] = values.reshape(-1).rechunk((row_chunks,))
    parts = [delayed_blocks(arrays[name]) if name in arrays else [None] * len(row_chunks)
             for name in ("y", "sample_weight")]
    return list(zip(delayed_blocks(X), *parts))


def delayed_blocks(array) -> list:
    """A Dask array's blocks as delayed values, in order, from its unoptimised graph.

    Optimised, X and a y computed from the same blocks would each fuse a copy
    of the shared block's task (even when optimised together): every block
    computed twice, likely on two workers. Unoptimised, that task stays shared.
    """
    return list(array.to_delayed(optimize_graph=False).ravel())


#: Column names under which y and the weights join the frame of X.
_TARGET, _WEIGHT = "__bayes_sklearn_y__", "__bayes_sklearn_weight__"


def _frame_partitions(data: ChunkedData) -> list:
    """The delayed partitions of one Dask DataFrame holding X, y and the weights."""
    return list(joined_frame(data).to_delayed())


def joined_frame(data: ChunkedData):
    """X's Dask DataFrame with y and the weights joined as columns.

    Joined, they are split into the very partitions of X (dask aligns them
    by index), whatever optimisation does to each collection on its own.
    """
    if data.y is None:
        raise ValueError("y is required.")
    columns = {}
    for name, key, values in (("y", _TARGET, data.y), ("sample_weight", _WEIGHT,
                                                       data.sample_weight)):
        if values is None:
            continue
        if not (hasattr(values, "npartitions") and hasattr(values, "to_delayed")):
            raise ValueError(f"With a Dask DataFrame X, {name} must be a Dask Series of the "
                             f"same frame; got {type(values).__name__}.")
        columns[key] = values
    return data.X.assign(**columns)


def _partition_statistics(part, names: list, weighted: bool, n_features: int):
    return _chunk_statistics(part[names], part[_TARGET],
                             part[_WEIGHT] if weighted else None, n_features)


def _as_dask_array(values: Any, name: str):
    import dask.array as da

    if _dask_kind(values) is None and not isinstance(values, da.Array):
        raise ValueError(f"With a Dask array X, {name} must be a Dask array too (lazy, "
                         f"chunked alike); got {type(values).__name__}.")
    return values


def _dask_statistics(data: ChunkedData) -> GaussianStatistics:
    import dask
    from dask import delayed

    if data.kind == "dask-array":
        compute = delayed(_chunk_statistics, pure=True)
        n_features = data.X.shape[1]
        level = [compute(bx, by, bw, n_features) for bx, by, bw in _dask_array_blocks(data)]
    else:
        compute = delayed(_partition_statistics, pure=True)
        names, weighted = list(data.feature_names), data.sample_weight is not None
        level = [compute(part, names, weighted, len(names)) for part in _frame_partitions(data)]
    (total,) = dask.compute(tree_reduce(level, delayed(GaussianStatistics.merge, pure=True)))
    return total
