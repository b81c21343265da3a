"""Tables on stdout, and the JSON record of a run with its machine and commit."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._harness import (
    REPO_ROOT,
    RESULT_MARKER,
    PeerResult,
    Section,
    TaskError,
    WorkloadResult,
    run_script,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PACKAGES = ("bayes-sklearn", "pymc", "pytensor", "nutpie", "numba", "scikit-learn", "numpy",
            "scipy", "arviz", "pandas", "xarray", "pyarrow", "numpyro", "jax", "bambi")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS", "PYTENSOR_FLAGS")
_BLAS_SCRIPT = f"""
import json, sys
import numpy, threadpoolctl
info = [{{k: v for k, v in lib.items() if k != "filepath"}}
        for lib in threadpoolctl.threadpool_info()]
sys.stdout.write("\\n" + {RESULT_MARKER!r} + json.dumps({{"blas": info}}) + "\\n")
"""


# -- machine and commit --------------------------------------------------------


def _git(*args: str) -> str | None:
    try:
        completed = subprocess.run(["git", *args], check=False, capture_output=True,
                                   text=True, cwd=REPO_ROOT, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout if completed.returncode == 0 else None


def git_info() -> dict[str, Any]:
    """Short sha, branch and the uncommitted changes the run measured."""
    status = _git("status", "--porcelain")
    changed = [line[3:] for line in (status or "").splitlines() if line.strip()]
    sha = (_git("rev-parse", "--short", "HEAD") or "").strip()
    branch = (_git("rev-parse", "--abbrev-ref", "HEAD") or "").strip()
    return {"sha": sha or "nogit", "branch": branch or None,
            "dirty": bool(changed), "changed_paths": changed[:100]}


def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_total_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    return None


def _blas() -> list[dict[str, Any]] | str:
    try:
        return run_script(_BLAS_SCRIPT, timeout=120)["blas"]
    except (TaskError, KeyError) as error:
        return f"unavailable: {str(error).splitlines()[0]}"


def machine_info() -> dict[str, Any]:
    """CPU, memory, load, Python, package versions and BLAS of this machine."""
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "cpu_count": os.cpu_count(),
        "cpus_available": len(affinity(0)) if affinity else None,
        "cpu_model": _cpu_model(),
        "memory_total_gb": _memory_total_gb(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "packages": _package_versions(),
        "thread_environment": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ},
        "blas": _blas(),
    }


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_output(sha: str, quick: bool) -> Path:
    """``results/<UTC date>-<sha>.json``; quick runs end in ``-quick.local.json`` (git-ignored)."""
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    suffix = "-quick.local.json" if quick else ".json"
    return RESULTS_DIR / f"{date}-{sha}{suffix}"


def _clean(value: Any) -> Any:
    """NaN and infinities become null: the file stays standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(_clean(document), indent=2) + "\n")
    temporary.replace(path)


# -- tables ---------------------------------------------------------------------------


def _number(value: float | None, fmt: str) -> str:
    if value is None:
        return "-"
    if fmt == "yesno":
        return "yes" if value else "no"
    return format(value, fmt)


def _imports(peer: PeerResult) -> str:
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in peer.imports().items())


def _row(section: Section, peer: PeerResult) -> list[str]:
    if peer.skipped or (peer.error and not peer.runs):
        status = "skipped" if peer.skipped else "ERROR"
        return [peer.name, status] + [""] * (2 + len(section.ratio_metrics)
                                             + len(section.columns)) + [""]
    scale = section.time_scale
    times = [t * scale for t in peer.times]
    median = peer.median_s
    spread = f"{min(times):.3g}-{max(times):.3g}" if len(times) > 1 else ""
    return [peer.name, _number(None if median is None else median * scale, ".3g"), spread,
            _number(section.ratio(peer.name), ".3g")] + \
        [_number(section.metric_ratio(peer.name, key), ".3g") for key in section.ratio_metrics] + \
        [_number(peer.metric(c.key), c.fmt) for c in section.columns] + [_imports(peer)]


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        middle = [c.rjust(w) for c, w in zip(row[1:-1], widths[1:-1], strict=True)]
        lines.append("  ".join([row[0].ljust(widths[0]), *middle, row[-1]]).rstrip())
    return lines


def _header(section: Section, key: str) -> str:
    return next((c.header for c in section.columns if c.key == key), key)


def value_range(values: list[float] | tuple[float, ...]) -> str:
    """``min-max`` of a target's run-by-run values ("" with fewer than two)."""
    if len(values) < 2:
        return ""
    return f"{min(values):.3g}-{max(values):.3g}"


def format_section(section: Section) -> list[str]:
    unit = section.time_header.split("(")[-1].rstrip(")") if "(" in section.time_header else "s"
    header = ["peer", section.time_header, f"range ({unit})",
              "x baseline" if section.baseline else "ratio"] + \
        [f"x baseline ({_header(section, key)})" for key in section.ratio_metrics] + \
        [c.header for c in section.columns] + ["imports (s)"]
    lines = [f"-- {section.title}"]
    if section.baseline:
        lines.append(f"   baseline: {section.baseline}")
    return lines + _table([header] + [_row(section, peer) for peer in section.peers])


def _format_value(value: float | None) -> str:
    return "no value" if value is None else format(value, ".4g")


def format_targets(result: WorkloadResult) -> list[str]:
    lines = ["targets:" + ("  (quick run: not evaluated)" if result.quick else "")]
    for target in result.targets:
        runs = value_range(target.per_run)
        lines.append(f"  [{target.status:>4}] {target.description} = "
                     f"{_format_value(target.value)}  (target {target.op} {target.threshold:g})"
                     + (f"  runs {runs}" if runs else ""))
    return lines


def format_workload(result: WorkloadResult) -> str:
    lines = [f"== {result.name}: {result.summary}  [{result.elapsed_s:.0f} s]"]
    for section in result.sections:
        lines += [*format_section(section), ""]
    lines += format_targets(result)
    if result.notes:
        lines += ["notes:"] + [f"  - {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def format_summary(results: list[WorkloadResult], crashed: dict[str, str]) -> str:
    lines = ["== summary of targets"]
    for result in results:
        for target in result.targets:
            lines.append(f"  [{target.status:>4}] {result.name}: {target.description} = "
                         f"{_format_value(target.value)} ({target.op} {target.threshold:g})")
    for name, error in crashed.items():
        lines.append(f"  [CRASH] {name}: {error}")
    return "\n".join(lines) + "\n"
