"""Mutation testing of the numerical modules, with mutmut 3.

Not a test module: pytest imports it under ``--doctest-modules`` and finds
nothing to run; everything happens under ``if __name__ == "__main__"``.

Run from the repository root (needs ``pip install -e .[mutation]``)::

    nice -n 19 python tests/mutation/run.py                 # every group
    nice -n 19 python tests/mutation/run.py mcmc_stats diagnostics
    python tests/mutation/run.py --list                      # the groups
    python tests/mutation/run.py --budget-minutes 45 --markdown out.md

Each group of modules is mutated in its own temporary copy of the working tree
(the tree itself is never touched), with a ``[tool.mutmut]`` section written
into that copy's pyproject.toml naming the group's source files and the fast
test files that cover it, plus the group's own doctests. mutmut first runs
those tests once to record which tests call which function, then runs, for each mutant, only the tests that
reach the mutated function, in a process forked from one that has already
imported everything. The mutation score printed per group is
``killed / total`` where killed includes timeouts and total includes mutants
no selected test reaches ("no tests"): those count as survivors of the fast
subset. Survivors are listed as ``file:line  old -> new``.

``inference/_kernel.py`` (numba ``@njit(cache=True)`` kernels) is mutated
only by the ``kernel`` group, which runs it as plain Python: mutmut 3 never
mutates a decorated function, numba cannot compile mutmut's trampolines, and
each compiled mutant would cost a fresh numba compilation (10 s and more).
That group sets ``NUMBA_DISABLE_JIT=1`` and drops the decorators in its copy
(see ``_python_kernel``); its tests call the kernel through ``log_density``,
so the two ``cfunc`` entry points nutpie calls are not mutated. The
``fast_nuts`` and ``nutpie_core`` groups sample on the cached kernel (a short
fit costs ~0.02 s); ``pymc_model`` compiles the PyMC log density (~1 s per
model) without sampling. Each fit of ``nuts.py`` and ``pymc_engine.py``
(``pm.sample`` and the PyMC engine on the PyMC model) compiles the model,
about 1 s warm: the ``nuts`` group checks what reaches ``pm.sample`` and
nutpie's driver with stand-ins, and makes one tiny fit with PyMC's sampler.
``compiled_model`` calls the engine's C functions through ctypes; a mutant
of the wrappers' generated source is compiled anew by numba (~3 s).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTMUT = [sys.executable, "-m", "mutmut"]


@dataclass
class Group:
    name: str
    sources: list[str]
    tests: list[str]
    do_not_mutate: list[str] = field(default_factory=list)
    # extra environment variables of the mutmut run (and so of every test run)
    env: dict[str, str] = field(default_factory=dict)
    # rewrites the copy before mutmut sees it (e.g. ``_python_kernel``)
    prepare: Callable[[Path], None] | None = None


KERNEL = "bayes_sklearn/inference/_kernel.py"


def _python_kernel(copy: Path) -> None:
    """Turn the copy's numba kernel into the plain Python it is written in.

    mutmut 3 never mutates a decorated function, and every kernel function is
    ``@numba.njit``. Under ``NUMBA_DISABLE_JIT=1`` (set for this group)
    ``numba.njit`` returns the function unchanged, so dropping those
    decorators changes nothing but lets mutmut see the functions. Two things
    do not run as Python: the ``_as_pointer`` intrinsic (replaced by the
    ``ctypes`` pointer ``numba.carray`` takes in Python) and the two
    ``@numba.cfunc`` entry points nutpie calls (compiled at import whatever
    the setting; removed, so the group's tests call ``log_density`` only).
    """
    path = copy / KERNEL
    text = path.read_text()
    text, n_jit = re.subn(r"^@numba\.njit\(.*\)\n", "", text, flags=re.M)
    text, n_ptr = re.subn(
        r"^@intrinsic\ndef _as_pointer\(.*?\n(?=\n\n)",
        "def _as_pointer(address):\n    import ctypes\n\n    return ctypes.c_void_p(int(address))\n",
        text, flags=re.M | re.S)
    text, n_cfunc = re.subn(r"^@numba\.cfunc\(.*?\n(?=\n\n)", "", text, flags=re.M | re.S)
    # any decorator left (a matrix product's "@" in a docstring is no decorator)
    if (n_ptr, n_cfunc) != (1, 2) or n_jit == 0 or re.search(r"^\s*@", text, flags=re.M):
        raise RuntimeError(f"{KERNEL} no longer has the shape _python_kernel rewrites")
    path.write_text(text)


NUTS_VS_EXACT = "tests/test_linear.py::test_nuts_matches_exact_posterior_within_monte_carlo_error"

# The frequency-weight checks that compile nothing (the PyMC-model ones compile
# PyTensor functions, seconds per mutant, and stay in the default test command).
WEIGHTS = [f"tests/test_weights.py::{name}" for name in (
    "test_weighted_moments_equal_the_duplicated_rows",
    "test_zero_weight_rows_count_for_nothing",
    "test_extreme_magnitude_columns_are_weighted_too",
    "test_model_spec_autoscaled_priors_equal_the_duplicated_rows",
    "test_exact_posterior_moments_equal_the_duplicated_rows",
    "test_exact_zero_weight_equals_the_row_removed",
    "test_response_scale_is_that_of_the_duplicated_rows",
    "test_sample_exact_draws_from_the_weighted_posterior",
    "test_kernel_weighted_log_density_equals_the_duplicated_rows",
    "test_kernel_weighted_gradient_matches_finite_differences",
    "test_pack_model_multiplies_sample_weight_by_the_minibatch_factor",
    "test_integer_sample_weight_reaches_the_kernel_as_floats",
    "test_advi_weighted_equals_duplicated_rows",
    "test_minibatch_advi_counts_the_weights",
    "test_minibatch_rows_keep_their_weight_times_n_over_b",
)]

# Issue 14's model forms (no intercept, fixed values, intercept priors at
# x = 0, Flat/HalfCauchy) on the kernel, exact inference and the standardiser;
# the NUTS and ADVI fits among them take well under a second each.
FORMS = [f"tests/test_model_forms.py::{name}" for name in (
    "test_seed_002_known_noise_is_the_closed_form",
    "test_the_intercept_prior_applies_where_center_predictors_says",
    "test_no_intercept_exact_is_the_closed_form_through_the_origin",
    "test_a_number_fixes_a_coefficient_as_an_offset",
    "test_fixed_values_are_the_models_conditional_in_the_kernel",
    "test_an_intercept_prior_at_zero_is_sampled_at_the_means",
    "test_the_kernel_runs_flat_and_half_cauchy_priors",
    "test_fixed_values_reach_the_prior_predictive",
    "test_the_recentred_intercept_is_reported_at_the_origin",
    "test_sampled_intercept_at_zero_agrees_with_the_closed_form",
    "test_exact_with_more_columns_than_rows_and_everything_fixed",
    "test_an_uncentred_standardizer_keeps_constant_columns",
)]
FORMS_KERNEL = [name for name in FORMS
                if "kernel" in name or "sampled_at_the_means" in name or "recentred" in name]

# Module -> fast tests that exercise it (exact inference and short NUTS runs;
# each file below runs in well under 30 s on one core).
GROUPS = [
    Group("mcmc_stats", ["bayes_sklearn/_mcmc_stats.py"],
          ["tests/test_mcmc_stats.py", "tests/test_known_answers_diagnostics.py"]),
    Group(
        "diagnostics",
        ["bayes_sklearn/diagnostics.py"],
        [
            "tests/test_mcmc_stats.py",
            "tests/test_errors.py::test_convergence_warning_carries_numbers",
            "tests/test_idata.py",
            "tests/test_known_answers_diagnostics.py",
        ],
    ),
    Group(
        "standardize",
        ["bayes_sklearn/design/standardize.py"],
        # Direct known answers (extreme magnitudes, constant columns, the
        # mapping back by hand): no fit, so no NUTS run per mutant.
        ["tests/test_standardize.py", *WEIGHTS, *FORMS],
    ),
    Group(
        "model",
        ["bayes_sklearn/model/"],
        ["tests/test_priors.py", "tests/test_exact.py", "tests/test_kernel.py",
         "tests/test_known_answers_priors.py", "tests/test_families.py",
         "tests/test_model_spec.py"],
    ),
    Group(
        "draws",
        ["bayes_sklearn/_draws.py"],
        # hand-made draws through the writer and the reader: no sampling
        ["tests/test_draws.py"],
    ),
    Group(
        "posterior",
        ["bayes_sklearn/posterior.py"],
        ["tests/test_posterior.py", "tests/test_exact.py", "tests/test_known_answers_linear.py",
         "tests/test_known_answers_posterior.py"],
    ),
    Group(
        "inference",
        [
            "bayes_sklearn/inference/exact.py",
            "bayes_sklearn/inference/response.py",
            "bayes_sklearn/inference/result.py",
            "bayes_sklearn/inference/settings.py",
        ],
        # test_exact.py's brute-force 3-D quadrature (7 s) is left to the default
        # test command: the 1-D quadrature of test_known_answers_inference.py
        # checks the same moments, tighter, in under a second.
        ["tests/test_known_answers_inference.py",
         "tests/test_exact.py::test_exact_is_stable_for_noise_free_data", *WEIGHTS, *FORMS],
    ),
    # What the kernel is fed, read back through the header's pointers; the
    # kernel-against-PyMC checks of test_kernel.py compile PyMC models
    # (seconds per mutant) and are left to the default test command.
    Group(
        "packing",
        ["bayes_sklearn/inference/packing.py"],
        [
            "tests/test_known_answers_packing.py",
            "tests/test_kernel.py::test_sufficient_statistics_equal_the_row_by_row_likelihood",
            "tests/test_kernel.py::test_sufficient_statistics_do_not_cancel_on_almost_exact_fits",
            "tests/test_kernel.py::test_row_weight_counts_each_row_that_many_times",
            *WEIGHTS,
            *FORMS,
        ],
    ),
    Group(
        "advi",
        ["bayes_sklearn/inference/advi.py"],
        ["tests/test_advi.py", "tests/test_linear.py::test_variational_inference_against_exact",
         "tests/test_known_answers_advi.py", *WEIGHTS,
         "tests/test_model_forms.py::test_no_intercept_sampled_agrees_with_the_closed_form"],
    ),
    # The precompiled NUTS path: a short fit on the cached kernel costs ~0.02 s.
    Group("nutpie_core", ["bayes_sklearn/inference/_nutpie_core.py"],
          ["tests/test_nutpie_core.py"]),
    Group("fast_nuts", ["bayes_sklearn/inference/fast_nuts.py"],
          ["tests/test_fast_nuts.py", "tests/test_nutpie_core.py",
           "tests/test_weights.py::test_nuts_weighted_posterior_equals_duplicated_rows_within_mc_error"]),
    # The Laplace and ADVI approximations NUTS is whitened by: mode, curvature
    # and their checks on the cached kernel, plus short whitened fits.
    Group("preconditioning", ["bayes_sklearn/inference/preconditioning.py"],
          ["tests/test_preconditioning.py"]),
    # The merge algebra of data in chunks, and the fits through it (no Dask:
    # the cluster tests cost ~20 s of start-up per mutant)
    Group("chunked_statistics", ["bayes_sklearn/chunked/statistics.py"],
          ["tests/test_chunk_statistics.py", "tests/test_chunked_fit.py"]),
    # The cross-check samplers: stand-ins for pm.sample / nutpie record what
    # they are given; one tiny PyMC fit (~2 s, 1 chain) checks the real trace.
    Group("nuts", ["bayes_sklearn/inference/nuts.py", "bayes_sklearn/inference/pymc_engine.py"],
          ["tests/test_nuts.py", "tests/test_pymc_engine.py",
           "tests/test_weights.py::test_pymc_sampler_runs_with_weights"]),
    # The engine's compiled model, called through ctypes against PyMC's own
    # log density; nutpie's driver through the kernel's short fits. A mutant of
    # the generated wrappers' source compiles anew (~3 s).
    # (Its empty-disk-cache test recompiles everything, ~30 s per mutant, and is
    # left to the default test command.)
    Group("compiled_model", ["bayes_sklearn/inference/compiled_model.py",
                             "bayes_sklearn/inference/nutpie_run.py"],
          [*[f"tests/test_compiled_model.py::{name}" for name in (
              "test_log_density_and_gradient_are_pymcs",
              "test_a_bad_point_or_size_is_refused_with_nutpies_codes",
              "test_stored_draws_are_the_constrained_values_and_deterministics",
              "test_chains_start_at_pymcs_initial_point_with_its_jitter",
              "test_data_of_another_shape_are_refused",
              "test_a_second_compilation_of_the_graph_loads_the_wrappers_from_disk",
              "test_without_pytensors_cache_keys_the_wrappers_compile_per_process",
              "test_a_pytensor_without_jitted_functions_is_named_in_the_error",
              "test_another_structure_gets_its_own_compilation")],
           "tests/test_fast_nuts.py",
           "tests/test_nuts.py::test_settings_and_this_fits_data_reach_nutpie",
           "tests/test_pymc_engine.py::test_a_second_fit_of_the_structure_reuses_the_compilation"]),
    # The group terms of a formula: the bar-term splitter, their designs and the
    # NumPy LKJ sampler of prior draws; no fit.
    Group("group_terms", ["bayes_sklearn/design/group_terms.py",
                          "bayes_sklearn/design/multilevel.py", "bayes_sklearn/model/lkj.py"],
          ["tests/test_group_terms.py", "tests/test_lkj.py"]),
    # The estimators' side of group terms: the spec's sd priors, new_groups per
    # factor, group_terms= on predictions, the shorthand's term. Short fits on
    # the kernel (module fixtures, refitted per mutant: seconds each).
    Group("group_terms_estimator", ["bayes_sklearn/estimators/_group_terms.py"],
          ["tests/test_multilevel_estimator.py", "tests/test_group_shorthand.py"]),
    # Which models the kernel covers: the tables it reads and the routing.
    # (The equivalence test, which also asks kernel_gap of all its 82 models,
    # costs ~1 min per mutant and is left to the default test command.)
    Group("coverage", ["bayes_sklearn/inference/coverage.py"],
          ["tests/test_pymc_engine.py::test_coverage_reads_the_kernels_tables",
           "tests/test_pymc_engine.py::test_coverage_of_group_terms_reads_each_sd_prior",
           "tests/test_pymc_engine.py::test_a_prior_outside_the_kernel_runs_on_the_engine",
           "tests/test_pymc_engine.py::test_advi_refuses_a_prior_outside_the_kernel",
           "tests/test_pymc_engine.py::test_engine_values",
           "tests/test_priors_pymc.py"]),
    # Building the PyMC model compiles its logp with pytensor (~1 s per case);
    # the equivalence test compares it with the precompiled kernel, without sampling.
    Group("pymc_model", ["bayes_sklearn/model/pymc_model.py"],
          ["tests/test_pymc_reference.py", "tests/test_engine_equivalence.py",
           "tests/test_weights.py::test_pymc_model_weighted_log_density_equals_the_duplicated_rows"]),
    # The kernel run as plain Python (see _python_kernel): no compilation per
    # mutant; the tests call it through ``log_density`` alone. The comparison
    # with PyMC's log density is left to the pymc_model group (its pytensor
    # compilation would cost seconds per mutant here).
    Group(
        "kernel",
        [KERNEL],
        [
            "tests/test_known_answers_kernel.py",
            "tests/test_kernel.py::test_sufficient_statistics_equal_the_row_by_row_likelihood",
            "tests/test_kernel.py::test_sufficient_statistics_do_not_cancel_on_almost_exact_fits",
            "tests/test_kernel.py::test_row_weight_counts_each_row_that_many_times",
            # the direct kernel checks only: a fit would run the pure-Python kernel
            *[t for t in WEIGHTS if "kernel_weighted" in t],
            *FORMS_KERNEL,
            # the whitened coordinates (P_AFFINE): _affine_point, sampled_log_density
            "tests/test_preconditioning.py::test_the_sampled_density_is_the_density_at_the_mapped_point",
        ],
        env={"NUMBA_DISABLE_JIT": "1"},
        prepare=_python_kernel,
    ),
]

KILLED = {"killed", "timeout", "caught by type check", "segfault"}
IGNORE = ("mutants", ".git", "__pycache__", ".pytest_cache", "_build", "auto_examples",
          "generated", "*.egg-info", ".venv*", "results")


def _copy_tree(dest: Path) -> None:
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*IGNORE))


# mutmut keeps each mutant as a module-level copy of the function, docstring
# included: without this filter ``--doctest-modules`` would collect every
# example once per mutant. The original's copy (``__mutmut_orig``) stays.
DOCTEST_FILTER = """

def pytest_collection_modifyitems(config, items):
    import re

    copies = [i for i in items if re.search(r"__mutmut_\\d+$", i.nodeid)]
    if copies:
        config.hook.pytest_deselected(items=copies)
        items[:] = [i for i in items if not re.search(r"__mutmut_\\d+$", i.nodeid)]
"""


def _write_config(copy: Path, group: Group, max_children: int) -> None:
    # The numba kernel is mutated only by a group that turns it into Python.
    kept = group.do_not_mutate + ([] if KERNEL in group.sources else [KERNEL])
    with open(copy / "tests" / "conftest.py", "a") as conftest:
        conftest.write(DOCTEST_FILTER)
    pyproject = copy / "pyproject.toml"
    text = re.sub(r"\n\[tool\.mutmut\].*?(?=\n\[|\Z)", "", pyproject.read_text(), flags=re.S)
    toml_list = lambda items: "[" + ", ".join(json.dumps(i) for i in items) + "]"  # noqa: E731
    text += (
        "\n[tool.mutmut]\n"
        f"source_paths = {toml_list(group.sources)}\n"
        # The modules' own doctests run too, as in the default test command.
        f"pytest_add_cli_args_test_selection = {toml_list(group.tests + group.sources)}\n"
        # -p no:cacheprovider: no .pytest_cache in the copy; the copy's own
        # addopts (--doctest-modules) still apply, to the selected files only.
        'pytest_add_cli_args = ["-x", "-q", "-p", "no:cacheprovider"]\n'
        'also_copy = ["bayes_sklearn/"]\n'
        f"do_not_mutate = {toml_list(kept)}\n"
    )
    pyproject.write_text(text)


def _results(copy: Path) -> dict[str, str]:
    out = subprocess.run(MUTMUT + ["results", "--all", "true"], cwd=copy,
                         capture_output=True, text=True).stdout
    statuses = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            statuses[name] = status
    return statuses


def _function_range(source: Path, mangled: str) -> tuple[int, int]:
    """Line range of the function a mutmut name such as ``x_rhat`` or
    ``xǁPosteriorǁpredict`` refers to."""
    parts = mangled[1:].split("ǁ") if mangled.startswith("xǁ") else [None, mangled[2:]]
    cls, func = (parts[1], parts[2]) if parts[0] == "" else (None, parts[1])
    tree = ast.parse(source.read_text())
    scope = tree.body
    if cls is not None:
        scope = next((n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), [])
    for node in scope:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func:
            return node.lineno, node.end_lineno
    return 1, 1


def _describe(copy: Path, name: str) -> tuple[str, str]:
    """``file:line`` and ``old -> new`` of one mutant, from ``mutmut show``."""
    module, _, rest = name.rpartition(".")
    mangled = rest.rsplit("__mutmut_", 1)[0]
    rel = module.replace(".", "/") + ".py"
    if not (ROOT / rel).exists():
        rel = module.replace(".", "/") + "/__init__.py"
    diff = subprocess.run(MUTMUT + ["show", name], cwd=copy, capture_output=True, text=True).stdout
    old = [l[1:] for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")]
    new = [l[1:] for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    start, end = _function_range(ROOT / rel, mangled)
    line = start
    if old:
        lines = (ROOT / rel).read_text().splitlines()
        for i in range(start - 1, min(end, len(lines))):
            if lines[i].strip() == old[0].strip():
                line = i + 1
                break
    change = f"`{' / '.join(o.strip() for o in old)}` -> `{' / '.join(n.strip() for n in new)}`"
    return f"{rel}:{line}", change


def run_group(group: Group, workdir: Path, deadline: float, max_children: int) -> dict:
    copy = workdir / group.name
    _copy_tree(copy)
    _write_config(copy, group, max_children)
    if group.prepare is not None:
        group.prepare(copy)
    started = time.time()
    log = open(workdir / f"{group.name}.log", "w")
    proc = subprocess.Popen(MUTMUT + ["run", "--max-children", str(max_children)], cwd=copy,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **group.env})
    finished = True
    try:
        proc.wait(timeout=max(deadline - time.time(), 1))
    except subprocess.TimeoutExpired:
        finished = False
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log.close()
    statuses = _results(copy)
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    survivors = []
    for name, status in sorted(statuses.items()):
        if status in ("survived", "no tests"):
            where, change = _describe(copy, name)
            survivors.append({"mutant": name, "status": status, "where": where, "change": change})
    checked = sum(n for s, n in counts.items() if s != "not checked")
    killed = sum(n for s, n in counts.items() if s in KILLED)
    return {"group": group.name, "sources": group.sources, "tests": group.tests,
            "finished": finished and proc.returncode == 0, "returncode": proc.returncode,
            "seconds": round(time.time() - started), "counts": counts,
            "killed": killed, "total": checked, "survivors": survivors}


def _line_key(where: str) -> tuple[str, int]:
    path, _, line = where.rpartition(":")
    return path, int(line)


def report(results: list[dict]) -> str:
    rows = ["| group | killed / total | score | survived | no tests | timeout | not checked | s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        c = r["counts"]
        score = f"{100 * r['killed'] / r['total']:.0f}%" if r["total"] else "-"
        rows.append(f"| {r['group']} | {r['killed']} / {r['total']} | {score} | {c.get('survived', 0)} | "
                    f"{c.get('no tests', 0)} | {c.get('timeout', 0)} | {c.get('not checked', 0)} | "
                    f"{r['seconds']}{'' if r['finished'] else ' (stopped)'} |")
    lines = ["\n".join(rows), ""]
    for r in results:
        if not r["survivors"]:
            continue
        lines.append(f"Survivors in {r['group']} ({', '.join(r['sources'])}):")
        for s in sorted(r["survivors"], key=lambda s: _line_key(s["where"])):
            tag = " (no test reaches it)" if s["status"] == "no tests" else ""
            lines.append(f"- {s['where']} {s['change']}{tag}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="*", help="groups to run (default: all, in order)")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument("--budget-minutes", type=float, default=60.0,
                        help="stop starting/continuing groups after this wall time")
    parser.add_argument("--max-children", type=int, default=1,
                        help="mutants run at once (the machine is shared: default 1)")
    parser.add_argument("--extra-tests", nargs="+", default=[], metavar="TEST",
                        help="test files or node ids added to every group's selection "
                             "(e.g. new known-answer tests)")
    parser.add_argument("--workdir", type=Path, help="keep the copies here (default: a temp dir)")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    unknown = set(args.groups) - {g.name for g in GROUPS}
    if unknown:
        parser.error(f"unknown groups: {sorted(unknown)}")
    groups = [Group(g.name, g.sources, g.tests + args.extra_tests, g.do_not_mutate, g.env, g.prepare)
              for g in GROUPS if not args.groups or g.name in args.groups]
    if args.list:
        for g in groups:
            print(f"{g.name}: {' '.join(g.sources)}  <-  {' '.join(g.tests)}")
        return 0
    deadline = time.time() + 60 * args.budget_minutes
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bayes-sklearn-mutation-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for group in groups:
        if time.time() >= deadline:
            print(f"{group.name}: not run, budget spent", flush=True)
            continue
        print(f"{group.name}: mutating {' '.join(group.sources)} (log: {workdir / group.name}.log)",
              flush=True)
        result = run_group(group, workdir, deadline, args.max_children)
        results.append(result)
        print(f"{group.name}: {result['killed']} / {result['total']} killed, "
              f"{result['counts']}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    text = report(results)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
