"""The PyMC engine's compiled model (inference/compiled_model.py), against PyMC itself.

The C functions nutpie's core calls are called here through ctypes and
compared with PyMC's own compilation of the same model (its C backend): the
log density with the Jacobian and its gradient, on the unconstrained scale,
and the stored draws (constrained variables and Deterministics). The data are
read through the header's pointers, so the same compiled functions are
checked on a second data set of another length.
"""

import ctypes

import numpy as np
import pymc as pm
import pytest

from bayes_sklearn.inference import compiled_model
from bayes_sklearn.inference.pymc_engine import _data_values
from bayes_sklearn.model.pymc_model import build_reference_model
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import HalfNormal, Normal, PyMCPrior

pytest.importorskip("nutpie")


def _spec_and_data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [40.0, 0.05] + [500.0, -2.0]
    y = 3000.0 + X @ [1.5, -200.0] + rng.normal(scale=20.0, size=n)
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y,
                              prior_noise=PyMCPrior("Gamma", {"alpha": 2.0, "beta": 0.1}),
                              priors={"a": Normal(0.0, 10.0), "b": HalfNormal(300.0)})
    return spec, X, y


def _pytensor_caches_compilations_on_disk() -> bool:
    try:
        from pytensor.link.numba import cache
    except ImportError:
        return False
    return hasattr(cache, "CACHED_SRC_FUNCTIONS")


def _compile_scope(fixture_name, config):
    # Older PyTensors (CI's lowest-version step has 2.26) have no numba disk
    # cache: there each compilation took 28-38 s, ten of them in this file.
    return "function" if _pytensor_caches_compilations_on_disk() else "module"


@pytest.fixture(scope=_compile_scope)
def compiled():
    """Compiled per test (about 1 s from the disk caches), so that every test
    checks the compilation it uses; once per module where PyTensor cannot
    cache it on disk. No test changes it."""
    spec, X, y = _spec_and_data(50, 0)
    model = build_reference_model(spec, X, y)
    return model, compiled_model.compile_model(model)


def _call_logp(compiled, density, x):
    grad = np.empty(compiled.n_dim)
    logp = np.empty(1)
    double_p = ctypes.POINTER(ctypes.c_double)
    code = compiled.logp.ctypes(compiled.n_dim, x.ctypes.data_as(double_p),
                                grad.ctypes.data_as(double_p), logp.ctypes.data_as(double_p),
                                ctypes.c_void_p(density.user_data))
    return code, logp[0], grad


def _call_expand(compiled, density, x):
    out = np.empty(compiled.n_expanded)
    double_p = ctypes.POINTER(ctypes.c_double)
    code = compiled.expand.ctypes(compiled.n_dim, compiled.n_expanded,
                                  x.ctypes.data_as(double_p), out.ctypes.data_as(double_p),
                                  ctypes.c_void_p(density.user_data))
    return code, out


def _flat_point(model, x):
    """The unconstrained vector x as PyMC's point (value variables by name)."""
    point, start = {}, 0
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        shape = model.initial_point()[value.name].shape
        size = int(np.prod(shape))
        point[value.name] = x[start:start + size].reshape(shape)
        start += size
    return point


@pytest.mark.parametrize("n, seed, fortran", [(50, 0, False), (37, 1, False), (37, 1, True)])
def test_log_density_and_gradient_are_pymcs(compiled, n, seed, fortran):
    """At random unconstrained points, on the first data and on new data (other rows,
    other prior values are the same structure) read through the header; a
    column-major X is copied to the row-major layout the wrapper reads."""
    model, result = compiled
    spec, X, y = _spec_and_data(n, seed)
    reference = build_reference_model(spec, X, y)
    logp_fn = reference.compile_logp(jacobian=True)
    dlogp_fn = reference.compile_dlogp(jacobian=True)
    values = _data_values(reference)
    if fortran:
        values["X"] = np.asfortranarray(values["X"])
    density = result.density(values, np.zeros(result.n_dim))
    rng = np.random.default_rng(seed)
    for _ in range(5):
        x = rng.normal(size=result.n_dim) * [1.0, 0.01, 0.3, 0.5]
        code, logp, grad = _call_logp(result, density, x)
        point = _flat_point(reference, x)
        assert code == 0
        np.testing.assert_allclose(logp, logp_fn(point), rtol=1e-10)
        np.testing.assert_allclose(grad, dlogp_fn(point), rtol=1e-8, atol=1e-8)


