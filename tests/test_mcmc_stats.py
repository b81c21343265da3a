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


# -- edge cases against ArviZ and by hand ---------------------------------------
# Each set of draws reaches a branch the generic draws above do not.


def test_one_chain_counts_the_shift_between_its_halves():
    """One chain is split in two: the halves' means differ by 1 sd, and that
    between-half variance must lower the ESS as ArviZ's does."""
    rng = np.random.default_rng(20)
    draws = 50.0 + 4.0 * rng.normal(size=(1, 200, 1))
    draws[:, 100:] += 4.0
    bulk, tail = _mcmc_stats.ess_bulk(draws)[0], _mcmc_stats.ess_tail(draws)[0]
    assert bulk == pytest.approx(float(az.ess(draws[..., 0], method="bulk")), rel=1e-9)
    assert tail == pytest.approx(float(az.ess(draws[..., 0], method="tail")), rel=1e-9)
    # 200 independent draws, but the shift dominates the variance.
    assert bulk < 20


def test_perfectly_alternating_chains_hit_the_ess_ceiling():
    """x_t = c + (-1)^t h in every split half: by hand, the lag-1
    autocorrelation is -1 - 1/(n(n-1)) (n = 100 draws per half), so Geyer's
    sum stops at once and tau = -1 + rho_0 = 0. The ESS is then capped at
    S log10(S) (S = 800 draws), ArviZ's bound for antithetic chains; the
    upper tail indicator is constant, so the tail ESS is S."""
    draws = np.broadcast_to(1000.0 + 0.5 * (-1.0) ** np.arange(200), (4, 200))[..., None]
    size = draws.size
    assert _mcmc_stats.ess_bulk(draws)[0] == pytest.approx(size * np.log10(size), rel=1e-12)
    assert _mcmc_stats.ess_bulk(draws)[0] == pytest.approx(
        float(az.ess(draws[..., 0], method="bulk")), rel=1e-12)
    assert _mcmc_stats.ess_tail(draws)[0] == size


def test_well_separated_short_chains_sum_autocorrelations_to_the_last_lag():
    """Chains 5 sd apart keep every autocorrelation near 1, so Geyer's sum
    runs to the end of the (odd-length, 11-draw) split halves: the last pair
    of lags counts."""
    rng = np.random.default_rng(21)
    draws = -300.0 + rng.normal(size=(4, 22, 1)) + 5.0 * np.arange(4)[:, None, None]
    ours = _mcmc_stats.ess_bulk(draws)[0]
    assert ours == pytest.approx(float(az.ess(draws[..., 0], method="bulk")), rel=1e-9)
    assert ours < 10  # 88 draws, 4 distinct means


def test_tail_ess_with_ties_at_the_95_percent_quantile():
    """Values in {1000, 1250, 1500}; the top one fills 20% of the draws in
    runs of 10, so the 95% quantile is 1500 itself. The upper indicator
    ``x <= q95`` is then constant (ESS = number of draws) and the tail ESS is
    the lower indicator's, not that of the sticky ``x < q95``."""
    rng = np.random.default_rng(11)
    levels = rng.integers(0, 2, size=(4, 200)).astype(float)
    for start in range(0, 200, 50):
        levels[:, start:start + 10] = 2.0
    draws = 1000.0 + 250.0 * levels
    q05, q95 = np.quantile(draws, [0.05, 0.95])
    assert q95 == 1500.0 and q05 == 1000.0
    lower = float(az.ess((draws <= q05).astype(float), method="mean"))
    sticky = float(az.ess((draws < q95).astype(float), method="mean"))
    assert sticky < 0.5 * lower
    ours = _mcmc_stats.ess_tail(draws[..., None])[0]
    assert ours == pytest.approx(lower, rel=1e-9)
    assert ours == pytest.approx(float(az.ess(draws, method="tail")), rel=1e-9)
