"""Streaming data in chunks to minibatch ADVI, for likelihoods without statistics.

The logistic likelihood has no finite sufficient statistic, so its fit reads
rows: a first pass counts them and learns the columns' moments and the class
labels (merged like :class:`~bayes_sklearn.chunked.GaussianStatistics`, on
the workers for Dask), then ADVI draws its minibatches from one partition at
a time while the next is fetched, so memory stays at about two partitions
(plus up to 64 MiB of partitions kept after their first fetch, so that small
data do not cost a cluster round trip per partition visit).

Partitions sorted by time, group or outcome are not a random sample each:
ADVI's last steps, whose average is the approximation, would see only the
last few partitions and land near their posterior. ``shuffle=True``
redistributes the rows at random over the partitions first (a Dask
shuffle on the workers); without Dask the order of the chunks is the only
order there is, and shuffling is refused.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bayes_sklearn.chunked.sources import (
    ChunkedData,
    _TARGET,
    _WEIGHT,
    check_chunk,
    chunks,
    joined_frame,
)
from bayes_sklearn.chunked.statistics import GaussianStatistics, statistics_of_rows, tree_reduce

#: Partitions fetched once are kept while they take less than this in all:
#: small data then cost one round trip per partition, not one per visit.
KEEP_BYTES = 64 * 2**20


@dataclass(frozen=True, eq=False)
class FirstPass:
    """What a fit on streamed rows needs before it starts: the rows' count and
    column moments (as statistics of ``[X | 0]``) and the labels' weighted counts."""

    statistics: GaussianStatistics
    labels: np.ndarray
    label_weights: np.ndarray

    def merge(self, other: FirstPass) -> FirstPass:
        labels = np.union1d(self.labels, other.labels)
        weights = np.zeros(labels.shape[0])
        for part in (self, other):
            weights[np.searchsorted(labels, part.labels)] += part.label_weights
        return FirstPass(self.statistics.merge(other.statistics), labels, weights)


def _chunk_first_pass(X, y, w, n_features: int | None) -> FirstPass:
    X, _, w = check_chunk(X, np.zeros(len(y)), w, n_features)
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"A chunk of X has {X.shape[0]} rows but its y has {y.shape[0]}.")
    labels, codes = np.unique(y, return_inverse=True)
    weights = np.bincount(codes, weights=w, minlength=labels.shape[0]).astype(np.float64)
    return FirstPass(statistics_of_rows(X, np.zeros(X.shape[0]), w), labels, weights)


class PartitionStream:
    """The partitions of a chunked source, fetched one at a time (the next
    one in the background), in a random order per epoch where the source
    allows it (Dask)."""

    def __init__(self, data: ChunkedData, shuffle: bool = False, seed: int = 0):
        self.data = data
        self._kept: dict[int, tuple] = {}
        self._kept_bytes = 0
        self._blocks = None
        #: the delayed partitions are frames holding X, y and w (else (X, y, w) tuples)
        self._frames = False
        if data.kind in ("dask-array", "dask-frame"):
            self._blocks, self._frames = _dask_partitions(data, shuffle, seed)
        elif shuffle:
            source = ("parquet files read without Dask" if data.kind == "parquet"
                      else "an iterator of chunks")
            raise ValueError(
                "shuffle=True redistributes the rows over the partitions with Dask, which "
                f"{source} cannot do: install Dask, or shuffle the rows when writing the "
                "chunks."
            )

    def first_pass(self) -> FirstPass:
        """Count, column moments and labels of all rows (on the workers for Dask)."""
        n_features = None if self.data.feature_names is None else len(self.data.feature_names)
        if self._blocks is not None:
            return self._dask_first_pass(n_features)
        total = None
        for X, y, w in chunks(self.data):
            part = _chunk_first_pass(X, y, w, n_features)
            n_features = part.statistics.n_features
            total = part if total is None else total.merge(part)
        if total is None:
            raise ValueError("The data have no chunk: found 0 rows.")
        return total

    def _dask_first_pass(self, n_features) -> FirstPass:
        import dask
        from dask import delayed

        compute = delayed(_first_pass_of_partition, pure=True)
        level = [compute(self._split(part), n_features) for part in self._blocks]
        (total,) = dask.compute(tree_reduce(level, delayed(FirstPass.merge, pure=True)))
        return total

    def _split(self, part):
        """A delayed partition as a delayed ``(X, y, w)``."""
        if not self._frames:
            return part
        from dask import delayed

        return delayed(_split_frame, pure=True)(part, self.data.sample_weight is not None)

    def epoch(self, rng: np.random.Generator) -> Iterator[tuple]:
        """Every partition once, as ``(X, y, w)`` arrays, the next fetched meanwhile."""
        if self._blocks is None:
            yield from chunks(self.data)
            return
        order = rng.permutation(len(self._blocks))
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self._fetch, order[0])
            for position in range(len(order)):
                current = pending.result()
                if position + 1 < len(order):
                    pending = pool.submit(self._fetch, order[position + 1])
                yield current

    def _fetch(self, index: int) -> tuple:
        import dask

        if index in self._kept:
            return self._kept[index]
        (part,) = dask.compute(self._split(self._blocks[index]))
        size = sum(np.asarray(values).nbytes for values in part if values is not None)
        if self._kept_bytes + size <= KEEP_BYTES:
            self._kept[index] = part
            self._kept_bytes += size
        return part


