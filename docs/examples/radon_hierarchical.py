"""Hierarchical radon model: partial pooling with NUTS and with minibatch ADVI.

Gelman & Hill's Minnesota radon data: ``log_radon ~ floor`` with intercept and
floor slope varying by county. The script

* fits the model with NUTS (non-centred group effects) and with minibatch ADVI,
* compares their posteriors for the population parameters (a plot),
* shows the ADVI ELBO history (a plot),
* predicts for a county held out of the training data, where the estimator
  falls back on the population level or draws a new county from the fitted
  distribution of counties (a plot of both predictive intervals).

Run: ``python docs/examples/radon_hierarchical.py`` (figures go to
``docs/examples/figures/``); ``--fast`` uses short chains.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bayes_sklearn import HierarchicalRegression  # noqa: E402
from bayes_sklearn.datasets import load_radon  # noqa: E402
from bayes_sklearn.plotting import plot_elbo, plot_posterior_comparison  # noqa: E402

FIGURES = Path(__file__).parent / "figures"
HELD_OUT = "LAC QUI PARLE"  # a county with two houses: its own data say little


def main(draws: int = 1000, tune: int = 1000, chains: int = 4, max_iter: int = 20_000,
         outdir: Path = FIGURES) -> dict:
    outdir.mkdir(parents=True, exist_ok=True)
    radon = load_radon()
    train = radon[radon["county"] != HELD_OUT]
    X, y = train[["floor", "county"]], train["log_radon"]

    common = dict(group="county", varying_slopes=["floor"], random_state=0, progressbar=False)
    start = time.perf_counter()
    nuts = HierarchicalRegression(draws=draws, tune=tune, chains=chains, **common).fit(X, y)
    nuts_seconds = time.perf_counter() - start
    start = time.perf_counter()
    advi = HierarchicalRegression(inference="advi", batch_size=100, max_iter=max_iter,
                                  draws=draws, chains=chains, **common).fit(X, y)
    advi_seconds = time.perf_counter() - start

    columns = ["mean", "sd", "hdi_3%", "hdi_97%"]
    var_names = ["intercept", "coef", "sigma", "group_sd"]
    print(f"NUTS ({nuts_seconds:.1f} s): {nuts.convergence_}")
    print(nuts.summary(var_names=var_names)[columns + ["r_hat", "ess_bulk"]])
    print(f"\nminibatch ADVI ({advi_seconds:.1f} s, {advi.n_iter_} iterations):")
    print(advi.summary(var_names=var_names)[columns])

    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    plot_posterior_comparison({"NUTS": nuts, "minibatch ADVI": advi}, var_names, ax=ax)
    fig.savefig(outdir / "radon_nuts_vs_advi.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    plot_elbo(advi, ax=ax)
    fig.savefig(outdir / "radon_elbo.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    new_rows = pd.DataFrame({"floor": [0.0, 1.0], "county": [HELD_OUT, HELD_OUT]})
    actual = radon.loc[radon["county"] == HELD_OUT, ["floor", "log_radon"]]
    intervals = {}
    for policy in ("population", "sample"):
        nuts.set_params(new_groups=policy)
        intervals[policy] = nuts.predict_interval(new_rows, prob=0.9, kind="mean")
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for k, (policy, band) in enumerate(intervals.items()):
        for floor in (0, 1):
            ax.plot([floor + 0.08 * (2 * k - 1)] * 2, band[floor], lw=6, alpha=0.6, color=f"C{k}",
                    label=f"new_groups='{policy}'" if floor == 0 else None)
    ax.scatter(actual["floor"], actual["log_radon"], color="k", zorder=3,
               label=f"held-out houses of {HELD_OUT}")
    ax.set_xticks([0, 1], ["basement", "first floor"])
    ax.set_ylabel("log radon: 90% interval of the county mean")
    ax.legend(fontsize=8)
    fig.savefig(outdir / "radon_new_county.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    nuts.set_params(new_groups="population")
    return {"nuts": nuts, "advi": advi, "intervals": intervals,
            "seconds": {"nuts": nuts_seconds, "advi": advi_seconds}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="short chains (for CI)")
    args = parser.parse_args()
    if args.fast:
        main(draws=200, tune=200, chains=2, max_iter=3000)
    else:
        main()
