"""Shared machinery of the Bayesian generalised linear estimators.

Public ``fit`` validates once and fits in private steps; a fit that fails or
is interrupted restores the estimator's previous state. All fitted state is
plain data: the design, the resolved model description, and the draws and
sampler statistics as NumPy arrays. Prediction reads the arrays;
``posterior_`` wraps them as an ``xarray.Dataset`` and ``idata_`` as ArviZ
``InferenceData`` on first access, and both are kept until the next fit.
"""

from __future__ import annotations

from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    _check_feature_names,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from bayes_sklearn._draws import Draws, posterior_draws, posterior_from_draws
from bayes_sklearn._idata import (
    build_inference_data,
    groups_of,
    observed_dataset,
    pointwise_dataset,
    sample_stats_groups,
    set_group,
)
from bayes_sklearn._progress import CLONE_FLAG, shows_progress
from bayes_sklearn.chunked.lazy import lazy_on_dask, per_draw_and_row
from bayes_sklearn.chunked.sources import is_chunked
from bayes_sklearn.design.arrays import ArrayDesign
from bayes_sklearn.design.formula import HANDLE_UNKNOWN_OPTIONS, FormulaDesign, as_frame
from bayes_sklearn.design.frames import pandas_if_frame
from bayes_sklearn.design.group_terms import split_group_terms
from bayes_sklearn.design.multilevel import MultilevelDesign
from bayes_sklearn.diagnostics import ConvergenceDiagnostics
from bayes_sklearn.estimators._fit_result import FitResult, check_convergence
from bayes_sklearn.inference import InferenceSettings, run_inference
from bayes_sklearn.model.lkj import correlation_draws
from bayes_sklearn.model.spec import ModelSpec, resolve_model_spec
from bayes_sklearn.persistence._registry import register
from bayes_sklearn.posterior import Posterior, TermEffects


class ModelInputs(NamedTuple):
    """What fit hands to inference: the steps of fit before it, done."""

    design: Any
    X_design: np.ndarray
    y: np.ndarray
    spec: ModelSpec
    output_names: Any
    #: the levels of group= (its term's levels), or None
    group_labels: Any
    sample_weight: np.ndarray | None
    #: one (Z, codes) per group term (of the formula, or group='s), or None
    group_designs: list | None


def _group_terms_input(design, group_arrays):
    """The group terms' (label, levels, effect names, correlated) and training designs."""
    if group_arrays is None:
        return None
    terms = design.group_terms
    info = [(bar.label, levels, names, bar.correlated)
            for bar, levels, names in zip(terms.terms, terms.levels, terms.effect_names)]
    return info, [arrays.matrix for arrays in group_arrays]


COMMON_PARAMETER_CONSTRAINTS: dict[str, list[Any]] = {
    "draws": [Interval(Integral, 1, None, closed="left")],
    "tune": [Interval(Integral, 0, None, closed="left")],
    "chains": [Interval(Integral, 1, None, closed="left")],
    "target_accept": [Interval(Real, 0, 1, closed="neither")],
    "nuts_sampler": [StrOptions({"auto", "pymc", "nutpie"})],
    "prior_scale": [Interval(Real, 0, None, closed="neither")],
    "prior_intercept_scale": [Interval(Real, 0, None, closed="neither")],
    # Any form as_prior accepts (PyMC distributions too): checked in fit.
    "priors": "no_validation",
    "random_state": ["random_state"],
    "progressbar": ["boolean"],
    "formula": [None, str],
    "fit_intercept": ["boolean"],
    "center_predictors": ["boolean"],
    "nuts_init": [StrOptions({"auto", "advi"})],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [None, Interval(Integral, 1, None, closed="left")],
    "handle_unknown": [StrOptions(set(HANDLE_UNKNOWN_OPTIONS))],
    "on_convergence_problem": [StrOptions({"warn", "raise"})],
}


