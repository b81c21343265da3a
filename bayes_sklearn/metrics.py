"""Posterior distributions of performance metrics.

A single accuracy or AUC hides how sure the model is of its own quality.
Each posterior draw of the coefficients is a classifier (or regression line)
of its own; scoring every draw on the same held-out rows gives the posterior
distribution of the score under parameter uncertainty.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

_CLASSIFIER_SCORES: dict[str, Callable] = {
    "accuracy": lambda y, proba, classes: skm.accuracy_score(y, classes[np.argmax(proba, axis=1)]),
    "roc_auc": lambda y, proba, classes: (
        skm.roc_auc_score(y, proba[:, 1]) if proba.shape[1] == 2
        else skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    ),
    "log_loss": lambda y, proba, classes: skm.log_loss(y, proba, labels=classes),
    "brier": lambda y, proba, classes: float(
        np.mean(np.sum((proba - (np.asarray(y)[:, None] == classes[None, :])) ** 2, axis=1))
    ),
}
_REGRESSOR_SCORES: dict[str, Callable] = {
    "r2": skm.r2_score,
    "mse": skm.mean_squared_error,
    "mae": skm.mean_absolute_error,
}


def posterior_score(
    estimator,
    X,
    y,
    scoring: str | Callable = "accuracy",
    n_draws: int | None = 1000,
    random_state=None,
) -> np.ndarray:
    """Score every posterior draw of a fitted estimator on ``(X, y)``.

    Parameters
    ----------
    estimator : BayesianLogisticRegression or BayesianLinearRegression
        A fitted estimator.
    X : array-like or DataFrame
        Rows to score on (usually held out).
    y : array-like of shape (n_samples,)
        True targets.
    scoring : str or callable, default="accuracy"
        Classifiers: ``"accuracy"``, ``"roc_auc"``, ``"log_loss"``,
        ``"brier"``, or ``f(y_true, proba)`` with ``proba`` of shape
        ``(n_samples, n_classes)``. Regressors: ``"r2"``, ``"mse"``,
        ``"mae"``, or ``f(y_true, y_pred)``.
    n_draws : int or None, default=1000
        Number of draws to score (None: all).
    random_state : int, RandomState, Generator or None
        Seed for choosing the draws.

    Returns
    -------
    ndarray of shape (n_draws,)
        The score under each draw.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> from bayes_sklearn.metrics import posterior_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 1)); y = 2 * X[:, 0] + rng.normal(size=40)
    >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    >>> scores = posterior_score(model, X, y, scoring="r2", n_draws=200, random_state=0)
    >>> scores.shape  # least squares maximises in-sample R^2, so every draw scores below it
    (200,)
    >>> from sklearn.linear_model import LinearRegression
    >>> bool(scores.max() <= LinearRegression().fit(X, y).score(X, y))
    True
    """
    y = np.asarray(y)
    if hasattr(estimator, "predict_proba_draws"):
        draws = estimator.predict_proba_draws(X, n_draws=n_draws, random_state=random_state)
        classes = estimator.classes_
        if callable(scoring):
            return np.array([scoring(y, proba) for proba in draws])
        score = _lookup(_CLASSIFIER_SCORES, scoring)
        return np.array([score(y, proba, classes) for proba in draws])
    draws = estimator.predict_draws(X, n_draws=n_draws, random_state=random_state)
    score = scoring if callable(scoring) else _lookup(_REGRESSOR_SCORES, scoring)
    return np.array([score(y, mean) for mean in draws])


def _lookup(table: dict[str, Callable], name: str) -> Callable:
    if name not in table:
        raise ValueError(f"Unknown scoring {name!r}; choose from {sorted(table)} or pass a callable.")
    return table[name]
