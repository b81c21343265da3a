"""BayesianLinearRegression fitted on Dask collections, on a 2-worker
loopback ``LocalCluster`` (scheduler, workers and client talk over TCP as
across machines).

The rows are generated lazily on the workers; each block's statistics are
computed there and merged as a tree of tasks, so only statistics reach the
client. Posterior moments of exact inference are compared with ``fit`` on
the same rows in memory to 1e-10 of the posterior sd (the paths differ only
by rounding; see test_chunked_fit.py for the kernel's log density).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from bayes_sklearn import BayesianLinearRegression

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")

EXACT = {"inference": "exact", "random_state": 0}
BETA = np.array([0.02, -3.0, 4e3])
BLOCK_ROWS = 400


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True,
        host="127.0.0.1", dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


def _x_block(block_info=None):
    """A block of rows, generated where it is computed (its seed is its index)."""
    index = block_info[None]["chunk-location"][0]
    rows = block_info[None]["chunk-shape"][0]
    rng = np.random.default_rng(100 + index)
    return rng.normal(size=(rows, 3)) * [1e3, 1.0, 1e-3] + [1e4, -50.0, 0.0]


def _y_block(X_block, block_info=None):
    index = block_info[None]["chunk-location"][0]
    rng = np.random.default_rng(500 + index)
    return 2e3 + X_block @ BETA + rng.normal(scale=7.0, size=X_block.shape[0])


def _lazy_data(n_blocks=6):
    X = da.map_blocks(_x_block, chunks=((BLOCK_ROWS,) * n_blocks, (3,)), dtype=float)
    y = da.map_blocks(_y_block, X, drop_axis=1, dtype=float)
    w = da.map_blocks(lambda X_block: np.arange(X_block.shape[0]) % 4 * 0.5, X,
                      drop_axis=1, dtype=float)
    return X, y, w


def _close(chunked, whole, tol=1e-10):
    sd = np.sqrt(np.diag(whole.coef_cov_))
    difference = np.r_[chunked.intercept_, chunked.coef_] - np.r_[whole.intercept_, whole.coef_]
    assert np.abs(difference / sd).max() <= tol
    assert np.abs(chunked.coef_cov_ - whole.coef_cov_).max() <= tol * np.outer(sd, sd).max()
    np.testing.assert_allclose(chunked.sigma_, whole.sigma_, rtol=tol)


@pytest.mark.parametrize("weighted", [False, True])
def test_a_dask_array_fits_as_the_same_rows_in_memory(client, weighted):
    X, y, w = _lazy_data()
    w = w if weighted else None
    model = BayesianLinearRegression(**EXACT).fit(X, y, sample_weight=w)
    in_memory = BayesianLinearRegression(**EXACT).fit(
        X.compute(), y.compute(), sample_weight=None if w is None else w.compute())
    _close(model, in_memory)
    assert model.statistics_.n_rows == 6 * BLOCK_ROWS and model.n_features_in_ == 3


def test_the_rows_never_reach_the_client(client, monkeypatch):
    X, y, _ = _lazy_data(n_blocks=8)

    def refuse(*args, **kwargs):
        raise AssertionError("a Dask array was turned into numpy in the client")

    monkeypatch.setattr(da.Array, "__array__", refuse)
    monkeypatch.setattr(da.Array, "compute", refuse)
    with distributed.get_task_stream(client) as tasks:
        model = BayesianLinearRegression(**EXACT).fit(X, y)
    # every block's statistics were computed on a worker: 8 blocks, 7 merges
    names = [task["key"][0] if isinstance(task["key"], tuple) else task["key"]
             for task in tasks.data]
    assert sum("_chunk_statistics" in str(name) for name in names) == 8
    assert sum("merge" in str(name) for name in names) == 7
    assert {task["worker"] for task in tasks.data} <= set(client.scheduler_info()["workers"])
    assert model.statistics_.n_rows == 8 * BLOCK_ROWS


def test_a_dask_dataframe_keeps_its_column_names(client):
    X, y, _ = _lazy_data(n_blocks=4)
    frame = pd.DataFrame(X.compute(), columns=["dose", "age", "rate"]).assign(price=y.compute())
    lazy = dd.from_pandas(frame, npartitions=5)
    model = BayesianLinearRegression(**EXACT).fit(lazy[["dose", "age", "rate"]], lazy["price"])
    assert list(model.feature_names_in_) == ["dose", "age", "rate"]
    in_memory = BayesianLinearRegression(**EXACT).fit(frame[["dose", "age", "rate"]],
                                                      frame["price"])
    _close(model, in_memory)
    np.testing.assert_allclose(model.predict(frame.iloc[:5, :3]),
                               in_memory.predict(frame.iloc[:5, :3]), rtol=1e-10)


def test_parquet_files_are_read_on_the_workers(client, tmp_path):
    X, y, _ = _lazy_data(n_blocks=3)
    frame = pd.DataFrame(X.compute(), columns=["dose", "age", "rate"]).assign(price=y.compute())
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[rows].to_parquet(tmp_path / f"part-{i}.parquet")
    with distributed.get_task_stream(client) as tasks:
        model = BayesianLinearRegression(**EXACT).fit(str(tmp_path), "price")
    assert any("_partition_statistics" in str(task["key"]) for task in tasks.data)
    _close(model, BayesianLinearRegression(**EXACT).fit(frame.iloc[:, :3], frame["price"]))


def test_nuts_on_a_dask_array_samples_the_statistics(client):
    X, y, _ = _lazy_data()
    exact = BayesianLinearRegression(**EXACT).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converged: no warning
        nuts = BayesianLinearRegression(draws=500, tune=500, chains=2, random_state=0,
                                        progressbar=False).fit(X, y)
    sd = np.sqrt(np.diag(exact.coef_cov_))
    # min bulk ESS >= 400 (no warning): each mean is within 4 / sqrt(400) sds
    z = (np.r_[nuts.intercept_, nuts.coef_] - np.r_[exact.intercept_, exact.coef_]) / sd
    assert np.abs(z).max() < 0.2 and nuts.engine_ == "kernel"


def test_bad_dask_inputs_get_clear_errors(client):
    X, y, _ = _lazy_data(n_blocks=2)
    model = BayesianLinearRegression(**EXACT)
    with pytest.raises(ValueError, match="y must be a Dask array too"):
        model.fit(X, np.zeros(2 * BLOCK_ROWS))
    with pytest.raises(ValueError, match="X has 800 rows but y has 400"):
        model.fit(X, y[:BLOCK_ROWS])
    broken = da.where(da.arange(2 * BLOCK_ROWS)[:, None] == 500, np.nan, X)
    with pytest.raises(ValueError, match="Input X contains NaN or infinity"):
        model.fit(broken, y)
    assert not hasattr(model, "coef_")

