"""real_data: default-settings NUTS fits and 5-fold CV of six data sets, against every peer.

What it measures
----------------
Issue 16: bayes_sklearn at its **default settings** (4 chains x 1000 tune +
1000 draws; quick: 2 x 100 + 100) on real data and on one deliberately
ill-conditioned synthetic set, one table per data set:

``breast_cancer``
    ``sklearn.datasets.load_breast_cancer``, 569 rows, 30 features
    standardised with ``StandardScaler`` (fit on all rows), binary ->
    ``BayesianLogisticRegression()``.
``diabetes``
    ``load_diabetes``, 442 rows, 10 features as sklearn ships them (centred
    and scaled), ``y`` on its original scale -> ``BayesianLinearRegression()``.
``wine``
    ``load_wine``, 178 rows, 13 standardised features, 3 classes ->
    ``BayesianLogisticRegression()`` (softmax, family ``"categorical"``, the
    first class the reference: 2 x 13 coefficients and 2 intercepts).
``fair``
    statsmodels' ``datasets.fair`` (6366 rows), ``y = affairs > 0`` ->
    ``BayesianLogisticRegression(formula="C(occupation) + C(educ) + age +
    yrs_married + children + religious + rate_marriage")`` on the frame: 15
    coefficients and the intercept.
``radon``
    :func:`benchmarks._data.radon_frame` (919 rows, 85 counties) ->
    ``HierarchicalRegression(formula="floor + (floor || county)",
    target_accept=0.95)`` as in ``radon``; every peer samples at
    ``target_accept=0.95`` too.
``correlated_linear``
    synthetic (seed 0), 5000 rows, 24 raw columns far from standard scale:
    ``x ~ N(50, 10)``, ``x**2``, ``x**3``, a second measurement ``z = x +
    N(0, 2)``, the 5 dummies of a 6-level factor and their products
    with ``x``, ``x**2`` and ``z`` -> ``BayesianLinearRegression()``. The
    section title gives the largest absolute pairwise correlation of the
    columns and the condition number of the standardised ``X^T X``.

For every MCMC peer, from its draws and the same ArviZ calls: fit time; min
bulk ESS and max r_hat over the population parameters (``intercept``,
``coef``, ``sigma``; radon: as in ``radon``, ``intercept, coef, sigma,
1|county_sigma, floor|county_sigma``; Bambi: every variable without an
observation or county axis); ESS per second (min bulk ESS / fit time);
divergences; mean tree depth and mean leapfrog steps per post-warm-up draw;
and *time to a converged posterior*: the fit time when min bulk ESS >= 400
and max r_hat <= 1.01, otherwise none, with the reason in the notes.
bayes_sklearn's task also counts the ``BayesianConvergenceWarning`` its fit
raises.

A second table per data set times 5-fold CV: ``cross_val_score(estimator,
X, y, cv=KFold(5, shuffle=True, random_state=0))`` (default scoring:
accuracy or R^2) against a plain PyMC loop over the same splits that builds
``estimator.to_pymc`` on each training fold, runs ``pm.sample`` and scores
the posterior-mean prediction of the held-out rows (for ``fair`` on the
formula's design matrix, which is the same in every fold: every level is in
every training fold; for ``radon`` a county missing from a training fold
gets the population line, as the estimator's ``new_groups="population"``).

How
---
Every run is a fresh process (:mod:`benchmarks._worker`) that times its
imports first, builds its data, then times only the fit as a user calls it:
model building (``to_pymc``) + ``pm.sample``, nutpie's compile + sample, the
numpyro model + ``MCMC.run`` **including JAX's JIT compile** (what a user
pays), ``bmb.Model`` + ``fit``, ``estimator.fit`` (lazy imports included).
The fit peers get one un-timed warm-up run each (20 draws, disk caches) and
``--repeats`` round-robin timed runs (medians); the two CV peers run once
(no warm-up: the fit peers of the same model warmed the caches) to keep the
run time bounded. ``REAL_DATA_SETS=diabetes,wine`` (environment) restricts
the data sets; the selection is recorded in the results. On 2 cores the
quick run of all six takes about 20 minutes and a full run of ``diabetes``
and ``wine`` about 23; a full run of all six is estimated at 3-4 hours,
most of it ``correlated_linear``, whose raw-scale PyMC peers sample at
large tree depths (and its CV loop samples five of them).

Peers
-----
raw ``pm.sample`` on ``estimator.to_pymc(X, y)``, the very model (priors
and the intercept at the feature means, ``intercept_c``, included) that
bayes_sklearn fits (the baseline); nutpie (``compile_pymc_model`` +
``sample``) on the same model; a hand-written **native numpyro** model with
the same likelihood, priors and ``intercept_c`` parameterisation (the prior
parameters and the design matrix are read off the ``to_pymc`` model before
timing; float64 via ``numpyro.enable_x64()``, as the other peers;
``numpyro.set_host_device_count(chains)`` and ``chain_method="parallel"``,
so its chains share the cores as every other peer's do, recorded per run); Bambi with the equivalent formula and **its own default priors**
(wine: ``family="categorical"``; radon: ``(1 + floor | county)`` as in
``radon``); sklearn's point fit for scale (``LogisticRegression``, or
``BayesianRidge`` for the regressions; radon: on ``floor`` and the county
dummies); bayes_sklearn with its defaults (the subject).

Targets (issue 16), per data set
--------------------------------
bayes_sklearn's fit time at most 1/10 of ``pm.sample``'s and at most 1/4 of
the fastest other MCMC peer's (nutpie, numpyro, Bambi; run by run); its ESS
per second at least 5x the best other MCMC peer's; converged (min bulk ESS
>= 400 and max r_hat <= 1.01 in every run); its 5-fold ``cross_val_score``
at most 1/10 of the PyMC loop's time; for ``correlated_linear`` also no
``BayesianConvergenceWarning`` at default settings. Every named peer must
run (a skipped or failed peer fails the workload).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from typing import Any

from benchmarks._data import divergences, radon_frame
from benchmarks._harness import (
    Column,
    Config,
    PeerResult,
    PeerSpec,
    Section,
    Target,
    TaskError,
    WorkloadResult,
    log,
    measure_peers,
    peers_ran_target,
    record,
    require,
    run_task,
    summary_line,
    timed_import,
)
from benchmarks.fit_logistic import WARMUP, sampler_settings

NAME = "real_data"
DATASETS = ("breast_cancer", "diabetes", "wine", "fair", "radon", "correlated_linear")
#: Environment variable restricting the data sets (comma-separated names).
SELECT_ENV = "REAL_DATA_SETS"
RAW = "pm.sample on model.to_pymc(X, y)"
NUTPIE = "nutpie on model.to_pymc(X, y)"
NUMPYRO = "numpyro NUTS, native model (JIT included)"
BAMBI = "Bambi (its default priors)"
SUBJECT = "bayes_sklearn default"
CV_RAW = "PyMC loop: to_pymc + pm.sample per fold"
CV_SUBJECT = "bayes_sklearn cross_val_score"
CV_SKLEARN = "sklearn cross_val_score"
OTHER_MCMC = (NUTPIE, NUMPYRO, BAMBI)
N_SPLITS = 5
FAIR_FORMULA = ("C(occupation) + C(educ) + age + yrs_married + children + religious "
                "+ rate_marriage")
RADON_FORMULA = "floor + (floor || county)"
RADON_POPULATION = ["intercept", "coef", "sigma", "1|county_sigma", "floor|county_sigma"]
#: Convergence: the issue's bar for a usable posterior.
MIN_ESS, MAX_RHAT = 400.0, 1.01
ESS_PER_S = "ess_per_s"
CONVERGED_S = "time_to_converged_s"
CORRELATED_ROWS, CORRELATED_LEVELS = 5000, 6


def _kind(dataset: str) -> str:
    """The likelihood of ``dataset``: bernoulli, categorical, gaussian or hierarchical."""
    return {"breast_cancer": "bernoulli", "diabetes": "gaussian", "wine": "categorical",
            "fair": "bernoulli", "radon": "hierarchical",
            "correlated_linear": "gaussian"}[dataset]


def _target_accept(dataset: str) -> float:
    """The estimator's default: 0.95 for the hierarchical model, 0.8 otherwise."""
    return 0.95 if dataset == "radon" else 0.8


