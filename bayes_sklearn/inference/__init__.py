"""Inference backends behind one entry point, :func:`run_inference`.

Every backend takes the resolved :class:`~bayes_sklearn.model.ModelSpec`, the
standardised design matrix, the response and the settings, and returns a
:class:`~bayes_sklearn.inference.result.SamplerResult`. PyMC is imported only
when a backend that needs it runs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bayes_sklearn.inference.response import ResponseScale
from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec
from bayes_sklearn.priors import Constant

__all__ = ["InferenceSettings", "SamplerResult", "run_inference"]


def run_inference(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    group_codes: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> SamplerResult:
    """Fit ``spec`` to standardised design ``X_z`` and response ``y``.

    ``group_codes`` gives each row's group (0..n_groups-1) for hierarchical specs.
    ``sample_weight`` are frequency weights (row ``i``'s likelihood counts
    ``w_i`` times); None means all 1.
    A gaussian response is fitted on unit scale and the draws mapped back
    (see :mod:`bayes_sklearn.inference.response`).
    """
    if spec.family == "gaussian":
        response = ResponseScale.fit(y, sample_weight)
        result = _run_backend(response.spec_to_unit(spec), X_z, response.transform(y),
                              settings, group_codes, sample_weight)
        n_rows = len(y) if sample_weight is None else float(np.sum(sample_weight))
        return _pin_fixed_values(spec, response.result_to_original(result, n_rows))
    return _run_backend(spec, X_z, y, settings, group_codes, sample_weight)


def _pin_fixed_values(spec: ModelSpec, result: SamplerResult) -> SamplerResult:
    """Fixed values exactly as given, not as their round trip through the unit scale.

    ``intercept_ == 0.0`` without an intercept, as in scikit-learn, and a
    known noise sd is the number the user wrote.
    """
    changes = {}
    if isinstance(spec.intercept_prior, Constant):
        changes["intercept_z"] = np.full_like(result.intercept_z, spec.intercept_prior.value)
        if result.moments is not None:
            mean = result.moments[0].copy()
            mean[0] = spec.intercept_prior.value
            changes["moments"] = (mean, result.moments[1])
    if isinstance(spec.noise_prior, Constant) and result.sigma is not None:
        changes["sigma"] = np.full_like(result.sigma, spec.noise_prior.value)
    return replace(result, **changes) if changes else result


def _run_backend(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    group_codes: np.ndarray | None,
    sample_weight: np.ndarray | None = None,
) -> SamplerResult:
    if settings.method == "exact":
        from bayes_sklearn.inference.exact import sample_exact

        if spec.groups is not None:
            raise ValueError(
                "inference='exact' is not available for hierarchical models: the group "
                "standard deviations have no closed-form posterior. Use 'nuts' or 'advi'."
            )
        return sample_exact(spec, X_z, y, settings, sample_weight)
    if settings.method == "nuts" and settings.nuts_sampler == "auto":
        from bayes_sklearn.inference.fast_nuts import sample_fast_nuts

        return sample_fast_nuts(spec, X_z, y, settings, group_codes, sample_weight)
    if settings.method == "nuts":
        from bayes_sklearn.inference.nuts import sample_nuts

        return sample_nuts(spec, X_z, y, settings, group_codes, sample_weight)
    if settings.method in ("advi", "fullrank_advi"):
        from bayes_sklearn.inference.advi import fit_advi

        return fit_advi(spec, X_z, y, settings, group_codes, sample_weight)
    raise ValueError(f"Unknown inference method {settings.method!r}.")
