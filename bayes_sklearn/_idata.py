"""Assemble the ArviZ InferenceData of a fit, on the user's scale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Above this many (draw, row) log likelihood values, idata_ omits them.
MAX_LOG_LIKELIHOOD_VALUES = 25_000_000


def build_inference_data(
    *,
    intercept: np.ndarray,
    coef: np.ndarray,
    sigma: np.ndarray | None,
    coef_names: Sequence[str],
    output_names: Sequence[Any] | None,
    sample_stats: Any,
    y_observed: np.ndarray,
    log_likelihood: np.ndarray | None,
):
    """Build ``InferenceData`` from draws shaped ``(chain, draw, ...)``.

    ``intercept`` is ``(chain, draw, n_outputs)`` and ``coef`` is
    ``(chain, draw, n_features, n_outputs)``; with ``output_names=None`` the
    output axis (of length 1) is dropped. ``log_likelihood`` is
    ``(chain, draw, n_rows)`` or None.
    """
    import arviz as az
    import xarray as xr

    chains, draws = intercept.shape[:2]
    coords: dict[str, Any] = {
        "chain": np.arange(chains),
        "draw": np.arange(draws),
        "feature": list(coef_names),
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
    if sigma is not None:
        variables["sigma"] = (("chain", "draw"), sigma)
    groups: dict[str, Any] = {"posterior": xr.Dataset(variables, coords=coords)}

    obs_coords = {"obs": np.arange(len(y_observed))}
    groups["observed_data"] = xr.Dataset({"y": (("obs",), y_observed)}, coords=obs_coords)
    if log_likelihood is not None:
        groups["log_likelihood"] = xr.Dataset(
            {"y": (("chain", "draw", "obs"), log_likelihood)},
            coords={"chain": coords["chain"], "draw": coords["draw"], **obs_coords},
        )
    if sample_stats is not None:
        groups["sample_stats"] = sample_stats
    return az.InferenceData(**groups)