# -- data ---------------------------------------------------------------------------


def correlated_design(n: int = CORRELATED_ROWS, seed: int = 0):
    """The 24 raw, strongly correlated columns of ``correlated_linear`` and their names."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(50.0, 10.0, n)
    z = x + rng.normal(0.0, 2.0, n)
    level = rng.integers(0, CORRELATED_LEVELS, n)
    dummies = np.stack([(level == k).astype(float) for k in range(1, CORRELATED_LEVELS)],
                       axis=1)
    columns = [x, x**2, x**3, z]
    names = ["x", "x^2", "x^3", "z"]
    for block, label in ((None, ""), (x, "*x"), (x**2, "*x^2"), (z, "*z")):
        for k in range(dummies.shape[1]):
            columns.append(dummies[:, k] if block is None else dummies[:, k] * block)
            names.append(f"g{k + 1}{label}")
    return np.column_stack(columns), names


def _correlated_xy():
    import numpy as np

    X, _ = correlated_design()
    rng = np.random.default_rng(1)
    # a smooth curve in x and z, a level shift and slope per level, noise sd 5
    coef = np.array([2.0, -0.02, 1e-4, 0.5]
                    + [3.0, -2.0, 1.0, 0.5, -1.0]
                    + [0.05, -0.05, 0.02, 0.0, 0.03]
                    + [1e-3, 0.0, -1e-3, 5e-4, 0.0]
                    + [0.02, 0.0, -0.02, 0.01, 0.0])
    y = 10.0 + X @ coef + rng.normal(0.0, 5.0, X.shape[0])
    return X, y


def fair_frame():
    """statsmodels' fair data with ``affair = affairs > 0`` (0/1)."""
    import statsmodels.api as sm

    frame = sm.datasets.fair.load_pandas().data
    return frame.assign(affair=(frame["affairs"] > 0).astype(int))


def load(dataset: str):
    """``(X, y)`` as the estimator gets them (a frame for ``fair`` and ``radon``)."""
    import numpy as np

    if dataset in ("breast_cancer", "wine"):
        from sklearn.datasets import load_breast_cancer, load_wine
        from sklearn.preprocessing import StandardScaler

        loader = load_breast_cancer if dataset == "breast_cancer" else load_wine
        X, y = loader(return_X_y=True)
        return StandardScaler().fit_transform(X), np.asarray(y)
    if dataset == "diabetes":
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        return X, np.asarray(y, dtype=float)
    if dataset == "fair":
        frame = fair_frame()
        return frame.drop(columns=["affairs", "affair", "occupation_husb"]), \
            frame["affair"].to_numpy()
    if dataset == "radon":
        frame = radon_frame()
        return frame[["floor", "county"]], frame["log_radon"].to_numpy()
    if dataset == "correlated_linear":
        return _correlated_xy()
    raise ValueError(f"unknown data set {dataset!r}; choose from {DATASETS}")


