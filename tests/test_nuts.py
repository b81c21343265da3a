"""The samplers of the PyMC engine (inference/nuts.py, inference/pymc_engine.py), piece by piece.

What reaches ``pm.sample`` and nutpie's core from the settings, which
warnings and log lines are silenced, and how a trace of the reference model
becomes a :class:`SamplerResult`, checked with stand-ins for the samplers (no
compilation); one tiny fit with PyMC's sampler (~1-2 s) checks that the real
trace has the shape the stand-ins assume. The statistical agreement of both
samplers with the exact posterior is in test_linear.py; the compile-once cache
in test_pymc_engine.py.
"""

import dataclasses
import logging
import warnings

import arviz as az
import numpy as np
import pymc as pm
import pytest

from bayes_sklearn._draws import posterior_draws
from bayes_sklearn.inference import nuts, pymc_engine
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model import pymc_model
from bayes_sklearn.model.spec import resolve_model_spec

LOGGERS = ("pymc", "pymc.sampling.mcmc", "pymc.stats.convergence")
BLAS = ("PyTensor could not link to a BLAS installation. Operations that might benefit "
        "from BLAS will be severely degraded.\n")


@pytest.fixture
def restore_loggers():
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_pymc_info_logs_are_quieted_but_warnings_still_show(restore_loggers):
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    nuts.quiet_pymc_logging()
    assert {name: logging.getLogger(name).level for name in LOGGERS} == dict.fromkeys(
        LOGGERS, logging.WARNING)


def _emit(message, module):
    warnings.warn_explicit(message, UserWarning, "somewhere.py", 1, module=module)


def test_backend_warnings_are_filtered_and_ours_are_not():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with nuts.backend_warnings_filtered():
            _emit("The rhat statistic is larger than 1.01", "pymc.stats.convergence")
            _emit("Chain 0 reached the maximum tree depth", "pymc.sampling.mcmc")
            _emit(BLAS, "pytensor.link.c.cmodule")
            _emit("R-hat 1.2 > 1.01 for coef", "bayes_sklearn.diagnostics")
            _emit("something else", "pytensor.link.c.cmodule")
        # the filters end with the block
        _emit("after the block", "pymc.sampling.mcmc")
    assert [(str(w.message), w.filename) for w in caught] == [
        ("R-hat 1.2 > 1.01 for coef", "somewhere.py"),
        ("something else", "somewhere.py"),
        ("after the block", "somewhere.py"),
    ]


def _posterior(chains=2, draws=3, n_coef=2, dtype=np.float32):
    """An original-scale posterior whose every value says where it sits: 1000 chain + draw."""
    grid = lambda *shape: (np.arange(chains)[:, None] * 1000.0  # noqa: E731
                           + np.arange(draws)).reshape(chains, draws, *[1] * len(shape))
    ones = lambda *shape: np.ones((chains, draws, *shape))  # noqa: E731
    values = {
        "intercept": grid() + 0.5,
        "coef": grid(1) + np.arange(n_coef) / 10 * ones(n_coef),
        "sigma": grid() + 0.25,
    }
    return {name: value.astype(dtype) for name, value in values.items()}


def test_reference_draws_map_to_the_pipelines_layout_and_back():
    """reference_to_result is the inverse of posterior_draws's map to the original scale."""
    spec, X_z, y = _spec_and_data()
    values = _posterior()
    stats = {"diverging": np.zeros((2, 3), bool)}
    result = pymc_engine.reference_to_result(spec, az.from_dict(posterior=values).posterior,
                                             "m", sample_stats=stats)
    assert result.coef_z.dtype == np.float64 and result.coef_z.shape == (2, 3, 2, 1)
    assert result.method == "m" and result.sample_stats is stats
    np.testing.assert_allclose(result.coef_z[..., 0],
                               values["coef"] * spec.standardizer.scale, rtol=1e-6)
    back = posterior_draws(spec, result, None)
    for name in ("intercept", "coef", "sigma"):
        np.testing.assert_allclose(back.values(name), values[name], rtol=1e-6, err_msg=name)
    assert result.group_terms == ()


class _Recorder:
    def __init__(self, answer="trace"):
        self.calls, self.answer = [], answer

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.answer


