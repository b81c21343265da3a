"""PyMC distributions as data: the allow-list, :class:`PyMCPrior`, and reading
``pm.X.dist(...)`` and pymc-extras ``Prior`` objects into numbers.

This is the one module that looks inside PyMC's graphs. It imports PyMC only
when a PyMC object is in hand (or a :class:`PyMCPrior` is drawn from or
evaluated), so importing :mod:`bayes_sklearn.priors` does not import PyMC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

__all__ = ["PYMC_DISTRIBUTIONS", "PyMCPrior", "pymc_object_parameters"]

# name: (support, parameters in PyMC's keyword names, those that must be positive)
_TABLE: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "Normal": ("real", ("mu", "sigma"), ("sigma",)),
    "StudentT": ("real", ("nu", "mu", "sigma"), ("nu", "sigma")),
    "Laplace": ("real", ("mu", "b"), ("b",)),
    "Cauchy": ("real", ("alpha", "beta"), ("beta",)),
    "Logistic": ("real", ("mu", "s"), ("s",)),
    "Gumbel": ("real", ("mu", "beta"), ("beta",)),
    "Flat": ("real", (), ()),
    "Exponential": ("positive", ("scale",), ("scale",)),
    "HalfNormal": ("positive", ("sigma",), ("sigma",)),
    "HalfStudentT": ("positive", ("nu", "sigma"), ("nu", "sigma")),
    "HalfCauchy": ("positive", ("beta",), ("beta",)),
    "Gamma": ("positive", ("alpha", "beta"), ("alpha", "beta")),
    "InverseGamma": ("positive", ("alpha", "beta"), ("alpha", "beta")),
    "LogNormal": ("positive", ("mu", "sigma"), ("sigma",)),
    "Weibull": ("positive", ("alpha", "beta"), ("alpha", "beta")),
    "HalfFlat": ("positive", (), ()),
    "Uniform": ("bounded", ("lower", "upper"), ()),
    "Beta": ("bounded", ("alpha", "beta"), ("alpha", "beta")),
}

#: The PyMC distributions accepted as priors, by support: ``"real"`` (the real
#: line), ``"positive"`` (``x >= 0``) and ``"bounded"`` (an interval; a noise
#: scale may take one whose lower end is at least 0).
PYMC_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    support: tuple(name for name, row in _TABLE.items() if row[0] == support)
    for support in ("real", "positive", "bounded")
}

# PyTensor/PyMC random-variable op -> (PyMC name, the op's parameters in order).
# "scale" of Gamma is 1 / beta; "loc" of HalfNormal must be 0.
_FROM_OP: dict[str, tuple[str, tuple[str, ...]]] = {
    "NormalRV": ("Normal", ("mu", "sigma")),
    "StudentTRV": ("StudentT", ("nu", "mu", "sigma")),
    "LaplaceRV": ("Laplace", ("mu", "b")),
    "CauchyRV": ("Cauchy", ("alpha", "beta")),
    "LogisticRV": ("Logistic", ("mu", "s")),
    "GumbelRV": ("Gumbel", ("mu", "beta")),
    "FlatRV": ("Flat", ()),
    "HalfFlatRV": ("HalfFlat", ()),
    "ExponentialRV": ("Exponential", ("scale",)),
    "HalfNormalRV": ("HalfNormal", ("loc", "sigma")),
    "HalfStudentTRV": ("HalfStudentT", ("nu", "sigma")),
    "HalfCauchyRV": ("HalfCauchy", ("beta",)),
    "GammaRV": ("Gamma", ("alpha", "scale")),
    "InvGammaRV": ("InverseGamma", ("alpha", "beta")),
    "LogNormalRV": ("LogNormal", ("mu", "sigma")),
    "WeibullBetaRV": ("Weibull", ("alpha", "beta")),
    "UniformRV": ("Uniform", ("lower", "upper")),
    "BetaRV": ("Beta", ("alpha", "beta")),
}


def _allowed_names() -> str:
    return ", ".join(_TABLE)


@dataclass(frozen=True)
class PyMCPrior:
    """A PyMC distribution with numeric parameters, as plain data.

    What a PyMC distribution (``pm.Gamma.dist(2, 1)``) or a pymc-extras
    ``Prior`` becomes when it is not one of this package's priors. It runs
    on the PyMC engine, on the parameter's original scale.

    Parameters
    ----------
    distribution : str
        Name of the PyMC class, one of :data:`PYMC_DISTRIBUTIONS`.
    parameters : tuple of (str, float) pairs
        Its keyword arguments, exactly the names this package stores for that
        distribution (``Gamma``: ``alpha``, ``beta``; ``Exponential``:
        ``scale``; ...). A dict is accepted and stored as pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn.priors import PyMCPrior
    >>> prior = PyMCPrior("Gamma", (("alpha", 2.0), ("beta", 1.0)))
    >>> prior.pymc_distribution, prior.pymc_parameters()
    ('Gamma', {'alpha': 2.0, 'beta': 1.0})
    >>> round(float(prior.logpdf(1.0)), 6)  # log(x e^-x) at x = 1
    -1.0
    >>> PyMCPrior("Wishart", ())
    Traceback (most recent call last):
        ...
    ValueError: PyMCPrior: distribution 'Wishart' is not accepted; the accepted PyMC distributions are Normal, StudentT, Laplace, Cauchy, Logistic, Gumbel, Flat, Exponential, HalfNormal, HalfStudentT, HalfCauchy, Gamma, InverseGamma, LogNormal, Weibull, HalfFlat, Uniform, Beta.
    """

    distribution: str
    parameters: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        row = _TABLE.get(self.distribution) if isinstance(self.distribution, str) else None
        if row is None:
            raise ValueError(
                f"PyMCPrior: distribution {self.distribution!r} is not accepted; the "
                f"accepted PyMC distributions are {_allowed_names()}."
            )
        _, names, positive = row
        given = self.parameters
        pairs = list(given.items()) if isinstance(given, Mapping) else list(given)
        try:
            values = {str(name): value for name, value in pairs}
        except (TypeError, ValueError):
            raise ValueError(
                f"PyMCPrior parameters must be (name, number) pairs, got {given!r}."
            ) from None
        if len(values) != len(pairs) or set(values) != set(names):
            raise ValueError(
                f"PyMCPrior {self.distribution} takes the parameters {list(names)}, "
                f"got {[name for name, _ in pairs]}."
            )
        checked = []
        for name in names:
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
                raise ValueError(
                    f"PyMCPrior {self.distribution} {name} must be a finite number, "
                    f"got {value!r}."
                )
            if name in positive and value <= 0:
                raise ValueError(
                    f"PyMCPrior {self.distribution} {name} must be positive, got {value!r}."
                )
            checked.append((name, float(value)))
        if self.distribution == "Uniform" and not checked[0][1] < checked[1][1]:
            raise ValueError(f"PyMCPrior Uniform needs lower < upper, got {given!r}.")
        object.__setattr__(self, "parameters", tuple(checked))

    @property
    def pymc_distribution(self) -> str:
        """Name of the PyMC distribution class (``getattr(pm, name)``)."""
        return self.distribution

    def pymc_parameters(self) -> dict[str, float]:
        """Keyword arguments of :attr:`pymc_distribution` that give this prior.

        Returns
        -------
        dict of str to float
        """
        return dict(self.parameters)

    @property
    def support(self) -> str:
        """``"real"``, ``"positive"`` or ``"bounded"``, as in :data:`PYMC_DISTRIBUTIONS`."""
        return _TABLE[self.distribution][0]

    @property
    def is_positive(self) -> bool:
        """Whether every value the prior allows is ``>= 0`` (so it may be a scale prior)."""
        if self.support == "bounded":
            return self.distribution == "Beta" or self.parameters[0][1] >= 0
        return self.support == "positive"

    def _dist(self, size: int | tuple[int, ...] | None = None) -> Any:
        import pymc as pm

        # float64 values: PyTensor would make a Python 2.5 a float32 constant
        params = {name: np.float64(value) for name, value in self.parameters}
        return getattr(pm, self.distribution).dist(**params, size=size)

    def rvs(self, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Random draws, through ``pm.draw`` seeded from ``rng``.

        Parameters
        ----------
        size : int or tuple of int
            Shape of the output.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        ndarray of shape ``size``

        Raises
        ------
        ValueError
            For ``Flat`` and ``HalfFlat``: an improper prior has no draws.
        """
        if self.distribution in ("Flat", "HalfFlat"):
            raise ValueError(
                f"{self.distribution} is an improper prior and has no draws; prior "
                "predictive checks need proper priors."
            )
        import pymc as pm

        seed = int(rng.integers(2**32))
        return np.asarray(pm.draw(self._dist(size), random_seed=seed), dtype=float)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at ``x``, through ``pm.logp``.

        Parameters
        ----------
        x : float or ndarray
            Points to evaluate.

        Returns
        -------
        float or ndarray
            Log density, of the shape of ``x``.
        """
        import pymc as pm

        x = np.asarray(x, dtype=float)
        return np.asarray(pm.logp(self._dist(), x).eval(), dtype=float)[()]

    def scaled(self, factor: float) -> PyMCPrior:
        """Not available: such priors run on the PyMC engine on the original scale.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(
            f"PyMCPrior({self.distribution!r}) cannot be rescaled: such priors run on "
            "the PyMC engine, on the parameter's original scale."
        )


