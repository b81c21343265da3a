"""Model description as plain data: families (likelihood and link) and priors."""

from bayes_sklearn.model.families import FAMILIES, Family
from bayes_sklearn.model.spec import ModelSpec, resolve_model_spec

__all__ = ["FAMILIES", "Family", "ModelSpec", "resolve_model_spec"]
