"""Scores for probabilistic predictions, and posterior distributions of scores.

Proper scoring rules judge the whole predictive distribution, not only its
mean: :func:`log_predictive_density` (any estimator) and :func:`crps`
(regressors), with the sklearn scorers :func:`lpd_scorer` and
:func:`neg_crps_scorer` for ``GridSearchCV(scoring=...)``; for classifiers
sklearn's ``scoring="neg_log_loss"`` is the log score already.

A single accuracy or AUC also hides how sure the model is of its own quality.
Each posterior draw of the coefficients is a classifier (or regression line)
of its own; :func:`posterior_score` scores every draw on the same held-out
rows, giving the posterior distribution of the score.

Each function takes a bayes_sklearn estimator or a Pipeline ending in one:
sklearn's Pipeline forwards ``predict_proba`` but not ``log_likelihood`` or
``sample_posterior_predictive``, so the pipeline's transforms are applied to
``X`` here and the last step is scored.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import logsumexp
from sklearn import metrics as skm
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import MetadataRequest

from bayes_sklearn.estimators._base import _validate_sample_weight

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
        A fitted estimator, or a fitted Pipeline ending in one (``X`` then
        goes through the pipeline's transforms first).
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
    estimator, X = _bayesian_step(estimator, X, ("predict_proba_draws", "predict_draws"))
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


def _bayesian_step(estimator, X, methods: tuple[str, ...]):
    """The estimator that has one of ``methods``, and ``X`` as it will see it.

    The estimator itself if it has one, else the last step of a Pipeline with
    ``X`` passed through the earlier steps' ``transform`` (sklearn's Pipeline
    only forwards its own methods, such as ``predict_proba``).
    """
    if any(hasattr(estimator, method) for method in methods):
        return estimator, X
    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps[:-1]:
            if step is not None and step != "passthrough":
                X = step.transform(X)
        return _bayesian_step(estimator.steps[-1][1], X, methods)
    raise ValueError(
        f"Scoring needs {' or '.join(methods)}, which {type(estimator).__name__} does "
        "not have: pass a fitted bayes_sklearn estimator, or a Pipeline ending in one."
    )


def _lookup(table: dict[str, Callable], name: str) -> Callable:
    if name not in table:
        raise ValueError(f"Unknown scoring {name!r}; choose from {sorted(table)} or pass a callable.")
    return table[name]


def log_predictive_density(estimator, X, y, sample_weight=None) -> float:
    """Mean log pointwise predictive density of ``(X, y)``; higher is better.

    ``mean_i log( mean_s p(y_i | theta_s) )`` over the posterior draws
    ``theta_s``: the log score of the posterior predictive distribution, a
    proper scoring rule for any family (for classifiers it is minus the log
    loss of the posterior mean probabilities).

    Parameters
    ----------
    estimator : fitted bayes_sklearn estimator, or Pipeline ending in one
        Estimator whose posterior predictive distribution is scored.
    X : array-like or DataFrame
        Rows to score on (usually held out).
    y : array-like of shape (n_samples,)
        True targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights of the rows: the mean over the rows is weighted
        (as ``sklearn.metrics.log_loss`` weights it), so weight 2 scores the
        row as two held-out copies, each predicted on its own. Non-negative
        and finite, not all zero. None means all 1.

    Returns
    -------
    float
        Mean over the rows of the log predictive density.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> from bayes_sklearn.metrics import log_predictive_density
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 1)); y = 2 * X[:, 0] + rng.normal(size=200)
    >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X[:100], y[:100])
    >>> lpd = log_predictive_density(model, X[100:], y[100:])
    >>> bool(abs(lpd - (-0.5 * np.log(2 * np.pi) - 0.5)) < 0.2)  # about N(0, 1)'s expected log density
    True
    """
    estimator, X = _bayesian_step(estimator, X, ("log_likelihood",))
    log_lik = np.asarray(estimator.log_likelihood(X, y))
    flat = log_lik.reshape(-1, log_lik.shape[-1])
    lpd = logsumexp(flat, axis=0) - np.log(flat.shape[0])
    if sample_weight is not None:
        # Each copy of a row is scored on its own, so the weights go into the
        # mean over rows, not into the densities (unlike log_likelihood's).
        sample_weight = _validate_sample_weight(sample_weight, lpd)
    return float(np.average(lpd, weights=sample_weight))


def crps(estimator, X, y, n_samples: int = 1000, random_state=0) -> float:
    """Mean continuous ranked probability score of a regressor; lower is better.

    ``CRPS(F, y) = E|Y - y| - E|Y - Y'| / 2`` for independent ``Y, Y' ~ F``,
    the posterior predictive distribution of the row. It is in the units of
    ``y`` (for a point forecast it reduces to the absolute error), and it is
    estimated from ``n_samples`` posterior predictive simulations with the
    unbiased ("fair") estimator of ``E|Y - Y'|``.

    Parameters
    ----------
    estimator : fitted BayesianLinearRegression or HierarchicalRegression
        Regressor whose posterior predictive distribution is scored, or a
        fitted Pipeline ending in one.
    X : array-like or DataFrame
        Rows to score on.
    y : array-like of shape (n_samples,)
        True targets.
    n_samples : int, default=1000
        Predictive simulations per row.
    random_state : int, RandomState, Generator or None, default=0
        Seed of the simulations; fixed by default so that the scores of
        candidates in a grid search differ by the models only.

    Returns
    -------
    float
        Mean CRPS over the rows, in the units of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> from bayes_sklearn.metrics import crps
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 1)); y = 2 * X[:, 0] + rng.normal(size=400)
    >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X[:200], y[:200])
    >>> score = crps(model, X[200:], y[200:])
    >>> bool(abs(score - 0.564) < 0.1)  # N(0, 1) forecasts of N(0, 1) noise: 1/sqrt(pi)
    True
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples!r}.")
    estimator, X = _bayesian_step(estimator, X, ("sample_posterior_predictive",))
    if hasattr(estimator, "predict_proba"):
        raise ValueError("crps scores regressors; for classifiers use scoring='neg_log_loss'.")
    samples = np.sort(estimator.sample_posterior_predictive(X, n_samples, random_state), axis=0)
    y = np.asarray(y, dtype=np.float64)
    if samples.shape[1] != len(y):
        raise ValueError(f"X has {samples.shape[1]} rows but y has {len(y)} values.")
    accuracy = np.abs(samples - y).mean(axis=0)
    # sum_{s,t} |Y_s - Y_t| = 2 sum_s (2s - S - 1) Y_(s) for sorted samples
    rank_weights = 2.0 * np.arange(1, n_samples + 1) - n_samples - 1
    spread = 2.0 * (rank_weights @ samples) / (n_samples * (n_samples - 1))
    return float(np.mean(accuracy - 0.5 * spread))


