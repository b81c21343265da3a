"""Whitening NUTS's target by a Gaussian approximation of the posterior.

NUTS with a diagonal mass matrix follows a posterior's scales but not its
correlations: on correlated features (a GLM's coefficients are correlated
as its columns are) each trajectory needs many small leapfrog steps. A
regression posterior without group terms is close to Gaussian, with
covariance near the inverse curvature at its mode (the Laplace
approximation). The sampler then moves ``z`` with the free parameters
``m + A z``, ``A A^T`` that covariance (the kernel's ``P_AFFINE``), so it
sees a near-isotropic target and adapts its diagonal mass matrix from
there: the same as starting warm-up from the mode with the Laplace
covariance as a dense mass matrix. The map is linear, so the posterior of
the parameters is the same; only the sampler's coordinates change.

Where the approximation is poor or does not exist, sampling stays on the
free parameters (today's diagonal adaptation): group terms (a hierarchical
posterior is a funnel, its mode degenerate at zero group sd), Laplace priors
(no curvature at their kink, where the mode often sits), and too many
parameters for a dense factor to pay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.linalg
import scipy.optimize

from bayes_sklearn.inference import _kernel as k
from bayes_sklearn.inference.packing import PackedModel
from bayes_sklearn.model.spec import ModelSpec
from bayes_sklearn.priors import Laplace

#: Above this many free parameters the dense factor (O(d^2) per gradient and
#: 2d gradients for the curvature) is not worth it; sampling stays diagonal.
MAX_WHITENED_DIM = 400
# Central differences of the analytic gradient; the truncation error is
# O(step^2) relative to the third derivative, far below the posterior's scale.
_CURVATURE_STEP = 1e-5
# Checks of the approximation where chains start (see _describes_the_mode);
# chains start within 2 sds, the Gaussian's drop there is 2.
_MODE_TOLERANCE = 1e-3
_CHECK_SDS = 2.0
_MAX_DROP = 20.0


@dataclass(frozen=True, eq=False)
class GaussianApproximation:
    """A Gaussian approximation of the posterior of the free parameters.

    Attributes
    ----------
    mean : ndarray of shape (n_dim,)
    factor : ndarray of shape (n_dim, n_dim)
        ``factor @ factor.T`` is the covariance.
    source : str
        ``"laplace"`` (mode and curvature) or ``"advi"`` (a variational fit).
    """

    mean: np.ndarray
    factor: np.ndarray
    source: str


def whitenable(spec: ModelSpec, n_dim: int) -> bool:
    """Whether ``spec``'s posterior is sampled in the coordinates of its
    Laplace approximation (see the module docstring for the cases it excludes)."""
    if spec.group_terms or not 0 < n_dim <= MAX_WHITENED_DIM:
        return False
    priors = (spec.intercept_prior, *spec.coef_priors)
    return not any(isinstance(prior, Laplace) for prior in priors)


def laplace_approximation(packed: PackedModel) -> GaussianApproximation | None:
    """The posterior's mode and inverse curvature there, or None when the
    optimiser fails, the curvature is not positive definite, or the
    approximation does not describe the density where chains start
    (:func:`_describes_the_mode`)."""

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = k.log_density(packed.header, theta)
        return -value, -grad

    with np.errstate(all="ignore"):
        found = scipy.optimize.minimize(negative, packed.initial_point, jac=True,
                                        method="L-BFGS-B",
                                        options={"maxiter": 2000, "gtol": 1e-8})
        mode = found.x
        if not np.all(np.isfinite(mode)) or not np.isfinite(found.fun):
            return None
        precision = _negative_hessian(packed.header, mode)
    if not np.all(np.isfinite(precision)):
        return None
    try:
        lower = scipy.linalg.cholesky(precision, lower=True)
    except np.linalg.LinAlgError:
        return None
    # One Newton step from where L-BFGS stopped: exact for a Gaussian posterior.
    mode = mode + scipy.linalg.cho_solve((lower, True), k.log_density(packed.header, mode)[1])
    # precision = R R^T, so covariance = R^-T R^-1 = A A^T with A = R^-T
    factor = scipy.linalg.solve_triangular(lower, np.eye(packed.n_dim), lower=True).T
    approximation = GaussianApproximation(mode, np.ascontiguousarray(factor), "laplace")
    return approximation if _describes_the_mode(packed.header, approximation) else None


def _describes_the_mode(header: np.ndarray, approximation: GaussianApproximation) -> bool:
    """Whether the approximation holds where chains start: the gradient
    vanishes at its mean (to ``_MODE_TOLERANCE`` sd in every whitened
    direction), and ``_CHECK_SDS`` sds out along each of its axes the log
    density is finite and has dropped by no more than ``_MAX_DROP`` (a
    Gaussian's drop is ``_CHECK_SDS**2 / 2``). An improper posterior (a
    perfect linear fit, whose noise sd runs to zero) fails this."""
    mean, factor = approximation.mean, approximation.factor
    with np.errstate(all="ignore"):
        at_mode, grad = k.log_density(header, mean)
        if not np.isfinite(at_mode) or np.max(np.abs(factor.T @ grad)) > _MODE_TOLERANCE:
            return False
        for column in factor.T:
            for sign in (1.0, -1.0):
                value, grad = k.log_density(header, mean + sign * _CHECK_SDS * column)
                if not (np.isfinite(value) and np.all(np.isfinite(grad))
                        and at_mode - value <= _MAX_DROP):
                    return False
    return True


def _negative_hessian(header: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Minus the Hessian of the log density, by central differences of its gradient."""
    d = point.shape[0]
    hessian = np.empty((d, d))
    for j in range(d):
        step = _CURVATURE_STEP * max(1.0, abs(point[j]))
        up, down = point.copy(), point.copy()
        up[j] += step
        down[j] -= step
        hessian[:, j] = (k.log_density(header, up)[1] - k.log_density(header, down)[1]) / (2 * step)
    return -(hessian + hessian.T) / 2


def whitened(packed: PackedModel, approximation: GaussianApproximation) -> PackedModel:
    """``packed`` with the sampler moving ``z``, the free parameters ``mean + factor z``."""
    affine = np.concatenate([approximation.mean, approximation.factor.ravel()])
    header = packed.header.copy()
    header[k.P_AFFINE] = affine.ctypes.data
    return replace(packed, header=header, arrays=packed.arrays + (affine,),
                   initial_point=np.zeros(packed.n_dim))
