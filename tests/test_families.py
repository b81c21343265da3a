"""Likelihood families against scipy's distributions and hand-written formulas.

Every value here is computed independently of ``model/families.py``: means
from the link's formula, log likelihoods from ``scipy.stats``, simulated
outcomes against their probabilities within binomial Monte Carlo error.
"""

import numpy as np
import pytest
from scipy import stats
from scipy.special import softmax

from bayes_sklearn.model.families import FAMILIES

RNG = np.random.default_rng(20261201)
#: (draws, rows) linear predictors far from 0 on some rows, and a
#: (draws, rows, 2) one for three classes (class 0 the reference, logit 0).
ETA = RNG.normal(0.0, 3.0, size=(5, 7)) + np.array([0, 1, -2, 8, -8, 30, -30])
ETA3 = RNG.normal(0.0, 2.0, size=(5, 7, 2)) + np.array([1.0, -1.0])


def _softmax_with_reference(eta):
    """exp of each class's logit (0 for class 0) over their sum, written out."""
    expo = np.concatenate([np.ones(eta.shape[:-1] + (1,)), np.exp(eta)], axis=-1)
    return expo / expo.sum(axis=-1, keepdims=True)


def test_the_families_and_their_links():
    assert {name: (f.link, f.has_noise) for name, f in FAMILIES.items()} == {
        "gaussian": ("identity", True),
        "bernoulli": ("logit", False),
        "categorical": ("softmax", False),
    }


def test_means_are_the_inverse_links():
    np.testing.assert_array_equal(FAMILIES["gaussian"].mean(ETA), ETA)
    np.testing.assert_allclose(FAMILIES["bernoulli"].mean(ETA), 1 / (1 + np.exp(-ETA)),
                               rtol=1e-12)
    probs = FAMILIES["categorical"].mean(ETA3)
    assert probs.shape == (5, 7, 3)
    np.testing.assert_allclose(probs, _softmax_with_reference(ETA3), rtol=1e-12)


def test_log_class_probabilities():
    bern = FAMILIES["bernoulli"].log_class_probabilities(ETA)
    # log p = -log(1 + exp(-eta)) and log(1 - p) = -log(1 + exp(eta)), exact
    # where p or 1 - p itself would round (|eta| up to 30 here)
    np.testing.assert_allclose(bern[..., 1], -np.log1p(np.exp(-ETA)), rtol=1e-12)
    np.testing.assert_allclose(bern[..., 0], -np.log1p(np.exp(ETA)), rtol=1e-12)
    cat = FAMILIES["categorical"].log_class_probabilities(ETA3)
    np.testing.assert_allclose(cat, np.log(_softmax_with_reference(ETA3)), rtol=1e-10)
    with pytest.raises(ValueError, match="gaussian family has no classes"):
        FAMILIES["gaussian"].log_class_probabilities(ETA)


def test_log_likelihoods_are_scipys():
    sigma = np.array([0.5, 1.0, 2.0, 10.0, 300.0])
    y = RNG.normal(1000.0, 50.0, size=7)
    np.testing.assert_allclose(
        FAMILIES["gaussian"].log_likelihood(y, ETA * 100 + 1000, sigma),
        stats.norm.logpdf(y[None, :], ETA * 100 + 1000, sigma[:, None]), rtol=1e-12)
    labels = np.array([0, 1, 1, 0, 1, 0, 1])
    p = 1 / (1 + np.exp(-ETA))
    moderate = np.abs(ETA) < 5  # where scipy's 1 - p is accurate to 1e-12
    np.testing.assert_allclose(
        FAMILIES["bernoulli"].log_likelihood(labels, ETA)[moderate],
        stats.bernoulli.logpmf(np.broadcast_to(labels, ETA.shape), p)[moderate], rtol=1e-12)
    expected = np.where(labels == 1, -np.log1p(np.exp(-ETA)), -np.log1p(np.exp(ETA)))
    np.testing.assert_allclose(FAMILIES["bernoulli"].log_likelihood(labels, ETA), expected,
                               rtol=1e-12)
    classes = np.array([0, 1, 2, 2, 1, 0, 2])
    probs = _softmax_with_reference(ETA3)
    np.testing.assert_allclose(
        FAMILIES["categorical"].log_likelihood(classes, ETA3),
        np.log(probs[:, np.arange(7), classes]), rtol=1e-10)


