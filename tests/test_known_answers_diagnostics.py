"""Convergence diagnostics on crafted draws whose answer is known.

Each set of draws is built so that only the right computation gets the
answer: chains that differ only in scale (the folded r_hat sees them, the
rank-normalised split r_hat does not), tails that stick while the bulk mixes
(tail ESS low, bulk ESS high), AR(1) chains of known autocorrelation (ESS
``n (1 - rho) / (1 + rho)``), independent draws (r_hat 1, ESS n). The primary
references are analytic; ArviZ is a second one.

Tolerances come from the spread of each estimate over 20-30 seeds, measured
when the tests were written and quoted beside each one; the seeds are fixed.
"""

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import brentq
from scipy.signal import lfilter
from scipy.stats import norm

from bayes_sklearn import (
    BayesianConvergenceError,
    BayesianConvergenceWarning,
    BayesianLinearRegression,
    ConvergenceDiagnostics,
)
from bayes_sklearn import _mcmc_stats
from bayes_sklearn._draws import Draws
from bayes_sklearn.diagnostics import compute_diagnostics
from bayes_sklearn.inference.result import SamplerResult

az = pytest.importorskip("arviz")


# -- crafted draws ------------------------------------------------------------


def _ar1(rng, chains: int, n: int, rho: float) -> np.ndarray:
    """Stationary unit-variance AR(1) chains: autocorrelation rho**k at lag k."""
    noise = rng.normal(size=(chains, n))
    noise[:, 1:] *= np.sqrt(1.0 - rho**2)  # the first draw is already N(0, 1)
    return lfilter([1.0], [1.0, -rho], noise, axis=1)


def _sticky_tails(rng, chains: int, n: int, a: float, b: float, scale: float) -> np.ndarray:
    """Draws ``sigma_t * z_t`` whose scale follows a two-state Markov chain.

    sigma is 1, or ``scale`` in the wide state, entered with probability ``a``
    and left with probability ``b`` per draw. The signs of ``z`` are
    independent, so the bulk (rank-normalised draws) is uncorrelated, while
    the extremes come in runs of wide states.
    """
    wide = np.empty((chains, n), dtype=bool)
    wide[:, 0] = rng.random(chains) < a / (a + b)
    u = rng.random((chains, n))
    for t in range(1, n):
        wide[:, t] = np.where(wide[:, t - 1], u[:, t] >= b, u[:, t] < a)
    return np.where(wide, scale, 1.0) * rng.normal(size=(chains, n))


def _sticky_tails_ess(n_total: int, a: float, b: float, scale: float) -> float:
    """Analytic tail ESS of :func:`_sticky_tails` draws.

    The indicator ``I(x <= q)`` of the 5% quantile ``q`` has, given the
    state, mean ``p_state = Phi(q / sigma_state)``. The state's
    autocorrelation is ``lam**k`` with ``lam = 1 - a - b``, so the indicator's
    is ``c lam**k`` (k >= 1) with ``c = pi (1 - pi) (p_wide - p_1)**2 /
    (0.05 * 0.95)``, and ``tau = 1 + 2 c lam / (1 - lam)``. The 95% quantile
    is symmetric, with the same ESS.
    """
    pi, lam = a / (a + b), 1.0 - a - b
    q = brentq(lambda q: (1 - pi) * norm.cdf(q) + pi * norm.cdf(q / scale) - 0.05, -10 * scale, 0)
    c = pi * (1 - pi) * (norm.cdf(q / scale) - norm.cdf(q)) ** 2 / (0.05 * 0.95)
    return n_total / (1.0 + 2.0 * c * lam / (1.0 - lam))


def _posterior(draws: np.ndarray) -> Draws:
    """(chains, draws, k) as a fit's posterior draws with one vector variable."""
    chains, n, k = draws.shape
    return Draws.from_dataset(xr.Dataset(
        {"coef": (("chain", "draw", "feature"), draws)},
        coords={"chain": np.arange(chains), "draw": np.arange(n), "feature": np.arange(k)},
    ))


def _scale_mismatch(rng, n: int = 1000) -> np.ndarray:
    """Four chains, all centred at 0, two of them twice as wide."""
    return rng.normal(size=(4, n, 1)) * np.array([1.0, 1.0, 2.0, 2.0])[:, None, None]


# -- r_hat --------------------------------------------------------------------


