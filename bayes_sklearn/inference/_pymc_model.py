"""The only place that turns a model description into a ``pm.Model``.

The model is written on the standardised design: ``eta = intercept_z +
X_z @ coef_z``. Data enter through ``pm.Data`` containers named ``"X"`` and
``"y"`` so that a built (and compiled) model can later be given new data of
the same structure.
"""

from __future__ import annotations

from collections import defaultdict

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


def _location_scale_rv(name: str, priors: list, shape: tuple[int, ...]):
    """One PyMC variable for priors of the same family, given per leading row."""
    kind = type(priors[0])
    column = (len(priors),) + (1,) * (len(shape) - 1)
    loc = np.array([p.loc for p in priors]).reshape(column)
    scale = np.array([p.scale for p in priors]).reshape(column)
    if kind is Normal:
        return pm.Normal(name, mu=loc, sigma=scale, shape=shape)
    if kind is StudentT:
        nu = np.array([p.nu for p in priors]).reshape(column)
        return pm.StudentT(name, nu=nu, mu=loc, sigma=scale, shape=shape)
    if kind is Laplace:
        return pm.Laplace(name, mu=loc, b=scale, shape=shape)
    raise TypeError(f"No PyMC translation for prior {priors[0]!r}.")


def _scale_rv(name: str, prior):
    if isinstance(prior, Exponential):
        return pm.Exponential(name, scale=prior.scale)
    if isinstance(prior, HalfNormal):
        return pm.HalfNormal(name, sigma=prior.sigma)
    if isinstance(prior, HalfStudentT):
        return pm.HalfStudentT(name, nu=prior.nu, sigma=prior.sigma)
    raise TypeError(f"No PyMC translation for prior {prior!r}.")


def _coefficients(spec: ModelSpec):
    """``coef_z`` of shape (n_coef, n_outputs); one PyMC variable per prior family."""
    priors = spec.sampling_coef_priors()
    shape = (spec.n_coef, spec.n_outputs)
    groups: dict[type, list[int]] = defaultdict(list)
    for index, prior in enumerate(priors):
        groups[type(prior)].append(index)
    if len(groups) == 1:
        return _location_scale_rv("coef_z", list(priors), shape)
    coef = pt.zeros(shape)
    for kind, indices in groups.items():
        part = _location_scale_rv(
            f"coef_z_{kind.__name__.lower()}",
            [priors[i] for i in indices],
            (len(indices), spec.n_outputs),
        )
        coef = pt.set_subtensor(coef[np.array(indices)], part)
    return pm.Deterministic("coef_z", coef)


def _group_effects(spec: ModelSpec, X_data, codes):
    """Partial-pooling contribution to ``eta`` for each row: ``b[g, 0] + sum_k b[g, k] x_k``."""
    groups = spec.groups
    shape = (groups.n_groups, groups.n_effects)
    sd = pm.HalfNormal(
        "group_sd_z", sigma=np.array([p.sigma for p in groups.sd_priors]), shape=groups.n_effects
    )
    if groups.centered:
        effects = pm.Normal("group_effect_z", mu=0.0, sigma=sd, shape=shape)
    else:
        offsets = pm.Normal("group_offset", mu=0.0, sigma=1.0, shape=shape)
        effects = pm.Deterministic("group_effect_z", offsets * sd)
    row_effects = effects[codes]
    contribution = row_effects[:, 0]
    for k, column in enumerate(groups.varying, start=1):
        contribution = contribution + row_effects[:, k] * X_data[:, column]
    return contribution


def build_pymc_model(
    spec: ModelSpec,
    X_z: np.ndarray,
    y: np.ndarray,
    group_codes: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> pm.Model:
    """Build the PyMC model of ``spec`` on standardised data.

    Variables: ``intercept_z`` (n_outputs,), ``coef_z`` (n_coef, n_outputs),
    ``sigma`` for the gaussian family, ``group_sd_z`` and ``group_effect_z``
    (n_groups, n_effects) for hierarchical specs, and the observed ``obs``.

    With ``sample_weight`` (frequency weights, in the ``pm.Data`` container
    ``sample_weight``) a potential ``obs_weight``
    adds ``(w_i - 1)`` times each row's log likelihood, so the model's log
    density counts row ``i`` ``w_i`` times while ``obs`` stays an ordinary
    observed variable (for posterior predictive sampling).
    """
    if spec.family != "gaussian":
        # class codes: pm.logp of a Categorical indexes with them (PyTensor < 2.27
        # refuses float indices)
        y = np.asarray(y).astype(np.int64)
    with pm.Model() as model:
        X_data = pm.Data("X", X_z)
        y_data = pm.Data("y", y)
        codes = pm.Data("group", group_codes) if spec.groups is not None else None
        intercept = _location_scale_rv(
            "intercept_z", [spec.intercept_prior] * spec.n_outputs, (spec.n_outputs,)
        )
        coef = _coefficients(spec)
        eta = intercept[None, :] + pt.dot(X_data, coef)
        if spec.groups is not None:
            eta = eta + _group_effects(spec, X_data, codes)[:, None]
        if spec.family == "gaussian":
            sigma = _scale_rv("sigma", spec.noise_prior)
            pm.Normal("obs", mu=eta[:, 0], sigma=sigma, observed=y_data)
        elif spec.family == "bernoulli":
            pm.Bernoulli("obs", logit_p=eta[:, 0], observed=y_data)
        elif spec.family == "categorical":
            logits = pt.concatenate([pt.zeros((eta.shape[0], 1)), eta], axis=1)
            pm.Categorical("obs", logit_p=logits, observed=y_data)
        else:
            raise ValueError(f"Unknown family {spec.family!r}.")
        if sample_weight is not None:
            weight = pm.Data("sample_weight", np.asarray(sample_weight, dtype=np.float64))
            obs = model["obs"]
            pm.Potential("obs_weight", pt.sum((weight - 1.0) * pm.logp(obs, y_data)))
    return model
