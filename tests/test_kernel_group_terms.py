"""The kernel's lme4-style group terms are the reference model's, value by value.

As in tests/test_engine_equivalence.py: for each structure the kernel's log
density and gradient at random unconstrained points equal those of the
reference PyMC model (``model/pymc_model.py``, ``_group_term_effects``) at
the mapped point, to 1e-8; log densities as differences between points (the
kernel drops constants). The kernel gets what ``run_inference`` gives it:
the standardised design and, for a gaussian response, ``y`` on unit scale
with the priors mapped by ``response.py`` (so the terms' sd priors are
divided by the response's scale); the reference model gets the user's data.
Data are far from standard scale (x ~ 500 +- 40, y ~ 1000) and the terms'
designs are on the user's scale, so a scaling or centring slip shows.
"""

import dataclasses
import functools

import numpy as np
import pytest
from reference_map import gradient_map, reference_model, reference_point

from bayes_sklearn.inference._kernel import log_density
from bayes_sklearn.inference.coverage import kernel_gap
from bayes_sklearn.inference.packing import pack_model
from bayes_sklearn.inference.response import ResponseScale
from bayes_sklearn.model.spec import GroupTerm, resolve_model_spec
from bayes_sklearn.priors import (
    Constant,
    Exponential,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    Normal,
    StudentT,
    Uniform,
)

pytest.importorskip("pymc")

MODE = "FAST_COMPILE"
N = 40


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    terms: tuple  # (label, n_levels, design columns among "1", "x", "w", sd priors, correlated)
    family: str = "gaussian"
    weighted: bool = False
    options: tuple = ()  # resolve_model_spec keywords, as (name, value) pairs
    lkj_eta: float = 1.0


def _term(label, n_levels, columns, priors, correlated=True):
    return (label, n_levels, columns, priors, correlated)


GAUSSIAN_CASES = [
    Case("intercept", (_term("g", 5, ("1",), (HalfNormal(30.0),)),)),
    Case("correlated-2", (_term("g", 4, ("1", "x"), (HalfNormal(30.0), HalfNormal(0.05))),),
         lkj_eta=2.0),
    Case("correlated-3", (_term("g", 4, ("1", "x", "w"),
                                (HalfNormal(30.0), HalfStudentT(nu=4.0, sigma=0.05),
                                 Exponential(scale=8.0))),),
         lkj_eta=1.5),
    Case("independent", (_term("g", 4, ("1", "x"), (HalfNormal(30.0), HalfCauchy(0.05)),
                                correlated=False),)),
    Case("slope-only", (_term("g", 3, ("x",), (Exponential(scale=0.02),)),)),
    Case("crossed", (_term("a", 3, ("1",), (HalfStudentT(nu=3.0, sigma=20.0),)),
                     _term("b", 4, ("1", "x"), (HalfCauchy(25.0), HalfNormal(0.05))))),
    Case("nested", (_term("state", 3, ("1",), (HalfNormal(30.0),)),
                    _term("state:county", 6, ("1",), (HalfNormal(15.0),)))),
    Case("fixed-sd", (_term("g", 4, ("1", "x"), (Constant(25.0), HalfNormal(0.05))),
                      _term("h", 3, ("1",), (Constant(10.0),)))),
    Case("weighted", (_term("g", 4, ("1", "x"), (HalfNormal(30.0), HalfNormal(0.05))),),
         weighted=True),
    Case("intercept-at-zero", (_term("g", 4, ("1", "x"), (HalfNormal(30.0), HalfNormal(0.05))),),
         options=(("center_predictors", False),)),
    Case("no-intercept", (_term("g", 4, ("1", "x"), (HalfNormal(30.0), HalfNormal(0.05))),),
         options=(("fit_intercept", False),)),
]
BERNOULLI_CASES = [
    Case("bernoulli", (_term("g", 4, ("1", "x"), (HalfNormal(0.8), HalfNormal(0.002))),
                       _term("h", 3, ("1",), (Exponential(scale=0.5),))),
         family="bernoulli"),
    Case("bernoulli-weighted", (_term("g", 4, ("1", "x"), (HalfNormal(0.8), Constant(0.001))),),
         family="bernoulli", weighted=True),
    Case("bernoulli-crossed", (_term("a", 3, ("1",), (HalfNormal(0.8),)),
                               _term("b", 4, ("1",), (Exponential(scale=0.5),))),
         family="bernoulli", weighted=True),
    Case("bernoulli-intercept-at-zero",
         (_term("g", 4, ("1", "x"), (HalfStudentT(nu=3.0, sigma=0.8), HalfCauchy(0.002))),),
         family="bernoulli", options=(("center_predictors", False),)),
    Case("bernoulli-no-intercept",
         (_term("g", 4, ("1", "x"), (HalfNormal(0.8), HalfNormal(0.002))),),
         family="bernoulli", options=(("fit_intercept", False),)),
]
CASES = GAUSSIAN_CASES + BERNOULLI_CASES


