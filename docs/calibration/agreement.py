"""NUTS and ADVI against the exact posterior of the gaussian linear model.

Usage: ``python docs/calibration/agreement.py``. With normal priors the
linear model's posterior is known in closed form (``inference="exact"``), so
it is the oracle: every other method fits the same data with the same priors
and is compared, coefficient by coefficient, on

* the posterior mean, as a distance in exact posterior sds,
* the posterior sd, as a ratio to the exact sd,
* the posterior correlation of the first two slopes,

for one design with independent features and one with two features
correlated at 0.95. Numbers are recorded in ``docs/calibration/README.md``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from bayes_sklearn import BayesianLinearRegression

METHODS = {
    "exact (second seed)": {"inference": "exact", "draws": 4000, "chains": 1},
    "NUTS 4x1000": {"inference": "nuts", "draws": 1000, "tune": 1000, "chains": 4,
                    "progressbar": False},
    "mean-field ADVI": {"inference": "advi", "draws": 4000, "progressbar": False},
    "full-rank ADVI": {"inference": "fullrank_advi", "draws": 4000, "progressbar": False},
    "minibatch ADVI (batch 100)": {"inference": "advi", "batch_size": 100, "draws": 4000,
                                   "progressbar": False},
}


def designs(n: int = 1000):
    rng = np.random.default_rng(0)
    independent = rng.normal(size=(n, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -1.0]
    x = rng.normal(size=n)
    correlated = np.column_stack([x, 0.95 * x + np.sqrt(1 - 0.95**2) * rng.normal(size=n),
                                  rng.normal(size=n)])
    for name, X in [("independent features", independent), ("features correlated 0.95", correlated)]:
        y = 2.0 + X @ np.array([1.5, -0.2, 8.0]) + rng.normal(scale=0.7, size=n)
        yield name, X, y


def draws(model) -> np.ndarray:
    """(n_draws, 1 + n_features) intercept and coefficient draws."""
    post = model.posterior_
    intercept = post["intercept"].values.reshape(-1, 1)
    coef = post["coef"].values.reshape(intercept.shape[0], -1)
    return np.column_stack([intercept, coef])


def compare(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    sd = reference.std(axis=0)
    correlation = [np.corrcoef(d[:, 1], d[:, 2])[0, 1] for d in (reference, other)]
    return {
        "max |mean diff| / sd": float(np.max(np.abs(other.mean(axis=0) - reference.mean(axis=0)) / sd)),
        "sd ratio min": float(np.min(other.std(axis=0) / sd)),
        "sd ratio max": float(np.max(other.std(axis=0) / sd)),
        "corr(x0, x1)": f"{correlation[1]:+.2f} (exact {correlation[0]:+.2f})",
    }


def main() -> None:
    warnings.simplefilter("ignore")
    print("| design | method | fit time | max mean error (exact sds) | sd ratio | corr(x0, x1) slopes |")
    print("|---|---|---|---|---|---|")
    for design, X, y in designs():
        exact = BayesianLinearRegression(inference="exact", draws=4000, chains=1,
                                         random_state=0).fit(X, y)
        reference = draws(exact)
        for method, params in METHODS.items():
            start = time.perf_counter()
            model = BayesianLinearRegression(random_state=1, **params).fit(X, y)
            seconds = time.perf_counter() - start
            row = compare(reference, draws(model))
            print(f"| {design} | {method} | {seconds:.2f} s | {row['max |mean diff| / sd']:.3f} | "
                  f"{row['sd ratio min']:.2f}–{row['sd ratio max']:.2f} | {row['corr(x0, x1)']} |",
                  flush=True)


if __name__ == "__main__":
    main()
