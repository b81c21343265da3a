"""The design of a formula with group terms: its fixed part and its bar terms.

``"floor + (1 + floor | county)"`` is split by
:func:`~bayes_sklearn.design.group_terms.split_group_terms` into the fixed
formula ``"floor"``, which :class:`~bayes_sklearn.design.formula.FormulaDesign`
learns, and the bar terms, which
:class:`~bayes_sklearn.design.group_terms.GroupTermsDesign` learns. Both are
replayed on new rows with the state learnt in fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayes_sklearn.design.formula import FormulaDesign
from bayes_sklearn.design.group_terms import (
    GroupTermArrays,
    GroupTermsDesign,
    split_group_terms,
)


@dataclass(frozen=True, eq=False)
class MultilevelDesign:
    """Fitted design of a formula with group terms.

    Attributes
    ----------
    formula : str
        The formula as the user wrote it.
    fixed : FormulaDesign
        The design of the population-level (fixed) part.
    group_terms : GroupTermsDesign
        The design of the bar terms.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"floor": [0.0, 1.0, 1.0, 0.0], "county": ["a", "a", "b", "b"]})
    >>> design, X_design, arrays = MultilevelDesign.fit(X, "floor + (1 + floor | county)")
    >>> design.column_names, design.group_terms.effect_names
    (('floor',), (('1|county', 'floor|county'),))
    >>> arrays[0].codes
    array([0, 0, 1, 1])
    """

    formula: str
    fixed: FormulaDesign
    group_terms: GroupTermsDesign

    @classmethod
    def fit(cls, X: pd.DataFrame, formula: str
            ) -> tuple[MultilevelDesign, np.ndarray, tuple[GroupTermArrays, ...]]:
        """Learn the design of ``formula`` on ``X``.

        Parameters
        ----------
        X : DataFrame
            Training rows with every column the formula names.
        formula : str
            A right-hand side with at least one bar term.

        Returns
        -------
        design : MultilevelDesign
            The fitted design.
        X_design : ndarray of shape (n_samples, n_columns)
            The fixed part's design matrix.
        arrays : tuple of GroupTermArrays
            Per bar term, the training rows' matrix and level codes.
        """
        fixed_formula, bars = split_group_terms(formula)
        if not bars:
            raise ValueError(f"formula {formula!r} has no group terms such as '(1 | g)'.")
        fixed, X_design = FormulaDesign.fit(X, fixed_formula)
        groups, arrays = GroupTermsDesign.fit_transform(X, bars)
        return cls(formula, fixed, groups), X_design, arrays

    @property
    def column_names(self) -> tuple[str, ...]:
        """Columns of the fixed part's design."""
        return self.fixed.column_names

    @property
    def intercept(self) -> bool:
        """Whether the fixed part has an intercept."""
        return self.fixed.intercept

    def transform(self, X: pd.DataFrame, handle_unknown: str = "error") -> np.ndarray:
        """The fixed part's design matrix of new rows (see ``FormulaDesign.transform``).

        Parameters
        ----------
        X : DataFrame
            New rows.
        handle_unknown : {"error", "ignore"}, default="error"
            Categorical levels unseen in fit: raise, or encode as the reference.

        Returns
        -------
        ndarray of shape (n_samples, n_columns)
        """
        return self.fixed.transform(X, handle_unknown)

    def group_arrays(self, X: Any, handle_unknown: str = "error") -> tuple[GroupTermArrays, ...]:
        """Per bar term, the matrix and level codes (-1: unseen) of new rows.

        Parameters
        ----------
        X : DataFrame
            New rows.
        handle_unknown : {"error", "ignore"}, default="error"
            As in :meth:`transform`, for the bar terms' own designs.

        Returns
        -------
        tuple of GroupTermArrays
        """
        return self.group_terms.transform(X, handle_unknown)
