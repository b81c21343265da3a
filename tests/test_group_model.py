"""lme4-style group terms (``ModelSpec.group_terms``) in the reference model.

Each model is checked against one written out by hand here with plain PyMC
distributions, at random points of the unconstrained space: the log
densities, Jacobians included, must be equal. The hand models use their own
variable names; each test's ``MAP`` says which reference value variable
(``name`` or ``(name, column)``) gives each hand value variable.

The hand models give their prior parameters as float64 arrays (``F(...)``):
PyTensor makes a Python float that float32 holds exactly (100.0) a float32
constant, and its log is then off by ~1e-7.

Data are far from standard scale (x ~ 500 +- 40) and the group effects are
at x = 0 of their design, so a centring or scaling slip shows.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy.special import betaln

from bayes_sklearn.design.group_terms import GroupTermsDesign, split_group_terms
from bayes_sklearn.inference.pymc_engine import structure_key
from bayes_sklearn.model.pymc_model import build_reference_model
from bayes_sklearn.model.spec import GroupTerm, check_group_term, resolve_model_spec
from bayes_sklearn.priors import Constant, Exponential, HalfNormal, Normal

pm = pytest.importorskip("pymc")


def F(value):
    return np.asarray(value, dtype=np.float64)

N = 60
PRIORS = {"x": Normal(0.0, 0.1), "intercept": Normal(1000.0, 100.0)}


def _data(seed=0, family="gaussian"):
    rng = np.random.default_rng(seed)
    x = rng.normal(500.0, 40.0, size=N)
    if family == "gaussian":
        y = 1000.0 + 0.5 * (x - 500.0) + rng.normal(scale=20.0, size=N)
    else:
        y = rng.integers(0, 2, size=N).astype(float)
    return rng, x, y


def _spec(x, y, terms, family="gaussian"):
    spec = resolve_model_spec(family=family, coef_names=["x"], X=x[:, None], y=y,
                              priors=PRIORS, prior_noise=HalfNormal(50.0))
    return dataclasses.replace(spec, group_terms=tuple(terms))


def _fixed_part(x, family="gaussian"):
    """The population part of the hand model: coef, intercept_c, sigma; its eta."""
    coef = pm.Normal("coef", F(0.0), F(0.1), shape=(1,))
    intercept_c = pm.Normal("intercept_c", F(1000.0), F(100.0))
    intercept = intercept_c - coef[0] * x.mean()
    sigma = pm.HalfNormal("sigma", F(50.0)) if family == "gaussian" else None
    return intercept + coef[0] * x, sigma


def _random_point(model, rng):
    """Near PyMC's initial point (scales at their priors' scale), so the log
    density stays moderate and an absolute tolerance means something."""
    start = model.initial_point()
    point = {name: value + rng.normal(scale=0.3, size=np.shape(value))
             for name, value in start.items()}
    if "intercept_c" in point:
        point["intercept_c"] = start["intercept_c"] + rng.normal(scale=5.0)
    return point


def _assert_same_logp(reference, hand, mapping, rng, tol, n_points=5):
    """log densities equal where each hand value variable takes its mapped value."""
    ref_names = {v.name for v in reference.value_vars}
    used = {m if isinstance(m, str) else m[0] for m in mapping.values()}
    assert used == ref_names, "every reference value variable is mapped"
    assert set(mapping) == {v.name for v in hand.value_vars}
    ref_logp = reference.compile_logp(jacobian=True)
    hand_logp = hand.compile_logp(jacobian=True)
    for _ in range(n_points):
        point = _random_point(reference, rng)
        hand_point = {name: point[m] if isinstance(m, str) else point[m[0]][..., m[1]]
                      for name, m in mapping.items()}
        a, b = ref_logp(point), hand_logp(hand_point)
        assert np.isfinite(a)
        np.testing.assert_allclose(a, b, rtol=0, atol=tol)


def test_independent_and_slope_only_terms_match_hand_model():
    rng, x, y = _data(1)
    g = rng.integers(0, 4, size=N)
    h = rng.integers(0, 3, size=N)
    terms = [
        GroupTerm("g", tuple("abcd"), ("1|g", "x|g"), (HalfNormal(30.0), HalfNormal(0.05)),
                  correlated=False),
        # one effect: independent although correlated=True
        GroupTerm("h", ("p", "q", "r"), ("x|h",), (Exponential(scale=0.02),)),
    ]
    Z_g = np.column_stack([np.ones(N), x])
    Z_h = x[:, None]
    reference = build_reference_model(_spec(x, y, terms), x[:, None], y,
                                      group_designs=[(Z_g, g), (Z_h, h)])
    with pm.Model() as hand:
        eta, sigma = _fixed_part(x)
        sd_int = pm.HalfNormal("sd_int", F(30.0))
        sd_x = pm.HalfNormal("sd_x", F(0.05))
        z_g = pm.Normal("z_g", 0.0, 1.0, shape=(4, 2))
        sd_h = pm.Exponential("sd_h", lam=F(50.0))
        z_h = pm.Normal("z_h", 0.0, 1.0, shape=(3, 1))
        eta = eta + z_g[g, 0] * sd_int + z_g[g, 1] * sd_x * x + z_h[h, 0] * sd_h * x
        pm.Normal("y", eta, sigma, observed=y)
    MAP = {"coef": "coef", "intercept_c": "intercept_c", "sigma_log__": "sigma_log__",
           "sd_int_log__": ("g_sigma_log__", 0), "sd_x_log__": ("g_sigma_log__", 1),
           "z_g": "g_offset", "sd_h_log__": ("h_sigma_log__", 0), "z_h": "h_offset"}
    _assert_same_logp(reference, hand, MAP, rng, tol=1e-10)
    assert "h_corr" not in reference.named_vars


def test_correlated_term_matches_hand_model_with_lkjcorr():
    """(1 + x | g) against pm.LKJCorr and pt.linalg.cholesky.

    For two effects the unconstrained values agree: LKJCorr's interval
    transform gives r = 2 * sigmoid(v) - 1, the reference's partial
    correlation is 2 * u - 1 with u = sigmoid(v), and the Jacobians match.

    PyMC's LKJCorr (5.20 to 5.28) adds the log normalising constant instead
    of subtracting it (its density of r integrates to 4 for n = 2, eta = 1),
    so the hand model replaces PyMC's constant, read off at r = 0 where
    det = 1, by the right one, -log B(1/2, eta).
    """
    rng, x, y = _data(2)
    g = rng.integers(0, 5, size=N)
    eta_lkj = 2.5
    terms = [GroupTerm("g", tuple(range(5)), ("1|g", "x|g"),
                       (HalfNormal(30.0), HalfNormal(0.05)), lkj_eta=eta_lkj)]
    Z = np.column_stack([np.ones(N), x])
    reference = build_reference_model(_spec(x, y, terms), x[:, None], y,
                                      group_designs=[(Z, g)])
    with pm.Model() as hand:
        eta, sigma = _fixed_part(x)
        sd = pm.HalfNormal("sd", F(30.0)), pm.HalfNormal("sd_slope", F(0.05))
        r = pm.LKJCorr("r", n=2, eta=F(eta_lkj))
        pymc_constant = pm.logp(pm.LKJCorr.dist(n=2, eta=F(eta_lkj)), F([0.0])).eval()
        pm.Potential("lkj_constant", pt.as_tensor(F(-betaln(0.5, eta_lkj) - pymc_constant)))
        corr = pt.stack([pt.stack([1.0, r[0]]), pt.stack([r[0], 1.0])])
        cov_chol = pt.diag(pt.stack(sd)) @ pt.linalg.cholesky(corr)
        z = pm.Normal("z", 0.0, 1.0, shape=(5, 2))
        b = z @ cov_chol.T
        eta = eta + b[g, 0] + b[g, 1] * x
        pm.Normal("y", eta, sigma, observed=y)
    MAP = {"coef": "coef", "intercept_c": "intercept_c", "sigma_log__": "sigma_log__",
           "sd_log__": ("g_sigma_log__", 0), "sd_slope_log__": ("g_sigma_log__", 1),
           "r_interval__": "g_corr_cpc_logodds__", "z": "g_offset"}
    _assert_same_logp(reference, hand, MAP, rng, tol=1e-8)


def _vine_corr(u, k):
    """Upper triangle of the correlation matrix from partial correlations 2u - 1
    (row by row over the lower triangle), written out independently."""
    w = 2.0 * u - 1.0
    rows, entry = [pt.concatenate([pt.ones(1), pt.zeros(k - 1)])], 0
    for i in range(1, k):
        row, used = [], pt.constant(0.0)
        for _ in range(i):
            row.append(w[entry] * pt.sqrt(1.0 - used))
            used = used + row[-1] ** 2
            entry += 1
        row.append(pt.sqrt(1.0 - used))
        rows.append(pt.concatenate([pt.stack(row), pt.zeros(k - 1 - i)]))
    L = pt.stack(rows)
    C = L @ L.T
    upper = np.triu_indices(k, 1)
    return C, C[upper[0], upper[1]]


def _lkj_log_density(C, eta):
    """LKJ(eta): det(C)**(eta - 1) / c_d, with c_d of Lewandowski, Kurowicka and
    Joe (2009, eq. 16): 2**sum((2 eta - 2 + d - k)(d - k)) prod B(b_k, b_k)**(d - k),
    b_k = eta + (d - k - 1) / 2, k = 1..d-1."""
    d = C.shape[0]
    k = np.arange(1, d)
    b = eta + (d - k - 1) / 2
    log_c = (np.log(2) * ((2 * eta - 2 + d - k) * (d - k)).sum()
             + ((d - k) * betaln(b, b)).sum())
    return (eta - 1) * np.linalg.slogdet(C)[1] - log_c


@pytest.mark.parametrize("k, eta", [(2, 2.5), (3, 1.0), (3, 2.0), (4, 0.7)])
def test_correlation_prior_is_lkj(k, eta):
    """The density of the partial correlations, moved to the correlations by
    their Jacobian, is the LKJ density with its normalising constant; PyMC's
    LKJCorr agrees up to that constant (see the test above)."""
    rng, x, y = _data(3)
    names = tuple(f"x{j}|g" for j in range(k))
    terms = [GroupTerm("g", (0, 1), names, (HalfNormal(1.0),) * k, lkj_eta=eta)]
    Z = np.column_stack([x ** (j / 2) for j in range(k)])
    reference = build_reference_model(_spec(x, y, terms), x[:, None], y,
                                      group_designs=[(Z, rng.integers(0, 2, size=N))])
    cpc = reference["g_corr_cpc"]
    logp_u = pytensor.function([reference.rvs_to_values[cpc]],
                               reference.logp(vars=[cpc], jacobian=False))
    u = pt.vector("u")
    C, upper = _vine_corr(u, k)
    jac = pytensor.function([u], [C, upper, pytensor.gradient.jacobian(upper, u)])
    value = pt.vector("value")
    lkj = pytensor.function([value], pm.logp(pm.LKJCorr.dist(n=k, eta=F(eta)), value))
    (corr,) = reference.replace_rvs_by_values([reference["g_corr"]])
    corr_of = pytensor.function([reference.rvs_to_values[cpc]], corr)
    offsets = []
    for _ in range(4):
        v = rng.normal(size=k * (k - 1) // 2)
        u_value = 1.0 / (1.0 + np.exp(-v))
        C_value, upper_value, J = jac(u_value)
        np.testing.assert_allclose(corr_of(v), C_value, atol=1e-12)
        expected = _lkj_log_density(C_value, eta) + np.linalg.slogdet(J)[1]
        got = logp_u(v)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8)
        offsets.append(lkj(upper_value) - _lkj_log_density(C_value, eta))
    np.testing.assert_allclose(offsets, offsets[0], rtol=0, atol=1e-10)


def test_prior_draws_of_correlation_have_lkj_marginal_variance():
    """Under LKJ(eta) in K dimensions every correlation is 2 Beta(b, b) - 1 with
    b = eta - 1 + K / 2, of variance 1 / (2b + 1)."""
    rng, x, y = _data(4)
    k, eta = 3, 2.0
    terms = [GroupTerm("g", (0, 1), ("1|g", "a|g", "b|g"), (HalfNormal(1.0),) * 3,
                       lkj_eta=eta)]
    Z = np.column_stack([np.ones(N), x, x])
    reference = build_reference_model(_spec(x, y, terms), x[:, None], y,
                                      group_designs=[(Z, rng.integers(0, 2, size=N))])
    draws = pm.draw(reference["g_corr"], 8000, random_seed=5)
    b = eta - 1 + k / 2
    variance = draws[:, [0, 0, 1], [1, 2, 2]].var(axis=0)
    # the sd of a sample variance of 8000 draws is about 1.5% of it here
    np.testing.assert_allclose(variance, 1 / (2 * b + 1), rtol=0.06)


def test_crossed_factors_bernoulli_weighted_match_hand_model():
    rng, x, y = _data(5, family="bernoulli")
    a = rng.integers(0, 3, size=N)
    b = rng.integers(0, 7, size=N)
    w = rng.uniform(0.5, 2.0, size=N)
    terms = [GroupTerm("a", tuple("xyz"), ("1|a",), (HalfNormal(1.5),)),
             GroupTerm("b", tuple(range(7)), ("1|b",), (HalfNormal(0.5),))]
    ones = np.ones((N, 1))
    spec = _spec(x, y, terms, family="bernoulli")
    reference = build_reference_model(spec, x[:, None], y, sample_weight=w,
                                      group_designs=[(ones, a), (ones, b)])
    assert reference.named_vars_to_dims["1|a"] == ("a__factor_dim",)
    assert len(reference.coords["b__factor_dim"]) == 7
    with pm.Model() as hand:
        eta, _ = _fixed_part(x, family="bernoulli")
        sd_a, sd_b = pm.HalfNormal("sd_a", F(1.5)), pm.HalfNormal("sd_b", F(0.5))
        z_a = pm.Normal("z_a", 0.0, 1.0, shape=(3, 1))
        z_b = pm.Normal("z_b", 0.0, 1.0, shape=(7, 1))
        eta = eta + z_a[a, 0] * sd_a + z_b[b, 0] * sd_b
        pm.Potential("y", (w * (y * eta - pt.softplus(eta))).sum())
    MAP = {"coef": "coef", "intercept_c": "intercept_c",
           "sd_a_log__": ("a_sigma_log__", 0), "sd_b_log__": ("b_sigma_log__", 0),
           "z_a": "a_offset", "z_b": "b_offset"}
    _assert_same_logp(reference, hand, MAP, rng, tol=1e-10)


def _parsed(formula, frame):
    _, bars = split_group_terms(formula)
    design, arrays = GroupTermsDesign.fit_transform(frame, bars)
    return design, arrays


def test_nested_factor_names_coords_and_dims():
    rng, x, y = _data(6)
    frame = pd.DataFrame({"x": x, "state": rng.choice(["MN", "WI"], size=N),
                          "county": rng.choice(["p", "q", "r"], size=N)})
    design, arrays = _parsed("(1 + x | state/county)", frame)
    terms = [GroupTerm(bar.factor, levels, names, (HalfNormal(10.0), HalfNormal(0.1)))
             for bar, levels, names in zip(design.terms, design.levels, design.effect_names)]
    assert [t.label for t in terms] == ["state", "state:county"]
    reference = build_reference_model(_spec(x, y, terms), x[:, None], y,
                                      group_designs=[tuple(a) for a in arrays])
    dims = reference.named_vars_to_dims
    label = "state:county"
    assert list(reference.coords[f"{label}__effect"]) == ["1|state:county", "x|state:county"]
    assert list(reference.coords[f"{label}__factor_dim"]) == list(design.levels[1])
    assert dims["1|state:county"] == (f"{label}__factor_dim",)
    assert dims["x|state:county"] == (f"{label}__factor_dim",)
    assert dims[f"{label}_offset"] == (f"{label}__factor_dim", f"{label}__effect")
    assert dims[f"{label}_corr"] == (f"{label}__effect", f"{label}__effect2")
    assert dims[f"{label}_sigma"] == (f"{label}__effect",)
    for name in ("1|state:county_sigma", "x|state:county_sigma", "1|state_sigma"):
        assert reference[name] in reference.deterministics
    for name in (f"{label}__design", f"{label}__code", f"{label}__lkj_eta", "state__code"):
        assert reference[name] in reference.data_vars
    assert {v.name for v in reference.free_RVs} >= {
        "state_sigma", "state_offset", "state_corr_cpc", f"{label}_corr_cpc"}
    # the effects are the design at x = 0: the deviation of a row is b[code] @ Z[row]
    point = reference.initial_point()
    point.update(_random_point(reference, rng))
    outputs = reference.replace_rvs_by_values(
        [reference["1|state:county"], reference["x|state:county"],
         reference["state_sigma"], reference["state_offset"]])
    fn = pytensor.function(reference.value_vars, outputs, on_unused_input="ignore")
    b0, b1, sd, offset = fn(*(point[v.name] for v in reference.value_vars))
    Z, codes = arrays[1]
    np.testing.assert_array_equal(Z[:, 1], x)  # the slope's column is x itself, uncentred
    assert b0.shape == b1.shape == (len(design.levels[1]),)
    # the state's effects: offsets through the Cholesky factor, times the sds
    np.testing.assert_allclose(sd, np.exp(point["state_sigma_log__"]), rtol=1e-12)
    assert offset.shape == (2, 2)


def test_constant_sd_is_data_and_mixed_priors_are_pieces():
    rng, x, y = _data(7)
    g = rng.integers(0, 3, size=N)
    terms = [GroupTerm("g", tuple("abc"), ("1|g", "x|g"), (25.0, HalfNormal(0.05)),
                       correlated=False)]
    Z = np.column_stack([np.ones(N), x])
    reference = build_reference_model(_spec(x, y, terms), x[:, None], y,
                                      group_designs=[(Z, g)])
    free = {v.name for v in reference.free_RVs}
    assert "g_sigma_halfnormal" in free and "g_sigma" not in free
    assert float(reference["g_sigma_fixed_value"].get_value()[0]) == 25.0
    fn = reference.compile_fn(reference["1|g_sigma"], inputs=[], on_unused_input="ignore")
    assert fn({}) == 25.0
    # every sd fixed: no sd variable at all
    fixed = [dataclasses.replace(terms[0], sd_priors=(Constant(25.0), 0.1))]
    reference = build_reference_model(_spec(x, y, fixed), x[:, None], y,
                                      group_designs=[(Z, g)])
    assert not any(v.name.startswith("g_sigma") for v in reference.free_RVs)
    np.testing.assert_array_equal(reference["g_sigma_value"].get_value(), [25.0, 0.1])


def test_structure_key_follows_structure_not_values():
    rng, x, y = _data(8)
    term = GroupTerm("g", tuple("abc"), ("1|g", "x|g"), (HalfNormal(1.0), HalfNormal(2.0)))
    base = structure_key(_spec(x, y, [term]), False)
    same = [dataclasses.replace(term, lkj_eta=3.0),
            dataclasses.replace(term, sd_priors=(HalfNormal(5.0), HalfNormal(0.1)))]
    different = [dataclasses.replace(term, levels=tuple("abcd")),
                 dataclasses.replace(term, correlated=False),
                 dataclasses.replace(term, sd_priors=(1.0, HalfNormal(2.0))),
                 dataclasses.replace(term, label="h", effect_names=("1|h", "x|h"))]
    for t in same:
        assert structure_key(_spec(x, y, [t]), False) == base
    for t in different:
        assert structure_key(_spec(x, y, [t]), False) != base
    assert structure_key(_spec(x, y, []), False) != base


def test_refusals_name_the_problem():
    rng, x, y = _data(9)
    term = GroupTerm("g", tuple("abc"), ("1|g", "x|g"), (HalfNormal(1.0), HalfNormal(2.0)))
    with pytest.raises(ValueError, match="2 effects.*1 sd priors"):
        check_group_term(dataclasses.replace(term, sd_priors=(HalfNormal(1.0),)))
    for eta in (0.0, -1.0, np.inf):
        with pytest.raises(ValueError, match="lkj_eta"):
            check_group_term(dataclasses.replace(term, lkj_eta=eta))
    with pytest.raises(ValueError, match="positive numbers"):
        check_group_term(dataclasses.replace(term, sd_priors=(Normal(0, 1), 1.0)))
    Z = np.column_stack([np.ones(N), x])
    codes = rng.integers(0, 3, size=N)
    spec = _spec(x, y, [term])
    with pytest.raises(ValueError, match="group_designs"):
        build_reference_model(spec, x[:, None], y)
    with pytest.raises(ValueError, match="shape"):
        build_reference_model(spec, x[:, None], y, group_designs=[(Z[:, :1], codes)])
    bad = codes.copy()
    bad[0] = -1
    with pytest.raises(ValueError, match="unseen levels"):
        build_reference_model(spec, x[:, None], y, group_designs=[(Z, bad)])
    # (categorical models take group terms: test_categorical_terms_give_every_class...)


def test_categorical_terms_give_every_class_its_own_effects():
    """Three classes (two non-reference) with (1 + x | g) correlated: each class has
    its own sds, partial correlation and offsets, against a hand model of the two
    classes side by side (LKJ(eta) of two effects: r = 2u - 1, u ~ Beta(eta, eta))."""
    rng, x, _ = _data(5)
    y = rng.integers(0, 3, size=N)
    g = rng.integers(0, 4, size=N)
    eta_lkj = 1.5
    terms = [GroupTerm("g", tuple("abcd"), ("1|g", "x|g"),
                       (HalfNormal(2.0), HalfNormal(0.01)), lkj_eta=eta_lkj)]
    spec = resolve_model_spec(family="categorical", coef_names=["x"], X=x[:, None], y=y,
                              n_outputs=2, priors={"x": Normal(0.0, 0.1),
                                                   "intercept": Normal(0.0, 2.0)})
    spec = dataclasses.replace(spec, group_terms=tuple(terms))
    Z = np.column_stack([np.ones(N), x])
    reference = build_reference_model(spec, x[:, None], y, group_designs=[(Z, g)],
                                      output_names=["B", "C"])
    assert reference.named_vars_to_dims["1|g"] == ("g__factor_dim", "class")
    assert reference.named_vars_to_dims["g_corr"] == ("class", "g__effect", "g__effect2")
    with pm.Model() as hand:
        coef = pm.Normal("coef", F(0.0), F(0.1), shape=(1, 2))
        intercept_c = pm.Normal("intercept_c", F(0.0), F(2.0), shape=(2,))
        eta = intercept_c - coef[0] * x.mean() + x[:, None] * coef[0]
        sd = pm.HalfNormal("sd", F([[2.0, 2.0], [0.01, 0.01]]), shape=(2, 2))
        u = pm.Beta("u", F(eta_lkj), F(eta_lkj), shape=(2, 1))
        z = pm.Normal("z", 0.0, 1.0, shape=(4, 2, 2))
        for c in range(2):
            r = 2.0 * u[c, 0] - 1.0
            b_int = z[:, 0, c] * sd[0, c]
            b_x = (r * z[:, 0, c] + pt.sqrt(1.0 - r**2) * z[:, 1, c]) * sd[1, c]
            eta = pt.set_subtensor(eta[:, c], eta[:, c] + b_int[g] + b_x[g] * x)
        logits = pt.concatenate([pt.zeros((N, 1)), eta], axis=1)
        pm.Categorical("y", logit_p=logits, observed=y)
    MAP = {"coef": "coef", "intercept_c": "intercept_c", "sd_log__": "g_sigma_log__",
           "u_logodds__": "g_corr_cpc_logodds__", "z": "g_offset"}
    _assert_same_logp(reference, hand, MAP, rng, tol=1e-8)
