"""Hierarchical (multilevel) linear and logistic regression with partial pooling."""

from __future__ import annotations

from dataclasses import replace
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from bayes_sklearn._messages import format_items
from bayes_sklearn.estimators._base import _generator
from bayes_sklearn.estimators.linear import BayesianLinearRegression
from bayes_sklearn.estimators.logistic import BayesianLogisticRegression
from bayes_sklearn.posterior import Posterior

NEW_GROUP_POLICIES = ("population", "sample", "error")


GROUP_PARAMETER_CONSTRAINTS: dict = {
    "group": [None, str, Interval(Integral, 0, None, closed="left")],
    "varying_slopes": [None, list, tuple],
    "new_groups": [StrOptions(set(NEW_GROUP_POLICIES))],
    "centered": ["boolean"],
    "prior_group_scale": [Interval(Real, 0, None, closed="neither")],
}


class GroupedEstimatorMixin:
    """Group handling shared by the hierarchical estimators.

    The group column is held apart from the features in ``fit`` and
    ``predict``; labels seen in fit get codes ``0..n_groups-1``. New labels
    get ``-1`` (population level) or codes past the known ones (new effects
    drawn from the fitted distribution of groups), by ``new_groups``.
    """

    def _split_groups(self, X, fitting: bool):
        if self.group is None:
            return X, None, None
        labels, rest = _take_group_column(X, self.group)
        if fitting:
            if rest.shape[1] == 0:
                raise ValueError(
                    f"X has no feature columns besides the group column {self.group!r}; "
                    f"{type(self).__name__} needs at least one feature."
                )
            if pd.isna(labels).any():
                raise ValueError(f"The group column {self.group!r} contains missing values.")
            known, codes = np.unique(labels, return_inverse=True)
            self.groups_ = known
            return rest, known, codes.astype(np.int64)
        codes = _codes_of(labels, self.groups_)
        unseen = codes < 0
        if unseen.any() and self.new_groups == "error":
            new_labels = sorted(map(str, set(labels[unseen])))
            raise ValueError(
                f"X has groups not seen during fit: {format_items(new_labels)}. "
                "Set new_groups='population' or 'sample' to predict for them."
            )
        if unseen.any() and self.new_groups == "sample":
            # each distinct new label gets its own code after the known ones
            _, inverse = np.unique(labels[unseen], return_inverse=True)
            codes[unseen] = len(self.groups_) + inverse
        return rest, None, codes

    def _posterior_for_rows(self, codes) -> Posterior:
        posterior = self._posterior()
        if codes is None or posterior.groups is None:
            return posterior
        n_new = int(codes.max(initial=-1)) + 1 - len(self.groups_)
        if n_new > 0:
            new = posterior.groups.with_new_groups(n_new, _generator(self.random_state))
            posterior = replace(posterior, groups=new)
        return posterior.with_groups(codes)

    def _group_spec_kwargs(self, group_labels) -> dict[str, Any]:
        if group_labels is None:
            return {}
        return {
            "group_labels": group_labels,
            "varying_slopes": list(self.varying_slopes or ()),
            "prior_group_scale": float(self.prior_group_scale),
            "centered": bool(self.centered),
        }