class BayesianGLMBase(BaseEstimator):
    """Template for the estimators; subclasses supply the family and targets."""

    _parameter_constraints: dict = dict(COMMON_PARAMETER_CONSTRAINTS)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # save/load find classes here, without persistence importing the estimators
        register(cls)

    def __sklearn_clone__(self):
        # sklearn's tools fit clones; those fit without a progress bar.
        clone = super().__sklearn_clone__()
        setattr(clone, CLONE_FLAG, True)
        return clone

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # scipy sparse X without a formula: densified for fitting, kept sparse
        # (densified one block of rows at a time) for prediction
        tags.input_tags.sparse = True
        return tags

    # -- fitting -------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Fit the posterior to training data.

        Parameters
        ----------
        X : array-like, data frame or scipy sparse matrix of shape (n_samples, n_features)
            Training features. Data frames of any library (pandas, polars,
            ...) keep their column names; a sparse matrix (no formula) is
            densified for fitting and kept sparse for prediction.
            ``BayesianLinearRegression`` (exactly, through merged
            statistics) and ``BayesianLogisticRegression`` (by streaming
            minibatch ADVI) also fit data in chunks without gathering them:
            a Dask array or data frame, a parquet path or list of paths, or
            a function returning an iterable of ``(X, y)`` or
            ``(X, y, sample_weight)`` chunks (see the user guide's scaling
            page).
        y : array-like of shape (n_samples,)
            Targets: a Dask array or Series with Dask ``X``, a column name
            with parquet files, None with a function of chunks.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows' likelihood: weight 2 gives the same
            posterior as the row twice, weight 0 as the row removed (the
            autoscaled priors use the weighted moments too). Non-negative and
            finite, not all zero. None means all 1. With data in chunks, as
            ``y``.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0)
        >>> model.fit(X, y)
        BayesianLinearRegression(inference='exact', random_state=0)
        >>> dict(model.posterior_.sizes)
        {'chain': 4, 'draw': 1000, 'feature': 2}
        >>> bool(abs(model.coef_[0] - 2.0) < 0.5 and abs(model.coef_[1] + 1.0) < 0.5)
        True

        Weight 2 is the row twice:

        >>> w = rng.integers(0, 3, size=50)
        >>> weighted = BayesianLinearRegression(inference="exact", random_state=0)
        >>> weighted = weighted.fit(X, y, sample_weight=w)
        >>> repeated = BayesianLinearRegression(inference="exact", random_state=0)
        >>> repeated = repeated.fit(np.repeat(X, w, axis=0), np.repeat(y, w))
        >>> bool(np.abs(weighted.coef_ - repeated.coef_).max() < 0.05)
        True
        """
        self._validate_params()
        with self._unchanged_on_failure():
            self._fit(X, y, sample_weight)
        return self

    @contextmanager
    def _unchanged_on_failure(self):
        """Nothing half-written: a failed or interrupted fit leaves the
        estimator exactly as it was (fitted or not)."""
        previous_state = self.__dict__.copy()
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise

    def _fit(self, X, y, sample_weight=None) -> None:
        if is_chunked(X):
            self._finish_fit(self._infer_chunked(X, y, sample_weight))
        else:
            self._finish_fit(self._infer(X, y, sample_weight))

    def _finish_fit(self, result: FitResult) -> None:
        """Check convergence (a warning names the user's call) and store the fit."""
        diagnostics = check_convergence(result, type(self).__name__,
                                        self.on_convergence_problem)
        self._set_fitted(result, diagnostics)

    def _infer(self, X, y, sample_weight=None) -> FitResult:
        """Validate the training data and run inference; no fitted attribute is set.

        Only sklearn's validation attributes (``n_features_in_``,
        ``feature_names_in_``) are set, by ``validate_data`` as it checks X,
        and the classifiers' ``classes_``, by ``_encode_target`` (which
        ``sample_prior_predictive`` also relies on to decode labels).
        """
        inputs = self._model_inputs(X, y, sample_weight)
        spec = inputs.spec
        settings = self._inference_settings()
        result = run_inference(spec, spec.standardizer.transform(inputs.X_design), inputs.y,
                               settings, sample_weight=inputs.sample_weight,
                               group_designs=inputs.group_designs)
        return self._fit_result(inputs.design, spec, settings, result, inputs.output_names,
                                inputs.group_labels)

    def _fit_result(self, design, spec: ModelSpec, settings: InferenceSettings, result,
                    output_names=None, group_labels=None, statistics=None) -> FitResult:
        """Inference's result with the draws named and mapped to the data's scale."""
        return FitResult(
            statistics=statistics,
            design=design,
            spec=spec,
            posterior=posterior_draws(spec, result, output_names),
            settings=settings,
            method=result.method,
            elbo_history=result.elbo_history,
            n_iter=_iterations(settings, result),
            sample_stats=result.sample_stats,
            converged=result.converged,
            group_labels=group_labels,
            engine=result.engine,
            moments=None if result.moments is None
            else spec.standardizer.moments_to_original(*result.moments),
        )

    def _chunked_input(self, X, y, sample_weight=None):
        """A chunked source, and the formula's design learnt on it (None without one).

        With a formula the source becomes a Dask DataFrame of the design
        columns (:func:`~bayes_sklearn.chunked.formula.design_frame`), and
        the features are the frame's columns, as for a formula in memory.
        """
        from dataclasses import replace

        from bayes_sklearn.chunked.sources import recognise

        data = recognise(X, y, sample_weight)
        if self.formula is None:
            return data, None
        if data.kind != "dask-frame":
            raise ValueError(
                "A formula on data in chunks needs them as a Dask DataFrame (or parquet files "
                "read through Dask), whose columns' levels can be gathered first; build the "
                "design columns first for other sources."
            )
        if "|" in self.formula and split_group_terms(self.formula)[1]:
            self._refuse_group_terms()
        from bayes_sklearn.chunked.formula import design_frame

        design, frame = design_frame(data.X, self.formula, self.handle_unknown)
        names = data.feature_names
        self.n_features_in_ = len(names)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        return replace(data, X=frame, feature_names=design.column_names), design

    def _set_chunked_features(self, names, n_features: int) -> None:
        """``n_features_in_`` and ``feature_names_in_`` (when named) of data not in memory."""
        if names is not None and len(names) != n_features:
            raise ValueError(f"{len(names)} feature names for {n_features} features.")
        self.n_features_in_ = n_features
        if names is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = np.asarray([str(name) for name in names], dtype=object)

    def _named_design(self) -> ArrayDesign:
        return ArrayDesign.fit(np.empty((0, self.n_features_in_)),
                               getattr(self, "feature_names_in_", None))

    def _infer_chunked(self, X, y, sample_weight=None) -> FitResult:
        """Inference on data in chunks (Dask, parquet, an iterator factory)."""
        raise ValueError(
            f"{type(self).__name__} fits data in memory (arrays and data frames); X is "
            f"{type(X).__name__}, data in chunks. BayesianLinearRegression fits Dask "
            "collections, parquet files and iterators of chunks without gathering them."
        )

    def _model_inputs(self, X, y, sample_weight=None):
        """The steps of fit before inference: groups, design, encoded target, weights, spec.

        The returned weights are the likelihood weights (with ``class_weight``
        folded in), the ones the resolved spec's autoscaling used.
        """
        label = self._group_label(X)
        X, group_labels, group_codes = self._split_groups(X, fitting=True)
        design, X_design, y, group_arrays = self._fit_design(X, y)
        if sample_weight is not None:
            sample_weight = _validate_sample_weight(sample_weight, X_design)
        y_fit, _, family, n_outputs, output_names = self._encode_target(y)
        sample_weight = self._likelihood_weights(y, sample_weight)
        if group_labels is None:
            group_terms = _group_terms_input(design, group_arrays)
            group_designs = None if group_arrays is None else [tuple(a) for a in group_arrays]
        else:  # group=: the shorthand of the term (1 + varying_slopes | group)
            info, group_designs = self._shorthand_term(label, design.column_names, X_design,
                                                       group_labels, group_codes)
            group_terms = info, [Z for Z, _ in group_designs]
        spec = self._resolve_spec(design.column_names, X_design, y_fit, family, n_outputs,
                                  sample_weight=sample_weight,
                                  design_intercept=getattr(design, "intercept", True),
                                  group_terms=group_terms)
        return ModelInputs(design, X_design, y_fit, spec, output_names,
                           group_labels, sample_weight, group_designs)

    def to_pymc(self, X, y, sample_weight=None):
        """The estimator's model of ``(X, y)`` as a ``pymc.Model``, not sampled.

        The model is the one :meth:`fit` samples: the same design, likelihood
        and priors (autoscaled to these data as in ``fit``), written on the
        original scale of the data. Coordinates are named by the design
        columns (``feature``; ``class`` for the non-reference classes of a
        multiclass model; ``county__factor_dim`` and ``county__effect`` for
        a group term of ``county``) and variables as in ``posterior_``:
        ``intercept``, ``coef``, ``sigma``, ``"1|county"``,
        ``"1|county_sigma"``, ``"county_corr"``.

        The default intercept prior is stated at the feature means, so the
        free variable is ``intercept_c``, the intercept at the feature
        means (the ``pm.Data`` ``"x_mean"``), and ``intercept = intercept_c -
        x_mean @ coef`` is a Deterministic. A group term's free variables
        are its standard-normal ``county_offset``, its sds ``county_sigma``
        and its correlation's partial correlations ``county_corr_cpc``. The
        data are ``pm.Data`` containers ``"X"``, ``"y_data"`` (class codes
        for classifiers), each group term's design and codes
        (``"county__design"``, ``"county__code"``) and ``"sample_weight"``; the observed variable is
        ``"y"``. The estimator itself is not changed: fitted or not, it
        stays as it was.

        Parameters
        ----------
        X : array-like or data frame of shape (n_samples, n_features)
            Features, as for :meth:`fit`.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), optional
            Likelihood weights: each row's log density is multiplied by its
            weight (weight 2 is the row twice).

        Returns
        -------
        pymc.Model
            Sample it with ``pm.sample``, inspect it with
            ``pm.model_to_graphviz``, or add terms to it with ``with model:``.

        Examples
        --------
        >>> import numpy as np
        >>> import pymc as pm
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression().to_pymc(X, y)
        >>> sorted(v.name for v in model.free_RVs)
        ['coef', 'intercept_c', 'sigma']
        >>> model.coords["feature"]
        ('x0', 'x1')
        >>> with model:
        ...     extra = pm.Normal("extra", 0.0, 1.0)
        >>> "extra" in model.named_vars
        True
        """
        from bayes_sklearn.model.pymc_model import build_reference_model

        self._validate_params()
        unfitted = type(self)(**self.get_params())
        inputs = unfitted._model_inputs(X, y, sample_weight)
        return build_reference_model(inputs.spec, inputs.X_design, inputs.y,
                                     sample_weight=inputs.sample_weight,
                                     output_names=inputs.output_names,
                                     group_designs=inputs.group_designs)

    def _set_fitted(
        self, result: FitResult, diagnostics: ConvergenceDiagnostics | None
    ) -> None:
        """Store the fit: the fitted attributes, all from ``result`` and its diagnostics."""
        self.design_ = result.design
        self.model_spec_ = result.spec
        self._draws = result.posterior
        self._posterior_dataset = None  # built on first access of posterior_
        # Only groups whose size grows with draws x parameters: per-row groups
        # (log likelihood, predictions) are computed on request.
        self._sample_stats = result.sample_stats
        self._idata_groups = None  # the sample_stats group, built on request
        self._idata = None  # built on first access of idata_
        self.inference_method_ = result.method
        self.engine_ = result.engine
        self.convergence_ = diagnostics
        self.elbo_history_ = result.elbo_history
        self.n_iter_ = result.n_iter
        if result.statistics is None:
            self.__dict__.pop("statistics_", None)
        else:
            self.statistics_ = result.statistics
        self._set_point_estimates(posterior_from_draws(result.posterior, result.spec),
                                  result.moments)

    def _likelihood_weights(self, y, sample_weight: np.ndarray | None) -> np.ndarray | None:
        """The rows' likelihood weights; classifiers fold in ``class_weight``."""
        return sample_weight

    def _group_label(self, X) -> str | None:
        """The grouping factor's name of ``group=``; no groups here."""
        return None

    def _split_groups(self, X, fitting: bool, policy: str | None = None):
        """Hold the group column apart from the features; no groups here."""
        return X, None, None

    def _validate_kwargs(self) -> dict[str, Any]:
        return {}

    def _fit_design(self, X, y):
        """Validate training data and learn the design: arrays as given, or a formula."""
        _refuse_multi_output(y, type(self).__name__)
        if self.formula is None:
            X = pandas_if_frame(X)
            _refuse_non_numeric_frame(X)
            X, y = validate_data(self, X, y, reset=True, accept_sparse=ArrayDesign.SPARSE_FORMATS,
                                 **self._validate_kwargs())
            design = ArrayDesign.fit(X, getattr(self, "feature_names_in_", None))
            # the backends take a dense design: a sparse X is densified here only
            return design, design.transform(X, dense=True), y, None
        # y alone first: validate_data without X would clear feature names
        y = validate_data(self, X="no_validation", y=y, **self._validate_kwargs())
        _check_feature_names(self, X, reset=True)
        frame = as_frame(X)
        self.n_features_in_ = frame.shape[1]
        check_consistent_length(frame, y)
        if len(frame) == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        group_arrays = None
        # only a formula with a bar can have group terms; any other goes to formulaic
        # whole, whose syntax errors we translate
        if "|" in self.formula and split_group_terms(self.formula)[1]:
            self._refuse_group_terms()
            design, X_design, group_arrays = MultilevelDesign.fit(frame, self.formula)
            terms = design.group_terms
            for term, names, arrays in zip(terms.terms, terms.effect_names, group_arrays):
                _check_finite_design(arrays.matrix, [f"{name} of {term}" for name in names])
        else:
            design, X_design = FormulaDesign.fit(frame, self.formula)
        _check_finite_design(X_design, design.column_names)
        return design, X_design, y, group_arrays

    def _refuse_group_terms(self) -> None:
        """Group terms in the formula: only the hierarchical estimators take them."""
        raise ValueError(
            f"formula {self.formula!r} has group terms such as '(1 | g)', which "
            f"{type(self).__name__} does not fit; use HierarchicalRegression or "
            "HierarchicalLogisticRegression for them."
        )

    def _resolve_spec(
        self,
        coef_names: tuple[str, ...],
        X_design: np.ndarray,
        y_fit: np.ndarray,
        family: str,
        n_outputs: int,
        sample_weight: np.ndarray | None = None,
        design_intercept: bool = True,
        group_terms=None,
        priors: Any = None,
        moments: tuple | None = None,
    ) -> ModelSpec:
        """The resolved model; ``priors`` replaces the ``priors`` parameter when given
        (the hierarchical estimators pass the coefficients' share of it).

        ``group_terms`` is None here: :meth:`_fit_design` refuses group terms
        in a formula of the other estimators, and the hierarchical ones
        resolve theirs in ``FormulaGroupTermsMixin._resolve_spec``. ``moments``
        stand in for ``X_design`` and ``y_fit`` (see ``resolve_model_spec``).
        """
        # fit_intercept=False or a formula without one ("0 +", "- 1"): no intercept
        fit_intercept = bool(self.fit_intercept and design_intercept)
        return resolve_model_spec(
            family=family,
            coef_names=coef_names,
            X=X_design,
            y=y_fit,
            n_outputs=n_outputs,
            prior_scale=self.prior_scale,
            prior_intercept_scale=self.prior_intercept_scale,
            priors=self.priors if priors is None else priors,
            prior_noise=getattr(self, "prior_noise", None),
            sample_weight=sample_weight,
            fit_intercept=fit_intercept,
            center_predictors=self.center_predictors,
            moments=moments,
        )

    def _inference_settings(self) -> InferenceSettings:
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        return InferenceSettings(
            method=self.inference,
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            target_accept=self.target_accept,
            nuts_sampler=self.nuts_sampler,
            seed=int(seed),
            progressbar=shows_progress(self),
            nuts_init=self.nuts_init,
            max_iter=self.max_iter,
            tol=self.tol,
            batch_size=self.batch_size,
        )

    # -- reading the fit -----------------------------------------------------

    @property
    def posterior_(self):
        """The posterior draws as an ``xarray.Dataset``, named by feature.

        ``intercept``, ``coef`` (over ``feature``, and ``class`` for more than
        two classes), ``sigma`` for the regressions and each group term's
        variables, all over ``chain`` and ``draw``, on the original scale of
        the features. Wraps the fit's arrays (no copy) on first access; kept
        until the next fit.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> model.posterior_["coef"].dims
        ('chain', 'draw', 'feature')
        >>> model.posterior_["coef"].coords["feature"].values.tolist()
        ['x0', 'x1']
        >>> model.posterior_ is model.posterior_
        True
        """
        dataset = self.__dict__.get("_posterior_dataset")
        if dataset is None:
            draws = self.__dict__.get("_draws")
            if draws is None:
                raise AttributeError(f"{type(self).__name__} has no posterior_: fit it first.")
            dataset = draws.to_dataset()
            self._posterior_dataset = dataset
        return dataset

    @posterior_.setter
    def posterior_(self, dataset) -> None:
        # A loaded file's posterior: prediction reads the same arrays.
        self._draws = Draws.from_dataset(dataset)
        self._posterior_dataset = dataset

    @property
    def idata_(self):
        """The fit as ``arviz.InferenceData``: one object per fit.

        It holds ``posterior`` and, after NUTS, ``sample_stats``: its size
        grows with draws x parameters, not with training rows. Groups with a
        value per row are added on request: :meth:`compute_log_likelihood`
        adds ``log_likelihood`` and ``observed_data`` (for ``arviz.loo``,
        ``arviz.compare``), ``sample_posterior_predictive(...,
        extend_inferencedata=True)`` adds ``posterior_predictive`` (for
        ``arviz.plot_ppc``). Built on first access and kept until the next
        fit, so groups added with ``idata_.add_groups`` stay, also through
        pickling; :meth:`save` stores them with ``include_data=True``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> model.idata_.groups()  # exact draws have no sampler statistics
        ['posterior']
        >>> model.idata_ is model.idata_
        True
        >>> idata = model.compute_log_likelihood(X, y)
        >>> sorted(idata.groups())
        ['log_likelihood', 'observed_data', 'posterior']
        >>> idata.log_likelihood["y"].shape  # (chain, draw, row), for arviz.loo
        (4, 1000, 50)
        """
        idata = self.__dict__.get("_idata")
        if idata is None:
            # AttributeError before fit, like any fitted attribute
            idata = build_inference_data(self.posterior_, self._idata_datasets())
            self._idata = idata
        return idata

    def _idata_datasets(self) -> dict:
        """The groups of ``idata_`` but the posterior, as datasets, without importing ArviZ."""
        idata = self.__dict__.get("_idata")
        if idata is not None:
            return groups_of(idata)
        groups = self.__dict__.get("_idata_groups")
        if groups is None:
            groups = sample_stats_groups(self._draws, self.__dict__.get("_sample_stats"))
            self._idata_groups = groups
        return groups

    def __getstate__(self):
        # The cached InferenceData is pickled as its datasets, so unpickling
        # needs no ArviZ and groups added by the user are kept. The cached
        # posterior_ Dataset is left out: the draws are its arrays.
        state = dict(super().__getstate__())
        if state.get("_idata") is not None:
            state["_idata_groups"] = self._idata_datasets()
            state["_idata"] = None
        if state.get("_posterior_dataset") is not None:
            state["_posterior_dataset"] = None
        return state

    def compute_log_likelihood(self, X, y, sample_weight=None):
        """Add the pointwise log likelihood of ``(X, y)`` to ``idata_``, as for ``arviz.loo``.

        Like ``pymc.compute_log_likelihood``: the ``log_likelihood`` group
        (variable ``y``, dims ``(chain, draw, obs)``, float64) and the
        ``observed_data`` group (the targets as given) of ``idata_`` are
        replaced by those of these rows. Pass the training rows for
        ``arviz.loo``, ``arviz.waic`` and ``arviz.compare``. The values are
        computed in blocks of rows, so the only memory needed is that of the
        result: 8 bytes x chains x draws x rows (3.2 GB for 4000 draws and
        100,000 rows; use fewer draws, or :meth:`log_likelihood` on a subset
        of rows, beyond that). Not stored by ``fit``, so a fitted estimator
        stays small.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to evaluate, normally the training rows.
        y : array-like of shape (n_samples,)
            Their targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights, as in :meth:`fit` and :meth:`log_likelihood`:
            row ``i``'s pointwise value is ``w_i * log p(y_i | theta)``. Pass
            the weights of a weighted fit, so that ``arviz.loo`` scores the
            weighted model (PSIS-LOO leaves out a row with all its ``w_i``
            copies at once); without them it scores the unweighted one.

        Returns
        -------
        arviz.InferenceData
            ``idata_`` itself, with the two groups added.

        Examples
        --------
        >>> import arviz as az
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> loo = az.loo(model.compute_log_likelihood(X, y))
        >>> bool(loo.elpd_loo < 0), int(loo.n_data_points)
        (True, 50)
        >>> model.idata_.observed_data["y"].shape
        (50,)
        """
        log_lik = self.log_likelihood(X, y, sample_weight=sample_weight)
        idata = self.idata_
        set_group(idata, "log_likelihood", pointwise_dataset(self._draws, log_lik))
        set_group(idata, "observed_data", observed_dataset(np.asarray(y).ravel()))
        return idata

    def _posterior(self) -> Posterior:
        """Flat views of the draws (no copy)."""
        return posterior_from_draws(self._draws, self.model_spec_)

    def _prepare(self, X) -> tuple[np.ndarray, Posterior]:
        """Design matrix of new rows and the posterior that predicts them."""
        check_is_fitted(self)
        return self._design_matrix(X), self._posterior()

    def _design_matrix(self, X) -> np.ndarray:
        if isinstance(self.design_, ArrayDesign):
            X = pandas_if_frame(X)
            _refuse_non_numeric_frame(X)
            X = validate_data(self, X, reset=False, accept_sparse=ArrayDesign.SPARSE_FORMATS)
            return self.design_.transform(X)
        # A formula needs only the columns it names: extra columns are fine.
        frame = as_frame(X, getattr(self, "feature_names_in_", None))
        X_design = self.design_.transform(frame, self.handle_unknown)
        _check_finite_design(X_design, self.design_.column_names)
        return X_design

    @lazy_on_dask(per_draw_and_row, n_aligned=2)
    def log_likelihood(self, X, y, sample_weight=None) -> np.ndarray:
        """Pointwise log likelihood of ``(X, y)`` under every posterior draw.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to evaluate (training or held-out).
            A Dask array or data frame (with ``y`` and ``sample_weight`` as
            Dask collections) gives a lazy Dask array instead, chunked along
            the rows as ``X``.
        y : array-like of shape (n_samples,)
            Their targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights, as in :meth:`fit`: row ``i``'s value is
            ``w_i * log p(y_i | theta)``, the log likelihood of its ``w_i``
            copies together (as brms's ``log_lik`` of a weighted model).
            Pass the weights of a weighted fit for ``arviz.loo`` and
            ``arviz.waic`` of the model that was fitted; LOO then leaves out
            a row with all its copies at once. ``class_weight`` is not
            folded in. Non-negative and finite, not all zero. None means
            all 1.

        Returns
        -------
        ndarray of shape (n_chains, n_draws, n_samples)
            Usable with ``arviz.loo``/``waic`` or as a held-out predictive score.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> log_lik = model.log_likelihood(X[:5], y[:5])
        >>> log_lik.shape  # 4 chains x 1000 draws x 5 rows
        (4, 1000, 5)
        >>> # the observed targets are far more likely than sign-flipped ones
        >>> bool(model.log_likelihood(X, y).mean() > model.log_likelihood(X, -y).mean())
        True

        Weight 3 is the row three times:

        >>> w = np.array([1, 3, 0, 2, 1])
        >>> weighted = model.log_likelihood(X[:5], y[:5], sample_weight=w)
        >>> bool(np.allclose(weighted[:, :, 1], 3 * log_lik[:, :, 1]))
        True
        """
        X_design, posterior = self._prepare(X)
        y_fit = self._encode_new_target(np.asarray(y))
        if len(y_fit) != X_design.shape[0]:
            raise ValueError(
                f"X has {X_design.shape[0]} rows but y has {len(y_fit)} values."
            )
        if sample_weight is not None:
            sample_weight = _validate_sample_weight(sample_weight, X_design)
        shape = (self._draws.n_chains, self._draws.n_draws, -1)
        log_lik = posterior.log_likelihood(X_design, y_fit).reshape(shape)
        if sample_weight is None:
            return log_lik
        # Weight 0 is the row removed: exactly 0, even where its log likelihood is -inf.
        weighted = np.zeros_like(log_lik)
        np.multiply(log_lik, sample_weight, out=weighted, where=sample_weight > 0)
        return weighted

    def summary(self, var_names=None, **kwargs):
        """Posterior summary table (``arviz.summary``) of the model parameters.

        Parameters
        ----------
        var_names : list of str, optional
            Variables of ``idata_.posterior``; default intercept, coefficients
            and noise scale, and for group terms of the formula their sds and
            correlations (each pair once), as brms's summary shows them. The
            per-level effects have their own variables (``"1|county"``).
        **kwargs
            Passed to :func:`arviz.summary` (e.g. ``hdi_prob=0.9``).

        Returns
        -------
        pandas.DataFrame
            One row per parameter (vector variables get one row per element);
            columns as :func:`arviz.summary`: mean, sd, HDI bounds, MCSE, ESS
            and r_hat.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> table = model.summary(hdi_prob=0.9)
        >>> list(table.index)
        ['intercept', 'coef[x0]', 'coef[x1]', 'sigma']
        >>> list(table.columns[:4])
        ['mean', 'sd', 'hdi_5%', 'hdi_95%']
        >>> bool(table.loc["coef[x0]", "hdi_5%"] < 2.0 < table.loc["coef[x0]", "hdi_95%"])
        True
        """
        import arviz as az

        check_is_fitted(self)
        defaults = var_names is None
        if defaults:
            var_names = [v for v in ("intercept", "coef", "sigma") if v in self._draws]
            terms = self.model_spec_.group_terms
            var_names += [f"{name}_sigma" for term in terms for name in term.effect_names]
            var_names += [f"{term.label}_corr" for term in terms
                          if f"{term.label}_corr" in self._draws]
        table = az.summary(self.idata_, var_names=var_names, **kwargs)
        if defaults and self.model_spec_.group_terms:
            # a correlation matrix's diagonal is 1 and its upper triangle repeats the lower
            table = table.loc[[not _repeated_correlation(name, self.model_spec_.group_terms)
                               for name in table.index]]
        return table

    def _expected_value_draws(self, X, n_draws: int | None, random_state) -> np.ndarray:
        """``E[y]`` (or class probabilities) under a subset of the posterior draws."""
        X_design, posterior = self._prepare(X)
        index = _draw_index(posterior.n_draws, n_draws, _generator(random_state))
        return _expected_values(posterior.subset(np.sort(index)), X_design)

    # -- persistence ---------------------------------------------------------

    def save(self, path, *, include_data: bool = False):
        """Write the fitted estimator to a file that loading cannot execute.

        The file is NetCDF-4: the posterior and sampler statistics as groups,
        parameters and fitted design as JSON attributes. Unlike pickle,
        :meth:`load` builds only known types and checks formulas against a
        list of allowed transforms, so files from others are safe to load.

        Parameters
        ----------
        path : str or path-like
            Destination file (replaced only when the new one is complete).
        include_data : bool, default=False
            Also store the training targets and their pointwise log likelihood.

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
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = model.save(Path(tmp) / "model.nc")
        ...     loaded = BayesianLinearRegression.load(path)
        >>> path.name
        'model.nc'
        >>> bool(np.array_equal(loaded.predict(X), model.predict(X)))
        True
        """
        from bayes_sklearn.persistence import save

        return save(self, path, include_data=include_data)

    @classmethod
    def load(cls, path):
        """Read an estimator of this class written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save` or :func:`bayes_sklearn.persistence.save`.

        Returns
        -------
        estimator
            A fitted estimator that predicts exactly as the saved one did.

        Raises
        ------
        TypeError
            If the file holds another estimator class.
        ValueError
            If the file is not a bayes_sklearn file, has another format
            version, or holds a formula with a transform not on the allowed list.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from bayes_sklearn import BayesianLogisticRegression
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = model.save(Path(tmp) / "model.nc")
        ...     loaded = BayesianLinearRegression.load(path)
        ...     try:
        ...         BayesianLogisticRegression.load(path)
        ...     except TypeError:
        ...         print("refused: the file holds a BayesianLinearRegression")
        refused: the file holds a BayesianLinearRegression
        >>> bool(np.array_equal(loaded.predict(X), model.predict(X)))
        True
        """
        from bayes_sklearn.persistence import load

        return load(path, expected_class=cls)

    # -- simulation ----------------------------------------------------------

    def sample_posterior_predictive(
        self, X, n_samples: int | None = None, random_state=None, *,
        extend_inferencedata: bool = False,
    ) -> np.ndarray:
        """Simulate new outcomes for the rows of ``X`` from the posterior.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows to simulate outcomes for.
        n_samples : int, optional
            Number of simulated data sets; default one per posterior draw.
        random_state : int, RandomState, Generator or None
            Seed for the simulation.
        extend_inferencedata : bool, default=False
            As in ``pymc.sample_posterior_predictive``: also put the
            simulations into ``idata_`` as its ``posterior_predictive`` group
            (variable ``y``, dims ``(chain, draw, obs)``, replacing an earlier
            one), one per posterior draw, so ``n_samples`` must be None. With
            :meth:`compute_log_likelihood` on the same rows first,
            ``arviz.plot_ppc(model.idata_)`` compares them with the observed
            targets.

        Returns
        -------
        ndarray of shape (n_samples, n_rows)
            Simulated targets (class labels for classifiers), whatever
            ``extend_inferencedata`` is.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> sims = model.sample_posterior_predictive(X[:3], n_samples=200, random_state=0)
        >>> sims.shape
        (200, 3)
        >>> # simulated outcomes scatter around the posterior mean prediction
        >>> bool(np.all(np.abs(sims.mean(axis=0) - model.predict(X[:3])) < 0.2))
        True
        >>> idata = model.compute_log_likelihood(X, y)
        >>> _ = model.sample_posterior_predictive(X, random_state=0, extend_inferencedata=True)
        >>> model.idata_.posterior_predictive["y"].shape  # ready for arviz.plot_ppc
        (4, 1000, 50)
        """
        if extend_inferencedata and n_samples is not None:
            raise ValueError(
                "extend_inferencedata=True stores one simulation per posterior draw, as "
                f"(chain, draw, obs); n_samples must be None, got {n_samples!r}."
            )
        X_design, posterior = self._prepare(X)
        rng = _generator(random_state)
        posterior = posterior.subset(_draw_index(posterior.n_draws, n_samples, rng))
        outcomes = self._decode_outcomes(posterior.sample_outcomes(X_design, rng))
        if extend_inferencedata:
            shape = (self._draws.n_chains, self._draws.n_draws, -1)
            set_group(self.idata_, "posterior_predictive",
                      pointwise_dataset(self._draws, outcomes.reshape(shape)))
        return outcomes

    def sample_prior_predictive(
        self, X, y=None, n_samples: int = 500, random_state=None, kind: str = "outcome"
    ) -> np.ndarray:
        """Simulate outcomes (or regression lines) for the rows of ``X`` from the prior.

        The default priors are scaled to the data, so they need training
        targets: pass ``y``, or call this on a fitted estimator to use the
        priors it was fitted with.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows to simulate outcomes for.
        y : array-like of shape (n_rows,), optional
            Targets that set the autoscaled priors (for an unfitted estimator).
        n_samples : int, default=500
            Number of simulated data sets.
        random_state : int, RandomState, Generator or None
            Seed for the simulation.
        kind : {"outcome", "mean"}, default="outcome"
            ``"outcome"`` simulates targets; ``"mean"`` returns ``E[y | x]``
            under each prior draw (the prior's regression lines, or class
            probabilities for classifiers), without the noise.

        Returns
        -------
        ndarray of shape (n_samples, n_rows), or (n_samples, n_rows, n_classes)
            Simulated targets (class labels for classifiers); with
            ``kind="mean"``, expected values (class probabilities).

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> sims = BayesianLinearRegression().sample_prior_predictive(
        ...     X, y, n_samples=100, random_state=0)
        >>> sims.shape
        (100, 50)
        >>> bool(sims.std() > y.std())  # weakly informative: wider than the data
        True
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> model.sample_prior_predictive(X[:3], n_samples=10, random_state=0).shape
        (10, 3)
        >>> lines = model.sample_prior_predictive(X[:3], n_samples=10, kind="mean", random_state=0)
        >>> lines.shape  # 10 prior regression lines at 3 rows
        (10, 3)
        """
        if kind not in ("outcome", "mean"):
            raise ValueError(f"kind must be 'outcome' or 'mean', got {kind!r}.")
        rng = _generator(random_state)
        term_rows = None
        if y is not None:
            spec, X_design, term_rows, decode = self._prior_spec_from_data(X, y)
        elif hasattr(self, "model_spec_"):
            check_is_fitted(self)
            spec, decode = self.model_spec_, self._decode_outcomes
            X_design, term_rows = self._prior_rows(X)
        else:
            raise NotFittedError(
                f"{type(self).__name__}.sample_prior_predictive needs y (to scale the "
                "default priors) or a fitted estimator."
            )
        term_levels = None if term_rows is None else [
            int(term_codes.max(initial=-1)) + 1 for _, term_codes in term_rows]
        prior = prior_draws(spec, n_samples, rng, term_levels=term_levels)
        if term_rows is not None:
            prior = prior.with_term_rows(term_rows)
        if kind == "mean":
            return _expected_values(prior, X_design)
        return decode(prior.sample_outcomes(X_design, rng))

    def _prior_spec_from_data(self, X, y):
        self._validate_params()
        unfitted = type(self)(**self.get_params())
        inputs = unfitted._model_inputs(X, y)
        return inputs.spec, inputs.X_design, inputs.group_designs, unfitted._decode_outcomes

    def _prior_rows(self, X):
        """Design and group-term rows of new rows, for prior draws.

        Under the prior every level is new: the group terms' levels unseen in
        fit each get a code of their own after the known ones.
        """
        return self._design_matrix(X), None

    # -- hooks for subclasses ------------------------------------------------

    def _encode_target(self, y: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_new_target(self, y: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _decode_outcomes(self, outcomes: np.ndarray) -> np.ndarray:
        return outcomes

    def _set_point_estimates(  # pragma: no cover
        self, posterior: Posterior, moments: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        raise NotImplementedError


def _repeated_correlation(row: str, terms) -> bool:
    """Whether a summary row is a correlation matrix's diagonal or upper triangle."""
    for term in terms:
        prefix = f"{term.label}_corr["
        if row.startswith(prefix):
            # arviz writes "g_corr[1|g, x|g]" (with a class first in a multiclass
            # model); effect names may hold commas ("C(x, Sum)[S.a]|g")
            names = term.effect_names
            return any(row.endswith(f"{a}, {b}]") for i, a in enumerate(names)
                       for b in names[: i + 1])
    return False


def _iterations(settings: InferenceSettings, result) -> int:
    """Iterations per chain: NUTS warm-up plus draws, ADVI steps, 1 for exact."""
    if result.elbo_history is not None:
        return len(result.elbo_history)
    if settings.method == "nuts":
        return settings.tune + settings.draws
    return 1


def _validate_sample_weight(sample_weight, X_design: np.ndarray) -> np.ndarray:
    """Frequency weights as float64, one per row of ``X_design``: finite, >= 0, not all 0.

    A validated copy: the caller's array is never written to.
    """
    sample_weight = _check_sample_weight(
        sample_weight, X_design, dtype=np.float64, ensure_non_negative=True, copy=True
    )
    if not np.any(sample_weight > 0):  # scikit-learn 1.6 lets all-zero weights through
        raise ValueError("sample_weight must contain at least one non-zero weight.")
    return sample_weight


def _refuse_non_numeric_frame(X) -> None:
    """A clear error for categorical/text columns when there is no formula."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    import pandas as pd

    bad = [str(name) for name, dtype in dtypes.items()
           if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))]
    if bad:
        raise ValueError(
            f"X has non-numeric columns {bad}. Encode them first (e.g. OneHotEncoder) "
            "or pass a formula, e.g. formula='x1 + C(region)', to encode them."
        )


def _refuse_multi_output(y, estimator_name: str) -> None:
    """A clear error for multi-output or multilabel targets (one target per row only)."""
    shape = np.asarray(y).shape if not hasattr(y, "shape") else tuple(y.shape)
    if len(shape) == 2 and shape[1] > 1:
        raise ValueError(
            f"{estimator_name} fits one target per row, but y has shape {shape} "
            "(multi-output or multilabel). Fit one model per column, e.g. with "
            "sklearn.multioutput.MultiOutputRegressor or MultiOutputClassifier."
        )


def _check_finite_design(X_design: np.ndarray, names) -> None:
    bad = ~np.isfinite(X_design).all(axis=0)
    if np.any(bad):
        raise ValueError(
            "The design matrix contains NaN or infinity in columns "
            f"{[names[i] for i in np.flatnonzero(bad)]} (check X and the formula's transforms)."
        )


def prior_draws(
    spec: ModelSpec, n_draws: int, rng: np.random.Generator,
    term_levels: list[int] | None = None,
) -> Posterior:
    """Draws from the prior of ``spec``, as a :class:`Posterior` value.

    Each group term gets its ``term_levels`` entry of levels (default: those
    seen in fit), drawn through its sd priors and LKJ prior.
    """
    m = spec.n_outputs
    intercept_z = spec.intercept_prior.rvs((n_draws, m), rng)
    coef_z = np.stack(
        [prior.rvs((n_draws, m), rng) for prior in spec.sampling_coef_priors()], axis=1
    )
    intercept, coef = spec.standardizer.coef_to_original(intercept_z, coef_z)
    sigma = spec.noise_prior.rvs(n_draws, rng) if spec.noise_prior is not None else None
    terms = []
    for k, term in enumerate(spec.group_terms):
        n_levels = term.n_levels if term_levels is None else max(term_levels[k], 1)
        # every output (class) has sds and a correlation of its own, as in the model
        sd = np.stack([p.rvs((n_draws, m), rng) for p in term.sd_priors], axis=1)
        corr = None
        if term.is_correlated:
            corr = correlation_draws(term.n_effects, term.lkj_eta, n_draws * m, rng)
            corr = corr.reshape(n_draws, m, term.n_effects, term.n_effects)
        empty = TermEffects(np.zeros((n_draws, 0, term.n_effects, m)), sd, corr)
        terms.append(empty.with_new_levels(n_levels, rng))
    return Posterior(spec.family, intercept, coef, sigma, terms=tuple(terms))


def _expected_values(posterior: Posterior, X_design: np.ndarray) -> np.ndarray:
    """``E[y]`` (class probabilities) of every row under every draw: (draws, rows, ...)."""
    by_row = posterior.map_rows(
        X_design, lambda eta: np.swapaxes(posterior.expected_values(eta), 0, 1)
    )
    return np.swapaxes(by_row, 0, 1)


def _generator(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


def _draw_index(n_draws: int, n_samples: int | None, rng: np.random.Generator) -> np.ndarray:
    if n_samples is None:
        return np.arange(n_draws)
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    return rng.choice(n_draws, size=n_samples, replace=n_samples > n_draws)


def check_prob(prob: float) -> None:
    """Raise ``ValueError`` unless ``0 < prob < 1``."""
    if not (isinstance(prob, (Real, np.floating)) and 0 < prob < 1):
        raise ValueError(f"prob must be a number strictly between 0 and 1, got {prob!r}.")
