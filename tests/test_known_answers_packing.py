"""What the precompiled kernel is fed, read back through the header's pointers.

``pack_model`` hands the kernel one int64 header of sizes and raw addresses;
these tests read the memory at those addresses (as the kernel does) and
compare it with values written out by hand, on data of mean 1e3 and sd 1e-2
so that a centring or scaling slip is many orders of magnitude off.
"""

import ctypes
from dataclasses import replace

import numpy as np
import pytest

from bayes_sklearn.inference import _kernel as k
from bayes_sklearn.inference.packing import gaussian_sufficient_statistics, pack_model, unpack_draws
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import (
    Exponential,
    HalfNormal,
    HalfStudentT,
    Laplace,
    Normal,
    StudentT,
)


def _read(header, slot, size, dtype=np.float64):
    """``size`` values at the address in ``header[slot]``, as the kernel reads them."""
    ctype = ctypes.c_double if dtype == np.float64 else ctypes.c_int64
    pointer = ctypes.cast(int(header[slot]), ctypes.POINTER(ctype))
    return np.ctypeslib.as_array(pointer, shape=(size,)).copy()


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = 1e3 + 1e-2 * rng.normal(size=(n, 2)) * [1.0, 3.0]
    y = 1e3 + 2.0 * (X[:, 0] - 1e3) - 0.5 * (X[:, 1] - 1e3) + 1e-2 * rng.normal(size=n)
    return X, y


def test_sufficient_statistics_by_hand():
    """X'X, the least-squares fit of the centred y and residual sums, from numpy alone."""
    X, y = _data()
    # a design that is not centred, so X.sum and X'resid are not trivially zero
    X_z = (X - 1e3) / 1e-2 + [2.0, -1.0]
    xtx, beta_hat, xt_resid, x_sum, scalars = gaussian_sufficient_statistics(X_z, y)

    expected_xtx = np.einsum("ni,nj->ij", X_z, X_z)
    y_c = y - y.sum() / len(y)
    expected_beta = np.linalg.solve(expected_xtx, X_z.T @ y_c)
    resid = y_c - X_z @ expected_beta
    np.testing.assert_allclose(xtx, expected_xtx, rtol=1e-12)
    assert xtx.flags.c_contiguous
    np.testing.assert_allclose(beta_hat, expected_beta, rtol=1e-9)
    np.testing.assert_allclose(x_sum, [X_z[:, 0].sum(), X_z[:, 1].sum()], rtol=1e-12)
    # normal equations: X'resid vanishes up to rounding of the 1e-2 scale data
    np.testing.assert_allclose(xt_resid, X_z.T @ resid, atol=1e-12)
    assert np.abs(xt_resid).max() < 1e-12
    # [y mean, SSR, sum of residuals, sum of weights]: the last is n unweighted
    assert scalars.shape == (4,)
    assert scalars[3] == len(y)
    np.testing.assert_allclose(scalars[0], np.mean(y), rtol=1e-15)
    np.testing.assert_allclose(scalars[1], np.sum(resid**2), rtol=1e-9)
    # the residuals around a fit without intercept do not sum to zero here
    np.testing.assert_allclose(scalars[2], resid.sum(), atol=1e-12)
    assert abs(scalars[2]) > 1e-4


def _gaussian_spec(X, y, priors, prior_noise):
    return resolve_model_spec(
        family="gaussian", coef_names=["a", "b"], X=X, y=y, priors=priors, prior_noise=prior_noise
    )


