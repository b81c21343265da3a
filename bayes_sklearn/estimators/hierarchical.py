"""Hierarchical (multilevel) linear and logistic regression with partial pooling."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from bayes_sklearn._messages import format_items
from bayes_sklearn.design.formula import parse_formula
from bayes_sklearn.design.frames import is_sparse, pandas_if_frame
from bayes_sklearn.design.group_terms import split_group_terms
from bayes_sklearn.estimators._group_terms import (
    NEW_GROUP_POLICIES,
    FormulaGroupTermsMixin,
    with_group_terms,
)
from bayes_sklearn.estimators.linear import BayesianLinearRegression
from bayes_sklearn.estimators.logistic import BayesianLogisticRegression

GROUP_PARAMETER_CONSTRAINTS: dict = {
    "group": [None, str, Interval(Integral, 0, None, closed="left")],
    "varying_slopes": [None, list, tuple],
    # a dict (per grouping factor) is checked in fit, against the factors
    "new_groups": [StrOptions(set(NEW_GROUP_POLICIES)), dict],
    "centered": ["boolean"],
    "prior_group_scale": [Interval(Real, 0, None, closed="neither")],
    "lkj_eta": [Interval(Real, 0, None, closed="neither")],
}


class GroupedEstimatorMixin(FormulaGroupTermsMixin):
    """``group=`` and ``varying_slopes=``: the shorthand of the term ``(1 + slopes | group)``.

    The group column is held apart from the features in ``fit`` and
    ``predict``; labels seen in fit get codes ``0..n_groups-1``. The term's
    design is a column of ones and the ``varying_slopes`` columns of the
    fixed design, on the user's scale, so the model, its priors and its
    names in ``posterior_`` are those of the formula's term. New labels get
    ``-1`` (population level) or codes past the known ones (new effects
    drawn from the fitted distribution of groups), by ``new_groups``.
    """

    #: group terms need the rows: no statistics summarise them (no partial_fit)
    _fits_statistics = False

    def _infer_chunked(self, X, y, sample_weight=None):
        raise ValueError(
            f"{type(self).__name__} fits data in memory: its group effects need every row, "
            f"which no statistics merged over chunks summarise; X is {type(X).__name__}, "
            "data in chunks. Gather the rows (a sample of groups), or fit the population "
            "model with BayesianLinearRegression, which fits data in chunks."
        )

    def _group_label(self, X) -> str | None:
        """The term's grouping factor: the group column's name, or ``"group"`` for arrays."""
        if self.group is None:
            return None
        X = pandas_if_frame(X)
        if not isinstance(X, pd.DataFrame):
            return "group"
        if isinstance(self.group, str):
            return self.group
        if self.group < X.shape[1]:
            return str(X.columns[self.group])
        return "group"  # _split_groups says the column is missing

    def _split_groups(self, X, fitting: bool, policy: str | None = None):
        """``X`` without the group column, the levels (in fit) and each row's code.

        In predict, labels unseen in fit follow ``policy`` (default
        ``new_groups``): code -1 for ``"population"``, a code after the known
        ones per distinct new label for ``"sample"``, a ValueError for
        ``"error"``.
        """
        if fitting and isinstance(self.new_groups, dict) and self.group is not None:
            raise ValueError(
                "new_groups is a dict (a policy per grouping factor), which applies to "
                "the group terms of a formula; with group= give one of "
                f"{format_items(NEW_GROUP_POLICIES)}."
            )
        if self.group is None:
            return X, None, None
        labels, rest = _take_group_column(X, self.group)
        if fitting and self.formula is not None:
            if "|" in self.formula and split_group_terms(self.formula)[1]:
                self._refuse_group_terms()
            if isinstance(self.group, str):
                _refuse_group_in_formula(self.formula, self.group)
        if fitting:
            if rest.shape[1] == 0:
                raise ValueError(
                    f"X has no feature columns besides the group column {self.group!r}; "
                    f"{type(self).__name__} needs at least one feature."
                )
            if pd.isna(labels).any():
                raise ValueError(f"The group column {self.group!r} contains missing values.")
            known, codes = np.unique(labels, return_inverse=True)
            return rest, known, codes.astype(np.int64)
        policy = self.new_groups if policy is None else policy
        codes = _codes_of(labels, self.groups_)
        unseen = codes < 0
        if unseen.any() and policy == "error":
            new_labels = sorted(map(str, set(labels[unseen])))
            raise ValueError(
                f"X has groups not seen during fit: {format_items(new_labels)}. "
                "Set new_groups='population' or 'sample' to predict for them."
            )
        if unseen.any() and policy == "sample":
            # each distinct new label gets its own code after the known ones
            _, inverse = np.unique(labels[unseen], return_inverse=True)
            codes[unseen] = len(self.groups_) + inverse
        return rest, None, codes

    def _fit(self, X, y, sample_weight=None) -> None:
        if self.centered:
            # stacklevel 3: the user's fit() call, as for the convergence warnings
            warnings.warn(
                "centered=True has no effect: group= and varying_slopes= give the term "
                "(1 + varying_slopes | group), the same model however it is parameterised, "
                "and its effects are sampled non-centred. centered is deprecated in 0.1 "
                "and will be removed in 0.3.",
                FutureWarning, stacklevel=3,
            )
        super()._fit(X, y, sample_weight)

    def _shorthand_term(self, label, column_names, X_design, levels, codes):
        """The term ``(1 + varying_slopes | label)``: its (label, levels, effect names,
        correlated) and its training ``(Z, codes)``, Z taken from the fixed design."""
        names = list(column_names)
        slopes = list(self.varying_slopes or ())
        for name in slopes:
            if name not in names:
                raise ValueError(
                    f"varying_slopes names {name!r}, which is not a design column. "
                    f"Design columns: {names}."
                )
        repeated = sorted({name for name in slopes if slopes.count(name) > 1})
        if repeated:
            raise ValueError(f"varying_slopes names {format_items(repeated)} more than once.")
        effect_names = [f"1|{label}", *(f"{name}|{label}" for name in slopes)]
        return ([(label, levels, effect_names, True)],
                [(_shorthand_design(X_design, [names.index(s) for s in slopes]), codes)])

    def _shorthand_rows(self, X, policy: str | None = None):
        """The design of new rows and the term's ``(Z, codes)`` (None when left out)."""
        X, _, codes = self._split_groups(X, fitting=False, policy=policy)
        X_design = self._design_matrix(X)
        term = self.model_spec_.group_terms[0]
        included = getattr(self, "_included_terms", None)
        if included is not None and term.label not in included:
            return X_design, [None]
        names = list(self.design_.column_names)
        index = [names.index(name.rpartition("|")[0]) for name in term.effect_names[1:]]
        return X_design, [(_shorthand_design(X_design, index), codes)]

    def _prepare(self, X):
        if self.group is None:
            return super()._prepare(X)
        check_is_fitted(self)
        X_design, rows = self._shorthand_rows(X)
        return X_design, self._posterior_with_rows(rows)

    def _prior_rows(self, X):
        if self.group is None:
            return super()._prior_rows(X)
        # under the prior every group is new: unseen ones get effects drawn too
        return self._shorthand_rows(X, policy="sample")

    def _set_fitted(self, result, diagnostics) -> None:
        super()._set_fitted(result, diagnostics)
        if result.group_labels is not None:
            self.groups_ = result.group_labels


