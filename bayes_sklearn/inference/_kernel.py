"""Log density and gradient of every model bayes_sklearn fits, as one numba C function.

NUTS spends its time in ``logp`` and its gradient. Building that function from a
PyMC graph costs seconds of compilation for every new model shape; here it is
written once, by hand, for the whole model class (gaussian, bernoulli and
categorical GLMs with normal, Student-t or Laplace coefficient priors, and
lme4-style group terms for one output). All sizes, priors and data arrive at
run time through a small header of integers and pointers, so the machine code
never changes and numba compiles it once per installation (``cache=True``),
not once per fit.

Unconstrained parameter vector ``theta`` (``model/pymc_model.py``'s reference
model is the same model on the original scale, through a linear map); fixed
values (a constant intercept, coefficient or noise sd) keep their place in it
but are not sampled (see ``P_FREE``):

    intercept_z (m) | coef_z (p, m) row-major | log sigma (gaussian only)
    | per lme4-style group term: log sd (E) | logit u (E(E-1)/2, correlated
      terms only) | offsets z (L, E) row-major

A group term's effects are ``b = z @ Lc.T * sd`` with ``Lc`` the Cholesky
factor of its correlation matrix from the partial correlations ``2u - 1``
(``u ~ Beta``, see ``model/lkj.py``; ``Lc = I`` when independent), and row ``i`` adds
``b[codes_i] . Z_i`` to its linear predictor (``model/pymc_model.py``'s
``_group_term_effects``). Densities drop additive constants.

For the gaussian family without group terms the data enter only through
sufficient statistics, so one gradient costs O(p^2) whatever the number of rows.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

GAUSSIAN, BERNOULLI, CATEGORICAL = 0, 1, 2
# FLAT is the improper uniform; CONSTANT marks a fixed value (no density).
NORMAL, STUDENT_T, LAPLACE, FLAT, LOCATION_CONSTANT = 0, 1, 2, 3, 4
EXPONENTIAL, HALF_NORMAL, HALF_STUDENT_T, SCALE_CONSTANT = 0, 1, 2, 3

# Header slots (int64). Pointers are addresses of C-contiguous numpy arrays.
# N_DIM is the number of free parameters, the sampler's dimension; N_FULL
# counts the fixed ones too (see P_FREE).
FAMILY, N_ROWS, N_COEF, N_OUT, SUFFSTATS, N_DIM, N_FULL = range(7)
(
    P_X,
    P_Y,
    P_LOC_KIND,
    P_LOC,
    P_SCALE,
    P_NU,
    P_SCALE_KIND,
    P_SCALE_SCALE,
    P_SCALE_NU,
    P_XTX,
    P_BETA_HAT,
    P_XT_RESID,
    P_X_SUM,
    P_SCALARS,
    P_ROW_WEIGHT,
    P_FREE,
    P_FULL,
    P_INTERCEPT_SHIFT,
    N_TERMS,
    P_TERMS,
    P_AFFINE,
) = range(7, 28)
HEADER_SIZE = 28
# P_TERMS holds N_TERMS rows of TERM_FIELDS int64, one per group term:
(
    T_LEVELS,  # L
    T_EFFECTS,  # E
    T_CORRELATED,  # 1: E(E-1)/2 partial correlations follow the log sds
    T_THETA,  # index of the term's first parameter (log sd 0) in the full vector
    T_Z,  # address of the design, (N_ROWS, E) float64 row-major, user's scale
    T_CODES,  # address of the level codes, N_ROWS int64 in 0..L-1
    T_SD_KIND,  # address of E int64 scale-prior kinds of the sds
    T_SD_SCALE,  # address of E float64 scales of those priors
    T_SD_NU,  # address of E float64 degrees of freedom (half-t)
    T_BETA,  # address of E(E-1)/2 float64 Beta shapes b of u ~ Beta(b, b)
    T_ONES,  # 1: Z is one column of ones (E = 1), which the kernel then does not read
) = range(11)
TERM_FIELDS = 11
# P_SCALARS holds [y mean, residual sum of squares at beta_hat, sum of residuals,
# sum of weights], all weighted by the frequency weights.
# P_ROW_WEIGHT holds one float per row: the likelihood of row i counts w_i
# times (frequency weights, times n / batch size for a minibatch standing in
# for all n rows).
# P_FREE holds the N_DIM positions of the free parameters in the full vector,
# P_FULL the N_FULL values of the full vector with the fixed values in place
# (a fixed intercept, coefficient or log sigma); the sampler sees only the free ones.
# P_INTERCEPT_SHIFT holds p floats s: the kernel's design is centred, and an
# intercept prior stated at x = 0 applies to theta_0 - s . coef (s = 0 when the
# prior is at the feature means), keeping the sampled intercept decorrelated.
# P_AFFINE is 0, or holds N_DIM + N_DIM**2 floats [m, A (row-major)]: the
# sampler then moves z and the free parameters are m + A z. A A^T is an
# approximation of the posterior covariance (see
# inference/preconditioning.py), so NUTS sees a near-isotropic posterior; the
# map is linear, its Jacobian constant, and the posterior of the parameters
# unchanged.

LOGP_SIGNATURE = types.int64(
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)
EXPAND_SIGNATURE = types.int64(
    types.uint64,
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)


@intrinsic
def _as_pointer(typingctx, address):
    """Reinterpret an integer address as ``void*``."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