def test_gaussian_header_sizes_priors_and_start_point():
    X, y = _data()
    priors = {"intercept": Normal(1e3, 0.5), "a": StudentT(nu=5.0, mu=1.0, sigma=2.0), "b": Laplace(mu=-3.0, b=4.0)}
    spec = _gaussian_spec(X, y, priors, HalfStudentT(nu=7.0, sigma=0.25))
    X_z = spec.standardizer.transform(X)
    packed = pack_model(spec, X_z, y)
    h = packed.header
    assert h.dtype == np.int64 and h.shape == (k.HEADER_SIZE,)
    assert list(h[: k.N_DIM + 1]) == [k.GAUSSIAN, 40, 2, 1, 0, 0, 0, 1, 4]
    assert packed.n_dim == 4
    s_a, s_b = spec.standardizer.scale
    # location priors: intercept, then one per coefficient, on the standardised scale
    np.testing.assert_array_equal(_read(h, k.P_LOC_KIND, 3, np.int64),
                                  [k.NORMAL, k.STUDENT_T, k.LAPLACE])
    np.testing.assert_allclose(_read(h, k.P_LOC, 3), [1e3, 1.0 * s_a, -3.0 * s_b], rtol=1e-15)
    np.testing.assert_allclose(_read(h, k.P_SCALE, 3), [0.5, 2.0 * s_a, 4.0 * s_b], rtol=1e-15)
    np.testing.assert_allclose(_read(h, k.P_NU, 3)[1], 5.0)
    # the noise prior
    assert _read(h, k.P_SCALE_KIND, 1, np.int64)[0] == k.HALF_STUDENT_T
    np.testing.assert_allclose(_read(h, k.P_SCALE_SCALE, 1), [0.25])
    np.testing.assert_allclose(_read(h, k.P_SCALE_NU, 1), [7.0])
    np.testing.assert_allclose(_read(h, k.P_ROW_WEIGHT, 1), [1.0])
    # the sufficient statistics behind the pointers
    expected = gaussian_sufficient_statistics(np.ascontiguousarray(X_z), y)
    for slot, array in zip(range(k.P_XTX, k.P_SCALARS + 1), expected):
        np.testing.assert_allclose(_read(h, slot, array.size), array.ravel(), rtol=1e-12)
    np.testing.assert_allclose(_read(h, k.P_SCALARS, 1), [np.mean(y)], rtol=1e-15)
    # start: intercept at its prior mean, coefficients 0, log sigma at log prior scale
    np.testing.assert_allclose(packed.initial_point, [1e3, 0.0, 0.0, np.log(0.25)], rtol=1e-15)


@pytest.mark.parametrize("noise, kind", [(Exponential(2e-2), k.EXPONENTIAL),
                                         (HalfNormal(3e-2), k.HALF_NORMAL)])
def test_noise_prior_kind_and_scale(noise, kind):
    X, y = _data()
    spec = _gaussian_spec(X, y, None, noise)
    packed = pack_model(spec, spec.standardizer.transform(X), y)
    assert _read(packed.header, k.P_SCALE_KIND, 1, np.int64)[0] == kind
    np.testing.assert_allclose(_read(packed.header, k.P_SCALE_SCALE, 1), [noise.scale])
    np.testing.assert_allclose(packed.initial_point[-1], np.log(noise.scale), rtol=1e-15)


def test_row_by_row_data_are_pointed_to_in_place():
    """Without sufficient statistics the kernel reads X and y themselves (no copy)."""
    X, y = _data()
    spec = _gaussian_spec(X, y, None, None)
    X_z = np.ascontiguousarray(spec.standardizer.transform(X))
    packed = pack_model(spec, X_z, y, row_weight=2.5, sufficient_statistics=False)
    h = packed.header
    assert h[k.SUFFSTATS] == 0
    assert h[k.P_X] == X_z.ctypes.data and h[k.P_Y] == y.ctypes.data
    np.testing.assert_allclose(_read(h, k.P_ROW_WEIGHT, 1), [2.5])
    # refilling the buffer changes what the kernel sees
    X_z[0, 0] = 123.0
    assert _read(h, k.P_X, 1)[0] == 123.0


