"""scikit-learn's own estimator checks, with fast sampler settings."""

import warnings

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
        # group=None: one pooled group, i.e. the linear / logistic model;
        # the logistic one also takes the variational inference path
        HierarchicalRegression(inference="exact", **FAST),
        HierarchicalLogisticRegression(inference="advi", max_iter=300, **FAST),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # Short chains (and 300 ADVI steps) trip the convergence checks by design.
        warnings.simplefilter("ignore", BayesianConvergenceWarning)
        check(estimator)