@numba.njit(cache=True, inline="always")
def _floats(header, slot, size):
    return numba.carray(_as_pointer(header[slot]), (size,), np.float64)


@numba.njit(cache=True, inline="always")
def _ints(header, slot, size):
    return numba.carray(_as_pointer(header[slot]), (size,), np.int64)


@numba.njit(cache=True)
def _location_prior(kind, loc, scale, nu, x):
    """Log density (up to a constant) and its derivative."""
    z = (x - loc) / scale
    if kind == NORMAL:
        return -0.5 * z * z, -z / scale
    if kind == STUDENT_T:
        return -0.5 * (nu + 1.0) * np.log1p(z * z / nu), -(nu + 1.0) * z / ((nu + z * z) * scale)
    if kind == LAPLACE:
        return -abs(z), -np.sign(z) / scale
    return 0.0, 0.0


@numba.njit(cache=True)
def _log_scale_prior(kind, scale, nu, u):
    """Log density of ``s = exp(u)`` including the log Jacobian, and d/du."""
    s = np.exp(u)
    if kind == EXPONENTIAL:
        logp, dlogp_ds = -s / scale, -1.0 / scale
    elif kind == HALF_NORMAL:
        t = s / scale
        logp, dlogp_ds = -0.5 * t * t, -t / scale
    elif kind == HALF_STUDENT_T:
        t = s / scale
        logp = -0.5 * (nu + 1.0) * np.log1p(t * t / nu)
        dlogp_ds = -(nu + 1.0) * s / (nu * scale * scale + s * s)
    else:
        return 0.0, 0.0
    return logp + u, dlogp_ds * s + 1.0


@numba.njit(cache=True)
def _gaussian_suffstats_loglik(header, theta, grad, p, sigma_index):
    """Gaussian log likelihood from X'WX and weighted least-squares residual statistics."""
    xtx = numba.carray(_as_pointer(header[P_XTX]), (p, p), np.float64)
    beta_hat = _floats(header, P_BETA_HAT, p)
    xt_resid = _floats(header, P_XT_RESID, p)
    x_sum = _floats(header, P_X_SUM, p)
    scalars = _floats(header, P_SCALARS, 4)
    y_mean, resid_ss, resid_sum, n = scalars[0], scalars[1], scalars[2], scalars[3]
    u = theta[sigma_index]
    inv_var = np.exp(-2.0 * u)
    c = theta[0] - y_mean
    d = np.empty(p)
    for j in range(p):
        d[j] = theta[1 + j] - beta_hat[j]
    # e_i = c + x_i.d - r_i, with r the least-squares residuals of the centred y.
    ssr_centered = resid_ss
    sx_d = 0.0
    for j in range(p):
        q = 0.0
        for k in range(p):
            q += xtx[j, k] * d[k]
        ssr_centered += d[j] * q - 2.0 * d[j] * xt_resid[j]
        sx_d += x_sum[j] * d[j]
        # dSSR/dbeta_j = 2 (q_j - X'r_j + c * x_sum_j)
        grad[1 + j] += -(q - xt_resid[j] + c * x_sum[j]) * inv_var
    cross = sx_d - resid_sum
    ssr = n * c * c + 2.0 * c * cross + ssr_centered
    grad[0] += -(n * c + cross) * inv_var
    grad[sigma_index] += -n + ssr * inv_var
    return -n * u - 0.5 * ssr * inv_var


@numba.njit(cache=True, inline="always")
def _gaussian_block(y, w, eta, inv_var, size):
    """The weighted residual sum of squares of a block of rows; overwrites
    ``eta[:size]`` with d logp / d eta."""
    ssr = 0.0
    for r in range(size):
        err = y[r] - eta[r]
        ssr += w[r] * err * err
        eta[r] = err * inv_var * w[r]
    return ssr


