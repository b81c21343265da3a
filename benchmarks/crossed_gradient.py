"""crossed_gradient: cost of one gradient of crossed group terms (1 | a) + (1 | b) at 100,000 rows.

What it measures
----------------
Simulated data (fixed seed): n=100,000 rows, two crossed grouping factors
``a`` and ``b`` with 1,000 levels each (uniform codes), one covariate ``x``
standard normal, ``y = 1 + x + u_a[a] + u_b[b] + Normal(0, 1)`` with
``u_a, u_b ~ Normal(0, 0.5)`` (quick: n=20,000, 200 levels).
``HierarchicalRegression(formula="x + (1 | a) + (1 | b)").to_pymc(X, y)``
is the reference model the PyMC engine samples (2,004 parameters);
``compile_model`` of :mod:`bayes_sklearn.inference.compiled_model` compiles
it as a fit does, and the C function nutpie calls (``compiled.logp``, through
ctypes, on the header ``compiled.density(...)`` writes) is timed at a fixed
point (PyMC's start point jittered as for a chain).

Against:

* **two passes over the rows** as :mod:`benchmarks.gradient` defines them:
  two numpy matrix-vector products ``X @ beta`` and ``X.T @ r`` with an
  ``(n, 4)`` float64 matrix, as many numbers per row as the model's row data
  (``x``, the codes of ``a`` and ``b``, ``y``); the faster of the
  default-threaded and the one-BLAS-thread rows, run by run, is the baseline;
* the same gradient in numpy, for information: the forward pass (two
  gathers ``u_a[a]``, ``u_b[b]``, ``x * beta``, the residual) and the
  backward pass (``x @ r`` and two ``np.bincount`` scatters) -- the work any
  gradient of this model does (one BLAS thread);
* PyTensor's own compiled log density and gradient of the same ``pm.Model``
  (``model.logp_dlogp_function(ravel_inputs=True)``, PyMC's default C
  backend), at the same point; the largest gradient difference is reported.

Also the compile time of ``compile_model`` (disk caches warm from the
un-timed warm-up process, and the one in that warm-up) and, once per run of
the workload (not in quick mode), one short full fit
``HierarchicalRegression(formula=..., draws=200, tune=200, chains=2)`` with
its wall time, divergences, min bulk ESS over the population parameters and
leapfrog steps.

How
---
All gradient timings come from one fresh process per repeat, interleaved in
batches (:func:`benchmarks.gradient.per_call_seconds`, about
``MIN_BATCH_S`` each), median over batches; medians over ``--repeats``
processes.

The kernel's log density and gradient of the same model (what ``fit`` runs:
the model packed as a fit packs it, timed through ``_kernel.log_density``
at the packed start point plus a fixed jitter) are timed beside them.

Target (issue 15)
-----------------
The kernel's gradient time / the faster two-pass row, held to 3x (the
kernel's target in :mod:`benchmarks.gradient`), and no slower than PyTensor's
own C gradient of the same model; the PyMC engine's against the same 3x, for
information.
"""

from __future__ import annotations

import os
import time
from typing import Any

from benchmarks._data import divergences, kernel_point
from benchmarks._harness import (
    Column,
    Config,
    Section,
    Target,
    TaskError,
    WorkloadResult,
    log,
    peer_from_runs,
    peers_ran_target,
    record,
    run_task,
    summary_line,
    timed_import,
)
from benchmarks.gradient import MIN_BATCH_S, per_call_seconds

NAME = "crossed_gradient"
FORMULA = "x + (1 | a) + (1 | b)"
MATVECS = "numpy X@beta + X.T@r, X (n, 4) (2 BLAS matvecs)"
MATVECS_ONE = "numpy, the same with 1 BLAS thread"
NUMPY_GRAD = "numpy gradient of this model (gathers + bincount scatters)"
OURS = "bayes_sklearn PyMC engine: compiled logp+grad (numba, C function nutpie calls)"
KERNEL = "bayes_sklearn kernel logp+grad (the engine the estimator picks)"
PYTENSOR = "PyTensor logp_dlogp_function (PyMC default C backend)"
FIT = "bayes_sklearn fit, 2 chains x 200 tune + 200 draws"
TARGET = 3.0


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"n": 20_000, "levels": 200}
    return {"n": 100_000, "levels": 1_000}


