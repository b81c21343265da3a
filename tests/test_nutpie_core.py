"""nutpie's compiled core: the shapes we drive, on whatever nutpie is installed.

CI runs this file once for every nutpie release the pin allows (see .ci/run).
"""

import importlib.metadata
import types

import numpy as np
import pandas as pd
import pytest

from bayes_sklearn import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HierarchicalLogisticRegression,
    HierarchicalRegression,
)
from bayes_sklearn.inference import _nutpie_core
from bayes_sklearn.inference._nutpie_core import NutpieVersionError, check_core, nutpie_core


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3])


def test_installed_core_has_a_known_shape():
    core = nutpie_core()
    assert core.version == importlib.metadata.version("nutpie")
    # 0.16.9 added the extra progress callback to PySampler.from_pymc
    assert core.sampler_takes_callback == (_version_tuple(core.version) >= (0, 16, 9))


def _fake_core(**overrides):
    """A stand-in for nutpie._lib with the real signatures, some replaced."""
    real = nutpie_core().lib

    def entry(signature):
        return types.SimpleNamespace(__text_signature__=signature)

    fake = types.SimpleNamespace()
    for name in _nutpie_core._KNOWN_SIGNATURES:
        owner, _, attribute = name.rpartition(".")
        source = getattr(real, owner) if owner else real
        signature = getattr(source, attribute or name).__text_signature__
        signature = overrides.get(name, signature)
        if owner:
            holder = getattr(fake, owner, None) or types.SimpleNamespace()
            if signature is not None:
                setattr(holder, attribute, entry(signature))
            setattr(fake, owner, holder)
        elif signature is not None:
            setattr(fake, name, entry(signature))
    return fake


def test_real_signatures_pass_the_check():
    assert check_core(_fake_core(), "0.16.x").sampler_takes_callback in (True, False)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"PySampler.from_pymc": "(settings, cores, model, progress_type, callback, store)"},
         r"PySampler.from_pymc\(settings, cores, model, progress_type, callback, store\)"),
        ({"PyMcModel": None}, "PyMcModel is missing"),
    ],
)
def test_an_unknown_shape_fails_naming_the_versions(override, expected):
    with pytest.raises(NutpieVersionError, match=expected) as error:
        check_core(_fake_core(**override), "0.17.2")
    message = str(error.value)
    assert "nutpie 0.17.2 is installed" in message
    assert _nutpie_core.TESTED_VERSIONS in message
    assert "nuts_sampler='pymc'" in message
    assert isinstance(error.value, ImportError)


@pytest.mark.parametrize("sampler", ["auto", "nutpie"])
def test_an_unknown_core_fails_the_fit_before_sampling(monkeypatch, regression_data, sampler):
    """On the kernel and on the PyMC engine, whose compilation it also precedes."""
    def refuse():
        raise NutpieVersionError("nutpie 9.9 is installed, but ...")

    from bayes_sklearn.inference import nutpie_run, pymc_engine

    monkeypatch.setattr(nutpie_run, "nutpie_core", refuse)
    compiled = pymc_engine.compile_count()
    X, y = regression_data
    model = BayesianLinearRegression(draws=50, tune=50, chains=1, progressbar=False,
                                     nuts_sampler=sampler)
    with pytest.raises(NutpieVersionError, match="nutpie 9.9"):
        model.fit(X, y)
    assert not hasattr(model, "posterior_")
    assert pymc_engine.compile_count() == compiled


def _grouped(n=120, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    groups = rng.integers(0, 4, size=n)
    return X, groups, rng


@pytest.mark.filterwarnings("ignore::bayes_sklearn.BayesianConvergenceWarning")
@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "categorical", "hier_gaussian",
                                    "hier_bernoulli"])
def test_every_family_samples_with_the_installed_core(family):
    """Each path through the precompiled kernel runs and returns the requested
    draws, settings included (draws, tune, chains reach nutpie), and the
    slopes' posterior covers the true values (within 4 posterior sds)."""
    X, groups, rng = _grouped()
    eta = X @ [1.0, -1.0]
    settings = dict(draws=60, tune=80, chains=2, random_state=0, progressbar=False)
    if family == "gaussian":
        model = BayesianLinearRegression(**settings).fit(X, eta + rng.normal(size=len(X)))
    elif family == "bernoulli":
        y = (eta + rng.logistic(size=len(X)) > 0).astype(int)
        model = BayesianLogisticRegression(**settings).fit(X, y)
    elif family == "categorical":
        y = np.digitize(eta + rng.logistic(size=len(X)), [-1.0, 1.0])
        model = BayesianLogisticRegression(**settings).fit(X, y)
    else:
        import pandas as pd

        frame = pd.DataFrame(X, columns=["a", "b"]).assign(g=groups)
        cls = HierarchicalRegression if family == "hier_gaussian" else HierarchicalLogisticRegression
        y = eta + rng.normal(size=len(X)) + groups
        if family == "hier_bernoulli":
            y = (y - groups.mean() > 0).astype(int)
        model = cls(group="g", **settings).fit(frame, y)
    assert model.inference_method_.startswith("nuts (nutpie, precompiled")
    assert (model.posterior_.sizes["chain"], model.posterior_.sizes["draw"]) == (2, 60)
    assert model.convergence_ is not None
    coef = model.posterior_["coef"].values.reshape(120, -1)[:, :2]
    if family != "categorical":
        z = (coef.mean(axis=0) - [1.0, -1.0]) / coef.std(axis=0)
        assert np.all(np.abs(z) < 4), z


