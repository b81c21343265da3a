"""Minibatch ADVI on rows streamed from partitions that are never all in memory.

The optimiser is :mod:`bayes_sklearn.inference.advi`'s, unchanged; only the
minibatches come from elsewhere. Each step's ``batch_size`` rows are the
next rows of the current partition (in a random order within it), each
weighted by ``n / batch_size`` (times its frequency weight), ``n`` the row
count of the first pass; when a partition runs out the next one (fetched
meanwhile) takes over, and an epoch visits every partition once, in a random
order for Dask sources.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from bayes_sklearn.inference.advi import (
    VariationalFit,
    _Family,
    _log_density_constant,
    _optimise,
)
from bayes_sklearn.inference.packing import pack_model, unpack_draws
from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec

#: ``(X, y, w)`` of a raw partition -> the kernel's rows: centred design, codes, weights
Prepare = Callable[[object, object, object], tuple[np.ndarray, np.ndarray, np.ndarray | None]]


class StreamedMinibatches:
    """Row buffers the kernel reads, refilled from the partitions in turn."""

    def __init__(self, spec: ModelSpec, epochs: Callable[[np.random.Generator], Iterator],
                 prepare: Prepare, n_rows: int, batch_size: int, weighted: bool,
                 intercept_shift: np.ndarray):
        p = spec.n_coef
        self.X_batch = np.empty((batch_size, p))
        self.y_batch = np.empty(batch_size)
        self.factor = n_rows / batch_size
        self.w_batch = np.empty(batch_size) if weighted else None
        self._epochs, self._prepare = epochs, prepare
        self._partitions: Iterator | None = None
        self._current: tuple | None = None
        self._position = 0
        self.packed = pack_model(spec, self.X_batch, self.y_batch,
                                 row_weight=1.0 if weighted else self.factor,
                                 sufficient_statistics=False, sample_weight=self.w_batch,
                                 intercept_shift=intercept_shift)

    def _forever(self, rng: np.random.Generator) -> Iterator[tuple]:
        while True:
            empty = True
            for X, y, w in self._epochs(rng):
                rows = self._prepare(X, y, w)
                if rows[0].shape[0]:
                    empty = False
                    order = rng.permutation(rows[0].shape[0])
                    yield tuple(None if part is None else part[order] for part in rows)
            if empty:
                raise ValueError("The data have no rows to stream.")

    def refill(self, rng: np.random.Generator) -> None:
        if self._partitions is None:
            self._partitions = self._forever(rng)
        filled, size = 0, self.y_batch.shape[0]
        while filled < size:
            if self._current is None or self._position == self._current[0].shape[0]:
                self._current, self._position = next(self._partitions), 0
            X, y, w = self._current
            take = min(size - filled, X.shape[0] - self._position)
            rows = slice(self._position, self._position + take)
            self.X_batch[filled : filled + take] = X[rows]
            self.y_batch[filled : filled + take] = y[rows]
            if self.w_batch is not None:
                self.w_batch[filled : filled + take] = self.factor * w[rows]
            filled += take
            self._position += take

    def close(self) -> None:
        """Stop the partition stream (and its background fetch)."""
        if self._partitions is not None:
            self._partitions.close()


def fit_advi_streaming(spec: ModelSpec, epochs, prepare: Prepare, settings: InferenceSettings,
                       n_rows: int, weight_sum: float, weighted: bool,
                       intercept_shift: np.ndarray) -> SamplerResult:
    """Minibatch ADVI of ``spec`` on streamed partitions; draws as :func:`fit_advi` makes them.

    ``epochs(rng)`` yields the raw partitions once each; ``n_rows`` is their
    total number of rows and ``weight_sum`` that of their weights (the
    ELBO's ``n``).
    """
    full_rank = settings.method == "fullrank_advi"
    batches = StreamedMinibatches(spec, epochs, prepare, n_rows, settings.batch_size,
                                  weighted, intercept_shift)
    rng = np.random.default_rng(settings.seed)
    family = _Family(batches.packed.n_dim, full_rank)
    try:
        params, elbo, converged = _optimise(batches.packed, batches.refill, family, settings,
                                            rng)
    finally:
        batches.close()
    elbo = elbo + _log_density_constant(spec, weight_sum, family.dim)
    fit = VariationalFit(family, params, elbo, converged, settings.batch_size, batches.packed)
    draws_rng = np.random.default_rng([settings.seed, 1])
    theta = fit.packed.expand(fit.draw(settings.chains * settings.draws, draws_rng))
    theta = theta.reshape(settings.chains, settings.draws, fit.packed.n_full)
    label = ("fullrank_advi" if full_rank else "advi") + (
        f" (streamed minibatch {settings.batch_size})")
    return unpack_draws(spec, theta, method=label, intercept_shift=fit.packed.intercept_shift,
                        sample_stats=None, elbo_history=fit.elbo_history,
                        converged=fit.converged)
