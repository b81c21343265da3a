"""import_and_pickle: import cost, and predicting from a pickle without PyMC.

What it measures
----------------
In fresh ``python -c`` processes: the time of ``import bayes_sklearn`` next
to ``import pymc`` (and ``import sklearn.linear_model``, for scale), and a
user's deployment path: ``import bayes_sklearn``, ``pickle.load`` of a fitted
``BayesianLogisticRegression`` (pickled beforehand by a preparation process)
and ``predict_proba`` on 1,000 rows. Afterwards the process reports which of
``pymc``, ``pytensor`` (the target) and, for information, ``arviz``,
``numba`` and ``nutpie`` are in ``sys.modules``.

How
---
Each measurement is a new interpreter started with ``sys.executable -c``
that does nothing before the timed import but ``import json, sys, time``.
One un-timed warm-up run of each script (bytecode and page caches), then
``--repeats`` runs; medians are reported, and the module check is the union
over runs. The ratio column compares each import with ``import pymc``.

Target (issue 5)
----------------
Loading the pickle and predicting imports neither pymc nor pytensor; the
``import bayes_sklearn`` time is reported next to ``import pymc``.
"""

from __future__ import annotations

from benchmarks._harness import (
    RESULT_MARKER,
    Column,
    Config,
    PeerSpec,
    Section,
    Target,
    TaskError,
    WorkloadResult,
    log,
    measure_peers,
    run_task,
    summary_line,
)

NAME = "import_and_pickle"
PYMC = "import pymc"
SUBJECT = "import bayes_sklearn"
DEPLOY = "import + pickle.load + predict_proba"
TARGET_MODULES = ("pymc", "pytensor")
INFO_MODULES = ("arviz", "numba", "nutpie")

_PRELUDE = f"""
import json, sys, time
MARKER = {RESULT_MARKER!r}
def loaded(prefix):
    return any(n == prefix or n.startswith(prefix + ".") for n in list(sys.modules))
def report(time_s, metrics):
    flags = {{p + "_loaded": float(loaded(p)) for p in {TARGET_MODULES + INFO_MODULES!r}}}
    payload = {{"time_s": time_s, "imports_s": {{}}, "metrics": {{**metrics, **flags}},
               "info": {{}}}}
    sys.stdout.write("\\n" + MARKER + json.dumps(payload) + "\\n")
"""


def import_script(module: str) -> str:
    """``python -c`` code timing ``import module``."""
    return _PRELUDE + f"""
start = time.perf_counter()
import {module}
report(time.perf_counter() - start, {{}})
"""


def deploy_script(path: str, n_rows: int = 1000) -> str:
    """``python -c`` code: import, unpickle, predict; each step timed."""
    return _PRELUDE + f"""
start = time.perf_counter()
import bayes_sklearn
import_s = time.perf_counter() - start
import pickle
start = time.perf_counter()
with open({path!r}, "rb") as handle:
    model = pickle.load(handle)
unpickle_s = time.perf_counter() - start
import numpy as np
X = np.random.default_rng(0).normal(0.0, 2.0, size=({n_rows}, model.n_features_in_))
start = time.perf_counter()
proba = model.predict_proba(X)
predict_s = time.perf_counter() - start
report(import_s + unpickle_s + predict_s,
       {{"import_s": import_s, "unpickle_s": unpickle_s, "predict_s": predict_s}})
"""


def _prepare(config: Config) -> str:
    path = str(config.workdir / "import_and_pickle_model.pkl")
    fit = ({"draws": 100, "tune": 100, "chains": 2} if config.quick
           else {"draws": 1000, "tune": 1000, "chains": 4})
    result = run_task("predict", "fit_and_pickle", {**fit, "seed": 0, "path": path},
                      timeout=config.timeout_s)
    log(f"  [{NAME}] fitted and pickled the model ({result['time_s']:.3g} s)")
    return path


def _loaded_anywhere(section: Section, name: str, module: str) -> float | None:
    runs = section.peer(name).runs
    values = [run["metrics"].get(f"{module}_loaded") for run in runs]
    return max(values) if values and None not in values else None


def run(config: Config) -> WorkloadResult:
    notes: list[str] = []
    specs = [PeerSpec(PYMC, NAME, "", script=import_script("pymc")),
             PeerSpec("import sklearn.linear_model", NAME, "",
                      script=import_script("sklearn.linear_model")),
             PeerSpec(SUBJECT, NAME, "", script=import_script("bayes_sklearn"))]
    try:
        specs.append(PeerSpec(DEPLOY, NAME, "", script=deploy_script(_prepare(config))))
    except TaskError as failure:
        notes.append(f"preparation (fit + pickle): ERROR {str(failure).splitlines()[0]}")
    flags = [Column(f"{m}_loaded", f"{m}?", "yesno") for m in TARGET_MODULES + INFO_MODULES]
    section = Section(
        title="fresh `python -c` processes",
        peers=measure_peers(config, specs, notes),
        baseline=PYMC,
        columns=[Column("unpickle_s", "unpickle (s)", ".3g"),
                 Column("predict_s", "predict (s)", ".3g"), *flags],
    )
    for module in INFO_MODULES:
        if any(_loaded_anywhere(section, p.name, module) for p in section.peers):
            users = [p.name for p in section.peers if _loaded_anywhere(section, p.name, module)]
            notes.append(f"{module} in sys.modules after: {', '.join(users)}")
    deploy = None
    if any(p.name == DEPLOY for p in section.peers):
        values = [_loaded_anywhere(section, DEPLOY, m) for m in TARGET_MODULES]
        deploy = None if None in values else max(values)
    targets = [Target.check(f"pymc/pytensor imported by {DEPLOY} (1 = yes)", deploy, "<=", 0,
                            config.quick)]
    return WorkloadResult(NAME, summary_line(__doc__), {"predict_rows": 1000}, [section],
                          targets, notes, config.quick)