# exp(x) for x <= 0 without a call into libm, so that a loop of it
# vectorises (llvmlite has no vector math library here): x = k ln 2 + f with
# |f| <= ln(2) / 2 (Cody-Waite: ln 2 in two parts), exp(f) by its Taylor
# polynomial to degree 13 (relative truncation error < 1e-17), 2^k from its
# bits. Below -708, 2^k would leave the normal range: x is clamped there, an
# absolute error under 1e-307. Measured 1.1 ns a value, against 6.4 for
# np.exp in a loop. Callers compile with error_model="numpy": numba's
# ZeroDivisionError check on a float division stops the loop vectoriser.
_INV_LN2 = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # its low 32 bits are zero: k * _LN2_HI is exact
_LN2_LO = 1.9082149292705877e-10
_EXP_MIN = -708.0
BLOCK_ROWS = 256


@numba.njit(cache=True, inline="always")
def _exp_nonpositive_block(x, t, bits, size):
    """``t[:size] = exp(x[:size])`` for ``x <= 0``, in two vectorised loops;
    ``bits`` is int64 scratch space of ``size``."""
    for r in range(size):
        value = max(x[r], _EXP_MIN)
        k = np.floor(value * _INV_LN2 + 0.5)
        f = (value - k * _LN2_HI) - k * _LN2_LO
        poly = 1.0 / 6227020800.0
        poly = poly * f + 1.0 / 479001600.0
        poly = poly * f + 1.0 / 39916800.0
        poly = poly * f + 1.0 / 3628800.0
        poly = poly * f + 1.0 / 362880.0
        poly = poly * f + 1.0 / 40320.0
        poly = poly * f + 1.0 / 5040.0
        poly = poly * f + 1.0 / 720.0
        poly = poly * f + 1.0 / 120.0
        poly = poly * f + 1.0 / 24.0
        poly = poly * f + 1.0 / 6.0
        poly = poly * f + 0.5
        poly = poly * f + 1.0
        t[r] = poly * f + 1.0
        bits[r] = (np.int64(k) + 1023) << 52  # 2^k
    scale = bits.view(np.float64)
    for r in range(size):
        t[r] *= scale[r]


@numba.njit(cache=True, inline="always")
def _log1p_unit(t):
    """log(1 + t) for 0 <= t <= 1: 2 atanh(s), s = t / (2 + t) <= 1/3, by its
    series to s^31 (relative truncation error < 1e-17)."""
    s = t / (2.0 + t)
    s2 = s * s
    poly = 1.0 / 31.0
    poly = poly * s2 + 1.0 / 29.0
    poly = poly * s2 + 1.0 / 27.0
    poly = poly * s2 + 1.0 / 25.0
    poly = poly * s2 + 1.0 / 23.0
    poly = poly * s2 + 1.0 / 21.0
    poly = poly * s2 + 1.0 / 19.0
    poly = poly * s2 + 1.0 / 17.0
    poly = poly * s2 + 1.0 / 15.0
    poly = poly * s2 + 1.0 / 13.0
    poly = poly * s2 + 1.0 / 11.0
    poly = poly * s2 + 1.0 / 9.0
    poly = poly * s2 + 1.0 / 7.0
    poly = poly * s2 + 1.0 / 5.0
    poly = poly * s2 + 1.0 / 3.0
    poly = poly * s2 + 1.0
    return 2.0 * s * poly


@numba.njit(cache=True, inline="always")
def _bernoulli_block(y, w, eta, t, bits, size):
    """The bernoulli log likelihood of a block of rows, each counted ``w[r]``
    times; overwrites ``eta[:size]`` with d logp / d eta.

    Softplus and sigmoid share t = exp(-|eta|). Three loops with no call
    into libm, each vectorised, where one loop calling exp and log per row
    took 1.6-1.8x the time on 569 x 30 and 6366 x 16 designs.
    """
    for r in range(size):
        t[r] = -abs(eta[r])
    _exp_nonpositive_block(t, t, bits, size)
    loglik = 0.0
    for r in range(size):
        value, tr = eta[r], t[r]
        loglik += w[r] * (y[r] * value - max(value, 0.0) - _log1p_unit(tr))
        sigmoid = (1.0 if value >= 0.0 else tr) / (1.0 + tr)
        eta[r] = (y[r] - sigmoid) * w[r]
    return loglik


@numba.njit(cache=True, inline="always")
def _fit_block(family, y, w, eta, inv_var, exp_neg, bits, size):
    """A block's bernoulli log likelihood (0 for gaussian) and gaussian
    residual sum of squares (0 for bernoulli); overwrites ``eta[:size]`` with
    d logp / d eta. ``exp_neg`` and ``bits`` are scratch space of ``size``."""
    if family == GAUSSIAN:
        return 0.0, _gaussian_block(y, w, eta, inv_var, size)
    return _bernoulli_block(y, w, eta, exp_neg, bits, size), 0.0