def test_hierarchical_categorical_header():
    """Categorical, 3 classes (2 outputs), 3 groups with a varying slope, centred."""
    rng = np.random.default_rng(1)
    X = 1e3 + 1e-2 * rng.normal(size=(30, 2))
    y = rng.integers(0, 3, size=30).astype(float)
    codes = rng.integers(0, 3, size=30)
    spec = resolve_model_spec(
        family="categorical", coef_names=["a", "b"], X=X, y=y, n_outputs=2,
        priors={"intercept": Normal(0.5, 2.0)}, group_labels=["u", "v", "w"],
        varying_slopes=["b"], centered=True, prior_group_scale=0.7,
    )
    X_z = spec.standardizer.transform(X)
    packed = pack_model(spec, X_z, y, codes.astype(np.int32))
    h = packed.header
    # n_dim = 2 outputs * (2 coefficients + 1) + 2 group sds + 3 groups * 2 effects
    assert list(h[: k.N_DIM + 1]) == [k.CATEGORICAL, 30, 2, 2, 3, 2, 1, 0, 14]
    np.testing.assert_array_equal(_read(h, k.P_CODES, 30, np.int64), codes)
    np.testing.assert_array_equal(_read(h, k.P_VARYING, 1, np.int64), [1])
    np.testing.assert_allclose(_read(h, k.P_X, 60), X_z.ravel(), rtol=1e-15)
    np.testing.assert_allclose(_read(h, k.P_Y, 30), y)
    # intercepts of both outputs, then coefficient j repeated for each output
    s_a, s_b = spec.standardizer.scale
    np.testing.assert_allclose(_read(h, k.P_LOC, 6), [0.5, 0.5, 0, 0, 0, 0])
    np.testing.assert_allclose(
        _read(h, k.P_SCALE, 6), [2.0, 2.0] + [spec.coef_priors[0].sigma * s_a] * 2
        + [spec.coef_priors[1].sigma * s_b] * 2, rtol=1e-14)
    np.testing.assert_array_equal(_read(h, k.P_SCALE_KIND, 2, np.int64), [k.HALF_NORMAL] * 2)
    np.testing.assert_allclose(_read(h, k.P_SCALE_SCALE, 2), [0.7, 0.7])
    expected_start = np.zeros(14)
    expected_start[:2] = 0.5
    expected_start[6:8] = np.log(0.7)
    np.testing.assert_allclose(packed.initial_point, expected_start, rtol=1e-15)


def test_bernoulli_non_centered_header_has_no_noise_scale():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 1))
    y = rng.integers(0, 2, size=20).astype(float)
    spec = resolve_model_spec(family="bernoulli", coef_names=["a"], X=X, y=y,
                              group_labels=["u", "v"])
    packed = pack_model(spec, spec.standardizer.transform(X), y, rng.integers(0, 2, size=20))
    # 1 * (1 + 1) + 1 group sd + 2 groups * 1 effect
    assert list(packed.header[: k.N_DIM + 1]) == [k.BERNOULLI, 20, 1, 1, 2, 1, 0, 0, 5]
    np.testing.assert_array_equal(_read(packed.header, k.P_VARYING, 1, np.int64), [0])
    np.testing.assert_allclose(packed.initial_point[2], np.log(spec.groups.sd_priors[0].scale))


def test_unpack_draws_gaussian_by_hand():
    X, y = _data()
    spec = _gaussian_spec(X, y, None, None)
    theta = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) / 10.0
    result = unpack_draws(spec, theta, method="m", sample_stats={"s": 1}, converged=True)
    np.testing.assert_array_equal(result.intercept_z, theta[..., :1])
    assert result.coef_z.shape == (2, 3, 2, 1)
    np.testing.assert_array_equal(result.coef_z[..., 0], theta[..., 1:3])
    np.testing.assert_allclose(result.sigma, np.exp(theta[..., 3]))
    assert result.group_effect_z is None and result.group_sd_z is None
    assert result.method == "m" and result.sample_stats == {"s": 1} and result.converged
    # the intercept is a copy: rewriting theta afterwards leaves it alone
    theta[0, 0, 0] = -99.0
    assert result.intercept_z[0, 0, 0] == 0.0


