"""FormulaTransformer: a formula as a pipeline step."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from bayes_sklearn.design.formula import HANDLE_UNKNOWN_OPTIONS, FormulaDesign, as_frame

__all__ = ["FormulaTransformer"]


class FormulaTransformer(TransformerMixin, BaseEstimator):
    """Turn a DataFrame into the design matrix of a formula.

    The state of stateful transforms (``center``, ``scale``, ``C`` levels,
    spline knots) is learnt in ``fit`` and replayed in ``transform``, so the
    step can sit in a :class:`~sklearn.pipeline.Pipeline` or a
    :class:`~sklearn.compose.ColumnTransformer` in front of any estimator.

    Parameters
    ----------
    formula : str, default="1"
        Right-hand side of the formula, e.g. ``"x1 * x2 + C(region)"``.
    include_intercept : bool, default=False
        Keep formulaic's ``Intercept`` column (estimators fit their own).
    handle_unknown : {"error", "ignore"}, default="error"
        Categorical levels not seen in ``fit``: raise, or encode them as the
        reference level.

    Attributes
    ----------
    design_ : FormulaDesign
        The fitted formula state.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when ``X`` has string column names.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_sklearn import FormulaTransformer
    >>> X = pd.DataFrame({"x1": [1.0, 2.0, 3.0], "x2": [0.0, 1.0, 0.0]})
    >>> ft = FormulaTransformer("x1 * x2 + center(x1)").fit(X)
    >>> list(ft.get_feature_names_out())
    ['x1', 'x2', 'center(x1)', 'x1:x2']
    >>> ft.transform(pd.DataFrame({"x1": [5.0], "x2": [1.0]}))
    array([[5., 1., 3., 5.]])
    """

    _parameter_constraints: dict = {
        "formula": [str],
        "include_intercept": ["boolean"],
        "handle_unknown": [StrOptions(set(HANDLE_UNKNOWN_OPTIONS))],
    }

    def __init__(self, formula: str = "1", *, include_intercept: bool = False,
                 handle_unknown: str = "error"):
        self.formula = formula
        self.include_intercept = include_intercept
        self.handle_unknown = handle_unknown

    def fit(self, X, y=None):
        """Learn the formula's design state from ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Arrays are seen as columns ``x0, x1, ...``.
        y : None
            Ignored; present for sklearn's pipeline API.

        Returns
        -------
        self : FormulaTransformer
            The fitted transformer.

        Examples
        --------
        >>> import pandas as pd
        >>> from bayes_sklearn import FormulaTransformer
        >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0], "region": ["a", "b", "a"]})
        >>> ft = FormulaTransformer("center(x) + C(region)").fit(X)
        >>> ft.n_features_in_, list(ft.feature_names_in_)
        (2, ['x', 'region'])
        """
        self._validate_params()
        _check_feature_names(self, X, reset=True)
        frame = as_frame(X)
        design, _ = FormulaDesign.fit(frame, self.formula)
        self.n_features_in_ = frame.shape[1]
        self.design_ = design
        return self

    def transform(self, X) -> np.ndarray:
        """The design matrix of ``X`` under the fitted formula state.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows to transform; a DataFrame needs the columns the formula
            names (others are ignored).

        Returns
        -------
        ndarray of shape (n_samples, n_design_columns)
            Columns in the order of :meth:`get_feature_names_out`.

        Examples
        --------
        >>> import pandas as pd
        >>> from bayes_sklearn import FormulaTransformer
        >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0], "region": ["a", "b", "a"]})
        >>> ft = FormulaTransformer("center(x) + C(region)").fit(X)
        >>> # the mean of x (2.0) learnt in fit is reused on new rows
        >>> ft.transform(pd.DataFrame({"x": [5.0, 2.0], "region": ["b", "a"]}))
        array([[3., 1.],
               [0., 0.]])
        """
        check_is_fitted(self)
        frame = as_frame(X, getattr(self, "feature_names_in_", None))
        X_design = self.design_.transform(frame, self.handle_unknown)
        if self.include_intercept:
            X_design = np.column_stack([np.ones(len(X_design)), X_design])
        return X_design

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the design columns (``"x1:x2"``, ``"C(region)[T.b]"``...).

        Parameters
        ----------
        input_features : ignored
            Present for scikit-learn API consistency.

        Returns
        -------
        ndarray of str objects
            One name per column of :meth:`transform`'s output, with
            ``"Intercept"`` first when ``include_intercept=True``.

        Examples
        --------
        >>> import pandas as pd
        >>> from bayes_sklearn import FormulaTransformer
        >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0], "region": ["a", "b", "a"]})
        >>> ft = FormulaTransformer("center(x) + C(region)", include_intercept=True).fit(X)
        >>> ft.get_feature_names_out().tolist()
        ['Intercept', 'center(x)', 'C(region)[T.b]']
        """
        check_is_fitted(self)
        names = list(self.design_.column_names)
        if self.include_intercept:
            names = ["Intercept"] + names
        return np.asarray(names, dtype=object)
