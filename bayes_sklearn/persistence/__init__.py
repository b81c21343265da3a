"""Saving fitted estimators to a file that loading cannot execute.

One NetCDF-4 file per estimator: the posterior draws and sampler statistics
as NetCDF groups (readable by xarray, ArviZ or any HDF5 tool), and the
parameters and fitted design as JSON in the file's attributes, decoded only
to a fixed set of types (see ``_codec``). Formulas are checked against a list
of allowed transforms before formulaic sees them (see ``_formula``).

Unlike pickle or joblib, loading a file from someone else cannot run their
code. Data rows are not stored unless asked for.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from contextlib import ExitStack
from numbers import Integral
from pathlib import Path
from typing import Any

from bayes_sklearn._idata import MODEL_GROUPS
from bayes_sklearn.model.spec import ModelSpec
from bayes_sklearn.persistence._codec import decode, encode
from bayes_sklearn.persistence._formula import (
    check_formula_is_safe,
    formula_design_from_state,
    formula_design_state,
    multilevel_design_from_state,
    multilevel_design_state,
)
from bayes_sklearn.persistence._registry import is_registered, registered_class, stored_name
from bayes_sklearn.persistence._validate import (
    check_declared_size,
    check_fitted,
    check_other_groups,
    check_posterior,
)

__all__ = ["FORMAT_VERSION", "check_formula_is_safe", "load", "save"]

FORMAT_NAME = "bayes_sklearn.estimator"
#: Bumped whenever a stored field changes meaning; files of another version are refused.
#: 2: the model description has no ``groups`` field (group= is a group term).
FORMAT_VERSION = 2
_ENGINE = "h5netcdf"


def save(estimator, path: str | os.PathLike, *, include_data: bool = False) -> Path:
    """Write a fitted estimator to ``path`` (NetCDF-4 with JSON metadata).

    Parameters
    ----------
    estimator : fitted bayes_sklearn estimator
        One of the estimators of :mod:`bayes_sklearn.estimators`, or a
        subclass of one; a subclass is loaded by a process that has defined
        it (by importing its module) before calling :func:`load`.
    path : str or path-like
        Destination; an existing file is replaced only once the new one is
        complete.
    include_data : bool, default=False
        Also store the groups of ``estimator.idata_`` that hold data rows:
        ``observed_data`` and ``log_likelihood`` (added by
        ``compute_log_likelihood(X, y)``, needed by ``arviz.loo``),
        ``posterior_predictive``, and any group added with ``add_groups``.
        Without them the file holds no data; a fit alone stores none, so
        call ``compute_log_likelihood`` first.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> from bayes_sklearn.persistence import load, save
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
    >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save(model, Path(tmp) / "model.nc")
    ...     print(path.name, path.stat().st_size > 0)
    ...     loaded = load(path)
    model.nc True
    >>> bool(np.array_equal(loaded.predict(X), model.predict(X)))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if not is_registered(type(estimator)):
        raise TypeError(f"save() stores bayes_sklearn estimators, not {type(estimator).__name__}.")
    name = stored_name(type(estimator))
    state = json.dumps({
        "params": _encode_params(estimator),
        "fitted": _encode_fitted(estimator),
    })
    groups = {"posterior": estimator.posterior_}
    for group, dataset in estimator._idata_datasets().items():
        if group in MODEL_GROUPS or include_data:
            groups[group] = dataset
    if include_data and set(groups) <= set(MODEL_GROUPS):
        warnings.warn(
            "include_data=True, but idata_ holds no data groups: call "
            "compute_log_likelihood(X, y) (and sample_posterior_predictive(X, "
            "extend_inferencedata=True)) before saving to store them.",
            UserWarning, stacklevel=3,
        )
    return _write_atomically(Path(path), name, state, groups)


def load(path: str | os.PathLike, expected_class: type | None = None):
    """Read an estimator written by :func:`save`.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save` (or an estimator's ``save`` method).
    expected_class : type, optional
        Refuse the file unless it holds an estimator of exactly this class.

    Returns
    -------
    estimator
        Fitted, predicting exactly as the saved one did.

    Raises
    ------
    TypeError
        If ``expected_class`` is given and the file holds another class.
    ValueError
        If the file is not a bayes_sklearn file, has another format version,
        names an estimator class this process has not defined (a subclass
        is found only once its module is imported; ``load`` never imports
        one), or holds a formula with a transform not on the allowed list.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> from bayes_sklearn.persistence import load, save
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
    >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save(model, Path(tmp) / "model.nc")
    ...     loaded = load(path, expected_class=BayesianLinearRegression)
    >>> type(loaded).__name__
    'BayesianLinearRegression'
    >>> bool(np.array_equal(loaded.predict(X), model.predict(X)))
    True
    >>> bool(np.array_equal(loaded.coef_, model.coef_))
    True
    """
    import xarray as xr

    from bayes_sklearn import __version__

    path = Path(path)
    with xr.open_dataset(path, engine=_ENGINE) as root:
        attrs = dict(root.attrs)
    if attrs.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not a bayes_sklearn estimator file.")
    version = int(attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} uses file format version {version}, written by bayes_sklearn "
            f"{attrs.get('library_version')}; this bayes_sklearn "
            f"({__version__}) reads version {FORMAT_VERSION}. Load it with the "
            "version that wrote it and refit, or save it again."
        )
    # only classes this process has defined: nothing is imported by a name in the file
    cls = registered_class(attrs.get("estimator"))
    if cls is None:
        raise ValueError(f"{path} holds an unknown estimator {attrs.get('estimator')!r}.")
    if expected_class is not None and cls is not expected_class:
        raise TypeError(
            f"{path} holds a {cls.__name__}, not a {expected_class.__name__}; "
            f"use {cls.__name__}.load or bayes_sklearn.load."
        )
    state = json.loads(attrs["state"])
    estimator = cls(**decode(state["params"]))
    fitted = {key: _decode_fitted(key, value) for key, value in state["fitted"].items()}
    spec = fitted.get("model_spec_")
    if not isinstance(spec, ModelSpec) or "design_" not in fitted:
        raise ValueError(f"{path} has no model description or design.")
    groups = _read_groups(path, attrs["groups"].split(","))
    if "posterior" not in groups:
        raise ValueError(f"{path} has no posterior group.")
    check_posterior(groups["posterior"], spec, fitted["design_"])
    check_fitted(fitted, spec)
    check_other_groups(groups["posterior"], groups)
    estimator.__dict__.update(fitted)
    estimator.posterior_ = groups.pop("posterior")
    estimator._idata_groups = groups
    estimator._sample_stats = None  # in groups already, as the file stores them
    estimator._idata = None
    return estimator


