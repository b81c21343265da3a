"""Hostile inputs, for every estimator and every public method.

Each case gets a ``ValueError`` naming the problem, raised by our validation
or sklearn's (never from inside PyMC, PyTensor, nutpie or numba), or a
documented correct behaviour that the test checks.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from bayes_sklearn import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalLogisticRegression,
    HierarchicalRegression,
)
from bayes_sklearn.priors import Normal

FOREIGN_PACKAGES = ("/pymc/", "/pytensor/", "/nutpie/", "/numba/", "/formulaic/")
QUICK_NUTS = dict(draws=150, tune=150, chains=2, progressbar=False, random_state=0)


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ [1.0, -1.0, 0.5] + rng.normal(size=n)
    return X, y


def _frame(X):
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["g"] = np.repeat(np.arange(6), len(X) // 6)
    return frame


def _cases():
    X, y = _data()
    labels = (y > 0).astype(int)
    return {
        "linear": (lambda **k: BayesianLinearRegression(**{"inference": "exact", **k}), X, y),
        "logistic": (lambda **k: BayesianLogisticRegression(**{"inference": "advi", **k}),
                     X, labels),
        "hierarchical": (lambda **k: HierarchicalRegression(group="g", **{"inference": "advi", **k}),
                         _frame(X), y),
        "hierarchical_logistic": (
            lambda **k: HierarchicalLogisticRegression(group="g", **{"inference": "advi", **k}),
            _frame(X), labels),
    }


CASES = _cases()
ESTIMATORS = list(CASES)

#: Public methods that take rows to predict for; those with a y take (X, y).
X_METHODS = ["predict", "predict_interval", "predict_draws", "predict_proba",
             "predict_proba_draws", "predict_proba_interval", "predict_log_proba",
             "decision_function", "sample_posterior_predictive", "sample_prior_predictive"]
XY_METHODS = ["score", "log_likelihood"]


def assert_clean_error(excinfo) -> None:
    """The error was raised by our code or sklearn's, not deep inside a backend."""
    origin = excinfo.traceback[-1].path.as_posix()
    assert not any(package in origin for package in FOREIGN_PACKAGES), origin


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: make(random_state=0).fit(X, y) for name, (make, X, y) in CASES.items()}


def _with_value(X, value):
    X = X.copy()
    if isinstance(X, pd.DataFrame):
        X.iloc[3, 1] = value
    else:
        X[3, 1] = value
    return X


def _method_cases():
    for name in ESTIMATORS:
        make = CASES[name][0]
        for method in X_METHODS + XY_METHODS:
            if hasattr(make(), method):
                yield name, method


def _call(model, method, X, y):
    if method in XY_METHODS:
        return getattr(model, method)(X, y[: len(X)])
    return getattr(model, method)(X)