@numba.njit(cache=True, fastmath={"contract", "reassoc"}, error_model="numpy")
def _single_output_rows(family, X, y, theta, grad, inv_var, weight):
    """One pass over the rows, block by block, for a single linear predictor.

    Returns the bernoulli log likelihood (0 for gaussian) and the gaussian
    residual sum of squares (0 for bernoulli), row ``i`` counted ``weight[i]``
    times; adds d logp / d eta times the row into ``grad``.
    """
    n, p = X.shape
    intercept = theta[0]
    coef = theta[1 : 1 + p]
    grad_coef = np.zeros(p)
    grad_intercept = 0.0
    loglik = 0.0
    ssr = 0.0
    eta = np.empty(BLOCK_ROWS)  # then d logp / d eta
    exp_neg = np.empty(BLOCK_ROWS)  # exp(-|eta|)
    bits = np.empty(BLOCK_ROWS, np.int64)
    for first in range(0, n, BLOCK_ROWS):
        size = min(BLOCK_ROWS, n - first)
        for r in range(size):
            value = intercept
            for j in range(p):
                value += X[first + r, j] * coef[j]
            eta[r] = value
        block_loglik, block_ssr = _fit_block(family, y[first:], weight[first:], eta, inv_var,
                                             exp_neg, bits, size)
        loglik += block_loglik
        ssr += block_ssr
        for r in range(size):
            resid = eta[r]
            grad_intercept += resid
            for j in range(p):
                grad_coef[j] += resid * X[first + r, j]
    grad[0] += grad_intercept
    for j in range(p):
        grad[1 + j] += grad_coef[j]
    return loglik, ssr


@numba.njit(cache=True, inline="always")
def _term_block(term, start, n, first):
    """A term's codes and design from row ``first`` on, its place in ``b`` and E.

    Unsigned: the codes are checked when packed, and no negative-index
    wraparound is paid per row.
    """
    E = term[T_EFFECTS]
    level = numba.carray(_as_pointer(term[T_CODES]), (n,), np.uint64)[first:]
    Z = numba.carray(_as_pointer(term[T_Z]), (n, E), np.float64)[first:]
    return level, Z, np.uint64(start), np.uint64(E)


# Rows in blocks: the block's eta, each term's part of it, the residuals, each
# term's scatter of them, one tight loop after the other on data still in L1.
# Measured at 100,000 rows on (1 + x | a) + (1 | b): 0.72-0.88 of the time of
# one pass over all rows per term and step, while adding the terms row by row
# in one loop took 1.1-1.3 of it (register spills, and a loop over each term's
# effects per row). BLOCK_ROWS is defined above.


@numba.njit(cache=True, fastmath={"contract", "reassoc"}, error_model="numpy")
def _term_rows(family, X, y, theta, grad, inv_var, weight, terms, term_start, b, grad_b):
    """:func:`_single_output_rows` of a model with group terms.

    Group term ``t`` (row ``t`` of the term table) adds ``b[at + codes_i * E :
    at + (codes_i + 1) * E] . Z_i`` to row i's eta, ``at = term_start[t]``,
    and d logp / d eta_i times ``Z_i`` to ``grad_b`` at the same places.
    """
    n, p = X.shape
    n_terms = terms.shape[0]
    intercept = theta[0]
    coef = theta[1 : 1 + p]
    grad_coef = np.zeros(p)
    grad_intercept = 0.0
    loglik = 0.0
    ssr = 0.0
    eta = np.empty(BLOCK_ROWS)  # then d logp / d eta
    exp_neg = np.empty(BLOCK_ROWS)  # exp(-|eta|)
    bits = np.empty(BLOCK_ROWS, np.int64)
    for first in range(0, n, BLOCK_ROWS):
        size = min(BLOCK_ROWS, n - first)
        for r in range(size):
            value = intercept
            for j in range(p):
                value += X[first + r, j] * coef[j]
            eta[r] = value
        for t in range(n_terms):
            level, Z, at, E = _term_block(terms[t], term_start[t], n, first)
            for e in range(E):
                for r in range(size):
                    eta[r] += b[at + level[r] * E + e] * Z[r, e]
        block_loglik, block_ssr = _fit_block(family, y[first:], weight[first:], eta, inv_var,
                                             exp_neg, bits, size)
        loglik += block_loglik
        ssr += block_ssr
        for r in range(size):
            resid = eta[r]
            grad_intercept += resid
            for j in range(p):
                grad_coef[j] += resid * X[first + r, j]
        for t in range(n_terms):
            level, Z, at, E = _term_block(terms[t], term_start[t], n, first)
            for e in range(E):
                for r in range(size):
                    grad_b[at + level[r] * E + e] += eta[r] * Z[r, e]
    grad[0] += grad_intercept
    for j in range(p):
        grad[1 + j] += grad_coef[j]
    return loglik, ssr


