"""Convergence diagnostics surfaced as warnings that carry numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from bayes_sklearn._mcmc_stats import ess_bulk, ess_tail, rhat

#: Largest acceptable split r_hat (Vehtari et al. 2021).
RHAT_THRESHOLD = 1.01
#: Smallest acceptable bulk/tail ESS per chain (Vehtari et al. 2021).
ESS_PER_CHAIN_THRESHOLD = 100


class BayesianConvergenceWarning(ConvergenceWarning):
    """The sampler's draws may not represent the posterior.

    Attributes
    ----------
    diagnostics : ConvergenceDiagnostics
        The numbers behind the warning.
    """

    def __init__(self, message: str, diagnostics: ConvergenceDiagnostics):
        super().__init__(message)
        self.diagnostics = diagnostics


class BayesianConvergenceError(RuntimeError):
    """Raised instead of :class:`BayesianConvergenceWarning` when the
    estimator has ``on_convergence_problem="raise"``.

    Attributes
    ----------
    diagnostics : ConvergenceDiagnostics or None
        The numbers behind the error (None for variational inference).
    """

    def __init__(self, message: str, diagnostics: ConvergenceDiagnostics | None):
        super().__init__(message)
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class ConvergenceDiagnostics:
    """Summary of a fit's convergence.

    Attributes
    ----------
    max_rhat : float
        Largest rank-normalised split r_hat over all parameters.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    n_divergences : int
        Divergent transitions after warm-up.
    n_chains : int
        Number of chains.
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_divergences: int
    n_chains: int

    def problems(self) -> list[str]:
        """Human-readable list of what failed; empty when all is well."""
        found = []
        min_ess = ESS_PER_CHAIN_THRESHOLD * self.n_chains
        if self.n_divergences > 0:
            found.append(f"{self.n_divergences} divergent transitions")
        if self.n_chains > 1 and not self.max_rhat <= RHAT_THRESHOLD:
            found.append(f"max r_hat {self.max_rhat:.3f} > {RHAT_THRESHOLD}")
        if not self.min_ess_bulk >= min_ess:
            found.append(f"min bulk ESS {self.min_ess_bulk:.0f} < {min_ess}")
        if not self.min_ess_tail >= min_ess:
            found.append(f"min tail ESS {self.min_ess_tail:.0f} < {min_ess}")
        return found


def compute_diagnostics(posterior, sample_stats) -> ConvergenceDiagnostics:
    """Diagnostics of every posterior variable and the sampler statistics.

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws with leading ``chain`` and ``draw`` dimensions.
    sample_stats : dict of str to ndarray or None
        Sampler statistics; ``"diverging"`` is counted.
    """
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    draws = np.concatenate(
        [
            np.asarray(variable.values, dtype=np.float64).reshape(n_chains, n_draws, -1)
            for variable in posterior.data_vars.values()
        ],
        axis=-1,
    )
    n_div = 0
    if sample_stats is not None and "diverging" in sample_stats:
        n_div = int(np.asarray(sample_stats["diverging"]).sum())
    too_short = n_draws < 4
    return ConvergenceDiagnostics(
        max_rhat=float("nan") if n_chains < 2 or too_short else float(np.nanmax(rhat(draws))),
        min_ess_bulk=float("nan") if too_short else float(np.nanmin(ess_bulk(draws))),
        min_ess_tail=float("nan") if too_short else float(np.nanmin(ess_tail(draws))),
        n_divergences=n_div,
        n_chains=n_chains,
    )


def convergence_message(estimator_name: str, diagnostics: ConvergenceDiagnostics) -> str:
    problems = "; ".join(diagnostics.problems())
    return (
        f"{estimator_name}: the posterior draws may be unreliable ({problems}). "
        "Increase `tune` and `draws`, raise `target_accept` for divergences, "
        "or inspect `idata_` with arviz."
    )
