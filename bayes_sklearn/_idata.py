"""The groups of a fit's ArviZ ``InferenceData``, kept as xarray datasets.

Estimators store these datasets and build ``idata_`` on access, so neither
fitting nor unpickling a fitted estimator imports ArviZ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Above this many (draw, row) log likelihood values, idata_ omits them.
MAX_LOG_LIKELIHOOD_VALUES = 25_000_000


def inference_data_groups(
    *,
    posterior: Any,
    sample_stats: dict[str, np.ndarray] | None,
    y_observed: np.ndarray,
    log_likelihood: np.ndarray | None,
) -> dict[str, Any]:
    """Observed data, log likelihood and sampler stats beside ``posterior``.

    ``posterior`` is an ``xarray.Dataset`` with leading ``chain`` and ``draw``
    dims; ``log_likelihood`` is ``(chain, draw, n_rows)`` or None.
    """
    import xarray as xr

    chain_draw = {"chain": posterior["chain"].values, "draw": posterior["draw"].values}
    obs_coords = {"obs": np.arange(len(y_observed))}
    groups: dict[str, Any] = {
        "observed_data": xr.Dataset({"y": (("obs",), y_observed)}, coords=obs_coords)
    }
    if log_likelihood is not None:
        groups["log_likelihood"] = xr.Dataset(
            {"y": (("chain", "draw", "obs"), log_likelihood)}, coords={**chain_draw, **obs_coords}
        )
    if sample_stats is not None:
        groups["sample_stats"] = xr.Dataset(
            {name: (("chain", "draw"), values) for name, values in sample_stats.items()},
            coords=chain_draw,
        )
    return groups


def build_inference_data(posterior: Any, groups: dict[str, Any]):
    """``arviz.InferenceData`` of the posterior and the other groups."""
    import arviz as az

    return az.InferenceData(posterior=posterior, **groups)
