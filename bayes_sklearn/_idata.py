"""The groups of a fit's ArviZ ``InferenceData``, kept as xarray datasets.

A fitted estimator stores its posterior and sampler statistics only: their
size grows with draws x parameters, never with training rows. Groups with one
value per row (``log_likelihood``, ``observed_data``, ``posterior_predictive``)
are computed on request and added to ``idata_``. Estimators keep the groups
as datasets and build ``idata_`` on first access, so neither fitting nor
unpickling a fitted estimator imports ArviZ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayes_sklearn._draws import Draws

#: Groups that describe the fit itself; every other group holds per-row data.
MODEL_GROUPS = ("posterior", "sample_stats")


def sample_stats_groups(draws: Draws, sample_stats: dict[str, np.ndarray] | None) -> dict:
    """``{"sample_stats": Dataset}`` of NUTS statistics (empty for other methods)."""
    import xarray as xr

    if sample_stats is None:
        return {}
    coords = {"chain": draws.coords["chain"], "draw": draws.coords["draw"]}
    return {"sample_stats": xr.Dataset(
        {name: (("chain", "draw"), values) for name, values in sample_stats.items()},
        coords=coords,
    )}


def pointwise_dataset(draws: Draws, values: np.ndarray):
    """A ``(chain, draw, obs)`` dataset with variable ``y`` (log likelihood, predictions)."""
    import xarray as xr

    coords = {"chain": draws.coords["chain"], "draw": draws.coords["draw"],
              "obs": np.arange(values.shape[2])}
    return xr.Dataset({"y": (("chain", "draw", "obs"), values)}, coords=coords)


def observed_dataset(y: np.ndarray):
    """ArviZ's ``observed_data`` group: the targets as given, variable ``y`` over ``obs``."""
    import xarray as xr

    return xr.Dataset({"y": (("obs",), y)}, coords={"obs": np.arange(len(y))})


def build_inference_data(posterior: Any, groups: dict[str, Any]):
    """``arviz.InferenceData`` of the posterior and the other groups."""
    import arviz as az

    return az.InferenceData(posterior=posterior, **groups)


def groups_of(idata) -> dict[str, Any]:
    """Every group of ``idata`` but the posterior, as datasets (what pickles and files store)."""
    return {name: idata[name] for name in idata.groups() if name != "posterior"}


def set_group(idata, name: str, dataset: Any) -> None:
    """Add group ``name`` to ``idata`` in place, replacing one of that name."""
    if name in idata.groups():
        delattr(idata, name)
    idata[name] = dataset
