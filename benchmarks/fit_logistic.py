"""Time one fit of the seed logistic model against raw PyMC and sklearn, in one run.

The seed model of the performance issue: 175 training rows of the
logistic-interaction data, 4 coefficients, 4 chains x 1000 tune + 1000 draws.
Each peer runs ``--repeats`` times in this process after one warm-up fit (so
PyTensor's disk cache is warm, as for a user's second fit); medians are
printed with ratios against raw ``pm.sample``.

Run: ``python benchmarks/fit_logistic.py [--repeats 3] [--out results.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np


def _data():
    from sklearn.model_selection import train_test_split

    from bayes_sklearn.datasets import make_logistic_interaction

    X, y = make_logistic_interaction(250, random_state=0)
    X["x1:x2"] = X["x1"] * X["x2"]
    X_train, _, y_train, _ = train_test_split(X, y, train_size=0.7, random_state=0)
    return X_train.to_numpy(), y_train.to_numpy()


def raw_pymc(X, y, seed):
    """The page of PyMC a user writes today for the same model and priors."""
    import arviz as az
    import pymc as pm

    with pm.Model():
        intercept = pm.Normal("intercept", 0, 2.5)
        coef = pm.Normal("coef", 0, 2.5 / X.std(axis=0), shape=X.shape[1])
        pm.Bernoulli("y", logit_p=intercept + pm.math.dot(X, coef), observed=y)
        idata = pm.sample(1000, tune=1000, chains=4, random_seed=seed, progressbar=False)
    return float(az.ess(idata, method="bulk").to_array().min())


def bayes_sklearn_fit(X, y, seed, sampler="pymc"):
    from bayes_sklearn import BayesianLogisticRegression

    model = BayesianLogisticRegression(nuts_sampler=sampler, random_state=seed,
                                       progressbar=False).fit(X, y)
    return model.convergence_.min_ess_bulk


def sklearn_fit(X, y, seed):
    from sklearn.linear_model import LogisticRegression

    LogisticRegression().fit(X, y)
    return float("nan")


PEERS = {
    "pm.sample (raw PyMC)": raw_pymc,
    "bayes_sklearn (pymc NUTS)": bayes_sklearn_fit,
    "bayes_sklearn (nutpie)": lambda X, y, seed: bayes_sklearn_fit(X, y, seed, "nutpie"),
    "sklearn LogisticRegression": sklearn_fit,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = _data()
    results = {}
    for name, fit in PEERS.items():
        try:
            fit(X, y, 0)  # warm-up: compile caches on disk
        except ImportError as error:
            print(f"{name}: skipped ({error})")
            continue
        times, ess = [], []
        for seed in range(1, args.repeats + 1):
            start = time.perf_counter()
            ess.append(fit(X, y, seed))
            times.append(time.perf_counter() - start)
        results[name] = {"median_s": statistics.median(times), "min_ess_bulk": float(np.nanmin(ess))}
    base = results["pm.sample (raw PyMC)"]["median_s"]
    print(f"{'peer':<30}{'median fit (s)':>16}{'min bulk ESS':>14}{'x raw PyMC':>12}")
    for name, row in results.items():
        print(f"{name:<30}{row['median_s']:>16.2f}{row['min_ess_bulk']:>14.0f}"
              f"{row['median_s'] / base:>12.2f}")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
