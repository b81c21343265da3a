"""``posterior_`` as users see it: names, coordinates and values of the draws.

Built from hand-made standardised draws (no sampler), so every number is
checked against the inverse standardisation written out here, and every
dimension and coordinate name against what the ArviZ / xarray user indexes.
"""

import dataclasses

import numpy as np

from bayes_sklearn._draws import Draws, posterior_draws, posterior_from_draws
from bayes_sklearn.design.standardize import Standardizer
from bayes_sklearn.inference.result import SamplerResult, TermDraws
from bayes_sklearn.model.spec import GroupTerm, ModelSpec
from bayes_sklearn.priors import HalfNormal

CHAINS, DRAWS = 2, 3
CENTER = np.array([50.0, -1.0, 1e3])
SCALE = np.array([10.0, 0.1, 250.0])
NAMES = ("age", "dose", "income")


def _spec(family, n_outputs=1):
    return ModelSpec(family, NAMES, n_outputs, None, (), None,
                     Standardizer(CENTER.copy(), SCALE.copy()))


def _result(n_outputs=1, sigma=True, seed=0):
    rng = np.random.default_rng(seed)
    return SamplerResult(
        intercept_z=rng.normal(size=(CHAINS, DRAWS, n_outputs)),
        coef_z=rng.normal(size=(CHAINS, DRAWS, 3, n_outputs)),
        sigma=rng.uniform(1.0, 3.0, (CHAINS, DRAWS)) if sigma else None,
        sample_stats=None, method="test",
    )


def _original(result):
    """Inverse standardisation by hand: ``b = b_z / s``, ``a = a_z - sum_p b_p c_p``."""
    coef = result.coef_z / SCALE[:, None]
    intercept = result.intercept_z - (coef * CENTER[:, None]).sum(axis=-2)
    return intercept, coef


def _check_chain_draw(ds):
    np.testing.assert_array_equal(ds.coords["chain"].values, np.arange(CHAINS))
    np.testing.assert_array_equal(ds.coords["draw"].values, np.arange(DRAWS))


def test_linear_posterior_has_feature_named_coefficients_on_the_original_scale():
    result = _result()
    draws_ = posterior_draws(_spec("gaussian"), result, None)
    ds = draws_.to_dataset()
    intercept, coef = _original(result)
    assert set(ds.data_vars) == {"intercept", "coef", "sigma"}
    assert set(ds.coords) == {"chain", "draw", "feature"}
    _check_chain_draw(ds)
    assert list(ds.coords["feature"].values) == list(NAMES)
    assert ds["intercept"].dims == ("chain", "draw")
    assert ds["coef"].dims == ("chain", "draw", "feature")
    assert ds["sigma"].dims == ("chain", "draw")
    assert ds["coef"].dtype == np.float64
    np.testing.assert_allclose(ds["intercept"].values, intercept[..., 0], rtol=1e-12)
    np.testing.assert_allclose(ds["coef"].sel(feature="dose").values, coef[:, :, 1, 0], rtol=1e-12)
    np.testing.assert_array_equal(ds["sigma"].values, result.sigma)
    # and back: a flat draw axis, chain after chain
    post = posterior_from_draws(draws_, _spec("gaussian"))
    assert post.family == "gaussian" and post.terms == ()
    np.testing.assert_allclose(post.intercept, intercept.reshape(-1, 1), rtol=1e-12)
    np.testing.assert_allclose(post.coef, coef.reshape(-1, 3, 1), rtol=1e-12)
    np.testing.assert_array_equal(post.sigma, result.sigma.reshape(-1))
    assert post.subset(np.array([0, 5])).n_draws == 2


