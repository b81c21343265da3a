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


def _task_names(tasks) -> list[str]:
    """The names of the tasks a ``get_task_stream`` recorded (a block's key without
    its index)."""
    return [str(task["key"][0] if isinstance(task["key"], tuple) else task["key"])
            for task in tasks.data]


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
    names = _task_names(tasks)
    assert sum("_chunk_statistics" in name for name in names) == 8
    assert sum("merge" in name for name in names) == 7
    # y is computed from X's blocks: each block is generated once, not fused into both
    assert sum("x_block" in name for name in names) == 8
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


@pytest.fixture(scope="module")
def classifier():
    from bayes_sklearn import BayesianLogisticRegression

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2)) * [1.0, 50.0]
    y = np.where(X[:, 0] + X[:, 1] / 50 + rng.logistic(size=300) > 0.5, "yes", "no")
    y[:60] = "maybe"
    model = BayesianLogisticRegression(inference="advi", random_state=0, draws=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y), X, y


def _graph_nodes_holding(lazy, estimator):
    """How many nodes of the task graph hold a pickled copy of the estimator."""
    import pickle

    size = len(pickle.dumps(estimator))
    return sum(len(pickle.dumps(node)) >= size // 2 for node in dict(lazy.__dask_graph__()).values())


def test_predictions_on_a_dask_array_are_lazy_and_equal_in_memory_ones(client):
    X, y, _ = _lazy_data(n_blocks=3)
    X_local, y_local = X.compute(), y.compute()
    model = BayesianLinearRegression(**EXACT).fit(X_local, y_local)
    mean, std = model.predict(X, return_std=True)
    assert isinstance(mean, da.Array) and mean.chunks == (X.chunks[0],)
    expected_mean, expected_std = model.predict(X_local, return_std=True)
    np.testing.assert_allclose(mean.compute(), expected_mean, rtol=1e-14)
    np.testing.assert_allclose(std.compute(), expected_std, rtol=1e-14)
    np.testing.assert_allclose(model.predict_interval(X, prob=0.8, kind="mean").compute(),
                               model.predict_interval(X_local, prob=0.8, kind="mean"), rtol=1e-14)
    log_lik = model.log_likelihood(X, y)
    assert log_lik.chunks[2] == X.chunks[0] and log_lik.shape == (4, 1000, len(y_local))
    with distributed.get_task_stream(client) as tasks:
        np.testing.assert_allclose(log_lik.compute(), model.log_likelihood(X_local, y_local),
                                   rtol=1e-14)
    # y comes from X's blocks, which are generated once for both
    assert sum("x_block" in name for name in _task_names(tasks)) == 3
    # the posterior is one node of the graph, whatever the number of blocks
    assert _graph_nodes_holding(mean, model) == 1
    assert _graph_nodes_holding(log_lik, model) == 1


def test_classifier_predictions_on_dask_equal_in_memory_ones(client, classifier):
    model, X_local, _ = classifier
    X = da.from_array(X_local, chunks=(70, 2))
    proba, proba_std = model.predict_proba(X, return_std=True)
    assert proba.chunks == (X.chunks[0], (3,))
    np.testing.assert_allclose(proba.compute(), model.predict_proba(X_local), rtol=1e-14)
    np.testing.assert_allclose(proba_std.compute(),
                               model.predict_proba(X_local, return_std=True)[1], rtol=1e-14)
    np.testing.assert_array_equal(model.predict(X).compute(), model.predict(X_local))
    np.testing.assert_allclose(model.predict_log_proba(X).compute(),
                               model.predict_log_proba(X_local), rtol=1e-14)
    np.testing.assert_allclose(model.decision_function(X).compute(),
                               model.decision_function(X_local), rtol=1e-14)
    np.testing.assert_allclose(model.predict_proba_interval(X, prob=0.5).compute(),
                               model.predict_proba_interval(X_local, prob=0.5), rtol=1e-14)
    assert _graph_nodes_holding(proba, model) == 1


def test_a_dask_dataframe_predicts_by_partition(client):
    from bayes_sklearn import HierarchicalRegression

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=400), "g": rng.integers(0, 5, size=400)})
    y = 1.0 + 2.0 * frame["x"] + rng.normal(size=5)[frame["g"]] + rng.normal(size=400)
    model = HierarchicalRegression(group="g", inference="advi", random_state=0, draws=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(frame, y)
    lazy = model.predict(dd.from_pandas(frame, npartitions=3))
    np.testing.assert_allclose(lazy.compute(), model.predict(frame), rtol=1e-14)
    with pytest.raises(ValueError, match="group effects need every row"):
        model.fit(dd.from_pandas(frame, npartitions=3), dd.from_pandas(y, npartitions=3))


def test_lazy_log_likelihood_needs_aligned_dask_inputs(client):
    X, y, _ = _lazy_data(n_blocks=2)
    model = BayesianLinearRegression(**EXACT).fit(X.compute(), y.compute())
    with pytest.raises(ValueError, match="must be Dask collections too"):
        model.log_likelihood(X, y.compute())
    frame = dd.from_pandas(pd.DataFrame(X.compute(), columns=["a", "b", "c"]), npartitions=2)
    with pytest.raises(ValueError, match="to_dask_array"):
        model.log_likelihood(frame, y)


def test_streamed_advi_shuffles_partitions_sorted_by_outcome(client):
    from bayes_sklearn import BayesianLogisticRegression

    rng = np.random.default_rng(0)
    n = 40_000
    X = rng.normal(size=(n, 2)) * [1.0, 10.0] + [5.0, 0.0]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(5.0 - X @ [1.0, -0.1]))).astype(int)
    order = np.argsort(y, kind="stable")
    frame = pd.DataFrame(X[order], columns=["a", "b"]).assign(y=y[order])
    lazy = dd.from_pandas(frame, npartitions=4, sort=False)
    options = {"inference": "advi", "batch_size": 20, "draws": 200, "random_state": 0,
               "progressbar": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = BayesianLogisticRegression(**options).fit(X, y)
        shuffled = BayesianLogisticRegression(shuffle=True, **options).fit(lazy[["a", "b"]],
                                                                           lazy["y"])
    # as in test_streamed_advi.py: seed-to-seed sd of the intercept about 0.04
    assert abs(shuffled.intercept_[0] - in_memory.intercept_[0]) < 0.25
    assert list(shuffled.feature_names_in_) == ["a", "b"]
    proba = shuffled.predict_proba(dd.from_pandas(frame[["a", "b"]], npartitions=3))
    # other row blocks, other BLAS sums: small probabilities differ at 1e-13 relative
    np.testing.assert_allclose(proba.compute(), shuffled.predict_proba(frame[["a", "b"]]),
                               rtol=1e-12)


@pytest.fixture(scope="module")
def frame_with_levels():
    """A level ("d") that only the last partition has; doses over four decades."""
    rng = np.random.default_rng(5)
    n = 1200
    site = rng.choice(["a", "b", "c"], n).astype(object)
    site[-50:] = "d"
    frame = pd.DataFrame({"dose": 10 ** rng.uniform(0, 4, n), "site": site})
    effect = frame["site"].map({"a": 0.0, "b": 5.0, "c": -2.0, "d": 9.0})
    y = 3.0 + 2.0 * np.log(frame["dose"]) + effect + rng.normal(size=n)
    return frame.assign(y=y)


def test_a_formula_on_a_dask_dataframe_uses_every_level(client, frame_with_levels):
    frame = frame_with_levels
    lazy = dd.from_pandas(frame, npartitions=4, sort=False)
    formula = {"formula": "np.log(dose) + C(site)", **EXACT}
    model = BayesianLinearRegression(**formula).fit(lazy[["dose", "site"]], lazy["y"])
    in_memory = BayesianLinearRegression(**formula).fit(frame[["dose", "site"]], frame["y"])
    assert model.design_.column_names == in_memory.design_.column_names
    assert "C(site)[T.d]" in model.design_.column_names
    _close(model, in_memory)
    assert list(model.feature_names_in_) == ["dose", "site"]
    lazy_prediction = model.predict(lazy[["dose", "site"]])
    np.testing.assert_allclose(lazy_prediction.compute(), in_memory.predict(frame), rtol=1e-10)


def test_a_streamed_logistic_fit_takes_a_formula(client, frame_with_levels):
    from bayes_sklearn import BayesianLogisticRegression

    frame = frame_with_levels.assign(high=lambda f: (f["y"] > f["y"].median()).astype(int))
    lazy = dd.from_pandas(frame, npartitions=3, sort=False)
    model = BayesianLogisticRegression(formula="np.log(dose) + C(site)", inference="advi",
                                       batch_size=100, random_state=0, draws=100,
                                       progressbar=False)
    with warnings.catch_warnings(), distributed.get_task_stream(client) as tasks:
        warnings.simplefilter("ignore")
        model.fit(lazy[["dose", "site"]], lazy["high"])
    assert model.design_.column_names[-1] == "C(site)[T.d]"
    assert model.coef_.shape == (1, 4)
    # ADVI visits each 400-row partition every 4 steps; small partitions are kept
    # after their first fetch: one split for the first pass, one for the fetch
    splits = [task for task in tasks.data if "_split_frame" in str(task["key"])]
    assert len(splits) <= 2 * lazy.npartitions


def test_stateful_transforms_are_refused_on_chunks(client, frame_with_levels):
    lazy = dd.from_pandas(frame_with_levels, npartitions=2)
    for formula in ("center(dose) + C(site)", "bs(dose, df=4)"):
        with pytest.raises(ValueError, match="stateful transforms"):
            BayesianLinearRegression(formula=formula, **EXACT).fit(lazy[["dose", "site"]],
                                                                   lazy["y"])
