"""Bayesian linear regression with a normal likelihood."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import StrOptions

from bayes_sklearn.chunked.lazy import lazy_on_dask, per_row, per_row_bounds
from bayes_sklearn.estimators._base import (
    COMMON_PARAMETER_CONSTRAINTS,
    BayesianGLMBase,
    check_prob,
)
from bayes_sklearn.estimators._statistics import GaussianStatisticsMixin
from bayes_sklearn.posterior import Posterior


class BayesianLinearRegression(GaussianStatisticsMixin, RegressorMixin, BayesianGLMBase):
    """Bayesian linear regression fitted with NUTS (PyMC) or exactly.

    The model is ``y ~ Normal(intercept + X @ coef, sigma)``. Default priors
    are weakly informative and scaled to the data, so unscaled features work:
    ``coef_j ~ Normal(0, prior_scale * sd(y) / sd(x_j))``, the intercept at
    the feature means ``~ Normal(mean(y), prior_intercept_scale * sd(y))`` and
    ``sigma ~ Exponential(mean=sd(y))``.

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
    inference : {"nuts", "exact", "advi", "fullrank_advi"}, default="nuts"
        ``"nuts"`` samples with the No-U-Turn sampler. ``"exact"`` draws
        independent samples from the exact posterior (the coefficients are
        conditionally normal given ``sigma``, whose one-dimensional posterior
        is integrated numerically); it needs Normal coefficient priors and
        costs one pass over the data. ``"advi"`` (mean-field) and
        ``"fullrank_advi"`` fit a variational approximation, optionally on
        minibatches (``batch_size``); fast on large data, but mean-field
        ADVI understates posterior spread.
    draws : int, default=1000
        Kept draws per chain.
    tune : int, default=1000
        Warm-up iterations per chain (NUTS only).
    chains : int, default=4
        Number of chains.
    target_accept : float, default=0.8
        NUTS target acceptance rate; raise it (e.g. 0.95) after divergences.
    nuts_sampler : {"auto", "pymc", "nutpie"}, default="auto"
        Which NUTS implementation runs the model. ``"auto"`` runs nutpie's
        sampler on bayes_sklearn's precompiled log density (nothing is
        compiled per fit); ``"pymc"`` and ``"nutpie"`` build and compile the
        PyMC model and sample it with PyMC's or nutpie's sampler (slower;
        useful as a cross-check).
    prior_scale : float, default=2.5
        Width of the autoscaled coefficient priors, in units of
        ``sd(y) / sd(x_j)``.
    prior_intercept_scale : float, default=2.5
        Width of the autoscaled intercept prior, in units of ``sd(y)``.
    center_predictors : bool, default=True
        Where the intercept's prior applies: at the feature means (True, as
        in Bambi, brms and rstanarm, so shifting a feature does not move it)
        or at x = 0 (False, brms's ``center = FALSE``; needed to state a
        prior on the intercept of the line itself). The likelihood, and so
        the posterior under a flat intercept prior, is the same either way.
    priors : None, prior, or dict, default=None
        Priors that replace the autoscaled ones, on the original scale of
        the coefficients: a single prior (for every coefficient) or a dict
        keyed by feature name, integer index, or ``"intercept"`` (the
        intercept at the feature means, or at x = 0 with
        ``center_predictors=False``). Values are priors from
        :mod:`bayes_sklearn.priors`, ``(mu, sigma)`` pairs for normals,
        numbers (fixed values), PyMC distributions (``pm.Normal.dist(0, 10)``)
        or pymc-extras ``Prior`` objects (see :func:`bayes_sklearn.priors.as_prior`).
    prior_noise : prior, number, PyMC distribution or None, default=None
        Prior of ``sigma``, on positive numbers (``Exponential``,
        ``HalfCauchy``, ``pm.Gamma.dist(2, 1)``, ...); None means
        ``Exponential`` with mean ``sd(y)``; a number is the known noise sd.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampler; fixed seeds give identical draws.
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

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Posterior mean of the coefficients.
    intercept_ : float
        Posterior mean of the intercept.
    sigma_ : float
        Posterior mean of the noise scale.
    coef_cov_ : ndarray of shape (n_features + 1, n_features + 1)
        Posterior covariance of ``[intercept, coef...]``.
    posterior_ : xarray.Dataset
        Posterior draws on the original scale: ``intercept``, ``coef`` with
        a ``feature`` coordinate, ``sigma``; dims ``chain`` and ``draw``.
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
    convergence_ : ConvergenceDiagnostics or None
        r_hat, ESS and divergences (None for exact inference).
    engine_ : {"kernel", "pymc", "exact"}
        The engine that ran: the precompiled kernel (NUTS with
        ``nuts_sampler="auto"`` on a model it covers, ADVI), the PyMC engine
        (the ``to_pymc`` model, compiled once per model structure and
        process; any other prior, or ``nuts_sampler="pymc"``/``"nutpie"``),
        or closed-form exact inference.
    statistics_ : GaussianStatistics
        The merged statistics of the training rows (weighted count, means,
        scatter triangle) the posterior was computed from; ``partial_fit``
        extends them.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when ``X`` has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
    >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    >>> np.round(model.coef_, 1)
    array([ 2.1, -1. ])
    >>> mean, std = model.predict(X[:2], return_std=True)
    >>> model.predict_interval(X[:2], prob=0.9).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **COMMON_PARAMETER_CONSTRAINTS,
        "inference": [StrOptions({"nuts", "exact", "advi", "fullrank_advi"})],
        # Any form as_prior accepts (PyMC distributions too): checked in fit.
        "prior_noise": "no_validation",
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
        prior_noise: Any = None,
        random_state: Any = None,
        progressbar: bool = True,
        nuts_init: str = "auto",
        batch_size: int | None = None,
        max_iter: int = 20_000,
        tol: float = 1e-2,
        on_convergence_problem: str = "warn",
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
        self.prior_noise = prior_noise
        self.random_state = random_state
        self.progressbar = progressbar
        self.nuts_init = nuts_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.on_convergence_problem = on_convergence_problem

    def _validate_kwargs(self) -> dict[str, Any]:
        return {"y_numeric": True}

    def _encode_target(self, y: np.ndarray):
        y = np.asarray(y, dtype=np.float64)
        return y, y, "gaussian", 1, None

    def _encode_new_target(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64).ravel()

    def _set_point_estimates(
        self, posterior: Posterior, moments: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        if moments is not None:
            # exact inference: the posterior's own moments, free of Monte Carlo error
            mean, cov = moments
        else:
            draws = np.column_stack([posterior.intercept[:, 0], posterior.coef[:, :, 0]])
            mean = _draw_mean(draws)
            cov = np.cov(draws, rowvar=False).reshape(draws.shape[1], draws.shape[1])
        self.intercept_ = float(mean[0])
        self.coef_ = mean[1:]
        self.coef_cov_ = cov
        self.sigma_ = float(_draw_mean(posterior.sigma[:, None])[0])

    @lazy_on_dask(per_row)
    def predict(self, X, return_std: bool = False):
        """Posterior mean prediction, optionally with its predictive std.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
            A Dask array or data frame gives lazy Dask arrays instead, with
            the row chunks of ``X`` (one task per block).
        return_std : bool, default=False
            Also return the standard deviation of a new observation, which
            includes the noise (as :class:`sklearn.linear_model.BayesianRidge`).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
            Posterior mean of ``E[y | x]``.
        y_std : ndarray of shape (n_samples,), only if ``return_std``
            Posterior predictive standard deviation of a new observation.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> model.predict(X[:3]).shape
        (3,)
        >>> mean, std = model.predict(X[:3], return_std=True)
        >>> bool(np.all(std > model.sigma_))  # noise plus uncertainty about the line
        True
        """
        X_design, posterior = self._prepare(X)
        if self.inference_method_ == "exact":
            # the line of the exact posterior mean, as coef_ and intercept_ are,
            # through the same row blocks as the draws (sparse X bit for bit as dense)
            line = Posterior("gaussian", np.array([[self.intercept_]]), self.coef_[None, :, None])
            mean = line.mean(X_design)
        else:
            mean = posterior.mean(X_design)
        if not return_std:
            return mean
        return mean, posterior.predictive_std(X_design)

    def predict_draws(self, X, n_draws: int | None = None, random_state=None) -> np.ndarray:
        """The regression line ``E[y | x]`` under each posterior draw.

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
        ndarray of shape (n_draws, n_samples)
            ``E[y | x]`` of each row under each chosen draw.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> model.predict_draws(X[:3], n_draws=100, random_state=0).shape
        (100, 3)
        >>> # averaged over all draws, the lines give the mean prediction (exact
        >>> # inference predicts with the exact mean: equal up to Monte Carlo error)
        >>> lines = model.predict_draws(X[:3])
        >>> bool(np.allclose(lines.mean(axis=0), model.predict(X[:3]), atol=0.05))
        True
        """
        return self._expected_value_draws(X, n_draws, random_state)

    @lazy_on_dask(per_row_bounds)
    def predict_interval(self, X, prob: float = 0.9, kind: str = "predictive") -> np.ndarray:
        """Central posterior interval per row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.
            A Dask array or data frame gives lazy Dask arrays instead, with
            the row chunks of ``X`` (one task per block).
        prob : float, default=0.9
            Probability mass inside the interval.
        kind : {"predictive", "mean"}, default="predictive"
            ``"predictive"``: interval for a new observation (includes the
            noise). ``"mean"``: credible interval of the regression line.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Lower and upper bounds.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(50, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> new_y = model.predict_interval(X[:3], prob=0.9)
        >>> new_y.shape
        (3, 2)
        >>> line = model.predict_interval(X[:3], prob=0.9, kind="mean")
        >>> # a new observation adds noise, so its interval is wider than the line's
        >>> bool(np.all(new_y[:, 1] - new_y[:, 0] > line[:, 1] - line[:, 0]))
        True
        """
        check_prob(prob)
        if kind not in ("predictive", "mean"):
            raise ValueError(f"kind must be 'predictive' or 'mean', got {kind!r}.")
        X_design, posterior = self._prepare(X)
        q = np.array([(1 - prob) / 2, (1 + prob) / 2])
        if kind == "mean":
            return posterior.quantiles(X_design, q)
        return posterior.gaussian_predictive_quantiles(X_design, q)


def _draw_mean(draws: np.ndarray) -> np.ndarray:
    """Column means of ``draws``; a fixed value (the same in every draw) is its
    own mean exactly, not a sum of copies divided by their count."""
    constant = np.all(draws == draws[:1], axis=0)
    return np.where(constant, draws[0], draws.mean(axis=0))
