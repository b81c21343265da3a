"""BayesianLinearRegression on data in chunks: ``partial_fit``, ``fit_statistics``
and ``fit`` on iterators and parquet files (without Dask), against ``fit`` on
the same rows in memory.

Exact inference is deterministic given its seed, so posterior moments are
compared to 1e-10 of the posterior sd: the two paths differ only by
rounding (the in-memory one reads the rows, the chunked one their merged
statistics). NUTS is compared through the kernel's log density and gradient,
which is all the sampler sees of the data.
"""

import numpy as np
import pytest

from bayes_sklearn import BayesianLinearRegression
from bayes_sklearn.chunked import GaussianStatistics, merge_statistics
from bayes_sklearn.inference._kernel import log_density
from bayes_sklearn.inference.packing import pack_model
from bayes_sklearn.inference.response import ResponseScale
from bayes_sklearn.model.spec import resolve_model_spec

EXACT = {"inference": "exact", "random_state": 0}


@pytest.fixture(scope="module")
def data():
    """Far from standard scale: offsets of 1e4, scales from 1e-3 to 1e3."""
    rng = np.random.default_rng(0)
    n = 900
    X = rng.normal(size=(n, 3)) * [1e3, 1.0, 1e-3] + [1e4, -50.0, 0.0]
    y = 2e3 + X @ [0.02, -3.0, 4e3] + rng.normal(scale=7.0, size=n)
    w = rng.integers(0, 4, size=n).astype(float)
    return X, y, w


def _close(chunked, whole, tol=1e-10):
    """Posterior moments within ``tol`` posterior sds."""
    sd = np.sqrt(np.diag(whole.coef_cov_))
    mean_whole = np.r_[whole.intercept_, whole.coef_]
    mean_chunked = np.r_[chunked.intercept_, chunked.coef_]
    free = sd > 0  # a fixed intercept is 0.0 in both
    np.testing.assert_array_equal(mean_chunked[~free], mean_whole[~free])
    assert np.abs((mean_chunked - mean_whole)[free] / sd[free]).max() <= tol
    assert np.abs(chunked.coef_cov_ - whole.coef_cov_).max() <= tol * np.outer(sd, sd).max()
    np.testing.assert_allclose(chunked.sigma_, whole.sigma_, rtol=tol)


@pytest.mark.parametrize("options", [{}, {"fit_intercept": False}, {"center_predictors": False},
                                     {"prior_noise": 7.0}], ids=str)
@pytest.mark.parametrize("weighted", [False, True])
def test_partial_fit_over_chunks_equals_fit(data, options, weighted):
    X, y, w = data
    w = w if weighted else None
    whole = BayesianLinearRegression(**EXACT, **options).fit(X, y, sample_weight=w)
    chunked = BayesianLinearRegression(**EXACT, **options)
    for rows in np.array_split(np.arange(len(y)), 5):
        chunked.partial_fit(X[rows], y[rows], sample_weight=None if w is None else w[rows])
    # The intercept at x = 0, ten sds of the first feature from its data, is an
    # ill-conditioned problem: there two in-memory fits of the same data (weighted,
    # and with rows repeated by their weights) differ by 3e-8 sds themselves.
    _close(chunked, whole, tol=1e-7 if "center_predictors" in options else 1e-10)
    assert chunked.statistics_.n_rows == len(y)
    assert chunked.n_features_in_ == 3 and chunked.engine_ == "exact"


def test_the_order_and_size_of_the_chunks_do_not_matter(data):
    X, y, _ = data
    rng = np.random.default_rng(1)
    first = BayesianLinearRegression(**EXACT)
    for rows in np.array_split(np.arange(len(y)), 3):
        first.partial_fit(X[rows], y[rows])
    second = BayesianLinearRegression(**EXACT)
    for rows in reversed(np.array_split(rng.permutation(len(y)), 11)):
        second.partial_fit(X[rows], y[rows])
    _close(second, first)


def test_the_model_is_usable_after_every_call(data):
    X, y, _ = data
    model = BayesianLinearRegression(**EXACT)
    seen = 0
    for rows in np.array_split(np.arange(len(y)), 3):
        model.partial_fit(X[rows], y[rows])
        seen += len(rows)
        partial = BayesianLinearRegression(**EXACT).fit(X[:seen], y[:seen])
        np.testing.assert_allclose(model.predict(X[:5]), partial.predict(X[:5]), rtol=1e-10)


def test_a_changed_feature_count_raises_and_keeps_the_fit(data):
    X, y, _ = data
    model = BayesianLinearRegression(**EXACT).partial_fit(X[:100], y[:100])
    coef = model.coef_.copy()
    with pytest.raises(ValueError, match="X has 2 features, but BayesianLinearRegression "
                                         "is expecting 3 features"):
        model.partial_fit(X[100:200, :2], y[100:200])
    np.testing.assert_array_equal(model.coef_, coef)
    assert model.statistics_.n_rows == 100


