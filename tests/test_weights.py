"""Frequency weights: weight ``k`` is row ``i`` repeated ``k`` times.

Each engine is checked against the same data with the rows duplicated
(``np.repeat(X, w, axis=0)``), which is computed without any weight code, so
the expected values are independent of the weighting under test. Data are far
from standard scale (means near 1e3, sds from 1e-2 to 50) so that a missed
weight in a centre or scale shows.
"""

import dataclasses

import numpy as np
import pytest

from bayes_sklearn.design.standardize import Standardizer, column_moments, location_scale
from bayes_sklearn.model.spec import resolve_group_terms, resolve_model_spec


def _data(n: int = 23, seed: int = 3):
    rng = np.random.default_rng(seed)
    X = np.column_stack([
        1e3 + 50.0 * rng.standard_normal(n),
        -4.0 + 1e-2 * rng.standard_normal(n),
        rng.integers(0, 2, n).astype(float),
    ])
    y = 2e3 + 0.3 * X[:, 0] - 400.0 * X[:, 1] + 7.0 * X[:, 2] + 5.0 * rng.standard_normal(n)
    w = rng.integers(0, 4, n)
    w[:3] = [0, 2, 3]
    return X, y, w


def test_weighted_moments_equal_the_duplicated_rows():
    X, y, w = _data()
    X_rep, y_rep = np.repeat(X, w, axis=0), np.repeat(y, w)
    for got, want in zip(column_moments(X, w), column_moments(X_rep)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(location_scale(y, w), location_scale(y_rep), rtol=1e-12)
    # Without weights nothing changes.
    np.testing.assert_array_equal(column_moments(X)[1], X.std(axis=0))


def test_zero_weight_rows_count_for_nothing():
    # The only row where column 1 differs has weight 0: the column is constant
    # among the weighted rows and gets scale 1, its magnitude ignores the row.
    X = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, -1e6]])
    w = np.array([1.0, 3.0, 0.0])
    center, scale, magnitude = column_moments(X, w)
    np.testing.assert_allclose(center, [7.0 / 4.0, 5.0])
    np.testing.assert_allclose(scale, [np.sqrt((0.75**2 + 3 * 0.25**2) / 4), 0.0])
    np.testing.assert_array_equal(magnitude, [2.0, 5.0])
    std = Standardizer.fit(X, w)
    assert std.scale[1] == 1.0


def test_extreme_magnitude_columns_are_weighted_too():
    X = np.array([[1e200], [3e200], [2e200]])
    w = np.array([2.0, 1.0, 0.0])
    center, scale, _ = column_moments(X, w)
    np.testing.assert_allclose(center, [5e200 / 3])
    # rows 1, 1, 3 (x 1e200): deviations -2/3, -2/3, 4/3, variance 8/9.
    np.testing.assert_allclose(scale, [np.sqrt(8.0 / 9.0) * 1e200])


def test_model_spec_autoscaled_priors_equal_the_duplicated_rows():
    X, y, w = _data()
    names = ["a", "b", "c"]
    weighted = resolve_model_spec(family="gaussian", coef_names=names, X=X, y=y, sample_weight=w)
    repeated = resolve_model_spec(
        family="gaussian", coef_names=names, X=np.repeat(X, w, axis=0), y=np.repeat(y, w)
    )
    for a, b in zip(
        (weighted.intercept_prior, *weighted.coef_priors, weighted.noise_prior),
        (repeated.intercept_prior, *repeated.coef_priors, repeated.noise_prior),
    ):
        assert type(a) is type(b)
        np.testing.assert_allclose(
            [float(v) for v in vars(a).values()], [float(v) for v in vars(b).values()],
            rtol=1e-12,
        )
    np.testing.assert_allclose(weighted.standardizer.center, repeated.standardizer.center,
                               rtol=1e-12)
    np.testing.assert_allclose(weighted.standardizer.scale, repeated.standardizer.scale,
                               rtol=1e-12)


def _spec_and_z(X, y, w=None):
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b", "c"], X=X, y=y,
                              sample_weight=w)
    return spec, spec.standardizer.transform(X)


