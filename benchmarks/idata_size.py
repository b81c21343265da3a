"""idata_size: a fitted estimator's size against rows, and az.loo at many rows.

What it measures
----------------
For ``BayesianLinearRegression(inference="exact")`` with the default draws
(4 chains x 1000) on 3 features: ``len(pickle.dumps(model))`` at 1,000,
10,000 and 100,000 rows, with the ratio against the ``save()`` file and
against a pickled ``sklearn.linear_model.BayesianRidge`` fitted to the same
rows. Then the time and peak memory (``ru_maxrss`` of this process) of
``az.loo(model.compute_log_likelihood(X, y))`` at ``--loo-rows`` rows and
``--loo-draws`` draws per chain.

Not part of ``python -m benchmarks`` (nothing here is compared with a peer
sampler): run it as ``python -m benchmarks.idata_size``. The log likelihood
alone takes 8 bytes x chains x draws x rows (3.2 GB at 4 x 1000 draws and
100,000 rows) and ``az.loo`` makes a few copies of it: pick ``--loo-draws``
to fit the machine's memory.

Target (issue 12)
-----------------
The pickle's size does not grow with the rows.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import tempfile
import time
import warnings


def _problem(n_rows: int):
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, 3))
    return X, X @ [1.0, -2.0, 0.5] + rng.normal(size=n_rows)


def pickle_sizes(rows: list[int]) -> None:
    from sklearn.linear_model import BayesianRidge

    from bayes_sklearn import BayesianLinearRegression

    print(f"{'rows':>8} {'pickle (B)':>12} {'save() (B)':>12} {'ratio':>6} "
          f"{'BayesianRidge (B)':>18} {'ratio':>7}")
    for n in rows:
        X, y = _problem(n)
        model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        with tempfile.TemporaryDirectory() as folder:
            saved = os.path.getsize(model.save(os.path.join(folder, "model.nc")))
        size = len(pickle.dumps(model))
        ridge = len(pickle.dumps(BayesianRidge().fit(X, y)))
        print(f"{n:>8} {size:>12} {saved:>12} {size / saved:>6.2f} {ridge:>18} "
              f"{size / ridge:>7.0f}")


def loo_time(n_rows: int, draws: int, chains: int) -> None:
    import arviz as az

    from bayes_sklearn import BayesianLinearRegression

    X, y = _problem(n_rows)
    model = BayesianLinearRegression(inference="exact", draws=draws, chains=chains,
                                     random_state=0).fit(X, y)
    start = time.perf_counter()
    idata = model.compute_log_likelihood(X, y)
    computed = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(idata)
    total = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    gb = idata.log_likelihood["y"].nbytes / 1e9
    print(f"az.loo(compute_log_likelihood) at {n_rows} rows x {chains}x{draws} draws "
          f"({gb:.2f} GB of log likelihood): {total:.1f} s "
          f"(compute_log_likelihood {computed:.1f} s), peak RSS {peak_gb:.1f} GB, "
          f"elpd_loo {loo.elpd_loo:.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,10000,100000")
    parser.add_argument("--loo-rows", type=int, default=100_000)
    parser.add_argument("--loo-draws", type=int, default=250)
    parser.add_argument("--loo-chains", type=int, default=4)
    args = parser.parse_args(argv)
    pickle_sizes([int(n) for n in args.rows.split(",")])
    loo_time(args.loo_rows, args.loo_draws, args.loo_chains)


if __name__ == "__main__":
    main()
