"""scikit-learn's own estimator checks, with fast sampler settings."""

import warnings

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from bayes_sklearn import (
    BayesianConvergenceWarning,
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalLogisticRegression,
    HierarchicalRegression,
)

FAST = dict(draws=150, tune=150, chains=2, progressbar=False)

EXPECTED_FAILED_CHECKS: dict = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(
    [
        BayesianLinearRegression(inference="exact", **FAST),
        BayesianLinearRegression(**FAST),
        BayesianLogisticRegression(**FAST),
        # group=None: one pooled group, i.e. the linear / logistic model
        HierarchicalRegression(inference="exact", **FAST),
        HierarchicalLogisticRegression(**FAST),
        # variational inference goes through the same estimator contract
        BayesianLinearRegression(inference="advi", max_iter=2000, **FAST),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # Short chains in these checks trip the ESS guideline by design.
        warnings.simplefilter("ignore", BayesianConvergenceWarning)
        check(estimator)
