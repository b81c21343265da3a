"""gradient: cost of one log-density gradient of the precompiled kernel.

What it measures
----------------
Logistic regression with n=100,000 rows and p=10 standard normal features
(quick: n=20,000). The time of one evaluation of bayes_sklearn's log density
and gradient, ``bayes_sklearn.inference._kernel.log_density(packed.header,
theta)`` with ``packed = pack_model(spec, X_z, y)`` (``spec`` from
``resolve_model_spec(family="bernoulli", ...)``, ``X_z`` the standardised
design, ``theta = packed.initial_point``), against two BLAS matrix-vector
products with the same matrix (``X_z @ beta`` and ``X_z.T @ r`` in numpy, the
floor any gradient of this model pays), and against PyTensor's compiled
``logp`` + ``dlogp`` of the same PyMC model (``build_pymc_model`` of the same
spec, ``model.logp_dlogp_function(ravel_inputs=True)``). The largest
difference between the kernel's and PyTensor's gradients at a random point is
reported as a correctness check.

Gaussian family: with sufficient statistics (``pack_model`` uses them
automatically for gaussian models without groups) one gradient costs O(p^2)
whatever n; the time per gradient is reported at n=10,000 and n=1,000,000
(p=10; quick: 10,000 and 100,000) with their ratio. That is not what a fit
pays: the O(n) pass that computes the statistics happens once per fit, and
it grows with n. So the same process also times, at both sizes and
interleaved: ``pack_model`` (the pass over X: ``X'X``, ``X'y``, residuals,
column sums), the whole preparation a fit makes before sampling
(``resolve_model_spec`` + standardising + ``pack_model``), and the pass's
floor on the same standardised array: one BLAS ``X_z.T @ X_z`` (the
baseline) and one ``X_z.sum(axis=0)``.

Opt-in (``--with-full-nuts``, never in quick mode): a full NUTS fit of the
100,000-row logistic model, bayes_sklearn default against raw ``pm.sample``
(4 chains x 1000 + 1000), both with ``OPENBLAS_NUM_THREADS=1``; this takes
minutes.

How
---
All gradient timings of a run come from one fresh process, interleaved in
batches (each batch calls a function enough times to last about
``MIN_BATCH_S``); a run's time per call is the median over batches. One
un-timed warm-up process fills the numba and PyTensor disk caches; the table
shows medians over ``--repeats`` processes. numpy's BLAS may use several
threads (the baseline, as numpy runs by default); the kernel and PyTensor
use one, so the matvecs are also shown limited to one BLAS thread
(threadpoolctl), for information.

Targets (issue 5)
-----------------
Kernel time per gradient within 3x of the two matrix-vector products (run by
run, the faster of the default-threaded and the one-thread rows: on a loaded
machine multithreaded BLAS can be many times slower than one thread). Gaussian:
gradient time must not grow with n, operationalised here as
``time(n=1,000,000) / time(n=10,000) <= 1.5`` (the slack absorbs timer noise
on a microsecond-scale call). The O(n) pass: ``pack_model`` at n=1,000,000
within 3x of one BLAS ``X_z.T @ X_z`` (the same factor as the logistic
kernel's). The gradient task must run (its peers are all in one process).
"""

from __future__ import annotations

import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

from benchmarks._data import (
    divergences,
    gaussian_data,
    logistic_data,
    min_ess_bulk,
    raw_logistic_model,
)
from benchmarks._harness import (
    Column,
    Config,
    PeerSpec,
    Section,
    Target,
    TaskError,
    WorkloadResult,
    log,
    measure_peers,
    peer_from_runs,
    peers_ran_target,
    record,
    run_task,
    summary_line,
    timed_import,
)

