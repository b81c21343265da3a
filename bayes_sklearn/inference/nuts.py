"""NUTS on the compiled PyMC model, with PyMC's own sampler or nutpie.

The default sampler (:mod:`bayes_sklearn.inference.fast_nuts`) needs no PyMC
model; these paths remain as independent cross-checks of it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec


def quiet_pymc_logging() -> None:
    # PyMC logs "Sampling 4 chains..." at INFO on every fit; sklearn users
    # running grid searches see hundreds of such lines. Warnings still show.
    for name in ("pymc", "pymc.sampling.mcmc", "pymc.stats.convergence"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def backend_warnings_filtered() -> Iterator[None]:
    """Silence backend warnings that our own diagnostics replace or that mislead."""
    with warnings.catch_warnings():
        # PyMC's r_hat/ESS warnings: BayesianConvergenceWarning carries the numbers.
        warnings.filterwarnings("ignore", module="pymc")
        # "PyTensor could not link to a BLAS installation ... severely degraded":
        # measured here, linking OpenBLAS or MKL moved a 100k-row logistic
        # gradient from 9-12 ms to 8-12 ms and a small pm.sample from 7.5 s to
        # 5.8-6.3 s, so for these models the warning alarms more than it informs.
        warnings.filterwarnings("ignore", message=".*could not link to a BLAS")
        yield


def result_from_posterior(posterior, method: str, **fields) -> SamplerResult:
    """A :class:`SamplerResult` from an ArviZ posterior group of the built model."""

    def values(name: str) -> np.ndarray | None:
        if name not in posterior:
            return None
        return np.asarray(posterior[name].values, dtype=np.float64)

    return SamplerResult(
        intercept_z=values("intercept_z"),
        coef_z=values("coef_z"),
        sigma=values("sigma"),
        group_effect_z=values("group_effect_z"),
        group_sd_z=values("group_sd_z"),
        method=method,
        **fields,
    )


def _sample_pymc(model, settings: InferenceSettings):
    import pymc as pm

    cores = max(1, min(settings.chains, os.cpu_count() or 1))
    with model, backend_warnings_filtered():
        return pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=cores,
            target_accept=settings.target_accept,
            random_seed=settings.seed,
            progressbar=settings.progressbar,
            init="advi+adapt_diag" if settings.nuts_init == "advi" else "auto",
            compute_convergence_checks=False,
            idata_kwargs={"log_likelihood": False},
        )


def _sample_nutpie(model, settings: InferenceSettings):
    import nutpie

    with backend_warnings_filtered():
        compiled = nutpie.compile_pymc_model(model)
    return nutpie.sample(
        compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        seed=settings.seed,
        progress_bar=settings.progressbar,
        target_accept=settings.target_accept,
        save_warmup=False,
    )


def sample_nuts(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    group_codes: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> SamplerResult:
    """Sample the posterior of ``spec`` with NUTS (``sample_weight``: frequency weights)."""
    from bayes_sklearn.inference._pymc_model import build_pymc_model

    if settings.nuts_sampler == "nutpie" and settings.nuts_init == "advi":
        # nutpie.sample takes no start points or mass matrix from us: the
        # option would be ignored without a word.
        raise ValueError(
            "nuts_init='advi' is not available with nuts_sampler='nutpie'; use "
            "nuts_sampler='auto' or 'pymc' for ADVI start points, or nuts_init='auto'."
        )
    quiet_pymc_logging()
    model = build_pymc_model(spec, X_z, y, group_codes, sample_weight=sample_weight)
    if settings.nuts_sampler == "nutpie":
        idata = _sample_nutpie(model, settings)
    else:
        idata = _sample_pymc(model, settings)
    # Per-draw statistics only: some nutpie releases add per-parameter ones
    # (e.g. the mass matrix), which have no place beside (chain, draw) stats.
    stats = {name: np.asarray(values) for name, values in idata.sample_stats.items()
             if values.dims == ("chain", "draw")}
    return result_from_posterior(
        idata.posterior, method=f"nuts ({settings.nuts_sampler})", sample_stats=stats
    )
