"""Posterior score distributions, plots and the shipped example."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from bayes_sklearn.metrics import posterior_score
from bayes_sklearn.plotting import plot_decision_boundary, plot_score_distribution

def test_posterior_accuracy_is_the_accuracy_of_each_draw(fitted_binary, binary_data):
    X, y = binary_data
    scores = posterior_score(fitted_binary, X, y, scoring="accuracy", n_draws=50, random_state=3)
    draws = fitted_binary.predict_proba_draws(X, n_draws=50, random_state=3)
    expected = [accuracy_score(y, fitted_binary.classes_[d.argmax(axis=1)]) for d in draws]
    np.testing.assert_allclose(scores, expected)
    assert scores.std() > 0

    auc = posterior_score(fitted_binary, X, y, scoring="roc_auc", n_draws=50, random_state=3)
    assert np.all(np.abs(auc - roc_auc_score(y, fitted_binary.predict_proba(X)[:, 1])) < 0.05)
    with pytest.raises(ValueError, match="Unknown scoring"):
        posterior_score(fitted_binary, X, y, scoring="nope")


def test_predict_proba_draws_average_to_predict_proba(fitted_binary, binary_data):
    X, _ = binary_data
    draws = fitted_binary.predict_proba_draws(X[:7])
    assert draws.shape == (fitted_binary.idata_.posterior.sizes["draw"] * 2, 7, 2)
    np.testing.assert_allclose(draws.mean(axis=0), fitted_binary.predict_proba(X[:7]))


def test_decision_boundary_plot(fitted_binary, binary_data):
    import matplotlib.pyplot as plt

    X, y = binary_data
    ax = plot_decision_boundary(fitted_binary, X, y, n_draws=20, grid_resolution=40)
    # one contour set per draw, plus band, mean boundary and surface
    assert len(ax.collections) >= 20
    assert ax.get_xlabel() == "x0"
    plt.close(ax.figure)
    ax = plot_score_distribution(np.array([0.7, 0.72, 0.72, 0.74]), label="accuracy")
    assert ax.get_xlabel() == "accuracy"
    plt.close(ax.figure)


def test_decision_boundary_needs_two_features(regression_data):
    from bayes_sklearn import BayesianLogisticRegression

    X, y = regression_data
    clf = BayesianLogisticRegression()
    clf.n_features_in_, clf.classes_ = 3, np.array([0, 1])
    clf.posterior_ = None
    with pytest.raises(ValueError, match="exactly two input features"):
        plot_decision_boundary(clf, X, y > y.mean())
