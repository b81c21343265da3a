"""fit in three steps: inference, the convergence policy, storing the fit."""

import warnings

import numpy as np
import pandas as pd
import pytest

from bayes_sklearn import (
    BayesianConvergenceError,
    BayesianConvergenceWarning,
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalRegression,
)

# validate_data sets these while checking X, as in every sklearn estimator
VALIDATION_ATTRIBUTES = {"n_features_in_", "feature_names_in_"}


def _fitted_attributes(model) -> set[str]:
    return {key for key in vars(model) if key.endswith("_") and not key.startswith("_")}


@pytest.fixture(scope="module")
def grouped():
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"x": rng.normal(loc=20.0, scale=4.0, size=60),
                      "g": np.repeat(list("abc"), 20)})
    y = 3.0 + 0.5 * X["x"].to_numpy() + rng.normal(size=60)
    return X, y


def test_inference_sets_no_fitted_attribute(grouped):
    X, y = grouped
    model = HierarchicalRegression(group="g", inference="advi", random_state=0, progressbar=False)
    result = model._infer(X, y)
    assert _fitted_attributes(model) <= VALIDATION_ATTRIBUTES
    np.testing.assert_array_equal(result.group_labels, ["a", "b", "c"])
    assert result.method == "advi" and result.n_iter == len(result.elbo_history)


def test_storing_the_result_gives_the_fit(grouped):
    X, y = grouped
    model = HierarchicalRegression(group="g", inference="advi", random_state=0, progressbar=False)
    fitted = HierarchicalRegression(group="g", inference="advi", random_state=0, progressbar=False).fit(X, y)
    model._set_fitted(model._infer(X, y), None)
    assert _fitted_attributes(model) == _fitted_attributes(fitted)
    np.testing.assert_array_equal(model.groups_, fitted.groups_)
    np.testing.assert_array_equal(model.predict(X), fitted.predict(X))


def _unconverged_advi():
    return BayesianLinearRegression(inference="advi", max_iter=3, random_state=0,
                                    progressbar=False)


def test_the_convergence_warning_points_at_the_users_fit_call(regression_data):
    X, y = regression_data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _unconverged_advi().fit(X, y)
    [warning] = [w for w in caught if issubclass(w.category, BayesianConvergenceWarning)]
    assert warning.filename == __file__
    assert str(warning.message) == (
        "BayesianLinearRegression: advi stopped at max_iter=3 before the relative "
        "parameter change fell below tol=0.01; the approximation may be poor. Raise max_iter."
    )


def test_the_nuts_warning_points_at_the_users_fit_call(binary_data):
    X, y = binary_data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = BayesianLogisticRegression(draws=30, tune=30, chains=2, random_state=0,
                                           progressbar=False).fit(X, y)
    [warning] = [w for w in caught if issubclass(w.category, BayesianConvergenceWarning)]
    assert warning.filename == __file__
    assert warning.message.diagnostics is model.convergence_


def test_raising_on_a_problem_stores_nothing(regression_data):
    X, y = regression_data
    model = _unconverged_advi().set_params(on_convergence_problem="raise")
    with pytest.raises(BayesianConvergenceError, match="advi stopped at max_iter=3"):
        model.fit(X, y)
    assert _fitted_attributes(model) == set()
