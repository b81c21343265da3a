"""NUTS through PyMC's own sampler or nutpie."""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np

from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec


def _quiet_pymc_logging() -> None:
    # PyMC logs "Sampling 4 chains..." at INFO on every fit; sklearn users
    # running grid searches see hundreds of such lines. Warnings still show.
    for name in ("pymc", "pymc.sampling.mcmc", "pymc.stats.convergence"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _posterior_arrays(posterior, spec: ModelSpec) -> SamplerResult:
    intercept = np.asarray(posterior["intercept_z"].values, dtype=np.float64)
    coef = np.asarray(posterior["coef_z"].values, dtype=np.float64)
    sigma = None
    if "sigma" in posterior:
        sigma = np.asarray(posterior["sigma"].values, dtype=np.float64)
    return intercept, coef, sigma


def _sample_pymc(model, settings: InferenceSettings):
    import pymc as pm

    cores = max(1, min(settings.chains, os.cpu_count() or 1))
    with model, warnings.catch_warnings():
        # PyMC warns about r_hat/ESS itself; our own check reports them with numbers.
        warnings.filterwarnings("ignore", module="pymc")
        return pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=cores,
            target_accept=settings.target_accept,
            random_seed=settings.seed,
            progressbar=settings.progressbar,
            compute_convergence_checks=False,
            idata_kwargs={"log_likelihood": False},
        )


def _sample_nutpie(model, settings: InferenceSettings):
    try:
        import nutpie
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "nuts_sampler='nutpie' needs the nutpie package: "
            "pip install 'bayes-sklearn[nutpie]'"
        ) from error
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
    spec: ModelSpec, X_z: np.ndarray, y: np.ndarray, settings: InferenceSettings
) -> SamplerResult:
    """Sample the posterior of ``spec`` with NUTS."""
    from bayes_sklearn.inference._pymc_model import build_pymc_model

    _quiet_pymc_logging()
    model = build_pymc_model(spec, X_z, y)
    if settings.nuts_sampler == "nutpie":
        idata = _sample_nutpie(model, settings)
    else:
        idata = _sample_pymc(model, settings)
    intercept, coef, sigma = _posterior_arrays(idata.posterior, spec)
    return SamplerResult(
        intercept_z=intercept,
        coef_z=coef,
        sigma=sigma,
        sample_stats=idata.sample_stats,
        method=f"nuts ({settings.nuts_sampler})",
    )
