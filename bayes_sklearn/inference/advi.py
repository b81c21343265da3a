"""Automatic differentiation variational inference, full-batch or minibatch.

Mean-field ADVI fits independent normals on the unconstrained parameters;
full-rank ADVI a multivariate normal (Kucukelbir et al. 2017). Gradients are
the reparameterisation gradients of a one-draw ELBO estimate, computed by the
precompiled kernel (:mod:`bayes_sklearn.inference._kernel`), so nothing is
compiled per fit. With ``batch_size`` every step draws a random minibatch of
rows and weights its likelihood by ``n / batch_size``, so large data cost
``batch_size`` rows per step.

The optimiser is Adam. Iterations stop when the relative change of the
variational parameters, averaged over windows of 1000 steps, falls below
``tol`` or stops shrinking (see :class:`WindowedParameterConvergence`), or at
``max_iter``. The returned approximation is the last window's average of the
parameters (Polyak averaging), which removes most of the step-to-step noise
of stochastic gradients. Mean-field ADVI is known to understate posterior
spread; the README and the radon example quantify it against NUTS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln

from bayes_sklearn._progress import ProgressBar
from bayes_sklearn.inference.packing import (
    PackedModel,
    intercept_shift_for,
    pack_model,
    unpack_draws,
)
from bayes_sklearn.inference.preconditioning import GaussianApproximation
from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.lkj import cpc_shapes
from bayes_sklearn.model.spec import ModelSpec, check_group_term
from bayes_sklearn.priors import Constant, Flat

_CHECK_EVERY = 10
_WINDOW = 100  # snapshots per averaging window: 1000 iterations
_PLATEAU_WINDOWS = 5
_PLATEAU_GAIN = 0.8
#: Adam step size. PyMC's default (adagrad_window, 1e-3) was measured here to
#: leave a population slope at 1.54 instead of 2.05 after 15k steps on a
#: 20-group model; Adam at 1e-2 reached it.
LEARNING_RATE = 1e-2
_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8


class WindowedParameterConvergence:
    """Stop when the window-averaged variational parameters stop moving.

    PyMC's ``CheckParametersConvergence`` compares two snapshots 100 steps
    apart; with stochastic gradients that difference stays at the noise
    level of single steps and never meets a relative tolerance. Here the
    parameters are averaged over windows of ``window`` snapshots taken every
    ``every`` steps, and the relative L2 change between consecutive window
    means is tracked. Iteration stops when that change falls below
    ``tolerance``, or when it has plateaued: 5 windows (5000 steps) without
    a change 20% below the smallest so far. The optimiser then only
    fluctuates around its fixed point, at a noise floor set by the step size
    and the minibatch (on radon's 170 group parameters the floor is a 5%
    change). Requiring any new low instead never stopped there: noise alone
    makes small new lows. (With sds started at 1 rather than from the
    curvature, a rule of 3 windows within 10% stopped full-rank ADVI at 5000
    steps with sds 1.6x too wide.)
    """

    def __init__(self, tolerance: float, every: int = _CHECK_EVERY, window: int = _WINDOW):
        self.tolerance = tolerance
        self.every = every
        self.window = window
        self.snapshots: list[np.ndarray] = []
        self.previous_mean: np.ndarray | None = None
        self.changes: list[float] = []
        self.best_change = np.inf
        self.windows_without_progress = 0
        self.converged = False

    def update(self, params: np.ndarray, iteration: int) -> bool:
        """Record the parameters of ``iteration``; True when iteration should stop."""
        if iteration % self.every:
            return False
        self.snapshots.append(params.copy())
        if len(self.snapshots) < self.window:
            return False
        mean = np.mean(self.snapshots, axis=0)
        self.snapshots = []
        stop = False
        if self.previous_mean is not None:
            change = float(
                np.linalg.norm(mean - self.previous_mean)
                / max(np.linalg.norm(self.previous_mean), 1e-12)
            )
            self.changes.append(change)
            if change < _PLATEAU_GAIN * self.best_change:
                self.windows_without_progress = 0
            else:
                self.windows_without_progress += 1
            self.best_change = min(self.best_change, change)
            plateau = self.windows_without_progress >= _PLATEAU_WINDOWS
            stop = self.converged = change < self.tolerance or plateau
        self.previous_mean = mean
        return stop


@dataclass(frozen=True)
class _Family:
    """A variational family on ``dim`` unconstrained parameters, as flat params."""

    dim: int
    full_rank: bool

    def initial(self, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
        if self.full_rank:
            return np.concatenate([mean, np.diag(np.log(sd)).ravel()])
        return np.concatenate([mean, np.log(sd)])

    def scale_matrix(self, params: np.ndarray) -> np.ndarray:
        """Lower-triangular ``L`` (full rank; log-diagonal stored) or the sd vector."""
        raw = params[self.dim :]
        if not self.full_rank:
            return np.exp(raw)
        L = np.tril(raw.reshape(self.dim, self.dim), -1)
        L[np.diag_indices(self.dim)] = np.exp(np.diag(raw.reshape(self.dim, self.dim)))
        return L

    def draw(self, params: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """Points ``mu + L eps`` for rows of standard normal ``eps``."""
        return self.point(params, self.scale_matrix(params), eps)

    def point(self, params: np.ndarray, scale: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """``mu + L eps`` given ``scale = scale_matrix(params)``."""
        if self.full_rank:
            return params[: self.dim] + eps @ scale.T
        return params[: self.dim] + eps * scale

    def entropy(self, params: np.ndarray) -> float:
        raw = params[self.dim :]
        if self.full_rank:
            return float(np.trace(raw.reshape(self.dim, self.dim)))
        return float(raw.sum())

    def elbo_gradient(self, scale: np.ndarray, eps: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Reparameterisation gradient of the ELBO given d logp at ``mu + L eps``."""
        if not self.full_rank:
            return np.concatenate([grad, grad * eps * scale + 1.0])
        grad_L = np.tril(np.outer(grad, eps), -1)
        diag = np.diag_indices(self.dim)
        grad_L[diag] = grad * eps * np.diag(scale) + 1.0
        return np.concatenate([grad, grad_L.ravel()])


