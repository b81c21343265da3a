"""Fresh-process tasks, their timings and the targets they are held to.

The parent process (``python -m benchmarks``) never imports the packages it
measures: every measurement is a *task*, a function of a workload module run
in a new interpreter by :mod:`benchmarks._worker`, which prints one JSON
record on stdout. A task times its own imports and its timed call with
:func:`time.perf_counter` and returns::

    {"time_s": float, "imports_s": {name: seconds}, "metrics": {name: number},
     "info": {name: str}}

This module imports only the standard library, so a worker starts clean and
the first heavy import is the one the task times.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULT_MARKER = "@@bayes-sklearn-benchmark@@ "
DEFAULT_TIMEOUT_S = 3 * 3600.0


class Unavailable(Exception):
    """An optional peer's package is not importable: the peer is skipped."""


class TaskError(RuntimeError):
    """A task failed (or printed no result) in its subprocess."""


# -- inside a task -----------------------------------------------------------


def require(module_name: str) -> None:
    """Raise :class:`Unavailable` unless ``module_name`` can be imported."""
    if importlib.util.find_spec(module_name) is None:
        raise Unavailable(f"{module_name} is not installed")


def timed_import(name: str) -> float:
    """Seconds to import ``name`` (0 when something imported it before)."""
    start = time.perf_counter()
    importlib.import_module(name)
    return time.perf_counter() - start