SETTINGS = InferenceSettings(draws=7, tune=11, chains=3, target_accept=0.93, seed=42,
                             progressbar=True)


@pytest.mark.parametrize("nuts_init, init", [("auto", "auto"), ("advi", "advi+adapt_diag")])
def test_settings_reach_pm_sample_inside_the_model(monkeypatch, nuts_init, init):
    seen = []

    def sample(**kwargs):
        seen.append((pm.modelcontext(None), kwargs))
        _emit(BLAS, "pytensor.link.c.cmodule")
        return "trace"

    monkeypatch.setattr(pm, "sample", sample)
    monkeypatch.setattr(nuts.os, "cpu_count", lambda: 8)
    model = pm.Model()
    settings = dataclasses.replace(SETTINGS, nuts_init=nuts_init)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert nuts._sample_pymc(model, settings) == "trace"
    assert not caught
    assert seen == [(model, dict(
        draws=7, tune=11, chains=3, cores=3, target_accept=0.93, random_seed=42,
        progressbar=True, init=init, compute_convergence_checks=False,
        idata_kwargs={"log_likelihood": False},
    ))]


@pytest.mark.parametrize("cpus, chains, cores", [(8, 3, 3), (2, 3, 2), (8, 1, 1), (None, 3, 1)])
def test_pymc_gets_a_core_per_chain_up_to_the_machine(monkeypatch, cpus, chains, cores):
    """``None``: the OS does not say how many CPUs there are."""
    record = _Recorder()
    monkeypatch.setattr(pm, "sample", record)
    monkeypatch.setattr(nuts.os, "cpu_count", lambda: cpus)
    nuts._sample_pymc(pm.Model(), InferenceSettings(chains=chains))
    assert record.calls[0][1]["cores"] == cores


class _Compiled:
    """The engine's compiled model, as far as ``_sample_entry`` uses it."""

    def __init__(self, model):
        self.model, self.densities = model, []

    def density(self, values, start):
        self.densities.append((values, start))
        return "density"

    def split(self, draws):
        return {"coef": draws}


def test_settings_and_this_fits_data_reach_nutpie(monkeypatch):
    """The density gets this fit's data; the start point is PyMC's at this fit's
    prior values (read from the cached model once its data are set)."""
    from bayes_sklearn.inference import compiled_model, nutpie_run

    model = pm.Model()
    with model:
        pm.Data("X", np.zeros((2, 2)))
        pm.Data("x_mean", np.zeros(2))
    compiled = _Compiled(model)
    ran = []

    def run_nuts(density, settings, *, adapt_to_gradients):
        ran.append((density, settings, adapt_to_gradients))
        return np.ones((3, 7, 2)), {"diverging": np.zeros((3, 7), bool)}

    def start_point(given):
        assert given is compiled
        return model["x_mean"].get_value().copy()

    monkeypatch.setattr(nutpie_run, "run_nuts", run_nuts)
    monkeypatch.setattr(compiled_model, "start_point", start_point)
    entry = pymc_engine._Entry(model, compiled)
    values = {"X": np.ones((5, 2)), "x_mean": np.full(2, 3.0)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        posterior, stats = pymc_engine._sample_entry(entry, values, SETTINGS, False)
    assert not caught
    assert ran == [("density", SETTINGS, False)]
    ((given, start),) = compiled.densities
    assert given is values
    np.testing.assert_array_equal(start, [3.0, 3.0])
    np.testing.assert_array_equal(posterior["coef"], np.ones((3, 7, 2)))
    assert set(stats) == {"diverging"}
    # the cached model's own data hold this fit's values
    np.testing.assert_array_equal(model["X"].get_value(), values["X"])


def _spec_and_data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [10.0, 0.1] + [100.0, -5.0]
    y = 40.0 + X @ [0.5, 20.0] + rng.normal(size=n)
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y)
    return spec, np.ascontiguousarray(spec.standardizer.transform(X)), y


def _trace(chains=2, draws=3):
    """What the samplers return: per-draw stats and, as some nutpie releases
    add, a per-parameter one."""
    return az.from_dict(
        posterior=_posterior(chains, draws),
        sample_stats={
            "diverging": np.arange(chains * draws).reshape(chains, draws) % 2 == 1,
            "step_size": np.linspace(0.1, 0.6, chains * draws).reshape(chains, draws),
            "mass_matrix_inv": np.ones((chains, draws, 4)),
        },
    )


