"""JSON encoding of fitted state that decodes only to a fixed set of types.

Values are JSON scalars, lists, and tagged objects: ``{"__ndarray__": ...}``,
``{"__tuple__": ...}``, ``{"__dict__": [[key, value], ...]}`` (any scalar
keys), numpy scalars, the UNSET sentinel of formulaic, and
``{"__dataclass__": name, "fields": {...}}`` for the dataclasses named in
:func:`_dataclasses` only. Decoding calls those classes' constructors (which
validate their fields) and nothing else: no import by name, no pickle.
"""

from __future__ import annotations

import dataclasses
import enum
from functools import cache
from typing import Any

import numpy as np

JSON_SCALARS = (type(None), bool, int, float, str)
#: Largest item a stored dtype may have: labels of up to 1024 characters.
MAX_ITEMSIZE = 4096


@cache
def _dataclasses() -> dict[str, type]:
    from formulaic.transforms import contrasts

    from bayes_sklearn import priors
    from bayes_sklearn.chunked.statistics import GaussianStatistics
    from bayes_sklearn.design.arrays import ArrayDesign
    from bayes_sklearn.design.standardize import Standardizer
    from bayes_sklearn.diagnostics import ConvergenceDiagnostics
    from bayes_sklearn.design.group_terms import BarTerm
    from bayes_sklearn.model.spec import GroupTerm, ModelSpec

    classes = [
        priors.Normal, priors.StudentT, priors.Laplace,
        priors.Exponential, priors.HalfNormal, priors.HalfStudentT, priors.Constant,
        ArrayDesign, Standardizer, ModelSpec, ConvergenceDiagnostics,
        GroupTerm, BarTerm, GaussianStatistics,
        contrasts.ContrastsState, contrasts.TreatmentContrasts, contrasts.SumContrasts,
        contrasts.HelmertContrasts, contrasts.PolyContrasts, contrasts.DiffContrasts,
        contrasts.CustomContrasts,
        # PyMCPrior checks its distribution name against PYMC_DISTRIBUTIONS
        priors.Uniform, priors.HalfCauchy, priors.Flat, priors.HalfFlat, priors.PyMCPrior,
    ]
    return {cls.__name__: cls for cls in classes}


@cache
def _enums() -> dict[str, type[enum.Enum]]:
    from formulaic.parser.types.factor import Factor

    return {"FactorKind": Factor.Kind}


def _unset():
    from formulaic.utils.sentinels import UNSET

    return UNSET


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data; ``TypeError`` for anything outside the whitelist."""
    if isinstance(value, np.generic):
        return {"__numpy__": value.item(), "dtype": value.dtype.str}
    if isinstance(value, JSON_SCALARS):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufUO":
            raise TypeError(f"cannot store an array of dtype {value.dtype}")
        items = value.tolist()
        if value.dtype.kind == "O":
            _check_plain(items)
        return {"__ndarray__": items, "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, enum.Enum):
        for name, kind in _enums().items():
            if isinstance(value, kind):
                return {"__enum__": name, "value": value.value}
    if value is _unset():
        return {"__unset__": True}
    name = type(value).__name__
    if dataclasses.is_dataclass(value) and _dataclasses().get(name) is type(value):
        fields = {f.name: encode(getattr(value, f.name))
                  for f in dataclasses.fields(value) if f.init}
        return {"__dataclass__": name, "fields": fields}
    raise TypeError(f"cannot store a value of type {type(value).__module__}.{name}")


def decode(data: Any) -> Any:
    """Inverse of :func:`encode`; ``ValueError`` for anything it did not write."""
    if isinstance(data, JSON_SCALARS):
        return data
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise ValueError(f"unexpected value {data!r}")
    if "__numpy__" in data:
        return np.array(data["__numpy__"], dtype=_dtype(data["dtype"]))[()]
    if "__ndarray__" in data:
        dtype = _dtype(data["dtype"])
        items = data["__ndarray__"]
        if dtype.kind == "O":
            _check_plain(items)
        array = np.array(items, dtype=dtype)
        shape = data["shape"]
        if not (isinstance(shape, list) and all(isinstance(n, int) for n in shape)) or (
            int(np.prod(shape)) != array.size
        ):
            raise ValueError(f"stored array of {array.size} values declares shape {shape!r}")
        return array.reshape(shape)
    if "__tuple__" in data:
        return tuple(decode(item) for item in data["__tuple__"])
    if "__dict__" in data:
        return {_hashable(decode(k)): decode(v) for k, v in data["__dict__"]}
    if "__enum__" in data:
        return _enums()[data["__enum__"]](data["value"])
    if "__unset__" in data:
        return _unset()
    if "__dataclass__" in data:
        cls = _dataclasses().get(data["__dataclass__"])
        if cls is None:
            raise ValueError(f"unknown stored type {data['__dataclass__']!r}")
        return cls(**{key: decode(value) for key, value in data["fields"].items()})
    raise ValueError(f"unexpected value {data!r}")


def _dtype(name: Any) -> np.dtype:
    """A stored dtype of a kind :func:`encode` writes, of bounded item size.

    ``<U1000000000`` would make one string take 4 GB.
    """
    try:
        dtype = np.dtype(name)
    except TypeError as error:
        raise ValueError(f"unexpected array dtype {name!r}") from error
    if dtype.kind not in "biufUO" or dtype.itemsize > MAX_ITEMSIZE:
        raise ValueError(f"unexpected array dtype {dtype}")
    return dtype


def _check_plain(items: Any) -> None:
    """Object arrays may hold only JSON scalars (labels such as strings)."""
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, list):
            _check_plain(item)
        elif not isinstance(item, JSON_SCALARS):
            raise TypeError(f"cannot store a label of type {type(item).__name__}")


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key