BAD_ROWS = {
    "nan": (lambda X: _with_value(X, np.nan), "NaN"),
    "inf": (lambda X: _with_value(X, np.inf), "infinity"),
    "-inf": (lambda X: _with_value(X, -np.inf), "infinity"),
    "zero rows": (lambda X: X[:0], "0 sample"),
    "wrong features": (
        lambda X: X.drop(columns=["b"]) if isinstance(X, pd.DataFrame) else X[:, :2],
        "feature",
    ),
    "1-D": (
        lambda X: X["a"] if isinstance(X, pd.DataFrame) else X[:, 0],
        "2D|group column",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
@pytest.mark.parametrize("name, method", list(_method_cases()))
def test_bad_rows_at_prediction(name, method, case, fitted):
    _, X, y = CASES[name]
    transform, match = BAD_ROWS[case]
    with pytest.raises(ValueError, match=match) as excinfo:
        _call(fitted[name], method, transform(X), y)
    assert_clean_error(excinfo)


@pytest.mark.parametrize("name, method", list(_method_cases()))
def test_every_method_takes_a_single_row(name, method, fitted):
    _, X, y = CASES[name]
    one_row = X.iloc[:1] if isinstance(X, pd.DataFrame) else X[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # R^2 of one row is undefined
        out = np.asarray(_call(fitted[name], method, one_row, y))
    assert out.size >= 1
    if out.dtype.kind == "f":
        assert np.isfinite(out).all() or method == "score"


@pytest.mark.parametrize("name, method", list(_method_cases()))
def test_methods_before_fit_raise_not_fitted(name, method):
    from sklearn.exceptions import NotFittedError

    make, X, y = CASES[name]
    with pytest.raises(NotFittedError):
        _call(make(), method, X, y) if method != "sample_prior_predictive" else make().sample_prior_predictive(X)


def _bad_fits(name):
    _, X, y = CASES[name]
    frame = isinstance(X, pd.DataFrame)
    y_float = y.astype(float)
    cases = {
        "X nan": (_with_value(X, np.nan), y, "NaN"),
        "X inf": (_with_value(X, np.inf), y, "infinity"),
        "X -inf": (_with_value(X, -np.inf), y, "infinity"),
        "y nan": (X, np.where(np.arange(len(y)) == 0, np.nan, y_float), "y contains NaN"),
        "y inf": (X, np.where(np.arange(len(y)) == 0, np.inf, y_float), "y contains infinity"),
        "zero rows": (X[:0], y[:0], "0 sample"),
        "length mismatch": (X, y[:-1], "inconsistent numbers of samples"),
        "multi-output y": (X, np.column_stack([y, y]), "one target per row"),
        "1-D X": (X["a"] if frame else X[:, 0], y, "2D|group column"),
        "no features": (X[["g"]] if frame else X[:, :0], y, "no feature columns|0 feature"),
    }
    text_column = (X.assign(a=["u", "v"] * (len(X) // 2)) if frame
                   else pd.DataFrame({"a": ["u", "v"] * (len(X) // 2), "b": X[:, 0]}))
    cases["text column without formula"] = (text_column, y, "non-numeric columns")
    categorical = text_column.astype({"a": "category"})
    cases["categorical column without formula"] = (categorical, y, "non-numeric columns")
    if frame:
        cases["missing group column"] = (X.drop(columns=["g"]), y, "group column 'g' is not in X")
        cases["missing group label"] = (X.assign(g=X["g"].where(X.index != 5)), y, "missing values")
    return cases


@pytest.mark.parametrize(
    "name, case", [(name, case) for name in ESTIMATORS for case in _bad_fits(name)]
)
def test_bad_training_data(name, case):
    make = CASES[name][0]
    X, y, match = _bad_fits(name)[case]
    model = make()
    with pytest.raises(ValueError, match=match) as excinfo:
        model.fit(X, y)
    assert_clean_error(excinfo)
    assert not hasattr(model, "posterior_")


@pytest.mark.parametrize("name", ["logistic", "hierarchical_logistic"])
@pytest.mark.parametrize(
    "target, match",
    [
        ("one class", "only one class: 1"),
        ("continuous", "Unknown label type"),
        ("multilabel", "one target per row"),
    ],
)
def test_bad_classification_targets(name, target, match):
    make, X, y = CASES[name]
    y_bad = {
        "one class": np.ones(len(y), dtype=int),
        "continuous": np.linspace(0, 1, len(y)),
        "multilabel": np.column_stack([y, 1 - y]),
    }[target]
    with pytest.raises(ValueError, match=match) as excinfo:
        make().fit(X, y_bad)
    assert_clean_error(excinfo)


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize(
    "params, match",
    [
        ({"draws": 1.5}, "'draws' parameter"),
        ({"draws": 0}, "'draws' parameter"),
        ({"chains": -1}, "'chains' parameter"),
        ({"tune": -5}, "'tune' parameter"),
        ({"inference": "magic"}, "'inference' parameter"),
        ({"prior_scale": -1.0}, "'prior_scale' parameter"),
        ({"random_state": "seed"}, "'random_state' parameter"),
    ],
)
def test_invalid_parameters_for_every_estimator(name, params, match):
    make, X, y = CASES[name]
    model = make(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)
    assert not hasattr(model, "posterior_")


# -- documented behaviour rather than errors -----------------------------------


def test_single_training_row_gives_the_prior_for_the_slopes():
    """One row identifies nothing about the slopes: their posterior is their prior."""
    X, y = _data()
    model = BayesianLinearRegression(inference="exact", priors={"x0": Normal(0.0, 2.0)},
                                     random_state=0).fit(X[:1], y[:1])
    draws = model.posterior_["coef"].sel(feature="x0").values.ravel()
    # 4000 exact draws: the sd of the sample sd is about 2 / sqrt(2 * 4000) = 0.022
    assert abs(draws.std() - 2.0) < 5 * 0.022
    assert np.isfinite(model.predict(X)).all()


def test_a_single_training_row_is_one_class_for_a_classifier():
    X, y = _data()
    with pytest.raises(ValueError, match="only one class"):
        BayesianLogisticRegression().fit(X[:1], (y[:1] > 0).astype(int))


def test_constant_feature_keeps_its_prior():
    """A constant column is unidentified; its coefficient follows its prior
    and the other coefficients are unaffected."""
    X, y = _data()
    X_const = np.column_stack([X, np.full(len(X), 3.0)])
    prior = Normal(0.0, 0.5)
    with_const = BayesianLinearRegression(inference="exact", priors={3: prior}, random_state=0)
    with_const.fit(X_const, y)
    without = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    const_draws = with_const.posterior_["coef"].values[..., 3].ravel()
    assert abs(const_draws.std() - 0.5) < 5 * 0.5 / np.sqrt(2 * 4000)
    assert abs(const_draws.mean()) < 5 * 0.5 / np.sqrt(4000)
    # predictions: the constant's coefficient trades off exactly against the intercept
    np.testing.assert_allclose(with_const.predict(X_const), without.predict(X), atol=0.05)


def test_perfectly_separable_classes_give_finite_prior_bounded_coefficients():
    """Maximum likelihood diverges on separable data; the prior keeps the
    posterior proper. Coefficients are finite, training rows are classified
    correctly and probabilities stay strictly inside (0, 1)."""
    X, _ = _data()
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BayesianLogisticRegression(**QUICK_NUTS).fit(X, y)
    assert np.isfinite(model.coef_).all()
    # rows near the boundary may fall either side (the boundary is uncertain),
    # rows well away from it are classified correctly
    clear = np.abs(X[:, 0]) > 0.5
    assert model.score(X[clear], y[clear]) == 1.0
    proba = model.predict_proba(X)
    assert ((proba > 0) & (proba < 1)).all()
    # bounded by the prior: the x0 slope's autoscaled prior sd is 2.5 / sd(x0) ~ 2.5,
    # so a slope beyond 10 prior sds would mean the prior is not acting
    assert abs(model.coef_[0, 0]) < 25


def _assert_same_posterior_mean(actual, reference, sd, ess):
    """Equal up to the Monte Carlo error of two posterior means: per row,
    4.5 standard errors of a difference of two means of ``ess`` draws."""
    tolerance = 4.5 * np.sqrt(2.0) * sd / np.sqrt(ess) + 1e-9
    assert np.all(np.abs(actual - reference) <= tolerance), np.max(np.abs(actual - reference) / tolerance)


@pytest.mark.parametrize("inference", ["exact", "nuts", "advi"])
@pytest.mark.parametrize("magnitude", [1e-150, 1e-8, 1e5, 1e150])
def test_linear_predictions_are_scale_equivariant(inference, magnitude):
    """Extreme magnitudes of X or y give the same fit, rescaled: features and
    response are standardised before inference. NUTS and ADVI see the same
    standardised problem with the same seed; ADVI's agree to rounding. Exact
    draws rotate with the eigenvectors of X'X, whose signs rounding may flip,
    and NUTS samples in the coordinates of a Laplace approximation whose
    optimiser and finite-difference curvature turn rounding into differences
    of 1e-11, which chaotic trajectories grow: both agree in distribution, up
    to Monte Carlo error."""
    X, y = _data()
    params = dict(inference=inference, random_state=0)
    if inference == "nuts":
        params.update(draws=200, tune=200, chains=1, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = BayesianLinearRegression(**params).fit(X, y)
        scaled_y = BayesianLinearRegression(**params).fit(X, y * magnitude).predict(X) / magnitude
        scaled_X = BayesianLinearRegression(**params).fit(X * magnitude, y).predict(X * magnitude)
    reference = fit.predict(X)
    if inference in ("exact", "nuts"):
        import arviz as az

        sd = fit.predict_draws(X).std(axis=0)
        n_draws = fit.posterior_.sizes["chain"] * fit.posterior_.sizes["draw"]
        ess = n_draws if inference == "exact" else float(
            az.ess(fit.posterior_).to_array().min())
        _assert_same_posterior_mean(scaled_y, reference, sd, ess)
        _assert_same_posterior_mean(scaled_X, reference, sd, ess)
    else:
        np.testing.assert_allclose(scaled_y, reference, atol=1e-6)
        np.testing.assert_allclose(scaled_X, reference, atol=1e-6)


@pytest.mark.parametrize("magnitude", [1e-150, 1e150])
def test_logistic_predictions_are_scale_equivariant_in_X(magnitude):
    """Logistic NUTS amplifies the last-bit differences of the standardised
    design into different chains, so the check is up to Monte Carlo error
    (with the smaller bulk ESS of the two fits as the effective draws)."""
    X, y = _data()
    labels = (y > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = BayesianLogisticRegression(**QUICK_NUTS).fit(X, labels)
        scaled = BayesianLogisticRegression(**QUICK_NUTS).fit(X * magnitude, labels)
    mean, sd = reference.predict_proba(X, return_std=True)
    ess = min(reference.convergence_.min_ess_bulk, scaled.convergence_.min_ess_bulk)
    _assert_same_posterior_mean(scaled.predict_proba(X * magnitude)[:, 1], mean[:, 1], sd[:, 1], ess)


def test_unseen_categories_per_policy():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "r": list("ab") * 20})
    y = frame["x"] + (frame["r"] == "b") + rng.normal(size=40)
    new = pd.DataFrame({"x": [0.0, 0.0], "r": ["a", "zzz"]})
    strict = BayesianLinearRegression(formula="x + C(r)", inference="exact").fit(frame, y)
    with pytest.raises(ValueError, match="levels not seen during fit") as excinfo:
        strict.predict(new)
    assert_clean_error(excinfo)
    lenient = BayesianLinearRegression(formula="x + C(r)", inference="exact",
                                       handle_unknown="ignore", random_state=0).fit(frame, y)
    prediction = lenient.predict(new)
    # the unseen level is encoded as the reference level "a"
    assert prediction[1] == pytest.approx(prediction[0])


def test_unseen_groups_per_policy(fitted):
    X = CASES["hierarchical"][1]
    model = fitted["hierarchical"]
    unseen = X.assign(g=99)
    with pytest.raises(ValueError, match="groups not seen during fit"):
        model.set_params(new_groups="error").predict(unseen)
    population = model.set_params(new_groups="population").predict(unseen)
    # population level: the intercept and coefficients without any group effect
    expected = model.intercept_ + unseen[["a", "b", "c"]].to_numpy() @ model.coef_
    np.testing.assert_allclose(population, expected, rtol=1e-10)
    model.set_params(new_groups="sample", random_state=1)
    sampled = model.predict(unseen)
    np.testing.assert_array_equal(sampled, model.predict(unseen))
    assert np.isfinite(sampled).all()


@pytest.mark.parametrize("formula", [None, "a + b * c"])
def test_renamed_columns_at_prediction(formula):
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = BayesianLinearRegression(inference="exact", formula=formula).fit(frame, y)
    with pytest.raises(ValueError, match="feature names|names 'c', which X does not have") as excinfo:
        model.predict(frame.rename(columns={"c": "z"}))
    assert_clean_error(excinfo)


# -- scipy sparse X ----------------------------------------------------------------


def _sparse_case(name):
    """Dense X with many zeros, and the estimator on it (groups in column 3)."""
    make, X, y = CASES[name]
    X = np.where(np.abs(_data()[0]) < 0.5, 0.0, _data()[0])
    if name.startswith("hierarchical"):
        X = np.column_stack([X, np.repeat(np.arange(6), len(X) // 6)])
        make = {"hierarchical": lambda **k: HierarchicalRegression(group=3, inference="advi", **k),
                "hierarchical_logistic": lambda **k: HierarchicalLogisticRegression(
                    group=3, inference="advi", **k)}[name]
    return make, X, y


SPARSE_FORMATS = ["csr_matrix", "csc_matrix", "csr_array", "coo_array"]


@pytest.mark.parametrize("layout", SPARSE_FORMATS)
@pytest.mark.parametrize("name", ESTIMATORS)
def test_sparse_X_predicts_exactly_as_dense(name, layout):
    from scipy import sparse

    make, X, y = _sparse_case(name)
    X_sparse = getattr(sparse, layout)(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = make(random_state=0, max_iter=300).fit(X, y)
        on_sparse = make(random_state=0, max_iter=300).fit(X_sparse, y)
    assert X_sparse.nnz == np.count_nonzero(X)  # the caller's matrix is untouched
    for method in X_METHODS + XY_METHODS:
        if not hasattr(dense, method) or method == "sample_prior_predictive":
            continue
        kwargs = {"random_state": 0} if "draws" in method or "sample" in method else {}
        args = (y,) if method in XY_METHODS else ()
        expected = getattr(dense, method)(X, *args, **kwargs)
        np.testing.assert_array_equal(
            getattr(on_sparse, method)(X_sparse, *args, **kwargs), expected, err_msg=method)
        # a model fitted on dense X predicts sparse rows the same way
        np.testing.assert_array_equal(
            getattr(dense, method)(X_sparse, *args, **kwargs), expected, err_msg=method)
    prior = on_sparse.sample_prior_predictive(X_sparse, n_samples=5, random_state=0)
    np.testing.assert_array_equal(
        prior, dense.sample_prior_predictive(X, n_samples=5, random_state=0))


def test_sparse_prediction_densifies_one_block_at_a_time():
    from scipy import sparse

    from bayes_sklearn.posterior import Posterior

    rng = np.random.default_rng(0)
    X = sparse.random_array((1000, 5), density=0.2, random_state=0, format="csr")
    posterior = Posterior("gaussian", rng.normal(size=(50, 1)), rng.normal(size=(50, 5, 1)),
                          np.ones(50))
    blocks = list(posterior.linear_predictor_chunks(X, chunk_bytes=50 * 8 * 100))
    assert len(blocks) == 10
    np.testing.assert_array_equal(np.concatenate([eta for _, eta in blocks], axis=1),
                                  posterior.map_rows(X.toarray(), lambda eta: eta.T).T)


def test_one_hot_encoder_pipelines_fit_and_predict():
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], size=120),
                          "size": rng.normal(10.0, 3.0, size=120)})
    logit = 1.5 * (frame["colour"] == "red") - 1.5 * (frame["colour"] == "blue")
    y = (logit + 0.3 * (frame["size"] - 10) + rng.logistic(size=120) > 0).astype(int)
    one_hot = make_pipeline(OneHotEncoder(), BayesianLogisticRegression(**QUICK_NUTS))
    assert OneHotEncoder().fit_transform(frame[["colour"]]).format == "csr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one_hot.fit(frame[["colour"]], y)
    proba = one_hot.predict_proba(pd.DataFrame({"colour": ["red", "blue"]}))[:, 1]
    assert proba[0] > 0.6 > 0.4 > proba[1]
    mixed = make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(), ["colour"]),
                           ("num", StandardScaler(), ["size"])], sparse_threshold=1.0),
        BayesianLogisticRegression(**QUICK_NUTS),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixed.fit(frame, y)
    assert mixed[0].transform(frame).format == "csr"  # the estimator did see sparse X
    assert mixed.predict(frame).shape == (120,)
    assert mixed.score(frame, y) > 0.6
