"""Fitting the gaussian linear model through its merged data statistics.

The likelihood of ``BayesianLinearRegression`` depends on the rows only
through :class:`~bayes_sklearn.chunked.GaussianStatistics`, so every fit
goes through them: rows in memory are reduced block by block, data in chunks
(Dask, parquet, iterators) where they live, and ``partial_fit`` merges a
chunk into the statistics kept from before. Inference then runs on
``2 (p + 1)`` rows with exactly those statistics
(:meth:`~bayes_sklearn.chunked.GaussianStatistics.equivalent_rows`), on the
same engines as any other fit. Minibatch ADVI on rows in memory samples the
rows themselves, as it was asked to.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.metaestimators import available_if

from bayes_sklearn.chunked.sources import is_chunked
from bayes_sklearn.chunked.statistics import GaussianStatistics, statistics_of_rows
from bayes_sklearn.estimators._base import _validate_sample_weight
from bayes_sklearn.estimators._fit_result import FitResult
from bayes_sklearn.inference import run_inference
from bayes_sklearn.inference.response import ResponseScale
from bayes_sklearn.priors import Constant

def _takes_statistics(estimator) -> bool:
    """Whether ``partial_fit`` and ``fit_statistics`` exist: not with group terms."""
    return estimator._fits_statistics


class GaussianStatisticsMixin:
    """``partial_fit``, ``fit_statistics`` and ``fit`` on data in chunks."""

    #: the likelihood depends on the rows only through GaussianStatistics
    _fits_statistics = True

    @available_if(_takes_statistics)
    def partial_fit(self, X, y, sample_weight=None):
        """Add a chunk of rows to the fit; the posterior is that of all rows so far.

        The chunk's :class:`~bayes_sklearn.chunked.GaussianStatistics` are
        merged into ``statistics_`` (kept by every fit) and the posterior is
        fitted from them, so the estimator is usable after every call and the
        result does not depend on how the rows were split into chunks or in
        which order they came: it is ``fit`` on all of them. The first call
        (on an unfitted estimator) learns the features, and a formula, from
        its chunk; later chunks must have the same features, and a formula is
        replayed on them as on new rows for prediction (an unseen level is
        an error unless ``handle_unknown="ignore"``).

        Parameters
        ----------
        X : array-like or data frame of shape (n_samples, n_features)
            A chunk of rows.
        y : array-like of shape (n_samples,)
            Its targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of its rows, as in :meth:`fit`.

        Returns
        -------
        object
            The estimator itself, fitted to every chunk given so far.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(90, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=90)
        >>> model = BayesianLinearRegression(inference="exact", random_state=0)
        >>> for rows in np.array_split(np.arange(90), 3):
        ...     model = model.partial_fit(X[rows], y[rows])
        >>> whole = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        >>> model.statistics_.n_rows, bool(np.allclose(model.coef_, whole.coef_))
        (90, True)
        """
        self._validate_params()
        with self._unchanged_on_failure():
            self._partial_fit(X, y, sample_weight)
        return self

    def _partial_fit(self, X, y, sample_weight) -> None:
        if is_chunked(X):
            raise ValueError(f"partial_fit takes a chunk of rows in memory; X is "
                             f"{type(X).__name__}, data in chunks, which fit reads whole.")
        if not hasattr(self, "statistics_"):
            self._finish_fit(self._infer(X, y, sample_weight))
            return
        X_design = self._design_matrix(X)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y").reshape(-1)
        if y.shape[0] != X_design.shape[0]:
            raise ValueError(f"X has {X_design.shape[0]} rows but y has {y.shape[0]} values.")
        if sample_weight is not None:
            sample_weight = _validate_sample_weight(sample_weight, X_design)
        part = statistics_of_rows(X_design, y, sample_weight)
        self._finish_fit(self._infer_statistics(self.statistics_.merge(part), self.design_))

    @available_if(_takes_statistics)
    def fit_statistics(self, statistics: GaussianStatistics, feature_names=None):
        """Fit the posterior to merged data statistics, without the rows.

        For data that live where this estimator cannot read them (Spark,
        Ray): compute :meth:`GaussianStatistics.from_chunk
        <bayes_sklearn.chunked.GaussianStatistics.from_chunk>` of each
        partition there, merge them (:func:`~bayes_sklearn.chunked.merge_statistics`)
        and fit. The posterior is exactly that of ``fit`` on all the rows.

        Parameters
        ----------
        statistics : GaussianStatistics
            The statistics of all training rows (of the design columns).
        feature_names : sequence of str, optional
            Names of the columns of ``X``, kept as ``feature_names_in_``;
            default ``x0, x1, ...``.

        Returns
        -------
        object
            The estimator itself, fitted.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn import BayesianLinearRegression
        >>> from bayes_sklearn.chunked import GaussianStatistics, merge_statistics
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(90, 2))
        >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=90)
        >>> parts = [GaussianStatistics.from_chunk(X[i:i + 30], y[i:i + 30])
        ...          for i in (0, 30, 60)]
        >>> model = BayesianLinearRegression(inference="exact", random_state=0)
        >>> model = model.fit_statistics(merge_statistics(parts), ["age", "dose"])
        >>> list(model.feature_names_in_), np.round(model.coef_, 1)
        (['age', 'dose'], array([ 2., -1.]))
        """
        self._validate_params()
        if not isinstance(statistics, GaussianStatistics):
            raise ValueError("fit_statistics takes a GaussianStatistics, got "
                             f"{type(statistics).__name__}.")
        with self._unchanged_on_failure():
            self._refuse_formula_without_rows()
            self._set_chunked_features(feature_names, statistics.n_features)
            self._finish_fit(self._infer_statistics(statistics, self._named_design()))
        return self

    def _infer(self, X, y, sample_weight=None) -> FitResult:
        if not self._fits_statistics:
            return super()._infer(X, y, sample_weight)
        design, X_design, y, _ = self._fit_design(X, y)
        y = np.asarray(y, dtype=np.float64)
        if sample_weight is not None:
            sample_weight = _validate_sample_weight(sample_weight, X_design)
        statistics = statistics_of_rows(X_design, y, sample_weight)
        rows = (X_design, y, sample_weight) if self._samples_rows() else None
        return self._infer_statistics(statistics, design, rows)

    def _samples_rows(self) -> bool:
        """Minibatch ADVI draws minibatches of the rows themselves."""
        return self.inference in ("advi", "fullrank_advi") and self.batch_size is not None

    def _infer_chunked(self, X, y, sample_weight=None) -> FitResult:
        if not self._fits_statistics:
            return super()._infer_chunked(X, y, sample_weight)
        from bayes_sklearn.chunked.sources import gaussian_statistics

        data, design = self._chunked_input(X, y, sample_weight)
        statistics = gaussian_statistics(data)
        if design is None:
            self._set_chunked_features(data.feature_names, statistics.n_features)
            design = self._named_design()
        return self._infer_statistics(statistics, design)

    def _refuse_formula_without_rows(self) -> None:
        if self.formula is not None:
            raise ValueError(
                "A formula is learnt from rows: fit_statistics takes statistics of the "
                "design columns. Fit the formula on rows in memory (partial_fit replays it "
                "on later chunks) or on a Dask DataFrame."
            )

    def _infer_statistics(self, statistics: GaussianStatistics, design,
                          rows: tuple | None = None) -> FitResult:
        """Inference from merged statistics: on rows with their moments, or on
        ``rows`` (design, targets, weights) themselves when given."""
        if statistics.weight_sum == 0:
            raise ValueError("The data have no row of positive weight: found "
                             f"{statistics.n_rows} rows, all of weight 0.")
        p = statistics.n_features
        mean, sd, magnitude = statistics.moments()
        spec = self._resolve_spec(design.column_names, None, None, "gaussian", 1,
                                  design_intercept=getattr(design, "intercept", True),
                                  moments=(mean[:p], sd[:p], magnitude[:p], mean[p], sd[p]))
        settings = self._inference_settings()
        if rows is not None:
            X_design, y, sample_weight = rows
            result = run_inference(spec, spec.standardizer.transform(X_design), y, settings,
                                   sample_weight=sample_weight)
            return self._fit_result(design, spec, settings, result, statistics=statistics)
        # the statistics are the full batch: a minibatch of them would only add noise
        settings = replace(settings, batch_size=None)
        # A free intercept absorbs a shift of y: the rows are fitted relative to
        # y's mean, the prior shifted to match, so y's offset is never added back.
        free_intercept = not isinstance(spec.intercept_prior, Constant)
        shift = ResponseScale(float(statistics.mean[p]) if free_intercept else 0.0, 1.0)
        X_z, y, weights = statistics.equivalent_rows(spec.standardizer.center,
                                                     spec.standardizer.scale, shift.center)
        result = run_inference(shift.spec_to_unit(spec), X_z, y, settings,
                               sample_weight=weights)
        result = shift.result_to_original(result, statistics.weight_sum)
        return self._fit_result(design, spec, settings, result, statistics=statistics)
