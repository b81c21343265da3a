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


def _read_packaged_csv(name: str, factors: list[str]) -> pd.DataFrame:
    """A CSV from ``bayes_sklearn/data`` with the ``factors`` columns read as strings."""
    with resources.files("bayes_sklearn").joinpath(f"data/{name}").open("r") as handle:
        return pd.read_csv(handle, dtype={column: str for column in factors})


def load_penicillin() -> pd.DataFrame:
    """Penicillin assay on 24 plates with 6 samples each (lme4's ``Penicillin``).

    A fully crossed design: every one of the six penicillin samples was
    assayed once on every one of 24 plates (Davies & Goldsmith 1972, via the
    R package lme4). The standard model is ``diameter ~ 1 + (1 | plate) +
    (1 | sample)``, two crossed random intercepts. Source and licence:
    ``bayes_sklearn/data/README.md``.

    Returns
    -------
    DataFrame
        144 rows, columns ``diameter`` (int, mm, diameter of the zone of
        growth inhibition; response), ``plate`` (str, ``"a"`` .. ``"x"``) and
        ``sample`` (str, ``"A"`` .. ``"F"``).

    Examples
    --------
    >>> from bayes_sklearn.datasets import load_penicillin
    >>> penicillin = load_penicillin()
    >>> penicillin.shape, penicillin["plate"].nunique(), penicillin["sample"].nunique()
    ((144, 3), 24, 6)
    """
    return _read_packaged_csv("penicillin.csv", ["plate", "sample"])


def load_pastes() -> pd.DataFrame:
    """Paste strength, 3 casks in each of 10 batches, 2 assays per cask (lme4's ``Pastes``).

    A nested design (Davies & Goldsmith 1972, via the R package lme4): the
    cask labels ``"a"`` .. ``"c"`` are reused in every batch, so cask ``"a"``
    of batch ``"A"`` and cask ``"a"`` of batch ``"B"`` are different casks;
    ``sample`` (``"A:a"`` .. ``"J:c"``, 30 levels) names the cask within its
    batch. The standard model is ``strength ~ 1 + (1 | batch/cask)``, i.e.
    ``(1 | batch) + (1 | batch:cask)``. Source and licence:
    ``bayes_sklearn/data/README.md``.

    Returns
    -------
    DataFrame
        60 rows, columns ``strength`` (float, paste strength; response),
        ``batch`` (str, ``"A"`` .. ``"J"``), ``cask`` (str, ``"a"`` .. ``"c"``,
        within batch) and ``sample`` (str, ``batch + ":" + cask``).

    Examples
    --------
    >>> from bayes_sklearn.datasets import load_pastes
    >>> pastes = load_pastes()
    >>> pastes.shape, pastes[["batch", "cask", "sample"]].nunique().tolist()
    ((60, 4), [10, 3, 30])
    """
    return _read_packaged_csv("pastes.csv", ["batch", "cask", "sample"])


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
