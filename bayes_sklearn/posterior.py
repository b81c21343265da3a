"""The fitted posterior as a value, and prediction as array algebra over it.

:class:`Posterior` holds draws of the intercept, coefficients and noise scale
on the original feature scale. Every prediction is ``X @ coef + intercept``
for each draw followed by the family's inverse link, evaluated over blocks of
rows so that memory stays bounded whatever the number of rows. No PyMC is
imported here: a pickled estimator predicts without it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import logsumexp

from bayes_sklearn.model.families import FAMILIES, Family

#: Upper bound on the bytes of one block of linear predictors.
CHUNK_BYTES = 64 * 2**20
#: A thin design's blocks are smaller still, so that a block stays in a
#: core's L2 cache through the product, the inverse link and the average
#: over draws: at 4000 draws, 1 MiB blocks (32 rows) of a 4-column design ran
#: 1.5x faster per row than 64 MiB blocks (11.9 against 17.7 s per million
#: rows, one BLAS thread). With many columns the product dominates and
#: prefers long blocks (301 columns: 93 against 65 s).
CACHE_BLOCK_BYTES = 2**20
THIN_DESIGN_COLUMNS = 32

#: Averaged bernoulli probabilities nearer than this to 0 or 1 are recomputed
#: in log space. Elsewhere the fast sigmoid's absolute error (below 6e-17) is
#: a relative error below 1e-8.
BERNOULLI_TAIL = 1e-8
#: Averaged softmax probabilities are relatively accurate down to underflow;
#: rows with a class below this are recomputed in log space.
CATEGORICAL_TAIL = 1e-290


@dataclass(frozen=True, eq=False)
class TermEffects:
    """Draws of one lme4-style group term ``(1 + x | g)``, effects at x = 0.

    The last axis is the model's outputs: 1, or one per non-reference class
    of a categorical model, each class with effects, sds and correlation of
    its own.

    Attributes
    ----------
    effects : ndarray of shape (n_draws, n_levels, n_effects, n_outputs)
        Each level's deviations, one column per column of the term's design.
    sd : ndarray of shape (n_draws, n_effects, n_outputs)
        Standard deviations of the effects across levels.
    corr : ndarray of shape (n_draws, n_outputs, n_effects, n_effects) or None
        Correlation matrix of the effects; None when they are independent.
    """

    effects: np.ndarray
    sd: np.ndarray
    corr: np.ndarray | None = None

    @property
    def n_levels(self) -> int:
        return self.effects.shape[1]

    def subset(self, index: np.ndarray) -> TermEffects:
        corr = None if self.corr is None else self.corr[index]
        return TermEffects(self.effects[index], self.sd[index], corr)

    def draw_levels(self, n_levels: int, rng: np.random.Generator) -> np.ndarray:
        """Effects of ``n_levels`` new levels per draw, ``(n_draws, n_levels, n_effects, n_outputs)``.

        ``Normal(0, diag(sd) R diag(sd))`` with ``R`` the draw's correlation
        matrix (the identity when independent), per output.
        """
        n_draws, n_effects, n_outputs = self.sd.shape
        z = rng.standard_normal((n_draws, n_levels, n_effects, n_outputs))
        if self.corr is not None:
            z = np.einsum("slfo,soef->sleo", z, _psd_factor(self.corr))
        return z * self.sd[:, None, :, :]

    def with_new_levels(self, n_new: int, rng: np.random.Generator) -> TermEffects:
        """Append ``n_new`` levels drawn from the fitted distribution of levels."""
        new = self.draw_levels(n_new, rng)
        return replace(self, effects=np.concatenate([self.effects, new], axis=1))

    def contribution(self, Z: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """``(n_draws, n_rows, n_outputs)`` effects of each row's level; code -1 means none."""
        known = codes >= 0
        out = np.einsum("sneo,ne->sno", self.effects[:, np.where(known, codes, 0)], Z)
        return np.where(known[None, :, None], out, 0.0)