def test_chains_of_different_scale_fail_only_the_folded_rhat():
    draws = _scale_mismatch(np.random.default_rng(1))
    bulk = float(az.rhat(draws[..., 0], method="z_scale"))
    folded = float(az.rhat(draws[..., 0], method="folded"))
    # Equal means: the rank-normalised split r_hat cannot tell the chains
    # apart (r_hat - 1 has sd ~0.0005 for 8 half-chains of 500) ...
    assert abs(bulk - 1.0) < 0.005
    # ... while |x - median| has twice the mean in the wide chains.
    assert folded > 1.05
    ours = _mcmc_stats.rhat(draws)
    np.testing.assert_allclose(ours, [max(bulk, folded)], rtol=1e-9)
    diagnostics = compute_diagnostics(_posterior(draws), None)
    assert diagnostics.max_rhat == pytest.approx(folded, rel=1e-9)
    assert any(p.startswith("max r_hat") for p in diagnostics.problems())


def test_independent_draws_have_rhat_one_and_ess_n():
    draws = np.random.default_rng(2).normal(size=(4, 1000, 3))
    n = draws.shape[0] * draws.shape[1]
    # r_hat - 1 has sd ~ sqrt(2 / 7) / (2 * 500) = 0.0005 for 8 half-chains of 500.
    np.testing.assert_allclose(_mcmc_stats.rhat(draws), 1.0, atol=0.003)
    # Over 20 seeds the bulk and tail ESS of iid draws spread by 3%.
    np.testing.assert_allclose(_mcmc_stats.ess_bulk(draws) / n, 1.0, atol=0.12)
    np.testing.assert_allclose(_mcmc_stats.ess_tail(draws) / n, 1.0, atol=0.12)
    assert compute_diagnostics(_posterior(draws), None).problems() == []


# -- ESS ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rho, n, rel_sd",
    # rel_sd: the spread of bulk ESS / analytic value over 20 seeds.
    [(0.5, 5000, 0.03), (0.9, 20000, 0.035)],
)
def test_bulk_ess_of_ar1_chains_is_n_1_minus_rho_over_1_plus_rho(rho, n, rel_sd):
    draws = _ar1(np.random.default_rng(3), 4, n, rho)[..., None]
    expected = draws.shape[0] * n * (1 - rho) / (1 + rho)
    ours = _mcmc_stats.ess_bulk(draws)[0]
    assert abs(ours / expected - 1.0) < 4 * rel_sd
    assert ours == pytest.approx(float(az.ess(draws[..., 0], method="bulk")), rel=1e-9)


def test_sticky_tails_give_low_tail_ess_high_bulk_ess_and_the_minimum_is_reported():
    rng = np.random.default_rng(4)
    chains, n, wide_scale = 4, 10000, 100.0
    # (a, b): all wide 10% of the time, so the three have one marginal
    # distribution; independent draws, wide runs of mean length 2.2, of 11.
    regimes = [(0.1, 0.9), (0.05, 0.45), (0.01, 0.09)]
    # rel_sd: spread of tail ESS / analytic value over 30 seeds.
    rel_sds = [0.012, 0.036, 0.10]
    draws = np.stack([_sticky_tails(rng, chains, n, a, b, wide_scale) for a, b in regimes],
                     axis=-1)
    n_total = chains * n
    expected_tail = np.array([_sticky_tails_ess(n_total, a, b, wide_scale) for a, b in regimes])
    assert expected_tail[0] == pytest.approx(n_total)  # independent draws
    assert expected_tail[2] < 0.12 * n_total

    tail = _mcmc_stats.ess_tail(draws)
    bulk = _mcmc_stats.ess_bulk(draws)
    for k, rel_sd in enumerate(rel_sds):
        assert abs(tail[k] / expected_tail[k] - 1.0) < 4 * rel_sd, (k, tail[k], expected_tail[k])
        # The signs are independent: the bulk mixes (spread 2% over 30 seeds).
        assert bulk[k] > 0.9 * n_total
        assert tail[k] == pytest.approx(float(az.ess(draws[..., k], method="tail")), rel=1e-9)
        assert bulk[k] == pytest.approx(float(az.ess(draws[..., k], method="bulk")), rel=1e-9)

    diagnostics = compute_diagnostics(_posterior(draws), None)
    assert diagnostics.min_ess_tail == pytest.approx(tail.min(), rel=1e-12)
    assert diagnostics.min_ess_tail == pytest.approx(tail[2], rel=1e-12)
    assert diagnostics.min_ess_bulk == pytest.approx(bulk.min(), rel=1e-12)
    # Also when the parameters are spread over several variables.
    split = Draws.from_dataset(xr.Dataset(
        {"a": (("chain", "draw"), draws[..., 2]), "b": (("chain", "draw", "k"), draws[..., :2])}
    ))
    assert compute_diagnostics(split, None).min_ess_tail == pytest.approx(tail[2], rel=1e-12)