def record(
    time_s: float,
    imports_s: Mapping[str, float] | None = None,
    metrics: Mapping[str, float | int | None] | None = None,
    info: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON record a task returns."""
    return {
        "time_s": float(time_s),
        "imports_s": {k: float(v) for k, v in (imports_s or {}).items()},
        "metrics": {k: (None if v is None else float(v)) for k, v in (metrics or {}).items()},
        "info": {k: str(v) for k, v in (info or {}).items()},
    }


# -- in the parent -----------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """Options of one suite run.

    Attributes
    ----------
    quick : bool
        Tiny sizes and draws; targets are not evaluated.
    repeats : int
        Timed runs per peer (after one un-timed warm-up run); medians are reported.
    with_full_nuts : bool
        Run the opt-in full NUTS fit of the ``gradient`` workload.
    workdir : Path
        Scratch directory (pickled models), removed after the run.
    timeout_s : float
        Limit for any one subprocess.
    warmup : bool
        Run every peer once un-timed before the timed runs, so that disk
        caches (PyTensor, numba) are warm. Off in quick mode, where timings
        are not evaluated and the time goes to covering every code path.
    """

    quick: bool
    repeats: int
    with_full_nuts: bool
    workdir: Path
    timeout_s: float = DEFAULT_TIMEOUT_S
    warmup: bool = True


def log(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the tables."""
    print(message, file=sys.stderr, flush=True)


def _environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.update(extra or {})
    return env


def _parse(completed: subprocess.CompletedProcess) -> dict[str, Any]:
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise TaskError(f"exit code {completed.returncode}, no result printed:\n{tail}")
    payload = json.loads(lines[-1][len(RESULT_MARKER):])
    if "error" in payload:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise TaskError(f"{payload['error']}\n{tail}")
    return payload


def run_command(
    command: list[str], env: Mapping[str, str] | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """Run ``command`` in a fresh process and return its JSON result record."""
    try:
        completed = subprocess.run(
            command, check=False, capture_output=True, text=True, cwd=REPO_ROOT,
            env=_environment(env), timeout=timeout or DEFAULT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as error:
        raise TaskError(f"timed out after {error.timeout:.0f} s") from None
    return _parse(completed)


def run_task(
    module: str,
    function: str,
    params: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run ``benchmarks.<module>.<function>(**params)`` in a fresh process."""
    command = [sys.executable, "-m", "benchmarks._worker", module, function,
               json.dumps(dict(params or {}))]
    return run_command(command, env, timeout)


def run_script(code: str, *, env: Mapping[str, str] | None = None,
               timeout: float | None = None) -> dict[str, Any]:
    """Run ``python -c code``; the code prints ``RESULT_MARKER + json`` itself."""
    return run_command([sys.executable, "-c", code], env, timeout)


def finite(values: list[Any]) -> list[float]:
    return [float(v) for v in values
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def median_or_none(values: list[Any]) -> float | None:
    values = finite(values)
    return statistics.median(values) if values else None


@dataclass
class PeerResult:
    """All runs of one peer, or why it has none."""

    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None

    @property
    def times(self) -> list[float]:
        return [run["time_s"] for run in self.runs]

    @property
    def median_s(self) -> float | None:
        return median_or_none(self.times)

    def metric(self, key: str) -> float | None:
        """Median of a metric over the runs."""
        return median_or_none([run.get("metrics", {}).get(key) for run in self.runs])

    def imports(self) -> dict[str, float]:
        names = {name for run in self.runs for name in run.get("imports_s", {})}
        medians = {n: median_or_none([r["imports_s"].get(n) for r in self.runs]) for n in names}
        return {n: v for n, v in sorted(medians.items()) if v is not None}

    def info(self) -> dict[str, str]:
        return self.runs[-1].get("info", {}) if self.runs else {}

    def to_json(self) -> dict[str, Any]:
        keys = sorted({k for run in self.runs for k in run.get("metrics", {})})
        return {
            "median_s": self.median_s,
            "times_s": self.times,
            "imports_s": self.imports(),
            "metrics": {k: self.metric(k) for k in keys},
            "metrics_per_run": {k: [r.get("metrics", {}).get(k) for r in self.runs] for k in keys},
            "info": self.info(),
            "skipped": self.skipped,
            "error": self.error,
        }


@dataclass(frozen=True)
class Column:
    """An extra table column: a metric key, its header and a format spec."""

    key: str
    header: str
    fmt: str = ".3g"


@dataclass
class Section:
    """One table: peers measured on the same job, with ratios to ``baseline``."""

    title: str
    peers: list[PeerResult]
    baseline: str | None
    columns: list[Column] = field(default_factory=list)
    time_header: str = "median (s)"
    time_scale: float = 1.0
    #: Metric keys whose medians are also shown as a ratio to the baseline's.
    ratio_metrics: tuple[str, ...] = ()

    def peer(self, name: str) -> PeerResult:
        return next(p for p in self.peers if p.name == name)

    def ratio(self, name: str) -> float | None:
        """Median time of ``name`` over the baseline's median time."""
        if self.baseline is None:
            return None
        base, mine = self.peer(self.baseline).median_s, self.peer(name).median_s
        if base is None or mine is None or base <= 0:
            return None
        return mine / base

    def metric_ratio(self, name: str, key: str) -> float | None:
        """Median of metric ``key`` of ``name`` over the baseline's median of it."""
        if self.baseline is None:
            return None
        base, mine = self.peer(self.baseline).metric(key), self.peer(name).metric(key)
        if base is None or mine is None or base <= 0:
            return None
        return mine / base

    def ratios_per_run(self, name: str, key: str | None = None) -> list[float]:
        """Run-by-run ratios to the baseline (run i over run i: round-robin neighbours).

        ``key`` None compares times, otherwise the metric ``key``.
        """
        if self.baseline is None:
            return []

        def values(peer: PeerResult) -> list[Any]:
            if key is None:
                return peer.times
            return [run.get("metrics", {}).get(key) for run in peer.runs]

        pairs = zip(values(self.peer(name)), values(self.peer(self.baseline)), strict=False)
        return [m / b for m, b in pairs if m is not None and b is not None and b > 0]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "baseline": self.baseline,
            "ratio_metrics": list(self.ratio_metrics),
            "peers": {p.name: {**p.to_json(), "ratio_to_baseline": self.ratio(p.name),
                               **{f"ratio_to_baseline_{key}": self.metric_ratio(p.name, key)
                                  for key in self.ratio_metrics}}
                      for p in self.peers},
        }


_OPS = {"<=": lambda v, t: v <= t, ">=": lambda v, t: v >= t}


@dataclass(frozen=True)
class Target:
    """A target of the performance issue and whether this run meets it."""

    description: str
    value: float | None
    op: str
    threshold: float
    evaluated: bool
    met: bool | None
    #: The value run by run, where it has one (its spread over the repeats).
    per_run: tuple[float, ...] = ()

    @classmethod
    def check(cls, description: str, value: float | None, op: str, threshold: float,
              quick: bool, per_run: list[float] | tuple[float, ...] = ()) -> Target:
        """Evaluate ``value op threshold``; never in quick mode; missing value fails."""
        per_run = tuple(finite(list(per_run)))
        if quick:
            return cls(description, value, op, threshold, evaluated=False, met=None,
                       per_run=per_run)
        met = value is not None and math.isfinite(value) and _OPS[op](value, threshold)
        return cls(description, value, op, threshold, evaluated=True, met=bool(met),
                   per_run=per_run)

    @property
    def status(self) -> str:
        if not self.evaluated:
            return "n/e"
        return "PASS" if self.met else "FAIL"

    def to_json(self) -> dict[str, Any]:
        return {"description": self.description, "value": self.value, "op": self.op,
                "threshold": self.threshold, "evaluated": self.evaluated, "met": self.met,
                "status": self.status, "per_run": list(self.per_run)}


def peers_ran_target(sections: list[Section], quick: bool) -> Target:
    """Every peer a workload names ran: a skipped or failed peer fails the workload.

    The value is the number of named peers without timed runs (target 0); the
    description names them.
    """
    missing = sorted({peer.name for section in sections for peer in section.peers
                      if not peer.runs or peer.skipped or peer.error})
    description = "named peers that did not run" + (f" ({', '.join(missing)})" if missing
                                                     else "")
    return Target.check(description, float(len(missing)), "<=", 0, quick)


@dataclass
class WorkloadResult:
    """Everything one workload measured."""

    name: str
    summary: str
    params: dict[str, Any]
    sections: list[Section]
    targets: list[Target]
    notes: list[str]
    quick: bool
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "quick": self.quick,
            "params": self.params,
            "elapsed_s": self.elapsed_s,
            "sections": [s.to_json() for s in self.sections],
            "targets": [t.to_json() for t in self.targets],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class PeerSpec:
    """How to run one peer: a task of a workload module and its parameters.

    ``warmup`` overrides parameters of the un-timed warm-up run (fewer draws:
    it only has to fill the disk caches). Every run also gets a ``seed``:
    0 for the warm-up, 1..repeats for the timed runs.
    """

    name: str
    module: str
    function: str
    params: Mapping[str, Any] = field(default_factory=dict)
    warmup: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] | None = None
    #: Run this ``python -c`` code instead of the task (no parameters).
    script: str | None = None


def attempt(spec: PeerSpec, result: PeerResult, params: dict[str, Any], label: str,
             config: Config) -> dict[str, Any] | None:
    """One run of ``spec`` in a fresh process; its record, or None (noted on ``result``)."""
    start = time.perf_counter()
    try:
        if spec.script is not None:
            payload = run_script(spec.script, env=spec.env, timeout=config.timeout_s)
        else:
            payload = run_task(spec.module, spec.function, params, env=spec.env,
                               timeout=config.timeout_s)
    except TaskError as error:
        result.error = str(error).splitlines()[0]
        log(f"  [{spec.module}] {spec.name}: {label} FAILED: {error}")
        return None
    if "skipped" in payload:
        result.skipped = payload["skipped"]
        log(f"  [{spec.module}] {spec.name}: skipped ({result.skipped})")
        return None
    wall = time.perf_counter() - start
    log(f"  [{spec.module}] {spec.name}: {label} timed {payload['time_s']:.3g} s "
        f"(process {wall:.1f} s)")
    return payload


def measure_peers(config: Config, specs: list[PeerSpec], notes: list[str]) -> list[PeerResult]:
    """Warm up every peer once, then time them round-robin ``config.repeats`` times.

    Each run is a fresh process. Round-robin order spreads any drift of the
    machine's background load over all peers alike. Without ``config.warmup``
    the first timed run of each peer meets whatever state the caches are in.
    """
    results = {spec.name: PeerResult(spec.name) for spec in specs}
    active = list(specs)
    if config.warmup:
        active = []
        for spec in specs:
            params = {**spec.params, **spec.warmup, "seed": 0}
            if attempt(spec, results[spec.name], params, "warm-up", config) is not None:
                active.append(spec)
    for repeat in range(config.repeats):
        for spec in active:
            result = results[spec.name]
            if result.error is not None or result.skipped is not None:
                continue
            label = f"run {repeat + 1}/{config.repeats}"
            payload = attempt(spec, result, {**spec.params, "seed": repeat + 1}, label, config)
            if payload is not None:
                result.runs.append(payload)
    for result in results.values():
        if result.skipped:
            notes.append(f"{result.name}: skipped ({result.skipped})")
        if result.error:
            notes.append(f"{result.name}: ERROR {result.error}")
    return [results[spec.name] for spec in specs]


def peer_from_runs(name: str, runs: list[dict[str, Any]], error: str | None = None) -> PeerResult:
    """A :class:`PeerResult` from records gathered by a workload's own loop."""
    return PeerResult(name=name, runs=list(runs), error=error)


def summary_line(doc: str | None) -> str:
    """First line of a workload module's docstring, without its ``name:`` prefix."""
    first = (doc or "").strip().splitlines()[0] if doc else ""
    name, separator, rest = first.partition(": ")
    return rest if separator and " " not in name else first
