"""Samplers see a gaussian response on unit scale.

A response in the thousands (prices) or at 1e-10 (rates) would leave the
intercept and the noise scale many orders of magnitude away from the
sampler's starting point and step sizes: ADVI's fixed learning rate never
reaches them and NUTS' warm-up struggles. Every backend therefore fits
``(y - center) / scale`` with priors mapped to match, and the draws are mapped
back; the posterior is the same, only its coordinates change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from bayes_sklearn.design.standardize import location_scale
from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.model.spec import ModelSpec, check_group_term


@dataclass(frozen=True)
class ResponseScale:
    """Centre and scale of a gaussian response (scale 1 for a constant one)."""

    center: float
    scale: float

    @classmethod
    def fit(cls, y: np.ndarray, sample_weight: np.ndarray | None = None) -> ResponseScale:
        center, scale = location_scale(y, sample_weight)
        return cls(center=center, scale=scale)

    def transform(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.center) / self.scale

    def spec_to_unit(self, spec: ModelSpec) -> ModelSpec:
        """The priors of ``spec`` as priors of the unit-scale model's parameters."""
        factor = 1.0 / self.scale
        intercept = spec.intercept_prior.shifted(-self.center)
        # a group term's effects are in y's units per unit of its design: sds scale with y
        terms = tuple(
            replace(term, sd_priors=tuple(p.scaled(factor) for p in term.sd_priors))
            for term in map(check_group_term, spec.group_terms)
        )
        return replace(
            spec,
            intercept_prior=intercept.scaled(factor),
            coef_priors=tuple(p.scaled(factor) for p in spec.coef_priors),
            noise_prior=spec.noise_prior.scaled(factor),
            group_terms=terms,
        )

    def result_to_original(self, result: SamplerResult, n_rows: float) -> SamplerResult:
        """Draws of the unit-scale model mapped back to the response's scale."""

        def scaled(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values * self.scale

        elbo = result.elbo_history
        if elbo is not None:
            # log p(y) = log p(y_unit) - n log(scale): the same ELBO as on y itself
            elbo = elbo - n_rows * np.log(self.scale)
        moments = result.moments
        if moments is not None:
            mean = moments[0] * self.scale
            mean[0] += self.center
            moments = (mean, moments[1] * self.scale**2)
        return replace(
            result,
            moments=moments,
            intercept_z=result.intercept_z * self.scale + self.center,
            coef_z=scaled(result.coef_z),
            sigma=scaled(result.sigma),
            elbo_history=elbo,
            group_terms=tuple(
                replace(term, effects=term.effects * self.scale, sd=term.sd * self.scale)
                for term in result.group_terms
            ),
        )
