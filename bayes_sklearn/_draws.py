"""Between the samplers' standardised draws, ``idata_`` and :class:`Posterior`.

Backends return draws of the standardised model; users see them on the
original scale in ``idata_`` with named coordinates; prediction reads them
back from ``idata_`` as flat views. ``idata_`` is the single stored copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bayes_sklearn.inference.result import SamplerResult, TermDraws
from bayes_sklearn.model.spec import GroupTerm, ModelSpec
from bayes_sklearn.posterior import Posterior, TermEffects


def posterior_dataset(
    spec: ModelSpec, result: SamplerResult, output_names: Sequence[Any] | None
):
    """Original-scale draws as an ``xarray.Dataset`` with named coordinates.

    ``output_names`` names the non-reference classes of a categorical model
    (None for single-output models, whose output axis is dropped).
    """
    import xarray as xr

    standardizer = spec.standardizer
    intercept, coef = standardizer.coef_to_original(result.intercept_z, result.coef_z)
    chains, draws = intercept.shape[:2]
    coords: dict[str, Any] = {
        "chain": np.arange(chains),
        "draw": np.arange(draws),
        "feature": list(spec.coef_names),
    }
    if output_names is None:
        variables = {
            "intercept": (("chain", "draw"), intercept[..., 0]),
            "coef": (("chain", "draw", "feature"), coef[..., 0]),
        }
    else:
        coords["class"] = list(output_names)
        variables = {
            "intercept": (("chain", "draw", "class"), intercept),
            "coef": (("chain", "draw", "feature", "class"), coef),
        }
    if result.sigma is not None:
        variables["sigma"] = (("chain", "draw"), result.sigma)
    for term, draws_of in zip(spec.group_terms, result.group_terms):
        _add_term_variables(term, draws_of, coords, variables, output_names is not None)
    used = {dim for dims, _ in variables.values() for dim in dims}
    return xr.Dataset(variables, coords={k: v for k, v in coords.items() if k in used})


def term_dims(label: str) -> tuple[str, str, str]:
    """The dims of a group term's variables: its levels (Bambi's name), effects, and
    the correlation matrix's second axis."""
    return f"{label}__factor_dim", f"{label}__effect", f"{label}__effect2"


def _add_term_variables(term: GroupTerm, draws: TermDraws, coords: dict, variables: dict,
                        multiclass: bool) -> None:
    """Bambi's names: ``"1|g"`` and ``"x|g"`` per level, ``"1|g_sigma"``, and ``"g_corr"``;
    a multiclass model's have a ``class`` axis last (its correlations: after the draw)."""
    level, effect, effect2 = term_dims(term.label)
    coords[level] = list(term.levels)
    by_class = ("class",) if multiclass else ()
    for e, name in enumerate(term.effect_names):
        variables[name] = (("chain", "draw", level, *by_class), draws.effects[:, :, :, e])
        variables[f"{name}_sigma"] = (("chain", "draw", *by_class), draws.sd[:, :, e])
    if draws.corr is not None:
        coords[effect] = list(term.effect_names)
        coords[effect2] = list(term.effect_names)
        variables[f"{term.label}_corr"] = (("chain", "draw", *by_class, effect, effect2),
                                           draws.corr)


def _term_effects(post, term: GroupTerm, flat, n_outputs: int) -> TermEffects:
    o = n_outputs
    effects = np.stack([flat(name, term.n_levels, o) for name in term.effect_names], axis=2)
    sd = np.stack([flat(f"{name}_sigma", o) for name in term.effect_names], axis=1)
    corr = None
    if term.is_correlated:
        corr = flat(f"{term.label}_corr", o, term.n_effects, term.n_effects)
    return TermEffects(effects, sd, corr)


def posterior_from_dataset(post, spec: ModelSpec) -> Posterior:
    """Flat views (no copy) of the draws in a posterior ``xarray.Dataset``."""
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    n_draws = chains * draws

    def flat(name: str, *trailing: int) -> np.ndarray:
        return np.asarray(post[name].values).reshape((n_draws,) + trailing)

    return Posterior(
        family=spec.family,
        intercept=flat("intercept", -1),
        coef=flat("coef", spec.n_coef, spec.n_outputs),
        sigma=flat("sigma") if "sigma" in post else None,
        terms=tuple(_term_effects(post, term, flat, spec.n_outputs)
                    for term in spec.group_terms),
    )
