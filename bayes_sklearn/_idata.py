"""Assemble the ArviZ InferenceData of a fit."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Above this many (draw, row) log likelihood values, idata_ omits them.
MAX_LOG_LIKELIHOOD_VALUES = 25_000_000


def build_inference_data(
    *,
    posterior: Any,
    sample_stats: Any,
    y_observed: np.ndarray,
    log_likelihood: np.ndarray | None,
):
    """``InferenceData`` with posterior, observed data, log likelihood and sampler stats.

    ``posterior`` is an ``xarray.Dataset`` with leading ``chain`` and ``draw``
    dims; ``log_likelihood`` is ``(chain, draw, n_rows)`` or None.
    """
    import arviz as az
    import xarray as xr

    groups: dict[str, Any] = {"posterior": posterior}
    obs_coords = {"obs": np.arange(len(y_observed))}
    groups["observed_data"] = xr.Dataset({"y": (("obs",), y_observed)}, coords=obs_coords)
    if log_likelihood is not None:
        groups["log_likelihood"] = xr.Dataset(
            {"y": (("chain", "draw", "obs"), log_likelihood)},
            coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values,
                    **obs_coords},
        )
    if sample_stats is not None:
        groups["sample_stats"] = sample_stats
    return az.InferenceData(**groups)