def test_categorical_posterior_has_one_class_coordinate_per_non_reference_class():
    result = _result(n_outputs=2, sigma=False)
    spec = _spec("categorical", n_outputs=2)
    draws_ = posterior_draws(spec, result, ["b", "c"])
    ds = draws_.to_dataset()
    intercept, coef = _original(result)
    assert set(ds.data_vars) == {"intercept", "coef"}
    assert set(ds.coords) == {"chain", "draw", "feature", "class"}
    _check_chain_draw(ds)
    assert list(ds.coords["class"].values) == ["b", "c"]
    assert ds["intercept"].dims == ("chain", "draw", "class")
    assert ds["coef"].dims == ("chain", "draw", "feature", "class")
    np.testing.assert_allclose(ds["intercept"].sel(**{"class": "c"}).values, intercept[..., 1],
                               rtol=1e-12)
    np.testing.assert_allclose(ds["coef"].sel(feature="income", **{"class": "b"}).values,
                               coef[:, :, 2, 0], rtol=1e-12)
    post = posterior_from_draws(draws_, spec)
    assert post.sigma is None
    np.testing.assert_allclose(post.intercept, intercept.reshape(-1, 2), rtol=1e-12)
    np.testing.assert_allclose(post.coef, coef.reshape(-1, 3, 2), rtol=1e-12)


def _term_draws(n_levels, n_effects, correlated, n_outputs=None, seed=0):
    """Hand-made draws of one group term; a correlation matrix per draw (and class)."""
    rng = np.random.default_rng(seed)
    by_class = () if n_outputs is None else (n_outputs,)
    effects = rng.normal(size=(CHAINS, DRAWS, n_levels, n_effects, *by_class))
    sd = rng.uniform(0.5, 2.0, (CHAINS, DRAWS, n_effects, *by_class))
    corr = None
    if correlated:
        a = rng.normal(size=(CHAINS, DRAWS, *by_class, n_effects, n_effects))
        cov = a @ np.swapaxes(a, -1, -2) + np.eye(n_effects)
        d = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
        corr = cov / d[..., :, None] / d[..., None, :]
    return TermDraws(effects, sd, corr)


def test_group_terms_are_stored_as_drawn_under_bambis_names():
    """A term's draws are on the original scale already (its design is never
    standardised): stored as drawn, and read back as prediction's TermEffects."""
    terms = (GroupTerm("region", ("north", "south", "east"), ("1|region", "dose|region"),
                       (HalfNormal(1.0), HalfNormal(1.0))),
             GroupTerm("site", ("a", "b"), ("1|site",), (HalfNormal(1.0),), correlated=False))
    spec = dataclasses.replace(_spec("gaussian"), group_terms=terms)
    region, site = _term_draws(3, 2, True, seed=1), _term_draws(2, 1, False, seed=2)
    result = dataclasses.replace(_result(), group_terms=(region, site))
    before = region.effects.copy()
    draws_ = posterior_draws(spec, result, None)
    ds = draws_.to_dataset()
    np.testing.assert_array_equal(region.effects, before)  # the result is not modified
    assert set(ds.data_vars) == {
        "intercept", "coef", "sigma", "1|region", "dose|region", "1|region_sigma",
        "dose|region_sigma", "region_corr", "1|site", "1|site_sigma"}
    # an independent term has no effect dims: only its correlation would use them
    assert set(ds.coords) == {"chain", "draw", "feature", "region__factor_dim",
                              "region__effect", "region__effect2", "site__factor_dim"}
    _check_chain_draw(ds)
    assert list(ds.coords["region__factor_dim"].values) == ["north", "south", "east"]
    assert list(ds.coords["region__effect"].values) == ["1|region", "dose|region"]
    assert ds["dose|region"].dims == ("chain", "draw", "region__factor_dim")
    assert ds["dose|region_sigma"].dims == ("chain", "draw")
    assert ds["region_corr"].dims == ("chain", "draw", "region__effect", "region__effect2")
    np.testing.assert_array_equal(ds["dose|region"].sel(region__factor_dim="east").values,
                                  region.effects[:, :, 2, 1])
    np.testing.assert_array_equal(ds["1|region_sigma"].values, region.sd[:, :, 0])
    np.testing.assert_array_equal(ds["region_corr"].values, region.corr)
    np.testing.assert_array_equal(ds["1|site"].sel(site__factor_dim="b").values,
                                  site.effects[:, :, 1, 0])

    n = CHAINS * DRAWS
    post_region, post_site = posterior_from_draws(draws_, spec).terms
    np.testing.assert_array_equal(post_region.effects, region.effects.reshape(n, 3, 2, 1))
    np.testing.assert_array_equal(post_region.sd, region.sd.reshape(n, 2, 1))
    np.testing.assert_array_equal(post_region.corr, region.corr.reshape(n, 1, 2, 2))
    np.testing.assert_array_equal(post_site.effects, site.effects.reshape(n, 2, 1, 1))
    np.testing.assert_array_equal(post_site.sd, site.sd.reshape(n, 1, 1))
    assert post_site.corr is None


