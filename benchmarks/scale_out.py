"""scale_out: fits and predictions on Dask data that never reach the client (issue 17).

What it measures
----------------
Rows generated lazily on the workers of a 2-worker ``LocalCluster`` (one
thread each, loopback TCP), in blocks of 250,000 rows x 20 features (seeded
by block), at n in {1e5, 1e6, 4e6, 1.6e7} (quick: {1e5, 4e5}):

- exact gaussian: one pass of merged statistics (timed alone, ``pass``), then
  ``BayesianLinearRegression(inference="exact").fit_statistics`` (``sampling``);
- NUTS gaussian: the same pass, then NUTS on the statistics (default settings);
- streaming logistic ADVI: ``BayesianLogisticRegression(inference="advi",
  batch_size=1000).fit(X, y)`` (a first pass, then minibatches streamed from
  the partitions); its first pass is also timed alone before the fit
  (``pass``), and ``sampling`` is the fit's time less that;
- ``predict_proba``: a model fitted on 100,000 in-memory rows (1 chain x 1000
  draws) predicts the lazy rows; the mean probability is reduced on the
  workers (``.mean().compute()``), so nothing of size n reaches the client;
- parquet: the rows written to parquet first (``to_parquet``, not timed),
  then the exact fit read from the files, I/O included (at 1e6 rows;
  quick: 1e5).

The workers import the package before the timed call, and one un-timed
run of each kind at the smallest size warms the disk caches. In each run a
first call of the same kind on 2,000 rows (one block) comes before the
timed one: a fresh cluster's first tasks of each function cost about half a
second once, which a long-lived cluster has paid already. It is recorded
apart (``first call``). Every size and kind runs ``--repeats`` times,
round-robin over the sizes (medians are reported). Each run records the pass time, sampling time, rows per second,
the peak memory of the workers (``distributed.diagnostics.MemorySampler``,
summed over both, as sampled during the call) and the client's peak RSS
(``getrusage``; it holds the scheduler as well). The in-memory baseline
generates the same rows in one process limited to 2 GiB of address space
(``RLIMIT_AS``) and fits them with ``fit(X, y)``: it grows with n and fails
where the rows do not fit, while the Dask path finishes. Where both run,
their exact posteriors are compared.

One machine shows no multi-node speed-up, and none is claimed.

Targets (issue 17)
------------------
- pass time linear in n: log-log slope within 0.9-1.1 (exact, NUTS and ADVI
  passes and ``predict_proba``, fitted over the sizes from 1e6 up);
- NUTS sampling time and the exact fit's peak worker memory flat in n: at
  most 1.5x between the smallest and the largest size;
- the in-memory baseline fails at the largest size while the Dask path
  finishes;
- identical posteriors where both run: exact moments within 1e-10 sds.
"""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks._harness import (
    Column,
    Config,
    PeerResult,
    Section,
    Target,
    TaskError,
    WorkloadResult,
    log,
    record,
    run_task,
    summary_line,
)

NAME = "scale_out"
BLOCK_ROWS = 250_000
N_FEATURES = 20
IN_MEMORY_LIMIT_GB = 2.0
KINDS = ("exact", "nuts", "advi", "predict_proba")


def sizes(quick: bool) -> list[int]:
    return [100_000, 400_000] if quick else [100_000, 1_000_000, 4_000_000, 16_000_000]


def _block(n_rows: int, index: int, p: int):
    """Rows of block ``index``: X, the gaussian target and the binary one."""
    import numpy as np

    rng = np.random.default_rng([17, index])
    X = rng.normal(size=(n_rows, p))
    beta = np.linspace(-1.0, 1.0, p)
    eta = 0.5 + X @ beta
    y = eta + rng.normal(size=n_rows)
    binary = (rng.uniform(size=n_rows) < 1 / (1 + np.exp(-eta))).astype(np.float64)
    return np.column_stack([X, y, binary])


def _row_counts(n: int) -> list[int]:
    full, rest = divmod(n, BLOCK_ROWS)
    return [BLOCK_ROWS] * full + ([rest] if rest else [])


def _lazy_rows(n: int, p: int):
    """A Dask array of ``[X | y | binary]`` generated on the workers, block by block."""
    import dask.array as da
    from dask import delayed

    blocks = [da.from_delayed(delayed(_block, pure=True)(rows, i, p), shape=(rows, p + 2),
                              dtype=float) for i, rows in enumerate(_row_counts(n))]
    return da.concatenate(blocks, axis=0)