# -- thresholds ---------------------------------------------------------------


def _diagnostics(**changes) -> ConvergenceDiagnostics:
    fields = dict(max_rhat=1.0, min_ess_bulk=1e4, min_ess_tail=1e4, n_divergences=0,
                  n_chains=4)
    return ConvergenceDiagnostics(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({}, None),
        ({"max_rhat": 1.0099}, None),
        ({"max_rhat": 1.01}, None),  # the threshold itself passes
        ({"max_rhat": 1.05, "n_chains": 2}, "max r_hat 1.050 > 1.01"),
        ({"max_rhat": 1.0101}, "max r_hat 1.010 > 1.01"),
        ({"max_rhat": float("nan")}, "max r_hat nan > 1.01"),
        ({"max_rhat": 1.5, "n_chains": 1, "min_ess_bulk": 500.0, "min_ess_tail": 500.0}, None),
        # 100 per chain: 400 for 4 chains, 200 for 2.
        ({"min_ess_bulk": 400.0}, None),
        ({"min_ess_bulk": 399.5}, "min bulk ESS 400 < 400"),
        ({"min_ess_tail": 400.0}, None),
        ({"min_ess_tail": 399.5}, "min tail ESS 400 < 400"),
        ({"min_ess_tail": 201.0, "min_ess_bulk": 201.0, "n_chains": 2}, None),
        ({"min_ess_tail": 199.0, "n_chains": 2}, "min tail ESS 199 < 200"),
        ({"min_ess_bulk": 99.0, "n_chains": 1}, "min bulk ESS 99 < 100"),
        ({"n_divergences": 1}, "1 divergent transitions"),
    ],
)
def test_each_threshold_warns_just_above_and_not_just_below(changes, problem):
    problems = _diagnostics(**changes).problems()
    assert problems == ([] if problem is None else [problem])


@pytest.mark.parametrize("n, warns", [(150, False), (75, True)])
def test_ess_threshold_on_crafted_draws(n, warns):
    """iid draws in 4 chains: ESS ~ 4n, against a threshold of 400.

    4 x 150 (ESS ~600) passes and 4 x 75 (ESS ~300) fails: a threshold off
    by a factor 2 either way, or counted in total rather than per chain,
    turns one of them around.
    """
    draws = np.random.default_rng(5).normal(size=(4, n, 2))
    ess = np.concatenate([_mcmc_stats.ess_bulk(draws), _mcmc_stats.ess_tail(draws)])
    if warns:
        assert np.all((ess > 200) & (ess < 400)) and ess.min() < 380, ess
    else:
        assert np.all((ess > 420) & (ess < 800)), ess
    problems = compute_diagnostics(_posterior(draws), None).problems()
    assert bool(problems) is warns
    assert all("ESS" in p and p.endswith("< 400") for p in problems)


def test_one_chain_has_no_rhat_but_its_ess_is_computed():
    """r_hat compares chains: with one it is nan (ArviZ's is too), while the
    ESS of the split chain is still a number, ArviZ's."""
    draws = 1e3 + 10.0 * np.random.default_rng(12).normal(size=(1, 300, 2))
    diagnostics = compute_diagnostics(_posterior(draws), None)
    assert np.isnan(diagnostics.max_rhat)
    assert np.isnan(float(az.rhat(draws[..., 0])))
    expected = min(float(az.ess(draws[..., k], method="bulk")) for k in range(2))
    assert diagnostics.min_ess_bulk == pytest.approx(expected, rel=1e-9)
    assert not any("r_hat" in p for p in diagnostics.problems())


