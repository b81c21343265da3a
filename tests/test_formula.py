"""Formulas: out-of-sample replay, coefficient names, unseen levels, pipelines."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from bayes_sklearn import BayesianLinearRegression, BayesianLogisticRegression, FormulaTransformer
from bayes_sklearn.datasets import make_logistic_interaction

from conftest import FAST_NUTS


@pytest.fixture(scope="module")
def interaction_split():
    X, y = make_logistic_interaction(250, random_state=1)
    return train_test_split(X, y, train_size=0.7, random_state=0)


@pytest.fixture(scope="module")
def formula_clf(interaction_split):
    X_train, _, y_train, _ = interaction_split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BayesianLogisticRegression(formula="x1 * x2", **FAST_NUTS).fit(X_train, y_train)


def _by_hand(X):
    return np.column_stack([X["x1"], X["x2"], X["x1"] * X["x2"]])


def test_formula_predictions_equal_hand_built_design(formula_clf, interaction_split):
    X_train, X_test, y_train, _ = interaction_split
    post = formula_clf.idata_.posterior
    assert list(post["coef"].coords["feature"].values) == ["x1", "x2", "x1:x2"]
    coef = post["coef"].values.reshape(-1, 3)
    intercept = post["intercept"].values.reshape(-1, 1)
    by_hand = expit(intercept + coef @ _by_hand(X_test).T).mean(axis=0)
    # predict_proba's sigmoid is tanh-based: equal to expit up to ~1e-16 absolute
    np.testing.assert_allclose(formula_clf.predict_proba(X_test)[:, 1], by_hand,
                               rtol=1e-12, atol=1e-15)

    # the same model fitted on the hand-built matrix gives the same draws
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = BayesianLogisticRegression(**FAST_NUTS).fit(_by_hand(X_train), y_train)
    np.testing.assert_allclose(plain.predict_proba(_by_hand(X_test)),
                               formula_clf.predict_proba(X_test), rtol=1e-10)


def test_stateful_transform_is_replayed_not_refitted():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(10, 1, 60)})
    y = 3 * (train["x"] - 10) + rng.normal(size=60)
    model = BayesianLinearRegression(formula="center(x)", inference="exact",
                                     random_state=0).fit(train, y)
    test = pd.DataFrame({"x": [20.0, 21.0, 22.0]})  # mean 21, far from the training mean
    replayed = model.intercept_ + model.coef_[0] * (test["x"] - train["x"].mean())
    recentred = model.intercept_ + model.coef_[0] * (test["x"] - test["x"].mean())
    prediction = model.predict(test)
    np.testing.assert_allclose(prediction, replayed, rtol=1e-10)
    assert np.abs(prediction - recentred).min() > 10


def test_grid_search_picks_the_interaction(interaction_split):
    X_train, _, y_train, _ = interaction_split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = GridSearchCV(BayesianLogisticRegression(**FAST_NUTS),
                            {"formula": ["x1 + x2", "x1 * x2"]}, cv=3,
                            scoring="neg_log_loss").fit(X_train, y_train)
    assert grid.best_params_ == {"formula": "x1 * x2"}
    scores = grid.cv_results_["mean_test_score"]
    assert scores[1] - scores[0] > 0.1  # log loss improves clearly, not by noise


def test_pickled_formula_estimator_predicts_identically(formula_clf, interaction_split):
    _, X_test, _, _ = interaction_split
    restored = pickle.loads(pickle.dumps(formula_clf))
    np.testing.assert_array_equal(restored.predict_proba(X_test), formula_clf.predict_proba(X_test))


def test_prior_on_the_interaction_only(interaction_split):
    X_train, _, y_train, _ = interaction_split
    clf = BayesianLogisticRegression(formula="x1 * x2", priors={"x1:x2": (0.0, 0.01)})
    sims = clf.sample_prior_predictive(X_train, y_train, n_samples=5, random_state=0)
    assert sims.shape == (5, len(X_train))
    spec = clf._prior_spec_from_data(X_train, y_train)[0]
    assert spec.coef_names == ("x1", "x2", "x1:x2")
    assert spec.coef_priors[2].sigma == 0.01
    assert spec.coef_priors[0].sigma == pytest.approx(2.5 / X_train["x1"].std(ddof=0))


@pytest.fixture(scope="module")
def categorical_data():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({
        "size": rng.normal(size=90),
        "region": rng.choice(["north", "south", "west"], size=90),
    })
    effect = frame["region"].map({"north": 0.0, "south": 2.0, "west": -1.0})
    y = 1.0 + 0.5 * frame["size"] + effect + rng.normal(scale=0.3, size=90)
    return frame, y


def test_mixed_columns_and_unseen_levels(categorical_data):
    frame, y = categorical_data
    model = BayesianLinearRegression(formula="size + C(region)", inference="exact",
                                     random_state=0).fit(frame, y)
    assert model.model_spec_.coef_names == ("size", "C(region)[T.south]", "C(region)[T.west]")
    np.testing.assert_allclose(model.coef_, [0.5, 2.0, -1.0], atol=0.3)

    new = pd.DataFrame({"size": [0.0, 0.0], "region": ["east", "north"]})
    with pytest.raises(ValueError, match="not seen during fit.*east"):
        model.predict(new)
    model.set_params(handle_unknown="ignore")
    unseen, reference = model.predict(new)
    assert unseen == pytest.approx(reference)  # encoded as the reference level


def test_non_numeric_columns_without_formula_are_refused(categorical_data):
    frame, y = categorical_data
    with pytest.raises(ValueError, match=r"non-numeric columns \['region'\].*formula"):
        BayesianLinearRegression(inference="exact").fit(frame, y)


@pytest.mark.parametrize(
    "formula, match",
    [("y ~ size", "right-hand side"), ("size - 1", "intercept"), ("nope + size", "nope"), ("", "non-empty")],
)
def test_bad_formulas(formula, match, categorical_data):
    frame, y = categorical_data
    with pytest.raises(ValueError, match=match):
        BayesianLinearRegression(formula=formula, inference="exact").fit(frame, y)


def test_missing_column_and_nan_at_predict(categorical_data):
    frame, y = categorical_data
    model = BayesianLinearRegression(formula="size + region", inference="exact").fit(frame, y)
    with pytest.raises(ValueError, match="size"):
        model.predict(frame[["region"]])
    broken = frame.head(3).copy()
    broken.loc[1, "size"] = np.nan
    with pytest.raises(ValueError, match="null values"):
        model.predict(broken)
    # extra columns are fine: the formula takes what it names
    extended = frame.assign(unused=1.0)
    np.testing.assert_allclose(model.predict(extended), model.predict(frame))


def test_formula_transformer_in_pipelines(categorical_data):
    frame, y = categorical_data
    transformer = FormulaTransformer("size + C(region) + center(size)").fit(frame)
    assert list(transformer.get_feature_names_out()) == [
        "size", "C(region)[T.south]", "C(region)[T.west]", "center(size)"]
    pipe = make_pipeline(FormulaTransformer("size + C(region)"),
                         BayesianLinearRegression(inference="exact", random_state=0)).fit(frame, y)
    direct = BayesianLinearRegression(formula="size + C(region)", inference="exact",
                                      random_state=0).fit(frame, y)
    np.testing.assert_allclose(pipe.predict(frame), direct.predict(frame))

    columns = ColumnTransformer([("f", FormulaTransformer("C(region)"), ["region"])],
                                remainder="passthrough")
    out = columns.fit_transform(frame)
    assert out.shape == (len(frame), 3)
    assert list(columns.get_feature_names_out()) == [
        "f__C(region)[T.south]", "f__C(region)[T.west]", "remainder__size"]


def test_formula_on_numpy_arrays_uses_default_names(regression_data):
    X, y = regression_data
    model = BayesianLinearRegression(formula="x0 + x1 + x2", inference="exact",
                                     random_state=0).fit(X, y)
    plain = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict(X), plain.predict(X), rtol=1e-8)
