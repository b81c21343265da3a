"""NUTS in whitened coordinates: the kernel's affine map, the Laplace
approximation it comes from, and when sampling stays on the free parameters.

The posterior itself is checked against independent answers on correlated
designs in test_known_answers_linear.py and test_sbc.py.
"""

import ctypes

import numpy as np
import pytest

from bayes_sklearn import (
    BayesianLinearRegression,
    HierarchicalRegression,
)
from bayes_sklearn.inference import _kernel as k
from bayes_sklearn.inference import fast_nuts, preconditioning
from bayes_sklearn.inference.advi import fit_variational
from bayes_sklearn.inference.packing import pack_model
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import Constant, Laplace


def _correlated(n=80, seed=0):
    """Two columns correlated 0.99, far from standard scale."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=n)
    X = np.column_stack([300 + 40 * base, -2 + 0.01 * (base + 0.15 * rng.normal(size=n))])
    return X, rng


def _model(family="bernoulli", **spec_kwargs):
    """A spec, its standardised design and the response."""
    X, rng = _correlated()
    if family == "bernoulli":
        y = (rng.logistic(size=len(X)) < 0.02 * (X[:, 0] - 300)).astype(float)
    else:
        y = 50 + 0.3 * X[:, 0] + rng.normal(scale=4.0, size=len(X))
    spec = resolve_model_spec(family=family, coef_names=["a", "b"], X=X, y=y, **spec_kwargs)
    return spec, np.ascontiguousarray(spec.standardizer.transform(X)), y


def _packed(family="bernoulli", **spec_kwargs):
    spec, X_z, y = _model(family, **spec_kwargs)
    return spec, pack_model(spec, X_z, y)


def _affine(d, seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=d), np.tril(rng.normal(size=(d, d))) + 2 * np.eye(d)


@pytest.mark.parametrize("family, spec_kwargs", [
    ("bernoulli", {}),
    ("gaussian", {}),
    # a fixed intercept: the map covers the free parameters only
    ("gaussian", {"fit_intercept": False}),
])
def test_the_sampled_density_is_the_density_at_the_mapped_point(family, spec_kwargs):
    _, packed = _packed(family, **spec_kwargs)
    mean, factor = _affine(packed.n_dim)
    approximation = preconditioning.GaussianApproximation(mean, factor, "test")
    header = preconditioning.whitened(packed, approximation).header
    z = np.random.default_rng(4).normal(size=packed.n_dim) * 0.1
    value, grad = k.sampled_log_density(header, z)
    at, theta_grad = k.log_density(packed.header, mean + factor @ z)
    assert value == pytest.approx(at, rel=1e-12)
    np.testing.assert_allclose(grad, factor.T @ theta_grad, rtol=1e-10)
    # and that gradient is the derivative in z (central differences)
    step = 1e-6
    numeric = [(k.sampled_log_density(header, z + step * e)[0]
                - k.sampled_log_density(header, z - step * e)[0]) / (2 * step)
               for e in np.eye(packed.n_dim)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)
    # the unwhitened header is unchanged: sampled and free coordinates agree
    assert packed.header[k.P_AFFINE] == 0
    np.testing.assert_array_equal(k.sampled_log_density(packed.header, z)[1],
                                  k.log_density(packed.header, z)[1])


def test_stored_draws_are_the_mapped_points_with_fixed_values_in_place():
    _, packed = _packed("gaussian", fit_intercept=False)
    assert packed.n_full == packed.n_dim + 1  # the intercept is fixed
    mean, factor = _affine(packed.n_dim)
    sampled = preconditioning.whitened(
        packed, preconditioning.GaussianApproximation(mean, factor, "test"))
    z = np.array([0.5, -1.0, 2.0])
    out = np.empty(packed.n_full)
    expand = k.expand_cfunc.ctypes
    status = expand(packed.n_dim, packed.n_full,
                    z.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                    out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                    ctypes.c_void_p(sampled.header.ctypes.data))
    assert status == 0
    np.testing.assert_allclose(out, packed.expand(mean + factor @ z), rtol=1e-13)


def test_laplace_whitening_of_a_gaussian_posterior_gives_the_standard_normal():
    """Known noise and normal priors: the posterior of the free parameters is
    exactly Gaussian, so its Laplace approximation is the posterior and the
    whitened log density is -|z|^2 / 2 plus a constant."""
    spec, packed = _packed("gaussian", prior_noise=Constant(4.0))
    assert packed.n_dim == 3  # intercept and two slopes
    approximation = preconditioning.laplace_approximation(packed)
    header = preconditioning.whitened(packed, approximation).header
    at_mode = k.sampled_log_density(header, np.zeros(3))[0]
    for z in np.random.default_rng(5).normal(size=(5, 3)) * 2:
        value, grad = k.sampled_log_density(header, z)
        assert value - at_mode == pytest.approx(-0.5 * z @ z, abs=1e-6)
        np.testing.assert_allclose(grad, -z, atol=1e-6)


def test_the_laplace_mode_is_where_the_gradient_vanishes_and_its_covariance_is_positive():
    _, packed = _packed("bernoulli")
    approximation = preconditioning.laplace_approximation(packed)
    value, grad = k.log_density(packed.header, approximation.mean)
    sd = np.sqrt(np.sum(approximation.factor**2, axis=1))
    # in units of the posterior sd the mode is found to 1e-6 (a Newton step
    # after L-BFGS), far below the Monte Carlo error of any fit
    np.testing.assert_array_less(np.abs(grad) * sd, 1e-6)
    np.testing.assert_array_less(0.0, sd)
    # the curvature along each column of the factor is one: a step of s there
    # lowers the density by s^2 / 2; the symmetric mean cancels the cubic term,
    # leaving O(s^2) of the fourth
    s = 0.1
    for column in approximation.factor.T:
        drops = [value - k.log_density(packed.header, approximation.mean + sign * s * column)[0]
                 for sign in (1, -1)]
        assert np.mean(drops) / s**2 == pytest.approx(0.5, abs=2e-3)


def test_models_without_a_gaussian_shaped_posterior_are_not_whitened():
    spec, packed = _packed("bernoulli")
    assert preconditioning.whitenable(spec, packed.n_dim)
    assert not preconditioning.whitenable(spec, preconditioning.MAX_WHITENED_DIM + 1)
    laplace, _ = _packed("bernoulli", priors={"b": Laplace(0.0, 1.0)})
    assert not preconditioning.whitenable(laplace, packed.n_dim)
    frame = {"x": np.arange(40.0) % 7, "g": np.repeat(list("abcd"), 10)}
    import pandas as pd

    model = HierarchicalRegression(formula="x + (1 | g)", draws=20, tune=30, chains=1,
                                   progressbar=False, random_state=0)
    model.fit(pd.DataFrame(frame), np.arange(40.0) % 5)
    assert model.inference_method_ == "nuts (nutpie, precompiled)"


@pytest.mark.filterwarnings("ignore::bayes_sklearn.BayesianConvergenceWarning")
def test_without_a_laplace_approximation_sampling_stays_on_the_free_parameters(monkeypatch):
    monkeypatch.setattr(fast_nuts, "laplace_approximation", lambda packed: None)
    X, rng = _correlated()
    model = BayesianLinearRegression(draws=30, tune=40, chains=1, progressbar=False,
                                     random_state=0).fit(X, X[:, 0] + rng.normal(size=len(X)))
    assert model.inference_method_ == "nuts (nutpie, precompiled)"


def test_nuts_init_advi_whitens_by_the_variational_mean_and_sds(monkeypatch):
    seen = []
    real = fast_nuts.whitened

    def recording(packed, approximation):
        seen.append(approximation)
        return real(packed, approximation)

    monkeypatch.setattr(fast_nuts, "whitened", recording)
    spec, X_z, y = _model("bernoulli")
    settings = InferenceSettings(draws=30, tune=40, chains=1, seed=2, nuts_init="advi")
    result = fast_nuts.sample_fast_nuts(spec, X_z, y, settings)
    assert result.method == "nuts (nutpie, precompiled, advi-whitened)"
    (approximation,) = seen
    assert approximation.source == "advi"
    # the same (deterministic) variational fit, run directly: its means, and
    # its mean-field sds on the diagonal
    direct = fit_variational(spec, X_z, y, settings)
    dim = direct.family.dim
    np.testing.assert_array_equal(approximation.mean, direct.params[:dim])
    np.testing.assert_array_equal(approximation.factor,
                                  np.diag(direct.family.scale_matrix(direct.params)))


@pytest.mark.filterwarnings("ignore::bayes_sklearn.BayesianConvergenceWarning")
def test_an_improper_posterior_is_not_whitened_and_still_fits():
    """y exactly linear in X (sklearn's estimator checks): the noise sd's
    posterior runs to zero, the optimiser with it; no start box around that
    'mode' has a finite density, so sampling stays on the free parameters."""
    X = np.random.default_rng(0).normal(size=(10, 3))
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b", "c"], X=X, y=X[:, 0])
    packed = pack_model(spec, np.ascontiguousarray(spec.standardizer.transform(X)), X[:, 0])
    assert preconditioning.laplace_approximation(packed) is None
    model = BayesianLinearRegression(draws=30, tune=40, chains=1, progressbar=False,
                                     random_state=0).fit(X, X[:, 0])
    assert model.inference_method_ == "nuts (nutpie, precompiled)"


def test_whitenable_from_one_free_parameter_to_the_limit():
    spec, _, _ = _model("gaussian")
    limit = preconditioning.MAX_WHITENED_DIM
    assert [preconditioning.whitenable(spec, d) for d in (0, 1, limit, limit + 1)] \
        == [False, True, True, False]


def test_the_mode_check_refuses_an_approximation_off_the_mode_or_too_wide():
    """``_describes_the_mode`` passes the Laplace approximation itself, and
    refuses one whose mean is 0.01 sd off the mode (tolerance 1e-3 sd) or
    whose sds are 5x too wide (at "2 sds" the density has dropped by ~50,
    the limit is 20)."""
    _, packed = _packed("bernoulli")
    laplace = preconditioning.laplace_approximation(packed)
    assert laplace.source == "laplace"
    check = preconditioning._describes_the_mode
    assert check(packed.header, laplace)
    off = preconditioning.GaussianApproximation(
        laplace.mean + 0.01 * laplace.factor[:, 0], laplace.factor, "laplace")
    assert not check(packed.header, off)
    wide = preconditioning.GaussianApproximation(laplace.mean, 5.0 * laplace.factor, "laplace")
    assert not check(packed.header, wide)


def test_whitened_starts_at_the_mean_and_keeps_the_map_it_points_to():
    """Chains start at z = 0 (the approximation's mean), and the packed model
    holds the array whose address the header carries (else it could be freed
    while the sampler reads it)."""
    import dataclasses

    _, packed = _packed("bernoulli")
    approximation = preconditioning.laplace_approximation(packed)
    # a start away from zero in the free parameters, as PyMC's jitter gives
    packed = dataclasses.replace(packed, initial_point=np.ones(packed.n_dim))
    sampled = preconditioning.whitened(packed, approximation)
    np.testing.assert_array_equal(sampled.initial_point, np.zeros(packed.n_dim))
    addresses = [a.ctypes.data for a in sampled.arrays if isinstance(a, np.ndarray)]
    assert sampled.header[k.P_AFFINE] in addresses
    assert packed.header[k.P_AFFINE] == 0  # the original is left as it was
