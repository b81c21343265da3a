"""Group terms of the formula, ``"x + (1 + x | g)"``, in the hierarchical estimators.

The mixin resolves the terms' priors against the training data, binds each
term's rows for prediction (levels unseen in fit by the ``new_groups``
policy of their factor) and selects terms for ``group_terms=``;
:func:`with_group_terms` gives a parent's prediction method that keyword.
"""

from __future__ import annotations

import copy
import functools
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from sklearn.utils.validation import check_is_fitted

from bayes_sklearn._messages import format_items
from bayes_sklearn.design.formula import as_frame
from bayes_sklearn.design.multilevel import MultilevelDesign
from bayes_sklearn.estimators._base import _generator
from bayes_sklearn.model.spec import resolve_group_terms, split_group_priors

NEW_GROUP_POLICIES = ("population", "sample", "error")


GROUP_TERMS_DOC = """\
    group_terms : None or list of str, default=None
        Which group terms of the formula the prediction includes, by grouping
        factor (``["county"]``, ``"state:county"`` for a nested one; the
        group column's name for the term of ``group=``): None
        includes every term, ``[]`` none (the population level), as brms's
        ``re_formula`` and lme4's ``re.form`` (``NA``: none). Rows of levels
        unseen in fit follow ``new_groups`` in the included terms.
"""


def with_group_terms(method: Callable) -> Callable:
    """``method`` of the parent estimator with a ``group_terms`` keyword.

    The parent's method runs on a shallow copy of the estimator that selects
    the terms, so the fitted estimator itself never changes (a prediction
    in another thread sees all terms still).
    """

    @functools.wraps(method)
    def selecting(self, X, *args, group_terms=None, **kwargs):
        view = self if group_terms is None else self._selecting_terms(group_terms)
        return method(view, X, *args, **kwargs)

    signature = inspect.signature(method)
    extra = inspect.Parameter("group_terms", inspect.Parameter.KEYWORD_ONLY, default=None)
    selecting.__signature__ = signature.replace(
        parameters=[*signature.parameters.values(), extra])
    # cleandoc: Python 3.13 strips docstrings' indentation when it compiles them, 3.12
    # keeps it; the result is the same either way
    head, returns, tail = inspect.cleandoc(method.__doc__).partition("\nReturns\n")
    if not returns:
        raise ValueError(f"{method.__qualname__}'s docstring has no Returns section.")
    selecting.__doc__ = (head.rstrip() + "\n" + textwrap.dedent(GROUP_TERMS_DOC) + "\n"
                         + returns + tail)
    return selecting


