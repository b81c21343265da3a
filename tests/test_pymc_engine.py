"""The PyMC engine: routing by coverage, the compile-once cache, ``engine_``.

Compiling a structure costs ~1-2 s (several more the first time on a machine,
before PyTensor's and numba's disk caches hold it), so the tests share two
structures: the linear model with normal priors (forced onto the engine with
``nuts_sampler="nutpie"``) and the same model with a prior outside the kernel.
"""

import dataclasses
import io
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from test_engine_equivalence import LOCATION_EXAMPLES, SCALE_EXAMPLES

from bayes_sklearn import BayesianLinearRegression
from bayes_sklearn.diagnostics import BayesianConvergenceWarning
from bayes_sklearn.inference import InferenceSettings, choose_engine, pymc_engine, run_inference
from bayes_sklearn.inference.coverage import kernel_gap
from bayes_sklearn.inference.packing import _LOCATION_KINDS, _SCALE_KINDS
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import Exponential, HalfNormal, Normal

pytest.importorskip("nutpie")

FIT = dict(draws=400, tune=300, chains=2, progressbar=False, nuts_sampler="nutpie")


@dataclasses.dataclass(frozen=True)
class Uniform:
    """A prior the kernel does not know (stands in for the priors branch's Uniform)."""

    lower: float
    upper: float
    pymc_distribution = "Uniform"

    def pymc_parameters(self):
        return {"lower": self.lower, "upper": self.upper}


def _data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [40.0, 0.05] + [500.0, -2.0]
    y = 3000.0 + X @ [1.5, -200.0] + rng.normal(scale=20.0, size=n)
    return X, y


def _within_mc_error(fitted, exact, names=("intercept", "coef")):
    """Posterior means agree within 5 Monte Carlo standard errors (ESS from ArviZ)."""
    import arviz as az

    for name in names:
        draws = fitted.posterior_[name]
        mean = draws.mean(("chain", "draw")).values
        ess = np.atleast_1d(az.ess(fitted.posterior_, var_names=[name])[name].values)
        sd = exact.posterior_[name].std(("chain", "draw")).values
        se = sd / np.sqrt(ess)  # exact draws' own error is far smaller (4000 iid draws)
        target = exact.posterior_[name].mean(("chain", "draw")).values
        assert np.all(np.abs(mean - target) < 5 * se + 0.02 * sd), (name, mean, target, se)


@pytest.fixture(scope="module")
def first_fit():
    X, y = _data(80, 0)
    before = pymc_engine.compile_count()
    model = BayesianLinearRegression(random_state=0, **FIT).fit(X, y)
    return model, before


def test_the_engine_samples_the_estimators_posterior(first_fit):
    model, _ = first_fit
    X, y = _data(80, 0)
    assert model.engine_ == "pymc"
    assert model.inference_method_ == "nuts (nutpie)"
    exact = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    _within_mc_error(model, exact, ("intercept", "coef", "sigma"))


def test_a_second_fit_of_the_structure_reuses_the_compilation(first_fit):
    """New rows (a different count), new data and new prior values: only values swapped."""
    _, before = first_fit
    compiled = pymc_engine.compile_count()
    X, y = _data(55, 1)
    priors = {"x0": Normal(1.0, 0.01), "x1": Normal(-150.0, 30.0)}  # strong, off the data
    est = BayesianLinearRegression(priors=priors, prior_noise=Exponential(5.0),
                                   random_state=1, **FIT).fit(X, y)
    assert pymc_engine.compile_count() == compiled
    exact = BayesianLinearRegression(inference="exact", priors=priors,
                                     prior_noise=Exponential(5.0), random_state=0).fit(X, y)
    # the strong prior moved the posterior: a stale prior would fail this
    assert abs(exact.coef_[0] - 1.0) < abs(exact.coef_[0] - 1.5)
    _within_mc_error(est, exact)


def _uniform_spec(X, y):
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y)
    return dataclasses.replace(spec, coef_priors=(Uniform(0.0, 1.0), spec.coef_priors[1]))


def test_a_prior_outside_the_kernel_runs_on_the_engine():
    X, y = _data(60, 2)  # the data want a = 1.5: the prior caps it at 1
    spec = _uniform_spec(X, y)
    assert kernel_gap(spec) == "the coefficient 'a' has the prior " + repr(Uniform(0.0, 1.0))
    settings = InferenceSettings(draws=300, tune=300, chains=1, seed=3)
    assert choose_engine(spec, settings) == "pymc"
    result = run_inference(spec, spec.standardizer.transform(X), y, settings)
    assert result.engine == "pymc"
    a = result.coef_z[..., 0, 0] / spec.standardizer.scale[0]
    assert np.all((a > 0.0) & (a < 1.0))
    assert a.mean() > 0.9  # piled against the bound


