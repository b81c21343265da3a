"""Bayesian logistic (binary) and multinomial (softmax) regression."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from bayes_sklearn._messages import format_items
from bayes_sklearn.chunked.lazy import (
    lazy_on_dask,
    per_row_and_class,
    per_row_class_bounds,
    per_row_label,
    per_row_scores,
)
from bayes_sklearn.estimators._base import (
    COMMON_PARAMETER_CONSTRAINTS,
    BayesianGLMBase,
    check_prob,
)
from bayes_sklearn.estimators._streaming import StreamedADVIMixin
from bayes_sklearn.posterior import Posterior


class BayesianLogisticRegression(StreamedADVIMixin, ClassifierMixin, BayesianGLMBase):
    """Bayesian logistic regression (softmax for more than two classes) with NUTS.

    Two classes: ``P(y = classes_[1]) = expit(intercept + X @ coef)``. More
    classes: softmax over one linear predictor per class, with ``classes_[0]``
    as the reference (its coefficients are fixed at 0, which identifies the
    model). Default priors follow rstanarm's autoscaling:
    ``coef_j ~ Normal(0, prior_scale / sd(x_j))`` and the intercept at the
    feature means ``~ Normal(0, prior_intercept_scale)``.

    Probabilities are averaged over the posterior, and
    ``decision_function`` is the log-odds of those averaged probabilities,
    computed in log space: it ranks rows as ``predict_proba`` does, and
    keeps ranking them where those probabilities round to 0 or 1.

    Parameters
    ----------
    formula : str or None, default=None
        Right-hand side of a Wilkinson formula evaluated by formulaic on the
        columns of ``X`` (e.g. ``"x1 * x2 + C(region) + center(x3)"``). Its
        design columns name the coefficients (``"x1:x2"``) and its stateful
        transforms are learnt in ``fit`` and replayed unchanged on new rows.
        ``"0 + x"`` or ``"x - 1"`` drop the intercept (see
        ``fit_intercept``). None uses the columns of ``X`` as they are.
    handle_unknown : {"error", "ignore"}, default="error"
        Categorical levels not seen in ``fit``: raise a ``ValueError``, or
        encode them as the reference level (all dummy columns zero).
    fit_intercept : bool, default=True
        Whether to fit an intercept, with the meaning scikit-learn gives it:
        False fixes it at 0 (``intercept_ == 0.0``), the line through the
        origin. A formula with ``"0 +"`` or ``"- 1"`` means the same.
    inference : {"nuts", "advi", "fullrank_advi"}, default="nuts"
        NUTS, or variational inference (mean-field or full-rank ADVI,
        optionally on minibatches). The logistic posterior has no closed
        form, so ``"exact"`` is refused with an explanation.
    draws : int, default=1000
        Kept draws per chain.
    tune : int, default=1000
        Warm-up iterations per chain.
    chains : int, default=4
        Number of chains.
    target_accept : float, default=0.8
        NUTS target acceptance rate.
    nuts_sampler : {"auto", "pymc", "nutpie"}, default="auto"
        Which NUTS implementation runs the model. ``"auto"`` runs nutpie's
        sampler on bayes_sklearn's precompiled log density (nothing is
        compiled per fit); ``"pymc"`` and ``"nutpie"`` build and compile the
        PyMC model and sample it with PyMC's or nutpie's sampler (slower;
        useful as a cross-check).
    prior_scale : float, default=2.5
        Width of the autoscaled coefficient priors, in units of ``1 / sd(x_j)``.
    prior_intercept_scale : float, default=2.5
        Width of the autoscaled intercept prior (log-odds).
    center_predictors : bool, default=True
        Where the intercept's prior applies: at the feature means (True, as
        in Bambi, brms and rstanarm, so shifting a feature does not move it)
        or at x = 0 (False, brms's ``center = FALSE``; needed to state a
        prior on the intercept of the line itself). The likelihood, and so
        the posterior under a flat intercept prior, is the same either way.
    priors : None, prior, or dict, default=None
        Priors that replace the autoscaled ones, on the original coefficient
        scale: a single prior or a dict keyed by feature name, integer
        index, or ``"intercept"``. For several classes each prior applies to
        that feature's coefficient in every non-reference class.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampler.
    progressbar : bool, default=True
        Show a progress bar while sampling or optimising (tqdm; a widget in
        Jupyter). Always off for clones made by ``sklearn.base.clone``, which
        every sklearn tool that fits the estimator internally uses.
    nuts_init : {"auto", "advi"}, default="auto"
        NUTS initialisation of the default sampler. ``"auto"``: start near
        the posterior's mode and sample in the coordinates of its Laplace
        approximation (the inverse curvature at the mode as a dense initial
        mass matrix, then adapted), which follows correlated coefficients;
        models with Laplace priors or over 400 parameters keep PyMC's
        jittered start and a diagonal mass matrix. ``"advi"``: the same
        with a mean-field ADVI fit's means and sds in place of the mode and
        curvature (with ``nuts_sampler="pymc"``, PyMC's
        ``init="advi+adapt_diag"``; ``nuts_sampler="nutpie"`` refuses it).
    batch_size : int or None, default=None
        ADVI only: rows per minibatch (``total_size`` is set for you). None
        uses every row at every step.
    max_iter : int, default=20000
        ADVI only: maximum number of iterations.
    tol : float, default=1e-2
        ADVI only: stop when the relative change of the variational
        parameters between consecutive 1000-step window averages is below
        ``tol``, or stops shrinking (the optimiser's noise floor).
    on_convergence_problem : {"warn", "raise"}, default="warn"
        What a fit with convergence problems (r_hat, ESS, divergences, or
        ADVI stopped at ``max_iter``) does: warn with
        :class:`~bayes_sklearn.BayesianConvergenceWarning`, or raise
        :class:`~bayes_sklearn.BayesianConvergenceError` and leave the
        estimator as it was (for automated pipelines; ``GridSearchCV`` then
        scores the candidate with ``error_score``).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied with ``sample_weight`` (as in
        :class:`~sklearn.linear_model.LogisticRegression`): a dict
        ``{label: weight}`` (missing classes weigh 1) or ``"balanced"``,
        ``n / (n_classes * bincount(y))`` with weighted counts. The weights are
        frequency weights of the likelihood, so a dict changes the effective
        sample size and with it the posterior width; ``"balanced"`` keeps the
        total weight at ``n``.
    shuffle : bool, default=False
        Data in chunks only (a Dask collection or parquet files read through
        Dask): redistribute the rows at random over the partitions before
        streaming them to minibatch ADVI (a Dask shuffle on the workers).
        Needed when the partitions are sorted (by time, group or outcome):
        the approximation is the average of ADVI's last steps, which then
        see only the last few partitions and land near their posterior.
        Partitions are visited in a random order either way.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (any sortable labels, strings too).
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Posterior mean coefficients (log-odds against ``classes_[0]``; the
        reference row is zero for several classes).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Posterior mean intercepts.
    posterior_ : xarray.Dataset
        Posterior draws on the original scale: ``intercept``, ``coef`` with
        ``feature`` and, for several classes, ``class`` coordinates.
    idata_ : arviz.InferenceData
        ``posterior_`` with sampler statistics, observed data and pointwise
        log likelihood (built on access; fitting does not import ArviZ).
    model_spec_ : ModelSpec
        The resolved model, including the priors actually used.
    n_iter_ : int
        Iterations per chain: NUTS warm-up plus draws, ADVI steps, or 1 for
        exact inference.
    elbo_history_ : ndarray or None
        ELBO after each ADVI iteration (None for other inference).
    convergence_ : ConvergenceDiagnostics
        r_hat, ESS and divergences.
    engine_ : {"kernel", "pymc", "exact"}
        The engine that ran: the precompiled kernel (NUTS with
        ``nuts_sampler="auto"`` on a model it covers, ADVI), the PyMC engine
        (the ``to_pymc`` model, compiled once per model structure and
        process; any other prior, or ``nuts_sampler="pymc"``/``"nutpie"``),
        or closed-form exact inference.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when ``X`` has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
    >>> clf = BayesianLogisticRegression(draws=200, tune=200, chains=2,
    ...                                  random_state=0, progressbar=False)
    >>> clf = clf.fit(X, y)  # doctest: +SKIP
    >>> clf.predict_proba(X[:3]).shape  # doctest: +SKIP
    (3, 2)
    """

    _parameter_constraints: dict = {
        **COMMON_PARAMETER_CONSTRAINTS,
        "inference": [StrOptions({"nuts", "advi", "fullrank_advi"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "shuffle": ["boolean"],
    }

    def __init__(
        self,
        *,
        formula: str | None = None,
        handle_unknown: str = "error",
        fit_intercept: bool = True,
        inference: str = "nuts",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        target_accept: float = 0.8,
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
        shuffle: bool = False,
    ):
        self.formula = formula
        self.handle_unknown = handle_unknown
        self.fit_intercept = fit_intercept
        self.inference = inference
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.target_accept = target_accept
        self.nuts_sampler = nuts_sampler
        self.prior_scale = prior_scale
        self.prior_intercept_scale = prior_intercept_scale
        self.center_predictors = center_predictors
        self.priors = priors
        self.random_state = random_state
        self.progressbar = progressbar
        self.nuts_init = nuts_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.on_convergence_problem = on_convergence_problem
        self.class_weight = class_weight
        self.shuffle = shuffle

    def _validate_params(self) -> None:
        if self.inference == "exact":
            raise ValueError(
                "inference='exact' is not available for BayesianLogisticRegression: "
                "the logistic posterior has no closed form. Use inference='nuts'."
            )
        super()._validate_params()

    def _encode_target(self, y: np.ndarray):
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        family, n_outputs, output_names = self._set_classes(classes)
        return codes.astype(np.int64), np.asarray(y), family, n_outputs, output_names

    def _set_classes(self, labels: np.ndarray):
        """``classes_`` from all labels of the data; the family and outputs they give."""
        if len(labels) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in "
                f"the data, but the data contain only one class: {labels[0].item()!r}."
            )
        self.classes_ = labels
        if len(labels) == 2:
            return "bernoulli", 1, None
        return "categorical", len(labels) - 1, list(labels[1:])

    def _likelihood_weights(self, y, sample_weight: np.ndarray | None) -> np.ndarray | None:
        if self.class_weight is None:
            return sample_weight
        y = np.asarray(y).ravel()
        codes = np.searchsorted(self.classes_, y)
        counts = np.bincount(codes, weights=sample_weight, minlength=len(self.classes_))
        weight = self._class_weights(counts, y)[codes].astype(np.float64)
        # a new array: the caller's sample_weight is never written to
        return weight if sample_weight is None else weight * sample_weight

    def _class_weights(self, counts: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """The weight of each class of ``classes_`` from its weighted count."""
        if isinstance(self.class_weight, str):  # "balanced", with the weighted class counts
            with np.errstate(divide="ignore"):
                per_class = counts.sum() / (len(self.classes_) * counts.astype(np.float64))
        elif y is not None:
            # compute_class_weight has no sample_weight in scikit-learn 1.6
            per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        else:  # no rows at hand: the dict itself, missing classes 1
            per_class = np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_])
        if not np.all(np.isfinite(per_class)):
            empty = self.classes_[~np.isfinite(per_class)]
            raise ValueError(
                "class_weight='balanced' needs a positive total sample weight in every "
                f"class; the weights of class(es) {format_items(empty)} sum to zero."
            )
        return per_class

    def _encode_new_target(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y).ravel()
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unknown = self.classes_[codes] != y
        if np.any(unknown):
            raise ValueError(
                f"y contains labels not seen during fit: {format_items(np.unique(y[unknown]))}; "
                f"the classes are {format_items(self.classes_)}."
            )
        return codes.astype(np.int64)

    def _decode_outcomes(self, outcomes: np.ndarray) -> np.ndarray:
        return self.classes_[outcomes]

    def _set_point_estimates(
        self, posterior: Posterior, moments: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        intercept = posterior.intercept.mean(axis=0)
        coef = posterior.coef.mean(axis=0).T
        if posterior.family == "categorical":
            intercept = np.concatenate([[0.0], intercept])
            coef = np.vstack([np.zeros((1, coef.shape[1])), coef])
        self.intercept_ = intercept
        self.coef_ = coef

    @lazy_on_dask(per_row_and_class)
    def predict_proba(self, X, return_std: bool = False):
        """Class probabilities averaged over the posterior.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
            A Dask array or data frame gives lazy Dask arrays instead, with
            the row chunks of ``X`` (one task per block).
        return_std : bool, default=False
            Also return the posterior standard deviation of each probability.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Posterior mean probability of each class, columns in the order
            of ``classes_``.
        proba_std : ndarray of shape (n_samples, n_classes), only if ``return_std``
            Posterior standard deviation of each probability.

        Examples
        --------
        >>> import warnings; warnings.simplefilter("ignore")  # 100 draws: too few for the checks
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2))
        >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
        >>> clf = BayesianLogisticRegression(draws=100, tune=100, chains=1,
        ...                                  progressbar=False, random_state=0).fit(X, y)
        >>> X_new = np.array([[2.0, -2.0], [-2.0, 2.0]])
        >>> proba, proba_std = clf.predict_proba(X_new, return_std=True)
        >>> proba.shape, proba_std.shape
        ((2, 2), (2, 2))
        >>> bool(np.allclose(proba.sum(axis=1), 1.0))
        True
        >>> proba.argmax(axis=1)
        array([1, 0])
        """
        X_design, posterior = self._prepare(X)
        proba = posterior.mean(X_design)
        if not return_std:
            return proba
        return proba, posterior.std(X_design)

    def predict_proba_draws(self, X, n_draws: int | None = None, random_state=None) -> np.ndarray:
        """Class probabilities under each posterior draw.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
        n_draws : int, optional
            Random subset of draws; default all of them.
        random_state : int, RandomState, Generator or None
            Seed for the subset.

        Returns
        -------
        ndarray of shape (n_draws, n_samples, n_classes)
            Class probabilities of each row under each chosen draw.

        Examples
        --------
        >>> import warnings; warnings.simplefilter("ignore")  # 100 draws: too few for the checks
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2))
        >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
        >>> clf = BayesianLogisticRegression(draws=100, tune=100, chains=1,
        ...                                  progressbar=False, random_state=0).fit(X, y)
        >>> X_new = np.array([[2.0, -2.0], [-2.0, 2.0]])
        >>> clf.predict_proba_draws(X_new, n_draws=50, random_state=0).shape
        (50, 2, 2)
        >>> # averaged over all draws, they give predict_proba
        >>> all_draws = clf.predict_proba_draws(X_new)
        >>> bool(np.allclose(all_draws.mean(axis=0), clf.predict_proba(X_new)))
        True
        """
        return self._expected_value_draws(X, n_draws, random_state)

    @lazy_on_dask(per_row_class_bounds)
    def predict_proba_interval(self, X, prob: float = 0.9) -> np.ndarray:
        """Central credible interval of each class probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
            A Dask array or data frame gives lazy Dask arrays instead, with
            the row chunks of ``X`` (one task per block).
        prob : float, default=0.9
            Posterior mass inside the interval.

        Returns
        -------
        ndarray of shape (n_samples, n_classes, 2)
            Lower and upper bounds.

        Examples
        --------
        >>> import warnings; warnings.simplefilter("ignore")  # 100 draws: too few for the checks
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2))
        >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
        >>> clf = BayesianLogisticRegression(draws=100, tune=100, chains=1,
        ...                                  progressbar=False, random_state=0).fit(X, y)
        >>> X_new = np.array([[2.0, -2.0], [-2.0, 2.0]])
        >>> interval = clf.predict_proba_interval(X_new, prob=0.9)
        >>> interval.shape  # (rows, classes, [lower, upper])
        (2, 2, 2)
        >>> proba = clf.predict_proba(X_new)
        >>> bool(np.all((interval[..., 0] <= proba) & (proba <= interval[..., 1])))
        True
        """
        check_prob(prob)
        X_design, posterior = self._prepare(X)
        q = np.array([(1 - prob) / 2, (1 + prob) / 2])
        return posterior.quantiles(X_design, q)

    @lazy_on_dask(per_row_and_class)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
            A Dask array or data frame gives lazy Dask arrays instead, with
            the row chunks of ``X`` (one task per block).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log of the posterior mean class probabilities, computed in log
            space: finite even where a probability is too small for a float.

        Examples
        --------
        >>> import warnings; warnings.simplefilter("ignore")  # 100 draws: too few for the checks
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2))
        >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
        >>> clf = BayesianLogisticRegression(draws=100, tune=100, chains=1,
        ...                                  progressbar=False, random_state=0).fit(X, y)
        >>> X_new = np.array([[2.0, -2.0], [-2.0, 2.0]])
        >>> log_proba = clf.predict_log_proba(X_new)
        >>> log_proba.shape
        (2, 2)
        >>> bool(np.allclose(np.exp(log_proba), clf.predict_proba(X_new)))
        True
        """
        X_design, posterior = self._prepare(X)
        return posterior.log_mean(X_design)

    @lazy_on_dask(per_row_scores)
    def decision_function(self, X):
        """Log-odds of the posterior-averaged probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
            A Dask array or data frame gives lazy Dask arrays instead, with
            the row chunks of ``X`` (one task per block).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the log-odds of ``classes_[1]`` (positive means
            ``classes_[1]`` is the more probable); for more classes, the
            log-probabilities of each class. Computed in log space, so
            finite (and ranking rows correctly) even where the averaged
            probability is closer to 0 or 1 than a float can hold.

        Examples
        --------
        >>> import warnings; warnings.simplefilter("ignore")  # 100 draws: too few for the checks
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2))
        >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
        >>> clf = BayesianLogisticRegression(draws=100, tune=100, chains=1,
        ...                                  progressbar=False, random_state=0).fit(X, y)
        >>> X_new = np.array([[2.0, -2.0], [-2.0, 2.0]])
        >>> scores = clf.decision_function(X_new)
        >>> scores > 0
        array([ True, False])
        >>> p1 = clf.predict_proba(X_new)[:, 1]
        >>> bool(np.allclose(scores, np.log(p1 / (1 - p1))))
        True
        """
        log_proba = self.predict_log_proba(X)
        if log_proba.shape[1] == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba

    @lazy_on_dask(per_row_label)
    def predict(self, X):
        """Most probable class under the posterior-averaged probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.
            A Dask array or data frame gives lazy Dask arrays instead, with
            the row chunks of ``X`` (one task per block).

        Returns
        -------
        ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``.

        Examples
        --------
        >>> import warnings; warnings.simplefilter("ignore")  # 100 draws: too few for the checks
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2))
        >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
        >>> clf = BayesianLogisticRegression(draws=100, tune=100, chains=1,
        ...                                  progressbar=False, random_state=0).fit(X, y)
        >>> X_new = np.array([[2.0, -2.0], [-2.0, 2.0]])
        >>> clf.predict(X_new)
        array([1, 0])
        >>> clf.classes_
        array([0, 1])
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
