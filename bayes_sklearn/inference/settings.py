"""Inference options, fixed before any data is seen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InferenceSettings:
    """Options shared by the inference backends.

    Attributes
    ----------
    method : str
        ``"nuts"``, ``"exact"``, ``"advi"`` or ``"fullrank_advi"``.
    draws, tune, chains : int
        Kept draws and warm-up iterations per chain, and number of chains.
        Exact inference draws ``draws * chains`` independent samples laid
        out as ``chains`` rows.
    target_accept : float
        NUTS target acceptance rate.
    nuts_sampler : str
        ``"auto"`` (nutpie's sampler on the precompiled log density of
        :mod:`bayes_sklearn.inference._kernel`), ``"pymc"`` or ``"nutpie"``
        (PyMC's or nutpie's sampler on the compiled PyMC model).
    seed : int
        Seed for all randomness of the fit.
    progressbar : bool
        Whether the sampler shows progress.
    nuts_init : str
        ``"auto"`` (the Laplace approximation's coordinates where
        :func:`~bayes_sklearn.inference.preconditioning.whitenable`, else
        PyMC's jitter + adapted diagonal mass matrix) or ``"advi"`` (the
        coordinates of a mean-field ADVI fit: start points and initial mass
        matrix).
    max_iter : int
        Maximum ADVI iterations.
    tol : float
        ADVI stops when the relative change of its window-averaged
        parameters falls below ``tol`` (or stops shrinking).
    batch_size : int or None
        Minibatch size for ADVI; None uses all rows at every step.
    """

    method: str = "nuts"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.8
    nuts_sampler: str = "auto"
    seed: int = 0
    progressbar: bool = False
    nuts_init: str = "auto"
    max_iter: int = 20_000
    tol: float = 1e-2
    batch_size: int | None = None