def crossed_data(n: int, levels: int, seed: int = 0):
    """``X`` (DataFrame ``x, a, b``; string labels), ``y`` and the integer codes."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    a = rng.integers(0, levels, n)
    b = rng.integers(0, levels, n)
    x = rng.standard_normal(n)
    u_a, u_b = rng.normal(0.0, 0.5, levels), rng.normal(0.0, 0.5, levels)
    y = 1.0 + x + u_a[a] + u_b[b] + rng.standard_normal(n)
    width = len(str(levels - 1))
    X = pd.DataFrame({"x": x,
                      "a": np.char.add("a", np.char.zfill(a.astype(str), width)),
                      "b": np.char.add("b", np.char.zfill(b.astype(str), width))})
    return X, y, a, b


def _estimator(**params):
    from bayes_sklearn import HierarchicalRegression

    return HierarchicalRegression(formula=FORMULA, progressbar=False, **params)


def gradients(seed: int, n: int, levels: int, batches: int, min_time: float) -> dict:
    """Task: per-call times of our compiled gradient, PyTensor's and the numpy passes."""
    import ctypes

    import numpy as np

    from bayes_sklearn.inference.compiled_model import compile_model, start_point
    from bayes_sklearn.inference.nuts import backend_warnings_filtered
    from bayes_sklearn.inference.pymc_engine import _data_values

    X, y, a, b = crossed_data(n, levels)
    start = time.perf_counter()
    model = _estimator().to_pymc(X, y)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    with backend_warnings_filtered():
        compiled = compile_model(model)
    compile_s = time.perf_counter() - start
    density = compiled.density(_data_values(model), start_point(compiled))
    function = compiled.logp.ctypes
    theta = density.initial_point(seed)
    grad, logp = np.empty(density.n_dim), np.empty(())

    def pointer(array):
        return array.ctypes.data_as(ctypes.POINTER(ctypes.c_double))

    args = (density.n_dim, pointer(theta), pointer(grad), pointer(logp),
            ctypes.c_void_p(density.user_data))
    start = time.perf_counter()
    if function(*args) != 0:
        raise RuntimeError("the compiled log density failed at the test point")
    first_call_s = time.perf_counter() - start
    pytensor_fn = model.logp_dlogp_function(ravel_inputs=True)
    pytensor_fn.set_extra_values({})
    pytensor_logp, pytensor_grad = pytensor_fn(theta)

    rng = np.random.default_rng(seed)
    rows = np.column_stack([X["x"].to_numpy(), a.astype(float), b.astype(float), y])
    beta, r = rng.standard_normal(rows.shape[1]), rng.standard_normal(n)
    x = X["x"].to_numpy()
    u_a, u_b = rng.standard_normal(levels), rng.standard_normal(levels)

    def numpy_gradient():
        resid = y - (1.0 + 0.5 * x + u_a[a] + u_b[b])
        return x @ resid, np.bincount(a, resid, levels), np.bincount(b, resid, levels)

    packed, kernel_theta, engine = kernel_point(_estimator(), X, y, seed)
    kernel_header = packed.header
    from bayes_sklearn.inference import _kernel

    _kernel.log_density(kernel_header, kernel_theta)  # compiled before the timing
    times = per_call_seconds({
        MATVECS: lambda: (rows @ beta, rows.T @ r),
        OURS: lambda: function(*args),
        KERNEL: lambda: _kernel.log_density(kernel_header, kernel_theta),
        PYTENSOR: lambda: pytensor_fn(theta),
    }, batches, min_time)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        with threadpool_limits(limits=1, user_api="blas"):
            # the numpy gradient's one BLAS call (x @ r) with threads is at the mercy
            # of a loaded machine, so it is timed with one thread only
            times.update(per_call_seconds({MATVECS_ONE: lambda: (rows @ beta, rows.T @ r),
                                           NUMPY_GRAD: numpy_gradient},
                                          batches, min_time))
    return {"times_s": times, "compile_s": compile_s, "build_s": build_s, "engine": engine,
            "first_call_s": first_call_s, "n_dim": density.n_dim,
            "logp_abs_diff": abs(float(pytensor_logp) - float(logp)),
            "grad_max_abs_diff": float(np.max(np.abs(pytensor_grad - grad)))}


