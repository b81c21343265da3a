"""Known answers of models with group terms, from software other than ours.

* statsmodels ``MixedLM`` (and lme4's published fits) on lme4's crossed
  ``Penicillin``, nested ``Pastes`` and the radon data, stored in
  ``reference_mixed_models.py`` by a script that needs no bayes_sklearn model.
  A posterior is not a REML fit, so the tolerances say what differs:

  - **Population intercepts** of the balanced designs: for any variance
    components the GLS estimate is the grand mean, so the posterior mean is
    it up to Monte Carlo error and the prior's pull (prior sd 2.5 sd(y)
    against a standard error below 0.4 sd(y): under 3% of a standard
    error). Held to 4 Monte Carlo standard errors (from the draws' ESS)
    plus 0.03 standard errors; radon's (unbalanced) fixed effects to 4
    Monte Carlo standard errors plus 0.25 standard errors.
  - **Residual sd**, informed by 100+ rows: within 5% (its posterior sd is
    ~4% and posterior median and REML differ by O(1/n)).
  - **Group sds**: the posterior median against REML, within 20% for a
    factor with 20+ levels and 35% with 6 to 10 (the posterior of an sd
    estimated from k levels has relative width ~ 1/sqrt(2(k-1)), 0.3 at
    k = 6, and is right-skewed: its median sits above the REML mode).
  - **Radon correlation** of county intercepts and floor slopes: REML -0.37;
    the posterior is wide (sd ~0.2): the posterior mean within 0.25.

* A hand-written PyMC model of independent effects at x = 0, sampled with
  ``pm.sample``: posterior means agree within 4 combined Monte Carlo
  standard errors.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import reference_mixed_models as ref

from bayes_sklearn import HierarchicalRegression
from bayes_sklearn.datasets import load_pastes, load_penicillin, load_radon
from bayes_sklearn.priors import Exponential, HalfNormal, Normal

pytestmark = pytest.mark.slow  # sampling-heavy: see .ci/run for where they run

NUTS = dict(draws=500, tune=500, chains=2, progressbar=False, random_state=1)


def _fit(formula, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HierarchicalRegression(formula=formula, **{**NUTS, **kwargs}).fit(X, y)


def _median(model, name):
    return float(np.median(model.posterior_[name].values))


def test_penicillin_crossed_matches_mixedlm():
    data = load_penicillin()
    model = _fit("(1 | plate) + (1 | sample)", data[["plate", "sample"]], data["diameter"])
    reml = ref.PENICILLIN_REML
    se = reml["fixed_se"]["Intercept"]
    draws = model.posterior_["intercept"].values
    assert abs(draws.mean() - reml["fixed"]["Intercept"]) < 4 * _mcse(draws) + 0.03 * se
    assert abs(_median(model, "sigma") / reml["sigma"] - 1) < 0.05
    assert abs(_median(model, "1|plate_sigma") / reml["sd"]["plate"] - 1) < 0.20  # 24 plates
    assert abs(_median(model, "1|sample_sigma") / reml["sd"]["sample"] - 1) < 0.35  # 6 samples
    # the posterior sd of the intercept: REML's SE, widened by the uncertainty of
    # the sample sd (6 levels), not narrowed
    assert 0.9 * se < float(model.posterior_["intercept"].std()) < 2.0 * se


def test_pastes_nested_matches_mixedlm():
    data = load_pastes()
    model = _fit("(1 | batch/cask)", data[["batch", "cask"]], data["strength"])
    assert [term.label for term in model.model_spec_.group_terms] == ["batch", "batch:cask"]
    assert len(model.group_levels_["batch:cask"]) == 30
    reml = ref.PASTES_REML
    se = reml["fixed_se"]["Intercept"]
    draws = model.posterior_["intercept"].values
    assert abs(draws.mean() - reml["fixed"]["Intercept"]) < 4 * _mcse(draws) + 0.03 * se
    assert abs(_median(model, "sigma") / reml["sigma"] - 1) < 0.10  # 60 rows, 30 casks
    assert abs(_median(model, "1|batch:cask_sigma") / reml["sd"]["cask"] - 1) < 0.20
    assert abs(_median(model, "1|batch_sigma") / reml["sd"]["batch"] - 1) < 0.35  # 10 batches


def test_radon_correlated_matches_mixedlm():
    radon = load_radon()
    model = _fit("floor + (1 + floor | county)", radon[["floor", "county"]],
                 radon["log_radon"])
    reml = ref.RADON_SLOPES_REML
    post = model.posterior_
    for name, draws in (("Intercept", post["intercept"]), ("floor", post["coef"][..., 0])):
        se, draws = reml["fixed_se"][name], draws.values
        assert abs(draws.mean() - reml["fixed"][name]) < 4 * _mcse(draws) + 0.25 * se, name
    assert abs(_median(model, "sigma") / reml["sigma"] - 1) < 0.05
    assert abs(_median(model, "1|county_sigma") / reml["sd"]["Intercept"] - 1) < 0.20
    # the floor slopes vary across the few counties with first-floor homes: wide
    assert abs(_median(model, "floor|county_sigma") / reml["sd"]["floor"] - 1) < 0.35
    rho = post["county_corr"].values[..., 0, 1]
    assert abs(rho.mean() - reml["corr"]) < 0.25


def _mcse(draws: np.ndarray) -> float:
    """Monte Carlo standard error of the mean of (chain, draw) draws: sd / sqrt(bulk ESS)."""
    import arviz as az

    ess = float(np.asarray(az.ess(draws)).ravel()[0])
    return float(draws.std() / np.sqrt(ess))


def test_independent_effects_at_zero_match_a_hand_written_pymc_model():
    """``(x || g)`` on x ~ 5 +- 2 (not centred), y ~ 1000: effects at x = 0."""
    pm = pytest.importorskip("pymc")
    rng = np.random.default_rng(11)
    n, k = 80, 5
    g = np.repeat(np.arange(k), n // k)
    x = rng.normal(5.0, 2.0, n)
    y = (1000.0 + 3.0 * x + rng.normal(0, 8.0, k)[g] + rng.normal(0, 1.5, k)[g] * x
         + rng.normal(0, 4.0, n))
    X = pd.DataFrame({"x": x, "g": [f"g{v}" for v in g]})
    priors = {"intercept": Normal(1000.0, 50.0), "x": Normal(0.0, 10.0),
              "1|g": HalfNormal(10.0), "x|g": HalfNormal(3.0)}
    ours = _fit("x + (x || g)", X, y, priors=priors, prior_noise=Exponential(scale=5.0),
                center_predictors=False, draws=1000, chains=4)
    with pm.Model():
        a = pm.Normal("a", 1000.0, 50.0)
        b = pm.Normal("b", 0.0, 10.0)
        s0 = pm.HalfNormal("s0", 10.0)
        s1 = pm.HalfNormal("s1", 3.0)
        z0 = pm.Normal("z0", 0.0, 1.0, shape=k)
        z1 = pm.Normal("z1", 0.0, 1.0, shape=k)
        sigma = pm.Exponential("sigma", 1 / 5.0)
        mu = a + b * x + s0 * z0[g] + s1 * z1[g] * x
        pm.Normal("y", mu, sigma, observed=y)
        pm.Deterministic("u0", s0 * z0)
        pm.Deterministic("u1", s1 * z1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hand = pm.sample(1000, tune=1000, chains=4, random_seed=3, progressbar=False,
                             target_accept=0.9, compute_convergence_checks=False).posterior
    post = ours.posterior_
    pairs = [
        (post["intercept"], hand["a"]), (post["coef"][..., 0], hand["b"]),
        (post["sigma"], hand["sigma"]),
        (post["1|g_sigma"], hand["s0"]), (post["x|g_sigma"], hand["s1"]),
        (post["1|g"][..., 0], hand["u0"][..., 0]), (post["x|g"][..., 2], hand["u1"][..., 2]),
    ]
    for mine, theirs in pairs:
        mine, theirs = np.asarray(mine), np.asarray(theirs)
        tolerance = 4 * np.hypot(_mcse(mine), _mcse(theirs))
        assert abs(mine.mean() - theirs.mean()) < tolerance, (mine.mean(), theirs.mean())
        # and the spreads, whose Monte Carlo error is ~ sd / sqrt(2 ESS): 10% is > 4 of them
        assert abs(mine.std() / theirs.std() - 1) < 0.10


def test_crossed_effects_are_recovered_from_simulated_data():
    """30 x 20 crossed levels, 1200 rows, y ~ 200 with known sds 3 and 1.5.

    Each true population parameter and sd lies within 3.5 posterior sds of
    its posterior mean (the sds' posteriors from 30 and 20 levels are wide:
    relative width ~ 0.13 and 0.16), and the level effects' posterior means
    track the true ones (correlation > 0.9: the noise sd 2 over 40 and 60 rows
    per level leaves them well determined).
    """
    rng = np.random.default_rng(21)
    n, n_a, n_b = 1200, 30, 20
    a = rng.integers(0, n_a, n)
    b = rng.integers(0, n_b, n)
    x = rng.normal(10.0, 3.0, n)
    u_a, u_b = rng.normal(0, 3.0, n_a), rng.normal(0, 1.5, n_b)
    y = 200.0 + 0.7 * x + u_a[a] + u_b[b] + rng.normal(0, 2.0, n)
    X = pd.DataFrame({"x": x, "a": [f"a{v:02d}" for v in a], "b": [f"b{v:02d}" for v in b]})
    model = _fit("x + (1 | a) + (1 | b)", X, y)
    post = model.posterior_
    # the intercept is only identified with the level effects' means: compare the
    # intercept plus the mean effects (the line at x = 0 of an average level)
    line = post["intercept"] + post["1|a"].mean("a__factor_dim") + post["1|b"].mean("b__factor_dim")
    truth = {"line": (line, 200.0 + u_a.mean() + u_b.mean()),
             "x": (post["coef"][..., 0], 0.7), "sigma": (post["sigma"], 2.0),
             "1|a_sigma": (post["1|a_sigma"], 3.0), "1|b_sigma": (post["1|b_sigma"], 1.5)}
    for name, (draws, value) in truth.items():
        assert abs(float(draws.mean()) - value) < 3.5 * float(draws.std()), name
    for name, effects in (("1|a", u_a), ("1|b", u_b)):
        estimated = post[name].mean(("chain", "draw")).values
        assert np.corrcoef(estimated, effects)[0, 1] > 0.9, name