@pytest.mark.parametrize(
    ("signature", "takes_callback"),
    [(_nutpie_core._FROM_PYMC_WITHOUT_CALLBACK, False),
     (_nutpie_core._FROM_PYMC_WITH_CALLBACK, True)],
)
def test_the_checked_core_records_which_sampler_shape_it_has(signature, takes_callback):
    fake = _fake_core(**{"PySampler.from_pymc": signature})
    core = check_core(fake, "0.16.x")
    assert core.lib is fake
    assert core.version == "0.16.x"
    assert core.sampler_takes_callback is takes_callback


def test_start_sampler_passes_its_arguments_in_each_shape():
    """Both shapes of PySampler.from_pymc get the arguments in their order
    (nutpie 0.16.9+: no extra progress callback); checked on a stand-in so
    that the shape the installed nutpie lacks is exercised too."""
    calls = []
    store = object()
    for signature in (_nutpie_core._FROM_PYMC_WITHOUT_CALLBACK,
                      _nutpie_core._FROM_PYMC_WITH_CALLBACK):
        fake = types.SimpleNamespace(
            PyStorage=types.SimpleNamespace(arrow=lambda: store),
            PySampler=types.SimpleNamespace(
                from_pymc=lambda *args: calls.append(args) or "sampler"),
        )
        takes_callback = signature == _nutpie_core._FROM_PYMC_WITH_CALLBACK
        core = _nutpie_core.NutpieCore(fake, "0.16.x", takes_callback)
        assert core.start_sampler("settings", 3, "model", "progress") == "sampler"
    without, with_callback = calls
    assert without == ("settings", 3, "model", "progress", store)
    names = signature.strip("()").split(", ")
    bound = dict(zip(names, with_callback, strict=True))
    assert bound["extra_callback"] is None
    assert isinstance(bound["extra_callback_rate"], int)
    assert (bound["settings"], bound["cores"], bound["model"], bound["progress_type"],
            bound["store"]) == ("settings", 3, "model", "progress", store)


def test_unknown_entries_are_all_named_in_one_message():
    """An entry without a signature and a missing one: both listed, ';'-separated,
    with PyMC's sampler offered (both nutpie paths drive this core)."""
    fake = _fake_core(**{"PyMcModel": None})
    fake.LogpFunc = object()  # present, but no __text_signature__
    with pytest.raises(NutpieVersionError) as error:
        check_core(fake, "0.17.0")
    message = str(error.value)
    assert "LogpFuncNone; PyMcModel is missing" in message
    assert "nuts_sampler='nutpie'" not in message
    assert message.endswith("or fit with nuts_sampler='pymc' (PyMC's own sampler).")


def _recording_run_nuts(monkeypatch, seen):
    from bayes_sklearn.inference import fast_nuts, nutpie_run

    real = nutpie_run.run_nuts

    def recording(density, settings, **kwargs):
        seen.append(kwargs["adapt_to_gradients"])
        return real(density, settings, **kwargs)

    monkeypatch.setattr(fast_nuts, "run_nuts", recording)


def test_group_term_fits_adapt_the_mass_matrix_to_the_draws_variances(monkeypatch,
                                                                       regression_data):
    """nutpie's gradient-based adaptation for plain regressions; the draws'
    variances once a model has group terms (see adapts_mass_matrix_to_gradients)."""
    X, y = regression_data
    seen = []
    _recording_run_nuts(monkeypatch, seen)
    small = {"draws": 20, "tune": 20, "chains": 1, "random_state": 0}
    BayesianLinearRegression(**small).fit(X, y)
    groups = np.arange(len(y)) % 4
    HierarchicalRegression(formula="x0 + (1 | g)", **small).fit(
        pd.DataFrame({"x0": X[:, 0], "g": groups}), y)
    assert seen == [True, False]


def test_the_mass_matrix_adaptation_reaches_nutpies_core(monkeypatch, regression_data):
    from bayes_sklearn.inference import fast_nuts

    X, y = regression_data
    draws = {}
    for flag in (True, False):
        monkeypatch.setattr(fast_nuts, "adapts_mass_matrix_to_gradients",
                            lambda has_terms, flag=flag: flag)
        model = BayesianLinearRegression(draws=30, tune=30, chains=1, random_state=0)
        draws[flag] = model.fit(X, y).posterior_["coef"].values
    # the same seed and data: only the adaptation differs
    assert not np.allclose(draws[True], draws[False])
