"""Checks that a loaded file's arrays fit together before anything uses them.

A file from someone else can declare any sizes: a dataset of 10**12 values
that takes a few bytes on disk, a model description with 3 coefficients
beside draws of 5, 10 group labels beside effects of 2 groups. Such a file
must be refused at ``load`` with a ``ValueError`` naming what disagrees, not
exhaust memory or fail (or silently broadcast) inside ``predict``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: A file's datasets may declare at most this many times its size in bytes
#: (``save`` writes them uncompressed, so a genuine file declares about 1x).
MAX_EXPANSION = 10
#: Slack for tiny files, whose metadata outweighs their data.
MIN_ALLOWED_BYTES = 16 * 2**20


def check_declared_size(datasets: dict[str, Any], file_size: int) -> None:
    """Refuse lazily opened datasets whose declared size the file cannot hold."""
    declared = sum(
        int(var.size) * var.dtype.itemsize
        for dataset in datasets.values()
        for var in dataset.variables.values()
    )
    limit = max(MAX_EXPANSION * file_size, MIN_ALLOWED_BYTES)
    if declared > limit:
        raise ValueError(
            f"The file declares {declared} bytes of arrays but is {file_size} bytes long "
            f"(at most {limit} allowed); it is damaged or crafted."
        )


def _refuse(what: str) -> None:
    raise ValueError(f"Inconsistent estimator file: {what}.")


def _check_dims(post, name: str, dims: tuple[str, ...], sizes: dict[str, int]) -> None:
    if name not in post:
        _refuse(f"the posterior has no variable {name!r}")
    var = post[name]
    if var.dims != dims:
        _refuse(f"posterior variable {name!r} has dims {var.dims}, expected {dims}")
    for dim, size in sizes.items():
        if post.sizes[dim] != size:
            _refuse(f"posterior dim {dim!r} has {post.sizes[dim]} entries, the model "
                    f"description says {size}")
    if var.dtype != np.float64:
        _refuse(f"posterior variable {name!r} is {var.dtype}, not float64")
    if not np.isfinite(var.values).all():
        _refuse(f"posterior variable {name!r} holds NaN or infinite draws")


def check_posterior(post, spec, design) -> None:
    """The draws match the model description and the fitted design."""
    if post.sizes.get("chain", 0) < 1 or post.sizes.get("draw", 0) < 1:
        _refuse(f"the posterior needs chain and draw dims, got {dict(post.sizes)}")
    n_coef = spec.n_coef
    if len(design.column_names) != n_coef:
        _refuse(f"the design has {len(design.column_names)} columns but the model "
                f"description {n_coef} coefficients")
    for name, values in (("center", spec.standardizer.center),
                         ("scale", spec.standardizer.scale)):
        if np.shape(values) != (n_coef,):
            _refuse(f"the standardizer's {name} has shape {np.shape(values)}, "
                    f"expected ({n_coef},)")
    if len(spec.coef_priors) != n_coef:
        _refuse(f"{len(spec.coef_priors)} coefficient priors for {n_coef} coefficients")
    cd = ("chain", "draw")
    if spec.n_outputs == 1:
        _check_dims(post, "intercept", cd, {})
        _check_dims(post, "coef", (*cd, "feature"), {"feature": n_coef})
    else:
        _check_dims(post, "intercept", (*cd, "class"), {"class": spec.n_outputs})
        _check_dims(post, "coef", (*cd, "feature", "class"),
                    {"feature": n_coef, "class": spec.n_outputs})
    if (spec.noise_prior is None) == ("sigma" in post):
        _refuse("the noise scale sigma is stored for a family without one, or missing")
    if "sigma" in post:
        _check_dims(post, "sigma", cd, {})
    _check_group_terms(post, spec.group_terms, spec.n_outputs)


def _check_group_terms(post, terms, n_outputs: int) -> None:
    """Each term's effects over its levels (and classes), and their sds."""
    cd = ("chain", "draw")
    classes = () if n_outputs == 1 else ("class",)
    for term in terms:
        if len(term.sd_priors) != term.n_effects:
            _refuse(f"group term {term.label!r} has {term.n_effects} effects and "
                    f"{len(term.sd_priors)} sd priors")
        level = f"{term.label}__factor_dim"
        for name in term.effect_names:
            _check_dims(post, name, (*cd, level, *classes), {level: term.n_levels})
            _check_dims(post, f"{name}_sigma", (*cd, *classes), {})


def check_fitted(fitted: dict[str, Any], spec) -> None:
    """Fitted attributes agree with the model description."""
    names = fitted.get("feature_names_in_")
    n_in = fitted.get("n_features_in_")
    if names is not None and (n_in is None or len(names) != n_in):
        _refuse(f"{len(names)} feature names for n_features_in_={n_in}")
    classes = fitted.get("classes_")
    if classes is not None:
        expected = 2 if spec.family == "bernoulli" else spec.n_outputs + 1
        if len(classes) != expected:
            _refuse(f"{len(classes)} classes for a {spec.family} model of "
                    f"{spec.n_outputs} outputs")
    groups = fitted.get("groups_")
    # group= fits the one group term (1 + varying_slopes | group)
    if groups is not None and (len(spec.group_terms) != 1
                               or len(groups) != spec.group_terms[0].n_levels):
        _refuse("the group labels groups_ do not match the model's group term")
    engine = fitted.get("engine_", "kernel")  # files from before engine_ have none
    if engine not in ("kernel", "pymc", "exact"):
        _refuse(f"unknown engine_ {engine!r}")
    coef = fitted.get("coef_")
    if coef is not None and np.shape(coef)[-1:] != (spec.n_coef,):
        _refuse(f"coef_ has shape {np.shape(coef)} for {spec.n_coef} coefficients")


def check_other_groups(post, groups: dict[str, Any]) -> None:
    """Sampler statistics and data groups share the posterior's chains and draws."""
    for name, dataset in groups.items():
        for dim in ("chain", "draw"):
            if dim in dataset.sizes and dataset.sizes[dim] != post.sizes[dim]:
                _refuse(f"group {name!r} has {dataset.sizes[dim]} entries on {dim!r}, "
                        f"the posterior {post.sizes[dim]}")
