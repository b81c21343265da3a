"""The main job: Bayesian logistic regression with an interaction, next to sklearn.

Run with ``python -m bayes_sklearn demo``.
"""

from __future__ import annotations

import time

from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from bayes_sklearn.datasets import make_logistic_interaction
from bayes_sklearn.estimators import BayesianLogisticRegression


def run_demo(draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int = 0) -> dict:
    """Fit both models on one split and print a comparison.

    Returns
    -------
    dict
        Test accuracy and ROC AUC of both models, and the fit time.
    """
    X, y = make_logistic_interaction(250, random_state=seed)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=0.7, random_state=seed, stratify=y
    )
    start = time.perf_counter()
    bayes = BayesianLogisticRegression(
        formula="x1 * x2", draws=draws, tune=tune, chains=chains, random_state=seed,
        progressbar=False,
    ).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    # sklearn gets the same interaction column by hand
    freq = LogisticRegression().fit(X_train.assign(x1x2=X_train.x1 * X_train.x2), y_train)
    X_test_freq = X_test.assign(x1x2=X_test.x1 * X_test.x2)

    p_bayes = bayes.predict_proba(X_test)[:, 1]
    p_freq = freq.predict_proba(X_test_freq)[:, 1]
    results = {
        "bayes_accuracy": accuracy_score(y_test, bayes.predict(X_test)),
        "bayes_auc": roc_auc_score(y_test, p_bayes),
        "sklearn_accuracy": accuracy_score(y_test, freq.predict(X_test_freq)),
        "sklearn_auc": roc_auc_score(y_test, p_freq),
        "fit_seconds": fit_seconds,
    }
    print("Logistic regression with an interaction: z = -0.5 + x1 - x2 + 2 x1 x2")
    print(f"{len(X_train)} training rows, {len(X_test)} test rows\n")
    print(bayes.summary(hdi_prob=0.9)[["mean", "sd", "hdi_5%", "hdi_95%", "r_hat", "ess_bulk"]])
    print(f"\nNUTS fit: {fit_seconds:.1f} s ({chains} chains x {draws} draws)\n")
    print(f"{'model':<34}{'accuracy':>10}{'ROC AUC':>10}")
    print(f"{'BayesianLogisticRegression':<34}{results['bayes_accuracy']:>10.3f}{results['bayes_auc']:>10.3f}")
    print(f"{'sklearn LogisticRegression':<34}{results['sklearn_accuracy']:>10.3f}{results['sklearn_auc']:>10.3f}")
    low, high = bayes.predict_proba_interval(X_test[:1], prob=0.9)[0, 1]
    print(
        f"\nFirst test row: P(y=1) = {p_bayes[0]:.3f}, 90% credible interval "
        f"[{low:.3f}, {high:.3f}] (sklearn gives only {p_freq[0]:.3f})."
    )
    return results


if __name__ == "__main__":  # pragma: no cover
    run_demo()
