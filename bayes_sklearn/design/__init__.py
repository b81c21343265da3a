"""Design step: user data to a numeric design matrix, replayable on new rows."""

from bayes_sklearn.design.arrays import ArrayDesign
from bayes_sklearn.design.standardize import Standardizer

__all__ = ["ArrayDesign", "Standardizer"]
