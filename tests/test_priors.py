"""The six prior families: support, draws, densities, rescaling and checks."""

from math import lgamma, log, pi

import numpy as np
import pytest
from scipy import stats

from bayes_sklearn.priors import Exponential, HalfNormal, HalfStudentT, Laplace, Normal, StudentT


@pytest.mark.parametrize("prior", [Exponential(2.0), HalfNormal(2.0), HalfStudentT(3.0, 2.0)])
def test_scale_priors_have_no_density_below_zero(prior):
    assert prior.logpdf(-0.5) == -np.inf
    assert np.isfinite(prior.logpdf(0.5))
    # densities integrate to one over x >= 0 (trapezoid on a fine grid, tail beyond 400 negligible
    # except for the heavy-tailed HalfStudentT(3), whose mass beyond 400 sd-units is ~1e-6)
    x = np.linspace(0.0, 400.0, 400_001)
    assert np.trapezoid(np.exp(prior.logpdf(x)), x) == pytest.approx(1.0, abs=1e-3)


# -- every family pinned against numpy's generator and scipy, independently of priors.py --------
# Parameters far from standard scale, so that a swapped loc/scale or a dropped factor shows.
# The reference draws are the generator calls the priors have always made: a change in the
# calls (another method, another order, one more call) changes the draws or the state after.


def _half_t_logpdf(x, nu, sigma):
    """Twice the t(nu, 0, sigma) density on x >= 0, written out."""
    x = np.asarray(x, dtype=float)
    z = x / sigma
    log_density = (log(2.0) + lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * log(nu * pi)
                   - log(sigma) - (nu + 1) / 2 * np.log1p(z**2 / nu))
    return np.where(x >= 0, log_density, -np.inf)


FAMILIES = [
    (Normal(-350.0, 40.0),
     lambda rng, size: rng.normal(-350.0, 40.0, size=size),
     lambda x: stats.norm.logpdf(x, -350.0, 40.0)),
    (StudentT(2.5, 1200.0, 75.0),
     lambda rng, size: 1200.0 + 75.0 * rng.standard_t(2.5, size=size),
     lambda x: stats.t.logpdf(x, 2.5, 1200.0, 75.0)),
    (Laplace(-0.004, 0.0025),
     lambda rng, size: rng.laplace(-0.004, 0.0025, size=size),
     lambda x: stats.laplace.logpdf(x, -0.004, 0.0025)),
    (Exponential(650.0),
     lambda rng, size: rng.exponential(650.0, size=size),
     lambda x: stats.expon.logpdf(x, scale=650.0)),
    (HalfNormal(0.03),
     lambda rng, size: np.abs(rng.normal(0.0, 0.03, size=size)),
     lambda x: stats.halfnorm.logpdf(x, scale=0.03)),
    (HalfStudentT(4.5, 900.0),
     lambda rng, size: np.abs(900.0 * rng.standard_t(4.5, size=size)),
     lambda x: _half_t_logpdf(x, 4.5, 900.0)),
]
_IDS = [type(prior).__name__ for prior, _, _ in FAMILIES]


@pytest.mark.parametrize(("prior", "draw", "_"), FAMILIES, ids=_IDS)
@pytest.mark.parametrize("size", [1, 7, (3, 4)])
def test_rvs_makes_the_same_generator_calls_as_numpy(prior, draw, _, size):
    rng, reference_rng = np.random.default_rng(20261201), np.random.default_rng(20261201)
    draws = prior.rvs(size, rng)
    expected = draw(reference_rng, size)
    assert draws.shape == expected.shape
    assert draws.tobytes() == expected.tobytes()  # bit for bit
    assert rng.random() == reference_rng.random()  # and the generator is left in the same state


@pytest.mark.parametrize(("prior", "_", "logpdf"), FAMILIES, ids=_IDS)
def test_logpdf_matches_scipy_far_from_standard_scale(prior, _, logpdf):
    # points around the prior's own location and scale, in its tails, and below zero
    centre = getattr(prior, "loc", 0.0)
    x = centre + prior.scale * np.array([-25.0, -3.0, -0.5, 0.0, 1e-6, 0.5, 1.7, 3.0, 25.0])
    expected = logpdf(x)
    np.testing.assert_allclose(prior.logpdf(x), expected, rtol=1e-13, atol=0.0)
    # a scalar in, a scalar out
    assert np.ndim(prior.logpdf(float(x[5]))) == 0
    assert float(prior.logpdf(float(x[5]))) == pytest.approx(expected[5], rel=1e-13)


@pytest.mark.parametrize(
    ("prior", "factor", "expected"),
    [
        (Normal(-350.0, 40.0), -0.01, Normal(3.5, 0.4)),
        (StudentT(2.5, 1200.0, 75.0), 4.0, StudentT(2.5, 4800.0, 300.0)),
        (Laplace(-0.004, 0.0025), -200.0, Laplace(0.8, 0.5)),
        (Exponential(650.0), -0.02, Exponential(13.0)),
        (HalfNormal(0.03), 50.0, HalfNormal(1.5)),
        (HalfStudentT(4.5, 900.0), -0.5, HalfStudentT(4.5, 450.0)),
    ],
    ids=_IDS,
)
def test_scaled_rescales_location_and_scale_only(prior, factor, expected):
    scaled = prior.scaled(factor)
    assert type(scaled) is type(prior)
    for name in prior.__dataclass_fields__:
        assert getattr(scaled, name) == pytest.approx(getattr(expected, name), rel=1e-15)


@pytest.mark.parametrize(
    ("cls", "args", "message"),
    [
        (Normal, (np.inf, 1.0), "Normal mu must be finite, got inf."),
        (Normal, (0.0, 0.0), "Normal sigma must be a finite positive number, got 0.0."),
        (StudentT, (-1.0, np.nan, 1.0), "StudentT nu must be a finite positive number, got -1.0."),
        (StudentT, (3.0, np.nan, 1.0), "StudentT mu must be finite, got nan."),
        (Laplace, (0.0, -2.0), "Laplace b must be a finite positive number, got -2.0."),
        (Exponential, (np.inf,), "Exponential scale must be a finite positive number, got inf."),
        (HalfNormal, (-0.1,), "HalfNormal sigma must be a finite positive number, got -0.1."),
        (HalfStudentT, (3.0, 0.0), "HalfStudentT sigma must be a finite positive number, got 0.0."),
    ],
)
def test_invalid_parameters_are_named_in_field_order(cls, args, message):
    with pytest.raises(ValueError) as excinfo:
        cls(*args)
    assert str(excinfo.value) == message