def _data(case: Case):
    rng = np.random.default_rng(3)
    x = rng.normal(500.0, 40.0, size=N)
    w = rng.normal(2.0, 0.5, size=N)
    X = np.column_stack([x, w])
    if case.family == "gaussian":
        y = 1000.0 + 0.5 * (x - 500.0) + 30.0 * w + rng.normal(scale=20.0, size=N)
        priors = {"x": Normal(0.0, 1.0), "w": StudentT(nu=4.0, mu=10.0, sigma=20.0),
                  "intercept": Normal(1000.0, 100.0)}
        noise = HalfNormal(50.0)
    else:
        y = rng.integers(0, 2, size=N).astype(float)
        priors = {"x": Normal(0.0, 0.01), "w": Normal(0.0, 1.0), "intercept": Normal(0.0, 2.0)}
        noise = None
    options = dict(case.options)
    if not options.get("fit_intercept", True):
        del priors["intercept"]
    spec = resolve_model_spec(family=case.family, coef_names=["x", "w"], X=X, y=y,
                              priors=priors, prior_noise=noise, **options)
    columns = {"1": np.ones(N), "x": x, "w": w}
    terms, designs = [], []
    for label, n_levels, names, sd_priors, correlated in case.terms:
        effect_names = tuple(f"{c}|{label}" for c in names)
        terms.append(GroupTerm(label, tuple(range(n_levels)), effect_names, sd_priors,
                               correlated=correlated, lkj_eta=case.lkj_eta))
        codes = rng.integers(0, n_levels, size=N)
        codes[:n_levels] = np.arange(n_levels)  # every level has rows
        designs.append((np.column_stack([columns[c] for c in names]), codes))
    spec = dataclasses.replace(spec, group_terms=tuple(terms))
    weight = rng.integers(1, 4, size=N).astype(float) if case.weighted else None
    return spec, X, y, designs, weight


def _to_original(spec, response, full):
    """The kernel's full vector of the unit-scale model as that of ``y`` itself:
    intercept ``* scale + center``, coefficients ``* scale``, log sds ``+ log scale``."""
    out = full.copy()
    if response is None:
        return out
    p = spec.n_coef
    s, log_s = response.scale, np.log(response.scale)
    out[0] = full[0] * s + response.center
    out[1:1 + p] = full[1:1 + p] * s
    out[1 + p] += log_s  # log sigma
    index = 2 + p
    for term in spec.group_terms:
        e = term.n_effects
        n_cpc = e * (e - 1) // 2 if term.is_correlated else 0
        out[index:index + e] += log_s
        index += e + n_cpc + term.n_levels * e
    return out


