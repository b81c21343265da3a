"""Convergence diagnostics surfaced as warnings that carry numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from bayes_sklearn._mcmc_stats import ess_bulk, ess_tail, rhat

__all__ = [
    "BayesianConvergenceError",
    "BayesianConvergenceWarning",
    "ConvergenceDiagnostics",
]

#: Largest acceptable split r_hat (Vehtari et al. 2021).
RHAT_THRESHOLD = 1.01
#: Smallest acceptable bulk/tail ESS per chain (Vehtari et al. 2021).
ESS_PER_CHAIN_THRESHOLD = 100


class BayesianConvergenceWarning(ConvergenceWarning):
    """The sampler's draws may not represent the posterior.

    Parameters
    ----------
    message : str
        What went wrong and what to try.
    diagnostics : ConvergenceDiagnostics or None
        The numbers behind the warning (None for variational inference).

    Attributes
    ----------
    diagnostics : ConvergenceDiagnostics or None
        The numbers behind the warning (None for variational inference).

    Examples
    --------
    Fifty draws of one chain cannot reach the effective sample size of 100
    per chain that the check asks for:

    >>> import warnings
    >>> from bayes_sklearn import BayesianConvergenceWarning
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
    >>> clf = BayesianLogisticRegression(draws=50, tune=50, chains=1,
    ...                                  progressbar=False, random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     clf = clf.fit(X, y)
    >>> found = [w.message for w in caught if w.category is BayesianConvergenceWarning]
    >>> len(found)
    1
    >>> found[0].diagnostics.n_chains
    1
    >>> bool(found[0].diagnostics.min_ess_bulk < 100)
    True
    """

    def __init__(self, message: str, diagnostics: ConvergenceDiagnostics):
        super().__init__(message)
        self.diagnostics = diagnostics


class BayesianConvergenceError(RuntimeError):
    """Raised instead of :class:`BayesianConvergenceWarning` when the
    estimator has ``on_convergence_problem="raise"``.

    Parameters
    ----------
    message : str
        What went wrong and what to try.
    diagnostics : ConvergenceDiagnostics or None
        The numbers behind the error (None for variational inference).

    Attributes
    ----------
    diagnostics : ConvergenceDiagnostics or None
        The numbers behind the error (None for variational inference).

    Examples
    --------
    >>> from bayes_sklearn import BayesianConvergenceError
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
    >>> clf = BayesianLogisticRegression(draws=50, tune=50, chains=1, progressbar=False,
    ...                                  random_state=0, on_convergence_problem="raise")
    >>> try:
    ...     clf.fit(X, y)
    ... except BayesianConvergenceError as error:
    ...     print(error.diagnostics.n_chains, error.diagnostics.min_ess_bulk < 100)
    1 True
    >>> hasattr(clf, "posterior_")  # the failed fit left the estimator unfitted
    False
    """

    def __init__(self, message: str, diagnostics: ConvergenceDiagnostics | None):
        super().__init__(message)
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class ConvergenceDiagnostics:
    """Summary of a fit's convergence.

    Parameters
    ----------
    max_rhat : float
        Largest rank-normalised split r_hat over all parameters.
    min_ess_bulk : float
        Smallest bulk effective sample size.
    min_ess_tail : float
        Smallest tail effective sample size.
    n_divergences : int
        Divergent transitions after warm-up.
    n_chains : int
        Number of chains.

    Examples
    --------
    A NUTS fit stores its diagnostics in ``convergence_``:

    >>> import warnings; warnings.simplefilter("ignore")  # 100 draws: too few for the checks
    >>> from bayes_sklearn import ConvergenceDiagnostics
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
    >>> clf = BayesianLogisticRegression(draws=100, tune=100, chains=1,
    ...                                  progressbar=False, random_state=0).fit(X, y)
    >>> isinstance(clf.convergence_, ConvergenceDiagnostics)
    True
    >>> clf.convergence_.n_chains, clf.convergence_.n_divergences
    (1, 0)

    They can also be built directly:

    >>> ConvergenceDiagnostics(max_rhat=1.003, min_ess_bulk=1800.0, min_ess_tail=1500.0,
    ...                        n_divergences=0, n_chains=4)  # doctest: +NORMALIZE_WHITESPACE
    ConvergenceDiagnostics(max_rhat=1.003, min_ess_bulk=1800.0, min_ess_tail=1500.0,
                           n_divergences=0, n_chains=4)
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_divergences: int
    n_chains: int

    def problems(self) -> list[str]:
        """Human-readable list of what failed; empty when all is well.

        The checks: no divergent transitions; r_hat at most ``1.01`` (with
        several chains); bulk and tail ESS at least 100 per chain.

        Returns
        -------
        list of str
            One entry per failed check.

        Examples
        --------
        >>> from bayes_sklearn import ConvergenceDiagnostics
        >>> ConvergenceDiagnostics(max_rhat=1.003, min_ess_bulk=1800.0, min_ess_tail=1500.0,
        ...                        n_divergences=0, n_chains=4).problems()
        []
        >>> ConvergenceDiagnostics(max_rhat=1.05, min_ess_bulk=250.0, min_ess_tail=900.0,
        ...                        n_divergences=3, n_chains=4).problems()
        ['3 divergent transitions', 'max r_hat 1.050 > 1.01', 'min bulk ESS 250 < 400']
        """
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
    posterior : Draws
        Draws with leading ``chain`` and ``draw`` dimensions.
    sample_stats : dict of str to ndarray or None
        Sampler statistics; ``"diverging"`` is counted.
    """
    n_chains, n_draws = posterior.n_chains, posterior.n_draws
    draws = np.concatenate(
        [
            np.asarray(values, dtype=np.float64).reshape(n_chains, n_draws, -1)
            for _, values in posterior.variables.values()
        ],
        axis=-1,
    )
    # Fixed values (no intercept, a known noise sd, an offset) are the same in
    # every draw: they have no r_hat or ESS to check.
    draws = draws[..., ~np.all(draws == draws[:1, :1], axis=(0, 1))]
    n_div = 0
    if sample_stats is not None and "diverging" in sample_stats:
        n_div = int(np.asarray(sample_stats["diverging"]).sum())
    too_short = n_draws < 4 or draws.shape[-1] == 0
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
