"""An independent reference posterior of the gaussian linear model, for tests.

Written from the model's math with numpy/scipy only (bayes_sklearn only
for the prior objects handed to the estimator), so the known-answer tests
do not compare the package with itself. The model, with the intercept ``c`` defined at the training feature
means ``xbar``:

    y = c + (X - xbar) @ beta + eps,  eps ~ N(0, sigma^2),
    c ~ N(m_0, s_0^2),  beta_j ~ N(m_j, s_j^2),  sigma ~ HalfNormal(noise_sd).

Given ``sigma`` the vector ``theta = (c, beta)`` is normal (conjugate update);
``sigma``'s marginal posterior ``p(sigma) N(y | A m, sigma^2 I + A S A')`` is
one-dimensional and integrated by quadrature on a dense grid of
``log sigma``. Every marginal quantity (moments, interval CDFs) is then a
finite mixture of normals over the grid: no Monte Carlo error at all.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from bayes_sklearn.priors import HalfNormal, Normal

PRIOR_MEAN = [1000.0, 0.0, 100.0]  # intercept (at the feature means), x0, x1
PRIOR_SD = [20.0, 1.0, 30.0]
NOISE_SD = 10.0
N_DRAWS = 4000


def scaled_data(n=150, seed=13):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    X = np.column_stack([3 + 5 * z[:, 0], -200 + 0.01 * (0.8 * z[:, 0] + 0.6 * z[:, 1])])
    y = 1000 + 2.0 * X[:, 0] + 150 * (X[:, 1] + 200) + rng.normal(scale=3.0, size=n)
    return X, y


def model_kwargs():
    priors = {"intercept": Normal(PRIOR_MEAN[0], PRIOR_SD[0]),
              0: Normal(PRIOR_MEAN[1], PRIOR_SD[1]), 1: Normal(PRIOR_MEAN[2], PRIOR_SD[2])}
    return dict(priors=priors, prior_noise=HalfNormal(NOISE_SD), progressbar=False)


class GaussianReference:
    """Exact posterior of ``(intercept, coef, sigma)`` for normal priors."""

    def __init__(self, X, y, prior_mean, prior_sd, noise_sd, grid_points=4001):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        self.n, self.p = X.shape
        self.xbar = X.mean(axis=0)
        self.A = np.column_stack([np.ones(self.n), X - self.xbar])
        self.m = np.asarray(prior_mean, dtype=float)
        self.S = np.asarray(prior_sd, dtype=float) ** 2
        self.noise_sd = noise_sd
        self.y = y

        # Marginal likelihood of sigma through the eigenvalues of A S A' (n x n).
        lam, U = np.linalg.eigh(self.A @ np.diag(self.S) @ self.A.T)
        lam = np.clip(lam, 0.0, None)
        r = U.T @ (y - self.A @ self.m)
        resid = y - self.A @ np.linalg.lstsq(self.A, y, rcond=None)[0]
        s_hat = np.sqrt(resid @ resid / (self.n - self.p - 1))
        grid = np.linspace(np.log(s_hat) - 1.5, np.log(s_hat) + 1.5, grid_points)
        var = np.exp(2 * grid)[:, None] + lam[None, :]
        log_lik = -0.5 * np.sum(np.log(var), axis=1) - 0.5 * np.sum(r**2 / var, axis=1)
        sigma = np.exp(grid)
        # density of log sigma: p(sigma) * sigma
        log_dens = log_lik + stats.halfnorm.logpdf(sigma, scale=noise_sd) + grid
        assert log_dens[0] < log_dens.max() - 40 and log_dens[-1] < log_dens.max() - 40
        w = np.exp(log_dens - log_dens.max())
        w[[0, -1]] *= 0.5  # trapezoid rule on a uniform grid
        self.weights = w / w.sum()
        self.sigma = sigma

        # theta | sigma ~ N(mu_k, V_k) at every grid point
        gram = (self.A.T @ self.A)[None]
        precision = np.diag(1 / self.S)[None] + gram / sigma[:, None, None] ** 2
        self.V = np.linalg.inv(precision)
        rhs = (self.m / self.S)[None, :] + (self.A.T @ y)[None, :] / sigma[:, None] ** 2
        self.mu = np.einsum("kij,kj->ki", self.V, rhs)

    # -- (intercept, coef) on the user's scale: intercept = c - xbar @ beta --

    @property
    def to_user(self) -> np.ndarray:
        T = np.eye(self.p + 1)
        T[0, 1:] = -self.xbar
        return T

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and covariance of ``[intercept, coef...]``."""
        w = self.weights
        mean = w @ self.mu
        second = np.einsum("k,kij->ij", w, self.V) + np.einsum("k,ki,kj->ij", w, self.mu, self.mu)
        cov = second - np.outer(mean, mean)
        T = self.to_user
        return T @ mean, T @ cov @ T.T

    def sigma_moment(self, power: float) -> float:
        """``E[sigma ** power]``."""
        return float(self.weights @ self.sigma**power)

    def log_sigma_moments(self) -> tuple[float, float]:
        """Mean and sd of ``log sigma``."""
        log_sigma = np.log(self.sigma)
        mean = float(self.weights @ log_sigma)
        return mean, float(np.sqrt(self.weights @ (log_sigma - mean) ** 2))

    # -- the regression line and new observations at rows X_new -------------

    def _line_components(self, X_new, predictive: bool):
        t = np.column_stack([np.ones(len(X_new)), np.asarray(X_new) - self.xbar])
        loc = self.mu @ t.T  # (grid, rows)
        var = np.einsum("ri,kij,rj->kr", t, self.V, t)
        if predictive:
            var = var + self.sigma[:, None] ** 2
        return loc, np.sqrt(var)

    def line_cdf(self, X_new, values, predictive: bool = False) -> np.ndarray:
        """``P(line(x_r) <= values[r, ...])``: a mixture of normal CDFs per row."""
        loc, scale = self._line_components(X_new, predictive)
        values = np.asarray(values, dtype=float)
        z = (values.reshape(len(X_new), -1)[None] - loc[..., None]) / scale[..., None]
        return np.einsum("k,krq->rq", self.weights, stats.norm.cdf(z)).reshape(values.shape)

    def line_quantiles(self, X_new, q, predictive: bool = False) -> np.ndarray:
        """Quantiles ``(rows, len(q))`` of the line (or of a new observation)."""
        loc, scale = self._line_components(X_new, predictive)
        out = np.empty((len(X_new), len(q)))
        for r in range(len(X_new)):
            lo, hi = (loc[:, r] - 10 * scale[:, r]).min(), (loc[:, r] + 10 * scale[:, r]).max()
            for j, level in enumerate(q):
                def f(v):
                    return self.weights @ stats.norm.cdf((v - loc[:, r]) / scale[:, r]) - level
                out[r, j] = optimize.brentq(f, lo, hi, xtol=1e-12 * max(1.0, abs(hi)))
        return out

    def line_var(self, X_new) -> np.ndarray:
        """``Var[intercept + x @ coef]`` per row (law of total variance)."""
        loc, scale = self._line_components(X_new, predictive=False)
        w = self.weights
        mean = w @ loc
        return w @ (scale**2 + loc**2) - mean**2

    # -- the normalised log joint, for ELBO checks ---------------------------

    def log_joint(self, intercept, coef, sigma) -> np.ndarray:
        """``log p(y, intercept, coef, sigma)`` per draw, every constant included."""
        coef = np.atleast_2d(coef)
        c = intercept + coef @ self.xbar
        theta = np.column_stack([c, coef])
        resid = self.y[None, :] - theta @ self.A.T
        log_lik = stats.norm.logpdf(resid, scale=sigma[:, None]).sum(axis=1)
        log_prior = stats.norm.logpdf(theta, self.m, np.sqrt(self.S)).sum(axis=1)
        log_prior = log_prior + stats.halfnorm.logpdf(sigma, scale=self.noise_sd)
        return log_lik + log_prior