def test_chains_shorter_than_four_draws_give_nan_and_four_give_arviz_numbers():
    """ArviZ needs 4 draws per chain (2 per split half): below that every
    diagnostic is nan, without an error or a numpy warning; at 4 they are
    ArviZ's numbers."""
    rng = np.random.default_rng(13)
    short = 1e3 + 10.0 * rng.normal(size=(2, 3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diagnostics = compute_diagnostics(_posterior(short), None)
    assert np.isnan([diagnostics.max_rhat, diagnostics.min_ess_bulk, diagnostics.min_ess_tail]).all()
    assert np.isnan(float(az.ess(short[..., 0], method="bulk")))
    assert diagnostics.problems() == ["max r_hat nan > 1.01", "min bulk ESS nan < 200",
                                      "min tail ESS nan < 200"]

    four = 1e3 + 10.0 * rng.normal(size=(2, 4, 2))
    diagnostics = compute_diagnostics(_posterior(four), None)
    by_arviz = [[float(az.rhat(four[..., k])), float(az.ess(four[..., k], method="bulk")),
                 float(az.ess(four[..., k], method="tail"))] for k in range(2)]
    max_rhat = max(r for r, _, _ in by_arviz)
    min_bulk = min(b for _, b, _ in by_arviz)
    min_tail = min(t for _, _, t in by_arviz)
    assert np.isfinite([max_rhat, min_bulk, min_tail]).all()
    assert diagnostics.max_rhat == pytest.approx(max_rhat, rel=1e-9)
    assert diagnostics.min_ess_bulk == pytest.approx(min_bulk, rel=1e-9)
    assert diagnostics.min_ess_tail == pytest.approx(min_tail, rel=1e-9)


def test_divergences_are_counted_over_all_chains():
    draws = np.random.default_rng(6).normal(size=(2, 500, 2))
    diverging = np.zeros((2, 500), dtype=bool)
    diverging[0, [3, 70]] = True
    diverging[1, 499] = True
    diagnostics = compute_diagnostics(_posterior(draws), {"diverging": diverging})
    assert diagnostics.n_divergences == 3
    assert diagnostics.problems() == ["3 divergent transitions"]
    clean = compute_diagnostics(_posterior(draws), {"diverging": np.zeros_like(diverging)})
    assert clean.n_divergences == 0 and clean.problems() == []
    assert compute_diagnostics(_posterior(draws), None).n_divergences == 0


# -- the warning a fit raises -------------------------------------------------


def _crafted_fit(monkeypatch, coef_z: np.ndarray, diverging: np.ndarray, **params):
    """Fit with the sampler replaced by the crafted draws ``coef_z`` (chains, draws)."""
    from bayes_sklearn.estimators import _base, _statistics

    rng = np.random.default_rng(7)
    chains, n = coef_z.shape

    def crafted(spec, X_z, y, settings, sample_weight=None, group_designs=None):
        assert settings.method == "nuts"
        return SamplerResult(
            intercept_z=rng.normal(size=(chains, n, 1)),
            coef_z=coef_z[..., None, None],
            sigma=np.exp(0.01 * rng.normal(size=(chains, n))),
            sample_stats={"diverging": diverging},
            method="nuts",
        )

    # the linear estimator infers through its statistics' module
    for module in (_base, _statistics):
        monkeypatch.setattr(module, "run_inference", crafted)
    X = np.linspace(-1.0, 1.0, 20)[:, None]
    return BayesianLinearRegression(progressbar=False, draws=n, chains=chains,
                                    **params).fit(X, X[:, 0])


def test_a_fit_whose_chains_differ_in_scale_warns_with_the_folded_rhat(monkeypatch):
    coef_z = _scale_mismatch(np.random.default_rng(8))[..., 0]
    no_divergences = np.zeros(coef_z.shape, dtype=bool)
    with pytest.warns(BayesianConvergenceWarning, match=r"max r_hat 1\.\d+ > 1\.01") as caught:
        model = _crafted_fit(monkeypatch, coef_z, no_divergences)
    folded = float(az.rhat(coef_z, method="folded"))
    assert model.convergence_.max_rhat == pytest.approx(folded, rel=1e-5)
    per_variable = az.rhat(model.posterior_, method="rank")
    assert model.convergence_.max_rhat == pytest.approx(
        max(float(per_variable[v].max()) for v in per_variable.data_vars), rel=1e-9)
    assert caught[0].message.diagnostics == model.convergence_
    assert "divergent" not in str(caught[0].message)
    with pytest.raises(BayesianConvergenceError, match="max r_hat"):
        _crafted_fit(monkeypatch, coef_z, no_divergences, on_convergence_problem="raise")


def test_a_fit_with_well_mixed_chains_and_divergences_warns_of_those_only(monkeypatch):
    coef_z = np.random.default_rng(9).normal(size=(4, 1000))
    diverging = np.zeros(coef_z.shape, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = _crafted_fit(monkeypatch, coef_z, diverging)
    assert model.convergence_.problems() == []
    diverging[2, :5] = True
    with pytest.warns(BayesianConvergenceWarning, match=r"\(5 divergent transitions\)"):
        model = _crafted_fit(monkeypatch, coef_z, diverging)
    assert model.convergence_.n_divergences == 5


def test_the_warning_text_a_user_reads(monkeypatch):
    """Every failed check, in order, separated by "; ", then the advice."""
    coef_z = _scale_mismatch(np.random.default_rng(8))[..., 0]
    diverging = np.zeros(coef_z.shape, dtype=bool)
    diverging[1, [10, 20]] = True
    with pytest.warns(BayesianConvergenceWarning) as caught:
        model = _crafted_fit(monkeypatch, coef_z, diverging)
    folded = float(az.rhat(coef_z, method="folded"))
    # The wide chains hold most of the extremes: the tail ESS fails too.
    tail = az.ess(model.posterior_, method="tail")
    min_tail = min(float(tail[v].min()) for v in tail.data_vars)
    assert str(caught[0].message) == (
        "BayesianLinearRegression: the posterior draws may be unreliable "
        f"(2 divergent transitions; max r_hat {folded:.3f} > 1.01; "
        f"min tail ESS {min_tail:.0f} < 400). "
        "Increase `tune` and `draws`, raise `target_accept` for divergences, "
        "or inspect `idata_` with arviz."
    )
    assert model.convergence_.n_divergences == 2


# -- summary() ----------------------------------------------------------------


def _hdi_by_hand(values: np.ndarray, prob: float) -> tuple[float, float]:
    """Shortest interval holding floor(prob * n) + 1 of the sorted draws."""
    x = np.sort(values.ravel())
    inc = int(np.floor(prob * x.size))
    start = int(np.argmin(x[inc:] - x[: x.size - inc]))
    return float(x[start]), float(x[start + inc])


def test_summary_numbers_equal_a_direct_computation(monkeypatch):
    rho, chains, n = 0.5, 4, 5000
    coef_z = 50.0 + 3.0 * _ar1(np.random.default_rng(10), chains, n, rho)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = _crafted_fit(monkeypatch, coef_z, np.zeros(coef_z.shape, dtype=bool))
    table = model.summary(hdi_prob=0.9, round_to="none")
    assert list(table.index) == ["intercept", "coef[x0]", "sigma"]
    for row, values in (("intercept", model.posterior_["intercept"].values),
                        ("coef[x0]", model.posterior_["coef"].values[..., 0]),
                        ("sigma", model.posterior_["sigma"].values)):
        assert table.loc[row, "mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert table.loc[row, "sd"] == pytest.approx(values.std(ddof=1), rel=1e-12)
        low, high = _hdi_by_hand(values, 0.9)
        assert table.loc[row, "hdi_5%"] == pytest.approx(low, rel=1e-12)
        assert table.loc[row, "hdi_95%"] == pytest.approx(high, rel=1e-12)
        assert np.mean((values >= low) & (values <= high)) == pytest.approx(0.9, abs=1e-3)
        flat = values.reshape(chains, n, 1)
        assert table.loc[row, "r_hat"] == pytest.approx(_mcmc_stats.rhat(flat)[0], rel=1e-9)
        assert table.loc[row, "ess_bulk"] == pytest.approx(_mcmc_stats.ess_bulk(flat)[0], rel=1e-9)
        assert table.loc[row, "ess_tail"] == pytest.approx(_mcmc_stats.ess_tail(flat)[0], rel=1e-9)
    # The coefficient is the AR(1) chain mapped linearly: the analytic ESS
    # (spread 3% over 20 seeds) and r_hat 1.
    coef = table.loc["coef[x0]"]
    assert abs(coef["ess_bulk"] / (chains * n * (1 - rho) / (1 + rho)) - 1.0) < 0.12
    assert abs(coef["r_hat"] - 1.0) < 0.005
    # The default table rounds what it shows; the numbers are the same.
    rounded = model.summary()
    assert rounded.loc["coef[x0]", "mean"] == round(coef["mean"], 3)
