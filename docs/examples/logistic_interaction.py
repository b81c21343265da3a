"""Bayesian logistic regression with an interaction, end to end.

The workflow of PyMC's GLM logistic example, in a few lines: simulate
``x1, x2 ~ Normal(0, 2)`` and ``y ~ Bernoulli(expit(-0.5 + x1 - x2 + 2 x1 x2))``,
fit ``formula="x1 * x2"`` on 70% of the rows, predict the other 30% (the
formula is re-applied unchanged), then look at the ROC curve, the decision
boundary with its posterior uncertainty and the posterior distribution of the
test accuracy.

Run: ``python docs/examples/logistic_interaction.py`` (figures are written to
``docs/examples/figures/``); ``--fast`` uses short chains.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import RocCurveDisplay, accuracy_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from bayes_sklearn import BayesianLogisticRegression  # noqa: E402
from bayes_sklearn.metrics import posterior_score  # noqa: E402
from bayes_sklearn.plotting import plot_decision_boundary, plot_score_distribution  # noqa: E402

FIGURES = Path(__file__).parent / "figures"


def simulate(n: int = 250, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 2, n)
    x2 = rng.normal(0, 2, n)
    z = -0.5 + x1 - x2 + 2 * x1 * x2
    y = rng.binomial(1, 1 / (1 + np.exp(-z)))
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})


def main(draws: int = 1000, tune: int = 1000, chains: int = 4, outdir: Path = FIGURES) -> dict:
    outdir.mkdir(parents=True, exist_ok=True)
    data = simulate()
    train, test = train_test_split(data, train_size=0.7, random_state=0)

    clf = BayesianLogisticRegression(formula="x1 * x2", draws=draws, tune=tune, chains=chains,
                                     random_state=0, progressbar=False)
    clf.fit(train[["x1", "x2"]], train["y"])
    print(clf.summary(hdi_prob=0.94)[["mean", "sd", "hdi_3%", "hdi_97%", "r_hat"]])

    proba = clf.predict_proba(test[["x1", "x2"]])[:, 1]
    accuracy = accuracy_score(test["y"], clf.predict(test[["x1", "x2"]]))
    auc = roc_auc_score(test["y"], proba)
    print(f"\ntest accuracy {accuracy:.3f}, ROC AUC {auc:.3f}")

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    RocCurveDisplay.from_estimator(clf, test[["x1", "x2"]], test["y"], ax=ax)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    fig.savefig(outdir / "roc_curve.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 5))
    plot_decision_boundary(clf, test[["x1", "x2"]], test["y"], n_draws=100, ax=ax)
    fig.savefig(outdir / "decision_boundary.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    scores = posterior_score(clf, test[["x1", "x2"]], test["y"], scoring="accuracy",
                             n_draws=1000, random_state=0)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    plot_score_distribution(scores, label="test accuracy", reference=accuracy, ax=ax)
    fig.savefig(outdir / "accuracy_posterior.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    low, high = np.quantile(scores, [0.05, 0.95])
    print(f"posterior of test accuracy: 90% interval [{low:.3f}, {high:.3f}]")
    return {"accuracy": accuracy, "auc": auc, "summary": clf.summary(), "accuracy_draws": scores}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="short chains (for CI)")
    args = parser.parse_args()
    if args.fast:
        main(draws=200, tune=200, chains=2)
    else:
        main()