NAME = "gradient"
P = 10
MIN_BATCH_S = 0.2
NUMPY = "numpy X@beta + X.T@r (2 BLAS matvecs)"
NUMPY_ONE_THREAD = "numpy, the same with 1 BLAS thread"
KERNEL = "bayes_sklearn kernel log_density"
PYTENSOR = "PyTensor logp_dlogp_function"
FULL_RAW = "pm.sample (raw PyMC)"
FULL_SUBJECT = 'bayes_sklearn default ("auto")'
SINGLE_THREAD_BLAS = {"OPENBLAS_NUM_THREADS": "1"}
FULL_NUTS = {"n": 100_000, "p": P, "draws": 1000, "tune": 1000, "chains": 4}
GRAM = "floor: numpy X_z.T @ X_z (one BLAS pass)"
COLUMN_SUMS = "numpy X_z.sum(axis=0) (one pass)"
PACK = "bayes_sklearn pack_model (sufficient statistics)"
PREPARE = "bayes_sklearn fit preparation (spec + standardise + pack_model)"
#: pack_model, which makes several passes over X (X'X, X'y, residuals, sums),
#: within this factor of one BLAS X'X: the same 3x the logistic kernel gets.
PASS_TARGET = 3.0


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"n": 20_000, "p": P, "n_small": 10_000, "n_large": 100_000}
    return {"n": 100_000, "p": P, "n_small": 10_000, "n_large": 1_000_000}


def _calibrate(function: Callable[[], Any], min_time: float) -> int:
    number, total = timeit.Timer(function).autorange()
    return max(1, round(number * min_time / max(total, 1e-9)))


def per_call_seconds(functions: dict[str, Callable[[], Any]], batches: int,
                     min_time: float) -> dict[str, float]:
    """Median seconds per call of each function; batches interleave the functions."""
    numbers = {name: _calibrate(function, min_time) for name, function in functions.items()}
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(batches):
        for name, function in functions.items():
            number = numbers[name]
            samples[name].append(timeit.Timer(function).timeit(number) / number)
    return {name: statistics.median(values) for name, values in samples.items()}


def _kernel_inputs(family: str, X, y):
    import numpy as np

    from bayes_sklearn.model.spec import resolve_model_spec

    try:  # pack_model moved from fast_nuts to packing
        from bayes_sklearn.inference.packing import pack_model
    except ImportError:
        from bayes_sklearn.inference.fast_nuts import pack_model

    spec = resolve_model_spec(family=family, coef_names=[f"x{j}" for j in range(X.shape[1])],
                              X=X, y=y)
    X_z = np.ascontiguousarray(spec.standardizer.transform(X))
    start = time.perf_counter()
    packed = pack_model(spec, X_z, y)
    return spec, X_z, packed, time.perf_counter() - start


def _pytensor_function(spec, X_z, y):
    """PyTensor's compiled logp and gradient of the same model, on raveled inputs.

    Also returns the linear map to it from the kernel's parameters: the
    reference model (original scale) has ``coef = coef_z / sd(x)``; releases
    before it had the standardised ``build_pymc_model`` (``sd = 1``).
    """
    import numpy as np

    try:
        from bayes_sklearn.model.pymc_model import build_reference_model
    except ImportError:  # releases before the reference model
        from bayes_sklearn.inference._pymc_model import build_pymc_model

        model, sd = build_pymc_model(spec, X_z, y), np.ones(X_z.shape[1])
    else:
        X = X_z * spec.standardizer.scale + spec.standardizer.center
        y_fit = y if spec.family == "gaussian" else y.astype("int64")
        model, sd = build_reference_model(spec, X, y_fit), spec.standardizer.scale
    function = model.logp_dlogp_function(ravel_inputs=True)
    function.set_extra_values({})
    names = [variable.name for variable in model.continuous_value_vars]
    return function, names, sd


def _gradient_difference(log_density, packed, pytensor, names, seed: int) -> float:
    """Largest |kernel gradient - PyTensor gradient| at a random point (through the map)."""
    import numpy as np

    function, sd = pytensor
    theta = packed.initial_point + np.random.default_rng(seed).normal(0, 0.1, packed.n_dim)
    intercept, coef = ("intercept_z", "coef_z") if "coef_z" in names else ("intercept_c", "coef")
    parts = {intercept: theta[:1], coef: theta[1:] / sd}
    _, pytensor_grad = function(np.concatenate([parts[name] for name in names]))
    cuts = np.cumsum([parts[name].size for name in names])[:-1]
    pytensor_parts = dict(zip(names, np.split(pytensor_grad, cuts), strict=True))
    _, kernel_grad = log_density(packed.header, theta)
    # d/dcoef_z = d/dcoef / sd
    reordered = np.concatenate([pytensor_parts[intercept], pytensor_parts[coef] / sd])
    return float(np.max(np.abs(kernel_grad - reordered)))