def test_simulated_outcomes_follow_the_family():
    n = 40_000
    rng = np.random.default_rng(3)
    eta = np.tile(np.array([[1000.0, -2.0, 0.5]]), (n, 1))
    sigma = np.full(n, 7.0)
    draws = FAMILIES["gaussian"].sample(eta, sigma, rng)
    # mean within 4 standard errors, sd within 4 of its standard error
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - eta[0]), 4 * 7.0 / np.sqrt(n))
    np.testing.assert_array_less(np.abs(draws.std(axis=0) - 7.0), 4 * 7.0 / np.sqrt(2 * n))

    logits = np.tile(np.array([[-3.0, 0.0, 2.0]]), (n, 1))
    codes = FAMILIES["bernoulli"].sample(logits, None, rng)
    assert set(np.unique(codes)) == {0, 1}
    p = 1 / (1 + np.exp(-logits[0]))
    np.testing.assert_array_less(np.abs(codes.mean(axis=0) - p),
                                 4 * np.sqrt(p * (1 - p) / n))

    eta3 = np.tile(np.array([[[1.0, -1.0], [-2.0, 3.0]]]), (n, 1, 1))
    classes = FAMILIES["categorical"].sample(eta3, None, rng)
    probs = _softmax_with_reference(eta3[0])
    for row in range(2):
        freq = np.bincount(classes[:, row], minlength=3) / n
        np.testing.assert_array_less(np.abs(freq - probs[row]),
                                     4 * np.sqrt(probs[row] * (1 - probs[row]) / n))


class _FixedUniform:
    """A stand-in generator whose uniform draws are all ``u``: outcomes at a boundary."""

    def __init__(self, u):
        self.u = u

    def random(self, shape):
        return np.full(shape, self.u)


def test_gaussian_outcomes_are_eta_plus_sigma_times_the_generator_s_normals():
    # The draws are reproducible from random_state: the same stream, by hand.
    eta = np.array([[1e6, -3.0, 0.0], [2e6, 5.0, 1.0]])
    sigma = np.array([1e-3, 40.0])
    got = FAMILIES["gaussian"].sample(eta, sigma, np.random.default_rng(11))
    z = np.random.default_rng(11).standard_normal((2, 3))
    np.testing.assert_allclose(got, eta + sigma[:, None] * z, rtol=1e-15)


def test_bernoulli_outcome_is_one_below_the_probability():
    f = FAMILIES["bernoulli"]
    eta = np.array([[0.0, -1000.0, 1000.0]])  # p = 0.5, exactly 0, exactly 1
    np.testing.assert_array_equal(f.sample(eta, None, _FixedUniform(0.5)), [[0, 0, 1]])
    # u = 0 (a draw numpy's generator can return): p = 0 still never gives 1
    out = f.sample(eta, None, _FixedUniform(0.0))
    np.testing.assert_array_equal(out, [[1, 0, 1]])
    assert out.dtype == np.int64


def test_categorical_outcome_is_the_class_whose_interval_holds_u():
    f = FAMILIES["categorical"]
    # Class k gets [cum_{k-1}, cum_k): with probabilities (0.5, 0.5), u = 0.5 is class 1.
    half = np.zeros((1, 1, 1))
    np.testing.assert_array_equal(f.sample(half, None, _FixedUniform(0.5)), [[1]])
    np.testing.assert_array_equal(f.sample(half, None, _FixedUniform(0.4999)), [[0]])
    # Probabilities (0, 1, 0) in float64: u = 0 must not pick the impossible class 0.
    certain = np.array([[[1000.0, 0.0]]])
    np.testing.assert_array_equal(f.sample(certain, None, _FixedUniform(0.0)), [[1]])
    out = f.sample(certain, None, _FixedUniform(np.nextafter(1.0, 0.0)))
    np.testing.assert_array_equal(out, [[1]])
    assert out.dtype == np.int64


def test_categorical_u_above_the_rounded_total_is_the_last_class():
    # These probabilities sum to less than 1 in float64; the largest u below 1
    # lies above their cumulative sum and still is an outcome of the last class.
    eta = np.array([[[-3.0, 0.25, 2.0]]])
    assert np.cumsum(softmax(np.array([0.0, -3.0, 0.25, 2.0])))[-1] < np.nextafter(1.0, 0.0)
    got = FAMILIES["categorical"].sample(eta, None, _FixedUniform(np.nextafter(1.0, 0.0)))
    np.testing.assert_array_equal(got, [[3]])


def test_categorical_log_likelihood_takes_each_row_s_class():
    # 2 draws, 3 rows, 3 classes: every draw's row i scored at class y_i only.
    eta = np.array([[[1.0, 2.0], [0.0, -1.0], [3.0, 3.0]],
                    [[-1.0, 0.5], [2.0, 2.0], [0.0, 0.0]]])
    y = np.array([2, 0, 1])
    probs = _softmax_with_reference(eta)
    expected = np.log(probs[:, [0, 1, 2], y])
    np.testing.assert_allclose(FAMILIES["categorical"].log_likelihood(y, eta), expected,
                               rtol=1e-12)


def test_float32_linear_predictors_stay_float32():
    eta = np.array([[[0.5, -1.0]]], dtype=np.float32)
    assert FAMILIES["categorical"].mean(eta).dtype == np.float32
    assert FAMILIES["categorical"].log_class_probabilities(eta).dtype == np.float32