@numba.njit(cache=True, fastmath={"contract", "reassoc"}, error_model="numpy")
def _intercept_term_rows(family, X, y, theta, grad, inv_var, weight, terms, term_start, b,
                         grad_b):
    """:func:`_term_rows` when every term's design is one column of ones,
    ``(1 | a) + (1 | b)``: without reading the designs, each term inside the
    row loops."""
    n, p = X.shape
    n_terms = terms.shape[0]
    # read once: in the row loop, a store to grad_b might alias the table
    codes = np.empty(n_terms, np.int64)
    at = np.empty(n_terms, np.uint64)
    for t in range(n_terms):
        codes[t] = terms[t, T_CODES]
        at[t] = term_start[t]
    intercept = theta[0]
    coef = theta[1 : 1 + p]
    grad_coef = np.zeros(p)
    grad_intercept = 0.0
    loglik = 0.0
    ssr = 0.0
    eta = np.empty(BLOCK_ROWS)  # then d logp / d eta
    exp_neg = np.empty(BLOCK_ROWS)  # exp(-|eta|)
    bits = np.empty(BLOCK_ROWS, np.int64)
    for first in range(0, n, BLOCK_ROWS):
        size = min(BLOCK_ROWS, n - first)
        for r in range(size):
            value = intercept
            for j in range(p):
                value += X[first + r, j] * coef[j]
            row = np.uint64(first + r)
            for t in range(n_terms):
                value += b[at[t] + numba.carray(_as_pointer(codes[t]), (n,), np.uint64)[row]]
            eta[r] = value
        block_loglik, block_ssr = _fit_block(family, y[first:], weight[first:], eta, inv_var,
                                             exp_neg, bits, size)
        loglik += block_loglik
        ssr += block_ssr
        for r in range(size):
            resid = eta[r]
            grad_intercept += resid
            for j in range(p):
                grad_coef[j] += resid * X[first + r, j]
            row = np.uint64(first + r)
            for t in range(n_terms):
                grad_b[at[t] + numba.carray(_as_pointer(codes[t]), (n,), np.uint64)[row]] += resid
    grad[0] += grad_intercept
    for j in range(p):
        grad[1 + j] += grad_coef[j]
    return loglik, ssr


@numba.njit(cache=True, fastmath={"contract", "reassoc"}, error_model="numpy")
def _categorical_rows(X, y, theta, grad, m, weight):
    """Softmax over ``m`` logits plus the reference class 0 (logit 0).

    Block by block, as :func:`_single_output_rows`: the logits, then every
    ``exp`` of the block in one vectorised loop (one ``log`` a row remains),
    then the gradient; the whole log density took 3-4x less time than with
    a row at a time calling ``np.exp`` for each class, on wine's 178 x 13
    (3 classes), and 4-5x less on 5000 x 10 (4 classes).
    """
    n, p = X.shape
    width = m + 1  # the shifted logits of a row, reference class first
    # by class, so that each logit and each gradient row is a contiguous loop over j
    coef_by_class = np.empty((m, p))
    for j in range(p):
        for k in range(m):
            coef_by_class[k, j] = theta[m + j * m + k]
    grad_intercept = np.zeros(m)
    grad_by_class = np.zeros((m, p))
    eta = np.empty((BLOCK_ROWS, m))  # then d logp / d eta
    top = np.empty(BLOCK_ROWS)
    shifted = np.empty(BLOCK_ROWS * width)  # then their exp
    bits = np.empty(BLOCK_ROWS * width, np.int64)
    loglik = 0.0
    for first in range(0, n, BLOCK_ROWS):
        size = min(BLOCK_ROWS, n - first)
        for r in range(size):
            highest = 0.0
            for k in range(m):
                value = theta[k]
                for j in range(p):
                    value += X[first + r, j] * coef_by_class[k, j]
                eta[r, k] = value
                highest = max(highest, value)
            top[r] = highest
            shifted[r * width] = -highest
            for k in range(m):
                shifted[r * width + 1 + k] = eta[r, k] - highest
        _exp_nonpositive_block(shifted, shifted, bits, size * width)
        for r in range(size):
            total = 0.0
            for k in range(width):
                total += shifted[r * width + k]
            label = int(y[first + r])
            w = weight[first + r]
            loglik -= w * (top[r] + np.log(total))
            if label > 0:
                loglik += w * eta[r, label - 1]
            inverse = 1.0 / total
            for k in range(m):
                eta[r, k] = w * ((1.0 if label == k + 1 else 0.0)
                                 - shifted[r * width + 1 + k] * inverse)
        for r in range(size):
            for k in range(m):
                resid = eta[r, k]
                grad_intercept[k] += resid
                for j in range(p):
                    grad_by_class[k, j] += resid * X[first + r, j]
    for k in range(m):
        grad[k] += grad_intercept[k]
    for j in range(p):
        for k in range(m):
            grad[m + j * m + k] += grad_by_class[k, j]
    return loglik, 0.0