def make_estimator(dataset: str, **params: Any):
    """The estimator of ``dataset`` with its default settings (and ``params``)."""
    from bayes_sklearn import (
        BayesianLinearRegression,
        BayesianLogisticRegression,
        HierarchicalRegression,
    )

    params = {"progressbar": False, **params}
    if dataset == "fair":
        return BayesianLogisticRegression(formula=FAIR_FORMULA, **params)
    if dataset == "radon":
        return HierarchicalRegression(formula=RADON_FORMULA, target_accept=0.95, **params)
    if _kind(dataset) == "gaussian":
        return BayesianLinearRegression(**params)
    return BayesianLogisticRegression(**params)


def _population(dataset: str) -> list[str]:
    if dataset == "radon":
        return RADON_POPULATION
    return ["intercept", "coef"] + (["sigma"] if _kind(dataset) == "gaussian" else [])


def _mcmc(draws: int, tune: int, chains: int) -> dict[str, int]:
    return {"draws": draws, "tune": tune, "chains": chains}


# -- metrics, the same for every sampler's draws --------------------------------------


def mcmc_metrics(elapsed: float, posterior, var_names: list[str], stats: dict[str, Any]
                 ) -> tuple[dict[str, float | None], dict[str, str]]:
    """Min bulk ESS, max r_hat, ESS/s, divergences, mean depth and steps, converged time.

    ``stats`` holds post-warm-up arrays ``diverging``, ``depth`` and
    ``n_steps`` (missing ones are left out). Returns the metrics and an info
    dict with the reason when the posterior is not converged.
    """
    import arviz as az
    import numpy as np

    subset = posterior[var_names]
    ess = float(az.ess(subset, method="bulk").to_array().min())
    rhat_values = np.asarray(az.rhat(subset).to_array(), dtype=float)
    rhat = float(np.max(rhat_values)) if np.all(np.isfinite(rhat_values)) else math.nan
    metrics: dict[str, float | None] = {
        "min_ess_bulk": ess,
        "max_rhat": rhat if math.isfinite(rhat) else None,
        ESS_PER_S: ess / elapsed if elapsed > 0 else None,
    }
    for key, name in (("diverging", "divergences"), ("depth", "mean_tree_depth"),
                      ("n_steps", "mean_n_steps")):
        if stats.get(key) is not None:
            values = np.asarray(stats[key], dtype=float)
            metrics[name] = float(values.sum() if key == "diverging" else values.mean())
    problems = []
    if not ess >= MIN_ESS:
        problems.append(f"min bulk ESS {ess:.0f} < {MIN_ESS:.0f}")
    if not (math.isfinite(rhat) and rhat <= MAX_RHAT):
        problems.append(f"max r_hat {rhat:.3f} > {MAX_RHAT}")
    metrics[CONVERGED_S] = None if problems else elapsed
    return metrics, ({"not_converged": "; ".join(problems)} if problems else {})


def _idata_stats(idata, depth_name: str = "tree_depth") -> dict[str, Any]:
    stats = idata.sample_stats
    depth = depth_name if depth_name in stats else ("depth" if "depth" in stats
                                                    else "tree_depth")
    return {"diverging": stats["diverging"].values if "diverging" in stats else None,
            "depth": stats[depth].values if depth in stats else None,
            "n_steps": stats["n_steps"].values if "n_steps" in stats else None}


# -- fit tasks (run in a fresh process by benchmarks._worker) --------------------------


def describe(dataset: str) -> dict[str, Any]:
    """Rows, coefficients and conditioning of ``dataset``'s design (not timed)."""
    import numpy as np

    X, y = load(dataset)
    inputs = make_estimator(dataset)._model_inputs(X, y)
    design = np.asarray(inputs.X_design, dtype=float)
    metrics: dict[str, float] = {"rows": design.shape[0], "coefficients": design.shape[1]}
    if design.shape[1] > 1:
        Z = (design - design.mean(axis=0)) / design.std(axis=0)
        corr = np.corrcoef(design, rowvar=False)
        metrics["max_abs_corr"] = float(np.max(np.abs(corr - np.eye(len(corr)))))
        metrics["condition_number"] = float(np.linalg.cond(Z.T @ Z))
    if _kind(dataset) == "categorical":
        metrics["classes"] = len(np.unique(y))
    if dataset == "radon":
        metrics["groups"] = int(X["county"].nunique())
    return record(0.0, {}, metrics)