def _shorthand_design(X_design: np.ndarray, slopes: list[int]) -> np.ndarray:
    """``[1, X_design[:, slopes]]``: the term's design, on the user's scale (dense: a sparse
    design of new rows stays sparse, but the term's few columns need not)."""
    columns = X_design[:, slopes]
    if is_sparse(columns):
        columns = columns.toarray()
    return np.column_stack([np.ones(X_design.shape[0]), columns])


class HierarchicalRegression(GroupedEstimatorMixin, BayesianLinearRegression):
    """Linear regression whose intercept (and chosen slopes) vary by group.

    Group effects are written in the formula as lme4, brms and Bambi users
    write them: ``formula="floor + (1 + floor | county)"`` gives each county
    its own intercept and floor slope, correlated (an LKJ prior on their
    correlation) and non-centred; ``(1 | a) + (1 | b)`` crossed factors,
    ``(1 | state/county)`` nested ones, ``(floor || county)`` independent
    effects. Inside a bar formulaic's grammar applies, and the bar terms are
    replayed on new rows as the fixed terms are. The grouping columns stay in
    ``X``. These effects are defined at x = 0 of their design, as in lme4 and
    brms, and each has its own sd prior, set in ``priors`` by its name
    (``priors={"1|county": HalfNormal(1.0)}``); the default is
    ``HalfNormal(prior_group_scale * sd(y) / sd(z))`` for an effect of design
    column ``z`` (sd(z) = 1 for the intercept's column of ones), rstanarm's
    autoscaling. Gaussian and binary models with group terms run on the
    precompiled kernel; multiclass ones, and sd priors outside the kernel's
    kinds, on the PyMC engine (``engine_`` says which).

    ``group="county", varying_slopes=["floor"]`` is the shorthand of the
    term ``(1 + floor | county)`` for one grouping column held apart from
    the features: the same model (correlated effects at x = 0, the same
    priors, set by the same names), the same names in ``posterior_`` and
    the same predictions. Its model, for row ``i`` in group ``g``::

        y_i ~ Normal(intercept + x_i @ coef + b_g0 + sum_k b_gk x_ik, sigma)
        b_g ~ MvNormal(0, diag(tau) @ R @ diag(tau))     (partial pooling)

    with ``R`` the LKJ-distributed correlation of the effects, written
    non-centred, which samples well when groups are small, as in the radon
    data. ``intercept`` and ``coef`` are the population-level (mean)
    effects. The varying slopes are design columns (a formula's columns
    such as ``"C(region)[T.b]"`` too), taken on the user's scale.

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
    new_groups : {"population", "sample", "error"} or dict, default="population"
        Prediction for groups not seen in fit: the population-level line;
        new group effects drawn from the fitted distribution of groups (the
        predictive uncertainty then includes between-group spread); or a
        ``ValueError``. With group terms in the formula, a dict gives a
        policy per grouping factor (``{"county": "sample"}``; factors it
        does not name get ``"population"``); a level unseen in one factor
        leaves the other factors' effects in.
    centered : bool, default=False
        Deprecated: has no effect (a ``FutureWarning`` when True), and will
        be removed in 0.3. ``group=`` now builds the term ``(1 + slopes |
        group)``, whose effects are sampled non-centred; the posterior is
        the same model either way.
    prior_group_scale : float, default=1.0
        Scale of the half-normal priors of the group standard deviations, in
        units of ``sd(y)`` (per unit of ``z`` for an effect of column ``z``).
    lkj_eta : float, default=1.0
        Shape of the LKJ prior on the correlation matrix of each bar term's
        effects: 1 is uniform over correlation matrices, brms's default
        ``lkj(1)``; larger values pull the correlations towards 0.
    formula : str or None, default=None
        Right-hand side of a Wilkinson formula evaluated by formulaic on the
        columns of ``X``, as in :class:`BayesianLinearRegression`, with
        group terms such as ``(1 + x | g)`` (see above). With ``group=`` the
        group column is excluded from what the formula sees. None uses the
        feature columns as they are.
    handle_unknown : {"error", "ignore"}, default="error"
        Categorical levels not seen in ``fit``: raise a ``ValueError``, or
        encode them as the reference level (all dummy columns zero).
    fit_intercept : bool, default=True
        Whether to fit an intercept, with the meaning scikit-learn gives it:
        False fixes it at 0 (``intercept_ == 0.0``), the line through the
        origin. A formula with ``"0 +"`` or ``"- 1"`` means the same.
    inference : {"nuts", "exact", "advi", "fullrank_advi"}, default="nuts"
        As in :class:`BayesianLinearRegression`; ``"exact"`` does not apply
        with groups (it is refused unless ``group`` is None).
    draws : int, default=1000
        Kept draws per chain.
    tune : int, default=1000
        Warm-up iterations per chain (NUTS only).
    chains : int, default=4
        Number of chains.
    target_accept : float, default=0.95
        NUTS target acceptance rate. Higher than the linear model's 0.8: group
        standard deviations near zero make a funnel that smaller steps cross
        without divergences (at 0.8 the radon model showed 2 divergences in
        4000 draws), and the longer trajectories of smaller steps mix the sd
        of a varying slope: on radon's ``(1 + floor | county)`` its bulk ESS
        was 350 in 4000 draws at 0.9 (15 leapfrog steps a draw) and 460-505
        at 0.95 (25 steps), for 20% more time.
    nuts_sampler : {"auto", "pymc", "nutpie"}, default="auto"
        Which NUTS implementation runs the model, as in
        :class:`BayesianLinearRegression`.
    prior_scale : float, default=2.5
        Width of the autoscaled priors of the population-level coefficients,
        in units of ``sd(y) / sd(x_j)``.
    prior_intercept_scale : float, default=2.5
        Width of the autoscaled prior of the population-level intercept, in
        units of ``sd(y)``.
    center_predictors : bool, default=True
        Where the intercept's prior applies: at the feature means (True, as
        in Bambi, brms and rstanarm, so shifting a feature does not move it)
        or at x = 0 (False, brms's ``center = FALSE``; needed to state a
        prior on the intercept of the line itself). The likelihood, and so
        the posterior under a flat intercept prior, is the same either way.
    priors : None, prior, or dict, default=None
        Priors that replace the autoscaled ones of the population-level
        coefficients and intercept, as in :class:`BayesianLinearRegression`.
    prior_noise : prior, number, PyMC distribution or None, default=None
        Prior of ``sigma``, as in :class:`BayesianLinearRegression`; None
        means ``Exponential`` with mean ``sd(y)``.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampler; fixed seeds give identical draws.
    progressbar : bool, default=True
        Show a progress bar while sampling or optimising (tqdm; a widget in
        Jupyter). Always off for clones made by ``sklearn.base.clone``, which
        every sklearn tool that fits the estimator internally uses.
    nuts_init : {"auto", "advi"}, default="auto"
        NUTS initialisation of the default sampler. ``"auto"``: PyMC's
        jittered start and an adapted diagonal mass matrix (a hierarchical
        posterior has no useful Gaussian approximation at its mode).
        ``"advi"``: start around a mean-field ADVI fit's means, its sds as
        the initial diagonal mass matrix (with ``nuts_sampler="pymc"``,
        PyMC's ``init="advi+adapt_diag"``; ``nuts_sampler="nutpie"`` refuses
        it).
    batch_size : int or None, default=None
        ADVI only: rows per minibatch. None uses every row at every step.
    max_iter : int, default=20000
        ADVI only: maximum number of iterations.
    tol : float, default=1e-2
        ADVI only: relative tolerance of the stopping rule, as in
        :class:`BayesianLinearRegression`.
    on_convergence_problem : {"warn", "raise"}, default="warn"
        What a fit with convergence problems does: warn with
        :class:`~bayes_sklearn.BayesianConvergenceWarning`, or raise
        :class:`~bayes_sklearn.BayesianConvergenceError` and leave the
        estimator as it was.

    Attributes
    ----------
    groups_ : ndarray
        Group labels seen in fit (``group=`` form only); the levels of its
        term, the ``county__factor_dim`` coordinate of ``posterior_``.
    group_levels_ : dict of str to ndarray
        Levels seen in fit of each grouping factor of the formula's group
        terms (``"county"``, ``"state:county"`` for a nested one).
    posterior_ : xarray.Dataset
        As for the linear model, plus, per group term, its effects by Bambi's
        names: ``"1|county"`` and ``"floor|county"`` (chain, draw,
        ``county__factor_dim``), their sds ``"1|county_sigma"`` and
        ``"floor|county_sigma"``, and the correlation matrix
        ``"county_corr"`` (chain, draw, ``county__effect``,
        ``county__effect2``) when the term has correlated effects. The
        ``group=`` form has the same variables, named by the group column
        (``"group"`` for an array ``X`` with an integer ``group``).
    idata_ : arviz.InferenceData
        ``posterior_`` with sampler statistics, observed data and pointwise
        log likelihood, built on access.
    engine_ : {"kernel", "pymc", "exact"}
        The engine that ran: the precompiled kernel (NUTS with
        ``nuts_sampler="auto"`` on a model it covers, ADVI), the PyMC engine
        (the ``to_pymc`` model, compiled once per model structure and
        process; any other prior, or ``nuts_sampler="pymc"``/``"nutpie"``),
        or closed-form exact inference.
    n_features_in_ : int
        Number of feature columns, the group column excluded.
    feature_names_in_ : ndarray
        Names of the feature columns, the group column excluded.

    Examples
    --------
    >>> from bayes_sklearn import HierarchicalRegression
    >>> from bayes_sklearn.datasets import load_radon
    >>> radon = load_radon()
    >>> model = HierarchicalRegression(formula="floor + (1 + floor | county)",
    ...                                progressbar=False)
    >>> model.fit(radon[["floor", "county"]], radon["log_radon"])  # doctest: +SKIP
    >>> model.posterior_["county_corr"].sel(county__effect="1|county",
    ...     county__effect2="floor|county").mean()  # doctest: +SKIP
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
        lkj_eta: float = 1.0,
        formula: str | None = None,
        handle_unknown: str = "error",
        fit_intercept: bool = True,
        inference: str = "nuts",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        target_accept: float = 0.95,
        nuts_sampler: str = "auto",
        prior_scale: float = 2.5,
        prior_intercept_scale: float = 2.5,
        center_predictors: bool = True,
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
            formula=formula, handle_unknown=handle_unknown, fit_intercept=fit_intercept,
            inference=inference, draws=draws,
            tune=tune, chains=chains, target_accept=target_accept, nuts_sampler=nuts_sampler,
            prior_scale=prior_scale, prior_intercept_scale=prior_intercept_scale,
            center_predictors=center_predictors,
            priors=priors, prior_noise=prior_noise, random_state=random_state,
            progressbar=progressbar, nuts_init=nuts_init, batch_size=batch_size,
            max_iter=max_iter, tol=tol, on_convergence_problem=on_convergence_problem,
        )
        self.group = group
        self.varying_slopes = varying_slopes
        self.new_groups = new_groups
        self.centered = centered
        self.prior_group_scale = prior_group_scale
        self.lkj_eta = lkj_eta

    predict = with_group_terms(BayesianLinearRegression.predict)
    predict_draws = with_group_terms(BayesianLinearRegression.predict_draws)
    predict_interval = with_group_terms(BayesianLinearRegression.predict_interval)


class HierarchicalLogisticRegression(GroupedEstimatorMixin, BayesianLogisticRegression):
    """Logistic regression whose intercept (and chosen slopes) vary by group.

    Group terms are written in the formula (``"x + (1 + x | school)"``), as
    for :class:`HierarchicalRegression`, or with ``group=`` and
    ``varying_slopes=``, the shorthand of ``(1 + slopes | group)``. With more than two classes the
    model is multinomial (softmax against the first class), and every
    non-reference class has group effects, sds and correlations of its own,
    as brms gives each category of a categorical model: ``posterior_``'s
    group variables then have a ``class`` axis.

    The binary model of ``(1 + x | g)``:

    ``P(y_i = classes_[1]) = expit(intercept + x_i @ coef + b_g0 + b_g1 x_i)``
    with partially pooled, correlated group effects ``b_g ~ MvNormal(0,
    Sigma)``, written non-centred. A classifier of its own (rather than a family
    option on :class:`HierarchicalRegression`) so that sklearn sees
    ``predict_proba``, ``decision_function``, ``classes_`` and classifier
    tags, and ROC tools and stratified splitters work unchanged.

    Parameters
    ----------
    group : str, int or None, default=None
        Column of ``X`` holding the group labels, as in
        :class:`HierarchicalRegression`. None means a single pooled group.
    varying_slopes : list of str or None, default=None
        Design columns whose slopes vary by group; the intercept always varies.
    new_groups : {"population", "sample", "error"} or dict, default="population"
        Prediction for groups not seen in fit, as in
        :class:`HierarchicalRegression` (a dict: a policy per grouping factor).
    centered : bool, default=False
        Deprecated: has no effect, and will be removed in 0.3, as in
        :class:`HierarchicalRegression`.
    prior_group_scale : float, default=1.0
        Scale of the half-normal priors of the group standard deviations, in
        log-odds units (per unit of ``z`` for an effect of column ``z``).
    lkj_eta : float, default=1.0
        Shape of the LKJ prior on the correlation of each bar term's effects,
        as in :class:`HierarchicalRegression`.
    formula : str or None, default=None
        Right-hand side of a Wilkinson formula evaluated by formulaic on the
        columns of ``X``, with group terms such as ``(1 + x | g)``, as in
        :class:`HierarchicalRegression`. None uses the feature columns as
        they are.
    handle_unknown : {"error", "ignore"}, default="error"
        Categorical levels not seen in ``fit``: raise a ``ValueError``, or
        encode them as the reference level (all dummy columns zero).
    fit_intercept : bool, default=True
        Whether to fit an intercept, with the meaning scikit-learn gives it:
        False fixes it at 0 (``intercept_ == 0.0``), the line through the
        origin. A formula with ``"0 +"`` or ``"- 1"`` means the same.
    inference : {"nuts", "advi", "fullrank_advi"}, default="nuts"
        NUTS, or variational inference (mean-field or full-rank ADVI,
        optionally on minibatches).
    draws : int, default=1000
        Kept draws per chain.
    tune : int, default=1000
        Warm-up iterations per chain (NUTS only).
    chains : int, default=4
        Number of chains.
    target_accept : float, default=0.95
        NUTS target acceptance rate; higher than the logistic model's 0.8 for
        the funnel of group standard deviations near zero and the mixing of
        their sds, as in :class:`HierarchicalRegression`.
    nuts_sampler : {"auto", "pymc", "nutpie"}, default="auto"
        Which NUTS implementation runs the model, as in
        :class:`BayesianLogisticRegression`.
    prior_scale : float, default=2.5
        Width of the autoscaled priors of the population-level coefficients,
        in units of ``1 / sd(x_j)``.
    prior_intercept_scale : float, default=2.5
        Width of the autoscaled prior of the population-level intercept, in
        log-odds.
    center_predictors : bool, default=True
        Where the intercept's prior applies: at the feature means (True, as
        in Bambi, brms and rstanarm, so shifting a feature does not move it)
        or at x = 0 (False, brms's ``center = FALSE``; needed to state a
        prior on the intercept of the line itself). The likelihood, and so
        the posterior under a flat intercept prior, is the same either way.
    priors : None, prior, or dict, default=None
        Priors that replace the autoscaled ones of the population-level
        coefficients and intercept, as in :class:`BayesianLogisticRegression`.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampler; fixed seeds give identical draws.
    progressbar : bool, default=True
        Show a progress bar while sampling or optimising (tqdm; a widget in
        Jupyter). Always off for clones made by ``sklearn.base.clone``, which
        every sklearn tool that fits the estimator internally uses.
    nuts_init : {"auto", "advi"}, default="auto"
        NUTS initialisation of the default sampler. ``"auto"``: PyMC's
        jittered start and an adapted diagonal mass matrix (a hierarchical
        posterior has no useful Gaussian approximation at its mode).
        ``"advi"``: start around a mean-field ADVI fit's means, its sds as
        the initial diagonal mass matrix (with ``nuts_sampler="pymc"``,
        PyMC's ``init="advi+adapt_diag"``; ``nuts_sampler="nutpie"`` refuses
        it).
    batch_size : int or None, default=None
        ADVI only: rows per minibatch. None uses every row at every step.
    max_iter : int, default=20000
        ADVI only: maximum number of iterations.
    tol : float, default=1e-2
        ADVI only: relative tolerance of the stopping rule, as in
        :class:`BayesianLogisticRegression`.
    on_convergence_problem : {"warn", "raise"}, default="warn"
        What a fit with convergence problems does: warn with
        :class:`~bayes_sklearn.BayesianConvergenceWarning`, or raise
        :class:`~bayes_sklearn.BayesianConvergenceError` and leave the
        estimator as it was.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied with ``sample_weight`` (as in
        :class:`~sklearn.linear_model.LogisticRegression`): a dict
        ``{label: weight}`` (missing classes weigh 1) or ``"balanced"``,
        ``n / (n_classes * bincount(y))`` with weighted counts. The weights are
        frequency weights of the likelihood, so a dict changes the effective
        sample size and with it the posterior width; ``"balanced"`` keeps the
        total weight at ``n``.

    Attributes
    ----------
    groups_ : ndarray
        Group labels seen in fit (``group=`` form only).
    group_levels_ : dict of str to ndarray
        Levels seen in fit of each grouping factor of the formula's group terms.
    classes_ : ndarray of shape (n_classes,)
    posterior_ : xarray.Dataset
        As for :class:`HierarchicalRegression`, without ``sigma``; with more
        than two classes, ``intercept``, ``coef`` and the group variables have
        a ``class`` axis (the non-reference classes).
    idata_ : arviz.InferenceData
        ``posterior_`` with sampler statistics, observed data and pointwise
        log likelihood, built on access.
    engine_ : {"kernel", "pymc", "exact"}
        The engine that ran: the precompiled kernel (NUTS with
        ``nuts_sampler="auto"`` on a model it covers, ADVI), the PyMC engine
        (the ``to_pymc`` model, compiled once per model structure and
        process; any other prior, or ``nuts_sampler="pymc"``/``"nutpie"``),
        or closed-form exact inference.

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
    >>> clf.posterior_["1|school"].shape  # (chain, draw, school__factor_dim)
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
        lkj_eta: float = 1.0,
        formula: str | None = None,
        handle_unknown: str = "error",
        fit_intercept: bool = True,
        inference: str = "nuts",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        target_accept: float = 0.95,
        nuts_sampler: str = "auto",
        prior_scale: float = 2.5,
        prior_intercept_scale: float = 2.5,
        center_predictors: bool = True,
        priors: Any = None,
        random_state: Any = None,
        progressbar: bool = True,
        nuts_init: str = "auto",
        batch_size: int | None = None,
        max_iter: int = 20_000,
        tol: float = 1e-2,
        on_convergence_problem: str = "warn",
        class_weight: dict | str | None = None,
    ):
        super().__init__(
            formula=formula, handle_unknown=handle_unknown, fit_intercept=fit_intercept,
            inference=inference, draws=draws,
            tune=tune, chains=chains, target_accept=target_accept, nuts_sampler=nuts_sampler,
            prior_scale=prior_scale, prior_intercept_scale=prior_intercept_scale,
            center_predictors=center_predictors,
            priors=priors, random_state=random_state, progressbar=progressbar,
            nuts_init=nuts_init, batch_size=batch_size, max_iter=max_iter, tol=tol,
            on_convergence_problem=on_convergence_problem, class_weight=class_weight,
        )
        self.group = group
        self.varying_slopes = varying_slopes
        self.new_groups = new_groups
        self.centered = centered
        self.prior_group_scale = prior_group_scale
        self.lkj_eta = lkj_eta

    predict_proba = with_group_terms(BayesianLogisticRegression.predict_proba)
    predict_proba_draws = with_group_terms(BayesianLogisticRegression.predict_proba_draws)
    predict_proba_interval = with_group_terms(BayesianLogisticRegression.predict_proba_interval)
    predict_log_proba = with_group_terms(BayesianLogisticRegression.predict_log_proba)
    decision_function = with_group_terms(BayesianLogisticRegression.decision_function)
    predict = with_group_terms(BayesianLogisticRegression.predict)