class _Minibatches:
    """Preallocated row buffers that the kernel reads, refilled every step."""

    def __init__(self, spec, X_z, y, batch_size, sample_weight=None, group_designs=None):
        # rows are centred once here, where pack_model would centre them (its
        # buffers are refilled, so it must not)
        shift = intercept_shift_for(spec, X_z, sample_weight)
        self.X = np.ascontiguousarray(X_z - shift, dtype=np.float64)
        self.y = y.astype(np.float64)
        self.rows = np.empty(batch_size, dtype=np.int64)
        self.X_batch = np.empty((batch_size, X_z.shape[1]))
        self.y_batch = np.empty(batch_size)
        factor = X_z.shape[0] / batch_size
        # Rows are drawn uniformly and keep their weight: sum over the batch of
        # w_i * n / b * loglik_i is unbiased for the weighted full-data sum.
        self.w = None if sample_weight is None else factor * np.asarray(sample_weight, float)
        self.w_batch = None if sample_weight is None else np.empty(batch_size)
        # each group term's design and codes, with buffers of a batch's rows
        # (codes start at 0, a valid level, for pack_model's check; a design
        # starts at ones only if every batch's is, as pack_model reads a design
        # of ones as ones for good)
        self.terms = [
            (np.ascontiguousarray(Z, dtype=np.float64), np.asarray(codes, dtype=np.int64))
            for Z, codes in (group_designs or ())
        ]
        self.terms_batch = [
            (np.full((batch_size, Z.shape[1]), 1.0 if np.all(Z == 1.0) else 0.0),
             np.zeros(batch_size, dtype=np.int64))
            for Z, _ in self.terms
        ]
        self.packed = pack_model(
            spec,
            self.X_batch,
            self.y_batch,
            row_weight=factor if sample_weight is None else 1.0,
            sufficient_statistics=False,
            sample_weight=self.w_batch,
            intercept_shift=shift,
            group_designs=self.terms_batch if group_designs is not None else None,
        )

    def refill(self, rng: np.random.Generator) -> None:
        self.rows[:] = rng.integers(0, self.X.shape[0], size=self.rows.shape[0])
        np.take(self.X, self.rows, axis=0, out=self.X_batch)
        np.take(self.y, self.rows, out=self.y_batch)
        if self.w is not None:
            np.take(self.w, self.rows, out=self.w_batch)
        for (Z, codes), (Z_batch, codes_batch) in zip(self.terms, self.terms_batch):
            np.take(Z, self.rows, axis=0, out=Z_batch)
            np.take(codes, self.rows, out=codes_batch)


