"""The PyMC engine: the reference model, compiled once per model structure.

Models the kernel does not cover (:mod:`bayes_sklearn.inference.coverage`)
are sampled here, on :func:`~bayes_sklearn.model.pymc_model.build_reference_model`'s
``pm.Model``, the very model ``to_pymc`` returns, with nutpie's NUTS. Its
data (``X``, ``y_data``, weights, group-term designs and codes, ``x_mean``)
and prior parameters are ``pm.Data``, so one compilation
(:func:`~bayes_sklearn.inference.compiled_model.compile_model`) serves every
fit of the same *structure* (family, sizes, prior families, group terms,
weights present, intercept choices): refits, CV folds and grid points only
point the compiled functions at new arrays. No data container has a fixed
length, so folds of different sizes share it too.

The cache is process-local and bounded (least recently used first out); it
lives in this module, never on an estimator, so a fitted estimator stays
plain data that pickles and clones. Across processes, the compiled code
itself is cached on disk (see :mod:`~bayes_sklearn.inference.compiled_model`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayes_sklearn.inference.result import SamplerResult, TermDraws
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec

#: Compiled structures kept per process.
CACHE_SIZE = 8


@dataclass
class _Entry:
    """One compiled structure: the model it came from and its compiled functions."""

    model: Any
    compiled: Any
    # held while the cached model's data are set to a fit's and its start point read
    lock: threading.Lock = field(default_factory=threading.Lock)


_cache: OrderedDict[tuple, _Entry] = OrderedDict()
_cache_lock = threading.Lock()
_compilations = 0


def compile_count() -> int:
    """How many structures this process has compiled (for tests and benchmarks)."""
    return _compilations


def clear_cache() -> None:
    """Forget every compiled structure."""
    with _cache_lock:
        _cache.clear()


def structure_key(spec: ModelSpec, weighted: bool) -> tuple:
    """Everything the compiled graph depends on, and nothing it takes as data."""
    from bayes_sklearn.model.pymc_model import _slot_key
    from bayes_sklearn.model.spec import check_group_term

    # labels and effect names name variables and data, so they are structure;
    # lkj_eta is data (pm.Data), as are the designs and codes
    terms = tuple(
        (term.label, term.effect_names, term.n_levels, term.is_correlated,
         tuple(_slot_key(p) for p in term.sd_priors))
        for term in map(check_group_term, spec.group_terms)
    )
    return (
        spec.family,
        spec.n_coef,
        spec.n_outputs,
        tuple(_slot_key(p) for p in spec.coef_priors),
        _slot_key(spec.intercept_prior) if spec.fit_intercept else None,
        _slot_key(spec.noise_prior) if spec.family == "gaussian" else None,
        bool(weighted),
        bool(spec.fit_intercept),
        bool(spec.intercept_at_mean),
        terms,
    )


def _data_values(model) -> dict[str, np.ndarray]:
    """The values of every ``pm.Data`` container of ``model`` and the lengths of its
    dims (shared variables too, read by the compiled functions), by name."""
    values = {name: length.get_value() for name, length in model.dim_lengths.items()
              if hasattr(length, "get_value")}
    values.update({var.name: var.get_value() for var in model.data_vars})
    return values


def _compiled_entry(key: tuple, model) -> _Entry:
    global _compilations
    with _cache_lock:
        entry = _cache.get(key)
        if entry is not None:
            _cache.move_to_end(key)
            return entry
    from bayes_sklearn.inference.compiled_model import compile_model
    from bayes_sklearn.inference.nuts import backend_warnings_filtered

    with backend_warnings_filtered():
        compiled = compile_model(model)
    entry = _Entry(model, compiled)
    with _cache_lock:
        _compilations += 1
        _cache[key] = entry
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return entry


def _sample_entry(entry: _Entry, values: dict[str, np.ndarray], settings: InferenceSettings,
                  adapt_to_gradients: bool = True,
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Draws by variable name and sampler statistics, on this fit's data ``values``."""
    from bayes_sklearn.inference.compiled_model import start_point
    from bayes_sklearn.inference.nutpie_run import run_nuts

    with entry.lock:
        # PyMC's start points come from the cached model's own data (the prior
        # centres are pm.Data): give them this fit's values first
        for var in entry.model.data_vars:
            var.set_value(values[var.name])
        start = start_point(entry.compiled)
    draws, stats = run_nuts(entry.compiled.density(values, start), settings,
                            adapt_to_gradients=adapt_to_gradients)
    return entry.compiled.split(draws), stats


