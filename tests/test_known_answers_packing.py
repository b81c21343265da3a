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
from bayes_sklearn.model.spec import GroupTerm, resolve_model_spec
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
    return _at(header[slot], size, dtype)


def _at(address, size, dtype=np.float64):
    """``size`` values at ``address`` (float64 or int64)."""
    ctype = ctypes.c_double if dtype == np.float64 else ctypes.c_int64
    pointer = ctypes.cast(int(address), ctypes.POINTER(ctype))
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
    assert list(h[: k.N_DIM + 1]) == [k.GAUSSIAN, 40, 2, 1, 1, 4]
    assert h[k.N_TERMS] == 0
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


def _term_case():
    """Gaussian, 30 rows, two group terms: ``(1 + b | g)`` correlated over 3 levels
    (LKJ eta 2) and ``(1 | h)`` over 2, each with sd priors of its own kinds."""
    rng = np.random.default_rng(1)
    X = 1e3 + 1e-2 * rng.normal(size=(30, 2))
    y = 1e3 + rng.normal(size=30)
    terms = (
        GroupTerm("g", ("u", "v", "w"), ("1|g", "b|g"), (HalfNormal(0.7), Exponential(0.2)),
                  lkj_eta=2.0),
        GroupTerm("h", ("p", "q"), ("1|h",), (HalfStudentT(nu=3.0, sigma=0.4),)),
    )
    spec = replace(_gaussian_spec(X, y, None, HalfNormal(0.3)), group_terms=terms)
    # the term's design is the user's column, not standardised
    designs = [(np.column_stack([np.ones(30), X[:, 1]]), rng.integers(0, 3, 30).astype(np.int32)),
               (np.ones((30, 1)), rng.integers(0, 2, 30))]
    return spec, np.ascontiguousarray(spec.standardizer.transform(X)), y, designs


def test_group_term_header_table_and_start_point():
    spec, X_z, y, designs = _term_case()
    packed = pack_model(spec, X_z, y, group_designs=designs)
    h = packed.header
    # intercept, 2 coefficients, log sigma; g: 2 log sds, 1 partial correlation,
    # 3 levels x 2 offsets; h: 1 log sd, 2 offsets. Group terms: no sufficient statistics
    assert list(h[: k.N_FULL + 1]) == [k.GAUSSIAN, 30, 2, 1, 0, 16, 16]
    assert h[k.P_X] == X_z.ctypes.data and h[k.P_Y] == y.ctypes.data
    assert h[k.N_TERMS] == 2
    table = _read(h, k.P_TERMS, 2 * k.TERM_FIELDS, np.int64).reshape(2, k.TERM_FIELDS)
    # levels, effects, correlated, index of the first log sd in the full vector
    assert list(table[0, : k.T_Z]) == [3, 2, 1, 4]
    assert list(table[1, : k.T_Z]) == [2, 1, 0, 13]
    (Z_g, codes_g), (Z_h, codes_h) = designs
    # a float64 C-contiguous design and int64 codes are read in place; int32 codes converted
    assert table[0, k.T_Z] == Z_g.ctypes.data and table[1, k.T_CODES] == codes_h.ctypes.data
    np.testing.assert_array_equal(_at(table[0, k.T_Z], 60), Z_g.ravel())
    np.testing.assert_array_equal(_at(table[0, k.T_CODES], 30, np.int64), codes_g)
    np.testing.assert_array_equal(_at(table[0, k.T_SD_KIND], 2, np.int64),
                                  [k.HALF_NORMAL, k.EXPONENTIAL])
    np.testing.assert_array_equal(_at(table[0, k.T_SD_SCALE], 2), [0.7, 0.2])
    # the LKJ(2) prior of two effects: u ~ Beta(2, 2)
    np.testing.assert_array_equal(_at(table[0, k.T_BETA], 1), [2.0])
    assert _at(table[1, k.T_SD_KIND], 1, np.int64)[0] == k.HALF_STUDENT_T
    np.testing.assert_array_equal(_at(table[1, k.T_SD_SCALE], 1), [0.4])
    np.testing.assert_array_equal(_at(table[1, k.T_SD_NU], 1), [3.0])
    # start: intercept at its prior's location, coefficients and log sigma as without
    # terms; log sds at their priors' scales, partial correlations and offsets 0
    expected = np.zeros(16)
    expected[0] = spec.intercept_prior.loc
    expected[3] = np.log(0.3)
    expected[4:6] = np.log([0.7, 0.2])
    expected[13] = np.log(0.4)
    np.testing.assert_allclose(packed.initial_point, expected, rtol=1e-15)


