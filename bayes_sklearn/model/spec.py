"""The model description: family, coefficient names and fully resolved priors.

:func:`resolve_model_spec` turns the estimator's prior parameters into
concrete priors, autoscaled to the training data in the spirit of rstanarm:

* slope of feature ``j``: ``Normal(0, prior_scale * s_y / sd(x_j))``, where
  ``s_y`` is the standard deviation of ``y`` for the gaussian family and 1
  for the logistic families;
* intercept, defined at the feature means, so it does not move when a
  feature is shifted (``center_predictors=False``: at x = 0; without an
  intercept it is fixed at 0 there): ``Normal(mean(y), prior_intercept_scale * s_y)``
  for the gaussian family, ``Normal(0, prior_intercept_scale)`` otherwise;
* noise scale (gaussian only): ``Exponential`` with mean ``s_y``.

User priors given in ``priors`` are taken as written, on the original scale
of the coefficient, and replace the autoscaled ones; a number is a fixed
value (:class:`~bayes_sklearn.priors.Constant`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bayes_sklearn.design.standardize import Standardizer, column_moments, location_scale
from bayes_sklearn.model.families import FAMILIES, Family
from bayes_sklearn.priors import (
    Constant,
    CoefficientPrior,
    Exponential,
    HalfNormal,
    Normal,
    ScalePrior,
    as_prior,
)

INTERCEPT_KEY = "intercept"


@dataclass(frozen=True)
class GroupTerm:
    """One lme4/brms/Bambi group term, ``(1 + x | label)``, for the model.

    Its effects are defined at x = 0 of their design columns, as lme4 and
    brms define them: the design is used as given, never centred or scaled.

    Attributes
    ----------
    label : str
        The grouping factor, e.g. ``"county"`` or ``"state:county"``.
    levels : tuple
        Levels seen in fit; position = integer code.
    effect_names : tuple of str
        One per design column, named as Bambi names them: ``"1|county"``,
        ``"floor|county"``.
    sd_priors : tuple of priors
        Prior of each effect's standard deviation across levels, on the
        original scale of that effect's design column: a scale prior, a
        PyMC distribution, or a number (a fixed sd, :class:`Constant`).
    correlated : bool, default=True
        Whether the effects are correlated (an LKJ prior on their correlation
        matrix) or independent (lme4's ``||``). A term of one effect is
        independent either way.
    lkj_eta : float, default=1.0
        Shape of the LKJ prior (1: uniform over correlation matrices).
    """

    label: str
    levels: tuple
    effect_names: tuple[str, ...]
    sd_priors: tuple
    correlated: bool = True
    lkj_eta: float = 1.0

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def n_effects(self) -> int:
        return len(self.effect_names)

    @property
    def is_correlated(self) -> bool:
        """Whether the model has a correlation matrix for this term."""
        return self.correlated and self.n_effects > 1


def check_group_term(term: GroupTerm) -> GroupTerm:
    """``term`` validated, with its sd priors as prior objects (numbers: Constant).

    Raises
    ------
    ValueError
        If the term has no levels or effects, its priors do not match its
        effects one to one or are not on positive numbers, or ``lkj_eta`` is
        not a positive finite number.
    """
    what = f"group term {term.label!r}"
    if not term.label:
        raise ValueError("A group term needs a non-empty label.")
    if term.n_levels == 0 or term.n_effects == 0:
        raise ValueError(f"The {what} needs at least one level and one effect, got "
                         f"{term.n_levels} levels and effects {list(term.effect_names)}.")
    if len(set(term.effect_names)) != term.n_effects:
        raise ValueError(f"The {what} repeats an effect name: {list(term.effect_names)}.")
    if len(term.sd_priors) != term.n_effects:
        raise ValueError(
            f"The {what} has {term.n_effects} effects {list(term.effect_names)} but "
            f"{len(term.sd_priors)} sd priors; give one per effect."
        )
    eta = term.lkj_eta
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.integer, np.floating)) \
            or not np.isfinite(eta) or eta <= 0:
        raise ValueError(f"lkj_eta of the {what} must be a positive number, got {eta!r}.")
    priors = tuple(as_prior(p, role="scale", what=f"the sd of {name!r}")
                   for p, name in zip(term.sd_priors, term.effect_names))
    return replace(term, sd_priors=priors, lkj_eta=float(eta))


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """Everything needed to build the model, as plain values.

    Attributes
    ----------
    family : str
        Key into :data:`bayes_sklearn.model.families.FAMILIES`.
    coef_names : tuple of str
        One name per design column.
    n_outputs : int
        Columns of coefficients: 1, or ``n_classes - 1`` for the categorical
        family (class 0 is the reference).
    intercept_prior : prior
        Prior of the intercept at the feature means.
    coef_priors : tuple of priors
        Prior of each coefficient on the original feature scale.
    noise_prior : prior or None
        Prior of the noise scale, for families that have one.
    standardizer : Standardizer
        Centering and scaling applied to the design before sampling.
    group_terms : tuple of GroupTerm
        lme4-style group terms, each with its own design (effects at x = 0);
        empty for none.
    fit_intercept : bool
        False: no intercept; ``intercept_prior`` is ``Constant(0.0)``, the
        intercept at x = 0, and the standardizer does not centre.
    intercept_at_mean : bool
        Whether ``intercept_prior`` is the prior of the intercept at the
        feature means (the standardizer centres) or at x = 0 (it only scales).
    """

    family: str
    coef_names: tuple[str, ...]
    n_outputs: int
    intercept_prior: CoefficientPrior
    coef_priors: tuple[CoefficientPrior, ...]
    noise_prior: ScalePrior | None
    standardizer: Standardizer
    fit_intercept: bool = True
    intercept_at_mean: bool = True
    group_terms: tuple[GroupTerm, ...] = ()

    @property
    def family_obj(self) -> Family:
        return FAMILIES[self.family]

    @property
    def n_coef(self) -> int:
        return len(self.coef_names)

    def sampling_coef_priors(self) -> tuple[CoefficientPrior, ...]:
        """Priors of the coefficients of the standardised design columns."""
        return tuple(
            prior.scaled(scale)
            for prior, scale in zip(self.coef_priors, self.standardizer.scale)
        )


def _response_scale(
    family: str, y: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[float, float]:
    """Location and scale of ``y`` used to autoscale priors."""
    if family != "gaussian":
        return 0.0, 1.0
    return location_scale(y, sample_weight)


def _coefficient_index(key: object, coef_names: Sequence[str]) -> int:
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if not -len(coef_names) <= key < len(coef_names):
            raise ValueError(
                f"Prior given for coefficient index {key}, but there are only "
                f"{len(coef_names)} coefficients."
            )
        return int(key) % len(coef_names)
    if isinstance(key, str) and key in coef_names:
        return coef_names.index(key)
    raise ValueError(
        f"Prior given for unknown coefficient {key!r}. Known names: "
        f"{list(coef_names)} (or an integer index, or {INTERCEPT_KEY!r})."
    )


def _user_priors(
    priors: object, coef_names: Sequence[str]
) -> tuple[dict[int, CoefficientPrior], CoefficientPrior | None]:
    """Per-coefficient and intercept priors the user wrote, by column index."""
    if priors is None:
        return {}, None
    if not isinstance(priors, Mapping):
        try:
            prior = as_prior(priors, role="coefficient", what="every coefficient")
        except ValueError as error:
            raise ValueError(
                "priors must be None, a prior (applied to every coefficient) or a dict "
                f"mapping coefficient names or indices to priors. {error}"
            ) from None
        return {i: prior for i in range(len(coef_names))}, None
    by_index: dict[int, CoefficientPrior] = {}
    intercept = None
    for key, value in priors.items():
        if key == INTERCEPT_KEY and INTERCEPT_KEY not in coef_names:
            intercept = as_prior(value, role="coefficient", what="the intercept")
            continue
        index = _coefficient_index(key, coef_names)
        by_index[index] = as_prior(value, role="coefficient", what=repr(key))
    return by_index, intercept


def resolve_model_spec(
    *,
    family: str,
    coef_names: Sequence[str],
    X: np.ndarray,
    y: np.ndarray,
    n_outputs: int = 1,
    prior_scale: float = 2.5,
    prior_intercept_scale: float = 2.5,
    priors: object = None,
    prior_noise: ScalePrior | None = None,
    sample_weight: np.ndarray | None = None,
    fit_intercept: bool = True,
    center_predictors: bool = True,
    moments: tuple | None = None,
) -> ModelSpec:
    """Resolve the estimator's prior parameters against the training data.

    Parameters
    ----------
    family : str
        ``"gaussian"``, ``"bernoulli"`` or ``"categorical"``.
    coef_names : sequence of str
        Names of the design columns.
    X : ndarray of shape (n_samples, n_coef)
        Training design matrix.
    y : ndarray of shape (n_samples,)
        Training response (values, or class codes).
    n_outputs : int, default=1
        Coefficient columns (``n_classes - 1`` for the categorical family).
    prior_scale, prior_intercept_scale : float
        Multipliers of the autoscaled default priors.
    priors : None, prior, or dict
        User priors: one prior for every coefficient, or a dict keyed by
        coefficient name, integer index or ``"intercept"``.
    prior_noise : prior or None
        Prior of the noise scale; None autoscales.
    sample_weight : ndarray of shape (n_samples,) or None
        Frequency weights: the autoscaling uses the weighted moments of ``X``
        and ``y``, so weight 2 gives the same priors as the row twice.
    fit_intercept : bool, default=True
        False: the model has no intercept (it is fixed at 0 at x = 0).
    center_predictors : bool, default=True
        Whether the intercept's prior is stated at the feature means (True)
        or at x = 0 (False). Without an intercept the design is never centred.
    moments : tuple, optional
        The data's moments where the rows are not at hand (merged chunk
        statistics): ``(mean, sd, magnitude)`` of the columns of ``X`` as
        :func:`~bayes_sklearn.design.standardize.column_moments` returns
        them, then ``y``'s mean and sd. ``X`` and ``y`` are not read then.

    Returns
    -------
    ModelSpec
    """
    coef_names = tuple(coef_names)
    if moments is None:
        x_moments = column_moments(X, sample_weight)
        y_center, y_scale = _response_scale(family, y, sample_weight)
    else:
        *x_moments, y_center, y_scale = moments
        if family != "gaussian":
            y_center, y_scale = 0.0, 1.0
        elif not y_scale > 0:
            y_scale = 1.0
    # The autoscaled priors are per unit sd of each feature, centred or not.
    feature_sd = Standardizer.from_moments(*x_moments).scale
    at_mean = fit_intercept and center_predictors
    standardizer = Standardizer.from_moments(*x_moments, center=at_mean)
    user_coef, user_intercept = _user_priors(priors, coef_names)
    coef_priors = tuple(
        user_coef.get(j, Normal(0.0, prior_scale * y_scale / feature_sd[j]))
        for j in range(len(coef_names))
    )
    if not fit_intercept:
        if user_intercept is not None:
            raise ValueError(
                "priors names the intercept, but fit_intercept=False (or the formula's "
                "'0 +' / '- 1') removes it."
            )
        intercept_prior = Constant(0.0)
    else:
        intercept_prior = user_intercept or Normal(y_center, prior_intercept_scale * y_scale)
    noise_prior = None
    if FAMILIES[family].has_noise:
        if prior_noise is None:
            noise_prior = Exponential(scale=y_scale)
        else:
            noise_prior = as_prior(prior_noise, role="scale", what="the noise sd (prior_noise)")
    return ModelSpec(
        family=family,
        coef_names=coef_names,
        n_outputs=n_outputs,
        intercept_prior=intercept_prior,
        coef_priors=coef_priors,
        noise_prior=noise_prior,
        standardizer=standardizer,
        fit_intercept=fit_intercept,
        intercept_at_mean=at_mean,
    )


def split_group_priors(
    priors: object, effect_names: Sequence[Sequence[str]]
) -> tuple[object, dict[str, object]]:
    """Split ``priors`` into the coefficients' and the group terms' sd priors.

    Keys of a dict that name a group term's effect (``"1|county"``) are sd
    priors; the rest stays for the coefficients. A key with ``"|"`` that names
    no effect is a ValueError listing the effects.
    """
    if not isinstance(priors, Mapping):
        return priors, {}
    known = [name for names in effect_names for name in names]
    coefficient, sd = {}, {}
    for key, value in priors.items():
        if key in known:
            sd[key] = value
        elif isinstance(key, str) and "|" in key:
            raise ValueError(
                f"Prior given for unknown group effect {key!r}. The group terms' effects "
                f"are {known}: a key among them sets that effect's sd prior."
            )
        else:
            coefficient[key] = value
    return coefficient, sd


def resolve_group_terms(
    terms: Sequence[tuple[str, Sequence, Sequence[str], bool]],
    designs: Sequence[np.ndarray],
    *,
    family: str,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    sd_priors: Mapping[str, object] | None = None,
    prior_group_scale: float = 1.0,
    lkj_eta: float = 1.0,
) -> tuple[GroupTerm, ...]:
    """The group terms of the model, with their sd priors resolved.

    The default sd prior of an effect whose design column is ``z`` is
    ``HalfNormal(prior_group_scale * s_y / sd(z))``, ``s_y`` as for the
    coefficients (sd(y) for the gaussian family, 1 otherwise) and ``sd(z)``
    taken as 1 for a constant column (the group intercept's): rstanarm's
    autoscaling, which makes the prior invariant to the units of ``z``. The
    half-normal is Bambi's family for group sds.

    Parameters
    ----------
    terms : sequence of (label, levels, effect_names, correlated)
        One entry per bar term.
    designs : sequence of ndarray of shape (n_samples, n_effects)
        The terms' training designs.
    family : str
        The likelihood family.
    y : ndarray of shape (n_samples,)
        Training response (values, or class codes).
    sample_weight : ndarray of shape (n_samples,), optional
        Frequency weights of the rows: the autoscaling uses weighted moments.
    sd_priors : mapping of str to prior, optional
        User sd priors by effect name; they replace the autoscaled ones.
    prior_group_scale : float, default=1.0
        Multiplier of the autoscaled sd priors.
    lkj_eta : float, default=1.0
        Shape of the LKJ prior of every correlated term.

    Returns
    -------
    tuple of GroupTerm
    """
    sd_priors = dict(sd_priors or {})
    _, y_scale = _response_scale(family, y, sample_weight)
    out = []
    for (label, levels, effect_names, correlated), Z in zip(terms, designs, strict=True):
        # a constant column (the group intercept's) gets scale 1
        column_sd = Standardizer.fit(np.asarray(Z, dtype=float), sample_weight).scale
        priors = [sd_priors[name] if name in sd_priors
                  else HalfNormal(prior_group_scale * y_scale / float(sd))
                  for name, sd in zip(effect_names, column_sd)]
        out.append(check_group_term(GroupTerm(
            label=label, levels=tuple(levels), effect_names=tuple(effect_names),
            sd_priors=tuple(priors), correlated=bool(correlated), lkj_eta=lkj_eta,
        )))
    return tuple(out)