def _is_pymc_distribution(value: object) -> bool:
    return type(value).__module__.split(".")[0] == "pytensor" and hasattr(value, "owner")


def _is_extras_prior(value: object) -> bool:
    return (
        type(value).__module__.split(".")[0] == "pymc_extras"
        and isinstance(getattr(value, "distribution", None), str)
        and isinstance(getattr(value, "parameters", None), Mapping)
    )


def pymc_object_parameters(value: object, *, what: str) -> tuple[str, dict[str, float]] | None:
    """``(name, parameters)`` of a PyMC distribution or pymc-extras ``Prior``.

    Parameters
    ----------
    value : object
        ``pm.X.dist(...)``, a pymc-extras ``Prior``, or anything else.
    what : str
        What the prior is for, for error messages.

    Returns
    -------
    tuple of (str, dict of str to float), or None
        The distribution's name and parameters as in :class:`PyMCPrior`
        (checked by it); None when ``value`` is neither kind of object.

    Raises
    ------
    ValueError
        For a distribution not in :data:`PYMC_DISTRIBUTIONS`, or parameters
        that are symbolic, random, non-scalar or other priors (hierarchical).
    """
    if _is_extras_prior(value):
        value = _extras_to_dist(value, what=what)
    elif not _is_pymc_distribution(value):
        return None
    node = value.owner
    op_name = type(node.op).__name__ if node is not None else None
    if op_name not in _FROM_OP or not type(node.op).__module__.startswith(("pytensor", "pymc")):
        raise ValueError(
            f"The prior for {what} is a PyMC object ({value!r}) that is not a plain "
            f"distribution from pm.X.dist(...) of an accepted kind: {_allowed_names()}."
        )
    name, op_params = _FROM_OP[op_name]
    if value.type.ndim != 0:
        raise ValueError(
            f"The prior for {what}, pm.{name}.dist(...), has shape "
            f"{value.type.shape}; give one scalar distribution (no size, shape or "
            "array parameters): it applies to each coefficient on its own."
        )
    params = {}
    dist_params = node.op.dist_params(node)
    if name == "HalfCauchy" and len(dist_params) == 2:
        op_params = ("loc", "beta")  # PyMC < 5.2x: a loc parameter, always 0
    for param, variable in zip(op_params, dist_params, strict=True):
        params[param] = _number(variable, name=name, param=param, what=what)
    if name == "HalfCauchy" and params.pop("loc", 0.0) != 0.0:
        raise ValueError(f"The prior for {what}: HalfCauchy must have loc 0.")
    if name == "HalfNormal":
        if params.pop("loc") != 0.0:
            raise ValueError(f"The prior for {what}: HalfNormal must have loc 0.")
    if name == "Gamma":
        scale = params.pop("scale")
        reciprocal = _reciprocal_input(node.op.dist_params(node)[1])
        params["beta"] = (
            _number(reciprocal, name=name, param="beta", what=what)
            if reciprocal is not None else 1.0 / scale
        )
    if name == "Exponential":
        reciprocal = _reciprocal_input(node.op.dist_params(node)[0])
        if reciprocal is not None:  # pm.Exponential.dist(lam): 1 / lam in float64
            params["scale"] = 1.0 / _number(reciprocal, name=name, param="lam", what=what)
    return name, params


