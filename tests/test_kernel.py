"""The precompiled log density: its internal shortcuts against its own row-by-row pass.

Its equality with the reference PyMC model, for every combination the kernel
covers, is test_engine_equivalence.py (group terms: test_kernel_group_terms.py).
"""

import dataclasses

import numpy as np
import pytest

from bayes_sklearn.inference._kernel import log_density
from bayes_sklearn.inference.packing import pack_model
from bayes_sklearn.model.spec import resolve_group_terms, resolve_model_spec
from bayes_sklearn.priors import HalfStudentT, Laplace, Normal, StudentT

pm = pytest.importorskip("pymc")


def _spec_and_data(family, groups, priors=None, prior_noise=None, n=60):
    """A model of three features and its data; ``groups``: with the term ``(1 + b | g)``
    of 4 levels, whose ``[(Z, codes)]`` is returned last (else None)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.2] + [0.0, 10.0, 1.0]
    codes = rng.integers(0, 4, size=n)
    if family == "gaussian":
        y = 1.0 + X @ [0.5, -0.1, 2.0] + rng.normal(size=n)
        n_outputs = 1
    elif family == "bernoulli":
        y = rng.integers(0, 2, size=n).astype(float)
        n_outputs = 1
    else:
        y = rng.integers(0, 3, size=n).astype(float)
        n_outputs = 2
    spec = resolve_model_spec(
        family=family,
        coef_names=["a", "b", "c"],
        X=X,
        y=y,
        n_outputs=n_outputs,
        priors=priors,
        prior_noise=prior_noise,
    )
    designs = None
    if groups:
        designs = [(np.column_stack([np.ones(n), X[:, 1]]), codes)]
        terms = resolve_group_terms([("g", tuple("wxyz"), ("1|g", "b|g"), True)],
                                    [designs[0][0]], family=family, y=y)
        spec = dataclasses.replace(spec, group_terms=terms)
    return spec, spec.standardizer.transform(X), y, designs


CASES = {
    "gaussian": dict(family="gaussian", groups=False),
    "gaussian-robust-priors": dict(
        family="gaussian",
        groups=False,
        priors={"a": StudentT(nu=3.0, mu=0.0, sigma=2.0), "b": Laplace(0.0, 1.0)},
        prior_noise=HalfStudentT(nu=4.0, sigma=2.0),
    ),
    "gaussian-groups": dict(family="gaussian", groups=True),
    "bernoulli": dict(family="bernoulli", groups=False, priors=Normal(0.0, 1.5)),
    "bernoulli-groups": dict(family="bernoulli", groups=True),
    "categorical": dict(family="categorical", groups=False, priors={"c": Laplace(0.0, 2.0)}),
}


def _row_by_row(packed, X_z, y):
    """The same packed model with the sufficient statistics switched off."""
    from bayes_sklearn.inference import _kernel

    header = packed.header.copy()
    header[_kernel.SUFFSTATS] = 0
    header[_kernel.P_X] = X_z.ctypes.data
    header[_kernel.P_Y] = y.ctypes.data
    return header


def test_sufficient_statistics_equal_the_row_by_row_likelihood():
    spec, X_z, y, _ = _spec_and_data("gaussian", groups=False, n=200)
    packed = pack_model(spec, X_z, y)
    rows = _row_by_row(packed, X_z, y)
    rng = np.random.default_rng(5)
    for _ in range(3):
        theta = packed.initial_point + rng.normal(scale=0.3, size=packed.n_dim)
        fast, fast_grad = log_density(packed.header, theta)
        slow, slow_grad = log_density(rows, theta)
        np.testing.assert_allclose(fast, slow, rtol=1e-10)
        np.testing.assert_allclose(fast_grad, slow_grad, rtol=1e-8, atol=1e-8)


def test_sufficient_statistics_do_not_cancel_on_almost_exact_fits():
    """y = 3 x + 1e-6 noise around 3e4: y'y - 2 b'X'y + b'X'X b would lose it all."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 1)) * 1e3 + 1e4
    y = 3.0 * X[:, 0] + rng.normal(scale=1e-6, size=50)
    spec = resolve_model_spec(family="gaussian", coef_names=["x"], X=X, y=y)
    X_z = np.ascontiguousarray(spec.standardizer.transform(X))
    packed = pack_model(spec, X_z, y)
    rows = _row_by_row(packed, X_z, y)
    theta = np.array([y.mean(), 3.0 * spec.standardizer.scale[0], np.log(1e-6)])
    fast, fast_grad = log_density(packed.header, theta)
    slow, slow_grad = log_density(rows, theta)
    # The likelihood term is about -n/2 here; cancellation would make it ~1e4 off.
    np.testing.assert_allclose(fast, slow, rtol=1e-6)
    # Row by row, each residual itself carries ~eps * 3e4 rounding, times 1/sigma^2.
    np.testing.assert_allclose(fast_grad, slow_grad, atol=1e-5 * np.abs(slow_grad).max())


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "categorical"])
def test_row_weight_counts_each_row_that_many_times(family):
    """A minibatch weighted n / batch stands in for n rows: weight 2 = rows twice."""
    spec, X_z, y, designs = _spec_and_data(family, groups=family != "categorical")
    twice = pack_model(
        spec,
        np.ascontiguousarray(np.vstack([X_z, X_z])),
        np.concatenate([y, y]),
        sufficient_statistics=False,
        group_designs=None if designs is None else [
            (np.vstack([Z, Z]), np.concatenate([codes, codes])) for Z, codes in designs],
    )
    weighted = pack_model(spec, X_z, y, row_weight=2.0, sufficient_statistics=False,
                          group_designs=designs)
    theta = weighted.initial_point + np.random.default_rng(2).normal(scale=0.4, size=weighted.n_dim)
    value_twice, grad_twice = log_density(twice.header, theta)
    value_weighted, grad_weighted = log_density(weighted.header, theta)
    np.testing.assert_allclose(value_weighted, value_twice, rtol=1e-10)
    np.testing.assert_allclose(grad_weighted, grad_twice, rtol=1e-9, atol=1e-9)
