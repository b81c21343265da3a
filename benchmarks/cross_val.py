"""cross_val: 5-fold cross-validation of the seed logistic model.

What it measures
----------------
``sklearn.model_selection.cross_val_score`` (default scoring: accuracy) of
``BayesianLogisticRegression`` on all 250 rows of the seed data (x1, x2,
x1:x2), against the plain loop a PyMC user writes: for each of the
``KFold(5)`` splits, build a new PyMC model on the training rows, run
``pm.sample``, and score the posterior-mean probabilities on the held-out
rows. Both use the same ``KFold(5)`` splits (passed as ``cv``) and the same
sampler settings: 4 chains x 1000 tune + 1000 draws (quick: 2 x 100 + 100).

How
---
Each run is a fresh process; package imports are timed separately and the
timed call is the whole cross-validation (all 5 fits and the scoring). One
un-timed warm-up run per peer (20 draws) fills the disk caches first; medians
of ``--repeats`` runs are reported. The mean score of each peer is shown as a
sanity check (the two should agree closely).

Peers
-----
the raw PyMC loop (baseline), bayes_sklearn (default sampler) and sklearn's
``LogisticRegression`` (a point estimate, for scale).

Target (issue 5)
----------------
bayes_sklearn's ``cross_val_score`` takes at most 1/10 of the time of the
raw PyMC loop.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks._data import raw_logistic_model, seed_logistic
from benchmarks._harness import (
    Column,
    Config,
    PeerSpec,
    Section,
    Target,
    WorkloadResult,
    measure_peers,
    record,
    summary_line,
    timed_import,
)
from benchmarks.fit_logistic import WARMUP, sampler_settings

NAME = "cross_val"
RAW = "raw PyMC loop (KFold(5))"
SUBJECT = "bayes_sklearn cross_val_score"
N_SPLITS = 5


def raw_loop(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """A new PyMC model and ``pm.sample`` per fold; accuracy of the mean probability."""
    imports = {"pymc": timed_import("pymc"),
               "sklearn.model_selection": timed_import("sklearn.model_selection")}
    import numpy as np
    import pymc as pm
    from sklearn.model_selection import KFold

    X, y = seed_logistic(train=False)
    start = time.perf_counter()
    scores = []
    for train, test in KFold(N_SPLITS).split(X):
        with raw_logistic_model(X[train], y[train]):
            idata = pm.sample(draws, tune=tune, chains=chains, random_seed=seed,
                              progressbar=False)
        intercept = idata.posterior["intercept"].values.reshape(-1)
        coef = idata.posterior["coef"].values.reshape(-1, X.shape[1])
        eta = intercept[:, None] + coef @ X[test].T
        proba = (1.0 / (1.0 + np.exp(-eta))).mean(axis=0)
        scores.append(np.mean((proba > 0.5) == y[test]))
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, {"mean_score": float(np.mean(scores))})


def bayes_sklearn_cv(seed: int, draws: int, tune: int, chains: int) -> dict[str, Any]:
    """``cross_val_score(BayesianLogisticRegression(...), X, y, cv=KFold(5))``."""
    imports = {"bayes_sklearn": timed_import("bayes_sklearn"),
               "sklearn.model_selection": timed_import("sklearn.model_selection")}
    from sklearn.model_selection import KFold, cross_val_score

    from bayes_sklearn import BayesianLogisticRegression

    X, y = seed_logistic(train=False)
    model = BayesianLogisticRegression(draws=draws, tune=tune, chains=chains,
                                       random_state=seed, progressbar=False)
    start = time.perf_counter()
    scores = cross_val_score(model, X, y, cv=KFold(N_SPLITS))
    elapsed = time.perf_counter() - start
    return record(elapsed, imports, {"mean_score": float(scores.mean())})


def sklearn_cv(seed: int) -> dict[str, Any]:
    """``cross_val_score(LogisticRegression(), X, y, cv=KFold(5))``."""
    imports = {"sklearn.linear_model": timed_import("sklearn.linear_model"),
               "sklearn.model_selection": timed_import("sklearn.model_selection")}
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, cross_val_score

    X, y = seed_logistic(train=False)
    start = time.perf_counter()
    scores = cross_val_score(LogisticRegression(), X, y, cv=KFold(N_SPLITS))
    return record(time.perf_counter() - start, imports, {"mean_score": float(scores.mean())})


def run(config: Config) -> WorkloadResult:
    mcmc = sampler_settings(config.quick)
    specs = [
        PeerSpec(RAW, NAME, "raw_loop", mcmc, WARMUP),
        PeerSpec("sklearn LogisticRegression cross_val_score", NAME, "sklearn_cv"),
        PeerSpec(SUBJECT, NAME, "bayes_sklearn_cv", mcmc, WARMUP),
    ]
    notes: list[str] = []
    section = Section(
        title=f"5-fold CV, 250 rows, {mcmc['chains']} chains x {mcmc['tune']} tune + "
              f"{mcmc['draws']} draws per fold",
        peers=measure_peers(config, specs, notes),
        baseline=RAW,
        columns=[Column("mean_score", "mean accuracy", ".3f")],
    )
    targets = [Target.check(f"{SUBJECT} time / raw PyMC loop time", section.ratio(SUBJECT),
                            "<=", 0.1, config.quick)]
    return WorkloadResult(NAME, summary_line(__doc__), {"rows": 250, "folds": N_SPLITS, **mcmc},
                          [section], targets, notes, config.quick)