def test_exact_posterior_moments_equal_the_duplicated_rows():
    from bayes_sklearn.inference.exact import exact_posterior

    X, y, w = _data()
    spec_w, Xz_w = _spec_and_z(X, y, w)
    spec_r, Xz_r = _spec_and_z(np.repeat(X, w, axis=0), np.repeat(y, w))
    mean_w, cov_w = exact_posterior(spec_w, Xz_w, y, w).moments()
    mean_r, cov_r = exact_posterior(spec_r, Xz_r, np.repeat(y, w)).moments()
    np.testing.assert_allclose(mean_w, mean_r, rtol=1e-8, atol=1e-8 * np.abs(mean_r).max())
    np.testing.assert_allclose(cov_w, cov_r, rtol=1e-8, atol=1e-8 * np.abs(cov_r).max())
    # The weights matter: ignoring them moves the posterior mean.
    spec_u, Xz_u = _spec_and_z(X, y)
    mean_u, _ = exact_posterior(spec_u, Xz_u, y).moments()
    assert np.max(np.abs(mean_u - mean_r) / np.sqrt(np.diag(cov_r))) > 0.5


def test_exact_zero_weight_equals_the_row_removed():
    from bayes_sklearn.inference.exact import exact_posterior

    X, y, _ = _data()
    w = np.ones(len(y))
    w[[0, 5]] = 0.0
    y = y.copy()
    y[0] += 1e4  # an outlier that must have no effect at weight 0
    keep = w > 0
    spec_w, Xz_w = _spec_and_z(X, y, w)
    spec_r, Xz_r = _spec_and_z(X[keep], y[keep])
    mean_w, cov_w = exact_posterior(spec_w, Xz_w, y, w).moments()
    mean_r, cov_r = exact_posterior(spec_r, Xz_r, y[keep]).moments()
    np.testing.assert_allclose(mean_w, mean_r, rtol=1e-8, atol=1e-8 * np.abs(mean_r).max())
    np.testing.assert_allclose(cov_w, cov_r, rtol=1e-8, atol=1e-8 * np.abs(cov_r).max())


# --- the kernel -----------------------------------------------------------

KERNEL_CASES = {
    "gaussian-suffstats": dict(family="gaussian", groups=False, suffstats=True),
    "gaussian-rows": dict(family="gaussian", groups=False, suffstats=False),
    "gaussian-groups": dict(family="gaussian", groups=True, suffstats=False),
    "bernoulli": dict(family="bernoulli", groups=False, suffstats=False),
    "bernoulli-groups": dict(family="bernoulli", groups=True, suffstats=False),
    "categorical": dict(family="categorical", groups=False, suffstats=False),
}


def _kernel_case(family, groups, n=31, seed=5):
    """A model and its data; ``groups``: with the term ``(1 + c | g)`` of 3 levels,
    whose ``[(Z, codes)]`` is returned fourth (else None)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [50.0, 1e-2, 3.0] + [1e3, -4.0, 0.0]
    codes = rng.integers(0, 3, size=n)
    if family == "gaussian":
        y = 2e3 + X @ [0.3, -400.0, 7.0] + 5.0 * rng.normal(size=n)
        m = 1
    elif family == "bernoulli":
        y = rng.integers(0, 2, size=n).astype(float)
        m = 1
    else:
        y = rng.integers(0, 3, size=n).astype(float)
        m = 2
    w = rng.integers(0, 4, size=n)
    w[:2] = [0, 3]
    spec = resolve_model_spec(family=family, coef_names=["a", "b", "c"], X=X, y=y, n_outputs=m)
    designs = None
    if groups:
        designs = [(np.column_stack([np.ones(n), X[:, 2]]), codes)]
        terms = resolve_group_terms([("g", ("g0", "g1", "g2"), ("1|g", "c|g"), True)],
                                    [designs[0][0]], family=family, y=y)
        spec = dataclasses.replace(spec, group_terms=terms)
    return spec, spec.standardizer.transform(X), y, designs, w


def _repeated(designs, w):
    """Each group term's design and codes with row ``i`` repeated ``w[i]`` times."""
    if designs is None:
        return None
    return [(np.repeat(Z, w, axis=0), np.repeat(codes, w)) for Z, codes in designs]


