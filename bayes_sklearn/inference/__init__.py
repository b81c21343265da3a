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
from bayes_sklearn.model.spec import ModelSpec, check_group_term
from bayes_sklearn.priors import Constant

__all__ = ["InferenceSettings", "SamplerResult", "choose_engine", "run_inference"]


def run_inference(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    sample_weight: np.ndarray | None = None,
    group_designs=None,
) -> SamplerResult:
    """Fit ``spec`` to standardised design ``X_z`` and response ``y``.

    ``group_designs`` gives one ``(Z, codes)`` per ``spec.group_terms`` entry.
    ``sample_weight`` are frequency weights (row ``i``'s likelihood counts
    ``w_i`` times); None means all 1.
    A gaussian response is fitted on unit scale and the draws mapped back
    (see :mod:`bayes_sklearn.inference.response`), except on the PyMC engine,
    which samples the reference model on the original scale
    (:mod:`bayes_sklearn.inference.pymc_engine`). The result's ``engine`` says
    which engine ran (:func:`choose_engine`).
    """
    engine = choose_engine(spec, settings)
    if engine == "pymc":
        # The reference model is written in the user's units (its mass matrix
        # adapts to them): it takes the original design and response.
        from bayes_sklearn.inference.pymc_engine import sample_reference_model

        X_design = X_z * spec.standardizer.scale + spec.standardizer.center
        sampler = "pymc" if settings.nuts_sampler == "pymc" else "nutpie"
        result = sample_reference_model(spec, X_design, y, settings, sample_weight,
                                        sampler=sampler, group_designs=group_designs)
    elif spec.family == "gaussian":
        response = ResponseScale.fit(y, sample_weight)
        result = _run_backend(response.spec_to_unit(spec), X_z, response.transform(y),
                              settings, sample_weight, group_designs)
        n_rows = len(y) if sample_weight is None else float(np.sum(sample_weight))
        result = _pin_fixed_values(spec, response.result_to_original(result, n_rows))
    else:
        result = _run_backend(spec, X_z, y, settings, sample_weight, group_designs)
    return replace(result, engine=engine)


def choose_engine(spec: ModelSpec, settings: InferenceSettings) -> str:
    """``"exact"``, ``"kernel"`` or ``"pymc"``: which engine runs ``spec`` with ``settings``.

    NUTS runs on the kernel when it covers the model
    (:func:`~bayes_sklearn.inference.coverage.kernel_gap`) and
    ``nuts_sampler="auto"``, else on the PyMC engine; ``nuts_sampler="pymc"``
    or ``"nutpie"`` always sample the PyMC model. ADVI needs the kernel.
    """
    if settings.method == "exact":
        return "exact"
    # imported here: the coverage check reads the kernel's tables (numba), which
    # loading and predicting never need
    from bayes_sklearn.inference.coverage import kernel_gap

    gap = kernel_gap(spec)
    if settings.method == "nuts":
        if settings.nuts_sampler != "auto" or gap is not None:
            if settings.nuts_init == "advi" and settings.nuts_sampler != "pymc":
                # nutpie.sample takes no start points or mass matrix from us: the
                # option would be ignored without a word.
                if gap is None:
                    where, way_out = "with nuts_sampler='nutpie'", "'auto' or 'pymc'"
                else:
                    where = f"on the PyMC engine, which this model needs ({gap})"
                    way_out = "'pymc'"
                raise ValueError(
                    f"nuts_init='advi' is not available {where}; use nuts_sampler={way_out} "
                    "for ADVI start points, or nuts_init='auto'."
                )
            return "pymc"
        return "kernel"
    if settings.method in ("advi", "fullrank_advi") and gap is not None:
        raise ValueError(
            f"inference={settings.method!r} is not available for this model: {gap}, which "
            "only the PyMC engine samples. Use inference='nuts'."
        )
    return "kernel"


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
    if any(isinstance(p, Constant) for term in spec.group_terms for p in term.sd_priors):
        changes["group_terms"] = tuple(
            _pin_term_sds(term, draws) for term, draws in
            zip(map(check_group_term, spec.group_terms), result.group_terms, strict=True)
        )
    return replace(result, **changes) if changes else result


def _pin_term_sds(term, draws):
    """A group term's fixed sds exactly as given (the effects keep their round trip)."""
    sd = draws.sd.copy()
    for e, prior in enumerate(term.sd_priors):
        if isinstance(prior, Constant):
            sd[..., e] = prior.value
    return replace(draws, sd=sd)


def _run_backend(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    sample_weight: np.ndarray | None = None,
    group_designs=None,
) -> SamplerResult:
    if settings.method == "exact":
        from bayes_sklearn.inference.exact import sample_exact

        if spec.group_terms:
            raise ValueError(
                "inference='exact' is not available for hierarchical models: the group "
                "standard deviations have no closed-form posterior. Use 'nuts' or 'advi'."
            )
        return sample_exact(spec, X_z, y, settings, sample_weight)
    if settings.method == "nuts":
        from bayes_sklearn.inference.fast_nuts import sample_fast_nuts

        return sample_fast_nuts(spec, X_z, y, settings, sample_weight, group_designs)
    if settings.method in ("advi", "fullrank_advi"):
        from bayes_sklearn.inference.advi import fit_advi

        return fit_advi(spec, X_z, y, settings, sample_weight, group_designs)
    raise ValueError(f"Unknown inference method {settings.method!r}.")
