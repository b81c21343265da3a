"""Prior distributions as small frozen values.

A prior here is plain data: a family name and its parameters. It knows how to
draw from itself and evaluate its log density with numpy/scipy (for prior
predictive checks and exact inference); only :mod:`bayes_sklearn.model.pymc_model`
turns it into a PyMC distribution. Because priors are frozen dataclasses they
compare by value, pickle, and survive :func:`sklearn.base.clone`.

Coefficient priors are location-scale families (:class:`Normal`,
:class:`StudentT`, :class:`Laplace`), so that rescaling a feature rescales
its prior exactly. The noise scale of the linear model takes a positive prior
(:class:`Exponential`, :class:`HalfNormal`, :class:`HalfStudentT`).

Each family is one small class: its fields, the scipy distribution it is, and
which fields scipy takes as shape parameters. :class:`_LocationScale` and
:class:`_PositiveScale` implement ``scaled``, ``rvs`` and ``logpdf`` from
those, and :class:`_Prior` checks the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Self, Union

import numpy as np
from scipy import stats

from bayes_sklearn._pymc_priors import PYMC_DISTRIBUTIONS, PyMCPrior, pymc_object_parameters

__all__ = [
    "Normal",
    "StudentT",
    "Laplace",
    "Exponential",
    "HalfNormal",
    "HalfStudentT",
    "Constant",
    "Uniform",
    "HalfCauchy",
    "Flat",
    "HalfFlat",
    "PyMCPrior",
    "PYMC_DISTRIBUTIONS",
    "as_prior",
    "CoefficientPrior",
    "ScalePrior",
    "as_coefficient_prior",
]


def _check_positive(name: str, value: float) -> None:
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}.")


def _check_finite(name: str, value: float) -> None:
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")


class _Folded:
    """A symmetric scipy distribution folded onto ``x >= 0`` (twice the density there).

    Stands in for the scipy distribution scipy does not have (the half-t):
    it offers the two methods the priors call, with scipy's signatures.
    """

    def __init__(self, distribution: Any) -> None:
        self.distribution = distribution

    def logpdf(self, x: np.ndarray, *shapes: float, scale: float) -> np.ndarray:
        log_density = np.log(2.0) + self.distribution.logpdf(x, *shapes, 0.0, scale)
        return np.where(np.asarray(x) >= 0, log_density, -np.inf)[()]

    def rvs(
        self, *shapes: float, scale: float, size: int | tuple[int, ...],
        random_state: np.random.Generator,
    ) -> np.ndarray:
        return np.abs(
            self.distribution.rvs(*shapes, scale=scale, size=size, random_state=random_state)
        )


class _Prior:
    """What every prior shares: field checks and the scipy distribution it is.

    A family (a frozen dataclass deriving from :class:`_LocationScale` or
    :class:`_PositiveScale`) declares its fields, ``_distribution`` (a
    ``scipy.stats`` distribution, or anything with its ``rvs`` and ``logpdf``),
    ``_shapes`` (the fields scipy takes as shape parameters, in scipy's order)
    and ``_scale_field`` (the field that is scipy's ``scale``). Fields named in
    ``_finite`` must be finite; every other field must be finite and positive.
    """

    _distribution: ClassVar[Any]
    _shapes: ClassVar[tuple[str, ...]] = ()
    _scale_field: ClassVar[str] = "sigma"
    _finite: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for field in fields(self):  # type: ignore[arg-type]
            check = _check_finite if field.name in self._finite else _check_positive
            check(f"{type(self).__name__} {field.name}", getattr(self, field.name))

    @property
    def pymc_distribution(self) -> str:
        """Name of the PyMC distribution class this prior is (``getattr(pm, name)``).

        Examples
        --------
        >>> from bayes_sklearn.priors import Exponential, StudentT
        >>> StudentT(nu=3).pymc_distribution, Exponential(2.0).pymc_distribution
        ('StudentT', 'Exponential')
        """
        return type(self).__name__

    def pymc_parameters(self) -> dict[str, float]:
        """Keyword arguments of :attr:`pymc_distribution` that give this prior.

        Returns
        -------
        dict of str to float
            The fields, by the names PyMC gives them.

        Examples
        --------
        >>> from bayes_sklearn.priors import Exponential, Laplace
        >>> Laplace(1.0, 0.5).pymc_parameters()
        {'mu': 1.0, 'b': 0.5}
        >>> Exponential(2.0).pymc_parameters()  # pm.Exponential(scale=2.0): mean 2
        {'scale': 2.0}
        """
        return {field.name: float(getattr(self, field.name)) for field in fields(self)}  # type: ignore[arg-type]

    def _shape_values(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in self._shapes)

    def _loc_scale(self) -> dict[str, float]:
        """The ``loc`` (location-scale families) and ``scale`` keywords of scipy."""
        raise NotImplementedError

    def rvs(self, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Random draws from the prior.

        Parameters
        ----------
        size : int or tuple of int
            Shape of the output.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        ndarray of shape ``size``
            Independent draws (all positive for the scale priors).

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.priors import Exponential, HalfNormal, Normal, StudentT
        >>> draws = Normal(3.0, 0.5).rvs(1000, np.random.default_rng(0))
        >>> draws.shape, bool(abs(draws.mean() - 3.0) < 0.1)
        ((1000,), True)
        >>> StudentT(nu=3).rvs((2, 3), np.random.default_rng(0)).shape
        (2, 3)
        >>> draws = HalfNormal(1.0).rvs((2, 3), np.random.default_rng(0))
        >>> draws.shape, bool(np.all(draws >= 0))
        ((2, 3), True)
        >>> bool(np.all(Exponential(2.0).rvs(1000, np.random.default_rng(0)) > 0))
        True
        """
        return self._distribution.rvs(
            *self._shape_values(), **self._loc_scale(), size=size, random_state=rng
        )

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the prior at ``x``.

        Parameters
        ----------
        x : float or ndarray
            Points to evaluate (the support of the scale priors is ``x >= 0``).

        Returns
        -------
        float or ndarray
            Log density, of the shape of ``x``.

        Examples
        --------
        >>> from bayes_sklearn.priors import (
        ...     Exponential, HalfNormal, HalfStudentT, Laplace, Normal, StudentT)
        >>> round(float(Normal(0.0, 1.0).logpdf(0.0)), 4)  # -log(sqrt(2 pi))
        -0.9189
        >>> round(float(StudentT(nu=1).logpdf(0.0)), 4)  # Cauchy: -log(pi)
        -1.1447
        >>> round(float(Laplace(b=1.0).logpdf(0.0)), 4)  # -log(2)
        -0.6931
        >>> round(float(Exponential(2.0).logpdf(0.0)), 4)  # -log(2)
        -0.6931
        >>> float(Exponential(2.0).logpdf(-1.0))
        -inf
        >>> round(float(HalfNormal(1.0).logpdf(0.0)), 4)  # log(sqrt(2 / pi))
        -0.2258
        >>> round(float(HalfStudentT(nu=1).logpdf(0.0)), 4)  # half-Cauchy: log(2 / pi)
        -0.4516
        """
        return self._distribution.logpdf(x, *self._shape_values(), **self._loc_scale())


class _LocationScale(_Prior):
    """A location-scale prior: location field ``mu``, scale field ``_scale_field``.

    ``mu`` may be any finite number; the other fields must be positive.
    """

    _finite = ("mu",)
    mu: float

    @property
    def loc(self) -> float:
        """The location ``mu``."""
        return self.mu

    @property
    def scale(self) -> float:
        """The scale parameter (``sigma``, or ``b`` for :class:`Laplace`)."""
        return getattr(self, self._scale_field)

    def _loc_scale(self) -> dict[str, float]:
        return {"loc": self.mu, "scale": self.scale}

    def scaled(self, factor: float) -> Self:
        """The prior of ``factor * theta`` when ``theta`` has this prior.

        Parameters
        ----------
        factor : float
            The multiplier.

        Returns
        -------
        Normal, StudentT or Laplace
            The rescaled prior, of the same family.

        Examples
        --------
        >>> from bayes_sklearn.priors import Laplace, Normal, StudentT
        >>> Normal(1.0, 2.0).scaled(-3.0)
        Normal(mu=-3.0, sigma=6.0)
        >>> StudentT(nu=3, sigma=2.0).scaled(0.5)
        StudentT(nu=3, mu=0.0, sigma=1.0)
        >>> Laplace(1.0, 0.5).scaled(2.0)
        Laplace(mu=2.0, b=1.0)
        """
        return replace(
            self, mu=self.mu * factor, **{self._scale_field: self.scale * abs(factor)}
        )

    def shifted(self, offset: float) -> Self:
        """The prior of ``theta + offset`` when ``theta`` has this prior.

        Parameters
        ----------
        offset : float
            The shift.

        Returns
        -------
        Normal, StudentT or Laplace
            The shifted prior, of the same family.

        Examples
        --------
        >>> from bayes_sklearn.priors import Normal
        >>> Normal(1.0, 2.0).shifted(-3.0)
        Normal(mu=-2.0, sigma=2.0)
        """
        return replace(self, mu=self.mu + offset)


class _PositiveScale(_Prior):
    """A prior for a positive parameter whose scale is the field ``_scale_field``."""

    # Exponential's field ``scale`` shadows this property.
    @property
    def scale(self) -> float:
        """The scale parameter (``sigma``, or ``scale`` for :class:`Exponential`)."""
        return getattr(self, self._scale_field)

    def _loc_scale(self) -> dict[str, float]:
        return {"scale": self.scale}

    def scaled(self, factor: float) -> Self:
        """The prior of ``abs(factor) * theta`` when ``theta`` has this prior.

        Parameters
        ----------
        factor : float
            The multiplier.

        Returns
        -------
        Exponential, HalfNormal or HalfStudentT
            The rescaled prior, of the same family.

        Examples
        --------
        >>> from bayes_sklearn.priors import Exponential, HalfNormal, HalfStudentT
        >>> Exponential(2.0).scaled(-0.5)
        Exponential(scale=1.0)
        >>> HalfNormal(2.0).scaled(0.5)
        HalfNormal(sigma=1.0)
        >>> HalfStudentT(nu=1, sigma=1.0).scaled(3.0)
        HalfStudentT(nu=1, sigma=3.0)
        """
        return replace(self, **{self._scale_field: self.scale * abs(factor)})


@dataclass(frozen=True)
class Normal(_LocationScale):
    """Normal prior ``Normal(mu, sigma)`` for a coefficient or intercept.

    Parameters
    ----------
    mu : float, default=0.0
        Prior mean.
    sigma : float, default=1.0
        Prior standard deviation, on the scale of the coefficient.

    Examples
    --------
    >>> from bayes_sklearn.priors import Normal
    >>> Normal(0.0, 2.0).scaled(0.5)
    Normal(mu=0.0, sigma=1.0)
    """

    mu: float = 0.0
    sigma: float = 1.0

    _distribution = stats.norm


@dataclass(frozen=True)
class StudentT(_LocationScale):
    """Student-t prior ``StudentT(nu, mu, sigma)``; ``nu=1`` is the Cauchy.

    Parameters
    ----------
    nu : float, default=3.0
        Degrees of freedom; smaller means heavier tails.
    mu : float, default=0.0
        Location.
    sigma : float, default=1.0
        Scale.

    Examples
    --------
    >>> from bayes_sklearn.priors import StudentT
    >>> StudentT(nu=1, sigma=2.5)
    StudentT(nu=1, mu=0.0, sigma=2.5)
    """

    nu: float = 3.0
    mu: float = 0.0
    sigma: float = 1.0

    _distribution = stats.t
    _shapes = ("nu",)


@dataclass(frozen=True)
class Laplace(_LocationScale):
    """Laplace (double-exponential) prior ``Laplace(mu, b)``, the Bayesian lasso.

    Parameters
    ----------
    mu : float, default=0.0
        Location.
    b : float, default=1.0
        Scale; the standard deviation is ``sqrt(2) * b``.

    Examples
    --------
    >>> from bayes_sklearn.priors import Laplace
    >>> Laplace(b=0.5).scale
    0.5
    """

    mu: float = 0.0
    b: float = 1.0

    _distribution = stats.laplace
    _scale_field = "b"


@dataclass(frozen=True)
class Exponential(_PositiveScale):
    """Exponential prior with mean ``scale`` for a positive parameter.

    Parameters
    ----------
    scale : float, default=1.0
        Prior mean (``1 / rate``).

    Examples
    --------
    >>> from bayes_sklearn.priors import Exponential
    >>> Exponential(2.0).scaled(3.0)
    Exponential(scale=6.0)
    """

    scale: float = 1.0

    _distribution = stats.expon
    _scale_field = "scale"


@dataclass(frozen=True)
class HalfNormal(_PositiveScale):
    """Half-normal prior for a positive parameter.

    Parameters
    ----------
    sigma : float, default=1.0
        Scale of the underlying normal.

    Examples
    --------
    >>> from bayes_sklearn.priors import HalfNormal
    >>> HalfNormal(2.0)
    HalfNormal(sigma=2.0)
    """

    sigma: float = 1.0

    _distribution = stats.halfnorm


@dataclass(frozen=True)
class HalfStudentT(_PositiveScale):
    """Half-Student-t prior for a positive parameter (``nu=1``: half-Cauchy).

    Parameters
    ----------
    nu : float, default=3.0
        Degrees of freedom.
    sigma : float, default=1.0
        Scale.

    Examples
    --------
    >>> from bayes_sklearn.priors import HalfStudentT
    >>> HalfStudentT(nu=1, sigma=1.0)
    HalfStudentT(nu=1, sigma=1.0)
    """

    nu: float = 3.0
    sigma: float = 1.0

    _distribution = _Folded(stats.t)
    _shapes = ("nu",)


@dataclass(frozen=True)
class Constant:
    """A fixed value in place of a prior, Bambi's convention for a number.

    The parameter is not sampled: ``priors={"x": 0.3}`` fixes that
    coefficient (an offset, as brms's ``constant()``), ``priors={"intercept": 2.0}``
    the intercept, and ``prior_noise=0.1`` the noise sd (known noise).

    Parameters
    ----------
    value : float
        The fixed value (positive, for a scale parameter).

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn.priors import Constant
    >>> Constant(0.3).scaled(-2.0)
    Constant(value=-0.6)
    >>> Constant(0.3).rvs(3, np.random.default_rng(0))
    array([0.3, 0.3, 0.3])
    """

    value: float

    def __post_init__(self) -> None:
        _check_finite("Constant value", self.value)
        object.__setattr__(self, "value", float(self.value))

    @property
    def loc(self) -> float:
        """The fixed value."""
        return self.value

    def scaled(self, factor: float) -> Constant:
        """The fixed value of ``factor * theta``.

        Parameters
        ----------
        factor : float
            The multiplier (its absolute value for a scale parameter is the
            caller's choice).

        Returns
        -------
        Constant
        """
        return Constant(self.value * factor)

    def shifted(self, offset: float) -> Constant:
        """The fixed value of ``theta + offset``.

        Parameters
        ----------
        offset : float
            The shift.

        Returns
        -------
        Constant
        """
        return Constant(self.value + offset)

    def rvs(self, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """The value, repeated: a constant's draws (``rng`` is not used).

        Parameters
        ----------
        size : int or tuple of int
            Shape of the output.
        rng : numpy.random.Generator
            Unused; accepted for the priors' common signature.

        Returns
        -------
        ndarray of shape ``size``
        """
        return np.full(size, self.value)


@dataclass(frozen=True)
class Uniform(_Prior):
    """Uniform prior on ``[lower, upper]``, for a coefficient or (``lower >= 0``) a scale.

    Parameters
    ----------
    lower : float, default=0.0
        Lower end.
    upper : float, default=1.0
        Upper end, above ``lower``.

    Examples
    --------
    >>> from bayes_sklearn.priors import Uniform
    >>> Uniform(0.0, 100.0).scaled(-0.5)
    Uniform(lower=-50.0, upper=-0.0)
    >>> Uniform(-1.0, 1.0).shifted(2.0)
    Uniform(lower=1.0, upper=3.0)
    >>> round(float(Uniform(0.0, 100.0).logpdf(3.0)), 4)  # -log(100)
    -4.6052
    """

    lower: float = 0.0
    upper: float = 1.0

    _distribution = stats.uniform
    _finite = ("lower", "upper")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.lower < self.upper:
            raise ValueError(
                f"Uniform needs lower < upper, got lower={self.lower!r}, upper={self.upper!r}."
            )

    def _loc_scale(self) -> dict[str, float]:
        return {"loc": self.lower, "scale": self.upper - self.lower}

    def scaled(self, factor: float) -> Uniform:
        """The prior of ``factor * theta`` (ends swap for a negative factor).

        Parameters
        ----------
        factor : float
            The multiplier, not 0.

        Returns
        -------
        Uniform
        """
        if factor == 0:
            raise ValueError("A Uniform prior cannot be scaled by 0.")
        ends = sorted((self.lower * factor, self.upper * factor))
        return Uniform(*ends)

    def shifted(self, offset: float) -> Uniform:
        """The prior of ``theta + offset``.

        Parameters
        ----------
        offset : float
            The shift.

        Returns
        -------
        Uniform
        """
        return Uniform(self.lower + offset, self.upper + offset)


@dataclass(frozen=True)
class HalfCauchy(_PositiveScale):
    """Half-Cauchy prior with scale ``beta`` for a positive parameter (Gelman, 2006).

    The same density as ``HalfStudentT(nu=1, sigma=beta)``.

    Parameters
    ----------
    beta : float, default=1.0
        Scale.

    Examples
    --------
    >>> from bayes_sklearn.priors import HalfCauchy
    >>> HalfCauchy(2.5).scaled(2.0)
    HalfCauchy(beta=5.0)
    >>> round(float(HalfCauchy(1.0).logpdf(0.0)), 4)  # log(2 / pi)
    -0.4516
    """

    beta: float = 1.0

    _distribution = stats.halfcauchy
    _scale_field = "beta"


class _Improper(_Prior):
    """A flat (improper) prior: log density 0 on its support, and no draws."""

    def rvs(self, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Not available: an improper prior has no draws.

        Raises
        ------
        ValueError
            Always; prior predictive checks need proper priors.
        """
        raise ValueError(
            f"{type(self).__name__}() is an improper prior and has no draws; prior "
            "predictive checks need proper priors."
        )

    def scaled(self, factor: float) -> Self:
        """The same flat prior: a flat density stays flat when rescaled.

        Parameters
        ----------
        factor : float
            The multiplier (positive for :class:`HalfFlat`).

        Returns
        -------
        Flat or HalfFlat
        """
        return self


@dataclass(frozen=True)
class Flat(_Improper):
    """Improper flat prior on the real line, for a coefficient or the intercept.

    For textbook models with flat priors. The posterior is proper only when
    the data identify the parameter; prior predictive checks need proper
    priors.

    Examples
    --------
    >>> from bayes_sklearn.priors import Flat
    >>> float(Flat().logpdf(1e6)), Flat().shifted(3.0)
    (0.0, Flat())
    """

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density: 0 everywhere (unnormalised, as PyMC's ``Flat``).

        Parameters
        ----------
        x : float or ndarray

        Returns
        -------
        float or ndarray
        """
        return np.zeros_like(np.asarray(x, dtype=float))[()]

    def shifted(self, offset: float) -> Flat:
        """The same flat prior.

        Parameters
        ----------
        offset : float

        Returns
        -------
        Flat
        """
        return self


@dataclass(frozen=True)
class HalfFlat(_Improper):
    """Improper flat prior on ``x >= 0``, for a positive parameter.

    Examples
    --------
    >>> from bayes_sklearn.priors import HalfFlat
    >>> float(HalfFlat().logpdf(2.0)), float(HalfFlat().logpdf(-2.0))
    (0.0, -inf)
    """

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density: 0 on ``x >= 0``, ``-inf`` below (as PyMC's ``HalfFlat``).

        Parameters
        ----------
        x : float or ndarray

        Returns
        -------
        float or ndarray
        """
        x = np.asarray(x, dtype=float)
        return np.where(x >= 0, 0.0, -np.inf)[()]


CoefficientPrior = Union[Normal, StudentT, Laplace]
ScalePrior = Union[Exponential, HalfNormal, HalfStudentT]
COEFFICIENT_PRIOR_TYPES = (Normal, StudentT, Laplace)
SCALE_PRIOR_TYPES = (Exponential, HalfNormal, HalfStudentT)


def as_coefficient_prior(value: object, *, what: str) -> CoefficientPrior:
    """Accept a prior object or a ``(mu, sigma)`` pair meaning ``Normal(mu, sigma)``.

    Pairs are accepted so that grids in ``GridSearchCV`` can be written without
    importing this module.

    Parameters
    ----------
    value : Normal, StudentT, Laplace, or tuple or list of two floats
        The prior, or ``(mu, sigma)`` of a normal prior.
    what : str
        What the prior is for (e.g. a feature name), for the error message.

    Returns
    -------
    Normal, StudentT or Laplace
        ``value`` itself when it is a prior, else ``Normal(mu, sigma)``.

    Raises
    ------
    ValueError
        If ``value`` is neither a coefficient prior nor a pair.

    Examples
    --------
    >>> from bayes_sklearn.priors import Laplace, as_coefficient_prior
    >>> as_coefficient_prior((0, 2.5), what="x1")
    Normal(mu=0.0, sigma=2.5)
    >>> as_coefficient_prior(Laplace(b=0.1), what="x1")
    Laplace(mu=0.0, b=0.1)
    >>> as_coefficient_prior(2.5, what="x1")
    Traceback (most recent call last):
        ...
    ValueError: The prior for x1 must be Normal, StudentT, Laplace or a (mu, sigma) pair, got 2.5.
    """
    if isinstance(value, COEFFICIENT_PRIOR_TYPES):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        mu, sigma = (float(v) for v in value)
        return Normal(mu, sigma)
    raise ValueError(
        f"The prior for {what} must be Normal, StudentT, Laplace or a (mu, sigma) "
        f"pair, got {value!r}."
    )


#: Our priors a coefficient (or the intercept) may take, and a scale parameter.
_COEFFICIENT_CLASSES = (Normal, StudentT, Laplace, Uniform, Flat)
_SCALE_CLASSES = (Exponential, HalfNormal, HalfStudentT, HalfCauchy, HalfFlat)
_ROLES = ("coefficient", "scale")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )


def _ours(name: str, params: dict[str, float]) -> Any:
    """Our prior class for a PyMC distribution of the same density, else PyMCPrior."""
    classes = {cls.__name__: cls for cls in _COEFFICIENT_CLASSES + _SCALE_CLASSES}
    if name == "Cauchy":  # the Student-t with one degree of freedom
        return StudentT(nu=1.0, mu=params["alpha"], sigma=params["beta"])
    if name in classes:
        return classes[name](**params)
    return PyMCPrior(name, tuple(params.items()))


def _is_positive(prior: object) -> bool:
    if isinstance(prior, Uniform):
        return prior.lower >= 0
    if isinstance(prior, PyMCPrior):
        return prior.is_positive
    if isinstance(prior, Constant):
        return prior.value > 0
    return isinstance(prior, _SCALE_CLASSES)


def as_prior(value: object, *, role: str, what: str) -> Any:
    """Turn any accepted way of writing a prior into a prior object.

    Parameters
    ----------
    value : prior, number, (mu, sigma) pair, PyMC distribution or pymc-extras Prior
        * a prior of this module: itself (a scale needs one on ``x >= 0``);
        * a real number: :class:`Constant`, a fixed value (positive for a scale);
        * ``(mu, sigma)``: ``Normal(mu, sigma)`` (coefficients only);
        * ``pm.X.dist(...)`` with numeric scalar parameters, or pymc-extras
          ``Prior("X", ...)``: this module's class of the same density when
          there is one (Normal, StudentT, Laplace, Cauchy as StudentT with
          ``nu=1``, Exponential, HalfNormal, HalfStudentT, HalfCauchy,
          Uniform, Flat, HalfFlat), else :class:`PyMCPrior`; the name must
          be in :data:`PYMC_DISTRIBUTIONS`.
    role : {"coefficient", "scale"}
        A coefficient (or intercept) may take any prior; a scale (the noise
        sd) only one on positive numbers.
    what : str
        What the prior is for, for error messages.

    Returns
    -------
    prior
        A frozen prior value of this module.

    Raises
    ------
    ValueError
        If ``value`` is none of these, does not fit ``role``, or is a PyMC
        object with symbolic, random or non-scalar parameters or of a
        distribution outside the allow-list.

    Examples
    --------
    >>> import pymc as pm
    >>> from bayes_sklearn.priors import as_prior
    >>> as_prior(pm.Normal.dist(0, 10), role="coefficient", what="x1")
    Normal(mu=0.0, sigma=10.0)
    >>> as_prior(pm.Exponential.dist(lam=2.0), role="scale", what="the noise sd")
    Exponential(scale=0.5)
    >>> as_prior(pm.Gamma.dist(2, 1), role="scale", what="the noise sd")
    PyMCPrior(distribution='Gamma', parameters=(('alpha', 2.0), ('beta', 1.0)))
    >>> as_prior(0.3, role="coefficient", what="x1"), as_prior((0, 2.5), role="coefficient", what="x1")
    (Constant(value=0.3), Normal(mu=0.0, sigma=2.5))
    >>> as_prior(pm.Normal.dist(0, 1), role="scale", what="the noise sd")
    Traceback (most recent call last):
        ...
    ValueError: The prior for the noise sd must be on positive numbers (Exponential, HalfNormal, HalfStudentT, HalfCauchy, HalfFlat, Uniform with lower >= 0, a positive PyMC distribution, or a positive number), got Normal(mu=0.0, sigma=1.0).
    """
    if role not in _ROLES:
        raise ValueError(f"role must be one of {_ROLES}, got {role!r}.")
    prior = _as_any_prior(value, role=role, what=what)
    if role == "scale" and not _is_positive(prior):
        raise ValueError(
            f"The prior for {what} must be on positive numbers (Exponential, HalfNormal, "
            "HalfStudentT, HalfCauchy, HalfFlat, Uniform with lower >= 0, a positive "
            f"PyMC distribution, or a positive number), got {prior!r}."
        )
    return prior


def _as_any_prior(value: object, *, role: str, what: str) -> Any:
    if isinstance(value, _COEFFICIENT_CLASSES + _SCALE_CLASSES + (Constant, PyMCPrior)):
        return value
    if _is_number(value):
        return Constant(float(value))
    if role == "coefficient" and isinstance(value, (tuple, list)) and len(value) == 2:
        return as_coefficient_prior(value, what=what)
    found = pymc_object_parameters(value, what=what)
    if found is not None:
        return _ours(*found)
    pair = " a (mu, sigma) pair," if role == "coefficient" else ""
    raise ValueError(
        f"The prior for {what} must be a prior of bayes_sklearn.priors, a number (a "
        f"fixed value),{pair} a PyMC distribution (pm.Normal.dist(0, 10)) or a "
        f"pymc-extras Prior; got {value!r}."
    )