def sample_reference_model(
    spec: ModelSpec,
    X_design: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    sample_weight: np.ndarray | None = None,
    *,
    sampler: str = "nutpie",
    group_designs=None,
) -> SamplerResult:
    """Sample the reference model of ``spec`` on the original-scale data.

    ``sampler="nutpie"`` uses the compiled-structure cache; ``"pymc"`` runs
    ``pm.sample`` on a freshly built model. The draws are returned in the
    layout of the rest of the pipeline (standardised design scale), see
    :func:`reference_to_result`. ``group_designs`` gives one ``(Z, codes)``
    per ``spec.group_terms`` entry.
    """
    from bayes_sklearn.inference.nuts import _sample_pymc, quiet_pymc_logging
    from bayes_sklearn.model.pymc_model import build_reference_model

    if sampler != "pymc":
        from bayes_sklearn.inference import nutpie_run

        nutpie_run.nutpie_core()  # an unknown nutpie fails here, before compiling
    quiet_pymc_logging()
    model = build_reference_model(spec, X_design, y, sample_weight=sample_weight,
                                  group_designs=group_designs)
    if sampler == "pymc":
        idata = _sample_pymc(model, settings)
        posterior = idata.posterior
        stats = {name: np.asarray(values) for name, values in idata.sample_stats.items()
                 if values.dims == ("chain", "draw")}
        method = "nuts (pymc)"
    else:
        entry = _compiled_entry(structure_key(spec, sample_weight is not None), model)
        adapt = nutpie_run.adapts_mass_matrix_to_gradients(bool(spec.group_terms))
        posterior, stats = _sample_entry(entry, _data_values(model), settings, adapt)
        method = "nuts (nutpie)"
    return reference_to_result(spec, posterior, method=method, sample_stats=stats)


def reference_to_result(spec: ModelSpec, posterior, method: str, **fields) -> SamplerResult:
    """Original-scale draws of the reference model as a :class:`SamplerResult`.

    ``posterior`` maps variable names to ``(chain, draw, ...)`` arrays (an
    ArviZ posterior group or a dict).

    The inverse of ``posterior_draws``'s map: ``coef_z = coef * sd(x)``,
    ``intercept_z = intercept + center @ coef`` (the intercept at the
    standardiser's centre); group terms' draws are on their designs' own
    scale already. Fixed values (Constant) are repeated over the draws.
    """
    scale = spec.standardizer.scale
    center = spec.standardizer.center
    m = spec.n_outputs

    def values(name: str) -> np.ndarray:
        return np.asarray(posterior[name], dtype=np.float64)

    coef = values("coef")
    coef = coef.reshape(*coef.shape[:2], spec.n_coef, m)
    chains, draws = coef.shape[:2]
    if "intercept" in posterior:
        intercept = values("intercept").reshape(chains, draws, m)
    else:
        intercept = np.zeros((chains, draws, m))
    intercept_z = intercept + np.einsum("cdpo,p->cdo", coef, center)
    sigma = None
    if spec.family == "gaussian":
        sigma = (values("sigma") if "sigma" in posterior
                 else np.full((chains, draws), float(spec.noise_prior.value)))
    return SamplerResult(
        intercept_z=intercept_z,
        coef_z=coef * scale[:, None],
        sigma=sigma,
        method=method,
        group_terms=tuple(
            _term_draws(term, values, (chains, draws) + ((m,) if spec.family == "categorical"
                                                         else ()))
            for term in spec.group_terms),
        **fields,
    )


def _term_draws(term, values, sd_shape: tuple[int, ...]) -> TermDraws:
    """A group term's draws under the reference model's names (see ``build_reference_model``).

    A fixed sd (Constant) is data in the model, so it is repeated over the draws.
    """
    # a categorical model's variables have a class axis last: effects are stacked
    # on the axis after the levels, sds after the draws
    effects = np.stack([values(name) for name in term.effect_names], axis=3)
    sd = np.stack([_draws_or_fixed(values, f"{name}_sigma", prior, sd_shape)
                   for name, prior in zip(term.effect_names, term.sd_priors)], axis=2)
    corr = values(f"{term.label}_corr") if term.is_correlated else None
    return TermDraws(effects=effects, sd=sd, corr=corr)


def _draws_or_fixed(values, name: str, prior, shape: tuple[int, ...]) -> np.ndarray:
    from bayes_sklearn.priors import Constant

    if isinstance(prior, Constant):
        return np.full(shape, float(prior.value))
    return values(name)
