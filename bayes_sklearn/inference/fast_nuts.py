"""NUTS with nutpie's sampler on bayes_sklearn's precompiled log density.

The log density (:mod:`bayes_sklearn.inference._kernel`) is compiled by numba
once per installation and cached on disk, so a fit costs only the sampling:
no PyMC graph is built and nothing is compiled per model, per fold or per
grid point. The data are passed by pointer; the gaussian family without
groups is reduced to sufficient statistics first.

nutpie's Python package imports ArviZ, pandas and pyarrow at import time
(about 2 s here); only its compiled core ``nutpie._lib`` is needed to sample,
so it is loaded on its own.
"""

from __future__ import annotations

import functools
import glob
import importlib.machinery
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import ModelSpec
from bayes_sklearn.priors import (
    Exponential,
    HalfNormal,
    HalfStudentT,
    Laplace,
    Normal,
    StudentT,
)

_FAMILY_CODES = {"gaussian": 0, "bernoulli": 1, "categorical": 2}
_LOCATION_KINDS = {Normal: 0, StudentT: 1, Laplace: 2}
_SCALE_KINDS = {Exponential: 0, HalfNormal: 1, HalfStudentT: 2}
_INIT_JITTER = 1.0
# nutpie's statistic names -> ArviZ's conventional names.
_STATS = {
    "diverging": "diverging",
    "depth": "tree_depth",
    "maxdepth_reached": "reached_max_treedepth",
    "n_steps": "n_steps",
    "step_size": "step_size",
    "energy": "energy",
    "mean_tree_accept": "acceptance_rate",
    "logp": "lp",
}
_lib_lock = threading.Lock()


