"""The kernel's parameters as the reference PyMC model's: the linear map of item 6.

The kernel samples ``theta`` on the standardised design; the reference model
(``model/pymc_model.py``) is the same model on the original scale. Between
them: ``intercept_c = intercept_z`` (the intercept at the standardiser's
centre), ``coef = coef_z / sd(x)``; the log noise scale and the group
terms' blocks (their designs are never standardised) are the same. The map
is affine and diagonal, so log densities differ by the constant log-Jacobian
:func:`jacobian` and gradients by the diagonal factors (:func:`gradient_map`).
"""

import numpy as np

from bayes_sklearn.model.pymc_model import _pieces, build_reference_model
from bayes_sklearn.model.spec import check_group_term


def reference_model(spec, X_z, y, sample_weight=None, group_designs=None):
    """The reference model of the kernel's inputs (standardised design ``X_z``)."""
    X = X_z * spec.standardizer.scale + spec.standardizer.center
    y_fit = y if spec.family == "gaussian" else np.asarray(y).astype(np.int64)
    return build_reference_model(spec, X, y_fit, sample_weight=sample_weight,
                                 group_designs=group_designs)


def reference_point(model, spec, theta):
    """The reference model's value variables at the kernel's ``theta``."""
    m, p = spec.n_outputs, spec.n_coef
    scale, center = spec.standardizer.scale, spec.standardizer.center
    values = {v.name for v in model.value_vars}
    coef = theta[m:m * (p + 1)].reshape(p, m) / scale[:, None]
    intercept = theta[:m] - center @ coef  # intercept at x = 0
    point = {}
    if "intercept_c" in values:
        point["intercept_c"] = theta[:m] if m > 1 else theta[0]
    elif "intercept" in values:
        point["intercept"] = intercept if m > 1 else intercept[0]
    for piece in _pieces("coef", spec.coef_priors):
        if piece.distribution is not None:
            rows = coef[list(piece.indices)]
            point[piece.name] = rows if m > 1 else rows[:, 0]
    index = m * (p + 1)
    if spec.family == "gaussian":
        if "sigma_log__" in values:  # else a fixed sigma: data, not a variable
            point["sigma_log__"] = theta[index]
        index += 1
    for term in map(check_group_term, spec.group_terms):
        # the same block on both sides: log sds, logits of u, offsets
        e, levels = term.n_effects, term.n_levels
        n_cpc = e * (e - 1) // 2 if term.is_correlated else 0
        log_sd = theta[index:index + e]
        for piece in _pieces(f"{term.label}_sigma", term.sd_priors):
            if piece.distribution is not None:
                point[f"{piece.name}_log__"] = log_sd[list(piece.indices)]
        if n_cpc:
            point[f"{term.label}_corr_cpc_logodds__"] = theta[index + e:index + e + n_cpc]
        offsets = theta[index + e + n_cpc:index + e + n_cpc + levels * e]
        point[f"{term.label}_offset"] = offsets.reshape(levels, e)
        index += e + n_cpc + levels * e
    assert set(point) == values, (set(point), values)
    return point


def jacobian(spec):
    """log |d(reference) / d(theta)|: the constant between the two log densities."""
    return spec.n_outputs * np.log(spec.standardizer.scale).sum()


def flat(model, point):
    """``point`` as one vector in ``model.value_vars`` order (``compile_dlogp``'s)."""
    return np.concatenate([np.ravel(point[v.name]) for v in model.value_vars])


def kernel_point(model, spec, packed, theta):
    """The reference model's value variables at the kernel's free parameters ``theta``.

    Fixed values are put in place (``packed.expand``), and an intercept the
    kernel samples at the design's centre (``packed.intercept_shift``: a
    free intercept whose prior is at x = 0) is moved back to the standardiser's.
    """
    full = packed.expand(theta)
    m, p = spec.n_outputs, spec.n_coef
    coef_z = full[m:m * (p + 1)].reshape(p, m)
    full[:m] = full[:m] - packed.intercept_shift @ coef_z
    return reference_point(model, spec, full)


def gradient_map(model, to_point, n_dim):
    """Matrix ``A`` with ``d/dtheta = A @ d/d(value vars)``; ``to_point`` is affine."""
    origin = flat(model, to_point(np.zeros(n_dim)))
    rows = [flat(model, to_point(np.eye(n_dim)[i])) - origin for i in range(n_dim)]
    return np.array(rows)
