"""Mergeable statistics of the gaussian linear model's data.

A chunk of rows ``[X | y]`` with frequency weights ``w`` contributes its
number of rows, the sum of its weights ``W``, its weighted column means
``mu``, the largest magnitude of each column (over rows of positive weight)
and the triangle ``R`` of the QR decomposition of ``sqrt(w) * ([X | y] - mu)``,
so that ``R'R`` is the weighted scatter about the means. Two chunks merge
with the tall-skinny-QR step: ``R`` is the triangle of

    [R_a; R_b; sqrt(W_a W_b / W) (mu_b - mu_a)],

the last row being the scatter the two means add about the common one. The
merge is associative and commutative up to rounding, centres every chunk
before any square is formed and never writes the residual sum of squares as
``y'y - b'X'Xb``: the last diagonal entry of ``R`` is the residual norm of
the least-squares fit itself.

Each mean is kept as a rounded value and its rounding error (a second
pass over the chunk's deviations, and an error-free sum in the merge).
Columns offset by 1e8 have means rounded at 1.5e-8; differences of such
means, the merge's last row, would otherwise carry that error into the
scatter at 1e-10 of its size.

The gaussian likelihood without group terms depends on the data only
through ``W``, ``mu`` and ``R'R``; :meth:`GaussianStatistics.equivalent_rows`
turns them into ``2 (p + 1)`` weighted rows with exactly those moments, on
which every engine of the in-memory fit runs unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


def _triangle(rows: np.ndarray, k: int) -> np.ndarray:
    """The ``k x k`` triangle of the QR decomposition of ``rows``, diagonal >= 0.

    Fewer rows than columns leave the missing rows zero; the signs are fixed
    so that the same scatter always gives the same triangle.
    """
    triangle = np.zeros((k, k))
    if rows.shape[0]:
        r = np.linalg.qr(rows, mode="r")
        triangle[: r.shape[0]] = r
    signs = np.where(np.diag(triangle) < 0, -1.0, 1.0)
    return triangle * signs[:, None]


@dataclass(frozen=True, eq=False)
class GaussianStatistics:
    """The weighted count, means, magnitudes and scatter triangle of ``[X | y]``.

    Build one per chunk with :meth:`from_chunk` and combine them with
    :meth:`merge` or :func:`merge_statistics`, in any order and grouping.
    ``BayesianLinearRegression.fit_statistics`` fits them, and they are what
    its ``fit`` computes from Dask arrays, parquet files and iterators of
    chunks.

    Build them with :meth:`from_chunk`; the constructor takes the fields.

    Parameters
    ----------
    n_rows : int
        Rows seen, weight 0 included.
    weight_sum : float
        Sum of the frequency weights (the number of rows when unweighted).
    mean : ndarray of shape (n_features + 1,)
        Weighted means of the columns of ``X`` and of ``y`` (last), rounded.
    mean_error : ndarray of shape (n_features + 1,)
        What ``mean`` misses of the exact means: their rounding error.
    magnitude : ndarray of shape (n_features + 1,)
        Largest absolute value of each column over rows of positive weight.
    triangle : ndarray of shape (n_features + 1, n_features + 1)
        Upper triangular ``R`` with ``R'R = sum_i w_i (z_i - mean)(z_i - mean)'``,
        ``z_i = [x_i, y_i]``; non-negative diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn.chunked import GaussianStatistics, merge_statistics
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(100, 2)), rng.normal(size=100)
    >>> parts = [GaussianStatistics.from_chunk(X[i:i + 30], y[i:i + 30])
    ...          for i in range(0, 100, 30)]
    >>> merged = merge_statistics(parts)
    >>> whole = GaussianStatistics.from_chunk(X, y)
    >>> merged.n_rows, bool(np.allclose(merged.triangle, whole.triangle))
    (100, True)
    """

    n_rows: int
    weight_sum: float
    mean: np.ndarray
    mean_error: np.ndarray
    magnitude: np.ndarray
    triangle: np.ndarray

    def __post_init__(self):
        k = np.shape(self.mean)[0] if np.ndim(self.mean) == 1 else -1
        shapes_ok = (k > 0 and np.shape(self.mean_error) == (k,)
                     and np.shape(self.magnitude) == (k,) and np.shape(self.triangle) == (k, k))
        if not shapes_ok:
            raise ValueError("GaussianStatistics needs mean, mean_error and magnitude of one "
                             "length k and a k x k triangle.")
        values = (self.weight_sum, self.mean, self.mean_error, self.magnitude, self.triangle)
        if not all(np.all(np.isfinite(v)) for v in values) or self.weight_sum < 0 or \
                int(self.n_rows) != self.n_rows or self.n_rows < 0:
            raise ValueError("GaussianStatistics needs finite values, a weight sum >= 0 and "
                             "a whole number of rows >= 0.")

    @property
    def n_features(self) -> int:
        """Number of columns of ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.chunked import GaussianStatistics
        >>> GaussianStatistics.from_chunk(np.zeros((4, 3)), np.zeros(4)).n_features
        3
        """
        return self.mean.shape[0] - 1

    @classmethod
    def empty(cls, n_features: int) -> GaussianStatistics:
        """The statistics of no rows: the identity of :meth:`merge`.

        Parameters
        ----------
        n_features : int
            Number of columns of ``X``.

        Returns
        -------
        GaussianStatistics
            Zero rows, zero weight.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.chunked import GaussianStatistics
        >>> part = GaussianStatistics.from_chunk(np.eye(3), np.arange(3.0))
        >>> merged = GaussianStatistics.empty(3).merge(part)
        >>> merged.n_rows, bool(np.array_equal(merged.triangle, part.triangle))
        (3, True)
        """
        return cls._no_rows(0, n_features + 1)

    @classmethod
    def _no_rows(cls, n_rows: int, k: int) -> GaussianStatistics:
        return cls(n_rows, 0.0, np.zeros(k), np.zeros(k), np.zeros(k), np.zeros((k, k)))

    @classmethod
    def from_chunk(cls, X, y, sample_weight=None) -> GaussianStatistics:
        """The statistics of one chunk of rows.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Design rows (numeric, finite).
        y : array-like of shape (n_rows,)
            Targets.
        sample_weight : array-like of shape (n_rows,), optional
            Frequency weights (non-negative, finite); None means all 1.

        Returns
        -------
        GaussianStatistics
            The chunk's count, weight sum, means, magnitudes and triangle.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.chunked import GaussianStatistics
        >>> X = np.array([[1.0], [2.0], [3.0]])
        >>> stats = GaussianStatistics.from_chunk(X, [2.0, 4.0, 7.0], sample_weight=[1, 1, 2])
        >>> stats.weight_sum, stats.mean.tolist()
        (4.0, [2.25, 5.0])
        >>> stats.moments()[1].round(3).tolist()  # weighted sds of x and y
        [0.829, 2.121]
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if X.ndim != 2 or X.shape[0] != y.shape[0]:
            raise ValueError(f"A chunk needs X of shape (n, p) and y of shape (n,); got "
                             f"{X.shape} and {y.shape}.")
        n_rows = X.shape[0]
        data = np.column_stack([X, y])
        k = data.shape[1]
        if sample_weight is None:
            w = None
        else:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if w.shape != (n_rows,):
                raise ValueError(f"sample_weight has shape {w.shape}, expected ({n_rows},).")
            data, w = data[w > 0], w[w > 0]
        if data.shape[0] == 0:
            return cls._no_rows(n_rows, k)
        weight_sum = float(data.shape[0] if w is None else w.sum())

        def average(values):
            return values.mean(axis=0) if w is None else (w @ values) / weight_sum

        mean = average(data)
        deviations = data - mean
        mean_error = average(deviations)
        deviations -= mean_error
        if w is not None:
            deviations *= np.sqrt(w)[:, None]
        magnitude = np.abs(data).max(axis=0)
        return cls(n_rows, weight_sum, mean, mean_error, magnitude, _triangle(deviations, k))

    def merge(self, other: GaussianStatistics) -> GaussianStatistics:
        """The statistics of both chunks' rows together.

        Parameters
        ----------
        other : GaussianStatistics
            Statistics of other rows with the same columns.

        Returns
        -------
        GaussianStatistics
            The statistics of the rows of both.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.chunked import GaussianStatistics
        >>> rng = np.random.default_rng(0)
        >>> X, y = rng.normal(size=(10, 2)), rng.normal(size=10)
        >>> merged = GaussianStatistics.from_chunk(X[:4], y[:4]).merge(
        ...     GaussianStatistics.from_chunk(X[4:], y[4:]))
        >>> whole = GaussianStatistics.from_chunk(X, y)
        >>> bool(np.allclose(merged.triangle.T @ merged.triangle,
        ...                  whole.triangle.T @ whole.triangle))
        True
        """
        if other.mean.shape != self.mean.shape:
            raise ValueError(f"Cannot merge statistics of {self.n_features} and "
                             f"{other.n_features} features.")
        n_rows = self.n_rows + other.n_rows
        magnitude = np.maximum(self.magnitude, other.magnitude)
        if other.weight_sum == 0 or self.weight_sum == 0:
            kept = self if other.weight_sum == 0 else other
            return GaussianStatistics(n_rows, kept.weight_sum, kept.mean, kept.mean_error,
                                      magnitude, kept.triangle)
        weight_sum = self.weight_sum + other.weight_sum
        # the rounded means' difference is exact where they are close; their errors added
        delta = (other.mean - self.mean) + (other.mean_error - self.mean_error)
        step = (other.weight_sum / weight_sum) * delta
        mean = self.mean + step
        # Knuth's two-sum: the rounding error of self.mean + step, exactly
        virtual = mean - self.mean
        rounding = (self.mean - (mean - virtual)) + (step - virtual)
        between = np.sqrt(self.weight_sum * other.weight_sum / weight_sum) * delta
        stacked = np.vstack([self.triangle, other.triangle, between[None, :]])
        return GaussianStatistics(n_rows, weight_sum, mean, self.mean_error + rounding,
                                  magnitude, _triangle(stacked, mean.shape[0]))

    def moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted mean, population standard deviation and magnitude of each
        column of ``[X | y]``, as :func:`~bayes_sklearn.design.standardize.column_moments`.

        Returns
        -------
        mean : ndarray of shape (n_features + 1,)
            Weighted means (their rounding error added back).
        sd : ndarray of shape (n_features + 1,)
            Weighted standard deviations about them, over the weight sum.
        magnitude : ndarray of shape (n_features + 1,)
            Largest absolute values.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.chunked import GaussianStatistics
        >>> stats = GaussianStatistics.from_chunk([[1e8 + 1], [1e8 + 3]], [0.0, -4.0])
        >>> mean, sd, magnitude = stats.moments()
        >>> mean.tolist(), sd.round(12).tolist()
        ([100000002.0, -2.0], [1.0, 2.0])
        """
        if self.weight_sum == 0:
            raise ValueError("The statistics hold no row of positive weight.")
        sd = np.linalg.norm(self.triangle, axis=0) / np.sqrt(self.weight_sum)
        return self.mean + self.mean_error, sd, self.magnitude

    def equivalent_rows(
        self, center: np.ndarray, scale: np.ndarray, y_offset: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``2 (p + 1)`` weighted rows with this data's weight sum, means and scatter.

        Returned as ``(X_z, y - y_offset, weights)`` with ``X_z`` on the
        standardised scale ``(X - center) / scale``: rows ``m ± sqrt(k / W) R_i``
        with weight ``W / (2k)`` each (``k = p + 1``, ``R_i`` the rows of the
        triangle), whose weighted sum, mean and scatter are ``W``, the means
        ``m`` and ``R'R``. Anything that reads the data only through those,
        the gaussian likelihood without group terms, is unchanged on them.
        The means are taken relative to ``center`` and ``y_offset`` before the
        deviations are added, so an offset of the data (1e8) is never added
        back to them: with ``center`` and ``y_offset`` at the means, the rows
        are the deviations themselves.

        Parameters
        ----------
        center, scale : ndarray of shape (n_features,)
            The standardisation of ``X`` (a fitted ``Standardizer``'s).
        y_offset : float, default=0.0
            Subtracted from ``y``.

        Returns
        -------
        X_z : ndarray of shape (2 (n_features + 1), n_features)
            The rows' standardised design.
        y : ndarray of shape (2 (n_features + 1),)
            Their targets, minus ``y_offset``.
        weights : ndarray of shape (2 (n_features + 1),)
            Their weights, ``W / (2 (n_features + 1))`` each.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.chunked import GaussianStatistics
        >>> rng = np.random.default_rng(0)
        >>> X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
        >>> stats = GaussianStatistics.from_chunk(X, y)
        >>> X_z, y_rows, w = stats.equivalent_rows(np.zeros(2), np.ones(2))
        >>> X_z.shape, round(float(w.sum()), 12)
        ((6, 2), 50.0)
        >>> rows = np.column_stack([X_z, y_rows])
        >>> data = np.column_stack([X, y])
        >>> bool(np.allclose((rows * w[:, None]).T @ rows, data.T @ data))
        True
        """
        if self.weight_sum == 0:
            raise ValueError("The statistics hold no row of positive weight.")
        k = self.mean.shape[0]
        spread = np.sqrt(k / self.weight_sum) * self.triangle
        deviations = np.vstack([spread, -spread])
        offsets = np.append(center, y_offset)
        relative_mean = (self.mean - offsets) + self.mean_error
        rows = relative_mean + deviations
        weights = np.full(2 * k, self.weight_sum / (2 * k))
        return rows[:, :-1] / scale, rows[:, -1], weights

    def to_array(self) -> np.ndarray:
        """The statistics as one float64 vector (for Spark or Ray rows); see :meth:`from_array`.

        Returns
        -------
        ndarray of shape (2 + 3 (n_features + 1) + (n_features + 1)^2,)
            ``n_rows``, ``weight_sum``, ``mean``, ``mean_error``, ``magnitude``
            and the triangle's rows.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.chunked import GaussianStatistics
        >>> stats = GaussianStatistics.from_chunk(np.ones((5, 2)), np.arange(5.0))
        >>> stats.to_array().shape
        (20,)
        """
        return np.concatenate([[self.n_rows, self.weight_sum], self.mean, self.mean_error,
                               self.magnitude, self.triangle.ravel()])

    @classmethod
    def from_array(cls, values, n_features: int) -> GaussianStatistics:
        """Read statistics written by :meth:`to_array`.

        Parameters
        ----------
        values : array-like of float
            The vector :meth:`to_array` returned.
        n_features : int
            Number of columns of ``X``.

        Returns
        -------
        GaussianStatistics
            The statistics the vector holds.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.chunked import GaussianStatistics
        >>> stats = GaussianStatistics.from_chunk(np.ones((5, 2)), np.arange(5.0))
        >>> back = GaussianStatistics.from_array(stats.to_array(), n_features=2)
        >>> back.n_rows, bool(np.array_equal(back.triangle, stats.triangle))
        (5, True)
        """
        values = np.asarray(values, dtype=np.float64)
        k = n_features + 1
        size = 2 + 3 * k + k * k
        if values.shape != (size,):
            raise ValueError(f"Statistics of {n_features} features have {size} values, got "
                             f"an array of shape {values.shape}.")
        vectors = values[2 : 2 + 3 * k].reshape(3, k)
        return cls(int(values[0]), float(values[1]), vectors[0].copy(), vectors[1].copy(),
                   vectors[2].copy(), values[2 + 3 * k :].reshape(k, k).copy())


