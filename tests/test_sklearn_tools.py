"""sklearn's own tools over our estimators: finite scores, and no progress output.

Every tool here fits clones of the estimator internally; the estimators are
built with ``progressbar=True`` so that any bar drawn inside a tool would show
in the captured output. Scores come from sklearn's scorers (which call
``decision_function`` / ``predict_proba`` / ``predict``) and from ours.
"""

import warnings

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import StackingClassifier, StackingRegressor, VotingClassifier
from sklearn.feature_selection import RFE, SequentialFeatureSelector
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    KFold,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_val_predict,
    learning_curve,
    permutation_test_score,
    validation_curve,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bayes_sklearn import BayesianLinearRegression, BayesianLogisticRegression
from bayes_sklearn.metrics import lpd_scorer, neg_crps_scorer

SETTINGS = dict(draws=100, tune=100, chains=1, random_state=0, progressbar=True)
CV2 = StratifiedKFold(2, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def cancer():
    """Breast cancer, 30 correlated features: some rows' probabilities
    underflow, the case that gave NaN roc_auc before."""
    X, y = load_breast_cancer(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:, :4], y


def _classifier():
    return make_pipeline(StandardScaler(), BayesianLogisticRegression(**SETTINGS))


def _bare_classifier():
    return BayesianLogisticRegression(**SETTINGS)


def _regressor(inference="nuts"):
    return make_pipeline(StandardScaler(), BayesianLinearRegression(inference=inference, **SETTINGS))


def _run_quietly(capfd, work):
    """Run ``work``; return its scores and assert nothing was printed."""
    with warnings.catch_warnings():
        # 100 draws: the convergence checks may warn; not what this tests
        warnings.simplefilter("ignore")
        result = work()
    out, err = capfd.readouterr()
    assert out == "" and err == "", f"progress output inside a sklearn tool: {err[-300:]!r}"
    return result


def _all_finite(result) -> bool:
    if isinstance(result, (tuple, list)):
        return all(_all_finite(part) for part in result)
    return bool(np.all(np.isfinite(np.asarray(result, dtype=float))))


CLASSIFIER_TOOLS = {
    "cross_val_predict": lambda X, y: cross_val_predict(
        _classifier(), X, y, cv=CV2, method="decision_function"),
    "CalibratedClassifierCV": lambda X, y: CalibratedClassifierCV(
        _classifier(), cv=2).fit(X, y).predict_proba(X),
    "StackingClassifier": lambda X, y: StackingClassifier(
        [("bayes", _classifier()), ("lr", LogisticRegression())], cv=2).fit(X, y).predict_proba(X),
    "VotingClassifier": lambda X, y: VotingClassifier(
        [("bayes", _classifier()), ("lr", LogisticRegression())], voting="soft"
    ).fit(X, y).predict_proba(X),
    "RFE": lambda X, y: RFE(_bare_classifier(), n_features_to_select=28, step=1).fit(
        StandardScaler().fit_transform(X), y).ranking_,
    "SequentialFeatureSelector": lambda X, y: SequentialFeatureSelector(
        _bare_classifier(), n_features_to_select=2, cv=2, scoring="roc_auc").fit(
        StandardScaler().fit_transform(X), y).get_support(),
    "TunedThresholdClassifierCV": lambda X, y: [TunedThresholdClassifierCV(
        _classifier(), cv=2, scoring="balanced_accuracy", random_state=0
    ).fit(X, y).best_score_],
    "permutation_test_score": lambda X, y: permutation_test_score(
        _classifier(), X, y, cv=CV2, n_permutations=2, scoring="roc_auc", random_state=0)[:2],
}


@pytest.mark.parametrize("tool", sorted(CLASSIFIER_TOOLS))
def test_classifier_inside_sklearn_tool_is_quiet_and_finite(tool, cancer, capfd):
    X, y = cancer
    capfd.readouterr()
    result = _run_quietly(capfd, lambda: CLASSIFIER_TOOLS[tool](X, y))
    assert _all_finite(result), result


@pytest.mark.parametrize("scoring", ["roc_auc", "average_precision", "neg_log_loss", "lpd"])
def test_classifier_curves_give_finite_scores(scoring, cancer, capfd):
    X, y = cancer
    scorer = lpd_scorer if scoring == "lpd" else scoring
    capfd.readouterr()
    _, train, test = _run_quietly(capfd, lambda: learning_curve(
        _classifier(), X, y, train_sizes=[0.5, 1.0], cv=CV2, scoring=scorer))
    assert np.all(np.isfinite(train)) and np.all(np.isfinite(test)), (train, test)
    train, test = _run_quietly(capfd, lambda: validation_curve(
        _classifier(), X, y, param_name="bayesianlogisticregression__prior_scale",
        param_range=[0.5, 10.0], cv=CV2, scoring=scorer))
    assert np.all(np.isfinite(train)) and np.all(np.isfinite(test)), (train, test)


@pytest.mark.parametrize("scoring", ["lpd", "crps"])
def test_regressor_inside_sklearn_tools_is_quiet_and_finite(scoring, diabetes, capfd):
    X, y = diabetes
    scorer = lpd_scorer if scoring == "lpd" else neg_crps_scorer
    cv = KFold(2, shuffle=True, random_state=0)
    capfd.readouterr()
    results = [
        _run_quietly(capfd, lambda: cross_val_predict(_regressor("advi"), X, y, cv=cv)),
        _run_quietly(capfd, lambda: permutation_test_score(
            _regressor(), X, y, cv=cv, n_permutations=2, scoring=scorer, random_state=0)[:2]),
        _run_quietly(capfd, lambda: np.ravel(learning_curve(
            _regressor(), X, y, train_sizes=[0.5, 1.0], cv=cv, scoring=scorer)[1:])),
        _run_quietly(capfd, lambda: np.ravel(validation_curve(
            _regressor(), X, y, param_name="bayesianlinearregression__prior_scale",
            param_range=[0.5, 10.0], cv=cv, scoring=scorer))),
        _run_quietly(capfd, lambda: StackingRegressor(
            [("bayes", _regressor()), ("ridge", Ridge())], cv=2).fit(X, y).predict(X)),
        _run_quietly(capfd, lambda: SequentialFeatureSelector(
            BayesianLinearRegression(**SETTINGS), n_features_to_select=2, cv=cv,
            scoring=scorer).fit(StandardScaler().fit_transform(X), y).get_support()),
    ]
    for result in results:
        assert _all_finite(result), result


@pytest.mark.parametrize("inference", ["nuts", "advi"])
def test_a_direct_fit_shows_a_readable_bar(inference, cancer, capfd):
    """The estimator the user fits (alone or in a Pipeline) shows one tqdm bar:
    a percentage, the position out of the total, and no leftover text."""
    X, y = cancer
    capfd.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_pipeline(StandardScaler(), BayesianLogisticRegression(
            inference=inference, **SETTINGS)).fit(X, y)
    out, err = capfd.readouterr()
    assert out == ""
    label = "NUTS" if inference == "nuts" else "ADVI"
    final = err.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith(f"{label}:"), err
    if inference == "nuts":
        assert "100%" in final and "200/200" in final and "1/1 chains done" in final, final
    else:
        assert "converged" in final, final
    assert "now left" not in err and "elapsed" not in err


def test_the_final_bar_reads_the_trace_not_nutpies_last_report(cancer, capfd, monkeypatch):
    """nutpie reports progress from its thread every 200 ms; its last report may
    come after the sampler returns (seen under load: 100% with "0/1 chains
    done"). The bar's last line is the finished trace's."""
    from bayes_sklearn.inference import nutpie_run

    monkeypatch.setattr(nutpie_run._ProgressSnapshot, "record", lambda self, line: None)
    X, y = cancer
    capfd.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BayesianLogisticRegression(**SETTINGS).fit(X, y)
    final = capfd.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    n_divergent = int(model.idata_.sample_stats["diverging"].sum())
    assert "100%" in final and "1/1 chains done" in final, final
    assert f"{n_divergent} divergences" in final, final


def test_a_clone_fitted_by_hand_in_a_tool_is_silent_but_the_original_is_not(cancer, capfd):
    from sklearn.base import clone

    X, y = cancer
    original = BayesianLogisticRegression(**SETTINGS)
    copy = clone(original)
    capfd.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copy.fit(X[:, :2], y)
        assert capfd.readouterr().err == ""
        original.fit(X[:, :2], y)
    assert "NUTS:" in capfd.readouterr().err
    # the flag is not a parameter: cloning keeps get_params equal
    assert copy.get_params() == original.get_params()
