"""Run the benchmark suite: ``python -m benchmarks [--only NAME[,NAME]] [--quick]``.

Runs each selected workload (bayes_sklearn and its peers in the same run),
prints a table per workload with times, ratios against the peer and the
issue's targets (PASS/FAIL), and writes everything, with the machine and the
commit, to ``benchmarks/results/<UTC date>-<git short sha>.json`` (quick runs:
``...-quick.local.json``, git-ignored) or ``--out``. The JSON is rewritten
after every workload, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import WORKLOADS
from benchmarks._harness import (
    DEFAULT_TIMEOUT_S,
    Config,
    WorkloadResult,
    log,
    summary_line,
)
from benchmarks._report import (
    default_output,
    format_summary,
    format_workload,
    git_info,
    machine_info,
    utc_now,
    write_json,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time bayes_sklearn against its peers, workload by workload.")
    parser.add_argument("--only", default=None, metavar="NAME[,NAME]",
                        help=f"workloads to run (default all): {', '.join(WORKLOADS)}")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and draws, no warm-up runs (a smoke test of a "
                             "few minutes); targets are not evaluated")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per peer, after one un-timed warm-up run (none "
                             "with --quick); medians are reported (default 3, 1 with --quick)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file to write (default benchmarks/results/"
                             "<UTC date>-<git short sha>.json)")
    parser.add_argument("--with-full-nuts", action="store_true",
                        help="gradient workload: also a full NUTS fit at 100,000 rows "
                             "(minutes; ignored with --quick)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="limit in seconds for any one subprocess (default %(default)s)")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.selected = _select(parser, args.only)
    return args


def _select(parser: argparse.ArgumentParser, only: str | None) -> list[str]:
    if not only:
        return list(WORKLOADS)
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    return [name for name in WORKLOADS if name in names]


def _list() -> None:
    for name in WORKLOADS:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"{name:<18} {summary_line(module.__doc__)}")


def _document(args: argparse.Namespace, git: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "started_utc": utc_now(),
        "finished_utc": None,
        "command": [sys.executable, "-m", "benchmarks", *sys.argv[1:]],
        "quick": args.quick,
        "options": {"only": args.selected, "quick": args.quick, "repeats": args.repeats,
                    "warmup": not args.quick, "with_full_nuts": args.with_full_nuts},
        "git": git,
        "machine": machine_info(),
        "workloads": {},
        "crashed": {},
    }


def _run_workload(name: str, config: Config) -> WorkloadResult:
    module = importlib.import_module(f"benchmarks.{name}")
    start = time.perf_counter()
    result = module.run(config)
    result.elapsed_s = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        _list()
        return 0
    git = git_info()
    out = args.out or default_output(git["sha"], args.quick)
    document = _document(args, git)
    workdir = Path(tempfile.mkdtemp(prefix="bayes_sklearn_benchmarks_"))
    config = Config(quick=args.quick, repeats=args.repeats,
                    with_full_nuts=args.with_full_nuts, workdir=workdir,
                    timeout_s=args.timeout, warmup=not args.quick)
    mode = ("QUICK smoke run (no warm-up), targets not evaluated" if args.quick
            else "full run")
    print(f"bayes_sklearn benchmarks at {git['sha']}{' (dirty tree)' if git['dirty'] else ''}: "
          f"{mode}, {args.repeats} timed repeat(s), {document['machine']['cpu_count']} CPUs\n",
          flush=True)
    results, crashed = [], {}
    try:
        for name in args.selected:
            log(f"[{name}] running")
            try:
                result = _run_workload(name, config)
            except Exception:  # noqa: BLE001 - a broken workload must not lose the others
                crashed[name] = traceback.format_exc().strip().splitlines()[-1]
                document["crashed"][name] = traceback.format_exc()
                print(f"== {name}: CRASHED\n{traceback.format_exc()}", flush=True)
            else:
                results.append(result)
                document["workloads"][name] = result.to_json()
                print(format_workload(result), flush=True)
            document["finished_utc"] = utc_now()
            write_json(out, document)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(format_summary(results, crashed))
    print(f"results written to {out}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
