"""Lay out a model and its data for the precompiled kernel.

:mod:`bayes_sklearn.inference._kernel` reads everything through one int64
header of sizes and pointers; :func:`pack_model` builds that header and keeps
every array it points into alive in a :class:`PackedModel`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_sklearn.inference import _kernel as k
from bayes_sklearn.inference.result import SamplerResult, TermDraws
from bayes_sklearn.model.lkj import cholesky_from_cpc, cpc_shapes
from bayes_sklearn.model.spec import GroupTerm, ModelSpec, check_group_term
from bayes_sklearn.priors import (
    Constant,
    Exponential,
    Flat,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    Laplace,
    Normal,
    StudentT,
)

_FAMILY_CODES = {"gaussian": k.GAUSSIAN, "bernoulli": k.BERNOULLI, "categorical": k.CATEGORICAL}
# The priors the kernel evaluates, by type: the one list of its coverage.
# Anything else runs on the PyMC engine (see inference/coverage.py).
_LOCATION_KINDS = {
    Normal: k.NORMAL, StudentT: k.STUDENT_T, Laplace: k.LAPLACE, Flat: k.FLAT,
    Constant: k.LOCATION_CONSTANT,
}
# HalfCauchy(beta) is the half-t with nu = 1 and scale beta (its .scale; nu defaults to 1)
_SCALE_KINDS = {
    Exponential: k.EXPONENTIAL, HalfNormal: k.HALF_NORMAL, HalfStudentT: k.HALF_STUDENT_T,
    HalfCauchy: k.HALF_STUDENT_T, Constant: k.SCALE_CONSTANT,
}


@dataclass(frozen=True, eq=False)
class PackedModel:
    """The kernel's header and every array it points into (kept alive here)."""

    header: np.ndarray
    arrays: tuple[np.ndarray, ...]
    initial_point: np.ndarray
    n_dim: int
    free: np.ndarray
    full_template: np.ndarray
    intercept_shift: np.ndarray

    @property
    def n_full(self) -> int:
        """Length of the full parameter vector, fixed values included."""
        return self.full_template.shape[0]

    def expand(self, theta: np.ndarray) -> np.ndarray:
        """Free parameters ``(..., n_dim)`` -> full vectors ``(..., n_full)``."""
        full = np.broadcast_to(self.full_template, theta.shape[:-1] + (self.n_full,)).copy()
        full[..., self.free] = theta
        return full


def _scale_of(prior) -> float:
    # A fixed value or a flat prior has no scale; 1 keeps the kernel's divisions finite.
    return 1.0 if isinstance(prior, (Constant, Flat)) else prior.scale


def _loc_of(prior) -> float:
    return 0.0 if isinstance(prior, Flat) else prior.loc


def _location_arrays(priors) -> list[np.ndarray]:
    kinds = np.array([_LOCATION_KINDS[type(p)] for p in priors], dtype=np.int64)
    loc = np.array([_loc_of(p) for p in priors], dtype=np.float64)
    scale = np.array([_scale_of(p) for p in priors], dtype=np.float64)
    nu = np.array([getattr(p, "nu", 1.0) for p in priors], dtype=np.float64)
    return [kinds, loc, scale, nu]


def _scale_arrays(priors) -> list[np.ndarray]:
    kinds = np.array([_SCALE_KINDS[type(p)] for p in priors], dtype=np.int64)
    scale = np.array([_scale_of(p) for p in priors], dtype=np.float64)
    nu = np.array([getattr(p, "nu", 1.0) for p in priors], dtype=np.float64)
    return [kinds, scale, nu]