@numba.njit(cache=True)
def _row_loglik(header, theta, grad, p, m, sigma_index):
    """Log likelihood by a pass over the rows (any family, with group terms)."""
    family = header[FAMILY]
    n = header[N_ROWS]
    X = numba.carray(_as_pointer(header[P_X]), (n, p), np.float64)
    y = _floats(header, P_Y, n)
    inv_var = 0.0
    if family == GAUSSIAN:
        inv_var = np.exp(-2.0 * theta[sigma_index])
    weight = _floats(header, P_ROW_WEIGHT, n)
    n_terms = header[N_TERMS]
    terms = numba.carray(_as_pointer(header[P_TERMS]), (n_terms, TERM_FIELDS), np.int64)
    # the terms' effects b and d loglik / d b, term after term
    term_start = np.zeros(n_terms + 1, np.int64)
    ones = True
    for t in range(n_terms):
        term_start[t + 1] = term_start[t] + terms[t, T_LEVELS] * terms[t, T_EFFECTS]
        ones = ones and terms[t, T_ONES] == 1
    b = np.empty(term_start[n_terms])
    grad_b = np.zeros(term_start[n_terms])
    for t in range(n_terms):
        _term_effects(terms[t], theta, b[term_start[t] : term_start[t + 1]])
    if m > 1:
        loglik, ssr = _categorical_rows(X, y, theta, grad, m, weight)
    elif n_terms == 0:
        loglik, ssr = _single_output_rows(family, X, y, theta, grad, inv_var, weight)
    elif ones:
        # measured 1.25-1.6x faster than _term_rows on x + (1 | a) + (1 | b) (gaussian)
        loglik, ssr = _intercept_term_rows(family, X, y, theta, grad, inv_var, weight, terms,
                                           term_start, b, grad_b)
    else:
        loglik, ssr = _term_rows(family, X, y, theta, grad, inv_var, weight, terms, term_start,
                                 b, grad_b)
    if family == GAUSSIAN:
        total_weight = 0.0
        for i in range(n):
            total_weight += weight[i]
        loglik = -total_weight * theta[sigma_index] - 0.5 * ssr * inv_var
        grad[sigma_index] += -total_weight + ssr * inv_var
    for t in range(n_terms):
        start, stop = term_start[t], term_start[t + 1]
        loglik += _term_prior_and_gradient(terms[t], theta, grad, b[start:stop],
                                           grad_b[start:stop])
    return loglik


@numba.njit(cache=True)
def _term_correlation_factor(term, theta):
    """Cholesky factor ``Lc`` (E, E) of a term's correlation matrix (identity if independent).

    Row i: ``Lc[i, j] = c_j s_j`` with ``c = tanh(x / 2) = 2u - 1`` the partial
    correlations from their logits ``x``, ``s_0 = 1`` and ``s_{j+1} = s_j
    sech(x_j / 2) = s_j sqrt(1 - c_j^2)``; ``Lc[i, i] = s_i``. Also returns
    ``c`` and ``w = sech(x / 2)`` per partial correlation, for the gradient.
    """
    E = term[T_EFFECTS]
    n_cpc = E * (E - 1) // 2 if term[T_CORRELATED] else 0
    chol = np.zeros((E, E))
    c = np.empty(n_cpc)
    w = np.empty(n_cpc)
    first = term[T_THETA] + E
    for k in range(n_cpc):
        t = np.exp(-abs(theta[first + k]))
        c[k] = np.sign(theta[first + k]) * (1.0 - t) / (1.0 + t)
        w[k] = 2.0 * np.sqrt(t) / (1.0 + t)
    chol[0, 0] = 1.0
    entry = 0
    for i in range(1, E):
        if n_cpc == 0:
            chol[i, i] = 1.0
            continue
        s = 1.0
        for j in range(i):
            chol[i, j] = c[entry] * s
            s *= w[entry]
            entry += 1
        chol[i, i] = s
    return chol, c, w


