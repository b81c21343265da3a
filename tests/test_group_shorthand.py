"""``group=``/``varying_slopes=`` are the shorthand of the term ``(1 + slopes | group)``.

Issue 15: the shorthand is the same model as the formula's term, with the
same priors, names in ``posterior_`` and prediction path.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_sklearn import HierarchicalLogisticRegression, HierarchicalRegression
from bayes_sklearn.priors import HalfNormal

QUICK = dict(draws=100, tune=100, chains=1, random_state=0, progressbar=False)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    g = np.repeat(np.array(["a", "b", "c", "d", "e", "f"]), 20)
    codes = np.repeat(np.arange(6), 20)
    x = rng.normal(1.0, 2.0, size=g.size)  # away from 0: effects at x = 0 differ from at the mean
    b0, b1 = rng.normal(0, 0.8, 6), rng.normal(0, 0.4, 6)
    y = 1.0 + b0[codes] + (2.0 + b1[codes]) * x + rng.normal(0, 0.5, g.size)
    return pd.DataFrame({"x": x, "g": g}), y


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 100 draws: too few for the convergence checks
        return model.fit(X, y)


@pytest.fixture(scope="module")
def shorthand_and_formula(data):
    X, y = data
    shorthand = _fit(HierarchicalRegression(group="g", varying_slopes=["x"], **QUICK), X, y)
    formula = _fit(HierarchicalRegression(formula="x + (1 + x | g)", **QUICK), X, y)
    return shorthand, formula


def test_to_pymc_is_the_formula_terms_model(data):
    X, y = data
    shorthand = HierarchicalRegression(group="g", varying_slopes=["x"]).to_pymc(X, y)
    formula = HierarchicalRegression(formula="x + (1 + x | g)").to_pymc(X, y)
    assert sorted(v.name for v in shorthand.free_RVs) == sorted(v.name for v in formula.free_RVs)
    assert "g_corr_cpc" in {v.name for v in shorthand.free_RVs}
    assert sorted(d.name for d in shorthand.deterministics) == sorted(
        d.name for d in formula.deterministics)
    logp_short, logp_formula = shorthand.compile_logp(), formula.compile_logp()
    start = shorthand.initial_point()
    rng = np.random.default_rng(0)
    for _ in range(4):
        point = {name: value + rng.normal(size=np.shape(value)) for name, value in start.items()}
        # a slope of its own at x = 0 vs at the mean would move the density by far more
        np.testing.assert_allclose(logp_short(point), logp_formula(point), rtol=1e-12)


def test_posterior_names_dims_and_draws_equal_the_formula_forms(shorthand_and_formula):
    shorthand, formula = shorthand_and_formula
    assert shorthand.engine_ == formula.engine_ == "kernel"
    assert list(shorthand.posterior_.data_vars) == [
        "intercept", "coef", "sigma", "1|g", "1|g_sigma", "x|g", "x|g_sigma", "g_corr"]
    # the same model on the same engine and seed: the same draws
    xr.testing.assert_identical(shorthand.posterior_, formula.posterior_)
    assert list(shorthand.groups_) == list("abcdef")
    assert shorthand.model_spec_.group_terms == formula.model_spec_.group_terms


def test_predictions_equal_the_formula_forms(shorthand_and_formula, data):
    shorthand, formula = shorthand_and_formula
    X, _ = data
    np.testing.assert_array_equal(shorthand.predict(X), formula.predict(X))
    for selection in ([], ["g"]):
        np.testing.assert_array_equal(shorthand.predict(X, group_terms=selection),
                                      formula.predict(X, group_terms=selection))
    population = shorthand.intercept_ + shorthand.coef_[0] * X["x"].to_numpy()
    np.testing.assert_allclose(shorthand.predict(X, group_terms=[]), population, rtol=1e-10)
    with pytest.raises(ValueError, match="not grouping factors"):
        shorthand.predict(X, group_terms=["county"])


@pytest.mark.parametrize("policy", ["population", "sample", "error"])
def test_unseen_groups_follow_new_groups(shorthand_and_formula, policy):
    shorthand, formula = shorthand_and_formula
    new = pd.DataFrame({"x": [0.0, 2.0, 2.0, 1.0], "g": ["a", "new", "new", "other"]})
    model = shorthand.set_params(new_groups=policy)
    try:
        if policy == "error":
            with pytest.raises(ValueError, match=r"not seen during fit.*\['new', 'other'\]"):
                model.predict(new)
            return
        mean, std = model.predict(new, return_std=True)
        expected = formula.set_params(new_groups=policy).predict(new, return_std=True)
        # the formula's term draws the same new effects from the same seed
        np.testing.assert_allclose(mean, expected[0], rtol=1e-12)
        np.testing.assert_allclose(std, expected[1], rtol=1e-12)
        population = shorthand.intercept_ + shorthand.coef_[0] * new["x"].to_numpy()
        seen = shorthand.predict(new.iloc[:1], group_terms=["g"])
        assert mean[0] == pytest.approx(seen[0])
        if policy == "population":
            np.testing.assert_allclose(mean[1:], population[1:], rtol=1e-10)
        else:
            assert mean[1] == mean[2] and mean[1] != mean[3]  # one new group, one draw each
            population_std = model.predict(new, return_std=True, group_terms=[])[1]
            assert np.all(std[1:] > population_std[1:])  # between-group spread
    finally:
        shorthand.set_params(new_groups="population")
        formula.set_params(new_groups="population")


def test_prior_predictive_draws_effects_for_every_group(shorthand_and_formula):
    shorthand, _ = shorthand_and_formula
    new = pd.DataFrame({"x": [1.0, 1.0], "g": ["a", "unseen"]})
    shorthand.set_params(new_groups="error")
    try:  # under the prior every group is new, whatever new_groups says
        sims = shorthand.sample_prior_predictive(new, n_samples=50, kind="mean", random_state=0)
    finally:
        shorthand.set_params(new_groups="population")
    assert sims.shape == (50, 2) and not np.allclose(sims[:, 0], sims[:, 1])


def test_sd_priors_by_the_terms_names(data):
    X, y = data
    model = HierarchicalRegression(group="g", varying_slopes=["x"],
                                   priors={"1|g": HalfNormal(0.1), "x|g": 0.3})
    mean = model.sample_prior_predictive(X, y, n_samples=10, random_state=0)
    assert mean.shape == (10, len(X))
    spec = model._model_inputs(X, y).spec
    (term,) = spec.group_terms
    assert term.sd_priors[0] == HalfNormal(0.1)
    assert term.sd_priors[1].value == 0.3
    with pytest.raises(ValueError, match="unknown group effect 'floor|g'"):
        HierarchicalRegression(group="g", priors={"floor|g": 1.0}).fit(X, y)


def test_integer_group_index_of_an_array(data):
    X, y = data
    codes = pd.factorize(X["g"])[0]
    array = np.column_stack([X["x"].to_numpy(), codes])
    model = _fit(HierarchicalRegression(group=1, varying_slopes=["x0"], **QUICK), array, y)
    assert list(model.groups_) == list(range(6))
    post = model.posterior_
    assert post["1|group"].dims == ("chain", "draw", "group__factor_dim")
    assert "x0|group_sigma" in post and "group_corr" in post
    new = np.array([[1.0, 0], [1.0, 99]])
    np.testing.assert_allclose(model.predict(new)[1], model.intercept_ + model.coef_[0],
                               rtol=1e-10)
    frame = _fit(HierarchicalRegression(group=1, **QUICK), X, y)
    assert "1|g" in frame.posterior_  # an integer index into a frame: the column's name


def test_varying_slopes_name_design_columns(data):
    X, y = data
    with pytest.raises(ValueError, match="'z', which is not a design column"):
        HierarchicalRegression(group="g", varying_slopes=["z"]).to_pymc(X, y)
    region = X.assign(r=np.where(np.arange(len(X)) % 3 == 0, "b", "a"))
    model = HierarchicalRegression(group="g", formula="x + C(r)",
                                   varying_slopes=["C(r)[T.b]"]).to_pymc(region, y)
    assert model.coords["g__effect"] == ("1|g", "C(r)[T.b]|g")


def test_multiclass_with_group():
    rng = np.random.default_rng(5)
    school = np.repeat(np.array(["p", "q", "r", "s"]), 45)
    x = rng.normal(size=school.size)
    logits = np.column_stack([np.zeros_like(x), x, -x + (school == "s")])
    y = np.array(["u", "v", "w"])[(logits + rng.gumbel(size=logits.shape)).argmax(axis=1)]
    X = pd.DataFrame({"x": x, "school": school})
    shorthand = _fit(HierarchicalLogisticRegression(group="school", **QUICK), X, y)
    formula = _fit(HierarchicalLogisticRegression(formula="x + (1 | school)", **QUICK), X, y)
    assert shorthand.posterior_["1|school"].dims == (
        "chain", "draw", "school__factor_dim", "class")
    xr.testing.assert_identical(shorthand.posterior_, formula.posterior_)
    proba = shorthand.predict_proba(X.assign(school="new"))
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba, formula.predict_proba(X, group_terms=[]), rtol=1e-12)