def full_fit(seed: int, n: int, levels: int, draws: int, tune: int, chains: int) -> dict:
    """Task: one ``HierarchicalRegression(formula=...).fit`` (fresh process, caches warm)."""
    imports = {"bayes_sklearn": timed_import("bayes_sklearn")}
    import numpy as np

    from benchmarks.radon_correlated import _instrument

    X, y, _, _ = crossed_data(n, levels)
    watch = _instrument()
    model = _estimator(draws=draws, tune=tune, chains=chains, random_state=seed)
    start = time.perf_counter()
    model.fit(X, y)
    elapsed = time.perf_counter() - start
    seconds, steps = watch.take()
    import arviz as az

    post = model.idata_.posterior
    names = ["intercept", "coef", "sigma", "1|a_sigma", "1|b_sigma"]
    ess = float(az.ess(post, var_names=names, method="bulk").to_array().min())
    stats = model.idata_.sample_stats
    return record(elapsed, imports, {
        "divergences": divergences(model.idata_), "min_ess_bulk_population": ess,
        "mean_tree_depth": float(np.mean(stats["tree_depth"])),
        "leapfrog_steps": steps,
        **{f"{label}_s": value for label, value in seconds.items()}},
        {"engine": model.engine_})


# -- the workload -----------------------------------------------------------------


def _runs(config: Config, params: dict[str, int]) -> tuple[list[dict], str | None]:
    batches = 3 if config.quick else 7
    try:
        if config.warmup:
            warm = run_task(NAME, "gradients", {**params, "seed": 0, "batches": 1,
                                                "min_time": 0.01}, timeout=config.timeout_s)
            log(f"  [{NAME}] warm-up done (compile {warm['compile_s']:.3g} s)")
        runs = []
        for repeat in range(config.repeats):
            runs.append(run_task(NAME, "gradients", {**params, "seed": repeat + 1,
                                                     "batches": batches,
                                                     "min_time": MIN_BATCH_S},
                                 timeout=config.timeout_s))
            log(f"  [{NAME}] run {repeat + 1}/{config.repeats} done")
        if config.warmup:
            runs[0]["warmup_compile_s"] = warm["compile_s"]
        return runs, None
    except TaskError as error:
        log(f"  [{NAME}] FAILED: {error}")
        return [], str(error).splitlines()[0]


def _gradient_section(runs: list[dict], params: dict[str, int], error: str | None) -> Section:
    extra = ("compile_s", "build_s", "first_call_s", "grad_max_abs_diff", "logp_abs_diff",
             "n_dim")

    def peer(name: str, with_extra: bool = False):
        records = [record(r["times_s"][name], {},
                          {key: r[key] for key in extra} if with_extra else {})
                   for r in runs if name in r["times_s"]]
        return peer_from_runs(name, records, error)

    return Section(
        title=f"crossed (1 | a) + (1 | b), n={params['n']:,}, {params['levels']:,} levels "
              "each, one covariate: time per log density + gradient",
        peers=[peer(MATVECS), peer(MATVECS_ONE), peer(NUMPY_GRAD), peer(KERNEL),
               peer(OURS, True), peer(PYTENSOR)],
        baseline=MATVECS,
        columns=[Column("compile_s", "compile_model (s)", ".3g"),
                 Column("first_call_s", "1st call (s)", ".3g"),
                 Column("grad_max_abs_diff", "max |grad - PyTensor|", ".2g"),
                 Column("n_dim", "parameters", ".0f")],
        time_header="median (us)", time_scale=1e6)