@functools.cache
def _nutpie_core() -> ModuleType:
    """nutpie's compiled extension, without the Python wrapper's heavy imports."""
    with _lib_lock:
        if "nutpie._lib" in sys.modules:
            return sys.modules["nutpie._lib"]
        package = importlib.util.find_spec("nutpie")
        if package is None or not package.submodule_search_locations:
            raise ImportError("The default NUTS sampler needs nutpie: pip install nutpie")
        (path,) = glob.glob(os.path.join(package.submodule_search_locations[0], "_lib*.*"))
        loader = importlib.machinery.ExtensionFileLoader("nutpie._lib", path)
        spec = importlib.util.spec_from_file_location("nutpie._lib", path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        return module


@dataclass(frozen=True, eq=False)
class PackedModel:
    """The kernel's header and every array it points into (kept alive here)."""

    header: np.ndarray
    arrays: tuple[np.ndarray, ...]
    initial_point: np.ndarray
    n_dim: int


def _location_arrays(priors) -> list[np.ndarray]:
    kinds = np.array([_LOCATION_KINDS[type(p)] for p in priors], dtype=np.int64)
    loc = np.array([p.loc for p in priors], dtype=np.float64)
    scale = np.array([p.scale for p in priors], dtype=np.float64)
    nu = np.array([getattr(p, "nu", 1.0) for p in priors], dtype=np.float64)
    return [kinds, loc, scale, nu]


def _scale_arrays(priors) -> list[np.ndarray]:
    kinds = np.array([_SCALE_KINDS[type(p)] for p in priors], dtype=np.int64)
    scale = np.array([p.scale for p in priors], dtype=np.float64)
    nu = np.array([getattr(p, "nu", 1.0) for p in priors], dtype=np.float64)
    return [kinds, scale, nu]


def gaussian_sufficient_statistics(X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """``X'X``, least-squares fit and residual statistics of the centred ``y``.

    Writing the residual sum of squares around the least-squares fit keeps it
    accurate when the data are fitted almost exactly (no cancellation of
    ``y'y - 2 b'X'y + b'X'X b``).
    """
    y_mean = float(np.mean(y))
    y_centered = y - y_mean
    xtx = X.T @ X
    beta_hat = np.linalg.lstsq(xtx, X.T @ y_centered, rcond=None)[0]
    resid = y_centered - X @ beta_hat
    scalars = np.array([y_mean, resid @ resid, resid.sum()])
    return [np.ascontiguousarray(xtx), beta_hat, X.T @ resid, X.sum(axis=0), scalars]


def pack_model(
    spec: ModelSpec, X_z: np.ndarray, y: np.ndarray, group_codes: np.ndarray | None = None
) -> PackedModel:
    """Lay out ``spec`` and the data for the kernel (see its module docstring)."""
    from bayes_sklearn.inference import _kernel as k

    n, p = X_z.shape
    m = spec.n_outputs
    groups = spec.groups
    gaussian = spec.family == "gaussian"
    use_suffstats = gaussian and groups is None
    X = np.ascontiguousarray(X_z, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)

    location = [spec.intercept_prior] * m + [
        prior for prior in spec.sampling_coef_priors() for _ in range(m)
    ]
    scale_priors = ([spec.noise_prior] if gaussian else []) + list(
        groups.sd_priors if groups is not None else []
    )
    n_groups = groups.n_groups if groups is not None else 0
    n_effects = groups.n_effects if groups is not None else 0
    n_dim = m * (p + 1) + len(scale_priors) + n_groups * n_effects

    empty_f, empty_i = np.zeros(1), np.zeros(1, dtype=np.int64)
    codes = empty_i
    varying = empty_i
    if groups is not None:
        codes = np.ascontiguousarray(group_codes, dtype=np.int64)
        varying = np.array(list(groups.varying) or [0], dtype=np.int64)
    stats = gaussian_sufficient_statistics(X, y) if use_suffstats else [empty_f] * 5
    scale_arrays = _scale_arrays(scale_priors) if scale_priors else [empty_i, empty_f, empty_f]
    pointed = [
        X if not use_suffstats else empty_f,
        y if not use_suffstats else empty_f,
        codes,
        varying,
        *_location_arrays(location),
        *scale_arrays,
        *stats,
    ]
    header = np.zeros(k.HEADER_SIZE, dtype=np.int64)
    header[: k.N_DIM + 1] = [
        _FAMILY_CODES[spec.family],
        n,
        p,
        m,
        n_groups,
        n_effects,
        int(bool(groups is not None and groups.centered)),
        int(use_suffstats),
        n_dim,
    ]
    for slot, array in zip(range(k.P_X, k.P_SCALARS + 1), pointed, strict=True):
        header[slot] = array.ctypes.data

    initial = np.zeros(n_dim)
    initial[:m] = spec.intercept_prior.loc
    index = m * (p + 1)
    for prior in scale_priors:
        initial[index] = np.log(prior.scale)
        index += 1
    return PackedModel(header, tuple(pointed), initial, n_dim)


def _initial_point_function(packed: PackedModel):
    def initial_point(seed: int) -> np.ndarray:
        # PyMC's default: jitter of U(-1, 1) on the unconstrained scale.
        rng = np.random.default_rng(seed)
        return packed.initial_point + rng.uniform(-_INIT_JITTER, _INIT_JITTER, packed.n_dim)

    return initial_point


def _trace_to_arrays(draw_batches, stat_batches, n_dim: int, draws: int):
    """Draws (chains, draws, n_dim) and sampler statistics from nutpie's arrow trace."""
    import pyarrow as pa

    theta, stats = [], {name: [] for name in _STATS.values()}
    for draw_batch, stat_batch in zip(draw_batches, stat_batches, strict=True):
        draw_table = pa.record_batch(draw_batch)
        stat_table = pa.record_batch(stat_batch)
        flat = draw_table.column("theta").flatten().to_numpy()
        theta.append(flat.reshape(-1, n_dim)[-draws:])
        for source, name in _STATS.items():
            values = stat_table.column(source).to_numpy(zero_copy_only=False)
            stats[name].append(values[-draws:])
    return np.stack(theta), {name: np.stack(values) for name, values in stats.items()}


def sample_fast_nuts(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    settings: InferenceSettings,
    group_codes: np.ndarray | None = None,
) -> SamplerResult:
    """Sample ``spec``'s posterior with nutpie's NUTS on the precompiled kernel."""
    from bayes_sklearn.inference import _kernel

    lib = _nutpie_core()
    packed = pack_model(spec, X_z, y, group_codes)
    logp = lib.LogpFunc(_kernel.logp_cfunc.address, packed.header.ctypes.data, packed)
    expand = lib.ExpandFunc(
        packed.n_dim, packed.n_dim, _kernel.expand_cfunc.address, packed.header.ctypes.data, packed
    )
    dim_sizes = {"parameter": packed.n_dim}
    variables = lib.PyVariable.new_variables(
        ["theta"], ["float64"], [(packed.n_dim,)], dim_sizes, {"theta": ("parameter",)}
    )
    model = lib.PyMcModel(
        logp,
        expand,
        variables,
        packed.n_dim,
        dim_sizes,
        {"parameter": [str(i) for i in range(packed.n_dim)]},
        _initial_point_function(packed),
        None,
    )
    nuts = lib.PyNutsSettings.Diag(settings.seed)
    nuts.num_tune = settings.tune
    nuts.num_draws = settings.draws
    nuts.num_chains = settings.chains
    nuts.target_accept = settings.target_accept
    cores = max(1, min(settings.chains, os.cpu_count() or 1))
    progress = lib.ProgressType.indicatif(100) if settings.progressbar else lib.ProgressType.none()
    sampler = lib.PySampler.from_pymc(nuts, cores, model, progress, lib.PyStorage.arrow())
    try:
        # Short waits keep the interpreter responsive to KeyboardInterrupt.
        while True:
            try:
                sampler.wait(0.1)
                break
            except TimeoutError:
                continue
    except BaseException:
        sampler.abort()
        raise
    results = sampler.take_results()
    theta, stats = _trace_to_arrays(*results.get_arrow_trace(), packed.n_dim, settings.draws)
    return result_from_theta(spec, theta, stats, p=X_z.shape[1])


def result_from_theta(spec: ModelSpec, theta: np.ndarray, stats: dict, p: int) -> SamplerResult:
    """Split unconstrained draws into the named, constrained quantities."""
    m = spec.n_outputs
    chains, draws = theta.shape[:2]
    index = m * (p + 1)
    sigma = None
    if spec.family == "gaussian":
        sigma = np.exp(theta[..., index])
        index += 1
    group_sd = group_effect = None
    if spec.groups is not None:
        n_groups, n_effects = spec.groups.n_groups, spec.groups.n_effects
        group_sd = np.exp(theta[..., index : index + n_effects])
        raw = theta[..., index + n_effects :].reshape(chains, draws, n_groups, n_effects)
        group_effect = raw if spec.groups.centered else raw * group_sd[:, :, None, :]
    return SamplerResult(
        intercept_z=theta[..., :m].copy(),
        coef_z=theta[..., m : m * (p + 1)].reshape(chains, draws, p, m),
        sigma=sigma,
        sample_stats=stats,
        method="nuts (nutpie, precompiled)",
        group_effect_z=group_effect,
        group_sd_z=group_sd,
    )
