"""Our r_hat and ESS equal ArviZ's on the same draws."""

import numpy as np
import pytest

from bayes_sklearn import _mcmc_stats

az = pytest.importorskip("arviz")


def _draws():
    rng = np.random.default_rng(0)
    chains, draws = 4, 301
    ar = np.zeros((chains, draws, 4))
    noise = rng.normal(size=(chains, draws, 4))
    for t in range(1, draws):
        ar[:, t] = 0.8 * ar[:, t - 1] + noise[:, t]
    ar[..., 1] = np.exp(ar[..., 1])  # skewed
    ar[1, :, 2] += 2.0  # one chain off: large r_hat
    ar[..., 3] = rng.integers(0, 3, size=(chains, draws))  # heavy ties
    return ar


@pytest.mark.parametrize(
    "ours, method", [("rhat", "rank"), ("ess_bulk", "bulk"), ("ess_tail", "tail")]
)
def test_matches_arviz(ours, method):
    draws = _draws()
    ours_values = getattr(_mcmc_stats, ours)(draws)
    func = az.rhat if ours == "rhat" else az.ess
    for k in range(draws.shape[-1]):
        theirs = float(func(draws[..., k], method=method))
        np.testing.assert_allclose(ours_values[k], theirs, rtol=1e-9)