@pytest.mark.parametrize("case", list(KERNEL_CASES))
def test_kernel_weighted_log_density_equals_the_duplicated_rows(case):
    from bayes_sklearn.inference._kernel import log_density
    from bayes_sklearn.inference.packing import pack_model

    opts = KERNEL_CASES[case]
    spec, X_z, y, designs, w = _kernel_case(opts["family"], opts["groups"])
    suff = opts["suffstats"]
    repeated = pack_model(
        spec, np.ascontiguousarray(np.repeat(X_z, w, axis=0)), np.repeat(y, w),
        sufficient_statistics=suff, group_designs=_repeated(designs, w),
    )
    weighted = pack_model(spec, X_z, y, sufficient_statistics=suff,
                          sample_weight=w.astype(float), group_designs=designs)
    unweighted = pack_model(spec, X_z, y, sufficient_statistics=suff, group_designs=designs)
    rng = np.random.default_rng(11)
    for _ in range(3):
        theta = weighted.initial_point + rng.normal(scale=0.3, size=weighted.n_dim)
        value_r, grad_r = log_density(repeated.header, theta)
        value_w, grad_w = log_density(weighted.header, theta)
        np.testing.assert_allclose(value_w, value_r, rtol=1e-10)
        np.testing.assert_allclose(grad_w, grad_r, rtol=1e-10, atol=1e-10 * np.abs(grad_r).max())
        assert abs(log_density(unweighted.header, theta)[0] - value_r) > 1e-3 * abs(value_r)


@pytest.mark.parametrize("case", list(KERNEL_CASES))
def test_kernel_weighted_gradient_matches_finite_differences(case):
    from bayes_sklearn.inference._kernel import log_density
    from bayes_sklearn.inference.packing import pack_model

    opts = KERNEL_CASES[case]
    spec, X_z, y, designs, w = _kernel_case(opts["family"], opts["groups"])
    # Fractional weights: not representable as duplicated rows.
    weight = w + 0.37
    packed = pack_model(spec, X_z, y, sufficient_statistics=opts["suffstats"],
                        sample_weight=weight, group_designs=designs)
    theta = packed.initial_point + np.random.default_rng(4).normal(scale=0.3, size=packed.n_dim)
    _, grad = log_density(packed.header, theta)
    step = 1e-6
    numeric = np.empty_like(grad)
    for i in range(theta.shape[0]):
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        numeric[i] = (log_density(packed.header, up)[0] - log_density(packed.header, down)[0]) / (
            2 * step
        )
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5 * np.abs(numeric).max())


def test_pack_model_multiplies_sample_weight_by_the_minibatch_factor():
    from bayes_sklearn.inference import _kernel as k
    from bayes_sklearn.inference.packing import pack_model

    spec, X_z, y, _, w = _kernel_case("bernoulli", False, n=5)
    packed = pack_model(spec, X_z, y, row_weight=2.5, sample_weight=w,
                        sufficient_statistics=False)
    pointed = np.ctypeslib.as_array(
        (np.ctypeslib.ctypes.c_double * 5).from_address(int(packed.header[k.P_ROW_WEIGHT]))
    )
    np.testing.assert_array_equal(pointed, 2.5 * w)
    with pytest.raises(ValueError, match="sample_weight has shape"):
        pack_model(spec, X_z, y, sample_weight=np.ones(4))


# --- the estimators -------------------------------------------------------

import warnings  # noqa: E402

from bayes_sklearn import (  # noqa: E402
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalLogisticRegression,
    HierarchicalRegression,
)


def _posterior_summary(model):
    import arviz as az

    post = model.posterior_[[v for v in ("intercept", "coef", "sigma") if v in model.posterior_]]
    return (post.mean(("chain", "draw")), post.std(("chain", "draw")),
            az.mcse(post), az.ess(post))