def _over_faster(section: Section, name: str) -> tuple[float | None, list[float]]:
    import statistics

    floors = [min(p, q) for p, q in zip(section.peer(MATVECS).times,
                                        section.peer(MATVECS_ONE).times, strict=False)]
    mine = section.peer(name).times
    if not floors or not mine:
        return None, []
    per_run = [m / f for m, f in zip(mine, floors, strict=False) if f > 0]
    return statistics.median(mine) / statistics.median(floors), per_run


def _fit_section(config: Config, params: dict[str, int], notes: list[str]) -> Section:
    mcmc = {"draws": 200, "tune": 200, "chains": 2}
    try:
        payload = run_task(NAME, "full_fit", {**params, **mcmc, "seed": 1},
                           timeout=config.timeout_s)
        log(f"  [{NAME}] full fit timed {payload['time_s']:.3g} s")
        peer = peer_from_runs(FIT, [payload])
    except TaskError as error:
        log(f"  [{NAME}] full fit FAILED: {error}")
        notes.append(f"{FIT}: ERROR {str(error).splitlines()[0]}")
        peer = peer_from_runs(FIT, [], str(error).splitlines()[0])
    return Section(
        title=f"one short fit at n={params['n']:,} (one run; fresh process, disk caches warm)",
        peers=[peer], baseline=None,
        columns=[Column("compile_s", "compile", ".3g"),
                 Column("sample_s", "sampling", ".3g"),
                 Column("build_s", "build", ".3g"),
                 Column("leapfrog_steps", "leapfrog steps", ".0f"),
                 Column("mean_tree_depth", "mean tree depth", ".2f"),
                 Column("divergences", "divergences", ".0f"),
                 Column("min_ess_bulk_population", "min bulk ESS (population)", ".0f")])


def run(config: Config) -> WorkloadResult:
    params = sizes(config.quick)
    notes: list[str] = []
    runs, error = _runs(config, params)
    if error:
        notes.append(f"gradient task: ERROR {error}")
    section = _gradient_section(runs, params, error)
    sections = [section]
    if runs and "warmup_compile_s" in runs[0]:
        notes.append(f"compile_model with empty in-process state and warm disk caches: "
                     f"median {section.peer(OURS).metric('compile_s'):.3g} s; in the "
                     f"warm-up process {runs[0]['warmup_compile_s']:.3g} s")
    if not config.quick:
        sections.append(_fit_section(config, params, notes))
    if runs:
        notes.append(f"fit() runs this model on the {runs[0].get('engine', '?')} engine")
    ours, ours_runs = _over_faster(section, KERNEL)
    engine, engine_runs = _over_faster(section, OURS)
    mine, theirs = section.peer(KERNEL), section.peer(PYTENSOR)
    over_pytensor = (mine.median_s / theirs.median_s
                     if mine.median_s and theirs.median_s else None)
    over_pytensor_runs = [m / t for m, t in zip(mine.times, theirs.times, strict=False)
                          if t > 0]
    targets = [
        Target.check("bayes_sklearn kernel gradient / the faster two-pass (matvec) row",
                     ours, "<=", TARGET, config.quick, ours_runs),
        Target.check("bayes_sklearn kernel gradient / PyTensor's C gradient (same model)",
                     over_pytensor, "<=", 1.0, config.quick, over_pytensor_runs),
        # for information: the PyMC engine's compiled graph of the same model
        Target.check("bayes_sklearn PyMC-engine gradient / the faster two-pass row",
                     engine, "<=", TARGET, config.quick, engine_runs),
        peers_ran_target(sections, config.quick),
    ]
    cores = os.cpu_count() or 1
    return WorkloadResult(NAME, summary_line(__doc__), {**params, "formula": FORMULA,
                                                        "cpus": cores},
                          sections, targets, notes, config.quick)