@pytest.mark.parametrize("sampler", ["pymc", "nutpie"])
def test_the_chosen_sampler_runs_on_the_built_model(monkeypatch, restore_loggers, sampler):
    built, ran = [], []

    class Model:
        data_vars = ()
        dim_lengths = {}

    model = Model()

    def build(*args, sample_weight=None, group_designs=None):
        built.append(args)
        assert sample_weight is None and group_designs is None
        return model

    def run_pymc(model, settings):
        ran.append(("pymc", model, settings))
        return _trace()

    def run_nutpie(entry, values, settings, adapt_to_gradients):
        ran.append(("nutpie", entry.model, settings))
        # a model without group terms: nutpie's own adaptation
        assert adapt_to_gradients is True
        trace = _trace()
        return trace.posterior, {name: trace.sample_stats[name].values
                                 for name in ("diverging", "step_size")}

    monkeypatch.setattr(pymc_model, "build_reference_model", build)
    monkeypatch.setattr(nuts, "_sample_pymc", run_pymc)
    monkeypatch.setattr(pymc_engine, "_compiled_entry",
                        lambda key, model: pymc_engine._Entry(model, None))
    monkeypatch.setattr(pymc_engine, "_sample_entry", run_nutpie)
    logging.getLogger("pymc").setLevel(logging.INFO)
    spec, X_z, y = _spec_and_data()
    settings = InferenceSettings(nuts_sampler=sampler)
    result = pymc_engine.sample_reference_model(spec, X_z, y, settings, sampler=sampler)
    assert built == [(spec, X_z, y)]
    assert ran == [(sampler, model, settings)]
    assert logging.getLogger("pymc").level == logging.WARNING
    assert result.method == ("nuts (pymc)" if sampler == "pymc" else "nuts (nutpie)")
    # per-draw stats only, as arrays
    trace = _trace()
    assert set(result.sample_stats) == {"diverging", "step_size"}
    for name in ("diverging", "step_size"):
        np.testing.assert_array_equal(result.sample_stats[name], trace.sample_stats[name].values)
    np.testing.assert_allclose(result.coef_z[..., 0],
                               trace.posterior["coef"].values * spec.standardizer.scale)


@pytest.fixture(scope="module")
def pymc_fit():
    spec, X_z, y = _spec_and_data()
    settings = InferenceSettings(draws=20, tune=20, chains=1, seed=1, nuts_sampler="pymc")
    X = X_z * spec.standardizer.scale + spec.standardizer.center
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 20 warm-up draws: PyMC's tuning warnings
        return pymc_engine.sample_reference_model(spec, X, y, settings, sampler="pymc")


def test_a_pymc_fit_gives_draws_and_per_draw_stats(pymc_fit):
    assert pymc_fit.method == "nuts (pymc)"
    assert pymc_fit.intercept_z.shape == (1, 20, 1)
    assert pymc_fit.coef_z.shape == (1, 20, 2, 1)
    assert pymc_fit.sigma.shape == (1, 20)
    assert pymc_fit.group_terms == ()
    assert {"diverging", "step_size", "tree_depth", "lp"} <= set(pymc_fit.sample_stats)
    assert all(v.shape == (1, 20) for v in pymc_fit.sample_stats.values())
    assert pymc_fit.sample_stats["diverging"].dtype == bool
    assert np.all(pymc_fit.sample_stats["step_size"] > 0)
    assert np.all(pymc_fit.sigma > 0)


def test_advi_start_points_are_refused_with_nutpie_rather_than_ignored(regression_data):
    from bayes_sklearn import BayesianLinearRegression

    X, y = regression_data
    model = BayesianLinearRegression(nuts_sampler="nutpie", nuts_init="advi", draws=10, tune=10,
                                     chains=1, progressbar=False)
    with pytest.raises(ValueError) as error:
        model.fit(X, y)
    # the whole message: the user reads both options and the way out
    assert str(error.value) == (
        "nuts_init='advi' is not available with nuts_sampler='nutpie'; use "
        "nuts_sampler='auto' or 'pymc' for ADVI start points, or nuts_init='auto'.")