def raw_pymc(dataset: str, seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """``estimator.to_pymc(X, y)`` + ``pm.sample`` (model building included)."""
    imports = {"pymc": timed_import("pymc"), "arviz": timed_import("arviz"),
               "bayes_sklearn": timed_import("bayes_sklearn")}
    import pymc as pm

    X, y = load(dataset)
    start = time.perf_counter()
    with make_estimator(dataset).to_pymc(X, y):
        idata = pm.sample(draws, tune=tune, chains=chains, target_accept=_target_accept(dataset),
                          random_seed=seed, progressbar=False)
    elapsed = time.perf_counter() - start
    metrics, info = mcmc_metrics(elapsed, idata.posterior, _population(dataset),
                                 _idata_stats(idata))
    return record(elapsed, imports, metrics, info)


def nutpie_pymc(dataset: str, seed: int, draws: int, tune: int, chains: int
                ) -> dict[str, Any]:
    """``to_pymc`` + ``nutpie.compile_pymc_model`` + ``nutpie.sample``."""
    require("nutpie")
    imports = {"pymc": timed_import("pymc"), "nutpie": timed_import("nutpie"),
               "bayes_sklearn": timed_import("bayes_sklearn")}
    import nutpie

    X, y = load(dataset)
    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(make_estimator(dataset).to_pymc(X, y))
    idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed,
                          target_accept=_target_accept(dataset), progress_bar=False)
    elapsed = time.perf_counter() - start
    metrics, info = mcmc_metrics(elapsed, idata.posterior, _population(dataset),
                                 _idata_stats(idata, "depth"))
    return record(elapsed, imports, metrics, info)


def reference_inputs(dataset: str) -> dict[str, Any]:
    """The ``to_pymc`` model's data and prior parameters (``pm.Data`` values), as arrays."""
    import numpy as np

    X, y = load(dataset)
    model = make_estimator(dataset).to_pymc(X, y)
    values = {v.name: np.asarray(v.get_value()) for v in model.data_vars}
    names = {v.name: type(v.owner.op).__name__ for v in model.free_RVs}
    expected = {"coef": "Normal", "intercept_c": "Normal", "sigma": "Exponential",
                "county_sigma": "HalfNormal", "county_offset": "Normal"}
    for name, dist in expected.items():
        if name in names and names[name] != f"{dist}RV":
            raise RuntimeError(f"to_pymc's {name} is {names[name]}, the numpyro model "
                               f"assumes {dist}: update numpyro_model")
    missing = sorted(set(names) - set(expected))
    if missing:
        raise RuntimeError(f"to_pymc has free variables {missing} the numpyro model lacks")
    return values


def numpyro_model(kind: str, data: dict[str, Any]):
    """The hand-written numpyro model of ``kind`` with the reference model's priors.

    Free variables as in ``to_pymc``: ``coef``, ``intercept_c`` (the
    intercept at the feature means ``x_mean``), ``sigma`` (gaussian), and for
    the radon term ``county_sigma`` (HalfNormal) and the standard-normal
    ``county_offset``; ``intercept = intercept_c - x_mean @ coef``.
    """
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    X = jnp.asarray(data["X"], dtype=jnp.float64)
    y = jnp.asarray(data["y_data"])
    x_mean = jnp.asarray(data["x_mean"], dtype=jnp.float64)
    coef_mu, coef_sigma = data["coef_mu"], data["coef_sigma"]
    ic_mu, ic_sigma = data["intercept_c_mu"], data["intercept_c_sigma"]

    def model():
        if kind == "categorical":
            m = len(ic_mu)
            coef = numpyro.sample("coef", dist.Normal(
                jnp.broadcast_to(coef_mu[:, None], (len(coef_mu), m)),
                jnp.broadcast_to(coef_sigma[:, None], (len(coef_mu), m))).to_event(2))
            intercept_c = numpyro.sample("intercept_c",
                                         dist.Normal(ic_mu, ic_sigma).to_event(1))
        else:
            coef = numpyro.sample("coef", dist.Normal(coef_mu, coef_sigma).to_event(1))
            intercept_c = numpyro.sample("intercept_c", dist.Normal(ic_mu[0], ic_sigma[0]))
        intercept = numpyro.deterministic("intercept", intercept_c - x_mean @ coef)
        eta = X @ coef + intercept
        if kind == "hierarchical":
            Z = jnp.asarray(data["county__design"], dtype=jnp.float64)
            codes = jnp.asarray(data["county__code"])
            n_levels = int(data["n_levels"])
            sd = numpyro.sample("county_sigma",
                                dist.HalfNormal(data["county_sigma_sigma"]).to_event(1))
            numpyro.deterministic("1|county_sigma", sd[0])
            numpyro.deterministic("floor|county_sigma", sd[1])
            offset = numpyro.sample("county_offset", dist.Normal(
                jnp.zeros((n_levels, 2)), 1.0).to_event(2))
            effects = offset * sd[None, :]
            eta = eta + (effects[codes] * Z).sum(axis=1)
        if kind in ("gaussian", "hierarchical"):
            sigma = numpyro.sample("sigma", dist.Exponential(1.0 / data["sigma_scale"][0]))
            numpyro.sample("y", dist.Normal(eta, sigma), obs=y)
        elif kind == "bernoulli":
            numpyro.sample("y", dist.Bernoulli(logits=eta), obs=y)
        else:
            logits = jnp.concatenate([jnp.zeros((eta.shape[0], 1)), eta], axis=1)
            numpyro.sample("y", dist.Categorical(logits=logits), obs=y)

    return model