class FormulaGroupTermsMixin:
    """What the hierarchical estimators do with group terms of their formula."""

    def _set_fitted(self, result, diagnostics) -> None:
        super()._set_fitted(result, diagnostics)
        if result.spec.group_terms:
            self.group_levels_ = {term.label: np.asarray(term.levels, dtype=object)
                                  for term in result.spec.group_terms}

    def _refuse_group_terms(self) -> None:
        """Group terms are this estimator's own; not together with ``group=``."""
        if self.group is not None:
            raise ValueError(
                f"formula {self.formula!r} has group terms and group={self.group!r} is "
                "set too: give the group effects one way, either as terms of the formula "
                f"(e.g. '(1 + x | {self.group})') or with group= and varying_slopes=."
            )

    def _resolve_spec(self, coef_names, X_design, y_fit, family, n_outputs,
                      sample_weight=None, design_intercept=True, group_terms=None):
        if group_terms is None:
            return super()._resolve_spec(coef_names, X_design, y_fit, family, n_outputs,
                                         sample_weight, design_intercept)
        info, designs = group_terms
        labels = [label for label, *_ in info]
        self._check_new_group_policies(labels)
        coefficient_priors, sd_priors = split_group_priors(
            self.priors, [names for _, _, names, _ in info])
        spec = super()._resolve_spec(coef_names, X_design, y_fit, family, n_outputs,
                                     sample_weight=sample_weight,
                                     design_intercept=design_intercept,
                                     priors=coefficient_priors)
        terms = resolve_group_terms(
            info, designs, family=family, y=y_fit, sample_weight=sample_weight,
            sd_priors=sd_priors, prior_group_scale=float(self.prior_group_scale),
            lkj_eta=float(self.lkj_eta),
        )
        return replace(spec, group_terms=terms)

    def _check_new_group_policies(self, labels: list[str]) -> None:
        if not isinstance(self.new_groups, dict):
            return
        for key, policy in self.new_groups.items():
            if key not in labels:
                raise ValueError(
                    f"new_groups names {key!r}, which is not a grouping factor of the "
                    f"formula's group terms; they are {format_items(labels)}."
                )
            if policy not in NEW_GROUP_POLICIES:
                raise ValueError(
                    f"new_groups[{key!r}] must be one of {format_items(NEW_GROUP_POLICIES)}, "
                    f"got {policy!r}."
                )

    def _new_group_policy(self, label: str) -> str:
        if isinstance(self.new_groups, dict):
            return self.new_groups.get(label, "population")
        return self.new_groups

    def _selecting_terms(self, group_terms) -> FormulaGroupTermsMixin:
        """A shallow copy of the fitted estimator whose predictions include ``group_terms``."""
        check_is_fitted(self)
        if not self.model_spec_.group_terms:
            raise ValueError(
                "group_terms selects group terms of the formula, such as '(1 | county)' "
                "(or the term of group=); this estimator was fitted without any."
            )
        if isinstance(group_terms, str) or not all(isinstance(t, str) for t in group_terms):
            raise ValueError(
                "group_terms must be a list of grouping factors such as ['county'] (or [] "
                f"for none), got {group_terms!r}."
            )
        labels = [term.label for term in self.model_spec_.group_terms]
        unknown = [t for t in group_terms if t not in labels]
        if unknown:
            raise ValueError(
                f"group_terms names {format_items(unknown)}, not grouping factors of the "
                f"formula's group terms; they are {format_items(labels)}."
            )
        view = copy.copy(self)
        view._included_terms = frozenset(group_terms)
        return view

    def _prepare(self, X):
        if not isinstance(getattr(self, "design_", None), MultilevelDesign):
            return super()._prepare(X)
        check_is_fitted(self)
        frame = as_frame(X, getattr(self, "feature_names_in_", None))
        return self._design_matrix(frame), self._posterior_with_rows(
            self._term_rows(frame, for_prior=False))

    def _posterior_with_rows(self, rows):
        """The posterior bound to each term's ``(Z, codes)`` of new rows (None: left out);
        codes past a term's known levels get new effects drawn from its fitted distribution."""
        posterior = self._posterior()
        terms = list(posterior.terms)
        new_levels = [0 if row is None else int(row[1].max(initial=-1)) + 1 - term.n_levels
                      for term, row in zip(terms, rows)]
        if any(n > 0 for n in new_levels):
            rng = _generator(self.random_state)
            terms = [term.with_new_levels(n, rng) if n > 0 else term
                     for term, n in zip(terms, new_levels)]
        return replace(posterior, terms=tuple(terms)).with_term_rows(rows)

    def _term_rows(self, frame, for_prior: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each term's ``(Z, codes)`` of new rows, unseen levels by ``new_groups``.

        ``"population"`` leaves code -1 (no contribution), ``"sample"`` gives
        each distinct unseen level a code after the known ones (its effects
        are then drawn), ``"error"`` raises. Under the prior every unseen
        level is sampled.
        """
        design = self.design_.group_terms
        arrays = self.design_.group_arrays(frame, self.handle_unknown)
        included = getattr(self, "_included_terms", None)
        row_levels = None
        rows = []
        for term, (Z, codes) in zip(self.model_spec_.group_terms, arrays):
            if included is not None and term.label not in included:
                rows.append(None)
                continue
            unseen = codes < 0
            policy = "sample" if for_prior else self._new_group_policy(term.label)
            if unseen.any() and policy != "population":
                if row_levels is None:
                    row_levels = dict(zip((t.label for t in self.model_spec_.group_terms),
                                          design.row_levels(frame)))
                new = row_levels[term.label][unseen].astype(str)
                if policy == "error":
                    raise ValueError(
                        f"X has levels of {term.label!r} not seen during fit: "
                        f"{format_items(sorted(set(new)))}. Set new_groups='population' "
                        "or 'sample' (or a dict per grouping factor) to predict for them."
                    )
                _, inverse = np.unique(new, return_inverse=True)
                codes = codes.copy()
                codes[unseen] = term.n_levels + inverse.ravel()
            rows.append((Z, codes))
        return rows

    def _prior_rows(self, X):
        if not isinstance(getattr(self, "design_", None), MultilevelDesign):
            return super()._prior_rows(X)
        frame = as_frame(X, getattr(self, "feature_names_in_", None))
        return self._design_matrix(frame), self._term_rows(frame, for_prior=True)
