"""Shared machinery of the Bayesian generalised linear estimators.

Public ``fit`` validates once and fits in private steps; a fit that fails or
is interrupted restores the estimator's previous state. All fitted state is
plain data: the design, the resolved model description and the ArviZ
``InferenceData``; prediction reads the draws from ``idata_``.
"""

from __future__ import annotations

import sys
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from bayes_sklearn._idata import MAX_LOG_LIKELIHOOD_VALUES, build_inference_data
from bayes_sklearn.design.arrays import ArrayDesign
from bayes_sklearn.design.formula import HANDLE_UNKNOWN_OPTIONS, FormulaDesign, as_frame
from bayes_sklearn.diagnostics import (
    BayesianConvergenceWarning,
    compute_diagnostics,
    convergence_message,
)
from bayes_sklearn.inference import InferenceSettings, run_inference
from bayes_sklearn.model.spec import ModelSpec, resolve_model_spec
from bayes_sklearn.posterior import Posterior
from bayes_sklearn.priors import COEFFICIENT_PRIOR_TYPES

COMMON_PARAMETER_CONSTRAINTS: dict[str, list[Any]] = {
    "draws": [Interval(Integral, 1, None, closed="left")],
    "tune": [Interval(Integral, 0, None, closed="left")],
    "chains": [Interval(Integral, 1, None, closed="left")],
    "target_accept": [Interval(Real, 0, 1, closed="neither")],
    "nuts_sampler": [StrOptions({"pymc", "nutpie"})],
    "prior_scale": [Interval(Real, 0, None, closed="neither")],
    "prior_intercept_scale": [Interval(Real, 0, None, closed="neither")],
    "priors": [None, dict, *COEFFICIENT_PRIOR_TYPES],
    "random_state": ["random_state"],
    "progressbar": ["boolean"],
    "formula": [None, str],
    "handle_unknown": [StrOptions(set(HANDLE_UNKNOWN_OPTIONS))],
}