def _reference_point(model, spec, response, packed, theta):
    full = _to_original(spec, response, packed.expand(theta))
    # the kernel's intercept is at its design's shift; the reference's at the standardiser's centre
    full[0] = full[0] - packed.intercept_shift @ full[1:1 + spec.n_coef]
    return reference_point(model, spec, full)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_kernel_group_terms_equal_the_reference_model(case):
    spec, X, y, designs, weight = _data(case)
    assert kernel_gap(spec) is None
    X_z = np.ascontiguousarray(spec.standardizer.transform(X))
    response = ResponseScale.fit(y, weight) if case.family == "gaussian" else None
    kernel_spec = spec if response is None else response.spec_to_unit(spec)
    y_kernel = y if response is None else response.transform(y)
    packed = pack_model(kernel_spec, X_z, y_kernel, sample_weight=weight, group_designs=designs)
    model = reference_model(spec, X_z, y, sample_weight=weight, group_designs=designs)
    logp_and_dlogp = model.compile_fn([model.logp(), model.dlogp()], mode=MODE)
    to_point = functools.partial(_reference_point, model, spec, response, packed)
    to_theta = gradient_map(model, to_point, packed.n_dim)
    rng = np.random.default_rng(11)
    step = 0.5 if not case.options else 0.05
    ours, theirs = [], []
    for _ in range(4):
        theta = packed.initial_point + rng.normal(scale=step, size=packed.n_dim)
        value, grad = log_density(packed.header, theta)
        logp, dlogp = logp_and_dlogp(to_point(theta))
        assert np.isfinite(logp)
        ours.append(value)
        theirs.append(logp)
        np.testing.assert_allclose(grad, to_theta @ dlogp, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(np.diff(ours), np.diff(theirs), rtol=1e-9, atol=1e-8)


CONSTANT_CASES = [case for case in CASES if case.name in
                  ("correlated-3", "crossed", "fixed-sd", "weighted", "no-intercept", "bernoulli")]


@pytest.mark.parametrize("case", CONSTANT_CASES, ids=[case.name for case in CONSTANT_CASES])
def test_advi_constant_is_what_the_kernel_drops(case):
    """Kernel log density + ADVI's constant (less its entropy part) is the
    reference model's log density, up to the design map's log Jacobian: the
    terms' sd-prior normalisers, Beta normalisers and offsets' 2 pi included.
    Kernel and reference both on ``y`` itself here."""
    from reference_map import jacobian

    from bayes_sklearn.inference.advi import _log_density_constant

    spec, X, y, designs, weight = _data(case)
    X_z = np.ascontiguousarray(spec.standardizer.transform(X))
    packed = pack_model(spec, X_z, y, sample_weight=weight, group_designs=designs)
    model = reference_model(spec, X_z, y, sample_weight=weight, group_designs=designs)
    logp = model.compile_fn(model.logp(), mode=MODE)
    theta = packed.initial_point + np.random.default_rng(2).normal(scale=0.3, size=packed.n_dim)
    n_rows = N if weight is None else weight.sum()
    entropy_part = packed.n_dim * (0.5 + 0.5 * np.log(2 * np.pi))
    constant = _log_density_constant(spec, n_rows, packed.n_dim) - entropy_part
    value, _ = log_density(packed.header, theta)
    reference = logp(_reference_point(model, spec, None, packed, theta))
    np.testing.assert_allclose(value + constant, reference - jacobian(spec), rtol=0, atol=1e-8)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_minibatches_subset_each_terms_rows(weighted):
    """A minibatch's kernel is the kernel of its rows, each term's design and
    codes taken with them, the likelihood weighted by n / batch size."""
    from bayes_sklearn.inference.advi import _Minibatches

    case = dataclasses.replace(CASES[5], weighted=weighted)  # crossed: two terms
    spec, X, y, designs, weight = _data(case)
    X_z = np.ascontiguousarray(spec.standardizer.transform(X))
    batches = _Minibatches(spec, X_z, y, 7, weight, designs)
    batches.refill(np.random.default_rng(4))
    rows = batches.rows
    subset = [(Z[rows], codes[rows]) for Z, codes in designs]
    factor = N / 7
    alone = pack_model(spec, X_z[rows], y[rows], row_weight=factor,
                       sample_weight=None if weight is None else weight[rows],
                       sufficient_statistics=False, group_designs=subset)
    theta = alone.initial_point + np.random.default_rng(6).normal(scale=0.3, size=alone.n_dim)
    value, grad = log_density(batches.packed.header, theta)
    expected, expected_grad = log_density(alone.header, theta)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-12)


def _designs_of_ones(packed):
    """Per term, whether the kernel reads its design as ones (no design read)."""
    from bayes_sklearn.inference import _kernel

    address = packed.header[_kernel.P_TERMS]
    (table,) = [array for array in packed.arrays if array.ctypes.data == address]
    return list(table[: packed.header[_kernel.N_TERMS], _kernel.T_ONES] == 1)


def test_cases_cover_both_row_loops():
    """Models whose terms' designs are all ones run a row loop of their own
    (no design read); the cases above take both loops, for both families."""
    taken = set()
    for case in CASES:
        spec, X, y, designs, weight = _data(case)
        packed = pack_model(spec, spec.standardizer.transform(X), y, sample_weight=weight,
                            group_designs=designs)
        taken.add((case.family, all(_designs_of_ones(packed))))
    assert taken == {(family, ones) for family in ("gaussian", "bernoulli")
                     for ones in (False, True)}


@pytest.mark.parametrize("column", ["1", "binary"])
def test_minibatch_designs_are_ones_only_if_every_batch_is(column):
    """pack_model reads a design of ones as ones for good, so a minibatch
    buffer is packed so only if every batch's rows are ones: not for a 0/1
    column, whatever the first batch holds."""
    from bayes_sklearn.inference.advi import _Minibatches

    case = dataclasses.replace(CASES[0], terms=(_term("g", 5, ("1",), (HalfNormal(30.0),)),))
    spec, X, y, designs, _ = _data(case)
    if column == "binary":
        Z = np.ones((N, 1))
        Z[::3] = 0.0
        designs = [(Z, designs[0][1])]
    X_z = np.ascontiguousarray(spec.standardizer.transform(X))
    batches = _Minibatches(spec, X_z, y, 7, None, designs)
    assert _designs_of_ones(batches.packed) == [column == "1"]
    theta = batches.packed.initial_point + np.random.default_rng(6).normal(
        scale=0.3, size=batches.packed.n_dim)
    rng = np.random.default_rng(4)
    for _ in range(3):
        batches.refill(rng)
        rows = batches.rows
        alone = pack_model(spec, X_z[rows], y[rows], row_weight=N / 7,
                           sufficient_statistics=False,
                           group_designs=[(Z[rows], codes[rows]) for Z, codes in designs])
        value, grad = log_density(batches.packed.header, theta)
        expected, expected_grad = log_density(alone.header, theta)
        np.testing.assert_allclose(value, expected, rtol=1e-12)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-12)