def _cluster():
    import distributed

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       memory_limit="8GiB")
    return cluster, distributed.Client(cluster)


def _warm_worker() -> None:
    import bayes_sklearn.chunked.sources  # noqa: F401
    import bayes_sklearn.chunked.streaming  # noqa: F401


def _client_peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _moments(model) -> dict[str, list]:
    import numpy as np

    return {"mean": np.r_[model.intercept_, model.coef_].tolist(),
            "sd": np.sqrt(np.diag(model.coef_cov_)).tolist()}


#: Rows of the small un-timed call that warms a fresh cluster before the timed one.
FIRST_CALL_ROWS = 2_000


def _call(kind: str, rows, p: int, model) -> dict[str, Any]:
    """The timed operation of ``kind`` on the lazy ``rows``; its timings and results."""
    from bayes_sklearn import BayesianLinearRegression, BayesianLogisticRegression
    from bayes_sklearn.chunked.sources import gaussian_statistics, recognise

    X, y, binary = rows[:, :p], rows[:, p], rows[:, p + 1]
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    if kind in ("exact", "nuts"):
        statistics = gaussian_statistics(recognise(X, y))
        passed = time.perf_counter()
        model = BayesianLinearRegression(
            inference="exact" if kind == "exact" else "nuts", progressbar=False,
            random_state=0).fit_statistics(statistics)
        extra["pass_s"] = passed - start
        extra["sampling_s"] = time.perf_counter() - passed
        if kind == "exact":
            extra.update(_moments(model))
    elif kind == "advi":
        from bayes_sklearn.chunked.streaming import PartitionStream

        # the fit's own first pass, timed alone (the fit repeats it)
        PartitionStream(recognise(X, binary)).first_pass()
        passed = time.perf_counter()
        BayesianLogisticRegression(inference="advi", batch_size=1000,
                                   progressbar=False, random_state=0).fit(X, binary)
        extra["pass_s"] = passed - start
        extra["sampling_s"] = time.perf_counter() - passed - extra["pass_s"]
    else:
        extra["mean_probability"] = float(model.predict_proba(X)[:, 1].mean().compute())
    extra["time_s"] = time.perf_counter() - start
    return extra


def dask_fit(n: int, p: int, kind: str) -> dict[str, Any]:
    """One fit (or prediction) of ``kind`` on ``n`` lazily generated rows."""
    import warnings

    from distributed.diagnostics import MemorySampler

    from bayes_sklearn import BayesianLogisticRegression

    cluster, client = _cluster()
    with cluster, client:
        # the workers' first import of the package is not the pass's cost
        client.run(_warm_worker)
        sampler = MemorySampler()
        model = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "predict_proba":
                import numpy as np

                sample = np.concatenate([_block(50_000, 10_000 + i, p) for i in range(2)])
                model = BayesianLogisticRegression(chains=1, draws=1000, progressbar=False,
                                                   random_state=0)
                model.fit(sample[:, :p], sample[:, p + 1])
            # a fresh cluster's first call pays once for what a long-lived one
            # has done already (the workers' first tasks of each function):
            # timed apart on a small block, and not part of the timed call
            first_call = _call(kind, _lazy_rows(FIRST_CALL_ROWS, p), p, model)["time_s"]
            with sampler.sample("call", measure="process", interval=0.05):
                extra = _call(kind, _lazy_rows(n, p), p, model)
        worker_peak = float(sampler.to_pandas()["call"].max()) / 2**20
    elapsed = extra["time_s"]
    metrics = {"rows_per_s": n / elapsed, "worker_peak_mb": worker_peak,
               "client_peak_rss_mb": _client_peak_rss_mb(), "first_call_s": first_call,
               **{k: v for k, v in extra.items() if k in ("pass_s", "sampling_s",
                                                           "mean_probability")}}
    result = record(elapsed, {}, metrics)
    if "mean" in extra:
        result["moments"] = {"mean": extra["mean"], "sd": extra["sd"]}
    return result


def parquet_fit(n: int, p: int, directory: str) -> dict[str, Any]:
    """Write ``n`` rows to parquet (untimed), then the exact fit read from the files."""
    import warnings

    import dask.dataframe as dd

    from bayes_sklearn import BayesianLinearRegression

    cluster, client = _cluster()
    with cluster, client:
        client.run(_warm_worker)
        names = [f"x{i}" for i in range(p)] + ["y", "binary"]
        dd.from_dask_array(_lazy_rows(n, p), columns=names).to_parquet(directory)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = dd.read_parquet(directory, columns=names[:-1])
            BayesianLinearRegression(inference="exact", random_state=0).fit(
                frame[names[:p]], frame["y"])
        elapsed = time.perf_counter() - start
    return record(elapsed, {}, {"rows_per_s": n / elapsed,
                                "client_peak_rss_mb": _client_peak_rss_mb()})


