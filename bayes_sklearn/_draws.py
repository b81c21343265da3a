"""Between the samplers' standardised draws, ``posterior_`` and :class:`Posterior`.

Backends return draws of the standardised model; a fit stores them on the
original scale as :class:`Draws`: NumPy arrays with xarray's dims and
coordinates, but no xarray. Users see them as ``posterior_`` (and in
``idata_``), an ``xarray.Dataset`` wrapped around the same arrays on first
access; prediction reads them as flat views. The arrays are the single
stored copy.

Fitting never builds a Dataset because the first one in a process costs
0.6-0.9 s where dask is installed (xarray imports ``dask.array`` to recognise
its arrays): more than a whole fit of a small model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayes_sklearn.inference.result import SamplerResult, TermDraws
from bayes_sklearn.model.spec import GroupTerm, ModelSpec
from bayes_sklearn.posterior import Posterior, TermEffects


@dataclass(frozen=True, eq=False)
class Draws:
    """Posterior draws as an ``xarray.Dataset`` would hold them, in NumPy arrays.

    Attributes
    ----------
    variables : dict of str to (tuple of str, ndarray)
        Each variable's dims (``"chain"``, ``"draw"`` first) and values.
    coords : dict of str to array-like
        The coordinates of the dims that have them.
    """

    variables: Mapping[str, tuple[tuple[str, ...], np.ndarray]]
    coords: Mapping[str, Any]

    @property
    def n_chains(self) -> int:
        return self._first.shape[0]

    @property
    def n_draws(self) -> int:
        """Draws per chain."""
        return self._first.shape[1]

    @property
    def _first(self) -> np.ndarray:
        return next(iter(self.variables.values()))[1]

    def __contains__(self, name: str) -> bool:
        return name in self.variables

    def values(self, name: str) -> np.ndarray:
        """The array of variable ``name``."""
        return self.variables[name][1]

    def to_dataset(self):
        """An ``xarray.Dataset`` around the same arrays (no copy)."""
        import xarray as xr

        return xr.Dataset(dict(self.variables), coords=dict(self.coords))

    @classmethod
    def from_dataset(cls, dataset) -> Draws:
        """The draws of a posterior ``xarray.Dataset`` (a loaded file's), without copying."""
        variables = {str(name): (tuple(str(d) for d in var.dims), np.asarray(var.values))
                     for name, var in dataset.data_vars.items()}
        coords = {"chain": np.arange(dataset.sizes["chain"]),
                  "draw": np.arange(dataset.sizes["draw"])}
        coords.update((str(name), np.asarray(coord.values))
                      for name, coord in dataset.coords.items())
        return cls(variables, coords)


def posterior_draws(
    spec: ModelSpec, result: SamplerResult, output_names: Sequence[Any] | None
) -> Draws:
    """Original-scale draws with named coordinates, as ``posterior_`` shows them.

    ``output_names`` names the non-reference classes of a categorical model
    (None for single-output models, whose output axis is dropped).
    """
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
    return Draws(variables, {k: v for k, v in coords.items() if k in used})


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


def _term_effects(term: GroupTerm, flat, n_outputs: int) -> TermEffects:
    o = n_outputs
    effects = np.stack([flat(name, term.n_levels, o) for name in term.effect_names], axis=2)
    sd = np.stack([flat(f"{name}_sigma", o) for name in term.effect_names], axis=1)
    corr = None
    if term.is_correlated:
        corr = flat(f"{term.label}_corr", o, term.n_effects, term.n_effects)
    return TermEffects(effects, sd, corr)


def posterior_from_draws(post: Draws, spec: ModelSpec) -> Posterior:
    """Flat views (no copy) of the draws."""
    n_draws = post.n_chains * post.n_draws

    def flat(name: str, *trailing: int) -> np.ndarray:
        return post.values(name).reshape((n_draws,) + trailing)

    return Posterior(
        family=spec.family,
        intercept=flat("intercept", -1),
        coef=flat("coef", spec.n_coef, spec.n_outputs),
        sigma=flat("sigma") if "sigma" in post else None,
        terms=tuple(_term_effects(term, flat, spec.n_outputs)
                    for term in spec.group_terms),
    )