@pytest.mark.parametrize("centered", [False, True])
def test_unpack_draws_hierarchical_categorical_by_hand(centered):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2))
    y = rng.integers(0, 3, size=30).astype(float)
    spec = resolve_model_spec(
        family="categorical", coef_names=["a", "b"], X=X, y=y, n_outputs=2,
        group_labels=["u", "v", "w"], varying_slopes=["b"], centered=centered,
    )
    theta = rng.normal(size=(2, 5, 14))
    result = unpack_draws(spec, theta, method="m", sample_stats=None)
    c, d = 1, 3
    row = theta[c, d]
    np.testing.assert_array_equal(result.intercept_z[c, d], row[:2])
    # coef_z[j, output] = theta[2 + 2 j + output]
    np.testing.assert_array_equal(result.coef_z[c, d], [[row[2], row[3]], [row[4], row[5]]])
    assert result.sigma is None
    sd = np.exp(row[6:8])
    np.testing.assert_allclose(result.group_sd_z[c, d], sd)
    raw = np.array([[row[8], row[9]], [row[10], row[11]], [row[12], row[13]]])
    expected = raw if centered else raw * sd
    np.testing.assert_allclose(result.group_effect_z[c, d], expected, rtol=1e-15)
    assert result.group_effect_z.shape == (2, 5, 3, 2)


def test_integer_valued_priors_and_data_reach_the_kernel_as_float64():
    """Python ints in priors, int codes as y, float32 X, an int row weight: the kernel
    reads raw float64 memory, so each must be converted, not pointed to as is."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 0))  # intercept only: no float coefficient prior mixes in
    y = rng.integers(0, 2, size=20)
    codes = rng.integers(0, 2, size=20)
    spec = resolve_model_spec(family="bernoulli", coef_names=[], X=X, y=y,
                              priors={"intercept": StudentT(nu=3, mu=1, sigma=2)},
                              group_labels=["u", "v"])
    spec = replace(spec, groups=replace(spec.groups, sd_priors=(HalfStudentT(nu=5, sigma=2),)))
    X_32 = rng.normal(size=(20, 0)).astype(np.float32)
    packed = pack_model(spec, X_32, y, codes, row_weight=2)
    h = packed.header
    assert list(h[: k.N_DIM + 1]) == [k.BERNOULLI, 20, 0, 1, 2, 1, 0, 0, 4]
    np.testing.assert_array_equal(_read(h, k.P_LOC, 1), [1.0])
    np.testing.assert_array_equal(_read(h, k.P_SCALE, 1), [2.0])
    np.testing.assert_array_equal(_read(h, k.P_NU, 1), [3.0])
    np.testing.assert_array_equal(_read(h, k.P_SCALE_SCALE, 1), [2.0])
    np.testing.assert_array_equal(_read(h, k.P_SCALE_NU, 1), [5.0])
    np.testing.assert_array_equal(_read(h, k.P_Y, 20), y.astype(float))
    np.testing.assert_array_equal(_read(h, k.P_ROW_WEIGHT, 1), [2.0])


def test_float32_design_reaches_the_kernel_as_float64():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(15, 2)).astype(np.float32)
    y = rng.integers(0, 2, size=15).astype(float)
    spec = resolve_model_spec(family="bernoulli", coef_names=["a", "b"], X=X, y=y)
    packed = pack_model(spec, X, y)
    np.testing.assert_array_equal(_read(packed.header, k.P_X, 30), X.astype(np.float64).ravel())


@pytest.mark.parametrize("centered", [False, True])
def test_unpack_draws_hierarchical_gaussian_by_hand(centered):
    """Gaussian with groups: log sigma sits between the coefficients and the group sds."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(30, 1))
    y = rng.normal(size=30)
    spec = resolve_model_spec(family="gaussian", coef_names=["a"], X=X, y=y,
                              group_labels=["u", "v"], varying_slopes=["a"], centered=centered)
    # 1 + 1 coefficients, log sigma, 2 log sds, 2 groups * 2 effects
    theta = rng.normal(size=(1, 3, 9))
    result = unpack_draws(spec, theta, method="m", sample_stats=None)
    row = theta[0, 2]
    np.testing.assert_allclose(result.sigma[0, 2], np.exp(row[2]))
    sd = np.exp(row[3:5])
    np.testing.assert_allclose(result.group_sd_z[0, 2], sd)
    raw = row[5:].reshape(2, 2)
    np.testing.assert_allclose(result.group_effect_z[0, 2], raw if centered else raw * sd)
