"""radon_correlated: correlated group term (1 + floor | county) on radon, against PyMC on the same model.

What it measures
----------------
``HierarchicalRegression(formula="floor + (1 + floor | county)")`` fitted on
``load_radon()[["floor", "county"]]`` -> ``log_radon`` (919 rows, 85
counties; intercept and floor slope vary by county, correlated, LKJ(1) prior
on their correlation, default priors). This fit runs on the PyMC engine
(``engine_ == "pymc"``): the reference model compiled with PyTensor's numba
backend (disk-cached) and sampled with nutpie's core.

The peers sample **the same model**: ``model.to_pymc(X, y)`` (the very
``pm.Model`` the engine compiles: same likelihood, priors and
parameterisation) with plain ``pm.sample`` (the baseline) and with nutpie
(``nutpie.compile_pymc_model`` + ``nutpie.sample``). For context, a
hand-written model in the way of PyMC's radon example, ``pm.LKJCholeskyCov(n=2,
eta=1, sd_dist=HalfNormal)`` with ``chol @ z`` non-centred effects and the
same priors as the estimator's defaults (read off the reference model), also
with ``pm.sample``. All use 4 chains x 1000 tune + 1000 draws (quick: 2 x
100 + 100) and ``target_accept=0.95``, the estimator's default for
hierarchical models.

Reported per run: time; divergences; ArviZ bulk ESS of every population
parameter (``intercept``, ``coef``, ``sigma``, ``1|county_sigma``,
``floor|county_sigma`` and the off-diagonal of ``county_corr``; for the
hand-written model the same quantities under its names), their minimum,
seconds per effective sample and effective samples per second; the mean tree
depth and mean number of leapfrog steps per draw (``tree_depth`` / ``depth``
and ``n_steps`` of the sample stats, post warm-up).

bayes_sklearn runs **two fits in one process**: the first (as a user's fresh
process pays it: the lazy ``import pymc``, building the model, loading the
compiled structure from the disk caches, sampling) and a second one on the
same data with another seed (the structure is cached in the process: only
sampling and bookkeeping). Both are broken down, by wrapping (not changing)
the package's functions from the task, into building the ``pm.Model``
(``build_reference_model``), compiling (``compile_model``), sampling
(``run_nuts``) and the rest (imports, the formula's design, summaries). The
same process then times one evaluation of the compiled log density and
gradient (the C function nutpie calls, through ctypes) and PyTensor's C
``logp_dlogp_function`` on the same model, and counts every leapfrog step
of the fit (warm-up included, from nutpie's trace), so that the sampling
time can be set against gradient evaluations x time per gradient / cores.

A separate single run fits once with **empty disk caches** (PyTensor's
``compiledir`` and ``NUMBA_CACHE_DIR`` pointed at a new directory): what the
very first fit of this structure on a machine costs.

How
---
Fresh processes per fit, one un-timed warm-up per peer (20 draws) to fill
the disk caches, round-robin repeats (seeds 1, 2, ...), medians, as the
other NUTS workloads. Imports timed separately for the PyMC peers (not in
their times); bayes_sklearn's first fit includes its lazy ``import pymc``.

Targets (issue 15)
------------------
bayes_sklearn's fit (first fit in a fresh process, disk caches warm) at most
1/4 of ``pm.sample``'s time on the same model; the same for the second (warm)
fit; 0 divergences and bulk ESS >= 400 for every population parameter (both
fits). Every named peer must run.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from benchmarks._data import divergences, radon_frame
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
    require,
    run_task,
    summary_line,
    timed_import,
)
from benchmarks.fit_logistic import S_PER_ESS, WARMUP, sampler_settings

NAME = "radon_correlated"
FORMULA = "floor + (1 + floor | county)"
TARGET_ACCEPT = 0.95
RAW = "pm.sample on model.to_pymc(X, y)"
NUTPIE = "nutpie on model.to_pymc(X, y)"
LKJ = "pm.sample, hand-written LKJCholeskyCov model"
SUBJECT = "bayes_sklearn fit (first in a fresh process)"
WARM = "bayes_sklearn second fit (same process, cached structure)"
COLD = "bayes_sklearn first fit, empty disk caches (one run)"
#: Population parameters of the reference model; ``county_corr`` is 2 x 2, its
#: off-diagonal entry is the parameter (the diagonal is 1).
POPULATION = ["intercept", "coef", "sigma", "1|county_sigma", "floor|county_sigma",
              "county_corr"]
ESS_PER_S = "ess_per_s"


def _xy():
    frame = radon_frame()
    return frame[["floor", "county"]], frame["log_radon"]


def _estimator(**params):
    from bayes_sklearn import HierarchicalRegression

    return HierarchicalRegression(formula=FORMULA, progressbar=False, **params)


def population_ess(posterior, names: dict[str, str] | None = None) -> dict[str, float]:
    """Bulk ESS of each population parameter (min over a vector's entries).

    ``names`` maps :data:`POPULATION` names to the posterior's own (hand-written
    model). Correlation matrices contribute their strictly lower triangle.
    """
    import arviz as az
    import numpy as np

    names = names or {}
    out = {}
    for name in POPULATION:
        values = np.asarray(posterior[names.get(name, name)], dtype=float)
        flat = values.reshape(*values.shape[:2], -1)
        if name == "county_corr":
            k = values.shape[-1]
            rows, cols = np.tril_indices(k, -1)
            flat = values[..., rows, cols]
        out[name] = float(min(az.ess(np.ascontiguousarray(flat[..., j]), method="bulk")
                              for j in range(flat.shape[-1])))
    return out


def mcmc_metrics(elapsed: float, idata, depth_name: str = "tree_depth",
                 names: dict[str, str] | None = None) -> dict[str, float]:
    """Divergences, per-parameter and min bulk ESS, s/ESS, ESS/s, mean depth and steps."""
    import numpy as np

    ess = population_ess(idata.posterior, names)
    low = min(ess.values())
    stats = idata.sample_stats
    metrics = {"divergences": divergences(idata), "min_ess_bulk_population": low,
               S_PER_ESS: elapsed / low if low > 0 else None,
               ESS_PER_S: low / elapsed if elapsed > 0 else None,
               **{f"ess[{name}]": value for name, value in ess.items()}}
    if depth_name in stats:
        metrics["mean_tree_depth"] = float(np.mean(stats[depth_name]))
    if "n_steps" in stats:
        metrics["mean_n_steps"] = float(np.mean(stats["n_steps"]))
    return metrics


# -- tasks (run in a fresh process by benchmarks._worker) -----------------------


def raw_pymc(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """``model.to_pymc(X, y)`` + ``pm.sample`` (model building included)."""
    imports = {"pymc": timed_import("pymc"), "arviz": timed_import("arviz"),
               "bayes_sklearn": timed_import("bayes_sklearn")}
    import pymc as pm

    X, y = _xy()
    start = time.perf_counter()
    model = _estimator().to_pymc(X, y)
    with model:
        idata = pm.sample(draws, tune=tune, chains=chains, target_accept=TARGET_ACCEPT,
                          random_seed=seed, progressbar=False)
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, mcmc_metrics(elapsed, idata))


def nutpie_pymc(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """``model.to_pymc(X, y)`` + ``nutpie.compile_pymc_model`` + ``nutpie.sample``."""
    require("nutpie")
    imports = {"pymc": timed_import("pymc"), "nutpie": timed_import("nutpie"),
               "bayes_sklearn": timed_import("bayes_sklearn")}
    import nutpie

    X, y = _xy()
    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(_estimator().to_pymc(X, y))
    compiled_s = time.perf_counter() - start
    idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed,
                          target_accept=TARGET_ACCEPT, progress_bar=False)
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, {**mcmc_metrics(elapsed, idata, "depth"),
                                     "compile_s": compiled_s})


def lkj_model(frame, priors: dict[str, Any]):
    """PyMC's radon-example way: ``LKJCholeskyCov`` and ``chol @ z``, the estimator's priors.

    ``priors`` are the reference model's prior parameters (its ``pm.Data``):
    the intercept is stated at the mean of floor as there, everything else is
    PyMC's own parameterisation of the same model.
    """
    import numpy as np
    import pymc as pm
    import pytensor.tensor as pt

    y = frame["log_radon"].to_numpy(dtype=float)
    floor = frame["floor"].to_numpy(dtype=float)
    counties, county = np.unique(frame["county"].to_numpy(), return_inverse=True)
    with pm.Model(coords={"county": counties, "effect": ["1", "floor"]}) as model:
        coef = pm.Normal("coef", priors["coef_mu"], priors["coef_sigma"])
        intercept_c = pm.Normal("intercept_c", priors["intercept_c_mu"],
                                priors["intercept_c_sigma"])
        intercept = pm.Deterministic("intercept", intercept_c - coef * priors["x_mean"])
        chol, corr, stds = pm.LKJCholeskyCov(
            "chol", n=2, eta=1.0,
            sd_dist=pm.HalfNormal.dist(sigma=priors["county_sigma_sigma"], shape=2),
            compute_corr=True)
        pm.Deterministic("county_corr", corr)
        pm.Deterministic("county_sd", stds, dims="effect")
        z = pm.Normal("z", 0.0, 1.0, dims=("effect", "county"))
        effects = pt.dot(chol, z).T  # (county, effect)
        sigma = pm.Exponential("sigma", scale=priors["sigma_scale"])
        mu = intercept + effects[county, 0] + (coef + effects[county, 1]) * floor
        pm.Normal("y", mu=mu, sigma=sigma, observed=y)
    return model


def _reference_priors() -> dict[str, float]:
    import numpy as np

    X, y = _xy()
    model = _estimator().to_pymc(X, y)
    wanted = ["coef_mu", "coef_sigma", "intercept_c_mu", "intercept_c_sigma", "x_mean",
              "county_sigma_sigma", "sigma_scale"]
    values = {v.name: np.asarray(v.get_value(), dtype=float) for v in model.data_vars}
    out = {name: values[name] for name in wanted}
    return {name: (value if name == "county_sigma_sigma" else float(value.ravel()[0]))
            for name, value in out.items()}


def lkj_pymc(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """Model building + ``pm.sample`` of :func:`lkj_model` (priors read before timing)."""
    imports = {"pymc": timed_import("pymc"), "arviz": timed_import("arviz")}
    import pymc as pm

    priors = _reference_priors()
    frame = radon_frame()
    start = time.perf_counter()
    with lkj_model(frame, priors):
        idata = pm.sample(draws, tune=tune, chains=chains, target_accept=TARGET_ACCEPT,
                          random_seed=seed, progressbar=False)
    elapsed = time.perf_counter() - start
    post = idata.posterior
    post["1|county_sigma"] = post["county_sd"].isel(effect=0)
    post["floor|county_sigma"] = post["county_sd"].isel(effect=1)
    return record(elapsed, imports, mcmc_metrics(elapsed, idata))


class _Stopwatch:
    """Wraps module attributes to add up the seconds spent in them, by label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.leapfrog_steps = 0

    def wrap(self, module, attribute: str, label: str) -> None:
        original = getattr(module, attribute)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start

        setattr(module, attribute, timed)

    def count_steps(self, nutpie_run) -> None:
        """Count all leapfrog steps (warm-up included) from nutpie's trace."""
        original = nutpie_run._trace_to_arrays

        def counted(draw_batches, stat_batches, n_dim):
            import pyarrow as pa

            for batch in stat_batches:
                steps = pa.record_batch(batch).column("n_steps").to_numpy(zero_copy_only=False)
                self.leapfrog_steps += int(steps.sum())
            return original(draw_batches, stat_batches, n_dim)

        nutpie_run._trace_to_arrays = counted

    def take(self) -> tuple[dict[str, float], int]:
        seconds, steps = self.seconds, self.leapfrog_steps
        self.seconds, self.leapfrog_steps = {}, 0
        return seconds, steps