def test_kernel_refuses_what_it_does_not_cover():
    spec, *_ = _data(CASES[1])
    term = spec.group_terms[0]
    uniform = dataclasses.replace(term, sd_priors=(HalfNormal(30.0), Uniform(0.0, 1.0)))
    assert "'x|g'" in kernel_gap(dataclasses.replace(spec, group_terms=(uniform,)))


# -- the estimator on the kernel -------------------------------------------------

FORMULA = "x + (1 + x | g)"
SETTINGS = dict(draws=200, tune=200, chains=2, random_state=0, progressbar=False)


def _frame(n=120, seed=5):
    import pandas as pd

    rng = np.random.default_rng(seed)
    g = rng.integers(0, 6, size=n)
    x = rng.normal(500.0, 40.0, size=n)
    intercepts = rng.normal(0.0, 30.0, size=6)
    slopes = rng.normal(0.0, 0.2, size=6)
    y = 1000.0 + 0.5 * (x - 500.0) + intercepts[g] + slopes[g] * (x - 500.0)
    y = y + rng.normal(scale=10.0, size=n)
    return pd.DataFrame({"x": x, "g": [f"G{k}" for k in g]}), pd.Series(y, name="y")


def _fit(**kwargs):
    import warnings

    from bayes_sklearn import HierarchicalRegression

    X, y = _frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 200 draws: too few for the convergence checks
        return HierarchicalRegression(formula=FORMULA, **SETTINGS, **kwargs).fit(X, y)


# the quantities compared; the level effects and correlation are at x = 0 of the design
COMPARED = ("intercept", "coef", "sigma", "1|g_sigma", "x|g_sigma", "1|g", "x|g", "g_corr")


@pytest.fixture(scope="module")
def kernel_and_pymc_fits():
    return _fit(), _fit(nuts_sampler="nutpie")


def test_formula_group_terms_fit_on_the_kernel_as_on_the_pymc_engine(kernel_and_pymc_fits):
    """Posterior means within Monte Carlo error: |difference| <= 5 standard errors
    of the difference, each mean's error sd / sqrt(ESS) by ArviZ's bulk ESS of
    that engine's own draws (a standard normal exceeds 5 with p = 6e-7, so over
    the ~30 compared numbers a failure means the engines differ)."""
    import arviz as az

    kernel, pymc = kernel_and_pymc_fits
    assert kernel.engine_ == "kernel" and pymc.engine_ == "pymc"
    errors = {}
    for fit in (kernel, pymc):
        post = fit.posterior_[list(COMPARED)]
        ess = az.ess(post)
        errors[fit.engine_] = (post.mean(("chain", "draw")),
                               post.std(("chain", "draw")) / np.sqrt(ess))
    (mean_k, se_k), (mean_p, se_p) = errors["kernel"], errors["pymc"]
    for name in COMPARED:
        diff = np.abs(mean_k[name].values - mean_p[name].values)
        se = np.sqrt(se_k[name].values ** 2 + se_p[name].values ** 2)
        if name == "g_corr":  # the diagonal is 1 exactly in both
            diff, se = diff[0, 1], se[0, 1]
        assert np.all(diff <= 5.0 * se), (name, diff, se)


@pytest.mark.parametrize("kwargs", [{"inference": "advi"},
                                    {"inference": "advi", "batch_size": 40}],
                         ids=["advi", "minibatch-advi"])
def test_advi_fits_group_terms(kernel_and_pymc_fits, kwargs):
    """ADVI runs on the kernel with the terms; mean-field understates spread, so
    only the predictions are compared with NUTS' (noise sd 10 around y ~ 1000)."""
    model = _fit(**kwargs)
    nuts = kernel_and_pymc_fits[0]
    assert model.engine_ == "kernel"
    assert model.posterior_["1|g"].shape[-1] == 6
    X, y = _frame()
    assert np.max(np.abs(model.predict(X) - nuts.predict(X))) < 5.0
    assert np.std(y - model.predict(X)) < 12.0
