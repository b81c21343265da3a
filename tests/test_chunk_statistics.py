"""The merge algebra of ``GaussianStatistics``, against references computed
without it: numpy's weighted covariance, sums in extended precision
(``np.longdouble``), least squares on all rows.

Tolerances: a merge tree of depth d adds d QR steps, each backward stable at
a few eps of the triangle's norm, so merged and direct statistics agree to
about 1e-13 of the scatter's size; the references' own rounding is of the
same order. Adversarial data are far from standard scale.
"""

import numpy as np
import pytest

from bayes_sklearn.chunked import GaussianStatistics, merge_statistics


def _data(n=500, p=3, seed=0, offset=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = offset + scale * rng.normal(size=(n, p)) * np.array([1.0, 10.0, 0.01])[:p]
    y = 5.0 + X @ np.arange(1.0, p + 1) + rng.normal(size=n)
    return X, y


def _scatter_reference(X, y, w=None):
    """Weighted sum, means and scatter of [X | y] in extended precision, two-pass."""
    data = np.column_stack([X, y]).astype(np.longdouble)
    w = np.ones(len(y), dtype=np.longdouble) if w is None else np.asarray(w, np.longdouble)
    total = w.sum()
    mean = (w[:, None] * data).sum(axis=0) / total
    centred = data - mean
    return float(total), mean, (centred * w[:, None]).T @ centred


def _random_split(n, rng, n_parts):
    """Random contiguous chunks, with 0- and 1-row chunks among them."""
    cuts = np.sort(rng.integers(0, n + 1, size=n_parts - 3))
    cuts = np.concatenate([[0, 0, 1], cuts + 1, [n]])
    cuts = np.clip(np.sort(cuts), 0, n)
    return [np.arange(a, b) for a, b in zip(cuts[:-1], cuts[1:])]


def _parts(X, y, pieces, w=None):
    return [GaussianStatistics.from_chunk(X[r], y[r], None if w is None else w[r]) for r in pieces]


def _assert_matches(stats, total, mean, scatter, rtol=1e-12):
    gram = stats.triangle.T @ stats.triangle
    scale = np.abs(np.asarray(scatter, dtype=float)).max()
    np.testing.assert_allclose(stats.weight_sum, total, rtol=1e-14)
    np.testing.assert_allclose(stats.mean + stats.mean_error, np.asarray(mean, float),
                               rtol=1e-15, atol=1e-15 * float(np.abs(mean).max()))
    assert np.abs(gram - np.asarray(scatter, dtype=float)).max() <= rtol * scale


def test_one_chunk_is_the_weighted_scatter():
    X, y = _data()
    w = np.random.default_rng(1).uniform(0, 3, size=len(y))
    stats = GaussianStatistics.from_chunk(X, y, w)
    data = np.column_stack([X, y])
    expected = np.cov(data, rowvar=False, aweights=w, bias=True) * w.sum()
    np.testing.assert_allclose(stats.triangle.T @ stats.triangle, expected, rtol=1e-12)
    np.testing.assert_allclose(stats.mean, np.average(data, axis=0, weights=w), rtol=1e-14)
    assert stats.n_rows == len(y) and np.allclose(np.triu(stats.triangle), stats.triangle)
    assert np.all(np.diag(stats.triangle) >= 0)


@pytest.mark.parametrize("seed", range(4))
def test_random_partitions_with_empty_and_single_rows_merge_to_the_whole(seed):
    X, y = _data(seed=seed)
    rng = np.random.default_rng(seed)
    pieces = _random_split(len(y), rng, n_parts=12)
    assert min(len(r) for r in pieces) == 0 and any(len(r) == 1 for r in pieces)
    merged = merge_statistics(_parts(X, y, pieces))
    _assert_matches(merged, *_scatter_reference(X, y))
    assert merged.n_rows == len(y)


def test_order_and_grouping_do_not_change_the_result():
    X, y = _data(n=400)
    parts = _parts(X, y, np.array_split(np.arange(400), 9))
    tree = merge_statistics(parts)
    linear = parts[0]
    for part in parts[1:]:
        linear = linear.merge(part)
    rng = np.random.default_rng(3)
    shuffled = merge_statistics([parts[i] for i in rng.permutation(len(parts))])
    reversed_linear = parts[-1]
    for part in parts[-2::-1]:
        reversed_linear = part.merge(reversed_linear)
    for other in (linear, shuffled, reversed_linear):
        scale = np.abs(tree.triangle).max()
        assert np.abs(other.triangle - tree.triangle).max() <= 1e-13 * scale
        np.testing.assert_allclose(other.mean + other.mean_error, tree.mean + tree.mean_error,
                                   rtol=0, atol=1e-15 * tree.magnitude.max())


def test_offsets_of_1e8_keep_the_scatter_to_rounding():
    # Means at 1e8 are rounded at 1.5e-8; without their rounding errors kept,
    # the merge's between-chunk rows would be wrong at 1e-10 of the scatter.
    X, y = _data(n=600, offset=1e8)
    y = y + 1e8
    merged = merge_statistics(_parts(X, y, np.array_split(np.arange(600), 20)))
    total, mean, scatter = _scatter_reference(X, y)
    _assert_matches(merged, total, mean, scatter, rtol=1e-12)
    # the exact means, to extended precision
    exact = np.asarray(mean, dtype=np.longdouble)
    error = (merged.mean.astype(np.longdouble) + merged.mean_error) - exact
    assert np.abs(error).max() < 1e-15 * 1e8


def test_near_collinear_columns_keep_their_small_direction():
    rng = np.random.default_rng(4)
    x1 = rng.normal(size=800)
    x2 = x1 + 1e-7 * rng.normal(size=800)
    X, y = np.column_stack([x1, x2]), x1 + rng.normal(size=800)
    merged = merge_statistics(_parts(X, y, np.array_split(np.arange(800), 7)))
    # R[1, 1] is the norm of x2's residual on x1 (both centred): 1e-7 of their scale
    centred = X - X.mean(axis=0)
    coef = np.linalg.lstsq(centred[:, :1], centred[:, 1], rcond=None)[0]
    residual_norm = np.linalg.norm(centred[:, 1] - centred[:, :1] @ coef)
    np.testing.assert_allclose(merged.triangle[1, 1], residual_norm, rtol=1e-6)


def test_a_near_exact_fit_keeps_its_residual_sum_of_squares():
    # y'y - b'X'Xb would cancel 16 digits here; the triangle's last entry is the residual norm.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1000, 3)) * [1.0, 100.0, 0.01]
    y = 7.0 + X @ [3.0, -2.0, 50.0] + 1e-9 * rng.normal(size=1000)
    merged = merge_statistics(_parts(X, y, np.array_split(np.arange(1000), 6)))
    A = np.column_stack([np.ones(1000), X])
    resid = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(merged.triangle[-1, -1], np.linalg.norm(resid), rtol=1e-5)


def test_weight_two_is_the_row_twice_and_weight_zero_the_row_removed():
    X, y = _data(n=60)
    w = np.random.default_rng(6).integers(0, 3, size=60)
    weighted = GaussianStatistics.from_chunk(X, y, w)
    repeated = GaussianStatistics.from_chunk(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.triangle.T @ weighted.triangle,
                               repeated.triangle.T @ repeated.triangle, rtol=1e-12)
    np.testing.assert_allclose(weighted.mean, repeated.mean, rtol=1e-14)
    np.testing.assert_array_equal(weighted.magnitude, repeated.magnitude)
    assert weighted.n_rows == 60 and weighted.weight_sum == w.sum()


def test_moments_are_the_column_moments():
    from bayes_sklearn.design.standardize import column_moments

    X, y = _data(n=300, offset=-40.0, scale=1e4)
    w = np.random.default_rng(7).uniform(0.5, 2.0, size=300)
    merged = merge_statistics(_parts(X, y, np.array_split(np.arange(300), 4), w))
    for got, expected in zip(merged.moments(), column_moments(np.column_stack([X, y]), w)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_equivalent_rows_have_the_moments_of_the_data():
    X, y = _data(n=200, offset=3e5)
    w = np.random.default_rng(8).uniform(0, 2, size=200)
    stats = GaussianStatistics.from_chunk(X, y, w)
    center, scale = np.array([3e5, 3e5 + 1.0, 3e5]), np.array([2.0, 5.0, 0.1])
    X_z, y_rel, weights = stats.equivalent_rows(center, scale, y_offset=100.0)
    data = np.column_stack([(X - center) / scale, y - 100.0])
    rows = np.column_stack([X_z, y_rel])
    np.testing.assert_allclose(weights.sum(), w.sum(), rtol=1e-14)
    np.testing.assert_allclose(weights @ rows / weights.sum(),
                               w @ data / w.sum(), rtol=1e-9, atol=1e-9)
    gram = (rows * weights[:, None]).T @ rows
    expected = (data * w[:, None]).T @ data
    np.testing.assert_allclose(gram, expected, rtol=1e-10)


def test_the_vector_form_round_trips():
    X, y = _data(n=50)
    stats = GaussianStatistics.from_chunk(X, y)
    back = GaussianStatistics.from_array(stats.to_array(), n_features=3)
    for field in ("mean", "mean_error", "magnitude", "triangle"):
        np.testing.assert_array_equal(getattr(back, field), getattr(stats, field))
    assert (back.n_rows, back.weight_sum) == (50, 50.0)
    with pytest.raises(ValueError, match="Statistics of 2 features have"):
        GaussianStatistics.from_array(stats.to_array(), n_features=2)


def test_statistics_of_other_features_do_not_merge():
    X, y = _data(n=20)
    with pytest.raises(ValueError, match="Cannot merge statistics of 3 and 2 features"):
        GaussianStatistics.from_chunk(X, y).merge(GaussianStatistics.from_chunk(X[:, :2], y))
    with pytest.raises(ValueError, match="at least one"):
        merge_statistics([])


def test_the_empty_statistics_are_the_identity():
    X, y = _data(n=20)
    stats = GaussianStatistics.from_chunk(X, y)
    for merged in (GaussianStatistics.empty(3).merge(stats), stats.merge(GaussianStatistics.empty(3))):
        np.testing.assert_array_equal(merged.triangle, stats.triangle)
        np.testing.assert_array_equal(merged.mean, stats.mean)
        assert merged.n_rows == 20
