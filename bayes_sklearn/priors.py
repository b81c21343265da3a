"""Prior distributions as small frozen values.

A prior here is plain data: a family name and its parameters. It knows how to
draw from itself and evaluate its log density with numpy/scipy (for prior
predictive checks and exact inference); only :mod:`bayes_sklearn.inference._pymc_model`
turns it into a PyMC distribution. Because priors are frozen dataclasses they
compare by value, pickle, and survive :func:`sklearn.base.clone`.

Coefficient priors are location-scale families (:class:`Normal`,
:class:`StudentT`, :class:`Laplace`), so that rescaling a feature rescales
its prior exactly. The noise scale of the linear model takes a positive prior
(:class:`Exponential`, :class:`HalfNormal`, :class:`HalfStudentT`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

import numpy as np
from scipy import stats

__all__ = [
    "Normal",
    "StudentT",
    "Laplace",
    "Exponential",
    "HalfNormal",
    "HalfStudentT",
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


@dataclass(frozen=True)
class Normal:
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

    def __post_init__(self) -> None:
        _check_finite("Normal mu", self.mu)
        _check_positive("Normal sigma", self.sigma)

    @property
    def loc(self) -> float:
        return self.mu

    @property
    def scale(self) -> float:
        return self.sigma

    def scaled(self, factor: float) -> Normal:
        """The prior of ``factor * theta`` when ``theta`` has this prior.

        Parameters
        ----------
        factor : float
            The multiplier.

        Returns
        -------
        Normal
            The rescaled prior.

        Examples
        --------
        >>> from bayes_sklearn.priors import Normal
        >>> Normal(1.0, 2.0).scaled(-3.0)
        Normal(mu=-3.0, sigma=6.0)
        """
        return replace(self, mu=self.mu * factor, sigma=self.sigma * abs(factor))

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
            Independent draws.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.priors import Normal
        >>> draws = Normal(3.0, 0.5).rvs(1000, np.random.default_rng(0))
        >>> draws.shape, bool(abs(draws.mean() - 3.0) < 0.1)
        ((1000,), True)
        """
        return rng.normal(self.mu, self.sigma, size=size)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the prior at ``x``.

        Parameters
        ----------
        x : float or ndarray
            Points to evaluate.

        Returns
        -------
        float or ndarray
            Log density, of the shape of ``x``.

        Examples
        --------
        >>> from bayes_sklearn.priors import Normal
        >>> round(float(Normal(0.0, 1.0).logpdf(0.0)), 4)  # -log(sqrt(2 pi))
        -0.9189
        """
        return stats.norm.logpdf(x, self.mu, self.sigma)


@dataclass(frozen=True)
class StudentT:
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

    def __post_init__(self) -> None:
        _check_positive("StudentT nu", self.nu)
        _check_finite("StudentT mu", self.mu)
        _check_positive("StudentT sigma", self.sigma)

    @property
    def loc(self) -> float:
        return self.mu

    @property
    def scale(self) -> float:
        return self.sigma

    def scaled(self, factor: float) -> StudentT:
        """The prior of ``factor * theta`` when ``theta`` has this prior.

        Parameters
        ----------
        factor : float
            The multiplier.

        Returns
        -------
        StudentT
            The rescaled prior.

        Examples
        --------
        >>> from bayes_sklearn.priors import StudentT
        >>> StudentT(nu=3, sigma=2.0).scaled(0.5)
        StudentT(nu=3, mu=0.0, sigma=1.0)
        """
        return replace(self, mu=self.mu * factor, sigma=self.sigma * abs(factor))

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
            Independent draws.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.priors import StudentT
        >>> StudentT(nu=3).rvs((2, 3), np.random.default_rng(0)).shape
        (2, 3)
        """
        return self.mu + self.sigma * rng.standard_t(self.nu, size=size)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the prior at ``x``.

        Parameters
        ----------
        x : float or ndarray
            Points to evaluate.

        Returns
        -------
        float or ndarray
            Log density, of the shape of ``x``.

        Examples
        --------
        >>> from bayes_sklearn.priors import StudentT
        >>> round(float(StudentT(nu=1).logpdf(0.0)), 4)  # Cauchy: -log(pi)
        -1.1447
        """
        return stats.t.logpdf(x, self.nu, self.mu, self.sigma)


@dataclass(frozen=True)
class Laplace:
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

    def __post_init__(self) -> None:
        _check_finite("Laplace mu", self.mu)
        _check_positive("Laplace b", self.b)

    @property
    def loc(self) -> float:
        return self.mu

    @property
    def scale(self) -> float:
        return self.b

    def scaled(self, factor: float) -> Laplace:
        """The prior of ``factor * theta`` when ``theta`` has this prior.

        Parameters
        ----------
        factor : float
            The multiplier.

        Returns
        -------
        Laplace
            The rescaled prior.

        Examples
        --------
        >>> from bayes_sklearn.priors import Laplace
        >>> Laplace(1.0, 0.5).scaled(2.0)
        Laplace(mu=2.0, b=1.0)
        """
        return replace(self, mu=self.mu * factor, b=self.b * abs(factor))

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
            Independent draws.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.priors import Laplace
        >>> Laplace(b=0.5).rvs((2, 3), np.random.default_rng(0)).shape
        (2, 3)
        """
        return rng.laplace(self.mu, self.b, size=size)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the prior at ``x``.

        Parameters
        ----------
        x : float or ndarray
            Points to evaluate.

        Returns
        -------
        float or ndarray
            Log density, of the shape of ``x``.

        Examples
        --------
        >>> from bayes_sklearn.priors import Laplace
        >>> round(float(Laplace(b=1.0).logpdf(0.0)), 4)  # -log(2)
        -0.6931
        """
        return stats.laplace.logpdf(x, self.mu, self.b)


@dataclass(frozen=True)
class Exponential:
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

    def __post_init__(self) -> None:
        _check_positive("Exponential scale", self.scale)

    def scaled(self, factor: float) -> Exponential:
        """The prior of ``abs(factor) * theta`` when ``theta`` has this prior.

        Parameters
        ----------
        factor : float
            The multiplier.

        Returns
        -------
        Exponential
            The rescaled prior.

        Examples
        --------
        >>> from bayes_sklearn.priors import Exponential
        >>> Exponential(2.0).scaled(-0.5)
        Exponential(scale=1.0)
        """
        return replace(self, scale=self.scale * abs(factor))

    def rvs(self, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Random draws from the prior (all positive).

        Parameters
        ----------
        size : int or tuple of int
            Shape of the output.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        ndarray of shape ``size``
            Independent draws.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.priors import Exponential
        >>> draws = Exponential(2.0).rvs(1000, np.random.default_rng(0))
        >>> draws.shape, bool(np.all(draws > 0))
        ((1000,), True)
        """
        return rng.exponential(self.scale, size=size)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the prior at ``x``.

        Parameters
        ----------
        x : float or ndarray
            Points to evaluate (the support is ``x >= 0``).

        Returns
        -------
        float or ndarray
            Log density, of the shape of ``x``.

        Examples
        --------
        >>> from bayes_sklearn.priors import Exponential
        >>> round(float(Exponential(2.0).logpdf(0.0)), 4)  # -log(2)
        -0.6931
        >>> float(Exponential(2.0).logpdf(-1.0))
        -inf
        """
        return stats.expon.logpdf(x, scale=self.scale)


@dataclass(frozen=True)
class HalfNormal:
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

    def __post_init__(self) -> None:
        _check_positive("HalfNormal sigma", self.sigma)

    @property
    def scale(self) -> float:
        return self.sigma

    def scaled(self, factor: float) -> HalfNormal:
        """The prior of ``abs(factor) * theta`` when ``theta`` has this prior.

        Parameters
        ----------
        factor : float
            The multiplier.

        Returns
        -------
        HalfNormal
            The rescaled prior.

        Examples
        --------
        >>> from bayes_sklearn.priors import HalfNormal
        >>> HalfNormal(2.0).scaled(0.5)
        HalfNormal(sigma=1.0)
        """
        return replace(self, sigma=self.sigma * abs(factor))

    def rvs(self, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Random draws from the prior (all positive).

        Parameters
        ----------
        size : int or tuple of int
            Shape of the output.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        ndarray of shape ``size``
            Independent draws.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.priors import HalfNormal
        >>> draws = HalfNormal(1.0).rvs((2, 3), np.random.default_rng(0))
        >>> draws.shape, bool(np.all(draws >= 0))
        ((2, 3), True)
        """
        return np.abs(rng.normal(0.0, self.sigma, size=size))

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the prior at ``x``.

        Parameters
        ----------
        x : float or ndarray
            Points to evaluate (the support is ``x >= 0``).

        Returns
        -------
        float or ndarray
            Log density, of the shape of ``x``.

        Examples
        --------
        >>> from bayes_sklearn.priors import HalfNormal
        >>> round(float(HalfNormal(1.0).logpdf(0.0)), 4)  # log(sqrt(2 / pi))
        -0.2258
        """
        return stats.halfnorm.logpdf(x, scale=self.sigma)


@dataclass(frozen=True)
class HalfStudentT:
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

    def __post_init__(self) -> None:
        _check_positive("HalfStudentT nu", self.nu)
        _check_positive("HalfStudentT sigma", self.sigma)

    @property
    def scale(self) -> float:
        return self.sigma

    def scaled(self, factor: float) -> HalfStudentT:
        """The prior of ``abs(factor) * theta`` when ``theta`` has this prior.

        Parameters
        ----------
        factor : float
            The multiplier.

        Returns
        -------
        HalfStudentT
            The rescaled prior.

        Examples
        --------
        >>> from bayes_sklearn.priors import HalfStudentT
        >>> HalfStudentT(nu=1, sigma=1.0).scaled(3.0)
        HalfStudentT(nu=1, sigma=3.0)
        """
        return replace(self, sigma=self.sigma * abs(factor))

    def rvs(self, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Random draws from the prior (all positive).

        Parameters
        ----------
        size : int or tuple of int
            Shape of the output.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        ndarray of shape ``size``
            Independent draws.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.priors import HalfStudentT
        >>> draws = HalfStudentT(nu=3).rvs((2, 3), np.random.default_rng(0))
        >>> draws.shape, bool(np.all(draws >= 0))
        ((2, 3), True)
        """
        return np.abs(self.sigma * rng.standard_t(self.nu, size=size))

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the prior at ``x``.

        Parameters
        ----------
        x : float or ndarray
            Points to evaluate (the support is ``x >= 0``).

        Returns
        -------
        float or ndarray
            Log density, of the shape of ``x``.

        Examples
        --------
        >>> from bayes_sklearn.priors import HalfStudentT
        >>> round(float(HalfStudentT(nu=1).logpdf(0.0)), 4)  # half-Cauchy: log(2 / pi)
        -0.4516
        """
        log_density = np.log(2.0) + stats.t.logpdf(x, self.nu, 0.0, self.sigma)
        return np.where(np.asarray(x) >= 0, log_density, -np.inf)[()]


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
