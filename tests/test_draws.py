"""``posterior_`` as users see it: names, coordinates and values of the draws.

Built from hand-made standardised draws (no sampler), so every number is
checked against the inverse standardisation written out here, and every
dimension and coordinate name against what the ArviZ / xarray user indexes.
"""

import numpy as np
import pytest

from bayes_sklearn._draws import posterior_dataset, posterior_from_dataset
from bayes_sklearn.design.standardize import Standardizer
from bayes_sklearn.inference.result import SamplerResult
from bayes_sklearn.model.spec import GroupSpec, ModelSpec

CHAINS, DRAWS = 2, 3
CENTER = np.array([50.0, -1.0, 1e3])
SCALE = np.array([10.0, 0.1, 250.0])
NAMES = ("age", "dose", "income")


def _spec(family, n_outputs=1, groups=None):
    return ModelSpec(family, NAMES, n_outputs, None, (), None,
                     Standardizer(CENTER.copy(), SCALE.copy()), groups)


def _result(n_outputs=1, sigma=True, groups=None, seed=0):
    rng = np.random.default_rng(seed)
    effect_z = sd_z = None
    if groups is not None:
        n_groups, n_effects = groups
        effect_z = rng.normal(size=(CHAINS, DRAWS, n_groups, n_effects))
        sd_z = rng.uniform(0.5, 2.0, (CHAINS, DRAWS, n_effects))
    return SamplerResult(
        intercept_z=rng.normal(size=(CHAINS, DRAWS, n_outputs)),
        coef_z=rng.normal(size=(CHAINS, DRAWS, 3, n_outputs)),
        sigma=rng.uniform(1.0, 3.0, (CHAINS, DRAWS)) if sigma else None,
        sample_stats=None, method="test",
        group_effect_z=effect_z, group_sd_z=sd_z,
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
    ds = posterior_dataset(_spec("gaussian"), result, None)
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
    post = posterior_from_dataset(ds, _spec("gaussian"))
    assert post.family == "gaussian" and post.groups is None
    np.testing.assert_allclose(post.intercept, intercept.reshape(-1, 1), rtol=1e-12)
    np.testing.assert_allclose(post.coef, coef.reshape(-1, 3, 1), rtol=1e-12)
    np.testing.assert_array_equal(post.sigma, result.sigma.reshape(-1))
    assert post.subset(np.array([0, 5])).n_draws == 2


def test_categorical_posterior_has_one_class_coordinate_per_non_reference_class():
    result = _result(n_outputs=2, sigma=False)
    spec = _spec("categorical", n_outputs=2)
    ds = posterior_dataset(spec, result, ["b", "c"])
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
    post = posterior_from_dataset(ds, spec)
    assert post.sigma is None
    np.testing.assert_allclose(post.intercept, intercept.reshape(-1, 2), rtol=1e-12)
    np.testing.assert_allclose(post.coef, coef.reshape(-1, 3, 2), rtol=1e-12)


def _groups(varying):
    slope_names = tuple(NAMES[j] for j in varying)
    return GroupSpec(("north", "south", "east", "west"), tuple(varying),
                     ("intercept", *slope_names), ())


@pytest.mark.parametrize("varying", [(1, 2), ()])
def test_hierarchical_posterior_has_group_effects_on_the_original_scale(varying):
    groups = _groups(varying)
    n_effects = 1 + len(varying)
    result = _result(groups=(4, n_effects), seed=3)
    spec = _spec("gaussian", groups=groups)
    sd_z_before = result.group_sd_z.copy()
    ds = posterior_dataset(spec, result, None)
    np.testing.assert_array_equal(result.group_sd_z, sd_z_before)  # the result is not modified

    v = list(varying)
    effect_z = result.group_effect_z
    slopes = effect_z[..., 1:] / SCALE[v]
    group_intercept = effect_z[..., 0] - (slopes * CENTER[v]).sum(axis=-1)
    sd = np.concatenate([result.group_sd_z[..., :1], result.group_sd_z[..., 1:] / SCALE[v]], -1)

    expected = {"intercept", "coef", "sigma", "group_intercept", "group_sd"}
    coords = {"chain", "draw", "feature", "group", "effect"}
    if varying:
        expected.add("group_slope")
        coords.add("slope")
    assert set(ds.data_vars) == expected
    assert set(ds.coords) == coords
    _check_chain_draw(ds)
    assert list(ds.coords["group"].values) == ["north", "south", "east", "west"]
    assert list(ds.coords["effect"].values) == ["intercept", *[NAMES[j] for j in varying]]
    assert ds["group_intercept"].dims == ("chain", "draw", "group")
    assert ds["group_sd"].dims == ("chain", "draw", "effect")
    np.testing.assert_allclose(ds["group_intercept"].sel(group="east").values,
                               group_intercept[..., 2], rtol=1e-12)
    np.testing.assert_allclose(ds["group_sd"].values, sd, rtol=1e-12)
    if varying:
        assert list(ds.coords["slope"].values) == ["dose", "income"]
        assert ds["group_slope"].dims == ("chain", "draw", "group", "slope")
        np.testing.assert_allclose(ds["group_slope"].sel(group="west", slope="income").values,
                                   slopes[:, :, 3, 1], rtol=1e-12)

    group_sd_before = ds["group_sd"].values.copy()
    post = posterior_from_dataset(ds, spec)
    np.testing.assert_array_equal(ds["group_sd"].values, group_sd_before)  # nor is posterior_
    g = post.groups
    assert g.varying == tuple(varying)
    np.testing.assert_allclose(g.intercept, group_intercept.reshape(-1, 4), rtol=1e-12)
    assert g.slopes.shape == (CHAINS * DRAWS, 4, len(varying))
    np.testing.assert_allclose(g.slopes, slopes.reshape(CHAINS * DRAWS, 4, len(varying)), rtol=1e-12)
    np.testing.assert_allclose(g.sd_z, result.group_sd_z.reshape(-1, n_effects), rtol=1e-12)
    np.testing.assert_array_equal(g.center, CENTER[v])
    np.testing.assert_array_equal(g.scale, SCALE[v])