def _instrument() -> _Stopwatch:
    from bayes_sklearn.inference import compiled_model, nutpie_run
    from bayes_sklearn.model import pymc_model

    watch = _Stopwatch()
    # pymc_engine imports these by name at call time, so the wrappers are seen
    watch.wrap(pymc_model, "build_reference_model", "build")
    watch.wrap(compiled_model, "compile_model", "compile")
    watch.wrap(nutpie_run, "run_nuts", "sample")
    watch.count_steps(nutpie_run)
    return watch


def _timed_fit(watch: _Stopwatch, X, y, seed: int, mcmc: dict[str, int], prefix: str
               ) -> tuple[float, dict[str, float], Any]:
    model = _estimator(random_state=seed, **mcmc)
    start = time.perf_counter()
    model.fit(X, y)
    elapsed = time.perf_counter() - start
    seconds, steps = watch.take()
    parts = {f"{prefix}{label}_s": seconds.get(label, 0.0)
             for label in ("build", "compile", "sample")}
    parts[f"{prefix}other_s"] = elapsed - sum(parts.values())
    parts[f"{prefix}leapfrog_steps"] = steps
    return elapsed, parts, model


def _gradient_times(model, X, y) -> dict[str, float]:
    """Seconds per log density + gradient of the engine the fit ran (the kernel's
    ``log_density``, or the PyMC engine's compiled C function), and of PyTensor's C
    backend on ``to_pymc``'s model. The two parameterisations differ (the kernel's
    is standardised), so values are compared only on the PyMC engine."""
    import ctypes
    import timeit

    import numpy as np

    from benchmarks._data import kernel_point
    from bayes_sklearn.inference import _kernel, pymc_engine
    from bayes_sklearn.inference.compiled_model import start_point

    out: dict[str, float] = {}
    reference = model.to_pymc(X, y)
    pytensor_fn = reference.logp_dlogp_function(ravel_inputs=True)
    pytensor_fn.set_extra_values({})
    if model.engine_ == "kernel":
        packed, theta_k, _ = kernel_point(model, X, y, 1)
        _kernel.log_density(packed.header, theta_k)

        def ours():
            return _kernel.log_density(packed.header, theta_k)

        theta = np.concatenate([np.ravel(v) for v in reference.initial_point().values()])
    else:
        entry = next(reversed(pymc_engine._cache.values()))
        density = entry.compiled.density(pymc_engine._data_values(entry.model),
                                         start_point(entry.compiled))
        function = entry.compiled.logp.ctypes
        theta = density.initial_point(1)
        grad, logp = np.empty(density.n_dim), np.empty(())

        def pointer(a):
            return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))

        args = (density.n_dim, pointer(theta), pointer(grad), pointer(logp),
                ctypes.c_void_p(density.user_data))
        if function(*args) != 0:
            raise RuntimeError("the compiled log density failed at the test point")
        pytensor_logp, pytensor_grad = pytensor_fn(theta)
        out = {"logp_abs_diff": abs(float(pytensor_logp) - float(logp)),
               "grad_max_abs_diff": float(np.max(np.abs(pytensor_grad - grad)))}

        def ours():
            return function(*args)

    for label, call in (("grad_s", ours), ("pytensor_grad_s", lambda: pytensor_fn(theta))):
        number, total = timeit.Timer(call).autorange()
        out[label] = min(timeit.Timer(call).repeat(5, number)) / number
    return out


