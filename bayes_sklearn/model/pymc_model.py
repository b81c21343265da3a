"""The estimators' model as a ``pm.Model`` on the original scale of the data.

This is the reference model users get from ``to_pymc``: the same likelihood
and the same resolved priors as :class:`~bayes_sklearn.model.spec.ModelSpec`,
written in the user's units, with coordinates named by the design columns
and variables named as in ``posterior_``.

The default intercept prior is stated at the feature means (see
:mod:`bayes_sklearn.model.spec`). That is kept exact here by sampling the
intercept at the means, ``intercept_c``, and exposing
``intercept = intercept_c - coef @ x_mean`` as a Deterministic; ``x_mean`` is
the ``pm.Data`` container ``"x_mean"``.

Without an intercept (``spec.fit_intercept`` False) there is no intercept
variable; with its prior stated at x = 0 (``spec.intercept_at_mean`` False)
``intercept`` itself is the free variable.

Every prior is built from its ``pymc_distribution`` and ``pymc_parameters()``,
with each numeric parameter a ``pm.Data`` (``<variable>_<parameter>``, e.g.
``coef_sigma``) and fixed values (:class:`~bayes_sklearn.priors.Constant`) as
data (``<variable>_fixed_value``; a fixed noise scale is the data ``sigma``),
so a compiled model takes new priors as new data
(:mod:`bayes_sklearn.inference.pymc_engine`). Data enter as ``pm.Data`` too:
``X``, ``y_data``, ``x_mean``, each group term's design and codes and
``sample_weight`` (when weights are given), none of fixed length; the
observed variable is ``y``, as in ``idata_``'s ``log_likelihood`` group.

lme4-style group terms (``spec.group_terms``, one design each, passed as
``group_designs``) have their effects at x = 0 of their own design,
uncentred, with an LKJ prior on the correlation of a term's effects (names
in :func:`build_reference_model`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_sklearn.model.lkj import cpc_shapes
from bayes_sklearn.model.spec import GroupTerm, ModelSpec, check_group_term
from bayes_sklearn.priors import Constant


@dataclass(frozen=True)
class _Piece:
    """Entries of one variable that share a prior family: one PyMC variable, or data."""

    name: str
    indices: tuple[int, ...]
    distribution: str | None  # None: fixed values (Constant)
    parameters: tuple[str, ...]


def _slot_key(prior) -> tuple:
    """What the graph depends on for one prior: its PyMC class and keyword names."""
    if isinstance(prior, Constant):
        return ("Constant",)
    return (prior.pymc_distribution, tuple(prior.pymc_parameters()))


def _pieces(name: str, priors: Sequence) -> list[_Piece]:
    """``priors`` grouped by (distribution, parameter names), in order of first use.

    One group: the variable is ``name`` itself. Several: ``<name>_<distribution>``
    (numbered when two groups share a distribution), and ``<name>_fixed`` for
    the Constant entries.
    """
    groups: dict[tuple, list[int]] = {}
    for index, prior in enumerate(priors):
        groups.setdefault(_slot_key(prior), []).append(index)
    pieces, used = [], set()
    for key, indices in groups.items():
        if len(groups) == 1:
            piece = name
        else:
            piece = f"{name}_{'fixed' if key[0] == 'Constant' else key[0].lower()}"
            base, n = piece, 2
            while piece in used:
                piece, n = f"{base}{n}", n + 1
        used.add(piece)
        constant = key[0] == "Constant"
        pieces.append(_Piece(piece, tuple(indices), None if constant else key[0],
                             () if constant else key[1]))
    return pieces


def _piece_values(priors: Sequence, piece: _Piece) -> dict[str, np.ndarray]:
    """The numeric parameters of one piece, one entry per index (``pm.Data`` values)."""
    chosen = [priors[i] for i in piece.indices]
    if piece.distribution is None:
        return {f"{piece.name}_value": np.array([p.value for p in chosen], dtype=float)}
    return {f"{piece.name}_{param}": np.array([p.pymc_parameters()[param] for p in chosen],
                                              dtype=float)
            for param in piece.parameters}


def _location_variable(name: str, priors: Sequence, dims: tuple[str, ...],
                       n_trailing: int | None, scalar: bool = False):
    """A variable with one prior per entry of its leading axis (broadcast over the rest).

    ``dims`` name its axes (``()`` with ``scalar``: one prior, a scalar);
    ``n_trailing`` is the length of a second axis (classes) or None. Prior
    parameters and fixed values are ``pm.Data`` (``<piece>_<parameter>``,
    ``<piece>_value``), so a compiled model can be given new ones.
    """
    pieces = _pieces(name, priors)
    whole = len(pieces) == 1 and pieces[0].distribution is not None

    def column(data):
        if scalar:
            return data[0]
        return data[:, None] if n_trailing is not None else data

    parts = []
    for piece in pieces:
        values = {key: pm.Data(key, value) for key, value in _piece_values(priors, piece).items()}
        if piece.distribution is None:
            (data,) = values.values()
            value = column(data)
            if n_trailing is not None:
                value = pt.broadcast_to(value, (len(piece.indices), n_trailing))
            parts.append((piece, value))
            continue
        kwargs = {key[len(piece.name) + 1:]: column(data) for key, data in values.items()}
        dist = getattr(pm, piece.distribution)
        if whole:
            return dist(name, **kwargs, dims=dims) if dims else dist(name, **kwargs)
        shape = (len(piece.indices),) + ((n_trailing,) if n_trailing is not None else ())
        # The parameters' static shape is the piece's: PyMC 5.20 refused a
        # transformed piece of one entry otherwise (its logp and Jacobian
        # "broadcast": static length 1 against the data's unknown length).
        param_shape = shape[:1] + ((1,) if n_trailing is not None else ())
        kwargs = {key: pt.specify_shape(value, param_shape) for key, value in kwargs.items()}
        parts.append((piece, dist(piece.name, **kwargs, shape=shape)))
    if scalar:
        return pm.Deterministic(name, parts[0][1])
    shape = (len(priors),) + ((n_trailing,) if n_trailing is not None else ())
    out = pt.zeros(shape)
    for piece, value in parts:
        out = pt.set_subtensor(out[np.array(piece.indices)], value)
    return pm.Deterministic(name, out, dims=dims)


def _scale_variable(name: str, prior, dims: tuple[str, ...] = ()):
    """The noise scale: a PyMC variable, or its fixed value as ``pm.Data`` named ``name``."""
    if isinstance(prior, Constant):
        return pm.Data(name, np.asarray(prior.value, dtype=float))
    return _location_variable(name, [prior], dims, None, scalar=True)


def lkj_cpc_shapes(n_effects: int, eta):
    """Beta shapes of the canonical partial correlations of an LKJ(``eta``) matrix
    (see :mod:`bayes_sklearn.model.lkj`)."""
    return cpc_shapes(n_effects, eta)


def corr_cholesky(cpc, n_effects: int):
    """The Cholesky factor of a correlation matrix from its partial correlations.

    ``cpc`` in (-1, 1), ordered as in :func:`lkj_cpc_shapes`; row i of the
    factor is ``L[i, j] = cpc[i, j] * sqrt(1 - sum_{m < j} L[i, m]**2)`` and
    its diagonal takes what remains, so every row has unit length.
    """
    L = pt.zeros((n_effects, n_effects))
    L = pt.set_subtensor(L[0, 0], 1.0)
    entry = 0
    for i in range(1, n_effects):
        remaining = 1.0
        for j in range(i):
            value = cpc[entry] * pt.sqrt(remaining)
            L = pt.set_subtensor(L[i, j], value)
            remaining = remaining - value**2
            entry += 1
        L = pt.set_subtensor(L[i, i], pt.sqrt(remaining))
    return L


def _group_term_effects(term: GroupTerm, Z, codes, n_outputs: int | None = None):
    """Each row's contribution of one group term to ``eta``; defines its variables.

    Non-centred: ``z`` (levels, effects) standard normal, ``b = z * sd``
    (independent) or ``b = z @ (diag(sd) @ L).T`` with ``L`` the Cholesky
    factor of the correlation matrix (correlated), so each level's effects
    have covariance ``diag(sd) @ L @ L.T @ diag(sd)``.

    The LKJ prior is put on the correlation matrix through its partial
    correlations, ``cpc = 2 * u - 1`` with ``u`` Beta-distributed
    (:func:`lkj_cpc_shapes`): exactly LKJ(eta), with every matrix on the
    way positive definite (PyMC's LKJCorr transforms each correlation
    separately, which leaves the positive-definite set for 3 or more
    effects), any prior per sd (LKJCholeskyCov takes one ``sd_dist``), and
    ``eta`` a ``pm.Data``, which neither PyMC class allows in its log density.

    With ``n_outputs`` (a categorical model's non-reference classes) every
    class has its own sds, correlation and effects, as brms gives each
    category of a categorical model its own group effects; the variables
    get a ``class`` axis and the contribution is (rows, classes).
    """
    if n_outputs is not None:
        return _class_group_term_effects(term, Z, codes, n_outputs)
    label = term.label
    level, effect = f"{label}__factor_dim", f"{label}__effect"
    sd = _location_variable(f"{label}_sigma", term.sd_priors, (effect,), None)
    for e, name in enumerate(term.effect_names):
        pm.Deterministic(f"{name}_sigma", sd[e])
    offset = pm.Normal(f"{label}_offset", mu=0.0, sigma=1.0, dims=(level, effect))
    if term.is_correlated:
        k = term.n_effects
        eta = pm.Data(f"{label}__lkj_eta", np.asarray(term.lkj_eta, dtype=float))
        shape = lkj_cpc_shapes(k, eta)
        u = pm.Beta(f"{label}_corr_cpc", alpha=shape, beta=shape, shape=(k * (k - 1) // 2,))
        L = corr_cholesky(2.0 * u - 1.0, k)
        pm.Deterministic(f"{label}_corr", pt.dot(L, L.T), dims=(effect, f"{effect}2"))
        effects = pt.dot(offset, L.T) * sd[None, :]
    else:
        effects = offset * sd[None, :]
    for e, name in enumerate(term.effect_names):
        pm.Deterministic(name, effects[:, e], dims=(level,))
    # one gather of a vector per effect, not of the (levels, effects) matrix: the
    # gradient's scatter-add into a vector was 30x faster at 100,000 rows
    return sum(effects[:, e][codes] * Z[:, e] for e in range(term.n_effects))


def _class_group_term_effects(term: GroupTerm, Z, codes, m: int):
    """:func:`_group_term_effects` of a categorical model: (rows, classes)."""
    label = term.label
    level, effect = f"{label}__factor_dim", f"{label}__effect"
    sd = _location_variable(f"{label}_sigma", term.sd_priors, (effect, "class"), m)
    for e, name in enumerate(term.effect_names):
        pm.Deterministic(f"{name}_sigma", sd[e], dims=("class",))
    offset = pm.Normal(f"{label}_offset", mu=0.0, sigma=1.0, dims=(level, effect, "class"))
    if term.is_correlated:
        k = term.n_effects
        eta = pm.Data(f"{label}__lkj_eta", np.asarray(term.lkj_eta, dtype=float))
        shape = lkj_cpc_shapes(k, eta)[None, :]
        u = pm.Beta(f"{label}_corr_cpc", alpha=shape, beta=shape,
                    shape=(m, k * (k - 1) // 2))
        factors = [corr_cholesky(2.0 * u[c] - 1.0, k) for c in range(m)]
        pm.Deterministic(f"{label}_corr", pt.stack([L @ L.T for L in factors]),
                         dims=("class", effect, f"{effect}2"))
        # class c: effects[:, :, c] = offset[:, :, c] @ L_c.T
        effects = pt.stack([pt.dot(offset[:, :, c], factors[c].T) for c in range(m)], axis=-1)
        effects = effects * sd[None, :, :]
    else:
        effects = offset * sd[None, :, :]
    for e, name in enumerate(term.effect_names):
        pm.Deterministic(name, effects[:, e, :], dims=(level, "class"))
    return (effects[codes] * Z[:, :, None]).sum(axis=1)


def _check_group_designs(terms: Sequence[GroupTerm], group_designs, n_rows: int
                         ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The designs as float matrices and int64 codes, checked against their terms."""
    if group_designs is None or len(group_designs) != len(terms):
        given = "none" if group_designs is None else len(group_designs)
        raise ValueError(f"spec.group_terms has {len(terms)} terms; group_designs must give "
                         f"one (matrix, codes) pair each, got {given}.")
    checked = []
    for term, (matrix, codes) in zip(terms, group_designs, strict=True):
        Z = np.asarray(matrix, dtype=float)
        if Z.shape != (n_rows, term.n_effects):
            raise ValueError(f"The design of group term {term.label!r} must have shape "
                             f"({n_rows}, {term.n_effects}) (rows, effects "
                             f"{list(term.effect_names)}), got {Z.shape}.")
        raw = np.asarray(codes)
        if raw.shape != (n_rows,) or not np.issubdtype(raw.dtype, np.integer):
            raise ValueError(f"The codes of group term {term.label!r} must be {n_rows} "
                             f"integers, got shape {raw.shape} of {raw.dtype}.")
        if n_rows and (raw.min() < 0 or raw.max() >= term.n_levels):
            raise ValueError(f"The codes of group term {term.label!r} must be in "
                             f"0..{term.n_levels - 1} (its levels), got {raw.min()}.."
                             f"{raw.max()}; rows of unseen levels (-1) cannot be fitted.")
        checked.append((Z, raw.astype(np.int64)))
    return checked


def _likelihood_input(family: str, eta):
    """``eta`` (rows, outputs) as the likelihood takes it: a vector, or all classes' logits."""
    if family == "categorical":
        return pt.concatenate([pt.zeros((eta.shape[0], 1)), eta], axis=1)
    return eta[:, 0]


def _family_dist(family: str, eta, *params):
    if family == "gaussian":
        return pm.Normal.dist(mu=eta, sigma=params[0])
    if family == "bernoulli":
        return pm.Bernoulli.dist(logit_p=eta)
    if family == "categorical":
        return pm.Categorical.dist(logit_p=eta)
    raise ValueError(f"Unknown family {family!r}.")


def _weighted_likelihood(family: str, eta, params, w, y_data) -> None:
    """Observed ``y`` whose row log densities are multiplied by the weights ``w``."""
    def logp(value, eta, *rest):
        *params, w = rest
        return w * pm.logp(_family_dist(family, eta, *params), value)

    def random(eta, *rest, rng=None, size=None):
        eta = np.asarray(eta)
        if family == "gaussian":
            return rng.normal(eta, rest[0], size=size)
        if family == "bernoulli":
            return rng.binomial(1, 1.0 / (1.0 + np.exp(-eta)), size=size)
        return np.argmax(eta + rng.gumbel(size=eta.shape), axis=-1)

    signature = "(k)," + ",".join(["()"] * (len(params) + 1)) + "->()"
    kwargs = {"signature": signature} if family == "categorical" else {}
    pm.CustomDist("y", eta, *params, w, logp=logp, random=random, observed=y_data,
                  dtype="float64" if family == "gaussian" else "int64", **kwargs)


def build_reference_model(
    spec: ModelSpec,
    X_design: np.ndarray,
    y: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    output_names: Sequence[Any] | None = None,
    group_designs: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> pm.Model:
    """The PyMC model of ``spec`` on the original scale of ``X_design``.

    Parameters
    ----------
    spec : ModelSpec
        Resolved model description (priors as the estimator resolves them).
    X_design : ndarray of shape (n_samples, n_coef)
        Design matrix on the user's scale (not standardised).
    y : ndarray of shape (n_samples,)
        Response values, or class codes for the classifiers.
    sample_weight : ndarray of shape (n_samples,), optional
        Likelihood weights (each row's log density times its weight).
    output_names : sequence, optional
        Non-reference class labels of a categorical model (coords ``class``).
    group_designs : sequence of (ndarray, ndarray), optional
        One ``(matrix, codes)`` per ``spec.group_terms`` entry: the term's
        design of shape (n_samples, n_effects), on the original scale, and
        each row's level code in ``0..n_levels - 1``. In a categorical
        model every class has effects of its own.

    Returns
    -------
    pymc.Model
        Free variables ``intercept_c`` (intercept at the feature means;
        ``intercept`` itself when ``spec.intercept_at_mean`` is False, none
        without ``spec.fit_intercept``), ``coef`` (or one
        ``coef_<distribution>`` per prior family, with ``coef`` a
        Deterministic; fixed entries are the data ``coef_fixed_value``),
        ``sigma`` (gaussian; data when fixed); the Deterministic
        ``intercept``; the observed ``y``.

        Each group term (label ``g``, effects ``"1|g"``, ``"x|g"``) adds the
        data ``g__design`` and ``g__code``, coords ``g__factor_dim`` (its levels)
        and ``g__effect`` (its effect names; ``g__effect2`` too, the
        correlation's second axis), the sds ``g_sigma`` (dim ``g__effect``,
        built as ``coef`` is: one variable, pieces, or data when fixed) and
        their Deterministics ``"1|g_sigma"``, ``"x|g_sigma"``, the free
        ``g_offset`` (levels, effects); when correlated, the free
        ``g_corr_cpc`` (see :func:`_group_term_effects`), the data
        ``g__lkj_eta`` and the Deterministic ``g_corr``; and the
        Deterministic deviations ``"1|g"``, ``"x|g"`` (dim ``g__factor_dim``).
        A name that repeats another variable's is a ValueError from PyMC.
    """
    categorical = spec.family == "categorical"
    coords: dict[str, Any] = {"feature": list(spec.coef_names)}
    if categorical:
        names = output_names if output_names is not None else range(1, spec.n_outputs + 1)
        coords["class"] = list(names)
    output_dims = ("class",) if categorical else ()
    terms = [check_group_term(term) for term in spec.group_terms]
    designs = []
    if terms:
        designs = _check_group_designs(terms, group_designs, np.shape(X_design)[0])
    elif group_designs:
        raise ValueError("group_designs were given, but spec.group_terms is empty.")
    for term in terms:
        coords[f"{term.label}__factor_dim"] = list(term.levels)
        coords[f"{term.label}__effect"] = list(term.effect_names)
        if term.is_correlated:
            coords[f"{term.label}__effect2"] = list(term.effect_names)
    n_trailing = spec.n_outputs if categorical else None
    with pm.Model(coords=coords) as model:
        X = pm.Data("X", np.asarray(X_design, dtype=float))
        y_values = np.asarray(y, dtype=float if spec.family == "gaussian" else np.int64)
        y_data = pm.Data("y_data", y_values)
        x_mean = pm.Data("x_mean", np.asarray(spec.standardizer.center, dtype=float),
                         dims="feature")
        coef = _location_variable("coef", spec.coef_priors, ("feature", *output_dims),
                                  n_trailing)
        eta = pt.dot(X, coef)
        if spec.fit_intercept:
            # the free intercept is where its prior is stated: at the feature means
            # (intercept_c, intercept derived) or at x = 0 (intercept itself)
            free = "intercept_c" if spec.intercept_at_mean else "intercept"
            priors = [spec.intercept_prior] * spec.n_outputs
            free_var = _location_variable(free, priors, output_dims, None,
                                          scalar=not categorical)
            intercept = free_var
            if spec.intercept_at_mean:
                intercept = pm.Deterministic("intercept", free_var - pt.dot(x_mean, coef),
                                             dims=output_dims)
            eta = eta + intercept
        if not categorical:
            eta = eta[:, None]
        for term, (Z, term_codes) in zip(terms, designs):
            Z_data = pm.Data(f"{term.label}__design", Z)
            code_data = pm.Data(f"{term.label}__code", term_codes)
            contribution = _group_term_effects(term, Z_data, code_data, n_trailing)
            eta = eta + (contribution if categorical else contribution[:, None])
        params = [_scale_variable("sigma", spec.noise_prior)] if spec.family == "gaussian" else []
        eta = _likelihood_input(spec.family, eta)
        if sample_weight is None:
            model.register_rv(_family_dist(spec.family, eta, *params), "y", observed=y_data)
        else:
            w = pm.Data("sample_weight", np.asarray(sample_weight, dtype=float))
            _weighted_likelihood(spec.family, eta, params, w, y_data)
    return model