def _initial_sd(header: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Standard deviations from the log density's curvature at the start point.

    Starting every sd at 1 (PyMC's choice) costs Adam thousands of steps on
    large data, where posterior sds are ~1/sqrt(n): measured at 1M rows, the
    log sds had not reached their optimum after 15k steps. A forward
    difference of the gradient along each axis gives the diagonal curvature
    ``h``; sds start at ``1/sqrt(h)``, never above 1.
    """
    from bayes_sklearn.inference._kernel import log_density

    _, grad = log_density(header, point)
    sd = np.ones(point.shape[0])
    for i in range(point.shape[0]):
        step = 1e-4 * max(1.0, abs(point[i]))
        shifted = point.copy()
        shifted[i] += step
        curvature = -(log_density(header, shifted)[1][i] - grad[i]) / step
        if np.isfinite(curvature) and curvature > 1.0:
            sd[i] = 1.0 / np.sqrt(curvature)
    return sd


def _log_density_constant(spec: ModelSpec, n_rows: float, dim: int) -> float:
    """What the kernel's log density and the entropy drop, for a true ELBO.

    The kernel omits additive constants (see its module docstring): each
    prior's normaliser, ``-log(2 pi) / 2`` per gaussian row and per group
    effect. A location prior's kernel term is 0 at its location and a scale
    prior's tends to 0 at 0, so each normaliser is the prior's log density
    there. The gaussian entropy drops ``dim (1 + log 2 pi) / 2``.
    """
    m = spec.n_outputs
    coef = spec.sampling_coef_priors()
    location = [spec.intercept_prior] * m + [p for p in coef for _ in range(m)]
    # fixed values have no density: the kernel adds nothing for them
    constant = sum(float(p.logpdf(p.loc)) for p in location
                   if not isinstance(p, (Constant, Flat)))
    scales = [spec.noise_prior] if spec.family == "gaussian" else []
    constant += sum(float(p.logpdf(0.0)) for p in scales if not isinstance(p, Constant))
    half_log_2pi = 0.5 * np.log(2 * np.pi)
    if spec.family == "gaussian":
        constant -= n_rows * half_log_2pi
    for term in map(check_group_term, spec.group_terms):
        constant += sum(float(p.logpdf(0.0)) for p in term.sd_priors
                        if not isinstance(p, Constant))
        constant -= term.n_levels * term.n_effects * half_log_2pi
        if term.is_correlated:
            # the kernel keeps b (log u + log(1 - u)) of each Beta(b, b): its 1 / B(b, b) goes
            shapes = cpc_shapes(term.n_effects, term.lkj_eta)
            constant -= float(np.sum(betaln(shapes, shapes)))
    return constant + dim * (0.5 + half_log_2pi)


def _optimise(packed_for_step, refill, family, settings, rng):
    """Adam on the one-draw ELBO; returns averaged params, ELBO trace, convergence.

    The trace omits additive constants (see :func:`_log_density_constant`).
    """
    from bayes_sklearn.inference._kernel import log_density

    refill(rng)
    start = packed_for_step.initial_point
    params = family.initial(start, _initial_sd(packed_for_step.header, start))
    first, second = np.zeros_like(params), np.zeros_like(params)
    beta1, beta2 = _ADAM_BETAS
    convergence = WindowedParameterConvergence(settings.tol)
    elbo = np.empty(settings.max_iter)
    bar = ProgressBar(settings.max_iter, "ADVI", "it") if settings.progressbar else None
    last_report = time.monotonic()
    iteration = 0
    try:
        for iteration in range(1, settings.max_iter + 1):
            refill(rng)
            eps = rng.standard_normal(family.dim)
            # One scale matrix per step serves the draw and the gradient.
            scale = family.scale_matrix(params)
            logp, grad = log_density(packed_for_step.header, family.point(params, scale, eps))
            elbo[iteration - 1] = logp + family.entropy(params)
            if not np.all(np.isfinite(grad)):
                raise FloatingPointError(
                    f"ADVI diverged at iteration {iteration}: the gradient is not finite."
                )
            step = family.elbo_gradient(scale, eps, grad)
            first = beta1 * first + (1 - beta1) * step
            second = beta2 * second + (1 - beta2) * step * step
            corrected = first / (1 - beta1**iteration)
            params = params + LEARNING_RATE * corrected / (
                np.sqrt(second / (1 - beta2**iteration)) + _ADAM_EPS
            )
            stop = convergence.update(params, iteration)
            if bar is not None and (stop or time.monotonic() - last_report > 0.2):
                last_report = time.monotonic()
                recent = np.mean(elbo[max(0, iteration - 100):iteration])
                bar.update_to(iteration, f"ELBO {recent:.4g}" + (", converged" if stop else ""))
            if stop:
                break
    finally:
        if bar is not None:
            bar.close()
    # Polyak averaging: the last complete window's mean (set on stopping, too).
    averaged = convergence.previous_mean if convergence.previous_mean is not None else params
    return averaged, elbo[:iteration], convergence.converged


@dataclass(frozen=True, eq=False)
class VariationalFit:
    """A fitted variational approximation on the unconstrained parameters."""

    family: _Family
    params: np.ndarray
    elbo_history: np.ndarray
    converged: bool
    batch_size: int | None
    packed: PackedModel

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws ``(n, dim)`` of the free parameters from the approximation."""
        return self.family.draw(self.params, rng.standard_normal((n, self.family.dim)))

    def gaussian(self) -> GaussianApproximation:
        """The approximation as a mean and a covariance factor (NUTS's whitening)."""
        dim = self.family.dim
        scale = self.family.scale_matrix(self.params)
        factor = scale if self.family.full_rank else np.diag(scale)
        return GaussianApproximation(self.params[:dim].copy(), np.ascontiguousarray(factor),
                                     "advi")


def fit_variational(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    full_rank: bool = False,
    sample_weight: np.ndarray | None = None,
    group_designs=None,
) -> VariationalFit:
    """Optimise the ELBO of ``spec`` on the data; see the module docstring.

    ``sample_weight`` are frequency weights of the rows' likelihood;
    ``group_designs`` one ``(Z, codes)`` per ``spec.group_terms`` entry.
    """
    rng = np.random.default_rng(settings.seed)
    batch_size = settings.batch_size
    if batch_size is not None and batch_size >= X_z.shape[0]:
        batch_size = None  # a minibatch of all rows is the full batch, without the noise
    if batch_size is None:
        packed: PackedModel = pack_model(spec, X_z, y, sample_weight=sample_weight,
                                         group_designs=group_designs)

        def refill(rng):
            return None
    else:
        batches = _Minibatches(spec, X_z, y, batch_size, sample_weight, group_designs)
        packed, refill = batches.packed, batches.refill
    family = _Family(packed.n_dim, full_rank)
    params, elbo, converged = _optimise(packed, refill, family, settings, rng)
    n_rows = X_z.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    elbo = elbo + _log_density_constant(spec, n_rows, family.dim)
    return VariationalFit(family, params, elbo, converged, batch_size, packed)


def fit_advi(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    sample_weight: np.ndarray | None = None,
    group_designs=None,
) -> SamplerResult:
    """Fit ``spec`` by ADVI and draw ``chains * draws`` samples from the approximation."""
    full_rank = settings.method == "fullrank_advi"
    fit = fit_variational(spec, X_z, y, settings, full_rank=full_rank,
                          sample_weight=sample_weight, group_designs=group_designs)
    # Draws use their own stream, after the optimiser's.
    rng = np.random.default_rng([settings.seed, 1])
    theta = fit.packed.expand(fit.draw(settings.chains * settings.draws, rng))
    theta = theta.reshape(settings.chains, settings.draws, fit.packed.n_full)
    label = ("fullrank_advi" if full_rank else "advi") + (
        f" (minibatch {fit.batch_size})" if fit.batch_size else ""
    )
    return unpack_draws(
        spec,
        theta,
        method=label,
        intercept_shift=fit.packed.intercept_shift,
        sample_stats=None,
        elbo_history=fit.elbo_history,
        converged=fit.converged,
    )
