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
    [("y ~ size", "right-hand side"), ("nope + size", "nope"), ("", "non-empty")],
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


# -- data frames of other libraries ----------------------------------------------


def _polars(frame, categorical=()):
    pl = pytest.importorskip("polars")
    out = pl.from_pandas(frame)
    return out.with_columns([pl.col(name).cast(pl.Categorical) for name in categorical])


def test_polars_frame_with_formula_predicts_as_pandas(categorical_data):
    frame, y = categorical_data
    on_pandas = BayesianLinearRegression(formula="size + C(region)", inference="exact",
                                         random_state=0).fit(frame, y)
    on_polars = BayesianLinearRegression(formula="size + C(region)", inference="exact",
                                         random_state=0).fit(_polars(frame), y)
    assert list(on_polars.feature_names_in_) == ["size", "region"]
    assert on_polars.model_spec_.coef_names == on_pandas.model_spec_.coef_names
    expected = on_pandas.predict(frame)
    np.testing.assert_array_equal(on_polars.predict(_polars(frame)), expected)
    np.testing.assert_array_equal(on_polars.predict(frame), expected)  # fit polars, predict pandas
    np.testing.assert_array_equal(on_pandas.predict(_polars(frame)), expected)


def test_polars_categorical_levels_are_those_of_pandas(categorical_data):
    frame, y = categorical_data
    # polars orders Categorical levels by first appearance; pandas (and
    # formulaic on strings) sorts them, which sets the reference level
    shuffled = frame.iloc[np.argsort(frame["region"] != "west", kind="stable")]
    y = y.loc[shuffled.index]
    polars_frame = _polars(shuffled.reset_index(drop=True), categorical=["region"])
    model = BayesianLinearRegression(formula="size + C(region)", inference="exact",
                                     random_state=0).fit(polars_frame, y.to_numpy())
    assert model.model_spec_.coef_names == ("size", "C(region)[T.south]", "C(region)[T.west]")
    reference = BayesianLinearRegression(formula="size + C(region)", inference="exact",
                                         random_state=0).fit(shuffled, y)
    np.testing.assert_array_equal(model.predict(frame), reference.predict(frame))
    new = _polars(pd.DataFrame({"size": [0.0], "region": ["east"]}), categorical=["region"])
    with pytest.raises(ValueError, match="not seen during fit.*east"):
        model.predict(new)


def test_formula_transformer_on_polars(categorical_data):
    frame, _ = categorical_data
    formula = "size + C(region) + center(size)"
    on_pandas = FormulaTransformer(formula).fit(frame)
    on_polars = FormulaTransformer(formula).fit(_polars(frame))
    assert list(on_polars.feature_names_in_) == ["size", "region"]
    np.testing.assert_array_equal(on_polars.transform(_polars(frame)), on_pandas.transform(frame))
    np.testing.assert_array_equal(on_polars.transform(frame), on_pandas.transform(frame))


def test_polars_frame_without_formula(regression_data):
    X, y = regression_data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    plain = BayesianLinearRegression(inference="exact", random_state=0).fit(frame, y)
    model = BayesianLinearRegression(inference="exact", random_state=0).fit(_polars(frame), y)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_array_equal(model.predict(_polars(frame)), plain.predict(frame))
    text = _polars(pd.DataFrame({"a": ["u", "v"] * 5, "b": np.arange(10.0)}))
    with pytest.raises(ValueError, match=r"non-numeric columns \['a'\]"):
        BayesianLinearRegression(inference="exact").fit(text, np.arange(10.0))


def test_sparse_X_with_formula_is_refused(regression_data):
    from scipy import sparse

    X, y = regression_data
    with pytest.raises(ValueError, match="formula needs named columns.*sparse"):
        BayesianLinearRegression(formula="x0 + x1", inference="exact").fit(sparse.csr_array(X), y)


# -- formula errors in our words -------------------------------------------------


@pytest.mark.parametrize(
    "formula, match",
    [
        (".", r"uses '\.', which is not supported.*formula=None"),
        ("size +", r"not a valid formula: Operator `\+` has insuffient arguments"),
        ("(", "not a valid formula: Could not find matching"),
        ("size + (", "not a valid formula"),
        ("log(size", "not a valid formula"),
        ("size | region", "'|' outside parentheses.*'\\(1 \\| county\\)'"),
        ("size + bmi", r"names 'bmi', which X does not have.*columns \['region', 'size'\]"),
        ("foo(size)", r"unknown function\(s\) 'foo'"),
    ],
)
def test_bad_formulas_get_our_message_chained_from_formulaic(formula, match, categorical_data):
    frame, y = categorical_data
    with pytest.raises(ValueError, match=match) as excinfo:
        BayesianLinearRegression(formula=formula, inference="exact").fit(frame, y)
    message = str(excinfo.value)
    assert "\x1b" not in message  # no terminal colour codes from formulaic
    if formula not in ("size | region",):
        assert type(excinfo.value.__cause__).__module__.startswith("formulaic")
    if "valid" in match or "supported" in match:
        assert "e.g. 'x1 + x2'" in message


def test_doubled_plus_is_a_valid_formula(categorical_data):
    frame, y = categorical_data
    model = BayesianLinearRegression(formula="size ++ C(region)", inference="exact").fit(frame, y)
    assert model.model_spec_.coef_names == ("size", "C(region)[T.south]", "C(region)[T.west]")


def test_unknown_column_lists_the_columns_abbreviated():
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(30, 50)), columns=[f"c{i:02d}" for i in range(50)])
    with pytest.raises(ValueError, match=r"'c19', … \(50 in all\)\]") as excinfo:
        BayesianLinearRegression(formula="c00 + bmi", inference="exact").fit(wide, wide["c01"])
    assert "'c20'" not in str(excinfo.value)


def test_missing_column_at_predict_names_the_columns(categorical_data):
    frame, y = categorical_data
    model = BayesianLinearRegression(formula="size + C(region)", inference="exact").fit(frame, y)
    with pytest.raises(ValueError, match=r"names 'region', which X does not have.*\['size'\]"):
        model.predict(frame[["size"]])
    transformer = FormulaTransformer("size + C(region)").fit(frame)
    with pytest.raises(ValueError, match="names 'region'"):
        transformer.transform(frame[["size"]])