def bayes_sklearn_fit(seed: int, draws: int, tune: int, chains: int,
                      gradient: bool = True) -> dict[str, Any]:
    """Two fits in one process (first, then cached structure), broken down; gradient times."""
    imports = {"bayes_sklearn": timed_import("bayes_sklearn")}
    watch = _instrument()
    X, y = _xy()
    mcmc = {"draws": draws, "tune": tune, "chains": chains}
    first, first_parts, model = _timed_fit(watch, X, y, seed, mcmc, "first_")
    metrics = {**mcmc_metrics(first, model.idata_), **first_parts}
    warm, warm_parts, warm_model = _timed_fit(watch, X, y, seed + 1000, mcmc, "warm_")
    warm_metrics = mcmc_metrics(warm, warm_model.idata_)
    metrics.update(warm_parts)
    metrics.update({f"warm_{key}": value for key, value in warm_metrics.items()})
    metrics["warm_fit_s"] = warm
    if gradient:
        metrics.update(_gradient_times(model, X, y))
        parallel = max(1, min(chains, os.cpu_count() or 1))
        metrics["sampling_floor_s"] = (metrics["warm_leapfrog_steps"] * metrics["grad_s"]
                                       / parallel)
    return record(first, imports, metrics, {"engine": model.engine_,
                                            "method": model.inference_method_})


