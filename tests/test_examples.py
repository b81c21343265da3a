"""The walkthroughs in docs/examples run with short chains and reach the
results their text describes. (The docs build, tests/test_docs.py, runs them
again to render them; this file checks what they compute.)"""

import runpy
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

EXAMPLES = Path(__file__).parents[1] / "docs" / "examples"


@pytest.fixture
def run_example(monkeypatch):
    monkeypatch.setenv("BAYES_SKLEARN_DOCS_FAST", "1")

    def run(name: str) -> dict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return runpy.run_path(str(EXAMPLES / f"plot_{name}.py"), run_name="__main__")
            finally:
                plt.close("all")

    return run


def test_logistic_interaction_walkthrough(run_example):
    g = run_example("logistic_interaction")
    summary = g["clf"].summary(hdi_prob=0.94)
    assert list(summary.index) == ["intercept", "coef[x1]", "coef[x2]", "coef[x1:x2]"]
    # the interaction is found: its 94% interval excludes zero
    assert summary.loc["coef[x1:x2]", "hdi_3%"] > 0
    assert g["auc"] > 0.85
    # the interaction is the point: without it a linear model does much worse
    assert g["accuracy"] > g["baseline"].score(g["X_test"], g["y_test"]) + 0.1
    # the observed share of positives lies inside the prior predictive range
    shares = g["simulated"].mean(axis=1)
    assert np.quantile(shares, 0.05) < g["y_train"].mean() < np.quantile(shares, 0.95)


def test_radon_walkthrough(run_example):
    g = run_example("radon")
    # partial pooling shrinks the county estimates towards the state level
    assert g["partial_level"].std() < g["no_pool_level"].std()
    # the classic result: first-floor measurements are lower by about 0.65 log units
    assert -0.9 < g["nuts"].coef_[0] < -0.4 and -0.9 < g["advi"].coef_[0] < -0.4
    scores = g["scores"]
    known = scores["known counties (KFold)"]
    assert known["partial pooling, new_groups='sample'"] > known["complete pooling"]
    unseen = scores["unseen counties (GroupKFold)"]
    assert unseen["partial pooling, new_groups='sample'"] > unseen["partial pooling, new_groups='population'"]
    # the formula form: correlated county effects, and the population level without them
    assert "county_corr" in g["correlated"].posterior_
    assert np.all((g["rho"] >= -1) & (g["rho"] <= 1))
    # (identical rows, equal to rounding: BLAS may round rows of one block
    # differently in the last bit)
    assert np.ptp(g["population"]) < 1e-12 and np.ptp(g["with_county"]) > 0.1
    # each county's prediction lies inside its own 90% interval
    assert np.all((g["low"] <= g["with_county"]) & (g["with_county"] <= g["high"]))


def test_nested_crossed_walkthrough(run_example):
    g = run_example("nested_crossed")
    assert {k: len(v) for k, v in g["crossed"].group_levels_.items()} == {"plate": 24, "sample": 6}
    assert {k: len(v) for k, v in g["nested"].group_levels_.items()} == {"batch": 10, "batch:cask": 30}
    # lme4's REML estimates lie inside the 90% posterior intervals
    table = g["comparison"]
    assert np.all((table["5%"] < table["lme4 REML"]) & (table["lme4 REML"] < table["95%"]))


def test_linear_regression_walkthrough(run_example):
    g = run_example("linear_regression")
    # data far from x = 0: intercept and slope strongly negatively correlated
    assert g["correlation"] < -0.9
    # the marginal sds alone overstate the band of the line
    assert g["marginal_sd"] > 2 * g["joint_sd"]
    # about 90% of new points in the 90% predictive band (2000 points: se 0.007)
    assert abs(g["inside"] - 0.9) < 0.03
    # the line's band lies inside the predictive band everywhere
    assert np.all(g["line_band"][:, 0] >= g["new_band"][:, 0])
    assert np.all(g["line_band"][:, 1] <= g["new_band"][:, 1])
    # NUTS and exact agree on the slope to Monte Carlo error
    exact, nuts = g["exact"].posterior_["coef"].values.ravel(), g["nuts"].posterior_["coef"].values.ravel()
    assert abs(exact.mean() - nuts.mean()) < 4 * exact.std() / np.sqrt(200)
