"""Which models the precompiled kernel evaluates; every other runs on the PyMC engine.

The kernel (:mod:`bayes_sklearn.inference._kernel`) knows a fixed set of
likelihood families and prior kinds; :mod:`bayes_sklearn.inference.packing`
lays them out through its kind tables. :func:`kernel_gap` reads those very
tables, so the coverage check and the kernel cannot drift apart: a prior the
kernel learns is covered as soon as packing has a code for it.
"""

from __future__ import annotations

from bayes_sklearn.inference.packing import _FAMILY_CODES, _LOCATION_KINDS, _SCALE_KINDS
from bayes_sklearn.model.spec import ModelSpec, check_group_term


def _covered(prior, table: dict) -> bool:
    return type(prior) in table


def kernel_gap(spec: ModelSpec) -> str | None:
    """None if the kernel evaluates ``spec``, else what it does not cover.

    Parameters
    ----------
    spec : ModelSpec
        The resolved model.

    Returns
    -------
    str or None
        A short reason naming the parameter and its prior (or the family).

    Examples
    --------
    >>> import dataclasses
    >>> import numpy as np
    >>> from bayes_sklearn.model.spec import resolve_model_spec
    >>> from bayes_sklearn.priors import Constant, Uniform
    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0)
    >>> spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y,
    ...                           n_outputs=1)
    >>> kernel_gap(spec) is None
    True
    >>> kernel_gap(dataclasses.replace(spec, noise_prior=Constant(0.1))) is None  # known noise
    True
    >>> kernel_gap(dataclasses.replace(spec, noise_prior=Uniform(0.0, 100.0)))
    'the noise scale sigma has the prior Uniform(lower=0.0, upper=100.0)'
    """
    if spec.family not in _FAMILY_CODES:
        return f"the family {spec.family!r}"
    # the kernel packs an intercept prior in every model (Constant(0.0) without one)
    if not _covered(spec.intercept_prior, _LOCATION_KINDS):
        return f"the intercept has the prior {spec.intercept_prior!r}"
    for name, prior in zip(spec.coef_names, spec.coef_priors, strict=True):
        if not _covered(prior, _LOCATION_KINDS):
            return f"the coefficient {name!r} has the prior {prior!r}"
    if spec.family == "gaussian" and not _covered(spec.noise_prior, _SCALE_KINDS):
        return f"the noise scale sigma has the prior {spec.noise_prior!r}"
    if spec.group_terms:
        if spec.family not in ("gaussian", "bernoulli"):
            return f"group terms in a {spec.family} model"
        for term in map(check_group_term, spec.group_terms):
            for name, prior in zip(term.effect_names, term.sd_priors, strict=True):
                if not _covered(prior, _SCALE_KINDS):
                    return f"the sd of the group effect {name!r} has the prior {prior!r}"
    return None