def gaussian_sufficient_statistics(
    X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
) -> list[np.ndarray]:
    """``X'WX``, weighted least-squares fit and residual statistics of the centred ``y``.

    ``weight`` (default all 1) are frequency weights; the last scalar is
    their sum, the ``n`` of the likelihood. Writing the residual sum of
    squares around the least-squares fit keeps it accurate when the data are
    fitted almost exactly (no cancellation of ``y'y - 2 b'X'y + b'X'X b``).
    """
    if weight is None:
        # no weighted copy of X: the unweighted pass stays one X'X and two matvecs
        total, y_mean, Xw = float(X.shape[0]), float(np.mean(y)), X
    else:
        w = np.asarray(weight, dtype=np.float64)
        total = float(w.sum())
        y_mean = float(w @ y / total)
        Xw = X * w[:, None]
    y_centered = y - y_mean
    xtx = Xw.T @ X
    beta_hat = np.linalg.lstsq(xtx, Xw.T @ y_centered, rcond=None)[0]
    resid = y_centered - X @ beta_hat
    wr = resid if weight is None else w * resid
    scalars = np.array([y_mean, wr @ resid, wr.sum(), total])
    return [np.ascontiguousarray(xtx), beta_hat, X.T @ wr, Xw.sum(axis=0), scalars]


