"""advi: minibatch ADVI of a logistic regression on a million rows.

What it measures
----------------
Logistic data with n=1,000,000 rows, p=8 standard normal features and known
coefficients (``y ~ Bernoulli(expit(-0.5 + X @ beta))``; quick: n=100,000).
``BayesianLogisticRegression(inference="advi", batch_size=1000).fit(X, y)``
against the raw PyMC a user writes: ``pm.Minibatch(X, y, batch_size=1000)``,
a model with ``total_size`` set, ``pm.fit(20000, method="advi")`` and
``approx.sample(4000)`` (bayes_sklearn's fit also draws 4 x 1000 samples from
its approximation). Reported per peer: time, iterations
(``model.n_iter_``; 20,000 for raw PyMC), and the largest absolute error of
the posterior-mean coefficients (``model.coef_``; the mean of the raw draws)
against the true ``beta``. Quick mode caps both at 2,000 iterations.

How
---
Each run is a fresh process; imports are timed separately; the timed call
is the fit (raw PyMC: model building, ``pm.fit`` and ``approx.sample``). One
un-timed warm-up run per peer (200 iterations, same data shape) fills the
PyTensor disk cache; medians over ``--repeats`` runs (seeds 1, 2, ...) are
reported.

Target (issue 5)
----------------
bayes_sklearn's coefficients within 0.02 of the truth, in at most 1/2 of the
time of the raw ``pm.fit`` run.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks._data import logistic_data, true_coef
from benchmarks._harness import (
    Column,
    Config,
    PeerResult,
    PeerSpec,
    Section,
    Target,
    TaskError,
    WorkloadResult,
    attempt,
    log,
    peer_from_runs,
    peers_ran_target,
    record,
    run_task,
    summary_line,
    timed_import,
)

NAME = "advi"
RAW = 'raw pm.fit(method="advi") + Minibatch'
SUBJECT = 'bayes_sklearn inference="advi"'
BATCH_SIZE = 1000
N_SAMPLES = 4000
#: "A few posterior sds": the old 0.02 of the truth was about 6 sds at n = 1M.
SD_TARGET = 3.0


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"n": 100_000, "p": 8, "max_iter": 2000}
    return {"n": 1_000_000, "p": 8, "max_iter": None}


def _errors(intercept, coef, reference: dict[str, list[float]], p: int) -> dict:
    """Largest error against the truth, and against the reference posterior in its sds."""
    import numpy as np

    estimate = np.concatenate([np.ravel(intercept), np.ravel(coef)])
    in_sds = np.abs(estimate - np.asarray(reference["mean"])) / np.asarray(reference["sd"])
    return {"coef_max_abs_err": float(np.max(np.abs(np.ravel(coef) - true_coef(p)))),
            "max_err_posterior_sd": float(np.max(in_sds))}


def reference_posterior(seed: int, n: int, p: int) -> dict[str, Any]:
    """The exact answer: Newton's mode of the same model and its Laplace sds.

    Priors ``Normal(0, 2.5)`` on the intercept and every coefficient (the raw
    model's; bayes_sklearn's autoscaled priors are the same on these
    standard normal features up to sampling noise in their sds). With a
    million rows the posterior is Gaussian to O(1/n) (Bernstein-von Mises):
    its mean is the mode to within a tiny fraction of a posterior sd.
    """
    import numpy as np

    X, y = logistic_data(n, p)
    start = time.perf_counter()
    design = np.column_stack([np.ones(n), X])
    precision = np.full(p + 1, 1 / 2.5**2)
    theta = np.zeros(p + 1)
    for _ in range(50):
        prob = 1 / (1 + np.exp(-(design @ theta)))
        gradient = design.T @ (y - prob) - precision * theta
        hessian = (design * (prob * (1 - prob))[:, None]).T @ design + np.diag(precision)
        step = np.linalg.solve(hessian, gradient)
        theta += step
        if np.max(np.abs(step)) < 1e-12:
            break
    prob = 1 / (1 + np.exp(-(design @ theta)))
    hessian = (design * (prob * (1 - prob))[:, None]).T @ design + np.diag(precision)
    sd = np.sqrt(np.diag(np.linalg.inv(hessian)))
    elapsed = time.perf_counter() - start
    return {**record(elapsed, {}, {"min_sd": float(sd.min()), "max_sd": float(sd.max())}),
            "mean": theta.tolist(), "sd": sd.tolist()}


def raw_pymc_advi(seed: int, n: int, p: int, n_iter: int,
                  reference: dict[str, list[float]]) -> dict[str, Any]:
    """Minibatch model + ``pm.fit(n_iter, method="advi")`` + ``approx.sample``."""
    imports = {"pymc": timed_import("pymc")}
    import pymc as pm

    X, y = logistic_data(n, p)
    y = y.astype("int32")  # pm.Minibatch refuses int64 observations
    start = time.perf_counter()
    X_batch, y_batch = pm.Minibatch(X, y, batch_size=BATCH_SIZE)
    with pm.Model():
        intercept = pm.Normal("intercept", 0, 2.5)
        coef = pm.Normal("coef", 0, 2.5, shape=p)
        pm.Bernoulli("y", logit_p=intercept + pm.math.dot(X_batch, coef), observed=y_batch,
                     total_size=n)
        approx = pm.fit(n_iter, method="advi", random_seed=seed, progressbar=False)
        idata = approx.sample(N_SAMPLES, random_seed=seed)
    coef_mean = idata.posterior["coef"].mean(("chain", "draw")).values
    intercept_mean = float(idata.posterior["intercept"].mean())
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, {**_errors(intercept_mean, coef_mean, reference, p),
                                     "n_iter": len(approx.hist)})


def bayes_sklearn_advi(seed: int, n: int, p: int, max_iter: int | None,
                       reference: dict[str, list[float]]) -> dict[str, Any]:
    """``BayesianLogisticRegression(inference="advi", batch_size=1000).fit(X, y)``."""
    imports = {"bayes_sklearn": timed_import("bayes_sklearn")}
    from bayes_sklearn import BayesianLogisticRegression

    X, y = logistic_data(n, p)
    options: dict[str, Any] = {} if max_iter is None else {"max_iter": max_iter}
    model = BayesianLogisticRegression(inference="advi", batch_size=BATCH_SIZE,
                                       random_state=seed, progressbar=False, **options)
    start = time.perf_counter()
    model.fit(X, y)
    elapsed = time.perf_counter() - start
    return record(elapsed, imports,
                  {**_errors(model.intercept_, model.coef_, reference, p),
                   "n_iter": model.n_iter_},
                  {"inference_method": model.inference_method_})


def _paired_runs(config: Config, params: dict[str, Any], reference: dict[str, list[float]],
                 notes: list[str]) -> list[PeerResult]:
    """Warm up both, then per repeat: ours, then raw PyMC at ours' iteration count."""
    base = {"n": params["n"], "p": params["p"], "reference": reference}
    ours = PeerSpec(SUBJECT, NAME, "bayes_sklearn_advi", {**base, "max_iter": params["max_iter"]})
    raw = PeerSpec(RAW, NAME, "raw_pymc_advi", base)
    results = {spec.name: PeerResult(spec.name) for spec in (raw, ours)}
    if config.warmup:
        attempt(ours, results[SUBJECT], {**ours.params, "max_iter": 200, "seed": 0},
                "warm-up", config)
        attempt(raw, results[RAW], {**raw.params, "n_iter": 200, "seed": 0}, "warm-up", config)
    for repeat in range(config.repeats):
        label, seed = f"run {repeat + 1}/{config.repeats}", repeat + 1
        if results[SUBJECT].error or results[RAW].error:
            break
        mine = attempt(ours, results[SUBJECT], {**ours.params, "seed": seed}, label, config)
        if mine is None:
            break
        results[SUBJECT].runs.append(mine)
        n_iter = int(mine["metrics"]["n_iter"])
        theirs = attempt(raw, results[RAW], {**raw.params, "n_iter": n_iter, "seed": seed},
                         label, config)
        if theirs is not None:
            results[RAW].runs.append(theirs)
    for result in results.values():
        if result.error:
            notes.append(f"{result.name}: ERROR {result.error}")
        if result.skipped:
            notes.append(f"{result.name}: skipped ({result.skipped})")
    return [results[RAW], results[SUBJECT]]