@numba.njit(cache=True)
def _term_effects(term, theta, out):
    """The term's effects ``b = z @ Lc.T * sd`` (L, E) into ``out`` (L * E, row-major)."""
    L, E, start = term[T_LEVELS], term[T_EFFECTS], term[T_THETA]
    n_cpc = E * (E - 1) // 2 if term[T_CORRELATED] else 0
    z_start = start + E + n_cpc
    chol, _, _ = _term_correlation_factor(term, theta)
    sd = np.empty(E)
    for e in range(E):
        sd[e] = np.exp(theta[start + e])
    for level in range(L):
        for e in range(E):
            total = 0.0
            for j in range(e + 1):
                total += chol[e, j] * theta[z_start + level * E + j]
            out[level * E + e] = total * sd[e]


@numba.njit(cache=True)
def _term_prior_and_gradient(term, theta, grad, effects, G):
    """One group term's prior (Jacobians included) and its whole gradient.

    ``effects`` are the term's ``b`` and ``G`` d loglik / d b (both L * E,
    row-major); the likelihood's gradient flows back from ``b`` to the
    offsets, the log sds and the partial correlations' logits.
    """
    L, E, start = term[T_LEVELS], term[T_EFFECTS], term[T_THETA]
    n_cpc = E * (E - 1) // 2 if term[T_CORRELATED] else 0
    z_start = start + E + n_cpc
    chol, c, w = _term_correlation_factor(term, theta)
    sd = np.empty(E)
    for e in range(E):
        sd[e] = np.exp(theta[start + e])
    # H = G * sd is d loglik / d (z @ Lc.T)
    kind = numba.carray(_as_pointer(term[T_SD_KIND]), (E,), np.int64)
    scale = numba.carray(_as_pointer(term[T_SD_SCALE]), (E,), np.float64)
    nu = numba.carray(_as_pointer(term[T_SD_NU]), (E,), np.float64)
    logp = 0.0
    grad_chol = np.zeros((E, E))
    for e in range(E):
        value, slope = _log_scale_prior(kind[e], scale[e], nu[e], theta[start + e])
        logp += value
        total = 0.0
        for level in range(L):
            total += G[level * E + e] * effects[level * E + e]
        grad[start + e] += slope + total
    for level in range(L):
        for j in range(E):
            z = theta[z_start + level * E + j]
            logp += -0.5 * z * z
            total = -z
            for e in range(j, E):
                h = G[level * E + e] * sd[e]
                total += h * chol[e, j]
                grad_chol[e, j] += h * z
            grad[z_start + level * E + j] += total
    if n_cpc > 0:
        beta = numba.carray(_as_pointer(term[T_BETA]), (n_cpc,), np.float64)
        for k in range(n_cpc):
            # Beta(b, b) on u with the logit's Jacobian: b (log u + log(1 - u))
            x = theta[start + E + k]
            t = np.exp(-abs(x))
            logp += beta[k] * (-abs(x) - 2.0 * np.log1p(t))
            grad[start + E + k] += -beta[k] * c[k]
        # back through the rows of Lc (see _term_correlation_factor), last column first
        entry_end = 0
        for i in range(1, E):
            entry_end += i
            grad_s = grad_chol[i, i]  # d / d s_i
            s_values = np.empty(i + 1)
            s_values[0] = 1.0
            for j in range(i):
                s_values[j + 1] = s_values[j] * w[entry_end - i + j]
            for j in range(i - 1, -1, -1):
                k = entry_end - i + j
                g_l = grad_chol[i, j]
                # L_ij = c s_j, s_{j+1} = w s_j; dc/dx = w^2 / 2, dw/dx = -w c / 2
                grad[start + E + k] += 0.5 * w[k] * s_values[j] * (g_l * w[k] - grad_s * c[k])
                grad_s = grad_s * w[k] + g_l * c[k]
    return logp


@numba.njit(cache=True)
def _log_density(header, theta, grad):
    """Log density and gradient in the free parameters (all of them, without fixed values)."""
    n_free = header[N_DIM]
    n_full = header[N_FULL]
    if n_full == n_free:
        return _full_log_density(header, theta, grad)
    free = _ints(header, P_FREE, n_free)
    full = _floats(header, P_FULL, n_full).copy()
    for i in range(n_free):
        full[free[i]] = theta[i]
    full_grad = np.empty(n_full)
    value = _full_log_density(header, full, full_grad)
    for i in range(n_free):
        grad[i] = full_grad[free[i]]
    return value


