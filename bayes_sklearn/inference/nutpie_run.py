"""nutpie's NUTS, run on a compiled C log density.

Both NUTS paths hand nutpie's compiled core (:mod:`~bayes_sklearn.inference._nutpie_core`)
a C function pointer: the precompiled kernel (:mod:`~bayes_sklearn.inference.fast_nuts`)
and the PyMC engine's compiled reference model
(:mod:`~bayes_sklearn.inference.compiled_model`). This module is what they
share: the sampler settings, the threads, the progress bar and the trace read
back as arrays.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayes_sklearn._progress import ProgressBar
from bayes_sklearn.inference._nutpie_core import nutpie_core
from bayes_sklearn.inference.settings import InferenceSettings

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

# Numbers only, parsed into a tqdm bar: nutpie renders this template with
# the same variables in every 0.16 release.
_PROGRESS_TEMPLATE = (
    "{{ total_finished_draws }} {{ total_draws }} {{ finished_chains }} {{ num_chains }}"
    "{% for chain in chains %} {{ chain.divergences }}{% endfor %}"
)


@dataclass(frozen=True)
class CDensity:
    """A log density in nutpie's C calling convention, with its draw expansion.

    Attributes
    ----------
    logp_address, expand_address : int
        Addresses of the ``LOGP_SIGNATURE`` and ``EXPAND_SIGNATURE`` C functions
        (:mod:`~bayes_sklearn.inference._kernel`).
    user_data : int
        The pointer both receive (the address of an int64 header).
    keep_alive : object
        Whatever owns the memory ``user_data`` points into.
    n_dim, n_expanded : int
        Sizes of the sampled vector and of each stored draw.
    initial_point : callable
        ``seed -> start point`` (length ``n_dim``) of one chain.
    """

    logp_address: int
    expand_address: int
    user_data: int
    keep_alive: Any
    n_dim: int
    n_expanded: int
    initial_point: Callable[[int], np.ndarray]


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


def adapts_mass_matrix_to_gradients(has_group_terms: bool) -> bool:
    """Whether NUTS adapts its diagonal mass matrix to draws and gradients (nutpie's
    default) rather than to the draws' variances alone (Stan's and PyMC's way).

    nutpie's adaptation to gradients takes the fewest leapfrog steps on
    regressions without group terms. On hierarchical posteriors it left the
    group sds mixing slowly: on radon's ``floor + (1 + floor | county)`` (4 x
    1,000 draws, 12 seeds) the floor slope's sd had bulk ESS 279-593 and
    r_hat above 1.01 in 7 fits of 12, against 472-715 and 2 of 12 with the
    variances, for 1.3x the leapfrog steps; on Penicillin's ``(1 | plate) +
    (1 | sample)`` the slowest parameter's ESS rose from 200-229 (r_hat
    1.015-1.024, every fit warned) to 547-761 for 2.6x the steps. nutpie's
    low-rank mass matrix did worse on Penicillin and cost 10x the wall time
    on radon.
    """
    return not has_group_terms


def run_nuts(density: CDensity, settings: InferenceSettings, *,
             adapt_to_gradients: bool = True,
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sample ``density`` with nutpie's NUTS (diagonal mass matrix).

    Returns the post-warm-up expanded draws, shape ``(chains, draws,
    n_expanded)``, and the per-draw sampler statistics under ArviZ's names.
    One thread per chain, up to the machine's cores. ``adapt_to_gradients``
    is nutpie's ``use_grad_based_mass_matrix`` (see
    :func:`adapts_mass_matrix_to_gradients`).
    """
    core = nutpie_core()
    lib = core.lib
    logp = lib.LogpFunc(density.logp_address, density.user_data, density.keep_alive)
    expand = lib.ExpandFunc(density.n_dim, density.n_expanded, density.expand_address,
                            density.user_data, density.keep_alive)
    dim_sizes = {"parameter": density.n_expanded}
    variables = lib.PyVariable.new_variables(
        ["theta"], ["float64"], [(density.n_expanded,)], dim_sizes, {"theta": ("parameter",)}
    )
    model = lib.PyMcModel(
        logp,
        expand,
        variables,
        density.n_dim,
        dim_sizes,
        {"parameter": [str(i) for i in range(density.n_expanded)]},
        density.initial_point,
        None,
    )
    nuts = lib.PyNutsSettings.Diag(settings.seed)
    nuts.num_tune = settings.tune
    nuts.num_draws = settings.draws
    nuts.num_chains = settings.chains
    nuts.target_accept = settings.target_accept
    nuts.use_grad_based_mass_matrix = adapt_to_gradients
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
        theta, stats = _trace_to_arrays(*sampler.take_results().get_arrow_trace(),
                                        density.n_expanded)
        if bar is not None:
            # from the trace: nutpie's last progress report may not have arrived
            # (a bar at 100% read "0/1 chains done" on a loaded machine)
            bar.update_to(total, f"{settings.chains}/{settings.chains} chains done, "
                                 f"{int(stats['diverging'].sum())} divergences")
    finally:
        if bar is not None:
            bar.close()
    return theta, stats