def bayes_sklearn_cold(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """One fit with empty PyTensor and numba disk caches (set before any import)."""
    scratch = tempfile.mkdtemp(prefix="bayes-sklearn-cold-")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(scratch, "numba")
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    os.environ["PYTENSOR_FLAGS"] = ",".join(
        [f for f in flags.split(",") if f] + [f"compiledir={os.path.join(scratch, 'pytensor')}"])
    imports = {"bayes_sklearn": timed_import("bayes_sklearn")}
    watch = _instrument()
    X, y = _xy()
    mcmc = {"draws": draws, "tune": tune, "chains": chains}
    elapsed, parts, model = _timed_fit(watch, X, y, seed, mcmc, "first_")
    return record(elapsed, imports, {**mcmc_metrics(elapsed, model.idata_), **parts},
                  {"scratch": scratch})


# -- the workload -----------------------------------------------------------------


def _derived(name: str, subject, prefix: str, time_key: str | None = None):
    """A peer from the subject's runs: the metrics under ``prefix`` without it and,
    with ``time_key``, that metric as the time (the second fit of each process)."""
    runs = []
    for run in subject.runs:
        m = run["metrics"]
        metrics = {key[len(prefix):]: value for key, value in m.items()
                   if key.startswith(prefix)}
        runs.append(record(m[time_key] if time_key else run["time_s"], {}, metrics))
    return peer_from_runs(name, runs, subject.error)


def _cold_peer(config: Config, mcmc: dict[str, int], notes: list[str]):
    if config.quick:
        notes.append("empty-cache fit skipped in quick mode")
        return None
    try:
        payload = run_task(NAME, "bayes_sklearn_cold", {**mcmc, "seed": 1},
                           timeout=config.timeout_s)
    except TaskError as error:
        log(f"  [{NAME}] {COLD}: FAILED: {error}")
        notes.append(f"{COLD}: ERROR {str(error).splitlines()[0]}")
        return peer_from_runs(COLD, [], str(error).splitlines()[0])
    log(f"  [{NAME}] {COLD}: timed {payload['time_s']:.3g} s")
    m = payload["metrics"]
    metrics = {key[len("first_"):] if key.startswith("first_") else key: value
               for key, value in m.items()}
    return peer_from_runs(COLD, [record(payload["time_s"], payload["imports_s"], metrics)])


def run(config: Config) -> WorkloadResult:
    mcmc = sampler_settings(config.quick)

    def spec(name: str, function: str, **extra: Any) -> PeerSpec:
        return PeerSpec(name, NAME, function, {**mcmc, **extra}, WARMUP)

    specs = [
        spec(RAW, "raw_pymc"),
        spec(NUTPIE, "nutpie_pymc"),
        spec(LKJ, "lkj_pymc"),
        PeerSpec(SUBJECT, NAME, "bayes_sklearn_fit", dict(mcmc),
                 {**WARMUP, "gradient": False}),
    ]
    notes: list[str] = []
    peers = measure_peers(config, specs, notes)
    subject = next(p for p in peers if p.name == SUBJECT)
    # the warm fit's own metrics are stored as warm_<key>: strip the prefix
    warm = _derived(WARM, subject, "warm_", "warm_fit_s")
    warm.runs = [{**r, "metrics": {k: v for k, v in r["metrics"].items() if k != "fit_s"}}
                 for r in warm.runs]
    peers.append(warm)
    common = [Column(S_PER_ESS, "s / ESS (population)", ".3g"),
              Column(ESS_PER_S, "ESS / s", ".3g"),
              Column("min_ess_bulk_population", "min bulk ESS (population)", ".0f"),
              Column("divergences", "divergences", ".0f"),
              Column("mean_tree_depth", "mean tree depth", ".2f"),
              Column("mean_n_steps", "mean leapfrog steps", ".1f")]
    title = (f"radon, 919 rows, 85 counties, {FORMULA} (correlated, LKJ(1)), "
             f"{mcmc['chains']} chains x {mcmc['tune']} tune + {mcmc['draws']} draws, "
             f"target_accept={TARGET_ACCEPT}")
    main = Section(title=title, peers=peers, baseline=RAW, columns=common,
                   ratio_metrics=(S_PER_ESS,))
    ess_section = Section(
        title="bulk ESS per population parameter (medians over runs)",
        peers=peers, baseline=None,
        columns=[Column(f"ess[{name}]", name, ".0f") for name in POPULATION])
    breakdown_peers = [_derived(SUBJECT, subject, "first_"), warm]
    cold = _cold_peer(config, mcmc, notes)
    if cold is not None:
        breakdown_peers.append(cold)
    breakdown = Section(
        title="where bayes_sklearn's fit time goes (s): building the pm.Model, compiling "
              "(or loading it from the disk caches), sampling (nutpie's run_nuts), other "
              "(lazy imports, the formula's design, summaries); leapfrog steps of the fit, "
              "warm-up included",
        peers=breakdown_peers, baseline=None, time_header="fit (s)",
        columns=[Column("build_s", "build", ".3g"),
                 Column("compile_s", "compile", ".3g"),
                 Column("sample_s", "sampling", ".3g"),
                 Column("other_s", "other", ".3g"),
                 Column("leapfrog_steps", "leapfrog steps", ".0f")])
    gradient = Section(
        title="one log density + gradient evaluation of the same model (the C function "
              "nutpie calls, PyTensor's C logp_dlogp_function), and the 2nd fit's gradient "
              "work: all its leapfrog steps x time per gradient / parallel chains",
        peers=[subject], baseline=None, time_header="fit (s)",
        columns=[Column("grad_s", "ours, the engine fit ran (s)", ".3g"),
                 Column("pytensor_grad_s", "PyTensor C backend (s)", ".3g"),
                 Column("grad_max_abs_diff", "max |grad diff|", ".2g"),
                 Column("sampling_floor_s", "steps x grad / cores, 2nd fit (s)", ".3g")])
    sections = [main, ess_section, breakdown, gradient]
    targets = []
    for name in (SUBJECT, WARM):
        peer = main.peer(name)
        divergent = [run["metrics"].get("divergences") for run in peer.runs]
        lowest = [run["metrics"].get("min_ess_bulk_population") for run in peer.runs]
        targets += [
            Target.check(f"{name} time / pm.sample time (same model)", main.ratio(name),
                         "<=", 0.25, config.quick, main.ratios_per_run(name)),
            Target.check(f"{name} divergences (largest over runs)",
                         max(divergent) if divergent and None not in divergent else None,
                         "<=", 0, config.quick),
            Target.check(f"{name} min bulk ESS of population parameters (smallest over runs)",
                         min(lowest) if lowest and None not in lowest else None,
                         ">=", 400, config.quick),
        ]
    targets.append(peers_ran_target([main], config.quick))
    mean_steps = {p.name: p.metric("mean_n_steps") for p in peers}
    notes.append("mean leapfrog steps per post-warm-up draw: " + ", ".join(
        f"{name} {value:.1f}" for name, value in mean_steps.items() if value is not None))
    return WorkloadResult(NAME, summary_line(__doc__),
                          {"rows": 919, "groups": 85, "formula": FORMULA,
                           "target_accept": TARGET_ACCEPT, **mcmc},
                          sections, targets, notes, config.quick)