def test_partial_fit_after_fit_continues_from_its_rows(data):
    X, y, w = data
    model = BayesianLinearRegression(**EXACT).fit(X[:500], y[:500], sample_weight=w[:500])
    model.partial_fit(X[500:], y[500:], sample_weight=w[500:])
    _close(model, BayesianLinearRegression(**EXACT).fit(X, y, sample_weight=w))
    assert model.statistics_.n_rows == len(y)


def test_fit_starts_afresh(data):
    X, y, _ = data
    model = BayesianLinearRegression(**EXACT).partial_fit(X[:50], y[:50])
    model.fit(X, y)
    assert model.statistics_.n_rows == len(y)
    _close(model, BayesianLinearRegression(**EXACT).fit(X, y), tol=0)


def test_partial_fit_replays_the_formula_of_the_first_chunk():
    import pandas as pd

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"dose": rng.uniform(0, 100, 600),
                          "site": rng.choice(["a", "b", "c"], 600)})
    y = 3.0 + 0.1 * frame["dose"] + frame["site"].map({"a": 0.0, "b": 5.0, "c": -2.0})
    y = y + rng.normal(size=600)
    formula = {"formula": "np.log(dose + 1) + C(site)", **EXACT}
    model = BayesianLinearRegression(**formula)
    for rows in np.array_split(np.arange(600), 4):
        model.partial_fit(frame.iloc[rows], y.iloc[rows])
    whole = BayesianLinearRegression(**formula).fit(frame, y)
    assert model.design_.column_names == whole.design_.column_names
    _close(model, whole)
    unseen = frame.iloc[:5].assign(site="d")
    with pytest.raises(ValueError, match="d"):
        model.partial_fit(unseen, y.iloc[:5])
    assert model.statistics_.n_rows == 600


def test_in_memory_fits_go_through_the_statistics_except_minibatch_advi(data):
    X, y, _ = data
    exact = BayesianLinearRegression(**EXACT).fit(X, y)
    np.testing.assert_allclose(exact.statistics_.mean[:3], X.mean(axis=0), rtol=1e-14)
    minibatch = BayesianLinearRegression(inference="advi", batch_size=100, random_state=0,
                                         max_iter=200, progressbar=False)
    with pytest.warns(Warning):
        minibatch.fit(X, y)
    assert "minibatch 100" in minibatch.inference_method_
    assert minibatch.statistics_.n_rows == len(y)


def test_fit_statistics_names_the_features(data):
    X, y, _ = data
    parts = [GaussianStatistics.from_chunk(X[rows], y[rows])
             for rows in np.array_split(np.arange(len(y)), 4)]
    model = BayesianLinearRegression(**EXACT).fit_statistics(merge_statistics(parts),
                                                             ["dose", "age", "rate"])
    assert list(model.feature_names_in_) == ["dose", "age", "rate"]
    assert list(model.posterior_.coords["feature"].values) == ["dose", "age", "rate"]
    _close(model, BayesianLinearRegression(**EXACT).fit(X, y))
    with pytest.raises(ValueError, match="2 feature names for 3 features"):
        BayesianLinearRegression(**EXACT).fit_statistics(merge_statistics(parts), ["a", "b"])
    with pytest.raises(ValueError, match="takes a GaussianStatistics"):
        BayesianLinearRegression(**EXACT).fit_statistics(X)


def test_the_kernel_sees_the_same_log_density(data):
    """NUTS on statistics: the density and gradient from the equivalent rows
    are those of all rows, at points across the posterior's scale."""
    X, y, w = data
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b", "c"], X=X, y=y,
                              sample_weight=w)
    response = ResponseScale.fit(y, w)
    unit = response.spec_to_unit(spec)
    X_z = spec.standardizer.transform(X)
    rows = pack_model(unit, X_z, response.transform(y), sample_weight=w)
    stats = merge_statistics([GaussianStatistics.from_chunk(X[r], y[r], w[r])
                              for r in np.array_split(np.arange(len(y)), 6)])
    X_eq, y_eq, w_eq = stats.equivalent_rows(spec.standardizer.center, spec.standardizer.scale,
                                             response.center)
    merged = pack_model(unit, X_eq, y_eq / response.scale, sample_weight=w_eq)
    rng = np.random.default_rng(2)
    for _ in range(5):
        theta = rows.initial_point + rng.normal(scale=0.5, size=rows.n_dim)
        value, grad = log_density(rows.header, theta)
        value_eq, grad_eq = log_density(merged.header, theta)
        np.testing.assert_allclose(value_eq, value, rtol=1e-10)
        np.testing.assert_allclose(grad_eq, grad, rtol=1e-10, atol=1e-10 * np.abs(grad).max())


