"""What every PyMC sampler call shares: quiet logs, filtered warnings, ``pm.sample``.

The PyMC engine (:mod:`bayes_sklearn.inference.pymc_engine`) samples the
reference model with nutpie, or with ``pm.sample`` (:func:`_sample_pymc`)
for ``nuts_sampler="pymc"``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from bayes_sklearn.inference.settings import InferenceSettings


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
