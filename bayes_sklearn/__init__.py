"""scikit-learn compatible Bayesian estimators on PyMC.

Importing the package is cheap: PyMC, PyTensor and ArviZ are imported only
when a model is fitted or its ``idata_`` is used.
"""

from bayes_sklearn.diagnostics import (
    BayesianConvergenceError,
    BayesianConvergenceWarning,
    ConvergenceDiagnostics,
)
from bayes_sklearn.estimators import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalLogisticRegression,
    HierarchicalRegression,
)
from bayes_sklearn.persistence import load
from bayes_sklearn.transformers import FormulaTransformer

__version__ = "0.1.0"

__all__ = [
    "BayesianConvergenceError",
    "BayesianConvergenceWarning",
    "BayesianLinearRegression",
    "BayesianLogisticRegression",
    "ConvergenceDiagnostics",
    "FormulaTransformer",
    "HierarchicalLogisticRegression",
    "HierarchicalRegression",
    "__version__",
    "load",
]