def test_advi_refuses_a_prior_outside_the_kernel():
    X, y = _data(30, 2)
    spec = _uniform_spec(X, y)
    with pytest.raises(ValueError, match=r"inference='advi' .*coefficient 'a'.*Uniform.*"
                                         r"inference='nuts'"):
        choose_engine(spec, InferenceSettings(method="advi"))


def test_engine_values():
    X, y = _data(40, 4)
    kernel = BayesianLinearRegression(draws=50, tune=50, chains=1, progressbar=False,
                                      random_state=0).fit(X, y)
    exact = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    advi = BayesianLinearRegression(inference="advi", max_iter=200, random_state=0).fit(X, y)
    assert (kernel.engine_, exact.engine_, advi.engine_) == ("kernel", "exact", "kernel")


def test_an_engine_fit_clones_pickles_and_saves_as_plain_data(first_fit, tmp_path):
    model, _ = first_fit
    X, _ = _data(80, 0)
    blob = pickle.dumps(model)
    # the classes the pickle refers to: none of the compiled engine's
    modules = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module, name):
            modules.add(module.split(".")[0])
            return super().find_class(module, name)

    Recording(io.BytesIO(blob)).load()
    assert not modules & {"nutpie", "pytensor", "numba", "pymc"}, modules
    restored = pickle.loads(blob)
    assert restored.engine_ == "pymc"
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert clone(model).get_params() == model.get_params()
    loaded = BayesianLinearRegression.load(model.save(tmp_path / "m.nc"))
    assert loaded.engine_ == "pymc"


def test_coverage_reads_the_kernels_tables():
    X, y = _data(20, 5)
    base = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y)
    for kind in _LOCATION_KINDS:
        intercept, a, b, _ = LOCATION_EXAMPLES[kind]
        assert kernel_gap(dataclasses.replace(base, coef_priors=(a, b))) is None
        assert kernel_gap(dataclasses.replace(base, intercept_prior=intercept)) is None
    for kind in _SCALE_KINDS:
        assert kernel_gap(dataclasses.replace(base, noise_prior=SCALE_EXAMPLES[kind])) is None
    outside = Uniform(0.0, 1.0)
    assert "intercept" in kernel_gap(dataclasses.replace(base, intercept_prior=outside))
    assert "'b'" in kernel_gap(dataclasses.replace(base, coef_priors=(Normal(), outside)))
    assert "sigma" in kernel_gap(dataclasses.replace(base, noise_prior=outside))
    # a location prior is no scale prior, and the other way round
    assert kernel_gap(dataclasses.replace(base, noise_prior=Normal())) is not None
    assert kernel_gap(dataclasses.replace(base, coef_priors=(HalfNormal(), Normal()))) is not None
    assert kernel_gap(dataclasses.replace(base, family="poisson")) == "the family 'poisson'"


def test_coverage_of_group_terms_reads_each_sd_prior():
    """A group term's sds: each effect's prior against the kernel's scale table (a
    PyMC distribution is the reference model's alone); categorical models outside."""
    from bayes_sklearn.model.spec import GroupTerm
    from bayes_sklearn.priors import Uniform as Outside  # a term's sd prior must be a real one

    X, y = _data(30, 7)
    labels = np.arange(30) % 3
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y)
    term = GroupTerm("site", ("u", "v"), ("1|site", "b|site"), (HalfNormal(1.0), HalfNormal(0.5)))
    assert kernel_gap(dataclasses.replace(spec, group_terms=(term,))) is None
    for slot in (0, 1):
        priors = list(term.sd_priors)
        priors[slot] = Outside(0.0, 5.0)
        outside = dataclasses.replace(term, sd_priors=tuple(priors))
        name = term.effect_names[slot]
        assert kernel_gap(dataclasses.replace(spec, group_terms=(outside,))) == (
            f"the sd of the group effect {name!r} has the prior {Outside(0.0, 5.0)!r}")
    import pymc as pm

    gamma = dataclasses.replace(term, sd_priors=(pm.Gamma.dist(2.0, 1.0), HalfNormal(0.5)))
    assert kernel_gap(dataclasses.replace(spec, group_terms=(gamma,))).startswith(
        "the sd of the group effect '1|site' has the prior ")
    categorical = resolve_model_spec(family="categorical", coef_names=["a", "b"], X=X,
                                     y=labels.astype(float), n_outputs=2)
    assert kernel_gap(categorical) is None
    assert kernel_gap(dataclasses.replace(categorical, group_terms=(term,))) == (
        "group terms in a categorical model")