@pytest.mark.parametrize("estimator", [
    BayesianLinearRegression, BayesianLogisticRegression,
])
def test_nuts_weighted_posterior_equals_duplicated_rows_within_mc_error(estimator):
    X, y, w = _data(n=40)
    if estimator is BayesianLogisticRegression:
        y = (X[:, 0] - 1e3 + np.random.default_rng(1).logistic(scale=30.0, size=40) > 0)
        y = y.astype(int)
    settings = dict(draws=400, tune=300, chains=2, progressbar=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = estimator(**settings).fit(X, y, sample_weight=w)
        repeated = estimator(**settings).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
        unweighted = estimator(**settings).fit(X, y)
    mean_w, sd_w, mcse_w, ess_w = _posterior_summary(weighted)
    mean_r, sd_r, mcse_r, ess_r = _posterior_summary(repeated)
    mean_u, _, _, _ = _posterior_summary(unweighted)
    for name in mean_r.data_vars:
        assert float(ess_w[name].min()) > 150 and float(ess_r[name].min()) > 150
        # 4 Monte Carlo standard errors of the difference of two independent means.
        tol = 4 * np.sqrt(mcse_w[name] ** 2 + mcse_r[name] ** 2)
        diff = np.abs(mean_w[name] - mean_r[name])
        assert bool((diff < tol).all()), (name, diff.values, tol.values)
        # Posterior widths agree too (sd's Monte Carlo error ~ sd / sqrt(2 ESS)).
        sd_tol = 4 * sd_r[name] * np.sqrt(1 / (2 * ess_w[name]) + 1 / (2 * ess_r[name]))
        assert bool((np.abs(sd_w[name] - sd_r[name]) < sd_tol).all()), name
    # The weights changed the answer: the unweighted fit is far outside that error.
    diff_u = np.abs(mean_u["coef"] - mean_r["coef"]) / sd_r["coef"]
    assert float(diff_u.max()) > 0.5


def test_sample_weight_of_none_or_ones_is_the_unweighted_fit():
    X, y, _ = _data()
    a = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    b = BayesianLinearRegression(inference="exact", random_state=0).fit(
        X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)


@pytest.mark.parametrize("bad, match", [
    (-1.0, "(?i)negative"),
    (np.inf, "infinity|NaN"),
    (np.nan, "NaN"),
])
def test_invalid_sample_weight_is_a_value_error(bad, match):
    X, y, _ = _data()
    w = np.ones(len(y))
    w[3] = bad
    with pytest.raises(ValueError, match=match):
        BayesianLinearRegression(inference="exact").fit(X, y, sample_weight=w)


def test_all_zero_or_misshapen_sample_weight_is_a_value_error():
    X, y, _ = _data()
    model = BayesianLinearRegression(inference="exact")
    with pytest.raises(ValueError, match="zero"):
        model.fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="shape"):
        model.fit(X, y, sample_weight=np.ones(len(y) + 1))
    with pytest.raises(ValueError, match="1D"):
        model.fit(X, y, sample_weight=np.ones((len(y), 2)))
    assert not hasattr(model, "coef_")


@pytest.mark.parametrize("case", ["gaussian-groups", "bernoulli", "categorical"])
def test_pymc_model_weighted_log_density_equals_the_duplicated_rows(case):
    from reference_map import reference_model

    opts = KERNEL_CASES[case]
    spec, X_z, y, designs, w = _kernel_case(opts["family"], opts["groups"])
    weighted = reference_model(spec, X_z, y, sample_weight=w.astype(float),
                               group_designs=designs)
    repeated = reference_model(spec, np.repeat(X_z, w, axis=0), np.repeat(y, w),
                               group_designs=_repeated(designs, w))
    plain = reference_model(spec, X_z, y, group_designs=designs)
    # the documented name: new weights go in with pm.set_data("sample_weight", ...)
    assert "sample_weight" in weighted.named_vars
    assert "sample_weight" not in plain.named_vars
    logp_w, logp_r, logp_p = (m.compile_logp() for m in (weighted, repeated, plain))
    dlogp_w, dlogp_r = weighted.compile_dlogp(), repeated.compile_dlogp()
    rng = np.random.default_rng(3)
    for _ in range(3):
        point = {
            name: value + rng.normal(scale=0.3, size=np.shape(value))
            for name, value in repeated.initial_point().items()
        }
        np.testing.assert_allclose(logp_w(point), logp_r(point), rtol=1e-10)
        np.testing.assert_allclose(dlogp_w(point), dlogp_r(point), rtol=1e-9, atol=1e-9)
        assert abs(logp_p(point) - logp_r(point)) > 1e-3 * abs(logp_r(point))


