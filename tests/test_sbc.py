"""Simulation-based calibration: correct posteriors give uniform ranks, and
the check has the power to catch a wrong one.

Each test is deterministic (fixed seeds). With a correct posterior the
Bonferroni-adjusted chi-square p-value is uniform, so the ``> 0.01`` checks
would fail by chance for 1 seed in 100; the miscalibrated cases give p-values
below 1e-50 here, far under the ``< 1e-6`` they are held to. The full runs
(1000 replications) are ``docs/calibration/sbc.py``.
"""

import numpy as np
import pandas as pd
import pytest

from bayes_sklearn import BayesianLinearRegression, BayesianLogisticRegression
from bayes_sklearn.sbc import simulation_based_calibration

X = np.random.default_rng(1).normal(size=(40, 2)) * [1.0, 3.0] + [2.0, -1.0]
_x1 = np.random.default_rng(2).normal(size=40)
X_CORRELATED = np.column_stack([_x1, _x1 + 0.1 * np.random.default_rng(3).normal(size=40)])
SHORT_NUTS = dict(draws=250, tune=300, chains=2, progressbar=False)


@pytest.mark.parametrize(
    "estimator, design, n_replications",
    [
        (BayesianLinearRegression(inference="exact", draws=200, chains=1), X, 200),
        (BayesianLinearRegression(**SHORT_NUTS), X, 100),
        (BayesianLogisticRegression(**SHORT_NUTS), X, 100),
        # NUTS in the Laplace approximation's coordinates on columns correlated 0.993
        (BayesianLinearRegression(**SHORT_NUTS), X_CORRELATED, 100),
        (BayesianLogisticRegression(**SHORT_NUTS), X_CORRELATED, 100),
    ],
    ids=["linear-exact", "linear-nuts", "logistic-nuts", "linear-nuts-correlated",
         "logistic-nuts-correlated"],
)
def test_ranks_are_uniform(estimator, design, n_replications):
    result = simulation_based_calibration(estimator, design, n_replications)
    assert result.ranks.shape == (n_replications, len(result.names))
    assert result.ranks.min() >= 0 and result.ranks.max() <= result.n_draws
    assert result.min_pvalue() > 0.01


def test_detects_a_prior_unlike_the_simulating_one():
    exact = BayesianLinearRegression(inference="exact", draws=200, chains=1)
    result = simulation_based_calibration(exact, X, 200, prior_scale=0.2,
                                          simulate_prior_scale=1.0)
    assert result.min_pvalue() < 1e-6


def test_detects_mean_field_advi_underdispersion():
    """Two nearly collinear features: their coefficients' posterior is strongly
    correlated, which mean-field ADVI cannot represent; its marginals come out
    too narrow and the ranks pile up at the ends. Exact inference on the same
    design passes."""
    advi = BayesianLinearRegression(inference="advi", draws=200, chains=1, progressbar=False)
    assert simulation_based_calibration(advi, X_CORRELATED, 50).min_pvalue() < 1e-6
    exact = BayesianLinearRegression(inference="exact", draws=200, chains=1)
    assert simulation_based_calibration(exact, X_CORRELATED, 200).min_pvalue() > 0.01


def test_hierarchical_ranks_are_uniform():
    """Group-intercept sd and a group's intercept included: 6 groups of 10 rows."""
    from bayes_sklearn import HierarchicalLogisticRegression

    X_grouped = np.random.default_rng(1).normal(size=(60, 2))
    groups = np.repeat(np.arange(6), 10)
    result = simulation_based_calibration(HierarchicalLogisticRegression(**SHORT_NUTS),
                                          X_grouped, 150, groups=groups)
    assert result.names[-2:] == ("1|group_sigma", "1|group[0]")
    assert result.min_pvalue() > 0.01


def test_groups_need_a_fixed_group_prior():
    with pytest.raises(ValueError, match="scales with sd"):
        from bayes_sklearn import HierarchicalRegression

        simulation_based_calibration(HierarchicalRegression(), X, 1, groups=np.zeros(40, int))


# -- group terms of the formula ------------------------------------------------

_rng_terms = np.random.default_rng(4)
X_TERMS = pd.DataFrame({
    "x": _rng_terms.normal(3.0, 1.0, 60),  # not centred: effects at x = 0 matter
    "a": np.repeat(list("abcdef"), 10),
    "b": np.tile(list("PQRST"), 12),
})


@pytest.mark.slow
@pytest.mark.parametrize("formula, ranked", [
    ("x + (1 + x | a)", ("1|a_sigma", "x|a_sigma", "a_corr", "1|a[0]", "x|a[0]")),
    ("x + (1 | a) + (1 | b)", ("1|a_sigma", "1|a[0]", "1|b_sigma", "1|b[0]")),
], ids=["correlated", "crossed"])
def test_group_term_ranks_are_uniform(formula, ranked):
    """Sds, the correlation, a level's effects and the population parameters:
    100 replications, ranks among 99 thinned draws."""
    from bayes_sklearn import HierarchicalRegression
    from bayes_sklearn.sbc import simulation_based_calibration_terms

    result = simulation_based_calibration_terms(HierarchicalRegression(**SHORT_NUTS),
                                                X_TERMS, formula, 100)
    assert result.names == ("intercept", "x", "sigma", *ranked)
    assert result.min_pvalue() > 0.01


@pytest.mark.slow
def test_group_term_calibration_detects_a_wrong_group_prior():
    """Power: simulate group sds from HalfNormal(3) but fit HalfNormal(1)."""
    from bayes_sklearn import HierarchicalRegression
    from bayes_sklearn.sbc import simulation_based_calibration_terms

    result = simulation_based_calibration_terms(HierarchicalRegression(**SHORT_NUTS),
                                                X_TERMS, "x + (1 | a)", 60,
                                                simulate_group_scale=3.0)
    assert result.min_pvalue() < 1e-6
