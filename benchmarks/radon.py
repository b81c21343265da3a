"""radon: non-centred hierarchical regression of the radon data with NUTS.

What it measures
----------------
``HierarchicalRegression(formula="floor + (floor || county)")`` fitted on
``load_radon()[["floor", "county"]]`` -> ``log_radon`` (919 rows, 85
counties; intercept and floor slope vary by county, independent and
non-centred, as in the raw model: the correlated ``(1 + floor | county)``,
which ``group="county", varying_slopes=["floor"]`` now means, is
``radon_correlated``'s), against
the equivalent hand-written non-centred PyMC model
(:func:`benchmarks._data.raw_radon_model`) sampled with ``pm.sample``. Both
use 4 chains x 1000 tune + 1000 draws (quick: 2 x 100 + 100) and
``target_accept=0.95``, the estimator's default for hierarchical models.
Reported: time, divergences (``idata.sample_stats["diverging"].sum()``) and
the smallest ArviZ bulk ESS over the population parameters (bayes_sklearn:
``intercept, coef, sigma, 1|county_sigma, floor|county_sigma`` of
``model.idata_.posterior``; raw
PyMC: its ``intercept, coef, sigma, group_sd``; Bambi: every variable
without a county dimension).

How
---
Each fit runs in a fresh process after its timed imports; the timed call is
model building + ``pm.sample`` (or ``estimator.fit``, lazy imports
included). One un-timed warm-up run per peer (20 draws) warms the disk
caches; medians over ``--repeats`` runs (seeds 1, 2, ...) are reported.

Peers
-----
raw ``pm.sample`` (baseline), nutpie on the raw model (optional), numpyro
via ``pm.sample(nuts_sampler="numpyro")`` (optional), Bambi
``log_radon ~ floor + (1 + floor | county)`` (optional; its own priors),
bayes_sklearn with ``nuts_sampler="pymc"`` and with the default sampler.

Each peer's seconds per effective sample (fit time over that min bulk ESS,
run by run) is reported beside its seconds, with both ratios to the baseline.

Target (issue 5)
----------------
bayes_sklearn (default) at most 1/4 of the raw ``pm.sample`` time and at most
1/4 of its seconds per effective sample, with 0 divergences and bulk ESS >=
400 for every population parameter. Every named peer must run.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks._data import (
    RAW_RADON_POPULATION,
    divergences,
    min_ess_bulk,
    radon_frame,
    raw_radon_model,
)
from benchmarks._harness import (
    Column,
    Config,
    PeerSpec,
    Section,
    Target,
    WorkloadResult,
    measure_peers,
    peers_ran_target,
    record,
    require,
    summary_line,
    timed_import,
)
from benchmarks.fit_logistic import S_PER_ESS, WARMUP, sampler_settings

NAME = "radon"
RAW = "pm.sample (raw PyMC, non-centred)"
SUBJECT = 'bayes_sklearn default ("auto")'
TARGET_ACCEPT = 0.95
BAYES_POPULATION = ["intercept", "coef", "sigma", "1|county_sigma", "floor|county_sigma"]
FORMULA = "floor + (floor || county)"


def _metrics(elapsed: float, idata, population: list[str] | None) -> dict[str, float]:
    ess = min_ess_bulk(idata.posterior, population)
    return {"min_ess_bulk_population": ess, "divergences": divergences(idata),
            S_PER_ESS: elapsed / ess if ess > 0 else None}


def raw_pymc(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """Model building + ``pm.sample`` of the hand-written non-centred model."""
    imports = {"pymc": timed_import("pymc"), "arviz": timed_import("arviz")}
    import pymc as pm

    frame = radon_frame()
    start = time.perf_counter()
    with raw_radon_model(frame):
        idata = pm.sample(draws, tune=tune, chains=chains, target_accept=TARGET_ACCEPT,
                          random_seed=seed, progressbar=False)
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, _metrics(elapsed, idata, RAW_RADON_POPULATION))


def nutpie_pymc(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """Model building + ``nutpie.compile_pymc_model`` + ``nutpie.sample``."""
    require("nutpie")
    imports = {"pymc": timed_import("pymc"), "nutpie": timed_import("nutpie")}
    import nutpie

    frame = radon_frame()
    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(raw_radon_model(frame))
    idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed,
                          target_accept=TARGET_ACCEPT, progress_bar=False)
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, _metrics(elapsed, idata, RAW_RADON_POPULATION))


def numpyro_pymc(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """Model building + ``pm.sample(nuts_sampler="numpyro")``."""
    require("numpyro")
    imports = {"pymc": timed_import("pymc"), "numpyro": timed_import("numpyro")}
    import pymc as pm

    frame = radon_frame()
    start = time.perf_counter()
    with raw_radon_model(frame):
        idata = pm.sample(draws, tune=tune, chains=chains, target_accept=TARGET_ACCEPT,
                          random_seed=seed, progressbar=False, nuts_sampler="numpyro")
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, _metrics(elapsed, idata, RAW_RADON_POPULATION))


def bambi_fit(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """``bmb.Model("log_radon ~ floor + (1 + floor | county)").fit(...)``."""
    require("bambi")
    imports = {"bambi": timed_import("bambi")}
    import bambi as bmb

    frame = radon_frame()
    n_counties = frame["county"].nunique()
    start = time.perf_counter()
    model = bmb.Model("log_radon ~ floor + (1 + floor | county)", frame)
    idata = model.fit(draws=draws, tune=tune, chains=chains, target_accept=TARGET_ACCEPT,
                      random_seed=seed, progressbar=False)
    elapsed = time.perf_counter() - start
    post = idata.posterior
    population = [name for name in post.data_vars
                  if all(post[name].sizes[dim] < n_counties for dim in post[name].dims
                         if dim not in ("chain", "draw"))]
    return record(elapsed, imports, _metrics(elapsed, idata, population))


def bayes_sklearn_fit(seed: int, draws: int, tune: int, chains: int,
                      nuts_sampler: str = "auto") -> dict[str, Any]:
    """``HierarchicalRegression(formula=FORMULA).fit``."""
    imports = {"bayes_sklearn": timed_import("bayes_sklearn")}
    from bayes_sklearn import HierarchicalRegression

    frame = radon_frame()
    model = HierarchicalRegression(formula=FORMULA, draws=draws, tune=tune, chains=chains,
                                   nuts_sampler=nuts_sampler, random_state=seed,
                                   progressbar=False)
    start = time.perf_counter()
    model.fit(frame[["floor", "county"]], frame["log_radon"])
    elapsed = time.perf_counter() - start
    idata = model.idata_
    return record(elapsed, imports, _metrics(elapsed, idata, BAYES_POPULATION),
                  {"inference_method": model.inference_method_,
                   "target_accept": model.target_accept})


def run(config: Config) -> WorkloadResult:
    mcmc = sampler_settings(config.quick)

    def spec(name: str, function: str, **extra: Any) -> PeerSpec:
        return PeerSpec(name, NAME, function, {**mcmc, **extra}, WARMUP)

    specs = [
        spec(RAW, "raw_pymc"),
        spec("nutpie (compile_pymc_model)", "nutpie_pymc"),
        spec("numpyro (pm.sample)", "numpyro_pymc"),
        spec("Bambi", "bambi_fit"),
        spec('bayes_sklearn nuts_sampler="pymc"', "bayes_sklearn_fit", nuts_sampler="pymc"),
        spec(SUBJECT, "bayes_sklearn_fit", nuts_sampler="auto"),
    ]
    notes: list[str] = []
    section = Section(
        title=f"radon, 919 rows, 85 counties, varying intercept + floor slope, "
              f"{mcmc['chains']} chains x {mcmc['tune']} tune + {mcmc['draws']} draws",
        peers=measure_peers(config, specs, notes),
        baseline=RAW,
        columns=[Column(S_PER_ESS, "s / ESS (population)", ".3g"),
                 Column("min_ess_bulk_population", "min bulk ESS (population)", ".0f"),
                 Column("divergences", "divergences", ".0f")],
        ratio_metrics=(S_PER_ESS,),
    )
    subject = section.peer(SUBJECT)
    divergent = [run["metrics"].get("divergences") for run in subject.runs]
    targets = [
        Target.check(f"{SUBJECT} fit time / raw pm.sample time", section.ratio(SUBJECT),
                     "<=", 0.25, config.quick, section.ratios_per_run(SUBJECT)),
        Target.check(f"{SUBJECT} seconds per effective sample (population) / raw pm.sample's",
                     section.metric_ratio(SUBJECT, S_PER_ESS), "<=", 0.25, config.quick,
                     section.ratios_per_run(SUBJECT, S_PER_ESS)),
        Target.check(f"{SUBJECT} divergences (largest over runs)",
                     max(divergent) if divergent and None not in divergent else None,
                     "<=", 0, config.quick),
        Target.check(f"{SUBJECT} min bulk ESS of population parameters",
                     subject.metric("min_ess_bulk_population"), ">=", 400, config.quick),
        peers_ran_target([section], config.quick),
    ]
    return WorkloadResult(NAME, summary_line(__doc__),
                          {"rows": 919, "groups": 85, "target_accept": TARGET_ACCEPT, **mcmc},
                          [section], targets, notes, config.quick)
