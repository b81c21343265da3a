"""Predictions on Dask input as lazy Dask arrays, one task per row block.

A prediction method decorated with :func:`lazy_on_dask` keeps its in-memory
behaviour and, given a Dask array or data frame, returns Dask arrays whose
row chunks are those of ``X`` (unknown sizes for a data frame's partitions).
The fitted estimator enters the task graph once, as one node every block's
task depends on, so a scheduler ships it to each worker once instead of
embedding a copy of the draws in every task.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from bayes_sklearn.chunked.sources import _dask_kind, delayed_blocks


@dataclass(frozen=True)
class Output:
    """One array a method returns: its shape around the row axis, and dtype."""

    before: tuple[int, ...] = ()
    after: tuple[int, ...] = ()
    dtype: Any = np.float64

    def shape(self, rows: float) -> tuple:
        return (*self.before, rows, *self.after)


def _call(estimator, method: str, block, aligned: tuple, kwargs: dict):
    return getattr(estimator, method)(block, *aligned, **kwargs)


def _row_blocks(values: Any) -> tuple[list, list]:
    """A Dask collection's delayed row blocks and their row counts (nan: unknown)."""
    if _dask_kind(values) == "dask-frame" or not hasattr(values, "chunks"):
        blocks = list(np.ravel(values.to_delayed()))
        return blocks, [np.nan] * len(blocks)
    if values.ndim == 2:
        values = values.rechunk({1: -1})
    return delayed_blocks(values), list(values.chunks[0])


def map_row_blocks(estimator, method: str, X, aligned: tuple, kwargs: dict,
                   outputs: list[Output]):
    """``estimator.method(block, *aligned_blocks, **kwargs)`` for each row block, lazily.

    Returns one Dask array per entry of ``outputs`` (a tuple when there are
    several, as the method returns them).
    """
    import dask.array as da
    from dask import delayed

    if _dask_kind(X) == "dask-frame" and any(values is not None for values in aligned):
        raise ValueError("With a Dask DataFrame X, pass X.to_dask_array(lengths=True) and y "
                         "(and sample_weight) as Dask arrays chunked alike: the partitions "
                         "of separate frames need not line up.")
    model = delayed(estimator, pure=True, traverse=False)
    blocks, rows = _row_blocks(X)
    aligned_blocks = []
    for values in aligned:
        if values is None:
            aligned_blocks.append([None] * len(blocks))
            continue
        if _dask_kind(values) is None and not hasattr(values, "to_delayed"):
            raise ValueError("With Dask X, the arrays that go with its rows (y, "
                             "sample_weight) must be Dask collections too, chunked alike; "
                             f"got {type(values).__name__}.")
        if hasattr(values, "rechunk") and not np.isnan(rows).any():
            values = values.rechunk((tuple(rows),))  # the row chunks of X
        value_blocks, _ = _row_blocks(values)
        if len(value_blocks) != len(blocks):
            raise ValueError(f"X has {len(blocks)} row blocks but a matching input has "
                             f"{len(value_blocks)}.")
        aligned_blocks.append(value_blocks)
    call = delayed(_call, pure=True)
    pieces: list[list] = [[] for _ in outputs]
    for i, (block, n) in enumerate(zip(blocks, rows)):
        result = call(model, method, block, tuple(a[i] for a in aligned_blocks), kwargs)
        for j, output in enumerate(outputs):
            part = result if len(outputs) == 1 else delayed(operator.getitem)(result, j)
            pieces[j].append(da.from_delayed(part, shape=output.shape(n), dtype=output.dtype))
    arrays = tuple(da.concatenate(parts, axis=len(output.before))
                   for parts, output in zip(pieces, outputs))
    return arrays[0] if len(arrays) == 1 else arrays


def lazy_on_dask(layout: Callable[..., list[Output]], n_aligned: int = 0):
    """Decorate a method ``(self, X, *aligned, **options)`` to map over Dask row blocks.

    ``layout(estimator, **options)`` gives the outputs; the first
    ``n_aligned`` positional arguments after ``X`` (``y``, ``sample_weight``)
    are split into blocks with ``X``.
    """

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, X, *args, **kwargs):
            if _dask_kind(X) is None:
                return method(self, X, *args, **kwargs)
            check_is_fitted(self)
            aligned, options = _split_arguments(method, n_aligned, args, kwargs)
            return map_row_blocks(self, method.__name__, X, aligned, options,
                                  layout(self, **options))

        return wrapper

    return decorate


def _split_arguments(method, n_aligned: int, args: tuple, kwargs: dict):
    """The aligned arguments (by position or name) and the other options, by name."""
    import inspect

    names = list(inspect.signature(method).parameters)[2:]
    bound = dict(zip(names, args))
    bound.update(kwargs)
    aligned = tuple(bound.pop(name, None) for name in names[:n_aligned])
    return aligned, bound


def per_row(estimator, **options) -> list[Output]:
    """One value per row; two arrays with ``return_std=True``."""
    return [Output()] * (2 if options.get("return_std") else 1)


def per_row_and_class(estimator, **options) -> list[Output]:
    """A row of class probabilities (or scores) per row."""
    return [Output(after=(len(estimator.classes_),))] * (2 if options.get("return_std") else 1)


def per_row_bounds(estimator, **options) -> list[Output]:
    """Lower and upper bound per row."""
    return [Output(after=(2,))]


def per_row_class_bounds(estimator, **options) -> list[Output]:
    """Lower and upper bound of each class probability, per row."""
    return [Output(after=(len(estimator.classes_), 2))]


def per_row_scores(estimator, **options) -> list[Output]:
    """A log-odds per row for two classes, else a row of scores."""
    n_classes = len(estimator.classes_)
    return [Output(after=() if n_classes == 2 else (n_classes,))]


def per_row_label(estimator, **options) -> list[Output]:
    """A class label per row."""
    return [Output(dtype=estimator.classes_.dtype)]


def per_draw_and_row(estimator, **options) -> list[Output]:
    """A value per chain, draw and row."""
    draws = estimator._draws
    return [Output(before=(draws.n_chains, draws.n_draws))]