def _split_frame(part, weighted: bool) -> tuple:
    """A partition frame's features, targets and weights."""
    features = part.drop(columns=[c for c in (_TARGET, _WEIGHT) if c in part.columns])
    return (features, part[_TARGET].to_numpy(),
            part[_WEIGHT].to_numpy() if weighted else None)


def _first_pass_of_partition(part: tuple, n_features) -> FirstPass:
    return _chunk_first_pass(*part, n_features)


def _dask_partitions(data: ChunkedData, shuffle: bool, seed: int) -> tuple[list, bool]:
    """Delayed partitions, and whether they are frames (else ``(X, y, w)`` tuples)."""
    from bayes_sklearn.chunked.sources import _dask_array_blocks

    if data.kind == "dask-array" and not shuffle:
        from dask import delayed

        return [delayed(tuple)(list(block)) for block in _dask_array_blocks(data)], False
    frame = _as_frame(data)
    if shuffle:
        frame = _shuffled(frame, seed)
    return list(frame.to_delayed()), True


def _as_frame(data: ChunkedData):
    """The source as one Dask DataFrame with the target (and weight) columns."""
    if data.kind == "dask-frame":
        return joined_frame(data)
    if data.y is None:
        raise ValueError("y is required.")
    import dask.array as da
    import dask.dataframe as dd

    X = data.X.rechunk({1: -1})
    parts = [X, data.y.reshape(-1, 1).rechunk((X.chunks[0], 1))]
    names = [f"x{i}" for i in range(X.shape[1])] + [_TARGET]
    if data.sample_weight is not None:
        parts.append(data.sample_weight.reshape(-1, 1).rechunk((X.chunks[0], 1)))
        names.append(_WEIGHT)
    return dd.from_dask_array(da.concatenate(parts, axis=1), columns=names)


def _shuffled(frame, seed: int):
    """The rows redistributed at random over as many partitions (a Dask shuffle)."""
    import pandas as pd

    def keyed(part, partition_info=None):
        index = 0 if partition_info is None else partition_info["number"]
        rng = np.random.default_rng([seed, index])
        return part.assign(__bayes_sklearn_key__=rng.integers(0, 2**62, size=len(part)))

    meta = frame._meta.assign(__bayes_sklearn_key__=pd.Series([], dtype=np.int64))
    keyed_frame = frame.map_partitions(keyed, meta=meta)
    shuffled = keyed_frame.shuffle("__bayes_sklearn_key__", npartitions=frame.npartitions)
    return shuffled.drop(columns="__bayes_sklearn_key__")
