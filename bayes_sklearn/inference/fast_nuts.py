"""NUTS with nutpie's sampler on bayes_sklearn's precompiled log density.

The log density (:mod:`bayes_sklearn.inference._kernel`) is compiled by numba
once per installation and cached on disk, so a fit costs only the sampling:
no PyMC graph is built and nothing is compiled per model, per fold or per
grid point. The data are passed by pointer; the gaussian family without
groups is reduced to sufficient statistics first. nutpie's compiled core is
loaded and checked by :mod:`bayes_sklearn.inference._nutpie_core` and run by
:mod:`bayes_sklearn.inference.nutpie_run`.
"""

from __future__ import annotations

import numpy as np

from bayes_sklearn.inference.nutpie_run import (
    CDensity,
    adapts_mass_matrix_to_gradients,
    run_nuts,
)
from bayes_sklearn.inference.packing import PackedModel, pack_model, unpack_draws
from bayes_sklearn.inference.preconditioning import (
    laplace_approximation,
    whitenable,
    whitened,
)
from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec

_INIT_JITTER = 1.0
_WHITENED_JITTER = 2.0


def _initial_point_function(packed: PackedModel, in_whitened_coordinates: bool):
    """Chain start points: PyMC's default jitter of U(-1, 1) around the prior
    centre, or, in whitened coordinates, U(-2, 2) around the approximation's
    mean (Stan's initial range; in units of the approximation's sds, a
    little wider than the posterior, so that r_hat can see chains that fail to mix)."""
    jitter = _WHITENED_JITTER if in_whitened_coordinates else _INIT_JITTER

    def initial_point(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return packed.initial_point + rng.uniform(-jitter, jitter, packed.n_dim)

    return initial_point


def sample_fast_nuts(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    sample_weight: np.ndarray | None = None,
    group_designs=None,
) -> SamplerResult:
    """Sample ``spec``'s posterior with nutpie's NUTS on the precompiled kernel.

    ``sample_weight`` are frequency weights of the rows' likelihood;
    ``group_designs`` one ``(Z, codes)`` per ``spec.group_terms`` entry.
    """
    from bayes_sklearn.inference import _kernel

    packed = pack_model(spec, X_z, y, sample_weight=sample_weight,
                        group_designs=group_designs)
    approximation = None
    if settings.nuts_init == "advi":
        from bayes_sklearn.inference.advi import fit_variational

        approximation = fit_variational(spec, X_z, y, settings, sample_weight=sample_weight,
                                        group_designs=group_designs).gaussian()
    elif whitenable(spec, packed.n_dim):
        approximation = laplace_approximation(packed)
    sampled = packed if approximation is None else whitened(packed, approximation)
    # The sampler moves the free parameters (or their whitened coordinates);
    # each stored draw is the full vector, fixed values in place.
    density = CDensity(_kernel.logp_cfunc.address, _kernel.expand_cfunc.address,
                       sampled.header.ctypes.data, sampled, sampled.n_dim, sampled.n_full,
                       _initial_point_function(sampled, approximation is not None))
    adapt = adapts_mass_matrix_to_gradients(bool(spec.group_terms))
    theta, stats = run_nuts(density, settings, adapt_to_gradients=adapt)
    method = "nuts (nutpie, precompiled" + (
        f", {approximation.source}-whitened)" if approximation is not None else ")")
    return unpack_draws(spec, theta, method=method,
                        intercept_shift=packed.intercept_shift, sample_stats=stats)
