"""NUTS with nutpie's sampler on bayes_sklearn's precompiled log density.

The log density (:mod:`bayes_sklearn.inference._kernel`) is compiled by numba
once per installation and cached on disk, so a fit costs only the sampling:
no PyMC graph is built and nothing is compiled per model, per fold or per
grid point. The data are passed by pointer; the gaussian family without
groups is reduced to sufficient statistics first. nutpie's compiled core is
loaded and checked by :mod:`bayes_sklearn.inference._nutpie_core`.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from bayes_sklearn._progress import ProgressBar
from bayes_sklearn.inference._nutpie_core import nutpie_core
from bayes_sklearn.inference.packing import PackedModel, pack_model, unpack_draws
from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec

_INIT_JITTER = 1.0
# nutpie's statistic names -> ArviZ's conventional names.
_STATS = {
    "diverging": "diverging",
    "depth": "tree_depth",
    "maxdepth_reached": "reached_max_treedepth",
    "n_steps": "n_steps",
    "step_size": "step_size",
    "energy": "energy",
    "mean_tree_accept": "acceptance_rate",
    "logp": "lp",
}


def _initial_point_function(packed: PackedModel, start=None):
    """Chain start points: PyMC's default jitter of U(-1, 1) around the prior
    centre, or draws from a fitted variational approximation ``start``."""

    def initial_point(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        if start is not None:
            return start.draw(1, rng)[0]
        return packed.initial_point + rng.uniform(-_INIT_JITTER, _INIT_JITTER, packed.n_dim)

    return initial_point


# Numbers only, parsed into a tqdm bar: nutpie renders this template with
# the same variables in every 0.16 release.
_PROGRESS_TEMPLATE = (
    "{{ total_finished_draws }} {{ total_draws }} {{ finished_chains }} {{ num_chains }}"
    "{% for chain in chains %} {{ chain.divergences }}{% endfor %}"
)


class _ProgressSnapshot:
    """The latest progress numbers nutpie reported (from its own thread)."""

    def __init__(self) -> None:
        self.values: list[int] = []
        self._lock = threading.Lock()

    def record(self, line: str) -> None:
        with self._lock:
            self.values = [int(float(v)) for v in line.split()]

    def show(self, bar: ProgressBar) -> None:
        with self._lock:
            values = list(self.values)
        if len(values) < 4:
            return
        finished, _, chains_done, n_chains, *divergences = values
        bar.update_to(finished, f"{chains_done}/{n_chains} chains done, "
                                f"{sum(divergences)} divergences")


def _trace_to_arrays(draw_batches, stat_batches, n_dim: int):
    """Post-warm-up draws (chains, draws, n_dim) and sampler statistics from
    nutpie's arrow trace (one batch per chain; warm-up rows are flagged)."""
    import pyarrow as pa

    theta, stats = [], {name: [] for name in _STATS.values()}
    for draw_batch, stat_batch in zip(draw_batches, stat_batches, strict=True):
        draw_table = pa.record_batch(draw_batch)
        stat_table = pa.record_batch(stat_batch)
        kept = ~stat_table.column("tuning").to_numpy(zero_copy_only=False)
        flat = draw_table.column("theta").flatten().to_numpy()
        theta.append(flat.reshape(-1, n_dim)[kept])
        for source, name in _STATS.items():
            values = stat_table.column(source).to_numpy(zero_copy_only=False)
            stats[name].append(values[kept])
    return np.stack(theta), {name: np.stack(values) for name, values in stats.items()}


def sample_fast_nuts(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    group_codes: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> SamplerResult:
    """Sample ``spec``'s posterior with nutpie's NUTS on the precompiled kernel.

    ``sample_weight`` are frequency weights of the rows' likelihood.
    """
    from bayes_sklearn.inference import _kernel

    core = nutpie_core()
    lib = core.lib
    packed = pack_model(spec, X_z, y, group_codes, sample_weight=sample_weight)
    start = None
    if settings.nuts_init == "advi":
        from bayes_sklearn.inference.advi import fit_variational

        start = fit_variational(spec, X_z, y, settings, group_codes,
                                sample_weight=sample_weight)
    logp = lib.LogpFunc(_kernel.logp_cfunc.address, packed.header.ctypes.data, packed)
    # The sampler moves the free parameters; each stored draw is the full
    # vector, fixed values in place.
    expand = lib.ExpandFunc(
        packed.n_dim, packed.n_full, _kernel.expand_cfunc.address, packed.header.ctypes.data, packed
    )
    dim_sizes = {"parameter": packed.n_full}
    variables = lib.PyVariable.new_variables(
        ["theta"], ["float64"], [(packed.n_full,)], dim_sizes, {"theta": ("parameter",)}
    )
    model = lib.PyMcModel(
        logp,
        expand,
        variables,
        packed.n_dim,
        dim_sizes,
        {"parameter": [str(i) for i in range(packed.n_full)]},
        _initial_point_function(packed, start),
        None,
    )
    nuts = lib.PyNutsSettings.Diag(settings.seed)
    nuts.num_tune = settings.tune
    nuts.num_draws = settings.draws
    nuts.num_chains = settings.chains
    nuts.target_accept = settings.target_accept
    cores = max(1, min(settings.chains, os.cpu_count() or 1))
    snapshot = _ProgressSnapshot()
    if settings.progressbar:
        progress = lib.ProgressType.template_callback(200, _PROGRESS_TEMPLATE, cores,
                                                      snapshot.record)
        total = settings.chains * (settings.tune + settings.draws)
        bar = ProgressBar(total, "NUTS", "draws")
    else:
        progress, bar = lib.ProgressType.none(), None
    try:
        sampler = core.start_sampler(nuts, cores, model, progress)
        try:
            # Short waits keep the interpreter responsive to KeyboardInterrupt.
            while True:
                try:
                    sampler.wait(0.1)
                    break
                except TimeoutError:
                    if bar is not None:
                        snapshot.show(bar)
        except BaseException:
            sampler.abort()
            raise
        if bar is not None:
            snapshot.show(bar)
            bar.update_to(total)
    finally:
        if bar is not None:
            bar.close()
    results = sampler.take_results()
    theta, stats = _trace_to_arrays(*results.get_arrow_trace(), packed.n_full)
    return unpack_draws(spec, theta, method="nuts (nutpie, precompiled)",
                        intercept_shift=packed.intercept_shift, sample_stats=stats)