def _refuse_group_in_formula(formula: str, group: str) -> None:
    if group in parse_formula(formula).required_variables:
        raise ValueError(
            f"formula {formula!r} uses the group column {group!r}, but the group column "
            "is held apart from the data the formula sees: its effects (a varying "
            "intercept, and the varying_slopes) are already in the model. For a "
            "population-level effect of that column as well, copy it under another "
            f"name (e.g. X.assign({group}_effect=X[{group!r}])) and use that name."
        )


def _take_group_column(X, group) -> tuple[np.ndarray, Any]:
    """Split ``X`` into the group labels and the remaining feature columns.

    Data frames of any library come back as pandas; sparse matrices stay sparse.
    """
    X = pandas_if_frame(X)
    if is_sparse(X):
        return _take_sparse_group_column(X, group)
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


def _take_sparse_group_column(X, group) -> tuple[np.ndarray, Any]:
    if not isinstance(group, int):
        raise ValueError(
            f"group={group!r} names a column, but X is a sparse matrix without column "
            "names; pass the column's integer index."
        )
    if group >= X.shape[1]:
        raise ValueError(f"X has no column {group} to take the groups from.")
    X = X.tocsc()
    labels = X[:, [group]].toarray().ravel()
    rest = X[:, [j for j in range(X.shape[1]) if j != group]]
    return labels, rest.tocsr()


def _codes_of(labels: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Integer code of each label among ``known``; -1 when unseen."""
    return pd.Index(known).get_indexer(labels).astype(np.int64)