def _read_groups(path: Path, names: list[str]) -> dict:
    """The file's groups, read only once their declared sizes fit the file."""
    import xarray as xr

    with ExitStack() as stack:
        lazy = {name: stack.enter_context(xr.open_dataset(path, group=name, engine=_ENGINE))
                for name in names}
        check_declared_size(lazy, path.stat().st_size)
        return {name: dataset.load() for name, dataset in lazy.items()}


def _encode_params(estimator) -> dict[str, Any]:
    params = estimator.get_params(deep=False)
    random_state = params.get("random_state")
    if random_state is not None and not isinstance(random_state, Integral):
        warnings.warn(
            f"random_state={random_state!r} is not an integer and is stored as None; "
            "pass an integer seed to store it.", UserWarning, stacklevel=3,
        )
        params["random_state"] = None
    params.update(_priors_as_data(params))
    try:
        return encode(params)
    except TypeError as error:
        raise ValueError(f"Cannot save the parameters of {type(estimator).__name__}: {error}.") from error


def _priors_as_data(params: dict[str, Any]) -> dict[str, Any]:
    """``priors`` and ``prior_noise`` with PyMC objects as the prior values they mean.

    ``pm.Normal.dist(0, 10)`` is stored as ``Normal(0, 10)``, ``pm.Gamma.dist(2, 1)``
    as a ``PyMCPrior``: a distribution name on the allow-list and numbers.
    """
    from bayes_sklearn.priors import as_prior

    def as_data(value: Any, role: str, what: str) -> Any:
        if isinstance(value, (tuple, list, dict, type(None), int, float)):
            return value
        return as_prior(value, role=role, what=what)

    out = {}
    if "priors" in params:
        priors = params["priors"]
        if isinstance(priors, dict):
            out["priors"] = {key: as_data(value, "coefficient", repr(key))
                             for key, value in priors.items()}
        else:
            out["priors"] = as_data(priors, "coefficient", "every coefficient")
    if "prior_noise" in params:
        out["prior_noise"] = as_data(params["prior_noise"], "scale", "prior_noise")
    return out


def _encode_fitted(estimator) -> dict[str, Any]:
    from bayes_sklearn.design.formula import FormulaDesign
    from bayes_sklearn.design.multilevel import MultilevelDesign

    out = {}
    for key, value in vars(estimator).items():
        if not key.endswith("_") or key.startswith("_") or key == "posterior_":
            continue
        try:
            if isinstance(value, FormulaDesign):
                out[key] = {"__formula_design__": formula_design_state(value, encode)}
            elif isinstance(value, MultilevelDesign):
                out[key] = {"__multilevel_design__": multilevel_design_state(value, encode)}
            else:
                out[key] = encode(value)
        except TypeError as error:
            raise ValueError(f"Cannot save fitted attribute {key}: {error}.") from error
    return out


def _decode_fitted(key: str, value: Any) -> Any:
    if isinstance(value, dict) and "__formula_design__" in value:
        return formula_design_from_state(value["__formula_design__"], decode)
    if isinstance(value, dict) and "__multilevel_design__" in value:
        return multilevel_design_from_state(value["__multilevel_design__"], decode)
    return decode(value)


def _write_atomically(path: Path, estimator_name: str, state: str, groups: dict) -> Path:
    """Write to a temporary file beside ``path`` and move it into place when complete."""
    import xarray as xr

    from bayes_sklearn import __version__

    root = xr.Dataset(attrs={
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "estimator": estimator_name,
        "groups": ",".join(groups),
        "state": state,
    })
    directory = path.resolve().parent
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        root.to_netcdf(temporary, mode="w", engine=_ENGINE)
        for group, dataset in groups.items():
            dataset.to_netcdf(temporary, mode="a", group=group, engine=_ENGINE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
