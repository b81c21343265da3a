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
    clf.n_features_in_, clf.classes_ = 3, np.array([0, 1])  # looks fitted to check_is_fitted
    with pytest.raises(ValueError, match="exactly two input features"):
        plot_decision_boundary(clf, X, y > y.mean())


class _NormalForecast:
    """Stands in for a regressor whose predictive distribution is N(mu, sd)."""

    def __init__(self, mu, sd):
        self.mu, self.sd = np.asarray(mu, float), np.asarray(sd, float)

    def sample_posterior_predictive(self, X, n_samples, random_state):
        rng = np.random.default_rng(random_state)
        return self.mu + self.sd * rng.standard_normal((n_samples, len(self.mu)))


def test_crps_matches_the_closed_form_for_normal_forecasts():
    """CRPS(N(mu, s), y) = s [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)], z = (y - mu)/s.
    With 20000 samples per row the fair estimator's sd per row is about
    0.005 s; averaged over 50 rows the tolerance of 0.01 is over 10 se."""
    from scipy import stats

    from bayes_sklearn.metrics import crps

    rng = np.random.default_rng(0)
    mu, sd = rng.normal(size=50), rng.uniform(0.5, 2.0, size=50)
    y = mu + sd * rng.normal(size=50) * 1.5
    z = (y - mu) / sd
    exact = sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    estimate = crps(_NormalForecast(mu, sd), None, y, n_samples=20000)
    assert estimate == pytest.approx(exact.mean(), abs=0.01)


def test_log_predictive_density_is_the_log_of_the_mean_density(regression_data):
    from scipy import stats
    from scipy.special import logsumexp

    from bayes_sklearn import BayesianLinearRegression
    from bayes_sklearn.metrics import log_predictive_density

    X, y = regression_data
    model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    post = model.posterior_
    mean = post["intercept"].values.reshape(-1, 1) + post["coef"].values.reshape(-1, 3) @ X.T
    log_density = stats.norm.logpdf(y, mean, post["sigma"].values.reshape(-1, 1))
    expected = np.mean(logsumexp(log_density, axis=0) - np.log(len(log_density)))
    assert log_predictive_density(model, X, y) == pytest.approx(expected, rel=1e-10)


def test_log_predictive_density_of_a_classifier_is_minus_log_loss(fitted_binary, binary_data):
    """For Bernoulli outcomes the predictive density is the posterior mean
    probability of the observed class, so lpd = -log_loss(y, predict_proba)."""
    from sklearn.metrics import log_loss

    from bayes_sklearn.metrics import log_predictive_density

    X, y = binary_data
    expected = -log_loss(y, fitted_binary.predict_proba(X))
    assert log_predictive_density(fitted_binary, X, y) == pytest.approx(expected, rel=1e-9)


def test_probabilistic_scorers_rank_a_useful_model_above_a_useless_one(regression_data):
    from sklearn.model_selection import cross_val_score

    from bayes_sklearn import BayesianLinearRegression
    from bayes_sklearn.metrics import crps, lpd_scorer, neg_crps_scorer

    X, y = regression_data
    rng = np.random.default_rng(1)
    noise = rng.normal(size=X.shape)
    model = BayesianLinearRegression(inference="exact", random_state=0)
    for scorer in (lpd_scorer, neg_crps_scorer):
        useful = cross_val_score(model, X, y, cv=4, scoring=scorer).mean()
        useless = cross_val_score(model, noise, y, cv=4, scoring=scorer).mean()
        assert useful > useless
    with pytest.raises(ValueError, match="neg_log_loss"):
        from bayes_sklearn import BayesianLogisticRegression

        crps(BayesianLogisticRegression(), X, y)


def test_scorers_see_through_a_pipeline():
    """Issue 12: on a Pipeline every score was NaN and prior_scale=0.01 won."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bayes_sklearn import BayesianLinearRegression
    from bayes_sklearn.metrics import lpd_scorer, neg_crps_scorer

    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), BayesianLinearRegression(inference="exact", random_state=0))
    grid = {"bayesianlinearregression__prior_scale": [0.01, 2.5]}
    for scorer in (lpd_scorer, neg_crps_scorer):
        search = GridSearchCV(pipe, grid, cv=3, scoring=scorer, error_score="raise").fit(X, y)
        assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
        # prior_scale=0.01 shrinks every slope to ~0: y's sd is 77, the residual sd ~54
        assert search.best_params_ == {"bayesianlinearregression__prior_scale": 2.5}


def test_pipeline_scores_equal_the_final_step_on_transformed_rows(fitted_binary, binary_data):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bayes_sklearn import BayesianLinearRegression
    from bayes_sklearn.metrics import crps, log_predictive_density

    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 2)) * [100.0, 0.01] + [500.0, -3.0]
    y = X @ [0.02, 300.0] + rng.normal(size=60)
    pipe = make_pipeline(StandardScaler(), BayesianLinearRegression(inference="exact", random_state=0))
    pipe.fit(X, y)
    X_t = pipe[0].transform(X)
    bare = BayesianLinearRegression(inference="exact", random_state=0).fit(X_t, y)
    for scoring in ("r2", "mae"):
        np.testing.assert_array_equal(
            posterior_score(pipe, X, y, scoring=scoring, n_draws=40, random_state=1),
            posterior_score(bare, X_t, y, scoring=scoring, n_draws=40, random_state=1))
    assert log_predictive_density(pipe, X, y) == log_predictive_density(bare, X_t, y)
    assert crps(pipe, X, y) == crps(bare, X_t, y)

    Xb, yb = binary_data
    clf_pipe = make_pipeline("passthrough", fitted_binary)  # already fitted: no refit
    np.testing.assert_array_equal(
        posterior_score(clf_pipe, Xb, yb, scoring="roc_auc", n_draws=20, random_state=2),
        posterior_score(fitted_binary, Xb, yb, scoring="roc_auc", n_draws=20, random_state=2))


def test_scorers_name_what_a_foreign_estimator_lacks(regression_data):
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bayes_sklearn.metrics import lpd_scorer, neg_crps_scorer

    X, y = regression_data
    for model in (LinearRegression().fit(X, y),
                  make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)):
        with pytest.raises(ValueError, match="LinearRegression does not have"):
            lpd_scorer(model, X, y)
        with pytest.raises(ValueError, match="sample_posterior_predictive"):
            neg_crps_scorer(model, X, y)
        with pytest.raises(ValueError, match="predict_proba_draws or predict_draws"):
            posterior_score(model, X, y, scoring="r2")