def test_a_bad_point_or_size_is_refused_with_nutpies_codes(compiled):
    model, result = compiled
    density = result.density(_data_values(model), np.zeros(result.n_dim))
    x = np.full(result.n_dim, np.nan)
    assert _call_logp(result, density, x)[0] == 1  # PyMC's check sigma > 0 raised
    x = np.zeros(result.n_dim)
    x[1] = 800.0  # coef_halfnormal_log__: exp overflows, the log density is -inf
    assert _call_logp(result, density, x)[0] == 4
    double_p = ctypes.POINTER(ctypes.c_double)
    wrong = result.logp.ctypes(result.n_dim + 1, x.ctypes.data_as(double_p),
                               x.ctypes.data_as(double_p), x.ctypes.data_as(double_p),
                               ctypes.c_void_p(density.user_data))
    assert wrong == -1
    out = np.empty(result.n_expanded + 1)
    wrong = result.expand.ctypes(result.n_dim, result.n_expanded + 1,
                                 x.ctypes.data_as(double_p), out.ctypes.data_as(double_p),
                                 ctypes.c_void_p(density.user_data))
    assert wrong == -1


def test_stored_draws_are_the_constrained_values_and_deterministics(compiled):
    model, result = compiled
    names = [out.name for out in result.outputs]
    assert set(names) == {"coef_normal", "coef_halfnormal", "coef", "intercept_c", "intercept",
                          "sigma"}
    density = result.density(_data_values(model), np.zeros(result.n_dim))
    x = np.random.default_rng(2).normal(size=result.n_dim)
    code, out = _call_expand(result, density, x)
    assert code == 0
    split = result.split(out[None, None, :])
    point = _flat_point(model, x)
    evaluate = pm.pytensorf.compile(model.value_vars,
                                    [_constrained(model, name) for name in names],
                                    on_unused_input="ignore")
    for name, value in zip(names, evaluate(*[point[v.name] for v in model.value_vars])):
        np.testing.assert_allclose(split[name][0, 0], value, rtol=1e-12)
    # a known value: sigma is exp of its log-transformed value variable
    np.testing.assert_allclose(split["sigma"][0, 0], np.exp(point["sigma_log__"]), rtol=1e-12)


def _constrained(model, name):
    """``name`` as a function of the value variables."""
    return model.replace_rvs_by_values([model[name]])[0]


def test_chains_start_at_pymcs_initial_point_with_its_jitter(compiled):
    model, result = compiled
    start = compiled_model.start_point(result)
    point = model.initial_point()
    expected = np.concatenate([np.ravel(point[v.name]) for v in model.value_vars])
    np.testing.assert_array_equal(start, expected)
    density = result.density(_data_values(model), start)
    expected = start + np.random.default_rng(3).uniform(-1.0, 1.0, result.n_dim)
    np.testing.assert_array_equal(density.initial_point(3), expected)
    draws = np.array([density.initial_point(seed) for seed in range(200)])
    assert np.abs(draws - start).max() < 1.0 and np.abs(draws - start).max() > 0.9


def test_data_of_another_shape_are_refused(compiled):
    model, result = compiled
    values = _data_values(model)
    values["X"] = values["X"][:, 0]
    with pytest.raises(ValueError, match="'X' have 1 dimensions; .* built for 2"):
        result.density(values, np.zeros(result.n_dim))


def test_a_second_compilation_of_the_graph_loads_the_wrappers_from_disk(compiled):
    """The wrappers hold no data, so numba caches them under PyTensor's key of the
    graph: a new compilation of the structure (as in a new process) loads them."""
    _skip_without_pytensor_cache()
    _, first = compiled
    builds = [first]
    for n in (44, 45):  # three builds: two of them share a variant (see below)
        spec, X, y = _spec_and_data(n, 3)
        builds.append(compiled_model.compile_model(build_reference_model(spec, X, y)))
    for earlier, later in [(0, 1), (0, 2), (1, 2)]:
        _assert_loaded_where_stored(builds[earlier], builds[later])
    logp_keys = [build.cache_keys[0] for build in builds]
    assert len(set(logp_keys)) < 3, "more than two variants of one graph"


def _assert_loaded_where_stored(first, again):
    """Each wrapper of ``again`` was loaded from disk if ``first`` stored it under the
    same key. PyTensor's rewrites of one model graph came out in one of two
    variants from run to run (seen with PYTHONHASHSEED 0-3), each its own key."""
    assert None not in first.cache_keys and None not in again.cache_keys
    hits = (again.logp.cache_hits, again.expand.cache_hits)
    for key, other, hit in zip(first.cache_keys, again.cache_keys, hits):
        if key == other:
            assert hit == 1, (key, hits)
    assert first.cache_keys[0].startswith("bayes_sklearn_logp_")
    assert first.cache_keys[1].startswith("bayes_sklearn_expand_")


