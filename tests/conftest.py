import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

#: Short NUTS runs for tests that check behaviour, not accuracy.
FAST_NUTS = dict(draws=200, tune=200, chains=2, progressbar=False, random_state=0)


@pytest.fixture(scope="session")
def regression_data():
    rng = np.random.default_rng(42)
    X = rng.normal(size=(80, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -1.0]
    y = 2.0 + X @ np.array([1.5, -0.2, 8.0]) + rng.normal(scale=0.7, size=80)
    return X, y


@pytest.fixture(scope="session")
def binary_data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(150, 2))
    y = (0.3 + X @ np.array([1.5, -1.0]) + rng.logistic(size=150) > 0).astype(int)
    return X, y


@pytest.fixture(scope="session")
def fitted_binary(binary_data):
    from bayes_sklearn import BayesianLogisticRegression

    X, y = binary_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BayesianLogisticRegression(**FAST_NUTS).fit(X, y)


@pytest.fixture(scope="module")
def client():
    """A 2-worker LocalCluster on loopback, one per test module: scheduler, worker
    processes and client talk over TCP as across machines."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True,
        host="127.0.0.1", dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as client:
        yield client
