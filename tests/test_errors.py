"""Failed and interrupted fits leave no trace; convergence problems are visible.

The matrix of bad inputs is in test_hostile_inputs.py.
"""

import numpy as np
import pytest

from bayes_sklearn import (
    BayesianConvergenceWarning,
    BayesianLinearRegression,
    BayesianLogisticRegression,
)
from bayes_sklearn.estimators import _base, _statistics


def test_failed_or_interrupted_fit_leaves_estimator_unchanged(regression_data, monkeypatch):
    X, y = regression_data
    model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    before = model.predict(X)
    state = dict(model.__dict__)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    # the linear estimator infers through its statistics' module
    for module in (_base, _statistics):
        monkeypatch.setattr(module, "run_inference", interrupted)
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
    from bayes_sklearn.inference import _nutpie_core

    original = _nutpie_core.NutpieCore.start_sampler
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

    def start_sampler(core, *args):
        return Sampler(original(core, *args))

    monkeypatch.setattr(_nutpie_core.NutpieCore, "start_sampler", start_sampler)
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