@numba.njit(cache=True)
def _full_log_density(header, theta, grad):
    family = header[FAMILY]
    p = header[N_COEF]
    m = header[N_OUT]
    n_loc = m * (p + 1)
    sigma_index = n_loc
    n_scale = 1 if family == GAUSSIAN else 0
    for i in range(grad.shape[0]):
        grad[i] = 0.0

    loc_kind = _ints(header, P_LOC_KIND, n_loc)
    loc = _floats(header, P_LOC, n_loc)
    scale = _floats(header, P_SCALE, n_loc)
    nu = _floats(header, P_NU, n_loc)
    shift = _floats(header, P_INTERCEPT_SHIFT, p)
    logp = 0.0
    for i in range(m):
        # the intercept where its prior applies: theta_i - shift . coef_i
        at = theta[i]
        for j in range(p):
            at -= shift[j] * theta[m + j * m + i]
        value, slope = _location_prior(loc_kind[i], loc[i], scale[i], nu[i], at)
        logp += value
        grad[i] += slope
        for j in range(p):
            grad[m + j * m + i] -= slope * shift[j]
    for i in range(m, n_loc):
        value, slope = _location_prior(loc_kind[i], loc[i], scale[i], nu[i], theta[i])
        logp += value
        grad[i] += slope

    scale_kind = _ints(header, P_SCALE_KIND, n_scale)
    scale_scale = _floats(header, P_SCALE_SCALE, n_scale)
    scale_nu = _floats(header, P_SCALE_NU, n_scale)
    for i in range(n_scale):
        value, slope = _log_scale_prior(
            scale_kind[i], scale_scale[i], scale_nu[i], theta[n_loc + i]
        )
        logp += value
        grad[n_loc + i] += slope

    if header[SUFFSTATS]:
        logp += _gaussian_suffstats_loglik(header, theta, grad, p, sigma_index)
    else:
        logp += _row_loglik(header, theta, grad, p, m, sigma_index)
    return logp


@numba.njit(cache=True)
def _affine_point(header, z):
    """The free parameters m + A z at the sampler's point ``z`` (see P_AFFINE)."""
    d = z.shape[0]
    affine = _floats(header, P_AFFINE, d + d * d)
    theta = np.empty(d)
    for i in range(d):
        value = affine[i]
        row = d + i * d
        for j in range(d):
            value += affine[row + j] * z[j]
        theta[i] = value
    return theta


@numba.njit(cache=True)
def _sampled_log_density(header, z, grad):
    """Log density and gradient in the sampler's coordinates: the free
    parameters, or ``z`` of P_AFFINE's map (gradient A^T d logp / d theta)."""
    if header[P_AFFINE] == 0:
        return _log_density(header, z, grad)
    d = z.shape[0]
    affine = _floats(header, P_AFFINE, d + d * d)
    theta_grad = np.empty(d)
    value = _log_density(header, _affine_point(header, z), theta_grad)
    for j in range(d):
        grad[j] = 0.0
    for i in range(d):
        g = theta_grad[i]
        row = d + i * d
        for j in range(d):
            grad[j] += affine[row + j] * g
    return value


@numba.cfunc(LOGP_SIGNATURE, cache=True, nogil=True)
def logp_cfunc(dim, theta_, grad_, logp_, user_data):
    """nutpie's C calling convention: 0 on success, nonzero for a bad point."""
    header = numba.carray(user_data, (HEADER_SIZE,), np.int64)
    if dim != header[N_DIM]:
        return -1
    theta = numba.carray(theta_, (dim,))
    grad = numba.carray(grad_, (dim,))
    logp = numba.carray(logp_, (1,))
    value = _sampled_log_density(header, theta, grad)
    logp[0] = value
    if not np.isfinite(value):
        return 4
    for i in range(dim):
        if not np.isfinite(grad[i]):
            return 3
    return 0


@numba.cfunc(EXPAND_SIGNATURE, cache=True, nogil=True)
def expand_cfunc(dim, n_expanded, theta_, out_, user_data):
    """Store the full unconstrained draw, fixed values included; constraining
    happens in numpy afterwards."""
    header = numba.carray(user_data, (HEADER_SIZE,), np.int64)
    if dim != header[N_DIM] or n_expanded != header[N_FULL]:
        return -1
    theta = numba.carray(theta_, (dim,))
    if header[P_AFFINE] != 0:
        theta = _affine_point(header, theta)
    out = numba.carray(out_, (n_expanded,))
    if dim == n_expanded:
        for i in range(dim):
            out[i] = theta[i]
        return 0
    full = _floats(header, P_FULL, n_expanded)
    for i in range(n_expanded):
        out[i] = full[i]
    free = _ints(header, P_FREE, dim)
    for i in range(dim):
        out[free[i]] = theta[i]
    return 0


@numba.njit(cache=True)
def log_density(header, theta):
    """Python-callable log density and gradient in the free parameters (P_AFFINE
    ignored), for optimisers, tests and benchmarks."""
    grad = np.empty(theta.shape[0])
    return _log_density(header, theta, grad), grad


@numba.njit(cache=True)
def sampled_log_density(header, z):
    """Python-callable log density and gradient in the sampler's coordinates."""
    grad = np.empty(z.shape[0])
    return _sampled_log_density(header, z, grad), grad
