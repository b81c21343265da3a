"""Likelihood families and their links, in numpy.

A family maps the linear predictor ``eta`` to the distribution of ``y``. The
functions here work on stacks of draws: ``eta`` has shape ``(n_draws, n_rows)``
(or ``(n_draws, n_rows, n_classes - 1)`` for the categorical family, whose first
class is the reference with logit 0). They are what prediction, log likelihood
and predictive sampling are built from; no PyMC is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax


def _with_reference_logit(eta: np.ndarray) -> np.ndarray:
    zeros = np.zeros(eta.shape[:-1] + (1,), dtype=eta.dtype)
    return np.concatenate([zeros, eta], axis=-1)


@dataclass(frozen=True)
class Family:
    """A likelihood with its inverse link.

    Attributes
    ----------
    name : str
        ``"gaussian"``, ``"bernoulli"`` or ``"categorical"``.
    link : str
        Name of the link: ``"identity"``, ``"logit"`` or ``"softmax"``.
    has_noise : bool
        Whether the family has a noise scale ``sigma``.
    """

    name: str
    link: str
    has_noise: bool

    def mean(self, eta: np.ndarray) -> np.ndarray:
        """Expected ``y`` (or class probabilities) for each draw and row."""
        if self.name == "gaussian":
            return eta
        if self.name == "bernoulli":
            return expit(eta)
        return softmax(_with_reference_logit(eta), axis=-1)

    def log_class_probabilities(self, eta: np.ndarray) -> np.ndarray:
        """Log probability of every class for each draw and row, last axis the classes."""
        if self.name == "bernoulli":
            return np.stack([log_expit(-eta), log_expit(eta)], axis=-1)
        if self.name == "categorical":
            return log_softmax(_with_reference_logit(eta), axis=-1)
        raise ValueError(f"The {self.name} family has no classes.")

    def log_likelihood(
        self, y: np.ndarray, eta: np.ndarray, sigma: np.ndarray | None = None
    ) -> np.ndarray:
        """Pointwise log likelihood, shape ``(n_draws, n_rows)``.

        ``y`` holds values for the gaussian family and integer class codes for
        the others.
        """
        if self.name == "gaussian":
            sigma = sigma[:, None]
            z = (y[None, :] - eta) / sigma
            return -0.5 * z**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)
        if self.name == "bernoulli":
            # log expit(eta) for y=1, log expit(-eta) for y=0, without overflow
            signed = np.where(y[None, :] == 1, eta, -eta)
            return -np.logaddexp(0.0, -signed)
        logp = log_softmax(_with_reference_logit(eta), axis=-1)
        return np.take_along_axis(logp, y[None, :, None], axis=-1)[..., 0]

    def sample(
        self,
        eta: np.ndarray,
        sigma: np.ndarray | None,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """One outcome per draw and row: values, or integer class codes."""
        if self.name == "gaussian":
            return eta + sigma[:, None] * rng.standard_normal(eta.shape)
        if self.name == "bernoulli":
            return (rng.random(eta.shape) < expit(eta)).astype(np.int64)
        probs = softmax(_with_reference_logit(eta), axis=-1)
        cumulative = np.cumsum(probs, axis=-1)
        u = rng.random(eta.shape[:-1] + (1,))
        # class k for u in [cum_{k-1}, cum_k): a class of probability 0 is never drawn,
        # even at u = 0; the minimum covers u above a cumulative sum rounded below 1.
        codes = (u >= cumulative).sum(axis=-1)
        return np.minimum(codes, probs.shape[-1] - 1)


FAMILIES: dict[str, Family] = {
    "gaussian": Family("gaussian", "identity", has_noise=True),
    "bernoulli": Family("bernoulli", "logit", has_noise=False),
    "categorical": Family("categorical", "softmax", has_noise=False),
}
