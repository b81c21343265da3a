"""The estimators' model as a ``pm.Model`` on the original scale of the data.

This is the reference model users get from ``to_pymc``: the same likelihood
and the same resolved priors as :class:`~bayes_sklearn.model.spec.ModelSpec`,
written in the user's units, with coordinates named by the design columns
and variables named as in ``posterior_``.

The default intercept prior is stated at the feature means (see
:mod:`bayes_sklearn.model.spec`). That is kept exact here by sampling the
intercept at the means, ``intercept_c``, and exposing
``intercept = intercept_c - coef @ x_mean`` as a Deterministic; ``x_mean`` is
the ``pm.Data`` container ``"x_mean"``. Group effects are treated the same
way: their intercept column (``group_effect`` / ``group_offset``, dim
``effect``) is at the feature means and ``group_intercept`` is derived.

Data enter as ``pm.Data``: ``X``, ``y_data``, ``x_mean``, ``group_code``
(hierarchical) and ``sample_weight`` (when weights are given); the observed
variable is ``y``, as in ``idata_``'s ``log_likelihood`` group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_sklearn.model.spec import ModelSpec
from bayes_sklearn.priors import (
    Exponential,
    HalfNormal,
    HalfStudentT,
    Laplace,
    Normal,
    StudentT,
)


def _location_scale(name: str, priors: Sequence, dims: tuple[str, ...], shape):
    """One variable for priors of one family, given per row of the leading dim."""
    kind = type(priors[0])
    ndim = len(dims) if dims is not None else len(shape)
    # one prior per entry of the leading axis, broadcast over the others; () is a scalar
    column = (len(priors),) + (1,) * (ndim - 1) if ndim else ()
    loc = np.array([p.loc for p in priors], dtype=float).reshape(column)
    scale = np.array([p.scale for p in priors], dtype=float).reshape(column)
    kwargs: dict[str, Any] = {"shape": shape} if dims is None else {"dims": dims}
    if kind is Normal:
        return pm.Normal(name, mu=loc, sigma=scale, **kwargs)
    if kind is StudentT:
        nu = np.array([p.nu for p in priors], dtype=float).reshape(column)
        return pm.StudentT(name, nu=nu, mu=loc, sigma=scale, **kwargs)
    if kind is Laplace:
        return pm.Laplace(name, mu=loc, b=scale, **kwargs)
    raise TypeError(f"No PyMC translation for prior {priors[0]!r}.")


def _scale_rv(name: str, prior) -> pt.TensorVariable:
    if isinstance(prior, Exponential):
        return pm.Exponential(name, scale=prior.scale)
    if isinstance(prior, HalfNormal):
        return pm.HalfNormal(name, sigma=prior.sigma)
    if isinstance(prior, HalfStudentT):
        return pm.HalfStudentT(name, nu=prior.nu, sigma=prior.sigma)
    raise TypeError(f"No PyMC translation for prior {prior!r}.")


def _coefficients(spec: ModelSpec, output_dims: tuple[str, ...]):
    """``coef`` on the original scale, (feature[, class]); one variable per prior family."""
    priors = spec.coef_priors
    by_kind: dict[type, list[int]] = defaultdict(list)
    for index, prior in enumerate(priors):
        by_kind[type(prior)].append(index)
    dims = ("feature", *output_dims)
    if len(by_kind) == 1:
        return _location_scale("coef", list(priors), dims, None)
    coef = pt.zeros((spec.n_coef, spec.n_outputs))
    for kind, indices in by_kind.items():
        part = _location_scale(f"coef_{kind.__name__.lower()}", [priors[i] for i in indices],
                               None, (len(indices), spec.n_outputs))
        coef = pt.set_subtensor(coef[np.array(indices)], part)
    return pm.Deterministic("coef", coef if output_dims else coef[:, 0], dims=dims)


def _group_effects(spec: ModelSpec, X, codes, x_mean):
    """Each row's group contribution to ``eta``; defines the group variables."""
    groups = spec.groups
    varying = list(groups.varying)
    # standardised-scale sds of the slopes divided by the feature sds: the same prior
    # on the original scale (HalfNormal is a scale family)
    sd_sigma = np.array([p.sigma for p in groups.sd_priors], dtype=float)
    sd_sigma[1:] /= spec.standardizer.scale[varying]
    sd = pm.HalfNormal("group_sd", sigma=sd_sigma, dims="effect")
    if groups.centered:
        effect = pm.Normal("group_effect", mu=0.0, sigma=sd, dims=("group", "effect"))
    else:
        offset = pm.Normal("group_offset", mu=0.0, sigma=1.0, dims=("group", "effect"))
        effect = pm.Deterministic("group_effect", offset * sd, dims=("group", "effect"))
    slopes = effect[:, 1:]
    intercept = pm.Deterministic(
        "group_intercept", effect[:, 0] - pt.dot(slopes, x_mean[varying]), dims="group"
    )
    contribution = intercept[codes]
    if varying:
        pm.Deterministic("group_slope", slopes, dims=("group", "slope"))
        contribution = contribution + (slopes[codes] * X[:, varying]).sum(axis=1)
    return contribution


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
    group_codes: np.ndarray | None = None,
    *,
    sample_weight: np.ndarray | None = None,
    output_names: Sequence[Any] | None = None,
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
    group_codes : ndarray of shape (n_samples,), optional
        Integer group of each row, for hierarchical specs.
    sample_weight : ndarray of shape (n_samples,), optional
        Likelihood weights (each row's log density times its weight).
    output_names : sequence, optional
        Non-reference class labels of a categorical model (coords ``class``).

    Returns
    -------
    pymc.Model
        Free variables ``intercept_c`` (intercept at the feature means),
        ``coef`` (or one ``coef_<prior>`` per prior family, with ``coef`` a
        Deterministic), ``sigma`` (gaussian), and for hierarchical specs
        ``group_sd`` and ``group_offset`` (non-centred) or ``group_effect``
        (centred); Deterministics ``intercept``, ``group_effect``,
        ``group_intercept``, ``group_slope``; the observed ``y``.
    """
    categorical = spec.family == "categorical"
    coords: dict[str, Any] = {"feature": list(spec.coef_names)}
    if categorical:
        names = output_names if output_names is not None else range(1, spec.n_outputs + 1)
        coords["class"] = list(names)
    output_dims = ("class",) if categorical else ()
    if spec.groups is not None:
        coords["group"] = list(spec.groups.labels)
        coords["effect"] = list(spec.groups.effect_names)
        if spec.groups.varying:
            coords["slope"] = list(spec.groups.effect_names[1:])
    with pm.Model(coords=coords) as model:
        X = pm.Data("X", np.asarray(X_design, dtype=float))
        y_data = pm.Data("y_data", np.asarray(y))
        x_mean = pm.Data("x_mean", np.asarray(spec.standardizer.center, dtype=float),
                         dims="feature")
        if categorical:
            intercept_c = _location_scale("intercept_c", [spec.intercept_prior] * spec.n_outputs,
                                          output_dims, None)
        else:
            intercept_c = _location_scale("intercept_c", [spec.intercept_prior], None, ())
        coef = _coefficients(spec, output_dims)
        intercept = pm.Deterministic("intercept", intercept_c - pt.dot(x_mean, coef),
                                     dims=output_dims)
        eta = pt.dot(X, coef) + intercept
        if not categorical:
            eta = eta[:, None]
        if spec.groups is not None:
            codes = pm.Data("group_code", np.asarray(group_codes, dtype=np.int64))
            eta = eta + _group_effects(spec, X, codes, x_mean)[:, None]
        params = [_scale_rv("sigma", spec.noise_prior)] if spec.family == "gaussian" else []
        eta = _likelihood_input(spec.family, eta)
        if sample_weight is None:
            model.register_rv(_family_dist(spec.family, eta, *params), "y", observed=y_data)
        else:
            w = pm.Data("sample_weight", np.asarray(sample_weight, dtype=float))
            _weighted_likelihood(spec.family, eta, params, w, y_data)
    return model
