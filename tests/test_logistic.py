"""BayesianLogisticRegression: posterior against a Laplace approximation, classes, scores."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from bayes_sklearn import BayesianLogisticRegression

from conftest import FAST_NUTS


def _laplace(spec, X, y):
    """Posterior mode and inverse Hessian in the standardised parameterisation."""
    X_z = spec.standardizer.transform(X)
    A = np.column_stack([np.ones(len(X)), X_z])
    priors = [spec.intercept_prior] + list(spec.sampling_coef_priors())
    m = np.array([p.mu for p in priors])
    s = np.array([p.sigma for p in priors])
    theta = np.zeros(A.shape[1])
    for _ in range(50):
        p = expit(A @ theta)
        grad = A.T @ (y - p) - (theta - m) / s**2
        hess = A.T @ (A * (p * (1 - p))[:, None]) + np.diag(1 / s**2)
        theta = theta + np.linalg.solve(hess, grad)
    return theta, np.linalg.inv(hess)


def test_posterior_matches_laplace_on_well_identified_data():
    rng = np.random.default_rng(11)
    n = 2000
    X = rng.normal(size=(n, 2)) * [1.0, 3.0] + [0.5, -2.0]
    y = (rng.random(n) < expit(-0.4 + X @ np.array([0.8, -0.3]))).astype(int)
    model = BayesianLogisticRegression(draws=1000, tune=1000, chains=4, random_state=0,
                                       progressbar=False).fit(X, y)
    mode, cov = _laplace(model.model_spec_, X, y)
    sd = np.sqrt(np.diag(cov))
    post = model.idata_.posterior
    scale = model.model_spec_.standardizer.scale
    center = model.model_spec_.standardizer.center
    coef_z = post["coef"].values.reshape(-1, 2) * scale
    intercept_z = post["intercept"].values.ravel() + post["coef"].values.reshape(-1, 2) @ center
    draws = np.column_stack([intercept_z, coef_z])
    # With n=2000 the posterior is close to normal: mean and mode differ by a
    # few hundredths of an sd (skewness ~ 1/sqrt(n)). 4000 draws with ESS
    # > 1000 add a Monte Carlo error below 0.03 sd; allow 0.1 sd in total.
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mode), 0.1 * sd)
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.08)
    assert model.convergence_.n_divergences == 0


def test_probabilities_and_decision_function_agree(fitted_binary, binary_data):
    X, _ = binary_data
    proba = fitted_binary.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    decision = fitted_binary.decision_function(X)
    assert np.array_equal(np.argsort(decision, kind="stable"), np.argsort(proba[:, 1], kind="stable"))
    np.testing.assert_array_equal(fitted_binary.predict(X), (decision > 0).astype(int))
    # probabilities are averaged over draws: compare with the draws directly
    post = fitted_binary.idata_.posterior
    eta = post["intercept"].values.reshape(-1, 1) + post["coef"].values.reshape(-1, 2) @ X.T
    np.testing.assert_allclose(proba[:, 1], expit(eta).mean(axis=0))


def test_probability_uncertainty(fitted_binary, binary_data):
    X, _ = binary_data
    proba, std = fitted_binary.predict_proba(X[:10], return_std=True)
    interval = fitted_binary.predict_proba_interval(X[:10], prob=0.9)
    assert interval.shape == (10, 2, 2)
    assert np.all(std > 0)
    assert np.all(interval[..., 0] <= proba) and np.all(proba <= interval[..., 1])
    np.testing.assert_allclose(interval[:, 0, 0], 1 - interval[:, 1, 1])


def test_string_labels_and_three_classes():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(240, 2))
    logits = np.column_stack([np.zeros(240), 2 * X[:, 0], 2 * X[:, 1]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(["bird", "cat", "dog"])
    y = labels[[rng.choice(3, p=row) for row in p]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BayesianLogisticRegression(**FAST_NUTS).fit(pd.DataFrame(X, columns=["u", "v"]), y)
    frame = pd.DataFrame(X, columns=["u", "v"])
    assert list(model.classes_) == ["bird", "cat", "dog"]
    proba = model.predict_proba(frame)
    assert proba.shape == (240, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.coef_.shape == (3, 2) and np.all(model.coef_[0] == 0)
    # the true coefficients against the reference class are (2, 0) and (0, 2)
    np.testing.assert_allclose(model.coef_[1:], [[2, 0], [0, 2]], atol=0.8)
    assert (model.predict(frame) == y).mean() > 0.6
    assert set(np.unique(model.sample_posterior_predictive(frame, n_samples=5))) <= set(labels)
    assert list(model.idata_.posterior["coef"].coords["class"].values) == ["cat", "dog"]


def test_exact_inference_is_refused_with_reason(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="no closed form"):
        BayesianLogisticRegression(inference="exact").fit(X, y)


def test_roc_curve_display(fitted_binary, binary_data):
    from sklearn.metrics import RocCurveDisplay, roc_auc_score

    X, y = binary_data
    display = RocCurveDisplay.from_estimator(fitted_binary, X, y)
    assert display.roc_auc == pytest.approx(roc_auc_score(y, fitted_binary.predict_proba(X)[:, 1]))
    assert display.roc_auc > 0.7


def test_far_rows_get_finite_exact_log_odds(fitted_binary):
    """Rows far outside the data: p underflows, but the log-odds stay exact."""
    from decimal import Decimal, localcontext

    X_far = np.array([[40.0, -40.0], [-40.0, 40.0], [300.0, -300.0], [0.1, 0.2]])
    decision = fitted_binary.decision_function(X_far)
    log_proba = fitted_binary.predict_log_proba(X_far)
    proba = fitted_binary.predict_proba(X_far)
    post = fitted_binary.idata_.posterior
    eta = post["intercept"].values.reshape(-1, 1) + post["coef"].values.reshape(-1, 2) @ X_far.T
    expected = []
    with localcontext() as ctx:
        ctx.prec = 400  # resolves 1 - p for p down to 1e-400
        for column in eta.T:
            values = [Decimal(float(v)) for v in column]
            p1 = sum(1 / (1 + (-v).exp()) for v in values) / len(values)
            p0 = sum(1 / (1 + v.exp()) for v in values) / len(values)
            expected.append([float(p0.ln()), float(p1.ln())])
    expected = np.array(expected)
    assert expected[:3].min() < -100  # these rows are far out: the smaller p is below 1e-43
    np.testing.assert_allclose(log_proba, expected, rtol=1e-12)
    np.testing.assert_allclose(decision, expected[:, 1] - expected[:, 0], rtol=1e-12)
    assert np.all(proba > 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4e-16)


def test_roc_auc_cross_validation_is_finite_on_separable_data():
    """Issue 12: a fold whose decision_function hit -inf scored NaN."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), BayesianLogisticRegression(
        draws=100, tune=100, chains=1, random_state=0, progressbar=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 100 draws: too few for the convergence checks
        scores = cross_val_score(model, X, y, cv=5, scoring="roc_auc")
        log_proba = model.fit(X, y).predict_log_proba(X)
    assert np.all(np.isfinite(scores)) and scores.min() > 0.95
    assert np.all(np.isfinite(log_proba))
    assert log_proba.min() < -37  # some p is below what 1 - p could hold
    proba = model.predict_proba(X)
    assert np.all(proba > 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4e-16)