class HierarchicalRegression(GroupedEstimatorMixin, BayesianLinearRegression):
    """Linear regression whose intercept (and chosen slopes) vary by group.

    The model, for row ``i`` in group ``g``::

        y_i ~ Normal(intercept + x_i @ coef + b_g0 + sum_k b_gk x_ik, sigma)
        b_gk ~ Normal(0, tau_k)          (partial pooling)

    with the group effects written non-centred by default
    (``b_gk = tau_k * z_gk``, ``z_gk ~ Normal(0, 1)``), which samples well
    when groups are small, as in the radon data. ``intercept`` and ``coef``
    are the population-level (mean) effects. Group effects are defined on
    the standardised features, so ``b_g0`` is a group's deviation at the
    feature means and the effects of different terms are independent
    a priori; priors on ``tau_k`` are ``HalfNormal(prior_group_scale * sd(y))``
    on that scale.

    Parameters
    ----------
    group : str, int or None, default=None
        Column of ``X`` holding the group labels (strings or integers): a
        DataFrame column name or, for arrays, a column index. The column is
        held apart from the features. None means a single pooled group: the
        estimator is then :class:`BayesianLinearRegression`.
    varying_slopes : list of str or None, default=None
        Design columns (feature names, or formula terms) whose slopes vary
        by group; the intercept always varies.
    new_groups : {"population", "sample", "error"}, default="population"
        Prediction for groups not seen in fit: the population-level line;
        new group effects drawn from the fitted distribution of groups (the
        predictive uncertainty then includes between-group spread); or a
        ``ValueError``.
    centered : bool, default=False
        Use the centred parameterisation ``b_gk ~ Normal(0, tau_k)``, which
        suits groups with much data each.
    prior_group_scale : float, default=1.0
        Scale of the half-normal priors of the group standard deviations, in
        units of ``sd(y)``.
    target_accept : float, default=0.9
        Higher than the linear model's 0.8: group standard deviations near
        zero make a funnel that smaller steps cross without divergences (at
        0.8 the radon model showed 2 divergences in 4000 draws).
    **linear_params
        ``formula``, priors, inference and sampler settings as in
        :class:`BayesianLinearRegression` (``inference="exact"`` does not
        apply with groups).

    Attributes
    ----------
    groups_ : ndarray
        Group labels seen in fit (the ``group`` coordinate of ``posterior_``).
    posterior_ : xarray.Dataset
        As for the linear model, plus ``group_intercept`` (chain, draw,
        group), ``group_slope`` (chain, draw, group, slope) and ``group_sd``
        (chain, draw, effect). ``group_sd`` of the intercept is on the
        standardised scale (spread of group intercepts at the feature
        means); of slopes, per unit of the feature.
    idata_ : arviz.InferenceData
        ``posterior_`` with sampler statistics, observed data and pointwise
        log likelihood, built on access.
    n_features_in_ : int
        Number of feature columns, the group column excluded.
    feature_names_in_ : ndarray
        Names of the feature columns, the group column excluded.

    Examples
    --------
    >>> from bayes_sklearn import HierarchicalRegression
    >>> from bayes_sklearn.datasets import load_radon
    >>> radon = load_radon()
    >>> model = HierarchicalRegression(group="county", varying_slopes=["floor"],
    ...                                progressbar=False)
    >>> model.fit(radon[["floor", "county"]], radon["log_radon"])  # doctest: +SKIP
    """

    _parameter_constraints: dict = {
        **BayesianLinearRegression._parameter_constraints,
        **GROUP_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        group: str | int | None = None,
        varying_slopes: list[str] | None = None,
        new_groups: str = "population",
        centered: bool = False,
        prior_group_scale: float = 1.0,
        formula: str | None = None,
        handle_unknown: str = "error",
        inference: str = "nuts",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        target_accept: float = 0.9,
        nuts_sampler: str = "auto",
        prior_scale: float = 2.5,
        prior_intercept_scale: float = 2.5,
        priors: Any = None,
        prior_noise: Any = None,
        random_state: Any = None,
        progressbar: bool = True,
        nuts_init: str = "auto",
        batch_size: int | None = None,
        max_iter: int = 20_000,
        tol: float = 1e-2,
        on_convergence_problem: str = "warn",
    ):
        super().__init__(
            formula=formula, handle_unknown=handle_unknown, inference=inference, draws=draws,
            tune=tune, chains=chains, target_accept=target_accept, nuts_sampler=nuts_sampler,
            prior_scale=prior_scale, prior_intercept_scale=prior_intercept_scale,
            priors=priors, prior_noise=prior_noise, random_state=random_state,
            progressbar=progressbar, nuts_init=nuts_init, batch_size=batch_size,
            max_iter=max_iter, tol=tol, on_convergence_problem=on_convergence_problem,
        )
        self.group = group
        self.varying_slopes = varying_slopes
        self.new_groups = new_groups
        self.centered = centered
        self.prior_group_scale = prior_group_scale