def numpyro_native(dataset: str, seed: int, draws: int, tune: int, chains: int
                   ) -> dict[str, Any]:
    """A native numpyro model + ``MCMC(NUTS).run``, JIT compile included in the time."""
    require("numpyro")
    imports = {"numpyro": timed_import("numpyro"), "jax": timed_import("jax")}
    import numpyro

    # before JAX's backend starts: one host device per chain, so that the
    # chains run in parallel on the cores as every other peer's do; float64
    numpyro.set_host_device_count(max(2, chains))
    numpyro.enable_x64()
    import arviz as az
    import jax
    import numpy as np
    from numpyro.infer import MCMC, NUTS

    data = reference_inputs(dataset)
    if dataset == "radon":
        data["n_levels"] = int(data["county__code"].max()) + 1
    devices = jax.local_device_count()
    chain_method = "parallel" if chains <= devices else "sequential"
    start = time.perf_counter()
    model = numpyro_model(_kind(dataset), data)
    mcmc = MCMC(NUTS(model, target_accept_prob=_target_accept(dataset)), num_warmup=tune,
                num_samples=draws, num_chains=chains, chain_method=chain_method,
                progress_bar=False)
    mcmc.run(jax.random.PRNGKey(seed), extra_fields=("num_steps", "diverging"))
    samples = mcmc.get_samples(group_by_chain=True)
    jax.block_until_ready(samples)
    elapsed = time.perf_counter() - start
    posterior = az.convert_to_dataset({k: np.asarray(v) for k, v in samples.items()})
    extra = mcmc.get_extra_fields(group_by_chain=True)
    steps = np.asarray(extra["num_steps"], dtype=float)
    # numpyro reports no tree depth: a tree of depth d takes 2**(d-1) to 2**d - 1 steps
    stats = {"diverging": np.asarray(extra["diverging"]), "n_steps": steps,
             "depth": np.ceil(np.log2(steps + 1.0))}
    metrics, info = mcmc_metrics(elapsed, posterior, _population(dataset), stats)
    return record(elapsed, imports, metrics,
                  {**info, "chain_method": chain_method, "devices": str(devices)})


