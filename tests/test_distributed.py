"""Model selection on a Dask cluster through joblib's dask backend.

A ``LocalCluster`` on loopback stands in for a real cluster: the scheduler,
two worker processes and the client talk over TCP exactly as they would
across machines, and the only change from a laptop run is the
``parallel_config(backend="dask")`` block.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate

from bayes_sklearn import BayesianLogisticRegression, HierarchicalRegression

distributed = pytest.importorskip("distributed")

FAST_NUTS = {"draws": 200, "tune": 200, "chains": 2, "progressbar": False, "random_state": 0}


def _quiet(function):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function()


def test_grid_search_on_dask_equals_serial(client, binary_data):
    X, y = binary_data

    def search():
        return GridSearchCV(BayesianLogisticRegression(**FAST_NUTS), {"prior_scale": [0.1, 2.5]},
                            cv=3, scoring="neg_log_loss", n_jobs=-1).fit(X, y)

    serial = _quiet(search)
    with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
        on_cluster = _quiet(search)
    # the 6 cross-validation fits (2 settings x 3 folds) ran as tasks on the workers
    assert len(tasks.data) >= 6
    assert on_cluster.best_params_ == serial.best_params_
    np.testing.assert_allclose(on_cluster.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], rtol=1e-12)


def test_cross_validate_hierarchical_on_dask_equals_serial(client):
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(8), 15)
    X = pd.DataFrame({"x": rng.normal(size=120), "g": groups})
    y = 1.0 + 0.5 * X["x"] + rng.normal(scale=0.5, size=8)[groups] + rng.normal(size=120)
    model = HierarchicalRegression(group="g", inference="advi", random_state=0)

    def validate():
        return cross_validate(model, X, y, groups=groups, cv=GroupKFold(4), n_jobs=-1,
                              scoring="neg_mean_squared_error")

    serial = _quiet(validate)
    with parallel_config(backend="dask"):
        on_cluster = _quiet(validate)
    np.testing.assert_allclose(on_cluster["test_score"], serial["test_score"], rtol=1e-12)