class HierarchicalLogisticRegression(GroupedEstimatorMixin, BayesianLogisticRegression):
    """Binary logistic regression whose intercept (and chosen slopes) vary by group.

    ``P(y_i = classes_[1]) = expit(intercept + x_i @ coef + b_g0 + sum_k b_gk x_ik)``
    with partially pooled group effects ``b_gk ~ Normal(0, tau_k)``, written
    non-centred by default. A classifier of its own (rather than a family
    option on :class:`HierarchicalRegression`) so that sklearn sees
    ``predict_proba``, ``decision_function``, ``classes_`` and classifier
    tags, and ROC tools and stratified splitters work unchanged.

    Parameters
    ----------
    group, varying_slopes, new_groups, centered, prior_group_scale
        As in :class:`HierarchicalRegression`; ``prior_group_scale`` is in
        log-odds units.
    **logistic_params
        As in :class:`BayesianLogisticRegression`. Two classes only.

    Attributes
    ----------
    groups_ : ndarray
        Group labels seen in fit.
    classes_ : ndarray of shape (2,)
    posterior_ : xarray.Dataset
        As for :class:`HierarchicalRegression`, without ``sigma``.
    idata_ : arviz.InferenceData
        ``posterior_`` with sampler statistics, observed data and pointwise
        log likelihood, built on access.

    Examples
    --------
    >>> import warnings; warnings.simplefilter("ignore")  # 100 draws: too few for the checks
    >>> import numpy as np
    >>> import pandas as pd
    >>> from bayes_sklearn import HierarchicalLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=200),
    ...                   "school": rng.choice(["a", "b", "c", "d"], size=200)})
    >>> shift = X["school"].map({"a": -2.0, "b": -0.5, "c": 0.5, "d": 2.0})
    >>> y = (X["x"] + shift + rng.logistic(size=200) > 0).astype(int)
    >>> clf = HierarchicalLogisticRegression(group="school", draws=100, tune=100, chains=1,
    ...                                      progressbar=False, random_state=0).fit(X, y)
    >>> clf.groups_
    array(['a', 'b', 'c', 'd'], dtype=object)
    >>> clf.posterior_["group_intercept"].shape  # (chain, draw, group)
    (1, 100, 4)
    >>> new = pd.DataFrame({"x": [0.0, 0.0, 0.0], "school": ["a", "d", "unseen"]})
    >>> p1 = clf.predict_proba(new)[:, 1]
    >>> # an unseen school gets the population-level prediction, between the two
    >>> bool(p1[0] < p1[2] < p1[1])
    True
    """

    _parameter_constraints: dict = {
        **BayesianLogisticRegression._parameter_constraints,
        **GROUP_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        group: str | int | None = None,
        varying_slopes: list[str] | None = None,
        new_groups: str = "population",
        centered: bool = False,
        prior_group_scale: float = 1.0,
        formula: str | None = None,
        handle_unknown: str = "error",
        inference: str = "nuts",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        target_accept: float = 0.9,
        nuts_sampler: str = "auto",
        prior_scale: float = 2.5,
        prior_intercept_scale: float = 2.5,
        priors: Any = None,
        random_state: Any = None,
        progressbar: bool = True,
        nuts_init: str = "auto",
        batch_size: int | None = None,
        max_iter: int = 20_000,
        tol: float = 1e-2,
        on_convergence_problem: str = "warn",
    ):
        super().__init__(
            formula=formula, handle_unknown=handle_unknown, inference=inference, draws=draws,
            tune=tune, chains=chains, target_accept=target_accept, nuts_sampler=nuts_sampler,
            prior_scale=prior_scale, prior_intercept_scale=prior_intercept_scale,
            priors=priors, random_state=random_state, progressbar=progressbar,
            nuts_init=nuts_init, batch_size=batch_size, max_iter=max_iter, tol=tol,
            on_convergence_problem=on_convergence_problem,
        )
        self.group = group
        self.varying_slopes = varying_slopes
        self.new_groups = new_groups
        self.centered = centered
        self.prior_group_scale = prior_group_scale

    def _encode_target(self, y: np.ndarray):
        encoded = super()._encode_target(y)
        if self.group is not None and len(self.classes_) > 2:
            raise ValueError(
                "HierarchicalLogisticRegression supports two classes; y has "
                f"{len(self.classes_)}: {format_items(self.classes_)}."
            )
        return encoded


def _take_group_column(X, group) -> tuple[np.ndarray, Any]:
    """Split ``X`` into the group labels and the remaining feature columns."""
    if np.ndim(X) != 2:
        raise ValueError(
            f"Expected a 2D array or DataFrame holding the group column {group!r} and "
            f"the features, got {type(X).__name__} of shape {np.shape(X)}."
        )
    if isinstance(X, pd.DataFrame):
        if isinstance(group, str):
            if group not in X.columns:
                raise ValueError(
                    f"The group column {group!r} is not in X; columns are {list(X.columns)}."
                )
            return X[group].to_numpy(), X.drop(columns=[group])
        return X.iloc[:, group].to_numpy(), X.drop(columns=[X.columns[group]])
    array = np.asarray(X, dtype=object if isinstance(group, int) else None)
    if not isinstance(group, int):
        raise ValueError(
            f"group={group!r} names a column, but X is an array without column names; "
            "pass a DataFrame or the column's integer index."
        )
    if array.ndim != 2 or group >= array.shape[1]:
        raise ValueError(f"X has no column {group} to take the groups from.")
    rest = np.delete(array, group, axis=1)
    return array[:, group], rest.astype(np.float64)


def _codes_of(labels: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Integer code of each label among ``known``; -1 when unseen."""
    return pd.Index(known).get_indexer(labels).astype(np.int64)