def merge_statistics(parts: Iterable[GaussianStatistics]) -> GaussianStatistics:
    """Merge any number of statistics pairwise, as a balanced tree.

    Parameters
    ----------
    parts : iterable of GaussianStatistics
        Statistics of disjoint chunks with the same columns (at least one).

    Returns
    -------
    GaussianStatistics
        The statistics of all their rows.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn.chunked import GaussianStatistics, merge_statistics
    >>> X, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)
    >>> parts = [GaussianStatistics.from_chunk(X[i:i + 2], y[i:i + 2]) for i in (0, 2, 4)]
    >>> merged = merge_statistics(parts)
    >>> merged.n_rows, merged.mean.tolist()
    (6, [5.0, 6.0, 2.5])
    """
    level = list(parts)
    if not level:
        raise ValueError("merge_statistics needs at least one GaussianStatistics.")
    return tree_reduce(level, GaussianStatistics.merge)


#: Rows per block when statistics are computed from rows in memory: the
#: block's centred copy stays small, and LAPACK's QR is fastest at this size.
BLOCK_ROWS = 65_536


def statistics_of_rows(X: np.ndarray, y: np.ndarray,
                       sample_weight: np.ndarray | None = None) -> GaussianStatistics:
    """The statistics of rows in one array, computed block by block: merged,
    as ``from_chunk`` of them all, with a working copy of one block only."""
    starts = range(0, max(X.shape[0], 1), BLOCK_ROWS)
    return merge_statistics(
        GaussianStatistics.from_chunk(
            X[i : i + BLOCK_ROWS], y[i : i + BLOCK_ROWS],
            None if sample_weight is None else sample_weight[i : i + BLOCK_ROWS])
        for i in starts
    )


def tree_reduce(items: list, merge):
    """``merge`` applied pairwise as a balanced tree (depth log2 of the count):
    to values, or to Dask delayed values with a delayed ``merge``."""
    while len(items) > 1:
        paired = [merge(a, b) for a, b in zip(items[::2], items[1::2])]
        items = paired + items[len(paired) * 2 :]
    return items[0]
