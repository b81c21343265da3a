"""Group terms in the formula of the hierarchical estimators: ``"x + (1 + x | a) + (1 | b)"``.

The fit runs on the precompiled kernel (tests/test_kernel_group_terms.py
holds it to the reference model and to the PyMC engine). These tests check
the wiring around it: names and dims in ``posterior_``, prediction as
array algebra over those draws (recomputed here by hand), the ``new_groups``
policies per factor, priors per term, persistence, and the errors. The
statistics of the fit itself (agreement with MixedLM and a hand-written
PyMC model, calibration) are in ``test_known_answers_multilevel.py``.

Data are far from standard scale (x ~ 500 +- 40, y ~ 1000), and effects are
at x = 0 of their design, so a centring slip shows.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_NUTS

from bayes_sklearn import (
    BayesianLinearRegression,
    HierarchicalLogisticRegression,
    HierarchicalRegression,
)
from bayes_sklearn.priors import HalfNormal, Normal

FORMULA = "x + (1 + x | a) + (1 | b)"


def _data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.choice(list("pqrstu"), size=n)
    b = rng.choice(["B1", "B2", "B3", "B4"], size=n)
    x = rng.normal(500.0, 40.0, size=n)
    a_int = dict(zip("pqrstu", rng.normal(0.0, 30.0, 6)))
    a_slope = dict(zip("pqrstu", rng.normal(0.0, 0.05, 6)))
    b_int = dict(zip(["B1", "B2", "B3", "B4"], rng.normal(0.0, 20.0, 4)))
    y = (1000.0 + 0.5 * x + np.array([a_int[k] for k in a])
         + np.array([a_slope[k] for k in a]) * x + np.array([b_int[k] for k in b])
         + rng.normal(0.0, 10.0, n))
    return pd.DataFrame({"x": x, "a": a, "b": b}), pd.Series(y, name="y")


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 200 draws: too few for the convergence checks
        model = HierarchicalRegression(formula=FORMULA, **FAST_NUTS).fit(X, y)
    return model, X, y


def _by_hand(model, X):
    """``E[y]`` per draw and row from ``posterior_``, with NumPy only."""
    post = model.posterior_.stack(sample=("chain", "draw"))
    a_levels = list(post["a__factor_dim"].values)
    b_levels = list(post["b__factor_dim"].values)
    a = np.array([a_levels.index(v) if v in a_levels else -1 for v in X["a"]])
    b = np.array([b_levels.index(v) if v in b_levels else -1 for v in X["b"]])
    x = X["x"].to_numpy()
    eta = post["intercept"].values[None, :] + x[:, None] * post["coef"].values[0][None, :]
    a_int = np.where(a[:, None] >= 0, post["1|a"].values[np.maximum(a, 0)], 0.0)
    a_x = np.where(a[:, None] >= 0, post["x|a"].values[np.maximum(a, 0)], 0.0)
    b_int = np.where(b[:, None] >= 0, post["1|b"].values[np.maximum(b, 0)], 0.0)
    return (eta + a_int + a_x * x[:, None] + b_int).T


def test_posterior_names_and_dims_are_bambis(fitted):
    model, X, _ = fitted
    post = model.posterior_
    assert model.engine_ == "kernel"
    assert post["1|a"].dims == ("chain", "draw", "a__factor_dim")
    assert post["x|a"].dims == ("chain", "draw", "a__factor_dim")
    assert post["1|b"].dims == ("chain", "draw", "b__factor_dim")
    assert list(post["a__factor_dim"].values) == list("pqrstu")
    assert list(post["b__factor_dim"].values) == ["B1", "B2", "B3", "B4"]
    for name in ("1|a_sigma", "x|a_sigma", "1|b_sigma"):
        assert post[name].dims == ("chain", "draw")
        assert float(post[name].min()) > 0
    corr = post["a_corr"]
    assert corr.dims == ("chain", "draw", "a__effect", "a__effect2")
    assert list(corr["a__effect"].values) == ["1|a", "x|a"]
    np.testing.assert_allclose(corr.values[..., 0, 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(corr.values[..., 0, 1], corr.values[..., 1, 0], atol=1e-12)
    assert "b_corr" not in post  # one effect: nothing to correlate
    assert list(model.group_levels_) == ["a", "b"]
    assert list(model.group_levels_["b"]) == ["B1", "B2", "B3", "B4"]
    # no offsets or internal pieces in what users read
    assert not [name for name in post.data_vars if "offset" in name or "cpc" in name]


def test_predictions_are_the_draws_algebra(fitted):
    model, X, _ = fitted
    rows = X.iloc[:20]
    by_hand = _by_hand(model, rows)
    np.testing.assert_allclose(model.predict(rows), by_hand.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model.predict_draws(rows), by_hand, rtol=1e-12)


def test_training_fit_recovers_the_line(fitted):
    model, X, y = fitted
    residual = y.to_numpy() - model.predict(X)
    # noise sd 10 around y ~ 1250: the group terms must be in the predictions
    assert residual.std() < 15.0
    assert abs(float(model.posterior_["sigma"].mean()) - 10.0) < 3.0


def test_unseen_levels_population_by_default(fitted):
    model, X, _ = fitted
    rows = pd.DataFrame({"x": [480.0, 480.0, 520.0], "a": ["p", "zz", "zz"],
                         "b": ["nope", "B2", "nope"]})
    by_hand = _by_hand(model, rows)  # unseen codes contribute nothing
    np.testing.assert_allclose(model.predict(rows), by_hand.mean(axis=0), rtol=1e-12)


def test_new_groups_error_names_the_factor_and_levels(fitted):
    model, X, _ = fitted
    rows = pd.DataFrame({"x": [480.0], "a": ["p"], "b": ["nope"]})
    model = pickle.loads(pickle.dumps(model)).set_params(new_groups="error")
    with pytest.raises(ValueError, match=r"levels of 'b' not seen during fit: \['nope'\]"):
        model.predict(rows)
    model.set_params(new_groups={"a": "error"})  # b is not named: population
    model.predict(rows)
    with pytest.raises(ValueError, match=r"levels of 'a' not seen.*'zz'"):
        model.predict(rows.assign(a="zz"))


def test_new_groups_sample_draws_one_effect_per_new_level(fitted):
    model, X, _ = fitted
    model = pickle.loads(pickle.dumps(model)).set_params(new_groups={"b": "sample"},
                                                         random_state=1)
    # two rows of one new level and one of another, at the same x and a
    rows = pd.DataFrame({"x": [500.0] * 3, "a": ["p"] * 3, "b": ["n1", "n1", "n2"]})
    draws = model.predict_draws(rows)
    np.testing.assert_allclose(draws[:, 0], draws[:, 1], rtol=1e-12)
    population = _by_hand(model, rows)
    deviation = draws - population
    sd = model.posterior_["1|b_sigma"].values.ravel()
    # per draw, a new level's effect is Normal(0, sd of that draw): its z-scores
    # over 400 draws have mean 0 and sd 1 within sampling error (4 / sqrt(400))
    z = deviation / sd[:, None]
    assert abs(z[:, 0].mean()) < 0.2 and abs(z[:, 0].std() - 1.0) < 0.2
    assert abs(np.corrcoef(z[:, 0], z[:, 2])[0, 1]) < 0.2  # independent new levels


def test_new_level_of_a_correlated_term_has_the_fitted_covariance(fitted):
    model, X, _ = fitted
    model = pickle.loads(pickle.dumps(model)).set_params(new_groups={"a": "sample"},
                                                         random_state=2)
    post = model.posterior_.stack(sample=("chain", "draw"))
    s0, s1 = post["1|a_sigma"].values, post["x|a_sigma"].values
    rho = post["a_corr"].values[0, 1]
    # the new level's effect at x and at 0 per draw: intercept and intercept + slope * x
    x = np.array([0.0, 100.0])
    rows = pd.DataFrame({"x": x, "a": ["new", "new"], "b": ["B1", "B1"]})
    effect = model.predict_draws(rows) - _by_hand(model, rows)
    z_int = effect[:, 0] / s0
    z_slope = (effect[:, 1] - effect[:, 0]) / 100.0 / s1
    # draws of Normal(0, [[1, rho], [rho, 1]]) scaled: the sample correlation of
    # z_int with z_slope estimates the posterior mean of rho within ~2 / sqrt(400)
    assert abs(np.corrcoef(z_int, z_slope)[0, 1] - rho.mean()) < 0.15


def test_sd_priors_per_term_and_fixed_sds():
    X, y = _data(n=80, seed=3)
    model = HierarchicalRegression(
        formula="x + (1 | a) + (1 | b)",
        priors={"1|a": HalfNormal(7.0), "1|b": 4.5, "x": Normal(0.5, 0.1)}, **FAST_NUTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    terms = {term.label: term for term in model.model_spec_.group_terms}
    assert terms["a"].sd_priors == (HalfNormal(7.0),)
    np.testing.assert_array_equal(model.posterior_["1|b_sigma"].values, 4.5)
    assert model.model_spec_.coef_priors == (Normal(0.5, 0.1),)


def test_default_sd_priors_are_autoscaled_per_column():
    X, y = _data(n=80, seed=4)
    model = HierarchicalRegression(formula="x + (1 + x | a)", prior_group_scale=2.0)
    spec = model._model_inputs(X, y).spec
    (term,) = spec.group_terms
    sd_y, sd_x = y.std(), X["x"].std()
    # HalfNormal(2 sd(y)) for the intercept (a constant column), 2 sd(y) / sd(x) for x;
    # weighted moments use the population sd (ddof 0)
    np.testing.assert_allclose(term.sd_priors[0].sigma, 2.0 * np.std(y), rtol=1e-12)
    np.testing.assert_allclose(term.sd_priors[1].sigma, 2.0 * np.std(y) / np.std(X["x"]),
                               rtol=1e-12)
    assert sd_y > 0 and sd_x > 0
    assert term.lkj_eta == 1.0 and term.correlated


@pytest.mark.parametrize("priors, match", [
    ({"1|c": HalfNormal(1.0)}, r"unknown group effect '1\|c'.*\['1\|a', 'x\|a'\]"),
    ({"z": Normal(0, 1)}, "unknown coefficient 'z'"),
    ({"1|a": Normal(0, 1)}, "sd of '1\\|a'"),
])
def test_bad_group_priors_are_named(priors, match):
    X, y = _data(n=40)
    with pytest.raises(ValueError, match=match):
        HierarchicalRegression(formula="x + (1 + x | a)", priors=priors, **FAST_NUTS).fit(X, y)


def test_lkj_eta_reaches_the_model():
    X, y = _data(n=40)
    model = HierarchicalRegression(formula="x + (1 + x | a)", lkj_eta=2.5).to_pymc(X, y)
    assert float(model["a__lkj_eta"].get_value()) == 2.5


@pytest.mark.parametrize("estimator, kwargs, match", [
    (BayesianLinearRegression, {}, "HierarchicalRegression does not|does not fit; use Hier"),
    (HierarchicalRegression, {"group": "a"}, "give the group effects one way"),
    (HierarchicalRegression, {"new_groups": {"c": "sample"}},
     "new_groups names 'c', which is not a grouping factor"),
    (HierarchicalRegression, {"new_groups": {"a": "maybe"}}, r"new_groups\['a'\] must be"),
    (HierarchicalRegression, {"inference": "exact"}, "'exact' is not available"),
])
def test_refusals_name_the_problem(estimator, kwargs, match):
    X, y = _data(n=40)
    with pytest.raises(ValueError, match=match):
        estimator(formula="x + (1 | a)", **kwargs).fit(X, y)


def test_dict_new_groups_needs_group_terms():
    X, y = _data(n=40)
    with pytest.raises(ValueError, match="a policy per grouping factor"):
        HierarchicalRegression(group="a", new_groups={"a": "sample"}).fit(X[["x", "a"]], y)


def test_several_classes_with_group_shorthand_are_the_formula_term():
    # group= is (1 | a): with three classes, a term per non-reference class
    X, y = _data(n=60)
    labels = pd.cut(y, 3, labels=["lo", "mid", "hi"]).astype(str)
    shorthand = HierarchicalLogisticRegression(group="a").to_pymc(X[["x", "a"]], labels)
    formula = HierarchicalLogisticRegression(formula="x + (1 | a)").to_pymc(X[["x", "a"]], labels)
    assert sorted(v.name for v in shorthand.free_RVs) == sorted(v.name for v in formula.free_RVs)
    assert shorthand.named_vars_to_dims["1|a"] == ("a__factor_dim", "class")
    point = {name: value + 0.3 for name, value in shorthand.initial_point().items()}
    np.testing.assert_allclose(shorthand.compile_logp()(point), formula.compile_logp()(point),
                               rtol=1e-12)


@pytest.fixture(scope="module")
def fitted_classifier():
    X, y = _data(n=200, seed=5)
    labels = (y > y.median()).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = HierarchicalLogisticRegression(formula="scale(x) + (1 | a)", **FAST_NUTS)
        clf.fit(X, labels)
    z = ((X["x"] - X["x"].mean()) / X["x"].std()).to_numpy()
    return clf, X, z


def test_logistic_group_terms_predict_by_hand(fitted_classifier):
    clf, X, z = fitted_classifier
    post = clf.posterior_.stack(sample=("chain", "draw"))
    levels = list(post["a__factor_dim"].values)
    codes = np.array([levels.index(v) for v in X["a"]])
    eta = (post["intercept"].values[None, :] + z[:, None] * post["coef"].values[0]
           + post["1|a"].values[codes])
    p = (1.0 / (1.0 + np.exp(-eta))).mean(axis=1)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], p, rtol=1e-9)


def test_save_load_and_pickle_keep_predictions(fitted, tmp_path):
    model, X, _ = fitted
    rows = X.iloc[:10].assign(b=["B1", "new"] * 5)
    expected = model.predict(rows)
    loaded = HierarchicalRegression.load(model.save(tmp_path / "m.nc"))
    np.testing.assert_array_equal(loaded.predict(rows), expected)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(rows), expected)
    assert loaded.design_.group_terms.effect_names == model.design_.group_terms.effect_names
    assert loaded.model_spec_.group_terms[0].levels == tuple("pqrstu")


def test_nested_factor_levels_are_the_observed_pairs():
    rng = np.random.default_rng(6)
    X = pd.DataFrame({"x": rng.normal(size=60), "s": np.repeat(["S1", "S2"], 30),
                      "c": np.tile(["c1", "c2", "c3"], 20)})
    y = rng.normal(size=60)
    spec = HierarchicalRegression(formula="x + (1 | s/c)")._model_inputs(X, y).spec
    labels = [term.label for term in spec.group_terms]
    assert labels == ["s", "s:c"]
    assert spec.group_terms[1].levels == ("S1:c1", "S1:c2", "S1:c3", "S2:c1", "S2:c2", "S2:c3")


def test_prior_predictive_draws_every_level(fitted):
    model, X, y = fitted
    rows = pd.DataFrame({"x": [500.0] * 4, "a": ["p", "p", "new", "new"],
                         "b": ["B1", "B1", "B1", "B1"]})
    sims = model.sample_prior_predictive(rows, n_samples=300, kind="mean", random_state=0)
    assert sims.shape == (300, 4)
    np.testing.assert_allclose(sims[:, 0], sims[:, 1])  # same level, same x
    np.testing.assert_allclose(sims[:, 2], sims[:, 3])
    assert np.all(sims[:, 0] != sims[:, 2])  # a level unseen in fit gets its own effect
    unfitted = HierarchicalRegression(formula=FORMULA)
    assert unfitted.sample_prior_predictive(X, y, n_samples=5, random_state=0).shape == (5, len(X))


def test_group_terms_switch_terms_off_in_every_prediction(fitted):
    model, X, _ = fitted
    rows = X.iloc[:15]
    post = model.posterior_.stack(sample=("chain", "draw"))
    levels = list(post["b__factor_dim"].values)
    b_int = post["1|b"].values[[levels.index(v) for v in rows["b"]]].T
    all_terms = _by_hand(model, rows)
    np.testing.assert_allclose(model.predict_draws(rows, group_terms=["a"]),
                               all_terms - b_int, rtol=1e-12)
    population = model.predict(rows, group_terms=[])
    x = rows["x"].to_numpy()
    expected = (post["intercept"].values[None, :] + x[:, None] * post["coef"].values[0]).mean(1)
    np.testing.assert_allclose(population, expected, rtol=1e-12)
    np.testing.assert_allclose(model.predict(rows, group_terms=["a", "b"]), model.predict(rows))
    interval = model.predict_interval(rows, group_terms=[], kind="mean")
    assert np.all((interval[:, 0] < population) & (population < interval[:, 1]))
    assert not hasattr(model, "_included_terms")  # the fitted estimator is unchanged


@pytest.mark.parametrize("group_terms, match", [
    (["c"], r"names \['c'\], not grouping factors.*\['a', 'b'\]"),
    ("a", "must be a list of grouping factors"),
])
def test_bad_group_terms_are_named(fitted, group_terms, match):
    model, X, _ = fitted
    with pytest.raises(ValueError, match=match):
        model.predict(X.iloc[:2], group_terms=group_terms)


def test_group_terms_need_group_terms():
    X, y = _data(n=40)
    pooled = HierarchicalRegression(**FAST_NUTS)
    shorthand = HierarchicalRegression(group="a", **FAST_NUTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pooled.fit(X[["x"]], y)
        shorthand.fit(X[["x", "a"]], y)
    with pytest.raises(ValueError, match="fitted without any"):
        pooled.predict(X[["x"]], group_terms=[])
    # group= is the term (1 | a): [] leaves it out
    population = shorthand.intercept_ + X["x"].to_numpy() * shorthand.coef_[0]
    np.testing.assert_allclose(shorthand.predict(X[["x", "a"]], group_terms=[]), population,
                               rtol=1e-10)


def test_classifier_group_terms_reach_probabilities(fitted_classifier):
    clf, X, z = fitted_classifier
    post = clf.posterior_.stack(sample=("chain", "draw"))
    eta = post["intercept"].values[None, :] + z[:, None] * post["coef"].values[0]
    p = (1.0 / (1.0 + np.exp(-eta))).mean(axis=1)
    np.testing.assert_allclose(clf.predict_proba(X, group_terms=[])[:, 1], p, rtol=1e-9)
    np.testing.assert_allclose(clf.decision_function(X, group_terms=[]),
                               np.log(p) - np.log1p(-p), rtol=1e-9)
    np.testing.assert_array_equal(clf.predict(X, group_terms=[]),
                                  clf.classes_[(p > 0.5).astype(int)])


def test_multiclass_group_terms_are_per_class_softmax_by_hand():
    rng = np.random.default_rng(9)
    n = 240
    X = pd.DataFrame({"x": rng.normal(5.0, 2.0, n), "g": rng.choice(list("abcd"), n)})
    shift = X["g"].map({"a": -1.0, "b": 0.0, "c": 0.5, "d": 1.0}).to_numpy()
    logits = np.column_stack([np.zeros(n), X["x"] - 5 + shift, 5 - X["x"] - shift])
    y = np.array(["lo", "mid", "hi"])[np.argmax(logits + rng.gumbel(size=(n, 3)), axis=1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = HierarchicalLogisticRegression(formula="x + (1 | g)", **FAST_NUTS).fit(X, y)
    post = clf.posterior_.stack(sample=("chain", "draw"))
    assert post["1|g"].dims == ("g__factor_dim", "class", "sample")
    assert list(post["class"].values) == list(clf.classes_[1:])
    levels = list(post["g__factor_dim"].values)
    codes = np.array([levels.index(v) for v in X["g"]])
    x = X["x"].to_numpy()
    eta = (post["intercept"].values[None] + x[:, None, None] * post["coef"].values[0][None]
           + post["1|g"].values[codes])  # (rows, classes, draws)
    full = np.concatenate([np.zeros((n, 1, eta.shape[2])), eta], axis=1)
    p = np.exp(full - full.max(axis=1, keepdims=True))
    p = (p / p.sum(axis=1, keepdims=True)).mean(axis=2)
    np.testing.assert_allclose(clf.predict_proba(X), p, rtol=1e-9)
    assert post["1|g_sigma"].dims == ("class", "sample")


def test_summary_shows_sds_and_each_correlation_once(fitted):
    model, X, _ = fitted
    table = model.summary()
    assert list(table.index) == ["intercept", "coef[x]", "sigma", "1|a_sigma", "x|a_sigma",
                                 "1|b_sigma", "a_corr[1|a, x|a]"]
    post = model.posterior_
    np.testing.assert_allclose(table.loc["a_corr[1|a, x|a]", "mean"],
                               float(post["a_corr"][..., 0, 1].mean()), atol=0.0015)


def test_sklearn_tools_fit_clones_with_group_terms(fitted):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score

    model, X, y = fitted
    template = clone(model).set_params(draws=100, tune=100)
    # every held-out level of a is unseen: population-level for it, never a NaN score
    scores = cross_val_score(template, X, y, groups=X["a"], cv=GroupKFold(3))
    assert np.all(np.isfinite(scores))
    search = GridSearchCV(template, {"lkj_eta": [1.0, 4.0]}, cv=2).fit(X, y)
    assert search.best_params_["lkj_eta"] in (1.0, 4.0)
    assert np.isfinite(search.best_score_)


def test_log_likelihood_and_predictive_draws_use_the_terms(fitted):
    model, X, y = fitted
    rows, target = X.iloc[:12], y.iloc[:12].to_numpy()
    log_lik = model.log_likelihood(rows, target)
    eta = _by_hand(model, rows)
    sigma = model.posterior_["sigma"].values.reshape(-1, 1)
    expected = -0.5 * ((target - eta) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(log_lik.reshape(-1, 12), expected, rtol=1e-10)
    sims = model.sample_posterior_predictive(rows, random_state=0)
    assert sims.shape == eta.shape
    # simulated around each draw's line with that draw's noise: z-scores ~ N(0, 1)
    z = (sims - eta) / sigma
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05