def test_group_term_of_a_bernoulli_model_starts_after_the_coefficients():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 1))
    y = rng.integers(0, 2, size=20).astype(float)
    spec = resolve_model_spec(family="bernoulli", coef_names=["a"], X=X, y=y)
    term = GroupTerm("g", ("u", "v"), ("1|g",), (HalfNormal(2.5),))
    spec = replace(spec, group_terms=(term,))
    packed = pack_model(spec, spec.standardizer.transform(X), y,
                        group_designs=[(np.ones((20, 1)), rng.integers(0, 2, size=20))])
    # 1 * (1 + 1) + 1 log sd + 2 levels x 1 offset; no noise scale, nor its prior
    assert list(packed.header[: k.N_FULL + 1]) == [k.BERNOULLI, 20, 1, 1, 0, 5, 5]
    table = _read(packed.header, k.P_TERMS, k.TERM_FIELDS, np.int64)
    assert list(table[: k.T_Z]) == [2, 1, 0, 2]
    np.testing.assert_allclose(packed.initial_point[2], np.log(2.5))


def test_group_term_designs_are_checked_before_the_kernel_reads_them():
    """The kernel indexes with the codes unchecked."""
    spec, X_z, y, designs = _term_case()
    (Z_g, codes_g), second = designs
    with pytest.raises(ValueError, match="2 terms; group_designs must give"):
        pack_model(spec, X_z, y, group_designs=designs[:1])
    with pytest.raises(ValueError, match=r"group term 'g' must be \(30, 2\) with 30 codes"):
        pack_model(spec, X_z, y, group_designs=[(Z_g[:, :1], codes_g), second])
    bad = codes_g.copy()
    bad[4] = 3
    with pytest.raises(ValueError, match=r"codes of group term 'g' must be in 0\.\.2, got 0\.\.3"):
        pack_model(spec, X_z, y, group_designs=[(Z_g, bad), second])


def test_unpack_draws_gaussian_by_hand():
    X, y = _data()
    spec = _gaussian_spec(X, y, None, None)
    theta = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) / 10.0
    result = unpack_draws(spec, theta, method="m", sample_stats={"s": 1}, converged=True)
    np.testing.assert_array_equal(result.intercept_z, theta[..., :1])
    assert result.coef_z.shape == (2, 3, 2, 1)
    np.testing.assert_array_equal(result.coef_z[..., 0], theta[..., 1:3])
    np.testing.assert_allclose(result.sigma, np.exp(theta[..., 3]))
    assert result.group_terms == ()
    assert result.method == "m" and result.sample_stats == {"s": 1} and result.converged
    # the intercept is a copy: rewriting theta afterwards leaves it alone
    theta[0, 0, 0] = -99.0
    assert result.intercept_z[0, 0, 0] == 0.0


