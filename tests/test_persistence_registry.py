"""Which classes save/load accept: the registry, not a name lookup in the package."""

import ast
import sys
from pathlib import Path

import h5netcdf
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import bayes_sklearn
from bayes_sklearn import BayesianLinearRegression, HierarchicalRegression
from bayes_sklearn.persistence import _registry


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(loc=50.0, scale=10.0, size=(40, 2))
    y = 7.0 + X @ [0.5, -0.2] + rng.normal(scale=2.0, size=40)
    return X, y


def _stored_estimator(path: Path) -> str:
    with h5netcdf.File(path, "r") as handle:
        return str(handle.attrs["estimator"])


def _edit_estimator(path: Path, name: str) -> None:
    with h5netcdf.File(path, "a") as handle:
        handle.attrs["estimator"] = name


class ShiftedLinear(BayesianLinearRegression):
    """A user's subclass: same parameters, one method of its own."""

    def predict_shifted(self, X):
        return self.predict(X) + 1.0


def test_a_users_subclass_round_trips_under_its_module_and_name(data, tmp_path):
    X, y = data
    model = ShiftedLinear(inference="exact", random_state=0).fit(X, y)
    path = model.save(tmp_path / "shifted.nc")
    assert _stored_estimator(path) == f"{__name__}.ShiftedLinear"
    loaded = bayes_sklearn.load(path)
    assert type(loaded) is ShiftedLinear
    np.testing.assert_array_equal(loaded.predict_shifted(X), model.predict_shifted(X))
    assert type(ShiftedLinear.load(path)) is ShiftedLinear
    # load(expected_class=...) still means exactly that class
    with pytest.raises(TypeError, match="holds a ShiftedLinear, not a BayesianLinearRegression"):
        BayesianLinearRegression.load(path)


def test_a_subclass_defined_in_a_function_round_trips(data, tmp_path):
    class Local(HierarchicalRegression):
        pass

    X, y = data
    X_groups = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "g": np.repeat(["a", "b"], len(y) // 2)})
    model = Local(group="g", inference="advi", random_state=0).fit(X_groups, y)
    loaded = bayes_sklearn.load(model.save(tmp_path / "local.nc"))
    assert type(loaded) is Local
    np.testing.assert_array_equal(loaded.predict(X_groups), model.predict(X_groups))
    np.testing.assert_array_equal(loaded.groups_, model.groups_)


def test_our_estimators_keep_their_stored_names(data, tmp_path):
    X, y = data
    path = BayesianLinearRegression(inference="exact").fit(X, y).save(tmp_path / "m.nc")
    assert _stored_estimator(path) == "BayesianLinearRegression"


def test_a_user_class_of_the_same_name_does_not_replace_ours():
    class BayesianLinearRegression(ShiftedLinear):
        pass

    assert _registry.registered_class("BayesianLinearRegression") is bayes_sklearn.BayesianLinearRegression


@pytest.mark.parametrize("name", ["antigravity.Estimator", "tests.not_a_module.Model", "Ridge"])
def test_a_class_this_process_has_not_defined_is_an_unknown_estimator(name, data, tmp_path):
    X, y = data
    path = BayesianLinearRegression(inference="exact").fit(X, y).save(tmp_path / "m.nc")
    _edit_estimator(path, name)
    with pytest.raises(ValueError, match=f"holds an unknown estimator '{name}'"):
        bayes_sklearn.load(path)
    # never imported by the name in the file (antigravity would open a browser)
    assert name.rsplit(".", 1)[0] not in sys.modules


def test_other_estimators_cannot_be_saved(data, tmp_path):
    X, y = data
    with pytest.raises(TypeError, match="stores bayes_sklearn estimators, not LinearRegression"):
        bayes_sklearn.persistence.save(LinearRegression().fit(X, y), tmp_path / "m.nc")


def test_persistence_does_not_import_the_estimators():
    package = Path(bayes_sklearn.persistence.__file__).parent
    imported = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert not {name for name in imported if name.startswith("bayes_sklearn.estimators")}