def _extras_to_dist(prior: Any, *, what: str) -> Any:
    """A pymc-extras ``Prior`` as the PyMC distribution it describes."""
    name = prior.distribution
    if name not in _TABLE:
        raise ValueError(
            f"The prior for {what}, Prior({name!r}), is not an accepted distribution; "
            f"the accepted PyMC distributions are {_allowed_names()}."
        )
    if getattr(prior, "dims", None) or getattr(prior, "transform", None):
        raise ValueError(
            f"The prior for {what}, {prior!r}, has dims or a transform; give it without "
            "them: it applies to each coefficient on its own."
        )
    kwargs = {}
    for param, value in prior.parameters.items():
        if not isinstance(value, (Real, np.ndarray)) or isinstance(value, bool):
            raise ValueError(
                f"The prior for {what}, {prior!r}: parameter {param} is "
                f"{type(value).__name__}, not a number. Hierarchical priors (priors "
                "as parameters) are not accepted."
            )
        if np.ndim(value) != 0:
            raise ValueError(
                f"The prior for {what}, {prior!r}: parameter {param} must be a scalar."
            )
        kwargs[param] = np.float64(value)  # not float32, as PyTensor makes 2.5
    import pymc as pm

    try:
        return getattr(pm, name).dist(**kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The prior for {what}, {prior!r}, is not valid: {error}") from None


def _reciprocal_input(variable: Any) -> Any:
    """``x`` when ``variable`` is ``1 / x`` (PyMC's rate to scale), else None."""
    from pytensor.scalar import Reciprocal
    from pytensor.tensor.elemwise import Elemwise

    node = variable.owner
    if node is not None and isinstance(node.op, Elemwise) and isinstance(
        node.op.scalar_op, Reciprocal
    ):
        return node.inputs[0]
    return None


def _number(variable: Any, *, name: str, param: str, what: str) -> float:
    """The value of a parameter graph made of constants only."""
    from pytensor.graph.basic import Constant

    try:
        from pytensor.graph.traversal import graph_inputs
    except ImportError:  # PyTensor < 2.31 has it in graph.basic
        from pytensor.graph.basic import graph_inputs

    symbolic = [v for v in graph_inputs([variable]) if not isinstance(v, Constant)]
    if symbolic:
        raise ValueError(
            f"The prior for {what}: parameter {param} of pm.{name}.dist(...) is not a "
            f"number (it depends on {type(symbolic[0]).__name__} {symbolic[0]!r}). Only "
            "numeric parameters are accepted: no pm.Data, shared variables or other "
            "random variables (hierarchical priors)."
        )
    value = np.asarray(
        variable.data if isinstance(variable, Constant) else variable.eval(), dtype=float
    )
    if value.ndim != 0:
        raise ValueError(
            f"The prior for {what}: parameter {param} of pm.{name}.dist(...) must be a "
            f"scalar, got shape {value.shape}."
        )
    return float(value)
