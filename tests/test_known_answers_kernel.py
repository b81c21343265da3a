"""Known answers for the precompiled log density: a hand-written scipy model.

The kernel's log density (``_kernel.log_density``) is checked here against the
model written out with ``scipy.stats`` densities, independently of PyMC and of
the package: priors on the unconstrained parameters with the log-Jacobian of
``sigma = exp(u)`` and ``sd = exp(v)``, a group term's LKJ prior through its
partial correlations ``2 sigmoid(x) - 1`` (Beta on ``sigmoid(x)``, with the
logit's Jacobian), and each family's likelihood over the rows. The kernel drops additive constants, so values are compared as
differences between points; its gradient is compared with central finite
differences of the hand-written density (step 1e-5: truncation error
~1e-10 relative, far below the tolerance).
"""

import dataclasses

import numpy as np
import pytest
from scipy import special, stats

from bayes_sklearn.inference._kernel import log_density
from bayes_sklearn.inference.packing import pack_model
from bayes_sklearn.model.spec import resolve_group_terms, resolve_model_spec
from bayes_sklearn.priors import (
    Exponential,
    Flat,
    HalfNormal,
    HalfStudentT,
    Laplace,
    Normal,
    StudentT,
)


def _location_logpdf(prior, x):
    if isinstance(prior, Normal):
        return stats.norm.logpdf(x, prior.loc, prior.scale)
    if isinstance(prior, StudentT):
        return stats.t.logpdf(x, prior.nu, prior.loc, prior.scale)
    if isinstance(prior, Flat):
        return 0.0
    assert isinstance(prior, Laplace)
    return stats.laplace.logpdf(x, prior.loc, prior.scale)


def _scale_logpdf(prior, s):
    if isinstance(prior, Exponential):
        return stats.expon.logpdf(s, scale=prior.scale)
    if isinstance(prior, HalfNormal):
        return stats.halfnorm.logpdf(s, scale=prior.sigma)
    assert isinstance(prior, HalfStudentT)
    return np.log(2.0) + stats.t.logpdf(s, prior.nu, 0.0, prior.sigma)


def _term_log_density(term, block, Z, codes):
    """One group term's prior (log-Jacobians included) on its block of ``theta``
    (log sds, logits of the partial correlations, offsets) and each row's
    contribution ``b[codes_i] . Z_i`` to eta."""
    E, L = term.n_effects, term.n_levels
    v = block[:E]
    sd = np.exp(v)
    logp = sum(_scale_logpdf(prior, s) + vk for prior, s, vk in zip(term.sd_priors, sd, v))
    n_cpc = E * (E - 1) // 2 if term.is_correlated else 0
    u = special.expit(block[E:E + n_cpc])
    # LKJ(eta) on the C-vine: partial correlation (i, j) is 2 Beta(b_j, b_j) - 1,
    # b_j = eta + (E - 2 - j) / 2 (Lewandowski, Kurowicka and Joe 2009)
    shapes = [term.lkj_eta + (E - 2 - j) / 2 for i in range(1, E) for j in range(i)]
    logp += sum(stats.beta.logpdf(uk, b, b) + np.log(uk) + np.log1p(-uk)
                for uk, b in zip(u, shapes))
    z = block[E + n_cpc:].reshape(L, E)
    logp += stats.norm.logpdf(z).sum()
    chol = np.eye(E)
    if n_cpc:
        # row i of the Cholesky factor: L_ij = c_ij sqrt(1 - sum_{k<j} L_ik^2)
        c, entry = 2.0 * u - 1.0, 0
        for i in range(1, E):
            remaining = 1.0
            for j in range(i):
                chol[i, j] = c[entry] * np.sqrt(remaining)
                remaining -= chol[i, j] ** 2
                entry += 1
            chol[i, i] = np.sqrt(remaining)
    effects = z @ chol.T * sd
    return logp, (effects[codes] * Z).sum(axis=1)