def logistic_gradients(seed: int, n: int, p: int, batches: int, min_time: float) -> dict:
    """Per-call times of numpy's two matvecs, the kernel and PyTensor (one process)."""
    import numpy as np

    from bayes_sklearn.inference._kernel import log_density

    X, y = logistic_data(n, p)
    spec, X_z, packed, _ = _kernel_inputs("bernoulli", X, y)
    theta = packed.initial_point
    start = time.perf_counter()
    log_density(packed.header, theta)
    first_call = time.perf_counter() - start
    pytensor, names, sd = _pytensor_function(spec, X_z, y)
    x0 = np.zeros(packed.n_dim)
    rng = np.random.default_rng(seed)
    beta, r = rng.standard_normal(p), rng.standard_normal(n)
    times = per_call_seconds({
        NUMPY: lambda: (X_z @ beta, X_z.T @ r),
        KERNEL: lambda: log_density(packed.header, theta),
        PYTENSOR: lambda: pytensor(x0),
    }, batches, min_time)
    times.update(_single_thread_matvecs(X_z, beta, r, batches, min_time))
    difference = _gradient_difference(log_density, packed, (pytensor, sd), names, seed)
    return {"times_s": times, "kernel_first_call_s": first_call, "grad_max_abs_diff": difference}


def _single_thread_matvecs(X_z, beta, r, batches: int, min_time: float) -> dict[str, float]:
    """The matvecs again with BLAS limited to one thread, as the kernel runs (if possible)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return {}
    with threadpool_limits(limits=1, user_api="blas"):
        return per_call_seconds({NUMPY_ONE_THREAD: lambda: (X_z @ beta, X_z.T @ r)},
                                batches, min_time)


def _gaussian_preparation(X, y):
    """What a gaussian fit computes from X before sampling: spec, standardised X, statistics."""
    return _kernel_inputs("gaussian", X, y)[2]


def gaussian_gradients(seed: int, n_small: int, n_large: int, p: int, batches: int,
                       min_time: float) -> dict:
    """Per-call kernel times with sufficient statistics at two sizes, and the O(n) pass.

    At each size, in one process and interleaved: the floor of the pass (one
    BLAS ``X_z.T @ X_z`` on the same standardised array, and one
    ``X_z.sum(axis=0)``), ``pack_model`` (the pass that builds the sufficient
    statistics), the whole preparation a fit pays (``resolve_model_spec`` +
    standardising + ``pack_model``), then the gradient.
    """
    from bayes_sklearn.inference._kernel import log_density

    try:
        from bayes_sklearn.inference.packing import pack_model
    except ImportError:
        from bayes_sklearn.inference.fast_nuts import pack_model

    out: dict[str, Any] = {"times_s": {}, "pack_s": {}, "pass_s": {}}
    for label, n in (("small", n_small), ("large", n_large)):
        X, y = gaussian_data(n, p)
        spec, X_z, packed, pack_s = _kernel_inputs("gaussian", X, y)
        header, theta = packed.header, packed.initial_point
        out["pass_s"][label] = per_call_seconds({
            GRAM: lambda A=X_z: A.T @ A,
            COLUMN_SUMS: lambda A=X_z: A.sum(axis=0),
            PACK: lambda A=X_z, b=y, s=spec: pack_model(s, A, b),
            PREPARE: lambda A=X, b=y: _gaussian_preparation(A, b),
        }, batches, min_time)
        del X, y, X_z
        times = per_call_seconds({label: lambda h=header, t=theta: log_density(h, t)},
                                 batches, min_time)
        out["times_s"][label] = times[label]
        out["pack_s"][label] = pack_s
    return out


def gradients(seed: int, n: int, p: int, n_small: int, n_large: int, batches: int,
              min_time: float) -> dict[str, Any]:
    """Task: every gradient timing of one run."""
    return {"logistic": logistic_gradients(seed, n, p, batches, min_time),
            "gaussian": gaussian_gradients(seed, n_small, n_large, p, batches, min_time)}


# -- opt-in full NUTS fit -----------------------------------------------------------


def full_nuts_raw(seed: int, n: int, p: int, draws: int, tune: int, chains: int) -> dict:
    """Raw PyMC: model building + ``pm.sample`` on the n-row logistic data."""
    imports = {"pymc": timed_import("pymc"), "arviz": timed_import("arviz")}
    import pymc as pm

    X, y = logistic_data(n, p)
    start = time.perf_counter()
    with raw_logistic_model(X, y):
        idata = pm.sample(draws, tune=tune, chains=chains, random_seed=seed, progressbar=False)
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, {"min_ess_bulk": min_ess_bulk(idata),
                                     "divergences": divergences(idata)})


def full_nuts_bayes(seed: int, n: int, p: int, draws: int, tune: int, chains: int) -> dict:
    """bayes_sklearn default: ``BayesianLogisticRegression().fit`` on the n-row data."""
    imports = {"bayes_sklearn": timed_import("bayes_sklearn")}
    from bayes_sklearn import BayesianLogisticRegression

    X, y = logistic_data(n, p)
    model = BayesianLogisticRegression(draws=draws, tune=tune, chains=chains,
                                       random_state=seed, progressbar=False)
    start = time.perf_counter()
    model.fit(X, y)
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, {"min_ess_bulk": model.convergence_.min_ess_bulk,
                                     "divergences": model.convergence_.n_divergences})


# -- the workload -----------------------------------------------------------------


def _gradient_runs(config: Config, params: dict[str, int]) -> tuple[list[dict], str | None]:
    batches = 3 if config.quick else 7
    try:
        if config.warmup:
            run_task(NAME, "gradients", {**params, "seed": 0, "batches": 1, "min_time": 0.01},
                     timeout=config.timeout_s)
            log(f"  [{NAME}] warm-up done")
        runs = []
        for repeat in range(config.repeats):
            runs.append(run_task(NAME, "gradients", {**params, "seed": repeat + 1,
                                                     "batches": batches,
                                                     "min_time": MIN_BATCH_S},
                                 timeout=config.timeout_s))
            log(f"  [{NAME}] run {repeat + 1}/{config.repeats} done")
        return runs, None
    except TaskError as error:
        log(f"  [{NAME}] FAILED: {error}")
        return [], str(error).splitlines()[0]


def _logistic_section(runs: list[dict], params: dict[str, int], error: str | None) -> Section:
    def peer(name: str, **metrics: str):
        records = [record(r["logistic"]["times_s"][name], {},
                          {key: r["logistic"][source] for key, source in metrics.items()})
                   for r in runs if name in r["logistic"]["times_s"]]
        return peer_from_runs(name, records, error)

    return Section(
        title=f"logistic, n={params['n']:,}, p={params['p']}: time per gradient evaluation",
        peers=[peer(NUMPY),
               peer(NUMPY_ONE_THREAD),
               peer(KERNEL, grad_max_abs_diff="grad_max_abs_diff",
                    first_call_s="kernel_first_call_s"),
               peer(PYTENSOR)],
        baseline=NUMPY,
        columns=[Column("grad_max_abs_diff", "max |grad - PyTensor|", ".2g"),
                 Column("first_call_s", "1st call (s)", ".3g")],
        time_header="median (us)",
        time_scale=1e6,
    )


def _gaussian_section(runs: list[dict], params: dict[str, int], error: str | None) -> Section:
    def peer(label: str, n: int):
        records = [record(r["gaussian"]["times_s"][label], {},
                          {"pack_s": r["gaussian"]["pack_s"][label]}) for r in runs]
        return peer_from_runs(f"{KERNEL}, n={n:,}", records, error)

    return Section(
        title=f"gaussian with sufficient statistics, p={params['p']}: time per gradient",
        peers=[peer("small", params["n_small"]), peer("large", params["n_large"])],
        baseline=f"{KERNEL}, n={params['n_small']:,}",
        columns=[Column("pack_s", "1st pack_model (s)", ".3g")],
        time_header="median (us)",
        time_scale=1e6,
    )


def _pass_section(runs: list[dict], params: dict[str, int], label: str,
                  error: str | None) -> Section:
    def peer(name: str):
        records = [record(r["gaussian"]["pass_s"][label][name]) for r in runs
                   if name in r["gaussian"].get("pass_s", {}).get(label, {})]
        return peer_from_runs(name, records, error)

    n = params[f"n_{label}"]
    return Section(
        title=f"gaussian, n={n:,}, p={params['p']}: the O(n) pass a fit pays once, "
              "against one pass over X",
        peers=[peer(GRAM), peer(COLUMN_SUMS), peer(PACK), peer(PREPARE)],
        baseline=GRAM,
        time_header="median (ms)",
        time_scale=1e3,
    )


def _faster_matvecs(runs_a: list[float], runs_b: list[float]) -> list[float]:
    return [min(a, b) for a, b in zip(runs_a, runs_b, strict=False)]


def _over_faster_matvecs(section: Section, name: str) -> float | None:
    """Median time of ``name`` over the median of the faster matvec row, run by run.

    On a loaded machine multithreaded BLAS can be many times slower than one
    thread (its threads wait on busy cores); the floor is the faster of the two.
    """
    floors = _faster_matvecs(section.peer(NUMPY).times, section.peer(NUMPY_ONE_THREAD).times)
    mine = section.peer(name).median_s
    if not floors or mine is None:
        return None
    return mine / statistics.median(floors)


def _over_faster_matvecs_per_run(section: Section, name: str) -> list[float]:
    floors = _faster_matvecs(section.peer(NUMPY).times, section.peer(NUMPY_ONE_THREAD).times)
    return [m / f for m, f in zip(section.peer(name).times, floors, strict=False) if f > 0]


def _full_nuts_section(config: Config, notes: list[str]) -> Section:
    full, warmup = FULL_NUTS, {"draws": 20, "tune": 20}
    specs = [PeerSpec(FULL_RAW, NAME, "full_nuts_raw", full, warmup, SINGLE_THREAD_BLAS),
             PeerSpec(FULL_SUBJECT, NAME, "full_nuts_bayes", full, warmup, SINGLE_THREAD_BLAS)]
    return Section(
        title=f"opt-in: full NUTS fit, logistic n={full['n']:,}, p={full['p']}, "
              f"{full['chains']} chains x {full['tune']} tune + {full['draws']} draws, "
              "OPENBLAS_NUM_THREADS=1",
        peers=measure_peers(config, specs, notes),
        baseline=FULL_RAW,
        columns=[Column("min_ess_bulk", "min bulk ESS", ".0f"),
                 Column("divergences", "divergences", ".0f")],
    )


def run(config: Config) -> WorkloadResult:
    params = sizes(config.quick)
    notes: list[str] = []
    runs, error = _gradient_runs(config, params)
    if error:
        notes.append(f"gradient task: ERROR {error}")
    logistic = _logistic_section(runs, params, error)
    gaussian = _gaussian_section(runs, params, error)
    passes = {label: _pass_section(runs, params, label, error) for label in ("small", "large")}
    sections = [logistic, gaussian, passes["small"], passes["large"]]
    if config.with_full_nuts and not config.quick:
        sections.append(_full_nuts_section(config, notes))
    elif config.with_full_nuts:
        notes.append("--with-full-nuts ignored in quick mode")
    targets = [
        Target.check("kernel time per gradient / the faster of the two matvec rows",
                     _over_faster_matvecs(logistic, KERNEL), "<=", 3.0, config.quick,
                     _over_faster_matvecs_per_run(logistic, KERNEL)),
        Target.check(f"gaussian kernel time per gradient, n={params['n_large']:,} / "
                     f"n={params['n_small']:,}", gaussian.ratio(gaussian.peers[1].name),
                     "<=", 1.5, config.quick,
                     gaussian.ratios_per_run(gaussian.peers[1].name)),
        Target.check(f"gaussian pack_model / one BLAS X_z.T @ X_z, n={params['n_large']:,}",
                     passes["large"].ratio(PACK), "<=", PASS_TARGET, config.quick,
                     passes["large"].ratios_per_run(PACK)),
        peers_ran_target(sections, config.quick),
    ]
    return WorkloadResult(NAME, summary_line(__doc__), params, sections, targets, notes,
                          config.quick)