def test_another_structure_gets_its_own_compilation(compiled):
    """A second structure compiled after the first (here: a Normal slope and a
    HalfNormal noise sd) is its own model, with its own cache keys."""
    model, first = compiled
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 2)) * [40.0, 0.05] + [500.0, -2.0]
    y = 3000.0 + X @ [1.5, -200.0] + rng.normal(scale=20.0, size=40)
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y,
                              prior_noise=HalfNormal(50.0))
    other = build_reference_model(spec, X, y)
    result = compiled_model.compile_model(other)
    assert result.n_dim == 4
    if first.cache_keys[0] is not None:  # PyTensor 2.26 caches nothing
        assert result.cache_keys != first.cache_keys
    density = result.density(_data_values(other), np.zeros(result.n_dim))
    x = np.random.default_rng(7).normal(size=result.n_dim) * [1.0, 0.01, 0.3, 0.5]
    code, logp, grad = _call_logp(result, density, x)
    point = _flat_point(other, x)
    assert code == 0
    np.testing.assert_allclose(logp, other.compile_logp(jacobian=True)(point), rtol=1e-10)
    np.testing.assert_allclose(grad, other.compile_dlogp(jacobian=True)(point), rtol=1e-8)


def _skip_without_pytensor_cache():
    pytest.importorskip("pytensor.link.numba.cache")
    if not _pytensor_caches_compilations_on_disk():
        pytest.skip("this PyTensor gives no disk-cache keys: wrappers compile per process")


def _assert_logp_is_pymcs(result, model, seed=0):
    density = result.density(_data_values(model), np.zeros(result.n_dim))
    x = np.random.default_rng(seed).normal(size=result.n_dim) * [1.0, 0.01, 0.3, 0.5]
    code, logp, grad = _call_logp(result, density, x)
    point = _flat_point(model, x)
    assert code == 0
    np.testing.assert_allclose(logp, model.compile_logp(jacobian=True)(point), rtol=1e-10)
    np.testing.assert_allclose(grad, model.compile_dlogp(jacobian=True)(point), rtol=1e-8,
                               atol=1e-8)


def test_on_an_empty_cache_the_wrappers_compile_and_are_stored(monkeypatch, tmp_path):
    """A first compilation on a machine (a cache directory of its own here):
    the wrappers are compiled from their source, written to the cache, and read
    back by the next compilation."""
    _skip_without_pytensor_cache()
    from pytensor.link.numba import cache

    monkeypatch.setattr(cache, "NUMBA_CACHE_PATH", str(tmp_path))
    spec, X, y = _spec_and_data(30, 4)
    model = build_reference_model(spec, X, y)
    first = compiled_model.compile_model(model)
    assert (first.logp.cache_hits, first.expand.cache_hits) == (0, 0)
    stored = [path.name for path in tmp_path.rglob("*")]
    assert any("logp_wrapper" in name for name in stored), stored
    assert any("expand_wrapper" in name for name in stored), stored
    _assert_logp_is_pymcs(first, model)
    again = compiled_model.compile_model(build_reference_model(spec, X, y))
    _assert_loaded_where_stored(first, again)


def test_without_pytensors_cache_keys_the_wrappers_compile_per_process(monkeypatch):
    """The path of PyTensor releases without disk-cache keys (2.26): same functions."""
    monkeypatch.setattr(compiled_model, "_graph_cache_key", lambda jit_fn: None)
    spec, X, y = _spec_and_data(30, 5)
    model = build_reference_model(spec, X, y)
    result = compiled_model.compile_model(model)
    _assert_logp_is_pymcs(result, model, seed=1)
    code, out = _call_expand(result, result.density(_data_values(model),
                                                    np.zeros(result.n_dim)),
                             np.zeros(result.n_dim))
    assert code == 0 and np.isfinite(out).all()


def test_a_pytensor_without_jitted_functions_is_named_in_the_error():
    class Function:
        vm = None

    with pytest.raises(RuntimeError, match=r"PyTensor .* no vm\.jit_fn.*nuts_sampler='pymc'"):
        compiled_model._jit_function(Function())


def test_the_disk_cache_key_is_the_same_in_every_process():
    """The key of a crossed model, in two processes with different hash seeds.

    PyTensor's key of the rewritten graph of this model differed in every
    process (its rewrites run in varying order), so the cache never hit; the
    key of the unrewritten graph does not vary, and holds no data (other rows
    and response values give the same key)."""
    import os
    import subprocess
    import sys

    script = (
        "import numpy as np, pandas as pd\n"
        "from bayes_sklearn import HierarchicalRegression\n"
        "from bayes_sklearn.inference.compiled_model import _model_key\n"
        "rng = np.random.default_rng(0)\n"
        "X = pd.DataFrame({'a': rng.choice(list('abcd'), 40), 'b': rng.choice(list('pqr'), 40)})\n"
        "m = HierarchicalRegression(formula='(1 | a) + (1 | b)')\n"
        "print(_model_key(m.to_pymc(X, rng.normal(size=40))),"
        " _model_key(m.to_pymc(X.iloc[:30], 1e3 * rng.normal(size=30))))\n"
    )
    keys = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, cwd=os.getcwd(), check=True).stdout.split()
        keys.extend(out)
    assert len(keys) == 4 and len(set(keys)) == 1