def test_the_cache_is_bounded_and_counts_compilations(monkeypatch):
    from bayes_sklearn.inference import compiled_model

    monkeypatch.setattr(compiled_model, "compile_model", lambda model: ("compiled", model))
    monkeypatch.setattr(pymc_engine, "CACHE_SIZE", 2)
    monkeypatch.setattr(pymc_engine, "_cache", type(pymc_engine._cache)())
    start = pymc_engine.compile_count()
    for key in ("a", "b", "a", "c", "b"):
        pymc_engine._compiled_entry((key,), f"model {key}")
    # a, b compiled; a reused; c evicts b (least recently used); b compiled again
    assert pymc_engine.compile_count() - start == 4
    assert list(pymc_engine._cache) == [("c",), ("b",)]


def test_group_effects_on_the_engine_are_the_kernels_posterior():
    """The shorthand's term (1 + dose | site) on the kernel and on the PyMC engine: one
    posterior, on features far from unit scale (dose ~ 500 +- 40, level ~ -2 +- 0.05)."""
    import arviz as az
    import pandas as pd

    from bayes_sklearn import HierarchicalRegression

    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"dose": rng.normal(size=n) * 40 + 500,
                          "level": rng.normal(size=n) * 0.05 - 2})
    frame["site"] = np.repeat(list("abcd"), 30)
    slope = frame["site"].map({"a": 0.5, "b": 0.0, "c": -0.5, "d": 0.2})
    y = (3000 + 1.5 * frame["dose"] - 200 * frame["level"]
         + frame["site"].map({"a": -30, "b": 0, "c": 20, "d": 50})
         + (frame["dose"] - 500) * slope + rng.normal(scale=10, size=n))
    kw = dict(group="site", varying_slopes=["dose"], draws=500, tune=500, chains=2,
              random_state=0, progressbar=False)
    kernel = HierarchicalRegression(**kw).fit(frame, y)
    engine = HierarchicalRegression(nuts_sampler="nutpie", **kw).fit(frame, y)
    assert (kernel.engine_, engine.engine_) == ("kernel", "pymc")
    def variables(fit):
        post = fit.posterior_
        # the correlation's off-diagonal entry (the diagonal is 1 in every draw)
        rho = post["site_corr"].isel(site__effect=0, site__effect2=1, drop=True)
        return post[["1|site", "dose|site", "1|site_sigma", "dose|site_sigma", "coef",
                     "sigma"]].assign(rho=rho)

    draws = [variables(fit) for fit in (kernel, engine)]
    for name in draws[0].data_vars:
        means = [d[name].mean(("chain", "draw")).values for d in draws]
        se = [d[name].std(("chain", "draw")).values / np.sqrt(az.ess(d[[name]])[name].values)
              for d in draws]
        assert np.all(np.abs(means[0] - means[1]) < 5 * np.hypot(*se)), name


def test_kernel_group_intercepts_without_centring_are_at_x_zero():
    """Found by comparing the engines, on the group effects before group terms: with
    ``center_predictors=False`` the kernel sampled the group intercepts at the feature
    means (its intercept shift) and reported them as if at x = 0, off by slope x mean
    (predictions off by ~65 here). A term's effects are at x = 0 of its own design,
    which the shift never moves."""
    import pandas as pd

    from bayes_sklearn import HierarchicalRegression

    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"dose": rng.normal(size=n) * 4 + 50, "level": rng.normal(size=n)})
    frame["site"] = np.repeat(list("abcd"), 30)
    slope = frame["site"].map({"a": 0.5, "b": 0.0, "c": -0.5, "d": 0.2})
    y = (30 + 1.5 * frame["dose"] + frame["site"].map({"a": -3, "b": 0, "c": 2, "d": 5})
         + (frame["dose"] - 50) * slope + rng.normal(scale=1.0, size=n))
    # four sites and a correlated (1 + dose | site) far from dose = 0: a hard
    # posterior (divergences either way), whose warm-up 300 draws did not always
    # end (one chain stuck, r_hat 2.2, at 300 with the variance-adapted mass matrix)
    kw = dict(group="site", varying_slopes=["dose"], draws=300, tune=600, chains=2,
              random_state=0, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BayesianConvergenceWarning)
        uncentred = HierarchicalRegression(center_predictors=False, **kw).fit(frame, y)
        centred = HierarchicalRegression(**kw).fit(frame, y)
    # the two priors differ only in where the intercept prior sits; with 120 rows the
    # fits agree to well under the noise sd of 1 (the bug was ~65 off)
    assert np.abs(uncentred.predict(frame) - centred.predict(frame)).max() < 0.3
    assert np.sqrt(np.mean((uncentred.predict(frame) - y) ** 2)) < 1.2