def test_pymc_sampler_runs_with_weights():
    X, y, w = _data(n=30)
    # tune=300: pm.sample adapts the original-scale reference model's diagonal mass
    # matrix from ones, and coefficient sds here span 1e-2..1e2 (100 warm-up draws
    # left coef[1] 4 sd off; nutpie's gradient-based start needs no more than 100)
    settings = dict(nuts_sampler="pymc", draws=100, tune=300, chains=1, progressbar=False,
                    random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = BayesianLinearRegression(**settings).fit(X, y, sample_weight=w)
    exact = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y, sample_weight=w)
    sd = exact.posterior_["coef"].std(("chain", "draw")).values
    # 100 draws: a generous 6 sd / sqrt(100) on the mean (ESS not asserted here;
    # the Monte Carlo comparison against duplicated rows is the kernel test's)
    assert np.all(np.abs(weighted.coef_ - exact.coef_) < 6 * sd / np.sqrt(100) + 0.05 * sd)


def test_hierarchical_exact_weighted_equals_duplicated_rows():
    X, y, w = _data()
    # group=None: one pooled group: the linear model, through the hierarchical estimator.
    a = HierarchicalRegression(inference="exact", random_state=0).fit(X, y, sample_weight=w)
    b = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)


def test_weights_pass_through_pipeline_search_cv_and_calibration():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import GridSearchCV, cross_validate
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, w = _data(n=40)
    w = w.astype(float)
    seen = []

    class Spy(BayesianLinearRegression):
        def fit(self, X, y, sample_weight=None):
            seen.append(None if sample_weight is None else len(sample_weight))
            return super().fit(X, y, sample_weight=sample_weight)

    exact = dict(inference="exact", draws=50, chains=1, random_state=0)
    pipe = Pipeline([("s", StandardScaler()), ("e", Spy(**exact))]).fit(X, y, e__sample_weight=w)
    assert seen == [40]
    direct = Spy(**exact).fit(StandardScaler().fit_transform(X), y, sample_weight=w)
    np.testing.assert_allclose(pipe[-1].coef_, direct.coef_, rtol=1e-8)
    seen.clear()
    GridSearchCV(Spy(**exact), {"prior_scale": [1.0]}, cv=4).fit(X, y, sample_weight=w)
    assert seen == [30, 30, 30, 30, 40]
    seen.clear()
    cross_validate(Spy(**exact), X, y, cv=4, params={"sample_weight": w})
    assert seen == [30] * 4

    yb = (X[:, 0] > np.median(X[:, 0])).astype(int)
    seen_clf = []

    class SpyClassifier(BayesianLogisticRegression):
        def fit(self, X, y, sample_weight=None):
            seen_clf.append(None if sample_weight is None else len(sample_weight))
            return super().fit(X, y, sample_weight=sample_weight)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CalibratedClassifierCV(
            SpyClassifier(inference="advi", max_iter=200, draws=50, chains=1,
                          progressbar=False, random_state=0), cv=2,
        ).fit(X, yb, sample_weight=w + 1.0)
    # sklearn warns "... does not appear to accept sample_weight" when it drops them
    assert not [c for c in caught if "sample_weight" in str(c.message)]
    assert seen_clf == [20, 20]


def test_advi_weighted_equals_duplicated_rows():
    # Full-batch ADVI is deterministic given the target: the same log density
    # gives the same optimisation up to rounding of the summation order.
    X, y, w = _data(n=40)
    settings = dict(inference="advi", draws=300, chains=1, progressbar=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = BayesianLinearRegression(**settings).fit(X, y, sample_weight=w)
        repeated = BayesianLinearRegression(**settings).fit(np.repeat(X, w, axis=0),
                                                            np.repeat(y, w))
    sd = repeated.posterior_["coef"].std(("chain", "draw")).values
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=0, atol=1e-3 * sd.min())
    # the reported ELBO too: its constants count sum(w) rows, as the repeated data do
    assert len(weighted.elbo_history_) == len(repeated.elbo_history_)
    np.testing.assert_allclose(weighted.elbo_history_, repeated.elbo_history_, rtol=1e-6)