def _inside_model_selection() -> bool:
    """True when called from sklearn's cross-validation / search machinery.

    Progress bars are turned off there: a grid search runs dozens of fits.
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_fit_and_score" and "sklearn" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


class BayesianGLMBase(BaseEstimator):
    """Template for the estimators; subclasses supply the family and targets."""

    _parameter_constraints: dict = dict(COMMON_PARAMETER_CONSTRAINTS)

    # -- fitting -------------------------------------------------------------

    def fit(self, X, y):
        """Fit the posterior to training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features.
        y : array-like of shape (n_samples,)
            Targets.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        previous_state = self.__dict__.copy()
        try:
            self._fit(X, y)
        except BaseException:
            # Nothing half-written: a failed or interrupted fit leaves the
            # estimator exactly as it was (fitted or not).
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise
        return self

    def _fit(self, X, y) -> None:
        design, X_design, y = self._fit_design(X, y)
        y_fit, y_observed, family, n_outputs, output_names = self._encode_target(y)
        spec = self._resolve_spec(design.column_names, X_design, y_fit, family, n_outputs)
        settings = self._inference_settings()
        result = run_inference(spec, spec.standardizer.transform(X_design), y_fit, settings)
        intercept, coef = spec.standardizer.coef_to_original(result.intercept_z, result.coef_z)
        chains, draws = intercept.shape[:2]
        posterior = Posterior(
            family=family,
            intercept=intercept.reshape(chains * draws, n_outputs),
            coef=coef.reshape(chains * draws, spec.n_coef, n_outputs),
            sigma=None if result.sigma is None else result.sigma.reshape(-1),
        )
        log_lik = None
        if X_design.shape[0] * posterior.n_draws <= MAX_LOG_LIKELIHOOD_VALUES:
            log_lik = posterior.log_likelihood(X_design, y_fit).reshape(chains, draws, -1)
        else:
            warnings.warn(
                f"idata_ has no log_likelihood group: {X_design.shape[0]} rows x "
                f"{posterior.n_draws} draws exceeds {MAX_LOG_LIKELIHOOD_VALUES} values. "
                "Call log_likelihood(X, y) on a subset of rows instead.",
                UserWarning,
                stacklevel=3,
            )
        idata = build_inference_data(
            intercept=intercept,
            coef=coef,
            sigma=result.sigma,
            coef_names=spec.coef_names,
            output_names=output_names,
            sample_stats=result.sample_stats,
            y_observed=y_observed,
            log_likelihood=log_lik,
        )
        diagnostics = None
        if settings.method == "nuts":
            diagnostics = compute_diagnostics(idata.posterior, result.sample_stats)
            if diagnostics.problems():
                warnings.warn(
                    BayesianConvergenceWarning(
                        convergence_message(type(self).__name__, diagnostics), diagnostics
                    ),
                    stacklevel=3,
                )
        self.design_ = design
        self.model_spec_ = spec
        self.idata_ = idata
        self.inference_method_ = result.method
        self.convergence_ = diagnostics
        self._set_point_estimates(posterior)

    def _validate_kwargs(self) -> dict[str, Any]:
        return {}

    def _fit_design(self, X, y):
        """Validate training data and learn the design: arrays as given, or a formula."""
        if self.formula is None:
            _refuse_non_numeric_frame(X)
            X, y = validate_data(self, X, y, reset=True, **self._validate_kwargs())
            design = ArrayDesign.fit(X, getattr(self, "feature_names_in_", None))
            return design, design.transform(X), y
        # y alone first: validate_data without X would clear feature names
        y = validate_data(self, X="no_validation", y=y, **self._validate_kwargs())
        _check_feature_names(self, X, reset=True)
        frame = as_frame(X)
        self.n_features_in_ = frame.shape[1]
        check_consistent_length(frame, y)
        if len(frame) == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        design, X_design = FormulaDesign.fit(frame, self.formula)
        _check_finite_design(X_design, design.column_names)
        return design, X_design, y

    def _resolve_spec(
        self,
        coef_names: tuple[str, ...],
        X_design: np.ndarray,
        y_fit: np.ndarray,
        family: str,
        n_outputs: int,
    ) -> ModelSpec:
        return resolve_model_spec(
            family=family,
            coef_names=coef_names,
            X=X_design,
            y=y_fit,
            n_outputs=n_outputs,
            prior_scale=self.prior_scale,
            prior_intercept_scale=self.prior_intercept_scale,
            priors=self.priors,
            prior_noise=getattr(self, "prior_noise", None),
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
            progressbar=bool(self.progressbar) and not _inside_model_selection(),
        )

    # -- reading the fit -----------------------------------------------------

    def _posterior(self) -> Posterior:
        """Flat views of the draws in ``idata_`` (no copy)."""
        post = self.idata_.posterior
        intercept = np.asarray(post["intercept"].values)
        coef = np.asarray(post["coef"].values)
        n_draws = intercept.shape[0] * intercept.shape[1]
        n_coef = coef.shape[2]
        sigma = np.asarray(post["sigma"].values).reshape(n_draws) if "sigma" in post else None
        return Posterior(
            family=self.model_spec_.family,
            intercept=intercept.reshape(n_draws, -1),
            coef=coef.reshape(n_draws, n_coef, -1),
            sigma=sigma,
        )

    def _design_matrix(self, X) -> np.ndarray:
        check_is_fitted(self)
        if isinstance(self.design_, ArrayDesign):
            _refuse_non_numeric_frame(X)
            return self.design_.transform(validate_data(self, X, reset=False))
        # A formula needs only the columns it names: extra columns are fine.
        frame = as_frame(X, getattr(self, "feature_names_in_", None))
        X_design = self.design_.transform(frame, self.handle_unknown)
        _check_finite_design(X_design, self.design_.column_names)
        return X_design

    def log_likelihood(self, X, y) -> np.ndarray:
        """Pointwise log likelihood of ``(X, y)`` under every posterior draw.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        ndarray of shape (n_chains, n_draws, n_samples)
            Usable with ``arviz.loo``/``waic`` or as a held-out predictive score.
        """
        X_design = self._design_matrix(X)
        y_fit = self._encode_new_target(np.asarray(y))
        if len(y_fit) != X_design.shape[0]:
            raise ValueError(
                f"X has {X_design.shape[0]} rows but y has {len(y_fit)} values."
            )
        post = self.idata_.posterior
        shape = (post.sizes["chain"], post.sizes["draw"], -1)
        return self._posterior().log_likelihood(X_design, y_fit).reshape(shape)

    def summary(self, **kwargs):
        """Posterior summary table (``arviz.summary``) of the model parameters.

        Parameters
        ----------
        **kwargs
            Passed to :func:`arviz.summary` (e.g. ``hdi_prob=0.9``).

        Returns
        -------
        pandas.DataFrame
        """
        import arviz as az

        check_is_fitted(self)
        var_names = [v for v in ("intercept", "coef", "sigma") if v in self.idata_.posterior]
        return az.summary(self.idata_, var_names=var_names, **kwargs)

    def _expected_value_draws(self, X, n_draws: int | None, random_state) -> np.ndarray:
        """``E[y]`` (or class probabilities) under a subset of the posterior draws."""
        X_design = self._design_matrix(X)
        posterior = self._posterior()
        index = _draw_index(posterior.n_draws, n_draws, _generator(random_state))
        subset = posterior.subset(np.sort(index))
        by_row = subset.map_rows(X_design, lambda eta: np.swapaxes(subset.expected_values(eta), 0, 1))
        return np.swapaxes(by_row, 0, 1)

    # -- simulation ----------------------------------------------------------

    def sample_posterior_predictive(
        self, X, n_samples: int | None = None, random_state=None
    ) -> np.ndarray:
        """Simulate new outcomes for the rows of ``X`` from the posterior.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        n_samples : int, optional
            Number of simulated data sets; default one per posterior draw.
        random_state : int, RandomState, Generator or None
            Seed for the simulation.

        Returns
        -------
        ndarray of shape (n_samples, n_rows)
            Simulated targets (class labels for classifiers).
        """
        X_design = self._design_matrix(X)
        rng = _generator(random_state)
        posterior = self._posterior()
        posterior = posterior.subset(_draw_index(posterior.n_draws, n_samples, rng))
        return self._decode_outcomes(posterior.sample_outcomes(X_design, rng))

    def sample_prior_predictive(
        self, X, y=None, n_samples: int = 500, random_state=None
    ) -> np.ndarray:
        """Simulate outcomes for the rows of ``X`` from the prior.

        The default priors are scaled to the data, so they need training
        targets: pass ``y``, or call this on a fitted estimator to use the
        priors it was fitted with.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        y : array-like of shape (n_rows,), optional
            Targets that set the autoscaled priors (for an unfitted estimator).
        n_samples : int, default=500
            Number of simulated data sets.
        random_state : int, RandomState, Generator or None
            Seed for the simulation.

        Returns
        -------
        ndarray of shape (n_samples, n_rows)
        """
        rng = _generator(random_state)
        if y is not None:
            spec, X_design, decode = self._prior_spec_from_data(X, y)
        elif hasattr(self, "model_spec_"):
            spec, X_design, decode = self.model_spec_, self._design_matrix(X), self._decode_outcomes
        else:
            raise NotFittedError(
                f"{type(self).__name__}.sample_prior_predictive needs y (to scale the "
                "default priors) or a fitted estimator."
            )
        return decode(prior_draws(spec, n_samples, rng).sample_outcomes(X_design, rng))

    def _prior_spec_from_data(self, X, y):
        self._validate_params()
        unfitted = type(self)(**self.get_params())
        design, X_design, y = unfitted._fit_design(X, y)
        y_fit, _, family, n_outputs, _ = unfitted._encode_target(y)
        spec = unfitted._resolve_spec(design.column_names, X_design, y_fit, family, n_outputs)
        return spec, X_design, unfitted._decode_outcomes

    # -- hooks for subclasses ------------------------------------------------

    def _encode_target(self, y: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_new_target(self, y: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _decode_outcomes(self, outcomes: np.ndarray) -> np.ndarray:
        return outcomes

    def _set_point_estimates(self, posterior: Posterior) -> None:  # pragma: no cover
        raise NotImplementedError


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


def _check_finite_design(X_design: np.ndarray, names) -> None:
    bad = ~np.isfinite(X_design).all(axis=0)
    if np.any(bad):
        raise ValueError(
            "The design matrix contains NaN or infinity in columns "
            f"{[names[i] for i in np.flatnonzero(bad)]} (check X and the formula's transforms)."
        )


def prior_draws(spec: ModelSpec, n_draws: int, rng: np.random.Generator) -> Posterior:
    """Draws from the prior of ``spec``, as a :class:`Posterior` value."""
    m = spec.n_outputs
    intercept_z = spec.intercept_prior.rvs((n_draws, m), rng)
    coef_z = np.stack(
        [prior.rvs((n_draws, m), rng) for prior in spec.sampling_coef_priors()], axis=1
    )
    intercept, coef = spec.standardizer.coef_to_original(intercept_z, coef_z)
    sigma = spec.noise_prior.rvs(n_draws, rng) if spec.noise_prior is not None else None
    return Posterior(spec.family, intercept, coef, sigma)


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