def in_memory_fit(n: int, p: int, limit_gb: float) -> dict[str, Any]:
    """The same rows generated and fitted in one process of ``limit_gb`` address space."""
    import resource

    limit = int(limit_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        import numpy as np

        from bayes_sklearn import BayesianLinearRegression

        start = time.perf_counter()
        rows = np.concatenate([_block(r, i, p) for i, r in enumerate(_row_counts(n))])
        model = BayesianLinearRegression(inference="exact", random_state=0).fit(
            rows[:, :p], rows[:, p])
        elapsed = time.perf_counter() - start
    except MemoryError:
        return record(math.nan, {}, {"finished": 0.0, "client_peak_rss_mb":
                                     _client_peak_rss_mb()}, {"failed": "MemoryError"})
    result = record(elapsed, {}, {"finished": 1.0, "rows_per_s": n / elapsed,
                                  "client_peak_rss_mb": _client_peak_rss_mb()})
    result["moments"] = _moments(model)
    return result


def _slope(ns: list[int], times: list[float | None]) -> float | None:
    """Least-squares slope of log time on log n over the sizes from 1e6 up."""
    import numpy as np

    points = [(math.log(n), math.log(t)) for n, t in zip(ns, times)
              if t is not None and t > 0 and n >= 1_000_000]
    if len(points) < 2:
        return None
    x, y = np.array(points).T
    return float(np.polyfit(x, y, 1)[0])


def _run(name: str, function: str, params: dict, config: Config, notes: list[str]) -> dict:
    try:
        return run_task(NAME, function, params, timeout=config.timeout_s)
    except TaskError as failure:
        message = str(failure).splitlines()[0]
        notes.append(f"{name}: ERROR {message}")
        log(f"  [{NAME}] {name}: FAILED {message}")
        return {"error": message}


def run(config: Config) -> WorkloadResult:
    import tempfile

    ns = sizes(config.quick)
    notes: list[str] = []
    records: dict[str, dict[int, list[dict]]] = {kind: {n: [] for n in ns}
                                                 for kind in (*KINDS, "in_memory")}
    if config.warmup:
        # disk caches (the kernel's numba cache, compiled on a new checkout's
        # first NUTS fit) are not the first size's cost
        log(f"  [{NAME}] warm-up (not timed)")
        for kind in KINDS:
            _run(f"warm-up {kind}", "dask_fit", {"n": ns[0], "p": N_FEATURES, "kind": kind},
                 config, notes)
    # round-robin over the repeats, so drift of the machine's load spreads over all sizes
    for repeat in range(config.repeats):
        for n in ns:
            for kind in KINDS:
                log(f"  [{NAME}] {kind}, n={n:,}, run {repeat + 1}/{config.repeats}")
                records[kind][n].append(_run(f"{kind} n={n}", "dask_fit",
                                             {"n": n, "p": N_FEATURES, "kind": kind},
                                             config, notes))
            log(f"  [{NAME}] in memory under {IN_MEMORY_LIMIT_GB:g} GiB, n={n:,}")
            records["in_memory"][n].append(_run(
                f"in memory n={n}", "in_memory_fit",
                {"n": n, "p": N_FEATURES, "limit_gb": IN_MEMORY_LIMIT_GB}, config, notes))
    parquet_n = 100_000 if config.quick else 1_000_000
    with tempfile.TemporaryDirectory(dir=config.workdir) as directory:
        log(f"  [{NAME}] parquet, n={parquet_n:,}")
        parquet = [_run("parquet", "parquet_fit", {"n": parquet_n, "p": N_FEATURES,
                                                   "directory": directory + "/rows"},
                        config, notes)]

    def peer(label: str, runs: list[dict]) -> PeerResult:
        failed = [run["error"] for run in runs if "error" in run]
        if failed:
            return PeerResult(label, error=failed[0])
        # a run that failed inside its task (the baseline's MemoryError) is infinitely slow
        return PeerResult(label, runs=[{**run, "time_s": math.inf}
                                       if run.get("time_s") is not None
                                       and math.isnan(run["time_s"]) else run
                                       for run in runs])

    results = {kind: {n: peer(f"n={n:,}", records[kind][n]) for n in ns} for kind in records}
    columns = [Column("first_call_s", f"first call, {FIRST_CALL_ROWS:,} rows (s)"),
               Column("pass_s", "pass (s)"), Column("sampling_s", "sampling (s)"),
               Column("rows_per_s", "rows / s", ".3g"),
               Column("worker_peak_mb", "worker peak (MB)", ".0f"),
               Column("client_peak_rss_mb", "client peak RSS (MB)", ".0f")]
    sections = []
    for kind in KINDS:
        sections.append(Section(title=f"{kind} on Dask ({N_FEATURES} features, "
                                      f"{BLOCK_ROWS:,}-row blocks, 2 workers)",
                                peers=[results[kind][n] for n in ns],
                                baseline=None, columns=columns))
    sections.append(Section(title=f"in memory, exact fit, address space <= "
                                  f"{IN_MEMORY_LIMIT_GB:g} GiB (inf: failed)",
                            peers=[results["in_memory"][n] for n in ns],
                            baseline=None, columns=[Column("rows_per_s", "rows / s", ".3g"),
                                                    Column("client_peak_rss_mb",
                                                           "peak RSS (MB)", ".0f")]))
    sections.append(Section(title=f"parquet: exact fit read from files, I/O included, "
                                  f"n={parquet_n:,}", peers=[peer("read + fit", parquet)],
                            baseline=None, columns=[Column("rows_per_s", "rows / s", ".3g")]))

    def metric(kind: str, n: int, key: str) -> float | None:
        value = results[kind][n].metric(key)
        return None if value is None or not math.isfinite(value) else value

    def total(kind: str, n: int) -> float | None:
        value = results[kind][n].median_s
        return None if value is None or not math.isfinite(value) else value

    targets = []
    for kind, key in (("exact", "pass_s"), ("nuts", "pass_s"), ("advi", "pass_s"),
                      ("predict_proba", None)):
        times = [metric(kind, n, key) if key else total(kind, n) for n in ns]
        slope = _slope(ns, times)
        label = f"{kind} {'pass' if key else 'time'}: log-log slope in n (1e6 up)"
        targets.append(Target.check(label + " >= 0.9", slope, ">=", 0.9, config.quick))
        targets.append(Target.check(label + " <= 1.1", slope, "<=", 1.1, config.quick))

    def spread(values: list[float | None], expected: int = len(ns)) -> float | None:
        values = [v for v in values if v is not None and v > 0]
        return max(values) / min(values) if len(values) == expected else None

    targets.append(Target.check("NUTS sampling time, largest / smallest over the sizes",
                                spread([metric("nuts", n, "sampling_s") for n in ns]),
                                "<=", 1.5, config.quick))
    targets.append(Target.check("exact fit's peak worker memory, largest / smallest",
                                spread([metric("exact", n, "worker_peak_mb") for n in ns]),
                                "<=", 1.5, config.quick))
    full_blocks = spread([metric("exact", n, "worker_peak_mb") for n in ns[1:]], len(ns) - 1)
    if full_blocks is not None:
        notes.append(f"exact fit's peak worker memory, largest / smallest from n={ns[1]:,} "
                     f"(every worker busy with whole blocks): {full_blocks:.2f}")
    top = ns[-1]
    baseline_failed = metric("in_memory", top, "finished") == 0.0
    dask_finished = total("exact", top) is not None
    targets.append(Target.check(f"in-memory baseline failed at n={top:,} and Dask finished "
                                "(1 = yes)", float(baseline_failed and dask_finished), ">=",
                                1.0, config.quick))
    worst = None
    for n in ns:
        for ours, theirs in zip([run.get("moments") for run in records["exact"][n]],
                                [run.get("moments") for run in records["in_memory"][n]]):
            if not (ours and theirs):
                continue
            gap = max(abs(a - b) / s for a, b, s in zip(ours["mean"], theirs["mean"],
                                                        theirs["sd"]))
            worst = gap if worst is None else max(worst, gap)
    targets.append(Target.check("exact posterior mean, Dask against in memory (sds, worst "
                                "size where both ran)", worst, "<=", 1e-10, config.quick))
    params = {"sizes": ns, "features": N_FEATURES, "block_rows": BLOCK_ROWS,
              "in_memory_limit_gb": IN_MEMORY_LIMIT_GB, "parquet_rows": parquet_n}
    return WorkloadResult(NAME, summary_line(__doc__), params, sections, targets, notes,
                          config.quick)