def run(config: Config) -> WorkloadResult:
    params = sizes(config.quick)
    notes: list[str] = []
    try:
        reference = run_task(NAME, "reference_posterior",
                             {"seed": 0, "n": params["n"], "p": params["p"]},
                             timeout=config.timeout_s)
        log(f"  [{NAME}] reference posterior ({reference['time_s']:.3g} s)")
        sd_range = (reference["metrics"]["min_sd"], reference["metrics"]["max_sd"])
        notes.append(f"reference posterior (Newton mode, Laplace sds) of the same model: "
                     f"posterior sds {sd_range[0]:.2g}-{sd_range[1]:.2g}")
        peers = _paired_runs(config, params, {"mean": reference["mean"], "sd": reference["sd"]},
                             notes)
    except TaskError as error:
        notes.append(f"reference posterior: ERROR {str(error).splitlines()[0]}")
        peers = [peer_from_runs(RAW, [], "no reference"), peer_from_runs(SUBJECT, [], "no reference")]
    section = Section(
        title=f"logistic, n={params['n']:,}, p={params['p']}, batch_size={BATCH_SIZE}, "
              "raw PyMC at bayes_sklearn's iteration count of the same seed",
        peers=peers,
        baseline=RAW,
        columns=[Column("n_iter", "iterations", ".0f"),
                 Column("max_err_posterior_sd", "max |mean - exact| (posterior sds)", ".2f"),
                 Column("coef_max_abs_err", "max |coef - truth|", ".4f")],
    )
    subject = section.peer(SUBJECT)
    targets = [
        Target.check(f"{SUBJECT} max |posterior mean - exact| in exact posterior sds",
                     subject.metric("max_err_posterior_sd"), "<=", SD_TARGET, config.quick,
                     [r["metrics"]["max_err_posterior_sd"] for r in subject.runs]),
        Target.check(f"{SUBJECT} fit time / raw pm.fit time at the same iterations",
                     section.ratio(SUBJECT), "<=", 0.5, config.quick,
                     section.ratios_per_run(SUBJECT)),
        peers_ran_target([section], config.quick),
    ]
    return WorkloadResult(NAME, summary_line(__doc__), {**params, "batch_size": BATCH_SIZE},
                          [section], targets, notes, config.quick)
