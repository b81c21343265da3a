"""What one fit inferred, and the convergence policy applied to it.

``fit`` runs in three steps: inference turns ``(X, y)`` into a
:class:`FitResult` without touching the estimator's fitted attributes;
:func:`check_convergence` turns the result into diagnostics and warns or
raises as ``on_convergence_problem`` says; only then are the fitted attributes
set from the result. A fit that stops at the policy therefore leaves nothing
half-written.
"""

from __future__ import annotations

import inspect
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayes_sklearn._draws import Draws
from bayes_sklearn.diagnostics import (
    BayesianConvergenceError,
    BayesianConvergenceWarning,
    ConvergenceDiagnostics,
    compute_diagnostics,
    convergence_message,
)
from bayes_sklearn.inference import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec


@dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of inference on training data, before anything is stored.

    Attributes
    ----------
    design : ArrayDesign or FormulaDesign
        The fitted design, replayed on new rows.
    spec : ModelSpec
        The resolved model description.
    posterior : Draws
        The draws, on the original scale (``posterior_`` wraps them).
    settings : InferenceSettings
        The settings inference ran with (the requested method, ``max_iter``, ``tol``).
    method : str
        The inference method that produced the draws.
    elbo_history : ndarray or None
        ELBO after each iteration, for variational inference.
    n_iter : int
        Iterations per chain: NUTS warm-up plus draws, ADVI steps, 1 for exact.
    sample_stats : dict of str to ndarray, or None
        Sampler statistics, for the diagnostics and ``idata_``'s ``sample_stats``.
    converged : bool or None
        Whether variational inference met its convergence rule.
    group_labels : ndarray or None
        The group labels seen in training, for hierarchical estimators.
    moments : tuple of ndarray or None
        Exact posterior mean and covariance of ``[intercept, coef...]`` on the
        original scale, when inference computed them (exact inference).
    engine : str
        The engine that ran: ``"kernel"``, ``"pymc"`` or ``"exact"``.
    statistics : GaussianStatistics or None
        The merged data statistics a fit on chunks (or ``partial_fit``) was
        computed from, which later ``partial_fit`` calls extend.
    """

    design: Any
    spec: ModelSpec
    posterior: Draws
    settings: InferenceSettings
    method: str
    elbo_history: np.ndarray | None
    n_iter: int
    sample_stats: Any
    converged: bool | None
    group_labels: np.ndarray | None = None
    moments: tuple[np.ndarray, np.ndarray] | None = None
    engine: str = "kernel"
    statistics: Any = None


def check_convergence(
    result: FitResult, estimator_name: str, on_problem: str
) -> ConvergenceDiagnostics | None:
    """The diagnostics of ``result`` (NUTS only); warn or raise on a problem.

    ``on_problem`` is ``"warn"`` or ``"raise"``. The warning points at the
    first caller outside this package: the user's ``fit`` or ``partial_fit``
    call, or the sklearn tool that made it.
    """
    diagnostics, problem = _diagnose(result, estimator_name)
    if problem is None:
        return diagnostics
    if on_problem == "raise":
        raise BayesianConvergenceError(problem, diagnostics)
    warnings.warn(BayesianConvergenceWarning(problem, diagnostics),
                  stacklevel=user_stacklevel())
    return diagnostics


def user_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` called by this function's caller
    that names the first frame outside the package (as pandas' ``find_stack_level``)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = inspect.currentframe(), 0
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    # level counts the package's frames from this one; the caller's stacklevel 1
    # is its own frame, so the first outside frame is at ``level``
    return max(level, 1)


def _diagnose(
    result: FitResult, estimator_name: str
) -> tuple[ConvergenceDiagnostics | None, str | None]:
    settings = result.settings
    if settings.method == "nuts":
        diagnostics = compute_diagnostics(result.posterior, result.sample_stats)
        if diagnostics.problems():
            return diagnostics, convergence_message(estimator_name, diagnostics)
        return diagnostics, None
    if result.converged is False:
        return None, (
            f"{estimator_name}: {result.method} stopped at max_iter="
            f"{settings.max_iter} before the relative parameter change fell below "
            f"tol={settings.tol}; the approximation may be poor. Raise max_iter."
        )
    return None, None