def test_minibatch_advi_counts_the_weights():
    # Every row weighted 3 is the data three times: the posterior sds shrink by
    # sqrt(3) (n = 4000 rows, so the prior's share is negligible). Minibatch
    # ADVI's sds carry ~10% noise; ignoring the weights would give a ratio of 1.
    rng = np.random.default_rng(4)
    X = 1e3 + 50.0 * rng.standard_normal((4000, 2))
    y = 2e3 + X @ [0.3, -0.2] + 5.0 * rng.standard_normal(4000)
    settings = dict(inference="advi", batch_size=200, draws=2000, chains=1,
                    progressbar=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = BayesianLinearRegression(**settings).fit(X, y, sample_weight=np.full(4000, 3.0))
        plain = BayesianLinearRegression(**settings).fit(X, y)
    ratio = (weighted.posterior_["coef"].std(("chain", "draw"))
             / plain.posterior_["coef"].std(("chain", "draw"))).values
    np.testing.assert_array_less(np.abs(ratio * np.sqrt(3.0) - 1.0), 0.25)


def test_minibatch_rows_keep_their_weight_times_n_over_b():
    from bayes_sklearn.inference import _kernel as k
    from bayes_sklearn.inference.advi import _Minibatches

    spec, X_z, y, _, w = _kernel_case("bernoulli", False, n=12)
    batches = _Minibatches(spec, X_z, y, 4, sample_weight=w)
    batches.refill(np.random.default_rng(0))
    pointed = np.ctypeslib.as_array(
        (np.ctypeslib.ctypes.c_double * 4).from_address(int(batches.packed.header[k.P_ROW_WEIGHT]))
    )
    np.testing.assert_array_equal(pointed, 3.0 * w[batches.rows])
    np.testing.assert_array_equal(batches.y_batch, y[batches.rows])


# --- class_weight ---------------------------------------------------------


def _binary(n=40, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [30.0, 0.1] + [500.0, 0.0]
    y = np.where(X[:, 0] - 500.0 + rng.logistic(scale=20.0, size=n) > 10.0, "yes", "no")
    return X, y


ADVI = dict(inference="advi", max_iter=400, draws=100, chains=1, progressbar=False,
            random_state=0)


def _fit_quiet(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


@pytest.mark.parametrize("estimator", [BayesianLogisticRegression, HierarchicalLogisticRegression])
def test_class_weight_dict_is_sample_weight_per_class(estimator):
    X, y = _binary()
    sw = np.random.default_rng(0).integers(1, 3, size=len(y)).astype(float)
    sw_before = sw.copy()
    by_class = _fit_quiet(estimator(class_weight={"no": 3.0}, **ADVI), X, y, sample_weight=sw)
    by_row = _fit_quiet(estimator(**ADVI), X, y, sample_weight=sw * np.where(y == "no", 3.0, 1.0))
    plain = _fit_quiet(estimator(**ADVI), X, y, sample_weight=sw)
    np.testing.assert_array_equal(sw, sw_before)
    np.testing.assert_allclose(by_class.coef_, by_row.coef_, rtol=1e-12)
    assert np.abs(by_class.intercept_ - plain.intercept_).max() > 0.1


def test_class_weight_balanced_weighs_classes_by_inverse_frequency():
    X, y = _binary()
    n_no, n_yes = (y == "no").sum(), (y == "yes").sum()
    assert n_no != n_yes
    # n / (n_classes * count): written out, not from compute_class_weight
    manual = np.where(y == "no", len(y) / (2 * n_no), len(y) / (2 * n_yes))
    balanced = _fit_quiet(BayesianLogisticRegression(class_weight="balanced", **ADVI), X, y)
    by_row = _fit_quiet(BayesianLogisticRegression(**ADVI), X, y, sample_weight=manual)
    np.testing.assert_allclose(balanced.coef_, by_row.coef_, rtol=1e-10)


def test_class_weight_with_unknown_class_or_bad_value_is_a_value_error():
    X, y = _binary()
    with pytest.raises(ValueError, match="not in class_weight|class_weight"):
        BayesianLogisticRegression(class_weight={"maybe": 2.0}, **ADVI).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        BayesianLogisticRegression(class_weight="equal", **ADVI).fit(X, y)


def test_balanced_class_weight_with_a_class_of_zero_weight_is_a_value_error():
    X, y = _binary()
    w = np.where(y == "no", 0.0, 1.0)
    with pytest.raises(ValueError, match="class_weight='balanced'.*'no'.*sum to zero"):
        BayesianLogisticRegression(class_weight="balanced", **ADVI).fit(X, y, sample_weight=w)


def test_response_scale_is_that_of_the_duplicated_rows():
    from bayes_sklearn.inference.response import ResponseScale

    _, y, w = _data()
    weighted = ResponseScale.fit(y, w)
    repeated = np.repeat(y, w)
    assert weighted.center == pytest.approx(repeated.mean(), rel=1e-12)
    assert weighted.scale == pytest.approx(repeated.std(), rel=1e-12)
    # the weights matter here: the unweighted centre is elsewhere
    assert abs(ResponseScale.fit(y).center - repeated.mean()) > 1e-3 * repeated.std()


def test_sample_exact_draws_from_the_weighted_posterior():
    from bayes_sklearn.inference.exact import exact_posterior, sample_exact
    from bayes_sklearn.inference.settings import InferenceSettings

    X, y, w = _data()
    spec, X_z = _spec_and_z(X, y, w)
    settings = InferenceSettings(method="exact", draws=4000, chains=1, seed=0)
    draws = sample_exact(spec, X_z, y, settings, sample_weight=w)
    mean, cov = exact_posterior(spec, X_z, y, w).moments()
    sd = np.sqrt(np.diag(cov))
    theta = np.column_stack([draws.intercept_z[0, :, 0], draws.coef_z[0, :, :, 0]])
    # independent draws: the Monte Carlo sd of each mean is sd / sqrt(4000)
    np.testing.assert_array_less(np.abs(theta.mean(axis=0) - mean), 5 * sd / np.sqrt(4000))
    # and the unweighted posterior is far outside that band
    mean_u, _ = exact_posterior(*_spec_and_z(X, y), y).moments()
    assert np.max(np.abs(mean_u - mean) / sd) > 0.5


@pytest.mark.parametrize("row_weight", [1.0, 2.5])
def test_integer_sample_weight_reaches_the_kernel_as_floats(row_weight):
    from bayes_sklearn.inference._kernel import log_density
    from bayes_sklearn.inference.packing import pack_model

    spec, X_z, y, _, w = _kernel_case("bernoulli", False)
    assert w.dtype.kind == "i"
    as_int = pack_model(spec, X_z, y, row_weight=row_weight, sample_weight=w)
    as_float = pack_model(spec, X_z, y, row_weight=row_weight, sample_weight=w.astype(float))
    theta = as_float.initial_point + 0.1
    np.testing.assert_array_equal(log_density(as_int.header, theta)[1],
                                  log_density(as_float.header, theta)[1])
    assert log_density(as_int.header, theta)[0] == log_density(as_float.header, theta)[0]


# --- weighted pointwise log likelihood (LOO/WAIC of the weighted model) -----

def _grouped(X):
    """X with a group column (labels 0..2) in front, for the hierarchical estimators."""
    return np.column_stack([np.arange(len(X)) % 3, X])


def _fitted_for_log_lik(estimator):
    """A cheap weighted fit of ``estimator`` on ``_data`` and the rows it was fitted to."""
    X, y, w = _data()
    settings = dict(random_state=0, progressbar=False)
    if estimator in (BayesianLogisticRegression, HierarchicalLogisticRegression):
        y = (X[:, 0] - 1e3 + np.random.default_rng(1).logistic(scale=30.0, size=len(y)) > 0)
        y = y.astype(int)
    if estimator in (HierarchicalRegression, HierarchicalLogisticRegression):
        X = _grouped(X)
        settings["group"] = 0
    if estimator is BayesianLinearRegression:
        settings.update(inference="exact", draws=150, chains=2)
    else:
        settings.update(inference="advi", max_iter=300, draws=150, chains=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = estimator(**settings).fit(X, y, sample_weight=w)
    return model, X, y, w


ALL_ESTIMATORS = [BayesianLinearRegression, BayesianLogisticRegression,
                  HierarchicalRegression, HierarchicalLogisticRegression]


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS)
def test_weighted_log_likelihood_is_the_weight_times_each_rows_value(estimator):
    model, X, y, w = _fitted_for_log_lik(estimator)
    plain = model.log_likelihood(X, y)
    weighted = model.log_likelihood(X, y, sample_weight=w)
    assert weighted.shape == plain.shape == (2, 150, len(y))
    np.testing.assert_allclose(weighted, w * plain, rtol=1e-12)
    assert np.all(weighted[..., w == 0] == 0.0)
    # the weights matter: rows of weight 2 and 3 are not their unweighted value
    assert not np.allclose(weighted[..., 1:3], plain[..., 1:3])


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS)
def test_weighted_log_likelihood_sums_to_that_of_the_duplicated_rows(estimator):
    # Per draw, the joint log likelihood of the weighted rows is that of the data
    # with each row repeated w times: the likelihood the weighted fit sampled.
    model, X, y, w = _fitted_for_log_lik(estimator)
    repeated = model.log_likelihood(np.repeat(X, w, axis=0), np.repeat(y, w))
    weighted = model.log_likelihood(X, y, sample_weight=w)
    np.testing.assert_allclose(weighted.sum(axis=-1), repeated.sum(axis=-1), rtol=1e-10)
    unweighted = model.log_likelihood(X, y)
    assert np.all(np.abs(unweighted.sum(axis=-1) - repeated.sum(axis=-1)) > 1e-3)


def test_compute_log_likelihood_stores_the_weighted_values_for_loo():
    import arviz as az

    model, X, y, w = _fitted_for_log_lik(BayesianLinearRegression)
    idata = model.compute_log_likelihood(X, y, sample_weight=w)
    stored = idata.log_likelihood["y"]
    assert stored.dims == ("chain", "draw", "obs")
    np.testing.assert_array_equal(stored.values, model.log_likelihood(X, y, sample_weight=w))
    # WAIC's lppd is the sum over rows of log mean_s exp(w_i * log p(y_i | theta_s))
    flat = stored.values.reshape(-1, len(y))
    lppd = np.sum(np.log(np.mean(np.exp(flat), axis=0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few draws, heavy rows: arviz's warnings
        waic = az.waic(idata, pointwise=True)
    np.testing.assert_allclose(waic.elpd_waic + waic.p_waic, lppd, rtol=1e-10)
    # Without weights it is the unweighted model's again.
    np.testing.assert_array_equal(model.compute_log_likelihood(X, y).log_likelihood["y"].values,
                                  model.log_likelihood(X, y))


@pytest.mark.parametrize("bad, match", [
    (-1.0, "(?i)negative"),
    (np.inf, "infinity|NaN"),
    (np.nan, "NaN"),
])
@pytest.mark.parametrize("method", ["log_likelihood", "compute_log_likelihood"])
def test_invalid_log_likelihood_weights_are_a_value_error(method, bad, match):
    model, X, y, _ = _fitted_for_log_lik(BayesianLinearRegression)
    w = np.ones(len(y))
    w[3] = bad
    with pytest.raises(ValueError, match=match):
        getattr(model, method)(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="shape"):
        getattr(model, method)(X, y, sample_weight=np.ones(len(y) + 1))
    with pytest.raises(ValueError, match="zero"):
        getattr(model, method)(X, y, sample_weight=np.zeros(len(y)))
    # nothing was stored by the failed calls
    assert "log_likelihood" not in model.idata_.groups()


def test_weighted_log_predictive_density_is_that_of_the_duplicated_rows():
    from bayes_sklearn.metrics import log_predictive_density, lpd_scorer

    model, X, y, w = _fitted_for_log_lik(BayesianLinearRegression)
    want = log_predictive_density(model, np.repeat(X, w, axis=0), np.repeat(y, w))
    got = log_predictive_density(model, X, y, sample_weight=w)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert abs(log_predictive_density(model, X, y) - want) > 1e-3 * abs(want)
    np.testing.assert_allclose(lpd_scorer(model, X, y, sample_weight=w), want, rtol=1e-10)
    with pytest.raises(ValueError, match="(?i)negative"):
        log_predictive_density(model, X, y, sample_weight=-np.ones(len(y)))


def test_lpd_scorer_gets_the_test_folds_weights_through_metadata_routing():
    import sklearn
    from sklearn.model_selection import KFold, cross_validate

    from bayes_sklearn.metrics import log_predictive_density, lpd_scorer

    X, y, w = _data(n=30)
    with sklearn.config_context(enable_metadata_routing=True):
        estimator = BayesianLinearRegression(inference="exact", random_state=0)
        result = cross_validate(estimator.set_fit_request(sample_weight=True), X, y,
                                cv=KFold(3), scoring=lpd_scorer, params={"sample_weight": w},
                                return_estimator=True, return_indices=True)
    for score, fitted, test in zip(result["test_score"], result["estimator"],
                                   result["indices"]["test"]):
        rows = np.repeat(test, w[test])
        np.testing.assert_allclose(score, log_predictive_density(fitted, X[rows], y[rows]),
                                   rtol=1e-10)
