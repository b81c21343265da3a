"""Data sets and the hand-written PyMC models the workloads share.

Every function imports what it needs when called, so that a task can time
its package imports before anything here runs. Data are deterministic
(fixed seeds), so every process of a workload sees the same rows.
"""

from __future__ import annotations

from typing import Any

#: Seed of the simulated data sets; the fit seeds vary per repeat instead.
DATA_SEED = 0
#: True coefficients of the simulated logistic and gaussian data (first p used).
TRUE_COEF = (1.0, -0.5, 0.25, 0.0, 2.0, -1.5, 0.75, -0.25, 0.5, -1.0,
             0.3, -0.3, 1.2, -0.8, 0.1, -0.1, 0.6, -0.6, 0.9, -0.9)
TRUE_INTERCEPT = -0.5
TRUE_SIGMA = 1.0


def seed_logistic_frame(train: bool = True):
    """The seed model's rows as a DataFrame ``x1, x2, x1:x2, y``.

    ``make_logistic_interaction(250, random_state=0)`` with an added
    ``x1:x2`` column; ``train=True`` keeps the 70% training split
    (``train_test_split(train_size=0.7, random_state=0)``, 175 rows).
    """
    from sklearn.model_selection import train_test_split

    from bayes_sklearn.datasets import make_logistic_interaction

    X, y = make_logistic_interaction(250, random_state=0)
    X["x1:x2"] = X["x1"] * X["x2"]
    if train:
        X, _, y, _ = train_test_split(X, y, train_size=0.7, random_state=0)
    return X.assign(y=y)


def seed_logistic(train: bool = True):
    """``X`` (float64, 3 columns) and ``y`` (0/1) of :func:`seed_logistic_frame`."""
    frame = seed_logistic_frame(train)
    return frame[["x1", "x2", "x1:x2"]].to_numpy(), frame["y"].to_numpy()


def new_logistic_rows(n_rows: int, seed: int = 123):
    """``n_rows`` new rows of the seed model's features (x1, x2, x1:x2)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = np.empty((n_rows, 3))
    X[:, 0] = rng.normal(0.0, 2.0, n_rows)
    X[:, 1] = rng.normal(0.0, 2.0, n_rows)
    np.multiply(X[:, 0], X[:, 1], out=X[:, 2])
    return X


def true_coef(p: int):
    import numpy as np

    if p > len(TRUE_COEF):
        raise ValueError(f"at most {len(TRUE_COEF)} simulated features")
    return np.array(TRUE_COEF[:p])


def logistic_data(n: int, p: int, seed: int = DATA_SEED):
    """Standard normal features and ``y ~ Bernoulli(expit(-0.5 + X @ TRUE_COEF[:p]))``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = TRUE_INTERCEPT + X @ true_coef(p)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int64)
    return X, y


def gaussian_data(n: int, p: int, seed: int = DATA_SEED):
    """Standard normal features and ``y = -0.5 + X @ TRUE_COEF[:p] + Normal(0, 1)``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = TRUE_INTERCEPT + X @ true_coef(p) + TRUE_SIGMA * rng.standard_normal(n)
    return X, y


def radon_frame():
    """``floor``, ``county`` and ``log_radon`` of :func:`bayes_sklearn.datasets.load_radon`."""
    from bayes_sklearn.datasets import load_radon

    return load_radon()[["floor", "county", "log_radon"]]


# -- the raw PyMC a user writes ------------------------------------------------


def raw_logistic_model(X, y):
    """The page of PyMC a user writes for the seed model, with the same priors.

    ``coef_j ~ Normal(0, 2.5 / sd(x_j))`` and ``intercept ~ Normal(0, 2.5)``,
    as bayes_sklearn's autoscaled defaults (its intercept is defined at the
    feature means, which changes the geometry, not the model).
    """
    import pymc as pm

    with pm.Model() as model:
        intercept = pm.Normal("intercept", 0, 2.5)
        coef = pm.Normal("coef", 0, 2.5 / X.std(axis=0), shape=X.shape[1])
        pm.Bernoulli("y", logit_p=intercept + pm.math.dot(X, coef), observed=y)
    return model


def raw_radon_model(frame):
    """Hand-written non-centred radon model: intercept and floor slope vary by county.

    Priors follow bayes_sklearn's autoscaling on the original scale:
    ``intercept ~ Normal(mean(y), 2.5 sd(y))``, ``coef ~ Normal(0, 2.5
    sd(y) / sd(floor))``, ``sigma ~ Exponential(mean sd(y))`` and group
    standard deviations ``HalfNormal(sd(y))`` (intercept) and
    ``HalfNormal(sd(y) / sd(floor))`` (slope).
    """
    import numpy as np
    import pymc as pm

    y = frame["log_radon"].to_numpy()
    floor = frame["floor"].to_numpy(dtype=float)
    county, counties = _factorize(frame["county"].to_numpy())
    y_sd, x_sd = float(np.std(y)), float(np.std(floor))
    with pm.Model(coords={"county": counties, "effect": ["intercept", "floor"]}) as model:
        intercept = pm.Normal("intercept", float(np.mean(y)), 2.5 * y_sd)
        coef = pm.Normal("coef", 0.0, 2.5 * y_sd / x_sd)
        group_sd = pm.HalfNormal("group_sd", sigma=np.array([y_sd, y_sd / x_sd]), dims="effect")
        z = pm.Normal("z", 0.0, 1.0, dims=("county", "effect"))
        a = intercept + group_sd[0] * z[:, 0]
        b = coef + group_sd[1] * z[:, 1]
        sigma = pm.Exponential("sigma", scale=y_sd)
        pm.Normal("y", mu=a[county] + b[county] * floor, sigma=sigma, observed=y)
    return model


#: Population-level parameters of :func:`raw_radon_model`.
RAW_RADON_POPULATION = ["intercept", "coef", "sigma", "group_sd"]


def _factorize(labels) -> tuple[Any, Any]:
    import numpy as np

    counties, codes = np.unique(labels, return_inverse=True)
    return codes, counties


# -- summaries computed after the timed call -----------------------------------


def min_ess_bulk(posterior, var_names: list[str] | None = None) -> float:
    """Smallest ArviZ bulk ESS over ``var_names`` (default: all variables)."""
    import arviz as az

    ess = az.ess(posterior, var_names=var_names, method="bulk")
    return float(ess.to_array().min())


def divergences(idata) -> int:
    stats = getattr(idata, "sample_stats", None)
    if stats is None or "diverging" not in stats:
        return 0
    return int(stats["diverging"].sum())


def kernel_point(estimator, X, y, seed: int):
    """The kernel's packed model of ``estimator`` on ``(X, y)`` as a fit packs it
    (unit-scale response, standardised design), a point near its start, and the
    engine ``fit`` would choose. Keep the packed model alive while the header is used."""
    import numpy as np

    from bayes_sklearn.inference import choose_engine
    from bayes_sklearn.inference.packing import pack_model
    from bayes_sklearn.inference.response import ResponseScale

    inputs = estimator._model_inputs(X, y)
    spec = inputs.spec
    response = ResponseScale.fit(inputs.y)
    packed = pack_model(response.spec_to_unit(spec), spec.standardizer.transform(inputs.X_design),
                        response.transform(inputs.y), group_designs=inputs.group_designs)
    theta = packed.initial_point + 0.1 * np.random.default_rng(seed).standard_normal(packed.n_dim)
    return packed, theta, choose_engine(spec, estimator._inference_settings())
