"""Simulation-based calibration of bayes_sklearn's posteriors: the full run.

Usage: ``python docs/calibration/sbc.py [--replications 1000]``. Prints, per
estimator and parameter, the chi-square p-value of uniform ranks (10 bins),
and writes rank histograms to ``docs/calibration/figures/sbc_ranks.png``.
The test suite (``tests/test_sbc.py``) runs the same checks with fewer
replications.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bayes_sklearn import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalLogisticRegression,
)
from bayes_sklearn.sbc import simulation_based_calibration

FIGURES = Path(__file__).parent / "figures"
NUTS = dict(draws=500, tune=500, chains=2, progressbar=False)


def cases(replications: int):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2)) * [1.0, 3.0] + [2.0, -1.0]
    x1 = rng.normal(size=40)
    X_correlated = np.column_stack([x1, x1 + 0.1 * rng.normal(size=40)])
    exact = BayesianLinearRegression(inference="exact", draws=500, chains=1)
    advi = BayesianLinearRegression(inference="advi", draws=500, chains=1, progressbar=False)
    X_grouped = rng.normal(size=(60, 2))
    groups = np.repeat(np.arange(6), 10)
    return [
        ("linear, exact", exact, X, replications, {}),
        ("linear, NUTS", BayesianLinearRegression(**NUTS), X, replications, {}),
        ("logistic, NUTS", BayesianLogisticRegression(**NUTS), X, replications, {}),
        ("linear, exact, collinear features", exact, X_correlated, replications, {}),
        ("should fail: fit prior sd 0.2, simulated sd 1", exact, X, replications // 5,
         {"prior_scale": 0.2, "simulate_prior_scale": 1.0}),
        ("should fail: mean-field ADVI, collinear features", advi, X_correlated,
         replications // 5, {}),
        ("hierarchical logistic, NUTS, 6 groups", HierarchicalLogisticRegression(**NUTS),
         X_grouped, replications, {"groups": groups}),
        ("should fail: mean-field ADVI, hierarchical logistic",
         HierarchicalLogisticRegression(inference="advi", draws=500, progressbar=False),
         X_grouped, replications // 5, {"groups": groups}),
    ]


def main(replications: int) -> None:
    import matplotlib.pyplot as plt

    results = []
    for label, estimator, X, n, kwargs in cases(replications):
        start = time.perf_counter()
        result = simulation_based_calibration(estimator, X, n, **kwargs)
        seconds = time.perf_counter() - start
        results.append((label, result))
        pvalues = ", ".join(
            f"{name} {p:.3g}" for name, p in zip(result.names, result.uniformity_pvalues())
        )
        print(f"{label}: {n} replications in {seconds:.0f} s; "
              f"Bonferroni min p = {result.min_pvalue():.3g}; per parameter: {pvalues}")
    FIGURES.mkdir(exist_ok=True)
    fig, axes = plt.subplots(len(results), 1, figsize=(7, 2.0 * len(results)), sharex=True)
    for ax, (label, result) in zip(axes, results):
        for name, ranks in zip(result.names, result.ranks.T):
            ax.hist(ranks, bins=10, range=(0, result.n_draws + 1), histtype="step", label=name)
        ax.axhline(len(result.ranks) / 10, color="k", lw=0.8, ls="--")
        ax.set_title(f"{label} (min p {result.min_pvalue():.2g})", fontsize=9)
        ax.legend(fontsize=6, ncol=len(result.names), loc="lower center")
    axes[-1].set_xlabel("rank of the true value among 99 posterior draws")
    fig.tight_layout()
    fig.savefig(FIGURES / "sbc_ranks.png", dpi=90)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    main(parser.parse_args().replications)