def test_unpack_draws_group_terms_by_hand():
    """Each term's block: sds ``exp``, the partial correlation ``tanh(x / 2)``, effects
    ``z @ Lc.T * sd``. The intercept shift moves the intercept only: a term's effects
    are at x = 0 of its own design, which the kernel never shifts."""
    spec, *_ = _term_case()
    rng = np.random.default_rng(5)
    theta = rng.normal(size=(2, 5, 16))
    shift = np.array([0.5, -1.5])
    result = unpack_draws(spec, theta, method="m", intercept_shift=shift, sample_stats=None)
    c, d = 1, 3
    row = theta[c, d]
    np.testing.assert_allclose(result.intercept_z[c, d], row[0] - row[1:3] @ shift, rtol=1e-15)
    np.testing.assert_allclose(result.sigma[c, d], np.exp(row[3]))
    g, h = result.group_terms
    sd = np.exp(row[4:6])
    rho = np.tanh(row[6] / 2)
    chol = np.array([[1.0, 0.0], [rho, np.sqrt(1 - rho**2)]])
    np.testing.assert_allclose(g.sd[c, d], sd, rtol=1e-15)
    np.testing.assert_allclose(g.effects[c, d], row[7:13].reshape(3, 2) @ chol.T * sd,
                               rtol=1e-14)
    np.testing.assert_allclose(g.corr[c, d], [[1.0, rho], [rho, 1.0]], rtol=1e-14)
    assert g.effects.shape == (2, 5, 3, 2) and g.corr.shape == (2, 5, 2, 2)
    np.testing.assert_allclose(h.sd[c, d], np.exp(row[13:14]))
    np.testing.assert_allclose(h.effects[c, d], row[14:16, None] * np.exp(row[13]), rtol=1e-15)
    assert h.corr is None


def test_integer_valued_priors_and_data_reach_the_kernel_as_float64():
    """Python ints in priors, int codes as y, float32 X, an int row weight: the kernel
    reads raw float64 memory, so each must be converted, not pointed to as is."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 0))  # intercept only: no float coefficient prior mixes in
    y = rng.integers(0, 2, size=20)
    codes = rng.integers(0, 2, size=20).astype(np.int32)
    spec = resolve_model_spec(family="bernoulli", coef_names=[], X=X, y=y,
                              priors={"intercept": StudentT(nu=3, mu=1, sigma=2)})
    term = GroupTerm("g", ("u", "v"), ("1|g",), (HalfStudentT(nu=5, sigma=2),))
    spec = replace(spec, group_terms=(term,))
    X_32 = rng.normal(size=(20, 0)).astype(np.float32)
    Z = np.ones((20, 1), dtype=np.int64)
    packed = pack_model(spec, X_32, y, row_weight=2, group_designs=[(Z, codes)])
    h = packed.header
    assert list(h[: k.N_DIM + 1]) == [k.BERNOULLI, 20, 0, 1, 0, 4]
    np.testing.assert_array_equal(_read(h, k.P_LOC, 1), [1.0])
    np.testing.assert_array_equal(_read(h, k.P_SCALE, 1), [2.0])
    np.testing.assert_array_equal(_read(h, k.P_NU, 1), [3.0])
    table = _read(h, k.P_TERMS, k.TERM_FIELDS, np.int64)
    np.testing.assert_array_equal(_at(table[k.T_SD_SCALE], 1), [2.0])
    np.testing.assert_array_equal(_at(table[k.T_SD_NU], 1), [5.0])
    np.testing.assert_array_equal(_at(table[k.T_Z], 20), np.ones(20))
    np.testing.assert_array_equal(_at(table[k.T_CODES], 20, np.int64), codes)
    np.testing.assert_array_equal(_read(h, k.P_Y, 20), y.astype(float))
    np.testing.assert_array_equal(_read(h, k.P_ROW_WEIGHT, 1), [2.0])


def test_float32_design_reaches_the_kernel_as_float64():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(15, 2)).astype(np.float32)
    y = rng.integers(0, 2, size=15).astype(float)
    spec = resolve_model_spec(family="bernoulli", coef_names=["a", "b"], X=X, y=y)
    packed = pack_model(spec, X, y)
    np.testing.assert_array_equal(_read(packed.header, k.P_X, 30), X.astype(np.float64).ravel())