def lpd_scorer(estimator, X, y, sample_weight=None) -> float:
    """sklearn scorer: :func:`log_predictive_density` (greater is better).

    Pass it as ``scoring=lpd_scorer`` to ``GridSearchCV``,
    ``cross_val_score`` or ``cross_validate``. With
    ``sklearn.set_config(enable_metadata_routing=True)`` it requests
    ``sample_weight``, so ``cross_validate(..., params={"sample_weight":
    w})`` weighs each test fold's score by the fold's weights too.

    Parameters
    ----------
    estimator : fitted bayes_sklearn estimator, or Pipeline ending in one
        Estimator to score.
    X : array-like or DataFrame
        Rows to score on.
    y : array-like of shape (n_samples,)
        True targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights of the rows, as in :func:`log_predictive_density`.

    Returns
    -------
    float
        The mean log predictive density of ``(X, y)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> from bayes_sklearn.metrics import lpd_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(90, 2)); y = X @ [1.0, -1.0] + rng.normal(size=90)
    >>> scores = cross_val_score(BayesianLinearRegression(inference="exact"), X, y,
    ...                          cv=3, scoring=lpd_scorer)
    >>> scores.shape
    (3,)
    >>> # a Pipeline ending in a bayes_sklearn estimator is scored through its last step
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipe = make_pipeline(StandardScaler(), BayesianLinearRegression(inference="exact"))
    >>> bool(np.all(np.isfinite(cross_val_score(pipe, X, y, cv=3, scoring=lpd_scorer))))
    True
    """
    return log_predictive_density(estimator, X, y, sample_weight=sample_weight)


def _requests_sample_weight(owner: str) -> Callable[[], MetadataRequest]:
    """``get_metadata_routing`` of a scorer function that takes ``sample_weight``."""
    def get_metadata_routing() -> MetadataRequest:
        request = MetadataRequest(owner=owner)
        request.score.add_request(param="sample_weight", alias=True)
        return request
    return get_metadata_routing


# sklearn routes metadata only to the scorers that request it (a function has
# no set_score_request, so this one asks for its weights itself).
lpd_scorer.get_metadata_routing = _requests_sample_weight("lpd_scorer")


def neg_crps_scorer(estimator, X, y) -> float:
    """sklearn scorer: minus :func:`crps` (greater is better, like ``neg_mean_absolute_error``).

    Parameters
    ----------
    estimator : fitted BayesianLinearRegression or HierarchicalRegression
        Regressor to score, or a fitted Pipeline ending in one.
    X : array-like or DataFrame
        Rows to score on.
    y : array-like of shape (n_samples,)
        True targets.

    Returns
    -------
    float
        Minus the mean CRPS of ``(X, y)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> from bayes_sklearn.metrics import neg_crps_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(90, 2)); y = X @ [1.0, -1.0] + rng.normal(size=90)
    >>> search = GridSearchCV(BayesianLinearRegression(inference="exact", random_state=0),
    ...                       {"prior_scale": [0.01, 2.5]}, cv=3, scoring=neg_crps_scorer)
    >>> search.fit(X, y).best_params_  # a prior that shrinks the slopes to 0 forecasts worse
    {'prior_scale': 2.5}
    """
    return -crps(estimator, X, y)