def bambi_spec(dataset: str) -> tuple[str, Any, str]:
    """Bambi's formula, data frame and family for ``dataset``."""
    import pandas as pd

    X, y = load(dataset)
    if dataset == "fair":
        return f"affair ~ {FAIR_FORMULA}", X.assign(affair=y), "bernoulli"
    if dataset == "radon":
        return ("log_radon ~ floor + (1 + floor | county)", X.assign(log_radon=y),
                "gaussian")
    names = [f"x{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=names)
    kind = _kind(dataset)
    if kind == "categorical":
        frame["y"] = pd.Categorical([f"class_{label}" for label in y])
    else:
        frame["y"] = y
    return "y ~ " + " + ".join(names), frame, kind


def _bambi_population(posterior, limit: int) -> list[str]:
    """Variables whose every non-sample axis is shorter than ``limit`` (no rows, no groups)."""
    return [name for name in posterior.data_vars
            if all(posterior[name].sizes[dim] < limit for dim in posterior[name].dims
                   if dim not in ("chain", "draw"))]


def bambi_fit(dataset: str, seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """``bmb.Model(formula, frame, family).fit(...)`` (PyMC's sampler, Bambi's priors)."""
    require("bambi")
    imports = {"bambi": timed_import("bambi")}
    import bambi as bmb

    formula, frame, family = bambi_spec(dataset)
    limit = frame["county"].nunique() if dataset == "radon" else len(frame)
    start = time.perf_counter()
    model = bmb.Model(formula, frame, family=family)
    idata = model.fit(draws=draws, tune=tune, chains=chains,
                      target_accept=_target_accept(dataset), random_seed=seed,
                      progressbar=False)
    elapsed = time.perf_counter() - start
    population = _bambi_population(idata.posterior, limit)
    metrics, info = mcmc_metrics(elapsed, idata.posterior, population, _idata_stats(idata))
    return record(elapsed, imports, metrics, {**info, "population": ", ".join(population)})


def _sklearn_xy(dataset: str):
    """The design matrix (formula or county dummies) and ``y`` for the sklearn peer."""
    import numpy as np
    import pandas as pd

    X, y = load(dataset)
    if dataset == "fair":
        from bayes_sklearn.design.formula import FormulaDesign

        _, X = FormulaDesign.fit(X, FAIR_FORMULA)
    elif dataset == "radon":
        X = pd.get_dummies(X, columns=["county"], drop_first=True, dtype=float).to_numpy()
    return np.asarray(X, dtype=float), y


def _sklearn_estimator(dataset: str):
    from sklearn.linear_model import BayesianRidge, LogisticRegression

    if _kind(dataset) in ("gaussian", "hierarchical"):
        return BayesianRidge()
    return LogisticRegression(max_iter=10_000)


def sklearn_fit(dataset: str, seed: int) -> dict[str, Any]:
    """sklearn's point fit of the same design (for scale)."""
    imports = {"sklearn.linear_model": timed_import("sklearn.linear_model")}
    X, y = _sklearn_xy(dataset)
    estimator = _sklearn_estimator(dataset)
    start = time.perf_counter()
    estimator.fit(X, y)
    return record(time.perf_counter() - start, imports, {},
                  {"estimator": type(estimator).__name__})


def bayes_sklearn_fit(dataset: str, seed: int, draws: int, tune: int, chains: int
                      ) -> dict[str, Any]:
    """``estimator.fit(X, y)`` at default settings; its convergence warnings counted."""
    imports = {"bayes_sklearn": timed_import("bayes_sklearn")}
    from bayes_sklearn import BayesianConvergenceWarning

    X, y = load(dataset)
    model = make_estimator(dataset, random_state=seed, **_mcmc(draws, tune, chains))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X, y)
        elapsed = time.perf_counter() - start
    convergence = [w for w in caught if issubclass(w.category, BayesianConvergenceWarning)]
    idata = model.idata_
    metrics, info = mcmc_metrics(elapsed, idata.posterior, _population(dataset),
                                 _idata_stats(idata))
    metrics["convergence_warnings"] = len(convergence)
    if convergence:
        info["convergence_warning"] = str(convergence[0].message).splitlines()[0][:300]
    return record(elapsed, imports, metrics,
                  {**info, "engine": model.engine_, "method": model.inference_method_})


# -- cross-validation tasks ------------------------------------------------------------


def _folds(n: int):
    from sklearn.model_selection import KFold

    return KFold(N_SPLITS, shuffle=True, random_state=0), list(
        KFold(N_SPLITS, shuffle=True, random_state=0).split(range(n)))


def _loop_inputs(dataset: str):
    """``(X, y)`` and the estimator of the PyMC loop: fair on its formula's design matrix."""
    X, y = load(dataset)
    if dataset == "fair":
        from bayes_sklearn import BayesianLogisticRegression
        from bayes_sklearn.design.formula import FormulaDesign

        _, X = FormulaDesign.fit(X, FAIR_FORMULA)
        return X, y, BayesianLogisticRegression(progressbar=False)
    return X, y, make_estimator(dataset)


def _loop_score(dataset: str, posterior, model, X_test, y_test) -> float:
    """Accuracy of the posterior-mean probabilities, or R^2 of the posterior-mean line."""
    import numpy as np
    from scipy.special import expit, softmax
    from sklearn.metrics import r2_score

    kind = _kind(dataset)
    intercept = posterior["intercept"].values
    intercept = intercept.reshape(-1, *intercept.shape[2:])
    coef = posterior["coef"].values
    coef = coef.reshape(-1, *coef.shape[2:])
    if kind == "hierarchical":
        floor = X_test["floor"].to_numpy(dtype=float)
        levels = list(model.coords["county__factor_dim"])
        index = {level: i for i, level in enumerate(levels)}
        codes = np.array([index.get(c, -1) for c in X_test["county"].to_numpy()])
        known = codes >= 0
        a = posterior["1|county"].values.reshape(-1, len(levels))
        b = posterior["floor|county"].values.reshape(-1, len(levels))
        mu = intercept[:, None] + coef[:, :1] * floor[None, :]
        mu[:, known] += a[:, codes[known]] + b[:, codes[known]] * floor[None, known]
        return float(r2_score(y_test, mu.mean(axis=0)))
    X_test = np.asarray(X_test, dtype=float)
    if kind == "gaussian":
        return float(r2_score(y_test, (intercept[:, None] + coef @ X_test.T).mean(axis=0)))
    if kind == "bernoulli":
        proba = expit(intercept[:, None] + coef @ X_test.T).mean(axis=0)
        return float(np.mean((proba > 0.5) == y_test))
    # categorical: coef (draws, features, classes - 1); the first class is the reference
    eta = np.einsum("np,dpk->dnk", X_test, coef) + intercept[:, None, :]
    logits = np.concatenate([np.zeros(eta.shape[:2] + (1,)), eta], axis=2)
    proba = softmax(logits, axis=2).mean(axis=0)
    return float(np.mean(proba.argmax(axis=1) == y_test))


def _take(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


def raw_cv_loop(dataset: str, seed: int, draws: int, tune: int, chains: int
                ) -> dict[str, Any]:
    """Per fold: ``to_pymc`` on the training rows, ``pm.sample``, score the held-out rows."""
    imports = {"pymc": timed_import("pymc"), "bayes_sklearn": timed_import("bayes_sklearn"),
               "sklearn.model_selection": timed_import("sklearn.model_selection")}
    import numpy as np
    import pymc as pm

    X, y, estimator = _loop_inputs(dataset)
    _, splits = _folds(len(y))
    start = time.perf_counter()
    scores = []
    for train, test in splits:
        model = estimator.to_pymc(_take(X, train), y[train])
        with model:
            idata = pm.sample(draws, tune=tune, chains=chains,
                              target_accept=_target_accept(dataset), random_seed=seed,
                              progressbar=False)
        scores.append(_loop_score(dataset, idata.posterior, model, _take(X, test), y[test]))
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, {"mean_score": float(np.mean(scores))})


def bayes_sklearn_cv(dataset: str, seed: int, draws: int, tune: int, chains: int
                     ) -> dict[str, Any]:
    """``cross_val_score(estimator, X, y, cv=KFold(5, shuffle=True, random_state=0))``."""
    imports = {"bayes_sklearn": timed_import("bayes_sklearn"),
               "sklearn.model_selection": timed_import("sklearn.model_selection")}
    from sklearn.model_selection import cross_val_score

    X, y = load(dataset)
    model = make_estimator(dataset, random_state=seed, **_mcmc(draws, tune, chains))
    cv, _ = _folds(len(y))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        scores = cross_val_score(model, X, y, cv=cv)
        elapsed = time.perf_counter() - start
    from bayes_sklearn import BayesianConvergenceWarning

    count = sum(issubclass(w.category, BayesianConvergenceWarning) for w in caught)
    return record(elapsed, imports, {"mean_score": float(scores.mean()),
                                     "convergence_warnings": count})


def sklearn_cv(dataset: str, seed: int) -> dict[str, Any]:
    """``cross_val_score`` of the sklearn point estimator on the same splits."""
    imports = {"sklearn.model_selection": timed_import("sklearn.model_selection")}
    from sklearn.model_selection import cross_val_score

    X, y = _sklearn_xy(dataset)
    cv, _ = _folds(len(y))
    start = time.perf_counter()
    scores = cross_val_score(_sklearn_estimator(dataset), X, y, cv=cv)
    return record(time.perf_counter() - start, imports, {"mean_score": float(scores.mean())})


# -- the workload -----------------------------------------------------------------------


def selected_datasets() -> list[str]:
    """The data sets to run: all, or those named in ``$REAL_DATA_SETS``."""
    chosen = [name.strip() for name in os.environ.get(SELECT_ENV, "").split(",")
              if name.strip()]
    unknown = [name for name in chosen if name not in DATASETS]
    if unknown:
        raise ValueError(f"{SELECT_ENV} names unknown data sets {unknown}; "
                         f"choose from {', '.join(DATASETS)}")
    return [name for name in DATASETS if name in chosen] if chosen else list(DATASETS)


def _describe(dataset: str, config: Config, notes: list[str]) -> dict[str, float]:
    try:
        return run_task(NAME, "describe", {"dataset": dataset},
                        timeout=config.timeout_s)["metrics"]
    except TaskError as error:
        log(f"  [{NAME}] {dataset}: describe FAILED: {error}")
        notes.append(f"{dataset}: describing the data FAILED: {str(error).splitlines()[0]}")
        return {}


def _title(dataset: str, facts: dict[str, float], mcmc: dict[str, int]) -> str:
    def number(key: str) -> str:
        value = facts.get(key)
        return "?" if value is None else f"{value:.0f}"

    parts = [f"{dataset}: {number('rows')} rows, {number('coefficients')} coefficients"]
    if dataset == "wine":
        parts.append(f"{number('classes')} classes (softmax, per non-reference class)")
    if dataset == "radon":
        parts.append(f"{number('groups')} counties, {RADON_FORMULA}")
    if dataset == "fair":
        parts.append(f"formula {FAIR_FORMULA}")
    if dataset == "correlated_linear" and facts.get("max_abs_corr") is not None:
        parts.append(f"max |pairwise corr| {facts['max_abs_corr']:.4f}, condition number "
                     f"of standardised X^T X {facts['condition_number']:.3g}")
    parts.append(f"{mcmc['chains']} chains x {mcmc['tune']} tune + {mcmc['draws']} draws, "
                 f"target_accept={_target_accept(dataset)}")
    return ", ".join(parts)


def _per_run_against_fastest(section: Section, peers: tuple[str, ...]) -> tuple[
        float | None, list[float]]:
    """Subject time over the fastest of ``peers`` (medians), and run by run."""
    medians = [section.peer(name).median_s for name in peers]
    medians = [m for m in medians if m is not None and m > 0]
    subject = section.peer(SUBJECT)
    value = (subject.median_s / min(medians)) if medians and subject.median_s else None
    per_run = []
    for i, run in enumerate(subject.runs):
        others = [section.peer(name).runs[i]["time_s"] for name in peers
                  if i < len(section.peer(name).runs)]
        if others and min(others) > 0:
            per_run.append(run["time_s"] / min(others))
    return value, per_run


def _ess_per_s_against_best(section: Section) -> tuple[float | None, list[float], str]:
    """Subject ESS/s over the best other MCMC peer's (medians), run by run, and its name."""
    others = [(section.peer(name).metric(ESS_PER_S), name) for name in (RAW, *OTHER_MCMC)]
    others = [(value, name) for value, name in others if value is not None and value > 0]
    mine = section.peer(SUBJECT).metric(ESS_PER_S)
    if not others or mine is None:
        return None, [], "-"
    best, best_name = max(others)
    per_run = []
    for i, run in enumerate(section.peer(SUBJECT).runs):
        values = [section.peer(name).runs[i]["metrics"].get(ESS_PER_S)
                  for name in (RAW, *OTHER_MCMC) if i < len(section.peer(name).runs)]
        values = [v for v in values if v is not None and v > 0]
        if values and run["metrics"].get(ESS_PER_S) is not None:
            per_run.append(run["metrics"][ESS_PER_S] / max(values))
    return mine / best, per_run, best_name


def _extreme(peer: PeerResult, key: str, largest: bool) -> float | None:
    values = [run.get("metrics", {}).get(key) for run in peer.runs]
    if not values or any(v is None for v in values):
        return None
    return max(values) if largest else min(values)


def _convergence_notes(dataset: str, peers: list[PeerResult]) -> list[str]:
    notes = []
    for peer in peers:
        reasons = [run.get("info", {}).get("not_converged") for run in peer.runs]
        bad = [(i + 1, r) for i, r in enumerate(reasons) if r]
        if bad:
            notes.append(f"{dataset}: {peer.name} not converged in run(s) "
                         + "; ".join(f"{i}: {r}" for i, r in bad))
        warned = [run.get("info", {}).get("convergence_warning") for run in peer.runs]
        warned = [w for w in warned if w]
        if warned:
            notes.append(f"{dataset}: {peer.name} BayesianConvergenceWarning: {warned[0]}")
        methods = {run.get("info", {}).get("chain_method") for run in peer.runs} - {None}
        if methods:
            notes.append(f"{dataset}: {peer.name} chain_method {', '.join(sorted(methods))}")
    return notes


FIT_COLUMNS = [Column(ESS_PER_S, "ESS / s", ".3g"),
               Column("min_ess_bulk", "min bulk ESS", ".0f"),
               Column("max_rhat", "max r_hat", ".3f"),
               Column("divergences", "divergences", ".0f"),
               Column("mean_tree_depth", "mean tree depth", ".2f"),
               Column("mean_n_steps", "mean leapfrog steps", ".1f"),
               Column(CONVERGED_S, "time to converged (s)", ".3g")]


def _dataset_run(dataset: str, config: Config, notes: list[str]
                 ) -> tuple[list[Section], list[Target], dict[str, Any]]:
    mcmc = sampler_settings(config.quick)
    facts = _describe(dataset, config, notes)
    sklearn_name = ("sklearn BayesianRidge" if _kind(dataset) in ("gaussian", "hierarchical")
                    else "sklearn LogisticRegression")

    def spec(name: str, function: str) -> PeerSpec:
        return PeerSpec(name, NAME, function, {"dataset": dataset, **mcmc}, WARMUP)

    fit_specs = [
        spec(RAW, "raw_pymc"),
        spec(NUTPIE, "nutpie_pymc"),
        spec(NUMPYRO, "numpyro_native"),
        spec(BAMBI, "bambi_fit"),
        PeerSpec(sklearn_name, NAME, "sklearn_fit", {"dataset": dataset}),
        spec(SUBJECT, "bayes_sklearn_fit"),
    ]
    log(f"  [{NAME}] {dataset}: fits")
    fit = Section(title=_title(dataset, facts, mcmc), peers=measure_peers(config, fit_specs, notes),
                  baseline=RAW, columns=FIT_COLUMNS)
    # CV: one run each, no warm-up (the fit peers of the same model warmed the caches)
    cv_config = dataclasses.replace(config, repeats=1, warmup=False)
    cv_specs = [
        PeerSpec(CV_RAW, NAME, "raw_cv_loop", {"dataset": dataset, **mcmc}),
        PeerSpec(f"{CV_SKLEARN} ({sklearn_name[len('sklearn '):]})", NAME, "sklearn_cv",
                 {"dataset": dataset}),
        PeerSpec(CV_SUBJECT, NAME, "bayes_sklearn_cv", {"dataset": dataset, **mcmc}),
    ]
    log(f"  [{NAME}] {dataset}: 5-fold CV")
    cv = Section(title=f"{dataset}: 5-fold CV, KFold(5, shuffle=True, random_state=0), "
                       f"{mcmc['chains']} x {mcmc['tune']} + {mcmc['draws']} per fold, one run",
                 peers=measure_peers(cv_config, cv_specs, notes), baseline=CV_RAW,
                 columns=[Column("mean_score", "mean score", ".3f"),
                          Column("convergence_warnings", "convergence warnings", ".0f")])
    notes.extend(_convergence_notes(dataset, fit.peers))
    subject = fit.peer(SUBJECT)
    fastest, fastest_runs = _per_run_against_fastest(fit, OTHER_MCMC)
    ess_ratio, ess_runs, best = _ess_per_s_against_best(fit)
    quick = config.quick
    targets = [
        Target.check(f"{dataset}: {SUBJECT} fit time / pm.sample's", fit.ratio(SUBJECT),
                     "<=", 0.1, quick, fit.ratios_per_run(SUBJECT)),
        Target.check(f"{dataset}: {SUBJECT} fit time / fastest of nutpie, numpyro, Bambi",
                     fastest, "<=", 0.25, quick, fastest_runs),
        Target.check(f"{dataset}: {SUBJECT} ESS/s / best other MCMC peer's ({best})",
                     ess_ratio, ">=", 5, quick, ess_runs),
        Target.check(f"{dataset}: {SUBJECT} min bulk ESS (smallest over runs)",
                     _extreme(subject, "min_ess_bulk", largest=False), ">=", MIN_ESS, quick),
        Target.check(f"{dataset}: {SUBJECT} max r_hat (largest over runs)",
                     _extreme(subject, "max_rhat", largest=True), "<=", MAX_RHAT, quick),
        Target.check(f"{dataset}: {CV_SUBJECT} time / PyMC loop's", cv.ratio(CV_SUBJECT),
                     "<=", 0.1, quick),
    ]
    if dataset == "correlated_linear":
        targets.append(Target.check(
            f"{dataset}: {SUBJECT} BayesianConvergenceWarnings (largest over runs)",
            _extreme(subject, "convergence_warnings", largest=True), "<=", 0, quick))
    return [fit, cv], targets, {k: v for k, v in facts.items()}


def run(config: Config) -> WorkloadResult:
    datasets = selected_datasets()
    notes: list[str] = []
    if datasets != list(DATASETS):
        notes.append(f"data sets restricted by ${SELECT_ENV}: {', '.join(datasets)}")
    sections: list[Section] = []
    targets: list[Target] = []
    facts: dict[str, Any] = {}
    for dataset in datasets:
        dataset_sections, dataset_targets, facts[dataset] = _dataset_run(dataset, config,
                                                                         notes)
        sections += dataset_sections
        targets += dataset_targets
    targets.append(peers_ran_target(sections, config.quick))
    params = {"datasets": datasets, "facts": facts, "cv_repeats": 1,
              **sampler_settings(config.quick)}
    return WorkloadResult(NAME, summary_line(__doc__), params, sections, targets, notes,
                          config.quick)
