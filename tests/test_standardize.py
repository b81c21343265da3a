"""Known answers for the centring and scaling that samplers see.

Every expected value is written out by hand (means and sds of small columns,
closed forms for scaled sequences) rather than taken from
``design/standardize.py``; none of these tests fits a model.
"""

import warnings

import numpy as np
import pytest

from bayes_sklearn.design.standardize import Standardizer, column_moments, location_scale

#: 1, 2, 3, 4 have mean 2.5 and population sd sqrt(1.25).
SD_1234 = np.sqrt(1.25)


def test_moments_of_ordinary_columns_are_numpy_s_own():
    # Columns of mean 1e6 and sd 1e-3, of magnitude below 1, mixed signs and
    # an all-zero column: no rescaling, so the moments are numpy's bit for bit.
    rng = np.random.default_rng(7)
    X = np.column_stack([
        1e6 + 1e-3 * rng.standard_normal(50),
        0.3 * rng.standard_normal(50),
        -5.0 - rng.random(50),
        np.zeros(50),
    ])
    center, scale, magnitude = column_moments(X)
    np.testing.assert_array_equal(center, X.mean(axis=0))
    np.testing.assert_array_equal(scale, X.std(axis=0))
    np.testing.assert_array_equal(magnitude, np.abs(X).max(axis=0))
    assert center.shape == scale.shape == magnitude.shape == (4,)


def test_magnitude_is_the_largest_absolute_value_per_column():
    X = np.array([[1.0, -7.0, 2.0], [-3.0, 5.0, 0.5]])
    _, _, magnitude = column_moments(X)
    np.testing.assert_array_equal(magnitude, [3.0, 7.0, 2.0])


def test_extreme_columns_neither_overflow_nor_underflow():
    # Squares of 1e200 overflow and squares of 1e-200 underflow in float64.
    k = np.array([1.0, 2.0, 3.0, 4.0])
    X = np.column_stack([1e200 * k, -1e200 * k, 1e-200 * k, np.zeros(4), 1e3 * k])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        center, scale, magnitude = column_moments(X)
    np.testing.assert_allclose(center, [2.5e200, -2.5e200, 2.5e-200, 0.0, 2.5e3], rtol=1e-14)
    np.testing.assert_allclose(
        scale, SD_1234 * np.array([1e200, 1e200, 1e-200, 0.0, 1e3]), rtol=1e-14)
    np.testing.assert_array_equal(magnitude, [4e200, 4e200, 4e-200, 0.0, 4e3])


def test_one_row_has_zero_spread_and_its_own_magnitude():
    center, scale, magnitude = column_moments(np.array([[-3.0, 2.0]]))
    np.testing.assert_array_equal(center, [-3.0, 2.0])
    np.testing.assert_array_equal(scale, [0.0, 0.0])
    np.testing.assert_array_equal(magnitude, [3.0, 2.0])


def test_no_rows_give_one_nan_moment_and_zero_magnitude_per_column():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's "mean of empty slice"
        center, scale, magnitude = column_moments(np.empty((0, 3)))
    assert center.shape == scale.shape == magnitude.shape == (3,)
    assert np.isnan(center).all() and np.isnan(scale).all()
    np.testing.assert_array_equal(magnitude, np.zeros(3))


def test_integer_and_boolean_arrays_are_moments_of_floats():
    center, scale, magnitude = column_moments([[True, False], [False, False]])
    np.testing.assert_array_equal(center, [0.5, 0.0])
    np.testing.assert_array_equal(scale, [0.5, 0.0])
    np.testing.assert_array_equal(magnitude, [1.0, 0.0])
    assert magnitude.dtype == np.float64
    _, _, magnitude = column_moments([[1, -9], [3, 4]])
    assert magnitude.dtype == np.float64


def test_location_scale_of_a_vector():
    y = 1e6 + 1e-3 * np.array([-1.0, 1.0, -1.0, 1.0])
    center, scale = location_scale(y)
    assert center == pytest.approx(1e6, rel=1e-15)
    assert scale == pytest.approx(1e-3, rel=1e-6)  # 1e6's rounding is 1e-10 absolute
    assert isinstance(center, float) and isinstance(scale, float)
    assert location_scale([True, False]) == (0.5, 0.5)


def test_location_scale_of_a_constant_vector_has_scale_one():
    assert location_scale(np.full(5, -4.0e8)) == (-4.0e8, 1.0)


def test_standardizer_keeps_tiny_spreads_and_drops_rounding_noise():
    base = 1e6
    X = np.column_stack([
        base + 1e-3 * np.array([-1.0, 1.0, -1.0, 1.0]),  # sd 1e-3: a real column
        base + np.array([0.0, 1.0, 0.0, 1.0]) * np.spacing(base),  # ulp noise: constant
        np.full(4, 7.0),
        np.zeros(4),
    ])
    std = Standardizer.fit(X)
    np.testing.assert_allclose(std.center, [base, base + np.spacing(base) / 2, 7.0, 0.0],
                               rtol=1e-15)
    np.testing.assert_allclose(std.scale[0], 1e-3, rtol=1e-6)
    np.testing.assert_array_equal(std.scale[1:], [1.0, 1.0, 1.0])


def test_standardizer_on_extreme_columns():
    k = np.array([1.0, 2.0, 3.0, 4.0])
    std = Standardizer.fit(np.column_stack([1e200 * k, 1e-200 * k]))
    np.testing.assert_allclose(std.scale, [SD_1234 * 1e200, SD_1234 * 1e-200], rtol=1e-14)


def test_transform_centres_and_scales():
    std = Standardizer(center=np.array([1e6, -2.0]), scale=np.array([1e-3, 4.0]))
    X = np.array([[1e6 + 2e-3, 6.0], [1e6 - 1e-3, -2.0]])
    np.testing.assert_allclose(std.transform(X), [[2.0, 2.0], [-1.0, 0.0]], rtol=1e-6)


def test_coefficients_back_on_the_original_scale_by_hand():
    # eta = a_z + sum_j b_z[j] (x_j - c_j) / s_j = (a_z - sum_j c_j b_z[j] / s_j) + sum_j x_j b_z[j] / s_j
    std = Standardizer(center=np.array([1e6, -3.0]), scale=np.array([1e-3, 2.0]))
    intercept_z = np.array([[10.0, -1.0]])  # (draws=1, outputs=2)
    coef_z = np.array([[[2.0, 4.0], [6.0, -8.0]]])  # (draws=1, features=2, outputs=2)
    intercept, coef = std.coef_to_original(intercept_z, coef_z)
    np.testing.assert_allclose(coef, [[[2e3, 4e3], [3.0, -4.0]]])
    np.testing.assert_allclose(
        intercept, [[10.0 - (1e6 * 2e3 - 3.0 * 3.0), -1.0 - (1e6 * 4e3 - 3.0 * -4.0)]])
    # The same linear predictor on any row, on either scale.
    X = np.array([[1e6 + 1e-3, 1.0], [1e6 - 2e-3, -7.0]])
    eta_z = intercept_z[0] + std.transform(X) @ coef_z[0]
    np.testing.assert_allclose(intercept[0] + X @ coef[0], eta_z, rtol=1e-6, atol=1e-6)
