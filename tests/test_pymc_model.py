"""The PyMC model (inference/_pymc_model.py): its named variables and its log density.

The log density at a point is compared, constants included, with the model
written out by hand with scipy (``hand_log_density`` of the kernel's known
answers): PyMC's ``logp`` is normalised and carries the log-Jacobians of its
log-transformed scales, as the hand-written density does.
"""

import dataclasses
import types

import numpy as np
import pytest
from test_kernel import _pymc_point
from test_known_answers_kernel import hand_log_density

from bayes_sklearn.inference._pymc_model import _location_scale_rv, _scale_rv, build_pymc_model
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import HalfNormal, Laplace, StudentT

pm = pytest.importorskip("pymc")


def _case(family, priors, prior_noise=None, groups=False, n=30):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(n, 3)) * [2.0, 30.0, 0.5] + [5.0, -300.0, 0.0]
    if family == "gaussian":
        y = 1000.0 + rng.normal(scale=50.0, size=n)
    else:
        y = rng.integers(0, 3 if family == "categorical" else 2, size=n).astype(float)
    spec = resolve_model_spec(
        family=family, coef_names=["a", "b", "c"], X=X, y=y,
        n_outputs=2 if family == "categorical" else 1, priors=priors, prior_noise=prior_noise,
        group_labels=list("uvw") if groups else None, varying_slopes=["b"] if groups else None,
    )
    X_z = spec.standardizer.transform(X)
    codes = rng.integers(0, 3, size=n) if groups else None
    return spec, X_z, y, codes


def _n_dim(spec):
    n = spec.n_outputs * (spec.n_coef + 1) + (spec.family == "gaussian")
    if spec.groups is not None:
        n += spec.groups.n_effects * (1 + spec.groups.n_groups)
    return n


MIXED = dict(
    family="gaussian",
    priors={"a": StudentT(nu=3.0, mu=0.0, sigma=2.0), "b": StudentT(nu=7.0, mu=1.0, sigma=0.5),
            "c": Laplace(0.0, 1.0)},
    prior_noise=HalfNormal(80.0),
    groups=True,
)
CATEGORICAL = dict(
    family="categorical",
    priors={"a": StudentT(nu=2.0, mu=0.0, sigma=1.0), "b": StudentT(nu=5.0, mu=0.5, sigma=2.0),
            "c": StudentT(nu=30.0, mu=-0.5, sigma=1.5)},
)


@pytest.mark.parametrize("case", [MIXED, CATEGORICAL], ids=["mixed-priors-groups", "categorical"])
def test_log_density_equals_the_hand_written_model(case):
    spec, X_z, y, codes = _case(**case)
    model = build_pymc_model(spec, X_z, y, codes)
    theta = np.random.default_rng(2).normal(scale=0.7, size=_n_dim(spec))
    expected = hand_log_density(spec, X_z, y, codes, theta)
    point = _pymc_point(model, spec, theta, spec.n_coef)
    np.testing.assert_allclose(model.compile_logp()(point), expected, rtol=1e-10)


def test_named_variables_data_and_shapes():
    """The names the posterior readers and ``pm.set_data`` rely on (module docstring)."""
    spec, X_z, y, codes = _case(**MIXED)
    model = build_pymc_model(spec, X_z, y, codes)
    data = {name: model[name].get_value().shape for name in ("X", "y", "group")}
    assert data == {"X": (30, 3), "y": (30,), "group": (30,)}
    shapes = model.eval_rv_shapes()
    assert {"intercept_z": (1,), "coef_z_studentt": (2, 1), "coef_z_laplace": (1, 1),
            "sigma": (), "group_sd_z": (2,), "group_offset": (3, 2)}.items() <= shapes.items()
    assert {d.name for d in model.deterministics} == {"coef_z", "group_effect_z"}
    assert [v.name for v in model.observed_RVs] == ["obs"]

    for family in ("bernoulli", "categorical"):
        spec, X_z, y, _ = _case(family, priors=None)
        plain = build_pymc_model(spec, X_z, y)
        assert {"X", "y", "intercept_z", "coef_z", "obs"} == set(plain.named_vars), family


def test_an_unknown_family_is_named():
    spec, X_z, y, _ = _case("bernoulli", priors=None)
    with pytest.raises(ValueError, match="Unknown family 'poisson'"):
        build_pymc_model(dataclasses.replace(spec, family="poisson"), X_z, y)


def test_an_unknown_prior_has_no_translation():
    flat = types.SimpleNamespace(loc=0.0, scale=1.0)
    with pm.Model():
        with pytest.raises(TypeError, match=r"No PyMC translation for prior namespace\(loc"):
            _location_scale_rv("a", [flat], (1,))
        with pytest.raises(TypeError, match="No PyMC translation for prior 'flat'"):
            _scale_rv("s", "flat")
