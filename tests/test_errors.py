"""Bad input gets sklearn-style errors; failed fits leave no trace."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from bayes_sklearn import (
    BayesianConvergenceWarning,
    BayesianLinearRegression,
    BayesianLogisticRegression,
)
from bayes_sklearn.estimators import _base


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X_and_y(bad, regression_data):
    X, y = regression_data
    X_bad = X.copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        BayesianLinearRegression(inference="exact").fit(X_bad, y)
    y_bad = y.copy()
    y_bad[0] = bad
    with pytest.raises(ValueError, match="Input y contains"):
        BayesianLinearRegression(inference="exact").fit(X, y_bad)


def test_wrong_feature_count_at_predict(regression_data):
    X, y = regression_data
    model = BayesianLinearRegression(inference="exact").fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])


def test_predict_before_fit():
    X = np.zeros((3, 2))
    for model in (BayesianLinearRegression(), BayesianLogisticRegression()):
        for method in ("predict", "sample_posterior_predictive"):
            with pytest.raises(NotFittedError):
                getattr(model, method)(X)


def test_one_class_only():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="only one class"):
        BayesianLogisticRegression().fit(X, np.ones(10))


def test_continuous_target_for_classifier():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="Unknown label type"):
        BayesianLogisticRegression().fit(X, np.linspace(0, 1, 10))


def test_empty_data_and_length_mismatch():
    with pytest.raises(ValueError, match="0 sample"):
        BayesianLinearRegression().fit(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        BayesianLinearRegression().fit(np.zeros((5, 2)), np.zeros(4))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"draws": 1.5}, "'draws' parameter"),
        ({"chains": -1}, "'chains' parameter"),
        ({"inference": "magic"}, "'inference' parameter"),
        ({"target_accept": 1.0}, "'target_accept' parameter"),
        ({"priors": "wide"}, "'priors' parameter"),
    ],
)
def test_invalid_parameters(params, match, regression_data):
    X, y = regression_data
    with pytest.raises(ValueError, match=match):
        BayesianLinearRegression(**params).fit(X, y)


def test_failed_or_interrupted_fit_leaves_estimator_unchanged(regression_data, monkeypatch):
    X, y = regression_data
    model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    before = model.predict(X)
    state = dict(model.__dict__)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_base, "run_inference", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X[:, :2], y)
    assert model.__dict__.keys() == state.keys()
    assert all(model.__dict__[k] is state[k] for k in state)
    np.testing.assert_array_equal(model.predict(X), before)

    fresh = BayesianLinearRegression(inference="exact")
    with pytest.raises(KeyboardInterrupt):
        fresh.fit(X, y)
    assert not hasattr(fresh, "n_features_in_")


def test_convergence_warning_carries_numbers(binary_data):
    X, y = binary_data
    with pytest.warns(BayesianConvergenceWarning, match="ESS") as record:
        BayesianLogisticRegression(draws=30, tune=30, chains=2, random_state=0,
                                   progressbar=False).fit(X, y)
    diagnostics = [w.message for w in record if isinstance(w.message, BayesianConvergenceWarning)][0].diagnostics
    assert diagnostics.min_ess_bulk < 200
    assert diagnostics.n_chains == 2


def test_interrupt_during_sampling_stops_the_sampler(binary_data, monkeypatch):
    """Ctrl-C while nutpie samples: the Rust sampler is aborted (not left
    running in its threads) and the interrupt reaches the caller."""
    from bayes_sklearn.inference import fast_nuts

    real = fast_nuts._nutpie_core()
    events = []

    class Sampler:
        def __init__(self, inner):
            self.inner = inner

        def wait(self, timeout):
            events.append("wait")
            raise KeyboardInterrupt

        def abort(self):
            events.append("abort")
            self.inner.abort()

    class Core:
        def __getattr__(self, name):
            return getattr(real, name)

        class PySampler:
            @staticmethod
            def from_pymc(*args):
                return Sampler(real.PySampler.from_pymc(*args))

    monkeypatch.setattr(fast_nuts, "_nutpie_core", lambda: Core())
    X, y = binary_data
    model = BayesianLogisticRegression(draws=50, tune=50, chains=2, progressbar=False)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert events == ["wait", "abort"]
    assert not hasattr(model, "posterior_")


def test_convergence_problems_can_raise_and_leave_the_fit_alone(binary_data):
    from bayes_sklearn import BayesianConvergenceError

    X, y = binary_data
    model = BayesianLogisticRegression(draws=300, tune=300, chains=2, random_state=0,
                                       progressbar=False, on_convergence_problem="raise")
    model.fit(X, y)
    before = model.predict_proba(X)
    with pytest.raises(BayesianConvergenceError, match="ESS") as error:
        model.set_params(draws=30, tune=30).fit(X, y)
    assert error.value.diagnostics.min_ess_bulk < 200
    # the earlier fit is intact: same draws, same predictions
    assert model.posterior_.sizes["draw"] == 300
    np.testing.assert_array_equal(model.predict_proba(X), before)