def test_multiclass_group_terms_have_the_class_axis_last():
    term = GroupTerm("site", ("a", "b", "c"), ("1|site", "income|site"),
                     (HalfNormal(1.0), HalfNormal(1.0)))
    spec = dataclasses.replace(_spec("categorical", n_outputs=2), group_terms=(term,))
    draws = _term_draws(3, 2, True, n_outputs=2, seed=4)
    result = dataclasses.replace(_result(n_outputs=2, sigma=False), group_terms=(draws,))
    draws_ = posterior_draws(spec, result, ["b", "c"])
    ds = draws_.to_dataset()
    assert ds["income|site"].dims == ("chain", "draw", "site__factor_dim", "class")
    assert ds["income|site_sigma"].dims == ("chain", "draw", "class")
    assert ds["site_corr"].dims == ("chain", "draw", "class", "site__effect", "site__effect2")
    np.testing.assert_array_equal(
        ds["income|site"].sel(site__factor_dim="b", **{"class": "c"}).values,
        draws.effects[:, :, 1, 1, 1])
    np.testing.assert_array_equal(ds["site_corr"].sel(**{"class": "b"}).values,
                                  draws.corr[:, :, 0])
    (post_term,) = posterior_from_draws(draws_, spec).terms
    n = CHAINS * DRAWS
    np.testing.assert_array_equal(post_term.effects, draws.effects.reshape(n, 3, 2, 2))
    np.testing.assert_array_equal(post_term.sd, draws.sd.reshape(n, 2, 2))
    np.testing.assert_array_equal(post_term.corr, draws.corr.reshape(n, 2, 2, 2))


def test_a_loaded_datasets_draws_are_its_arrays_and_predict_the_same():
    """``Draws.from_dataset`` (a loaded file's posterior) gives back the variables,
    dims and coordinates the Dataset was built from, sharing its arrays."""
    spec = _spec("gaussian")
    draws = posterior_draws(spec, _result(seed=3), None)
    ds = draws.to_dataset()
    back = Draws.from_dataset(ds)
    assert set(back.variables) == set(draws.variables)
    for name, (dims, values) in draws.variables.items():
        assert back.variables[name][0] == dims
        np.testing.assert_array_equal(back.values(name), values)
        assert np.shares_memory(back.values(name), ds[name].values)
    assert (back.n_chains, back.n_draws) == (CHAINS, DRAWS)
    assert list(back.coords["feature"]) == list(NAMES)
    assert "sigma" in back and "county" not in back
    np.testing.assert_array_equal(posterior_from_draws(back, spec).coef,
                                  posterior_from_draws(draws, spec).coef)


def test_a_dataset_without_chain_and_draw_coordinates_gets_them_numbered():
    """A Dataset whose ``chain`` and ``draw`` dims carry no coordinates (as
    xarray writes a bare array) reads back with ``0..n-1`` for each, as ArviZ
    numbers them."""
    import xarray as xr

    ds = xr.Dataset({"intercept": (("chain", "draw"), np.zeros((2, 5)))})
    assert "chain" not in ds.coords and "draw" not in ds.coords
    back = Draws.from_dataset(ds)
    np.testing.assert_array_equal(back.coords["chain"], [0, 1])
    np.testing.assert_array_equal(back.coords["draw"], np.arange(5))
    # the ones a Dataset has are kept
    ds = ds.assign_coords(draw=np.arange(5) + 100)
    np.testing.assert_array_equal(Draws.from_dataset(ds).coords["draw"], np.arange(5) + 100)
