"""Exact posterior of the gaussian linear model.

For independent normal priors on the intercept and coefficients and any
prior on the noise scale ``sigma``, the coefficients are exactly normal given
``sigma``, and ``sigma``'s marginal posterior is one-dimensional:

    p(sigma | y) ∝ p(sigma) N(y | A m, sigma^2 I + A S A')

with ``A = [1, X_z]`` and prior mean ``m`` and diagonal covariance ``S``.
We evaluate that density on a fine grid of ``log sigma`` (its only numerical
approximation, at a relative error far below Monte Carlo error), draw
``sigma`` by inverse CDF and then the coefficients from their conditional
normal. With ``L = S^{1/2}`` and ``L A'A L = Q diag(lam) Q'`` every grid point
costs O(p) after one eigendecomposition, and the data enter only through the
sufficient statistics ``A'A``, ``A'y``, the least-squares residual sum of squares and ``n``
(with frequency weights: ``A'WA``, ``A'Wy``, the weighted sum and ``sum(w)``).

Fixed values (:class:`~bayes_sklearn.priors.Constant`) are offsets: a fixed
intercept or coefficient leaves its column of ``A`` and its contribution is
subtracted from ``y``. A fixed noise sd makes the posterior exactly Gaussian:
the "grid" is that one sigma.

When the noise prior were inverse-gamma and the coefficient priors scaled
by ``sigma``, this would be the closed-form Normal–Inverse-Gamma posterior;
the estimator's default priors are independent of ``sigma`` (weaker for
high signal-to-noise data), so the one-dimensional integral is done numerically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_sklearn.design.standardize import location_scale
from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec
from bayes_sklearn.priors import Constant, Normal

_GRID_POINTS = 4001
_LOG_DENSITY_DROP = 50.0


@dataclass(frozen=True, eq=False)
class ExactPosterior:
    """The exact posterior on the standardised scale, with ``y`` rescaled.

    ``theta = [intercept_z, coef_z...]``; internally ``y`` is shifted by
    ``y_shift`` and divided by ``y_scale`` for numerical stability. Only the
    entries ``free`` of ``theta`` are random; ``fixed_theta`` holds the others.
    """

    prior_sd: np.ndarray
    eigvecs: np.ndarray
    eigvals: np.ndarray
    u: np.ndarray
    w_ols: np.ndarray
    log_sigma_grid: np.ndarray
    grid_weights: np.ndarray
    y_shift: float
    y_scale: float
    free: np.ndarray
    fixed_theta: np.ndarray

    def _conditional(self, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Conditional variance ``d`` and mean of the whitened ``theta`` per sigma.

        The mean is the precision-weighted average of the prior mean ``u``
        and the least-squares fit ``w_ols``, written so nothing cancels.
        """
        ratio = self.eigvals[None, :] / sigma[:, None] ** 2
        d = 1.0 / (1.0 + ratio)
        mean = d * (self.u[None, :] + ratio * self.w_ols[None, :])
        return d, mean

    def _to_theta(self, whitened: np.ndarray) -> np.ndarray:
        """Map whitened vectors (rows) to ``theta`` on the original ``y`` scale."""
        theta = np.tile(self.fixed_theta, (whitened.shape[0], 1))
        theta[:, self.free] = (whitened @ self.eigvecs.T) * self.prior_sd[None, :] * self.y_scale
        theta[:, 0] += self.y_shift
        return theta

    @property
    def known_sigma(self) -> bool:
        """Whether the noise sd is fixed (the posterior is then Gaussian)."""
        return self.log_sigma_grid.shape[0] == 1

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` exact draws of ``theta`` and ``sigma`` (original ``y`` scale)."""
        if self.known_sigma:
            log_sigma = np.full(n, self.log_sigma_grid[0])
        else:
            cdf = np.concatenate([[0.0], np.cumsum(self._cell_masses())])
            cdf /= cdf[-1]
            log_sigma = np.interp(rng.random(n), cdf, self.log_sigma_grid)
        sigma_scaled = np.exp(log_sigma)
        d, mean_w = self._conditional(sigma_scaled)
        whitened = mean_w + np.sqrt(d) * rng.standard_normal(mean_w.shape)
        return self._to_theta(whitened), sigma_scaled * self.y_scale

    def _cell_masses(self) -> np.ndarray:
        w = self.grid_weights
        return 0.5 * (w[1:] + w[:-1]) * np.diff(self.log_sigma_grid)

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact posterior mean and covariance of ``theta`` (original ``y`` scale)."""
        if self.known_sigma:
            weights = np.ones(1)
        else:
            weights = self.grid_weights * np.gradient(self.log_sigma_grid)
            weights /= weights.sum()
        sigma = np.exp(self.log_sigma_grid)
        d, mean_w = self._conditional(sigma)
        mean_whitened = weights @ mean_w
        # about the mean, not E[xx'] - mean mean': the mean can be thousands of sds
        centred = mean_w - mean_whitened
        cov_whitened = (centred * weights[:, None]).T @ centred + np.diag(weights @ d)
        to_theta = (self.prior_sd * self.y_scale)[:, None] * self.eigvecs
        mean = self.fixed_theta.copy()
        mean[self.free] = to_theta @ mean_whitened
        mean[0] += self.y_shift
        cov = np.zeros((mean.shape[0], mean.shape[0]))
        cov[np.ix_(self.free, self.free)] = to_theta @ cov_whitened @ to_theta.T
        return mean, cov


def _check_normal_priors(spec: ModelSpec) -> None:
    if spec.family != "gaussian":
        raise ValueError("inference='exact' applies only to the gaussian linear model.")
    named = [("intercept", spec.intercept_prior)] + list(zip(spec.coef_names, spec.coef_priors))
    for name, prior in named:
        if not isinstance(prior, (Normal, Constant)):
            raise ValueError(
                "inference='exact' needs Normal priors (or fixed values) on the intercept "
                f"and every coefficient; the prior of {name!r} is {prior!r}. Use "
                "inference='nuts'."
            )


def _whitened_eigenpairs(B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of ``B'B`` (``B = A L``, the whitened design).

    ``B'B`` is one BLAS pass over the rows, and its eigenpairs are accurate
    while ``B`` is well conditioned. An uncentred design (no intercept, or an
    intercept prior at x = 0) easily has a condition number of 1e6, and
    squaring it would leave weakly informed directions with rounding for
    data: then the singular values of ``B`` are taken from the triangle of
    its QR factorisation (also O(n k^2), a few times slower). Values at
    rounding level of the largest (numpy's ``matrix_rank`` tolerance) are an
    exact collinearity and set to 0: for a near-exact fit, where sigma^2 is
    as small, they would otherwise act as information on a direction the
    data do not inform.
    """
    n, k = B.shape
    eigvals, eigvecs = np.linalg.eigh(B.T @ B)
    if eigvals.min() > 1e-8 * eigvals.max():  # condition number of B below 1e4
        return eigvals, eigvecs
    triangle = np.linalg.qr(B, mode="r")
    _, singular, vt = np.linalg.svd(triangle, full_matrices=True)
    tolerance = max(singular.max(initial=0.0), 1e-300) * max(n, k) * np.finfo(float).eps
    eigvals = np.zeros(k)
    eigvals[: singular.shape[0]] = np.where(singular > tolerance, singular, 0.0) ** 2
    return eigvals, vt.T


def exact_posterior(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> ExactPosterior:
    """Compute the exact posterior of the gaussian model on standardised data.

    ``sample_weight`` are frequency weights: the likelihood of row ``i`` counts
    ``w_i`` times, so ``A'WA``, ``A'Wy``, the weighted residual sum of squares
    and ``n = sum(w)`` replace their unweighted forms.
    """
    _check_normal_priors(spec)
    y = np.asarray(y, dtype=np.float64)
    priors = [spec.intercept_prior] + list(spec.sampling_coef_priors())
    fixed = np.array([isinstance(p, Constant) for p in priors])
    free = np.flatnonzero(~fixed)
    if free.shape[0] == 0:
        raise ValueError("Every coefficient and the intercept are fixed: nothing to infer.")
    fixed_theta = np.array([p.value if isinstance(p, Constant) else 0.0 for p in priors])
    A = np.column_stack([np.ones(X_z.shape[0]), X_z])
    if np.any(fixed):
        y = y - A[:, fixed] @ fixed_theta[fixed]
        A = A[:, free]
    priors = [priors[i] for i in free]
    if sample_weight is None:
        root_w = None
        n = float(X_z.shape[0])
        y_shift = float(np.mean(y))
        y_scale = float(np.std(y)) or 1.0
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        root_w = np.sqrt(w)
        n = float(w.sum())
        y_shift, y_scale = location_scale(y, w)
    if fixed[0]:
        y_shift = 0.0  # no free intercept to absorb a shift of y

    y_s = (y - y_shift) / y_scale
    prior_mean = np.array([p.mu for p in priors])
    prior_mean[0] -= y_shift  # 0 when the intercept is fixed
    prior_mean /= y_scale
    prior_sd = np.array([p.sigma for p in priors]) / y_scale

    if root_w is not None:
        # Rows scaled by sqrt(w): A'A, A'y and |residual|^2 become their weighted forms.
        A *= root_w[:, None]
        y_s *= root_w
    eigvals, eigvecs = _whitened_eigenpairs(A * prior_sd[None, :])
    identified = eigvals > 0
    u = eigvecs.T @ (prior_mean / prior_sd)
    v = eigvecs.T @ (prior_sd * (A.T @ y_s))
    w_ols = np.where(identified, v / np.where(identified, eigvals, 1.0), 0.0)
    # The residual sum of squares from the residuals themselves: through
    # y'y - b'P^{-1}b it would cancel catastrophically when the fit is close.
    residual = y_s - A @ (prior_sd * (eigvecs @ w_ols))
    ssr = float(residual @ residual)
    prior_misfit = (u - w_ols) ** 2

    def log_posterior(log_sigma: np.ndarray) -> np.ndarray:
        sigma2 = np.exp(2 * log_sigma)[:, None]
        # min over theta of |y - A theta|^2 / sigma^2 + |theta - m|^2_{S^-1}
        quad = ssr / sigma2[:, 0] + np.sum(eigvals / (sigma2 + eigvals) * prior_misfit, axis=1)
        log_det = np.sum(np.log1p(eigvals / sigma2), axis=1)
        log_lik = -n * log_sigma - 0.5 * log_det - 0.5 * quad
        # density of log(sigma) on the original y scale: p(sigma) * sigma
        log_prior = spec.noise_prior.logpdf(np.exp(log_sigma) * y_scale) + log_sigma
        return log_lik + log_prior

    if isinstance(spec.noise_prior, Constant):
        grid = np.array([np.log(spec.noise_prior.value / y_scale)])
        weights = np.ones(1)
    else:
        coarse = np.linspace(-40.0, 10.0, _GRID_POINTS)
        values = log_posterior(coarse)
        keep = np.nonzero(values > np.nanmax(values) - _LOG_DENSITY_DROP)[0]
        lo = coarse[max(keep[0] - 1, 0)]
        hi = coarse[min(keep[-1] + 1, len(coarse) - 1)]
        grid = np.linspace(lo, hi, _GRID_POINTS)
        log_density = log_posterior(grid)
        weights = np.exp(log_density - log_density.max())
    return ExactPosterior(
        prior_sd=prior_sd,
        eigvecs=eigvecs,
        eigvals=eigvals,
        u=u,
        w_ols=w_ols,
        log_sigma_grid=grid,
        grid_weights=weights,
        y_shift=y_shift,
        y_scale=y_scale,
        free=free,
        fixed_theta=fixed_theta,
    )


def sample_exact(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    sample_weight: np.ndarray | None = None,
) -> SamplerResult:
    """Independent draws from the exact posterior, laid out as chains."""
    posterior = exact_posterior(spec, X_z, y, sample_weight)
    rng = np.random.default_rng(settings.seed)
    theta, sigma = posterior.sample(settings.chains * settings.draws, rng)
    shape = (settings.chains, settings.draws)
    return SamplerResult(
        intercept_z=theta[:, 0].reshape(shape + (1,)),
        coef_z=theta[:, 1:].reshape(shape + (spec.n_coef, 1)),
        sigma=sigma.reshape(shape),
        sample_stats=None,
        method="exact",
        moments=posterior.moments(),
    )
