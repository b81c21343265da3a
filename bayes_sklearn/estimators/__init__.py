"""sklearn-facing estimators."""

from bayes_sklearn.estimators.hierarchical import (
    HierarchicalLogisticRegression,
    HierarchicalRegression,
)
from bayes_sklearn.estimators.linear import BayesianLinearRegression
from bayes_sklearn.estimators.logistic import BayesianLogisticRegression

__all__ = [
    "BayesianLinearRegression",
    "BayesianLogisticRegression",
    "HierarchicalLogisticRegression",
    "HierarchicalRegression",
]