def hand_log_density(spec, X_z, y, theta, weight=1.0, designs=()):
    """log p(theta, y) on the kernel's unconstrained parameters, by hand;
    ``designs`` has one ``(Z, codes)`` per group term of ``spec``."""
    m, p = spec.n_outputs, X_z.shape[1]
    intercept = theta[:m]
    coef = theta[m : m * (p + 1)].reshape(p, m)
    index = m * (p + 1)
    logp = sum(_location_logpdf(spec.intercept_prior, a) for a in intercept)
    priors = spec.sampling_coef_priors()
    logp += sum(_location_logpdf(priors[j], coef[j, k]) for j in range(p) for k in range(m))
    eta = intercept + X_z @ coef
    if spec.family == "gaussian":
        u = theta[index]
        logp += _scale_logpdf(spec.noise_prior, np.exp(u)) + u
        index += 1
    for term, (Z, codes) in zip(spec.group_terms, designs, strict=True):
        E = term.n_effects
        size = E + (E * (E - 1) // 2 if term.is_correlated else 0) + term.n_levels * E
        prior, contribution = _term_log_density(term, theta[index : index + size], Z, codes)
        logp += prior
        eta = eta + contribution[:, None]
        index += size
    assert index == theta.size
    if spec.family == "gaussian":
        loglik = stats.norm.logpdf(y, eta[:, 0], np.exp(theta[m * (p + 1)]))
    elif spec.family == "bernoulli":
        # log expit(eta) and log(1 - expit(eta)), without rounding 1 - p
        loglik = y * eta[:, 0] - np.logaddexp(0.0, eta[:, 0])
    else:
        logits = np.column_stack([np.zeros(len(y)), eta])
        loglik = special.log_softmax(logits, axis=1)[np.arange(len(y)), y.astype(int)]
    return logp + weight * loglik.sum()


def _finite_differences(f, theta, step=1e-5):
    grad = np.empty_like(theta)
    for i in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (f(up) - f(down)) / (2 * step)
    return grad


def _data(family, n=40, seed=4):
    rng = np.random.default_rng(seed)
    # Columns far from standard scale: the kernel sees them standardised.
    X = rng.normal(size=(n, 3)) * [3.0, 50.0, 0.02] + [-20.0, 400.0, 1.5]
    codes = rng.integers(0, 3, size=n)
    if family == "gaussian":
        y = 200.0 + rng.normal(scale=30.0, size=n)
    elif family == "bernoulli":
        y = rng.integers(0, 2, size=n).astype(float)
    else:
        y = rng.integers(0, 3, size=n).astype(float)
    return X, y, codes


CASES = {
    # gaussian without groups: the sufficient statistics path
    "gaussian-exponential-noise": dict(family="gaussian"),
    "gaussian-halfnormal-noise-rows": dict(
        family="gaussian", prior_noise=HalfNormal(40.0), sufficient_statistics=False
    ),
    "gaussian-student-laplace-halft": dict(
        family="gaussian",
        priors={"a": StudentT(nu=3.0, mu=0.5, sigma=2.0), "b": Laplace(0.1, 0.5)},
        prior_noise=HalfStudentT(nu=4.0, sigma=25.0),
    ),
    # group terms: (label, levels, design columns ("1" the intercept), correlated);
    # their designs are the user's columns, a ~ -20 +- 3 and c ~ 1.5 +- 0.02
    "gaussian-term-correlated": dict(
        family="gaussian", terms=(("g", 3, ("1", "a", "c"), True),), lkj_eta=1.5,
        sd_priors={"a|g": HalfStudentT(nu=4.0, sigma=5.0), "c|g": Exponential(scale=20.0)},
    ),
    "gaussian-term-weighted": dict(
        family="gaussian", terms=(("g", 3, ("1", "a"), True),), row_weight=2.5
    ),
    "gaussian-crossed": dict(
        family="gaussian", terms=(("g", 3, ("1",), True), ("h", 4, ("1", "a"), False)),
        sd_priors={"1|h": Exponential(scale=30.0)},
    ),
    # The kernel takes any design: uncentred columns make the sufficient
    # statistics' column sums and residual sum nonzero.
    "gaussian-uncentred-design": dict(family="gaussian", standardise=False),
    # a single level: its effects still apply
    "gaussian-one-level": dict(family="gaussian", terms=(("g", 1, ("1", "a"), True),)),
    "bernoulli-one-level": dict(family="bernoulli", terms=(("g", 1, ("1",), True),)),
    "bernoulli": dict(family="bernoulli", priors=Normal(0.3, 1.5)),
    # an improper flat prior contributes neither density nor gradient
    "bernoulli-flat-prior": dict(family="bernoulli", priors={"b": Flat()}),
    "bernoulli-term-weighted": dict(
        family="bernoulli", terms=(("g", 3, ("1", "a"), True),), row_weight=3.0
    ),
    "bernoulli-term-independent": dict(
        family="bernoulli", terms=(("g", 3, ("1", "a", "c"), False),),
        sd_priors={"c|g": HalfNormal(1.0)},
    ),
    "categorical-weighted": dict(
        family="categorical", priors={"c": Laplace(0.0, 2.0)}, row_weight=1.5
    ),
    # more rows than the kernel's blocks of BLOCK_ROWS, the last one partial
    "bernoulli-blocks": dict(family="bernoulli", n=600),
    "bernoulli-crossed-intercepts-blocks": dict(
        family="bernoulli", terms=(("g", 3, ("1",), True), ("h", 4, ("1",), True)), n=600
    ),
    "bernoulli-term-blocks": dict(family="bernoulli", terms=(("g", 3, ("1", "a"), True),), n=600),
    "categorical-blocks": dict(family="categorical", n=600),
    "gaussian-crossed-intercepts-blocks": dict(
        family="gaussian", terms=(("g", 3, ("1",), True), ("h", 4, ("1",), True)), n=600
    ),
    "gaussian-rows-blocks": dict(family="gaussian", sufficient_statistics=False, n=600),
    "gaussian-term-blocks": dict(family="gaussian", terms=(("g", 3, ("1", "a"), True),), n=600),
}


def _case(family, terms=(), lkj_eta=1.0, sd_priors=None, priors=None, prior_noise=None,
          row_weight=1.0, sufficient_statistics=True, standardise=True, n=40):
    X, y, codes = _data(family, n=n)
    spec = resolve_model_spec(
        family=family,
        coef_names=["a", "b", "c"],
        X=X,
        y=y,
        n_outputs=2 if family == "categorical" else 1,
        priors=priors,
        prior_noise=prior_noise,
    )
    columns = {"1": np.ones(len(y)), "a": X[:, 0], "c": X[:, 2]}
    info, designs = [], []
    for k, (label, n_levels, names, correlated) in enumerate(terms):
        info.append((label, tuple(range(n_levels)), tuple(f"{c}|{label}" for c in names),
                     correlated))
        designs.append((np.column_stack([columns[c] for c in names]), (codes + k) % n_levels))
    if terms:
        spec = dataclasses.replace(spec, group_terms=resolve_group_terms(
            info, [Z for Z, _ in designs], family=family, y=y, sd_priors=sd_priors,
            lkj_eta=lkj_eta))
    X_z = np.ascontiguousarray(spec.standardizer.transform(X) if standardise else X)
    packed = pack_model(spec, X_z, y, row_weight=row_weight,
                        sufficient_statistics=sufficient_statistics, group_designs=designs)
    return spec, X_z, y, designs, packed, row_weight


@pytest.mark.parametrize("case", CASES)
def test_log_density_and_gradient_match_the_hand_written_model(case):
    spec, X_z, y, designs, packed, weight = _case(**CASES[case])
    rng = np.random.default_rng(7)
    # Wide spread: linear predictors of both signs and Laplace priors on
    # both sides of their centre.
    thetas = [packed.initial_point + rng.normal(scale=0.8, size=packed.n_dim) for _ in range(4)]

    def hand(theta):
        return hand_log_density(spec, X_z, y, theta, weight, designs)

    ours, theirs = [], []
    for theta in thetas:
        value, grad = log_density(packed.header, theta)
        ours.append(value)
        theirs.append(hand(theta))
        expected = _finite_differences(hand, theta)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    np.testing.assert_allclose(np.diff(ours), np.diff(theirs), rtol=1e-9, atol=1e-8)


def test_the_block_cases_cross_block_boundaries():
    from bayes_sklearn.inference._kernel import BLOCK_ROWS

    n = CASES["bernoulli-blocks"]["n"]
    assert n > 2 * BLOCK_ROWS and n % BLOCK_ROWS != 0


def _as_the_row_loops_compile_it(name):
    """The kernel's ``name`` inlined into a caller with the row loops' numba
    flags (whose "reassoc" would be free to undo the exp's two-part ln 2)."""
    import numba

    from bayes_sklearn.inference import _kernel

    function = getattr(_kernel, name)
    flags = dict(fastmath={"contract", "reassoc"}, error_model="numpy")
    if name == "_exp_nonpositive_block":
        return numba.njit(**flags)(lambda x, t, bits, size: function(x, t, bits, size))
    return numba.njit(**flags)(
        lambda y, w, eta, t, bits, size: function(y, w, eta, t, bits, size))


@pytest.mark.parametrize("inlined", [False, True], ids=["alone", "inlined"])
def test_the_kernels_exp_matches_numpys_to_rounding_and_is_clamped_below(inlined):
    from bayes_sklearn.inference._kernel import _EXP_MIN, _exp_nonpositive_block

    exp_block = _as_the_row_loops_compile_it("_exp_nonpositive_block") if inlined \
        else _exp_nonpositive_block
    x = np.concatenate([np.linspace(-750.0, 0.0, 200_001), [-1e-300, -0.0, -0.5 * np.log(2)]])
    t = np.empty_like(x)
    exp_block(x, t, np.empty(x.size, np.int64), x.size)
    normal = x >= _EXP_MIN
    # a few ulp: the reduction, the polynomial's roundings, the scaling
    np.testing.assert_allclose(t[normal], np.exp(x[normal]), rtol=1e-15, atol=0.0)
    # below the clamp: exp(-708) ~ 3e-308 stands for anything smaller
    assert np.all(t[~normal] <= 1e-307) and np.all(t[~normal] > 0.0)


def test_the_kernels_log1p_matches_numpys_to_rounding_on_the_unit_interval():
    from bayes_sklearn.inference._kernel import _log1p_unit

    t = np.concatenate([np.linspace(0.0, 1.0, 10_001), [1e-300, 1e-17, 1e-9]])
    ours = np.array([_log1p_unit(v) for v in t])
    # a few ulp: the division, the series' roundings and the final product
    np.testing.assert_allclose(ours, np.log1p(t), rtol=1e-15, atol=0.0)


@pytest.mark.parametrize("inlined", [False, True], ids=["alone", "inlined"])
def test_bernoulli_rows_at_extreme_linear_predictors(inlined):
    """Softplus and sigmoid where exp(-|eta|) underflows, is tiny or is 1:
    against scipy's log_expit, which rounds neither."""
    from bayes_sklearn.inference._kernel import BLOCK_ROWS, _bernoulli_block

    bernoulli_block = _as_the_row_loops_compile_it("_bernoulli_block") if inlined \
        else _bernoulli_block

    eta = np.array([-800.0, -745.0, -708.5, -40.0, -1e-12, 0.0, 1e-12, 3.0, 40.0, 708.5, 800.0])
    for y in (np.zeros(eta.size), np.ones(eta.size)):
        weight = np.full(eta.size, 2.0)
        resid = eta.copy()
        loglik = bernoulli_block(y, weight, resid, np.empty(BLOCK_ROWS),
                                  np.empty(BLOCK_ROWS, np.int64), eta.size)
        rows = np.where(y == 1.0, special.log_expit(eta), special.log_expit(-eta))
        np.testing.assert_allclose(loglik, 2.0 * rows.sum(), rtol=1e-15)
        np.testing.assert_allclose(resid, 2.0 * (y - special.expit(eta)), rtol=1e-15,
                                   atol=1e-300)