def test_nuts_on_chunks_agrees_with_the_exact_posterior(data):
    X, y, _ = data
    exact = BayesianLinearRegression(**EXACT).fit(X, y)
    nuts = BayesianLinearRegression(draws=500, tune=500, chains=2, random_state=0,
                                    progressbar=False)
    for rows in np.array_split(np.arange(len(y)), 3):
        nuts.partial_fit(X[rows], y[rows])
    sd = np.sqrt(np.diag(exact.coef_cov_))
    # 1000 draws, ESS >= 400 (whitened NUTS): the mean is within 4 / sqrt(400) sds
    z = (np.r_[nuts.intercept_, nuts.coef_] - np.r_[exact.intercept_, exact.coef_]) / sd
    assert np.abs(z).max() < 0.2
    assert nuts.engine_ == "kernel" and nuts.convergence_.max_rhat < 1.02


def _factory(X, y, w=None, size=250):
    def chunks():
        for start in range(0, len(y), size):
            part = slice(start, start + size)
            yield (X[part], y[part]) if w is None else (X[part], y[part], w[part])
    return chunks


def test_fit_on_an_iterator_factory_equals_fit(data):
    X, y, w = data
    _close(BayesianLinearRegression(**EXACT).fit(_factory(X, y, w)),
           BayesianLinearRegression(**EXACT).fit(X, y, sample_weight=w))


def _write_parquet(tmp_path, X, y, w=None, n_files=3):
    import pandas as pd

    frame = pd.DataFrame(X, columns=["dose", "age", "rate"]).assign(price=y)
    if w is not None:
        frame["weight"] = w
    paths = []
    for i, rows in enumerate(np.array_split(np.arange(len(y)), n_files)):
        path = tmp_path / f"part-{i}.parquet"
        frame.iloc[rows].to_parquet(path, row_group_size=97)
        paths.append(path)
    return paths


@pytest.mark.parametrize("weighted", [False, True])
def test_fit_on_parquet_files_without_dask_equals_fit(data, tmp_path, monkeypatch, weighted):
    from bayes_sklearn.chunked import sources

    monkeypatch.setattr(sources, "_dask_read_parquet", lambda paths: None)
    X, y, w = data
    paths = _write_parquet(tmp_path, X, y, w if weighted else None)
    model = BayesianLinearRegression(**EXACT).fit(paths, "price",
                                                  sample_weight="weight" if weighted else None)
    assert list(model.feature_names_in_) == ["dose", "age", "rate"]
    _close(model, BayesianLinearRegression(**EXACT).fit(X, y, sample_weight=w if weighted else None))
    # a directory reads as its files
    by_directory = BayesianLinearRegression(**EXACT).fit(str(tmp_path), "price",
                                                         sample_weight="weight" if weighted else None)
    _close(by_directory, model)


def test_bad_chunks_get_clear_errors_and_leave_the_estimator_as_it_was(data, tmp_path):
    X, y, _ = data
    model = BayesianLinearRegression(**EXACT).fit(X, y)
    coef = model.coef_.copy()
    X_nan = X.copy()
    X_nan[400, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.fit(_factory(X_nan, y))
    with pytest.raises(ValueError, match="sample_weight must be None"):
        model.fit(_factory(X, y), y)
    with pytest.raises(ValueError, match="expected"):
        model.fit(lambda: iter([(X[:10], y[:10]), (X[10:20, :2], y[10:20])]))
    with pytest.raises(ValueError, match="found 0 rows"):
        model.fit(lambda: iter([]))
    with pytest.raises(ValueError, match="tuple"):
        model.fit(lambda: iter([X[:10]]))
    with pytest.raises(ValueError, match="all of weight 0"):
        model.fit(_factory(X, y, np.zeros(len(y))))
    paths = _write_parquet(tmp_path, X, y)
    with pytest.raises(ValueError, match="no column 'cost'"):
        model.fit(paths, "cost")
    with pytest.raises(ValueError, match="y must name the target column"):
        model.fit(paths, y)
    with pytest.raises(ValueError, match="A formula on data in chunks needs them as a Dask"):
        BayesianLinearRegression(formula="x0 + x1", **EXACT).fit(_factory(X, y))
    with pytest.raises(ValueError, match="partial_fit takes a chunk of rows in memory"):
        model.partial_fit(paths, "price")
    np.testing.assert_array_equal(model.coef_, coef)
    assert model.statistics_.n_rows == len(y)


def test_hierarchical_estimators_refuse_chunked_data(data):
    from bayes_sklearn import HierarchicalLogisticRegression, HierarchicalRegression

    X, y, _ = data
    for model, target in ((HierarchicalRegression(group=0), y),
                          (HierarchicalLogisticRegression(group=0), (y > y.mean()).astype(int))):
        with pytest.raises(ValueError, match="group effects need every row"):
            model.fit(_factory(X, target))
        assert not hasattr(model, "partial_fit")


def test_a_saved_model_keeps_its_statistics_for_partial_fit(data, tmp_path):
    X, y, _ = data
    model = BayesianLinearRegression(**EXACT).partial_fit(X[:400], y[:400])
    loaded = BayesianLinearRegression.load(model.save(tmp_path / "model.nc"))
    np.testing.assert_array_equal(loaded.statistics_.triangle, model.statistics_.triangle)
    loaded.partial_fit(X[400:], y[400:])
    _close(loaded, BayesianLinearRegression(**EXACT).fit(X, y))