def _psd_factor(matrices: np.ndarray) -> np.ndarray:
    """``F`` with ``F @ F.T == M`` per matrix: Cholesky, or from the eigenvalues
    (clipped at 0) where rounding left a stored correlation near ±1 not quite
    positive definite."""
    try:
        return np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(matrices)
        return vectors * np.sqrt(np.clip(values, 0.0, None))[..., None, :]


@dataclass(frozen=True, eq=False)
class Posterior:
    """Posterior (or prior) draws in a flat draw axis.

    Attributes
    ----------
    family : str
        Likelihood family name.
    intercept : ndarray of shape (n_draws, n_outputs)
    coef : ndarray of shape (n_draws, n_features, n_outputs)
    sigma : ndarray of shape (n_draws,) or None
    terms : tuple of TermEffects
        The lme4-style group terms, in the order of the model's.
    term_rows : tuple of (ndarray, ndarray) or None
        Per term, the rows' design ``(n_rows, n_effects)`` and level codes
        (-1: the term contributes nothing), set with :meth:`with_term_rows`;
        a ``None`` entry leaves its term out. Without it no term contributes.
    """

    family: str
    intercept: np.ndarray
    coef: np.ndarray
    sigma: np.ndarray | None = None
    terms: tuple[TermEffects, ...] = ()
    term_rows: tuple | None = None

    @property
    def n_draws(self) -> int:
        return self.intercept.shape[0]

    @property
    def family_obj(self) -> Family:
        return FAMILIES[self.family]

    def subset(self, index: np.ndarray) -> Posterior:
        """The posterior restricted to the draws at ``index``."""
        sigma = None if self.sigma is None else self.sigma[index]
        return replace(self, intercept=self.intercept[index], coef=self.coef[index], sigma=sigma,
                       terms=tuple(term.subset(index) for term in self.terms))

    def _rows_per_chunk(self, chunk_bytes: int) -> int:
        per_row = self.n_draws * self.intercept.shape[1] * 8
        if self.coef.shape[1] + 1 <= THIN_DESIGN_COLUMNS:
            chunk_bytes = min(chunk_bytes, CACHE_BLOCK_BYTES)
        return max(1, chunk_bytes // per_row)

    def with_term_rows(self, rows) -> Posterior:
        """Bind each term's rows ``(Z, codes)`` (or None: left out) for prediction."""
        if len(rows) != len(self.terms):
            raise ValueError(f"{len(self.terms)} group terms, but rows for {len(rows)}.")
        return replace(self, term_rows=tuple(rows))

    def linear_predictor_chunks(
        self, X: np.ndarray, chunk_bytes: int = CHUNK_BYTES
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(rows, eta)`` blocks; ``eta`` is ``(n_draws, rows[, n_outputs])``.

        ``X`` is a dense array or a scipy sparse matrix (CSR slices rows cheaply).
        """
        step = self._rows_per_chunk(chunk_bytes)
        squeeze = self.family != "categorical"
        # The intercept rides along as a column of ones: one BLAS product per
        # chunk and no extra pass over eta to add it.
        coef = np.concatenate([self.intercept[:, None, :], self.coef], axis=1)
        n_draws, n_columns, n_outputs = coef.shape
        # (draws * outputs, columns): each block is one matmul, eta laid out
        # draws first (no einsum path search per block: 40% of a 32-row block)
        weights = np.ascontiguousarray(coef.transpose(0, 2, 1).reshape(-1, n_columns))
        # One BLAS thread: these products are thin (few columns, one block of
        # rows), and OpenBLAS's threads cost more than they give on them:
        # 1.8x slower per row with 2 threads on 2 idle cores, and 25x when
        # the other core is busy (a joblib worker beside this one).
        with _one_blas_thread():
            for start in range(0, max(X.shape[0], 1), step):
                rows = slice(start, min(start + step, X.shape[0]))
                design = np.empty((rows.stop - rows.start, X.shape[1] + 1))
                design[:, 0] = 1.0
                block = X[rows]
                # a sparse X is densified one block of rows at a time: memory stays
                # bounded, and the products are those of the dense X, bit for bit
                design[:, 1:] = block.toarray() if hasattr(block, "toarray") else block
                eta = (weights @ design.T).reshape(n_draws, n_outputs, -1).transpose(0, 2, 1)
                for term, bound in zip(self.terms, self.term_rows or ()):
                    if bound is not None:
                        eta += term.contribution(bound[0][rows], bound[1][rows])
                yield rows, (eta[..., 0] if squeeze else eta)

    def map_rows(
        self,
        X: np.ndarray,
        reduce: Callable[[np.ndarray], np.ndarray],
        chunk_bytes: int = CHUNK_BYTES,
    ) -> np.ndarray:
        """Apply ``reduce`` to each block of ``eta``; join results along rows.

        ``reduce`` receives ``eta`` of shape ``(n_draws, rows, ...)`` and must
        return an array whose first axis is the rows.
        """
        parts = [reduce(eta) for _, eta in self.linear_predictor_chunks(X, chunk_bytes)]
        return np.concatenate(parts)

    def expected_values(self, eta: np.ndarray) -> np.ndarray:
        """``E[y]`` per draw and row from ``eta``; for bernoulli both class columns."""
        mu = self.family_obj.mean(eta)
        if self.family == "bernoulli":
            return np.stack([1.0 - mu, mu], axis=-1)
        return mu

    def _reduce_expected(self, X: np.ndarray, reduce: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        return self.map_rows(X, lambda eta: reduce(self.expected_values(eta)))

    def _reduce_positive_class(
        self, X: np.ndarray, reduce: Callable[[np.ndarray], np.ndarray], complement
    ) -> np.ndarray:
        """Bernoulli: reduce P(y=1) over draws, then add the class-0 column.

        Saves materialising both class columns per draw (3x the memory of
        ``eta`` and a third of predict_proba's time at 1000 rows x 4000 draws).
        """

        def positive(eta: np.ndarray) -> np.ndarray:
            return reduce(_sigmoid_in_place(eta))

        p1 = self.map_rows(X, positive)
        return np.stack([complement(p1), p1], axis=-1)

    def mean(self, X: np.ndarray) -> np.ndarray:
        """Posterior mean of ``E[y]``: values, or class probabilities.

        Class probabilities are ``exp`` of :meth:`log_mean`: a small
        probability is accurate relatively down to the smallest double
        instead of rounding to 0 below 1e-16.
        """
        if self.family in ("bernoulli", "categorical"):
            return np.exp(self.log_mean(X))
        return self._reduce_expected(X, _mean_over_draws)

    def log_mean(self, X: np.ndarray, chunk_bytes: int = CHUNK_BYTES) -> np.ndarray:
        """Log of the posterior mean class probabilities, ``(n_rows, n_classes)``.

        ``log mean_s p_s`` over the draws ``s``, finite wherever the linear
        predictors are. Each block of rows is averaged the fast way first;
        rows whose mean is too near 0 (or 1) for that are recomputed in log
        space, which costs about twice as much per row.
        """
        if self.family == "bernoulli":
            fast, exact = _bernoulli_log_mean_fast, _bernoulli_log_mean_exact
        elif self.family == "categorical":
            fast, exact = _categorical_log_mean_fast, _categorical_log_mean_exact
        else:
            raise ValueError(f"The {self.family} family has no class probabilities.")
        n_classes = self.intercept.shape[1] + 1  # a reference class and one per output
        out = np.empty((X.shape[0], n_classes))
        for rows, eta in self.linear_predictor_chunks(X, chunk_bytes):
            out[rows], redo = fast(eta)
            if redo.any():
                index = rows.start + np.flatnonzero(redo)
                out[index] = self._rows(index).map_rows(X[index], exact, chunk_bytes)
        return out

    def _rows(self, index: np.ndarray) -> Posterior:
        """The posterior for predicting the rows at ``index`` only."""
        if self.term_rows is None:
            return self
        return replace(self, term_rows=tuple(
            None if bound is None else (bound[0][index], bound[1][index])
            for bound in self.term_rows))

    def std(self, X: np.ndarray) -> np.ndarray:
        """Posterior standard deviation of ``E[y]`` (epistemic uncertainty only)."""
        if self.family == "bernoulli":
            return self._reduce_positive_class(X, lambda mu: mu.std(axis=0), lambda s: s)
        return self._reduce_expected(X, lambda mu: mu.std(axis=0))

    def predictive_std(self, X: np.ndarray) -> np.ndarray:
        """Standard deviation of a new observation: ``sqrt(Var[mu] + E[sigma^2])``."""
        noise_var = 0.0 if self.sigma is None else float(np.mean(self.sigma**2))
        return np.sqrt(self.map_rows(X, lambda eta: eta.var(axis=0)) + noise_var)

    def quantiles(self, X: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Quantiles over draws of ``E[y]``; shape ``(n_rows, [n_classes,] len(q))``."""
        return self._reduce_expected(
            X, lambda mu: np.moveaxis(np.quantile(mu, q, axis=0), 0, -1)
        )

    def gaussian_predictive_quantiles(self, X: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Quantiles of the posterior predictive (a mixture of normals) per row.

        Solved on the mixture CDF by Newton steps kept inside a bisection
        bracket, so the only error is that of the draws themselves, not of
        extra random sampling.
        """
        from scipy.special import ndtr, ndtri

        sigma = self.sigma[:, None]
        predictive_var = float(np.mean(self.sigma**2))
        z_levels = ndtri(q)

        def reduce(eta: np.ndarray) -> np.ndarray:
            lo = (eta - 12 * sigma).min(axis=0)
            hi = (eta + 12 * sigma).max(axis=0)
            center = eta.mean(axis=0)
            spread = np.sqrt(eta.var(axis=0) + predictive_var)
            out = np.empty((eta.shape[1], len(q)))
            for k, level in enumerate(q):
                a, b = lo.copy(), hi.copy()
                x = np.clip(center + z_levels[k] * spread, a, b)
                for _ in range(30):
                    z = (x[None, :] - eta) / sigma
                    cdf = ndtr(z).mean(axis=0)
                    pdf = (np.exp(-0.5 * z**2) / sigma).mean(axis=0) / np.sqrt(2 * np.pi)
                    below = cdf < level
                    a = np.where(below, x, a)
                    b = np.where(below, b, x)
                    step = (cdf - level) / np.maximum(pdf, 1e-300)
                    newton = x - step
                    # inclusive: a row already solved (or at its float
                    # resolution) steps onto its own bracket end, and a
                    # bisection then would throw it back to the bracket middle
                    inside = (newton >= a) & (newton <= b)
                    x = np.where(inside, newton, 0.5 * (a + b))
                    if np.all(np.abs(cdf - level) < 1e-12):
                        break
                out[:, k] = x
            return out

        return self.map_rows(X, reduce)

    def log_likelihood(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pointwise log likelihood, shape ``(n_draws, n_rows)``."""
        family = self.family_obj
        parts = [
            family.log_likelihood(y[rows], eta, self.sigma)
            for rows, eta in self.linear_predictor_chunks(X)
        ]
        return np.concatenate(parts, axis=1)

    def sample_outcomes(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One simulated outcome per draw and row, shape ``(n_draws, n_rows)``."""
        family = self.family_obj
        parts = [
            family.sample(eta, self.sigma, rng) for _, eta in self.linear_predictor_chunks(X)
        ]
        return np.concatenate(parts, axis=1)


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread():
    """A context in which BLAS runs on one thread (threadpoolctl)."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _mean_over_draws(values: np.ndarray) -> np.ndarray:
    """The mean over the first axis as one BLAS product with a vector of ones:
    on a (4000, 32) block 16 us against 100 us for ``mean(axis=0)``, with a
    rounding error of at most about 4000 ulps, far below the Monte Carlo
    error of the mean."""
    ones = np.full(values.shape[0], 1.0 / values.shape[0])
    return np.tensordot(ones, values, axes=1)


def _sigmoid_in_place(eta: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-eta))`` as ``(1 + tanh(eta / 2)) / 2``, overwriting ``eta``.

    Measured at 1000 rows x 4000 draws: 30 ms against 52 ms for
    ``scipy.special.expit``, the largest cost of predict_proba. The absolute
    error is below 6e-17, so probabilities below that round to 0: rows whose
    average comes within ``BERNOULLI_TAIL`` of 0 or 1 are redone in log space
    (see :meth:`Posterior.log_mean`).
    """
    eta *= 0.5
    np.tanh(eta, out=eta)
    eta *= 0.5
    eta += 0.5
    return eta


def _bernoulli_log_mean_fast(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[log(1 - p), log p]`` of ``p = mean_s expit(eta_s)``, and the rows to redo."""
    # the mean of (1 + tanh(eta / 2)) / 2 over draws, affine map after the mean
    eta *= 0.5
    np.tanh(eta, out=eta)
    # (clipped: the summed rounding can step past 0 or 1)
    p1 = np.clip(0.5 + 0.5 * _mean_over_draws(eta), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        log_p = np.log(np.stack([1.0 - p1, p1], axis=-1))
    return log_p, (p1 < BERNOULLI_TAIL) | (p1 > 1.0 - BERNOULLI_TAIL)


def _bernoulli_log_mean_exact(eta: np.ndarray) -> np.ndarray:
    """``[log(1 - p), log p]`` of ``p = mean_s expit(eta_s)`` in log space; overwrites ``eta``.

    On the side ``z`` (``eta`` or ``-eta``) of the less likely class, with
    ``m = max_s z_s``: ``expit(z_s) = exp(m) / (exp(m - z_s) + exp(m))``.
    ``m - z_s >= 0`` and the largest term is ``1 / (1 + exp(m))`` with ``m``
    small, so nothing underflows but terms negligible against it. The
    likelier class is ``log(1 - exp(log p_small))``.
    """
    high, low = eta.max(axis=0), eta.min(axis=0)
    flip = high > -low
    m = np.where(flip, -low, high)
    # eta becomes m - z in place: m - eta, or m + eta where flipped
    np.multiply(eta, np.where(flip, 1.0, -1.0), out=eta)
    eta += m
    with np.errstate(over="ignore"):
        np.exp(eta, out=eta)
    eta += np.exp(m)
    np.reciprocal(eta, out=eta)
    log_small = m + np.log(eta.mean(axis=0))
    log_large = _log1mexp(log_small)
    return np.stack([np.where(flip, log_small, log_large),
                     np.where(flip, log_large, log_small)], axis=-1)


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """``log(1 - exp(a))`` for ``a < 0`` without cancellation (Maechler 2012)."""
    with np.errstate(divide="ignore"):
        return np.where(a > -np.log(2.0), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def _categorical_log_mean_fast(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log of the averaged softmax probabilities, and the rows to redo."""
    p = _mean_over_draws(FAMILIES["categorical"].mean(eta))
    with np.errstate(divide="ignore"):
        return _complement_likeliest(np.log(p)), p.min(axis=-1) < CATEGORICAL_TAIL


def _categorical_log_mean_exact(eta: np.ndarray) -> np.ndarray:
    """``logsumexp`` over draws of the log-softmax probabilities, minus ``log S``."""
    log_p = FAMILIES["categorical"].log_class_probabilities(eta)
    return _complement_likeliest(logsumexp(log_p, axis=0) - np.log(eta.shape[0]))


def _complement_likeliest(log_p: np.ndarray) -> np.ndarray:
    """Recompute the log-probability of a class above 1/2 as ``log(1 - rest)``.

    Near 1 its own log has only absolute accuracy; the other classes' total
    is accurate relatively, and so is ``log(1 - rest)``.
    """
    rows = np.arange(log_p.shape[0])
    top = np.argmax(log_p, axis=-1)
    others = log_p.copy()
    others[rows, top] = -np.inf
    log_rest = logsumexp(others, axis=-1)
    dominant = log_rest < -np.log(2.0)
    log_p[rows[dominant], top[dominant]] = _log1mexp(log_rest[dominant])
    return log_p
