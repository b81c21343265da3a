"""The shipped examples run (with short chains) and write their figures."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).parents[1] / "docs" / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_logistic_interaction_example(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _load("logistic_interaction").main(draws=200, tune=200, chains=2, outdir=tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {
        "roc_curve.png", "decision_boundary.png", "accuracy_posterior.png"}
    assert list(result["summary"].index) == ["intercept", "coef[x1]", "coef[x2]", "coef[x1:x2]"]
    # the interaction is found: its 94% interval excludes zero
    assert result["summary"].loc["coef[x1:x2]", "hdi_3%"] > 0
    assert result["auc"] > 0.8


def test_radon_example(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _load("radon_hierarchical").main(draws=200, tune=300, chains=2, max_iter=5000,
                                                  outdir=tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {
        "radon_nuts_vs_advi.png", "radon_elbo.png", "radon_new_county.png"}
    nuts, advi = result["nuts"], result["advi"]
    # the classic result: first-floor measurements are lower by about 0.65 log units
    assert -0.9 < nuts.coef_[0] < -0.4 and -0.9 < advi.coef_[0] < -0.4
    population, sample = result["intervals"]["population"], result["intervals"]["sample"]
    assert np.all(np.diff(sample, axis=1) > np.diff(population, axis=1))
