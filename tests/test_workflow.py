"""The estimators as sklearn citizens: pipelines, search, CV, pickling, clone."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bayes_sklearn import BayesianLinearRegression, BayesianLogisticRegression
from bayes_sklearn.priors import Normal

from conftest import FAST_NUTS


def test_pipeline_with_scaler_gives_the_same_line(regression_data):
    X, y = regression_data
    pipe = make_pipeline(StandardScaler(), BayesianLinearRegression(inference="exact",
                                                                     random_state=0))
    pipe.fit(X, y)
    plain = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    # Autoscaled priors make the model invariant to feature scaling: the two
    # posteriors are the same, their 4000 independent draws are not, so the
    # predictions differ by Monte Carlo error only (sd of a difference of two
    # means: sqrt(2) * sd_mu / sqrt(4000)).
    post = plain.idata_.posterior
    mu = post["intercept"].values.reshape(-1, 1) + post["coef"].values.reshape(-1, 3) @ X.T
    tolerance = 4 * np.sqrt(2) * mu.std(axis=0) / np.sqrt(mu.shape[0])
    np.testing.assert_array_less(np.abs(pipe.predict(X) - plain.predict(X)), tolerance)


def test_grid_search_over_prior_scale_and_priors(regression_data):
    X, y = regression_data
    grid = GridSearchCV(
        BayesianLinearRegression(inference="exact", random_state=0),
        {"prior_scale": [1e-3, 2.5], "priors": [None, {0: (0.0, 1e-3)}]},
        cv=3,
    ).fit(X, y)
    # Shrinking every slope (or the strong first one) to zero ruins the fit.
    assert grid.best_params_ == {"prior_scale": 2.5, "priors": None}
    assert grid.best_estimator_.coef_.shape == (3,)


def test_grid_search_classifier_with_roc_auc(binary_data):
    X, y = binary_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = GridSearchCV(BayesianLogisticRegression(**FAST_NUTS),
                            {"prior_scale": [0.001, 2.5]}, cv=2, scoring="roc_auc").fit(X, y)
    assert grid.best_params_ == {"prior_scale": 2.5}


def test_cross_val_score_close_to_least_squares(regression_data):
    from sklearn.linear_model import LinearRegression

    X, y = regression_data
    scores = cross_val_score(BayesianLinearRegression(inference="exact", random_state=0),
                             X, y, cv=4)
    ols = cross_val_score(LinearRegression(), X, y, cv=4)
    # 60 training rows and weak default priors: the posterior mean is within
    # a hair of least squares, so held-out R^2 is too.
    np.testing.assert_allclose(scores, ols, atol=0.01)


@pytest.mark.parametrize("kind", ["linear", "logistic"])
def test_pickle_round_trip_predicts_identically(kind, regression_data, fitted_binary, binary_data):
    if kind == "linear":
        X, y = regression_data
        model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
        before = model.predict(X, return_std=True)
    else:
        X, _ = binary_data
        model = fitted_binary
        before = model.predict_proba(X)
    restored = pickle.loads(pickle.dumps(model))
    after = restored.predict(X, return_std=True) if kind == "linear" else restored.predict_proba(X)
    np.testing.assert_array_equal(np.asarray(before), np.asarray(after))


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_parallel_grid_search_equals_serial(backend, binary_data):
    """Workers share nothing that can race: the precompiled kernel is read-only
    and every fit owns its data buffers. Same seed, same scores, any backend."""
    from joblib import parallel_backend

    X, y = binary_data
    grid = {"prior_scale": [0.1, 2.5]}

    def search(n_jobs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return GridSearchCV(BayesianLogisticRegression(**FAST_NUTS), grid, cv=2,
                                scoring="neg_log_loss", n_jobs=n_jobs).fit(X, y)

    serial = search(1)
    with parallel_backend(backend, n_jobs=2):
        parallel = search(2)
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_allclose(parallel.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], rtol=1e-12)


def test_clone_is_unfitted_and_keeps_priors(regression_data):
    X, y = regression_data
    priors = {"intercept": Normal(0, 10), 1: (0.0, 2.0)}
    model = BayesianLinearRegression(inference="exact", priors=priors).fit(X, y)
    copy = clone(model)
    assert not hasattr(copy, "idata_")
    assert copy.get_params()["priors"] == priors


def test_same_seed_gives_identical_draws(binary_data):
    X, y = binary_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = BayesianLogisticRegression(**FAST_NUTS).fit(X, y)
        b = BayesianLogisticRegression(**FAST_NUTS).fit(X, y)
    np.testing.assert_array_equal(a.idata_.posterior["coef"].values,
                                  b.idata_.posterior["coef"].values)


def test_idata_groups_and_coordinates(regression_data):
    X, y = regression_data
    frame = pd.DataFrame(X, columns=["age", "income", "score"])
    model = BayesianLinearRegression(inference="exact", draws=50, chains=2).fit(frame, y)
    assert model.idata_.groups() == ["posterior"]  # exact inference: no sample_stats
    idata = model.compute_log_likelihood(frame, y)
    assert idata is model.idata_
    assert {"posterior", "observed_data", "log_likelihood"} <= set(idata.groups())
    assert list(idata.posterior["coef"].coords["feature"].values) == ["age", "income", "score"]
    assert idata.log_likelihood["y"].shape == (2, 50, len(y))
    np.testing.assert_array_equal(model.feature_names_in_, ["age", "income", "score"])
    np.testing.assert_allclose(model.log_likelihood(frame, y), idata.log_likelihood["y"].values)
    assert "coef[age]" in model.summary().index


def test_demo_runs_quickly(capsys):
    from bayes_sklearn.__main__ import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main(["demo", "--draws", "200", "--tune", "200", "--chains", "2"])
    out = capsys.readouterr().out
    assert "BayesianLogisticRegression" in out and "sklearn LogisticRegression" in out
    assert "coef[x1:x2]" in out


def test_concurrent_first_compilation_shares_one_cache(tmp_path):
    """Two processes that both find the kernel cache empty compile it at the
    same time into the same directory (as parallel workers on a fresh install
    do): neither deadlocks or reads a half-written entry, both fit the same
    posterior, and a third process then fits from the cache they left."""
    import os
    import subprocess
    import sys

    code = """
import warnings, numpy as np
from bayes_sklearn import BayesianLogisticRegression
rng = np.random.default_rng(7)
X = rng.normal(size=(150, 2))
y = (0.3 + X @ np.array([1.5, -1.0]) + rng.logistic(size=150) > 0).astype(int)
warnings.simplefilter("ignore")
model = BayesianLogisticRegression(draws=100, tune=100, chains=2, progressbar=False,
                                   random_state=0).fit(X, y)
print(repr(model.predict_proba(X[:3])[:, 1].tolist()))
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def start():
        return subprocess.Popen([sys.executable, "-c", code], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    first, second = start(), start()
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert any(tmp_path.rglob("*.nbi")), "the kernel was not cached"
    third = start()
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert outputs[0][0] == outputs[1][0] == out
