"""Built-in data sets for demos, docs and tests."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd


def load_radon() -> pd.DataFrame:
    """Minnesota household radon measurements (Gelman & Hill 2007).

    919 households in 85 counties; the standard partial-pooling example
    ``log_radon ~ floor`` with intercept and slope varying by ``county``.
    Source and licence: ``bayes_sklearn/data/README.md``.

    Returns
    -------
    DataFrame
        All 29 columns of the survey extract, among them ``log_radon``
        (response), ``floor`` (0 basement, 1 first floor), ``county``
        (name), ``county_code`` (0..84) and ``Uppm`` (county soil uranium).

    Examples
    --------
    >>> from bayes_sklearn.datasets import load_radon
    >>> radon = load_radon()
    >>> radon.shape, radon["county"].nunique()
    ((919, 29), 85)
    """
    with resources.files("bayes_sklearn").joinpath("data/radon.csv").open("r") as handle:
        frame = pd.read_csv(handle)
    frame["county"] = frame["county"].str.strip()
    return frame


def make_logistic_interaction(
    n_samples: int = 250, random_state: int | None = 0
) -> tuple[pd.DataFrame, pd.Series]:
    """Simulated binary outcome with an interaction between two features.

    ``x1, x2 ~ Normal(0, 2)``, ``z = -0.5 + x1 - x2 + 2 x1 x2`` and
    ``y ~ Bernoulli(expit(z))``: the workflow of PyMC's GLM logistic example.

    Parameters
    ----------
    n_samples : int, default=250
        Number of rows.
    random_state : int or None, default=0
        Seed.

    Returns
    -------
    X : DataFrame
        Features, columns ``x1`` and ``x2``.
    y : Series
        Labels 0/1, named ``y``.

    Examples
    --------
    >>> from bayes_sklearn.datasets import make_logistic_interaction
    >>> X, y = make_logistic_interaction(100)
    >>> X.shape, sorted(y.unique().tolist())
    ((100, 2), [0, 1])
    """
    rng = np.random.default_rng(random_state)
    x1 = rng.normal(0.0, 2.0, n_samples)
    x2 = rng.normal(0.0, 2.0, n_samples)
    z = -0.5 + x1 - x2 + 2.0 * x1 * x2
    y = (rng.random(n_samples) < 1.0 / (1.0 + np.exp(-z))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2}), pd.Series(y, name="y")