def n_term_parameters(term: GroupTerm) -> int:
    """Length of a group term's block of the kernel's vector: log sds, logits, offsets."""
    E = term.n_effects
    return E + (E * (E - 1) // 2 if term.is_correlated else 0) + term.n_levels * E


def _term_design(term: GroupTerm, design, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A term's ``(Z, codes)`` as the kernel reads them (in place when already so).

    The kernel indexes with the codes unchecked, so they are checked here.
    """
    Z_raw, codes_raw = design
    Z = np.ascontiguousarray(Z_raw, dtype=np.float64)
    codes = np.ascontiguousarray(codes_raw, dtype=np.int64)
    if Z.shape != (n, term.n_effects) or codes.shape != (n,):
        raise ValueError(f"The design of group term {term.label!r} must be ({n}, "
                         f"{term.n_effects}) with {n} codes, got {Z.shape} and {codes.shape}.")
    if n and (codes.min() < 0 or codes.max() >= term.n_levels):
        raise ValueError(f"The codes of group term {term.label!r} must be in "
                         f"0..{term.n_levels - 1}, got {codes.min()}..{codes.max()}.")
    return Z, codes


def _pack_terms(terms, group_designs, n: int, start: int):
    """The kernel's term table and the per-term arrays it points into.

    Returns the table (one row of ``_kernel.TERM_FIELDS`` per term, see
    ``_kernel.P_TERMS``), the arrays to keep alive, and each term's sd priors
    with the index of its first parameter, for the full vector's template.
    """
    if len(group_designs or ()) != len(terms):
        raise ValueError(f"spec.group_terms has {len(terms)} terms; group_designs must give "
                         f"one (matrix, codes) pair each.")
    table = np.zeros((max(len(terms), 1), k.TERM_FIELDS), dtype=np.int64)
    arrays, blocks = [table], []
    for row, term, design in zip(table, terms, group_designs or (), strict=False):
        Z, codes = _term_design(term, design, n)
        kinds, scale, nu = _scale_arrays(term.sd_priors)
        n_cpc = term.n_effects * (term.n_effects - 1) // 2 if term.is_correlated else 0
        beta = np.ascontiguousarray(cpc_shapes(term.n_effects, term.lkj_eta) if n_cpc
                                    else np.zeros(1), dtype=np.float64)
        pointed = [Z, codes, kinds, scale, nu, beta]
        row[: k.T_Z] = [term.n_levels, term.n_effects, int(term.is_correlated), start]
        row[k.T_Z : k.T_ONES] = [array.ctypes.data for array in pointed]
        row[k.T_ONES] = int(Z.shape[1] == 1 and bool(np.all(Z == 1.0)))
        arrays += pointed
        blocks.append((start, term.sd_priors))
        start += n_term_parameters(term)
    return table, arrays, blocks


def pack_model(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    row_weight: float = 1.0,
    sufficient_statistics: bool = True,
    sample_weight: np.ndarray | None = None,
    intercept_shift: np.ndarray | None = None,
    group_designs=None,
) -> PackedModel:
    """Lay out ``spec`` and the data for the kernel (see its module docstring).

    Row ``i``'s likelihood counts ``row_weight * sample_weight[i]`` times:
    ``sample_weight`` are frequency weights (default 1), ``row_weight`` the
    factor of a minibatch standing in for the full data. A C-contiguous
    float64 ``sample_weight`` with ``row_weight == 1`` is pointed to in place,
    so a minibatch can refill it. The gaussian family without group terms is
    reduced to sufficient statistics unless ``sufficient_statistics`` is False
    (for buffers whose rows are rewritten between calls). Data arrays that
    are already C-contiguous float64 (codes: int64) are pointed to in place,
    not copied, so such buffers can be refilled between kernel calls; but a
    group term's design that is one column of ones when packed is read as
    ones for good (the kernel skips it).

    A free intercept whose prior is stated at x = 0 (``spec.intercept_at_mean``
    False) is sampled at the column means of ``X_z`` all the same: the kernel
    sees ``X_z - shift`` and applies the prior at ``theta_0 - shift . coef``
    (see :func:`intercept_shift_for`). Buffers refilled between calls pass
    ``intercept_shift`` and rows already centred by it.
    """
    n, p = X_z.shape
    m = spec.n_outputs
    gaussian = spec.family == "gaussian"
    terms = [check_group_term(term) for term in spec.group_terms]
    use_suffstats = gaussian and not terms and sufficient_statistics
    X = np.ascontiguousarray(X_z, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if intercept_shift is None:
        intercept_shift = intercept_shift_for(spec, X, sample_weight)
        if np.any(intercept_shift):
            X = X - intercept_shift
    shift = np.ascontiguousarray(intercept_shift, dtype=np.float64)

    location = [spec.intercept_prior] * m + [
        prior for prior in spec.sampling_coef_priors() for _ in range(m)
    ]
    scale_priors = [spec.noise_prior] if gaussian else []
    terms_start = m * (p + 1) + len(scale_priors)
    term_table, term_arrays, term_blocks = _pack_terms(terms, group_designs, n, terms_start)
    n_full = terms_start + sum(n_term_parameters(term) for term in terms)
    full_template = np.zeros(n_full)
    for index, prior in enumerate(location):
        full_template[index] = _loc_of(prior)
    # scale parameters start at their priors' scales (a fixed one is its value)
    scale_blocks = [(len(location), scale_priors)] + term_blocks
    fixed = np.zeros(n_full, dtype=bool)
    fixed[: len(location)] = [isinstance(prior, Constant) for prior in location]
    for start, priors in scale_blocks:
        for index, prior in enumerate(priors, start=start):
            constant = isinstance(prior, Constant)
            full_template[index] = np.log(prior.value if constant else prior.scale)
            fixed[index] = constant
    free = np.flatnonzero(~fixed).astype(np.int64)
    n_dim = free.shape[0]
    if n_dim == 0:
        raise ValueError("Every parameter of the model is fixed: there is nothing to infer.")

    empty_f, empty_i = np.zeros(1), np.zeros(1, dtype=np.int64)
    if sample_weight is None:
        weight = np.full(n, float(row_weight))
    elif row_weight == 1.0:
        weight = np.ascontiguousarray(sample_weight, dtype=np.float64)
    else:
        weight = row_weight * np.asarray(sample_weight, dtype=np.float64)
    if weight.shape != (n,):
        raise ValueError(f"sample_weight has shape {weight.shape}, expected ({n},).")
    stats = (
        gaussian_sufficient_statistics(X, y, None if sample_weight is None else weight)
        if use_suffstats
        else [empty_f] * 5
    )
    scale_arrays = _scale_arrays(scale_priors) if scale_priors else [empty_i, empty_f, empty_f]
    pointed = [
        X if not use_suffstats else empty_f,
        y if not use_suffstats else empty_f,
        *_location_arrays(location),
        *scale_arrays,
        *stats,
        weight,
        free,
        full_template,
        shift if p else empty_f,
    ]
    header = np.zeros(k.HEADER_SIZE, dtype=np.int64)
    header[: k.N_FULL + 1] = [
        _FAMILY_CODES[spec.family],
        n,
        p,
        m,
        int(use_suffstats),
        n_dim,
        n_full,
    ]
    for slot, array in zip(range(k.P_X, k.P_INTERCEPT_SHIFT + 1), pointed, strict=True):
        header[slot] = array.ctypes.data
    header[k.N_TERMS] = len(terms)
    header[k.P_TERMS] = term_table.ctypes.data

    # Chains start at the intercept prior's location, log scale-prior scales
    # and zeros (where the template holds them), fixed values removed.
    initial = full_template.copy()
    initial[m : m * (p + 1)] = 0.0
    return PackedModel(header, tuple(pointed + term_arrays), initial[free], n_dim, free,
                       full_template, shift)


def intercept_shift_for(
    spec: ModelSpec, X_z: np.ndarray, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Where the kernel centres the design: the (weighted) column means of
    ``X_z`` for a free intercept whose prior is at x = 0, else zeros.

    A fixed intercept at x = 0 (no intercept, or a number) stays where it
    is: centring would turn it into a constraint between parameters.
    """
    p = X_z.shape[1]
    if spec.intercept_at_mean or isinstance(spec.intercept_prior, Constant):
        return np.zeros(p)
    if sample_weight is None:
        return np.mean(X_z, axis=0)
    return np.average(X_z, axis=0, weights=sample_weight)


def unpack_draws(
    spec: ModelSpec,
    theta: np.ndarray,
    method: str,
    intercept_shift: np.ndarray | None = None,
    **fields,
) -> SamplerResult:
    """Split unconstrained draws ``(chains, draws, n_full)`` into named quantities.

    ``intercept_shift`` is the packed model's: the sampled intercept is at
    ``X_z = shift``, the reported one at ``X_z = 0``.
    """
    m = spec.n_outputs
    p = spec.n_coef
    chains, draws = theta.shape[:2]
    index = m * (p + 1)
    sigma = None
    if spec.family == "gaussian":
        sigma = np.exp(theta[..., index])
        index += 1
    terms = []
    for term in map(check_group_term, spec.group_terms):
        size = n_term_parameters(term)
        terms.append(_term_draws(term, theta[..., index : index + size]))
        index += size
    fields.setdefault("group_terms", tuple(terms))
    coef_z = theta[..., m : m * (p + 1)].reshape(chains, draws, p, m)
    intercept_z = theta[..., :m].copy()
    if intercept_shift is not None and np.any(intercept_shift):
        intercept_z -= np.einsum("cdpm,p->cdm", coef_z, intercept_shift)
    return SamplerResult(
        intercept_z=intercept_z,
        coef_z=coef_z,
        sigma=sigma,
        method=method,
        **fields,
    )


def _term_draws(term: GroupTerm, block: np.ndarray) -> TermDraws:
    """A term's effects, sds and correlation from its block ``(chains, draws, size)``
    of the kernel's vector (see ``_kernel``'s module docstring)."""
    E, L = term.n_effects, term.n_levels
    sd = np.exp(block[..., :E])
    n_cpc = E * (E - 1) // 2 if term.is_correlated else 0
    offsets = block[..., E + n_cpc :].reshape(block.shape[:-1] + (L, E))
    if not n_cpc:
        return TermDraws(effects=offsets * sd[..., None, :], sd=sd, corr=None)
    # tanh(x / 2) = 2 * sigmoid(x) - 1: the partial correlations from their logits
    chol = cholesky_from_cpc(np.tanh(block[..., E : E + n_cpc] / 2.0), E)
    effects = np.einsum("...le,...fe->...lf", offsets, chol) * sd[..., None, :]
    return TermDraws(effects=effects, sd=sd, corr=chol @ np.swapaxes(chol, -1, -2))
