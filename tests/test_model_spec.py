"""Known answers for ``resolve_model_spec``: its defaults, user priors by name,
index and ``"intercept"``, and the messages of its errors.

The data are far from unit scale (x1 of sd 1000 sqrt(1.25), x2 of mean -200
and sd 0.01 sqrt(1.25), y of mean 5e4 and sd 300), and each expected scale is
written from those numbers, not from the code. No model is fitted.
"""

import numpy as np
import pytest

from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import Exponential, HalfNormal, Laplace, Normal, StudentT

K = np.array([1.0, 2.0, 3.0, 4.0])
X = np.column_stack([1e3 * K, -200.0 + 0.01 * (K - 2.5)])
Y = 5e4 + 300.0 * np.array([-1.0, 1.0, 1.0, -1.0])  # mean 5e4, sd exactly 300
SD_X = np.sqrt(1.25) * np.array([1e3, 0.01])
NAMES = ["x1", "x2"]


def _spec(**kwargs):
    kwargs.setdefault("coef_names", NAMES)
    return resolve_model_spec(family="gaussian", X=X, y=Y, **kwargs)


def test_defaults_are_the_documented_autoscaled_priors():
    spec = _spec()
    assert spec.n_outputs == 1
    assert spec.intercept_prior.mu == pytest.approx(5e4, rel=1e-15)
    assert spec.intercept_prior.sigma == pytest.approx(2.5 * 300.0, rel=1e-12)
    np.testing.assert_allclose([p.sigma for p in spec.coef_priors], 2.5 * 300.0 / SD_X,
                               rtol=1e-9)
    assert [p.mu for p in spec.coef_priors] == [0.0, 0.0]
    assert spec.noise_prior.scale == pytest.approx(300.0, rel=1e-12)


def test_one_prior_for_every_coefficient():
    spec = _spec(priors=Laplace(b=0.1))
    assert spec.coef_priors == (Laplace(b=0.1), Laplace(b=0.1))
    assert spec.intercept_prior.sigma == pytest.approx(750.0)  # still autoscaled


def test_priors_by_name_index_and_intercept():
    spec = _spec(priors={"intercept": (7.0, 3.0), "x2": StudentT(nu=3.0, mu=1.0, sigma=2.0)})
    assert spec.intercept_prior == Normal(7.0, 3.0)
    assert spec.coef_priors[1] == StudentT(nu=3.0, mu=1.0, sigma=2.0)
    assert spec.coef_priors[0].sigma == pytest.approx(2.5 * 300.0 / SD_X[0])
    # the intercept key first, then an index: both apply
    spec = _spec(priors={"intercept": Normal(1.0, 2.0), 1: Normal(0.0, 9.0)})
    assert spec.intercept_prior == Normal(1.0, 2.0)
    assert spec.coef_priors == (spec.coef_priors[0], Normal(0.0, 9.0))
    assert spec.coef_priors[0].sigma == pytest.approx(2.5 * 300.0 / SD_X[0])


@pytest.mark.parametrize(("key", "column"), [(0, 0), (1, 1), (-1, 1), (-2, 0),
                                              (np.int64(1), 1), (np.int32(-2), 0)])
def test_integer_indices_count_from_either_end(key, column):
    spec = _spec(priors={key: Normal(0.0, 9.0)})
    assert spec.coef_priors[column] == Normal(0.0, 9.0)
    other = spec.coef_priors[1 - column]
    assert other.sigma == pytest.approx(2.5 * 300.0 / SD_X[1 - column])


@pytest.mark.parametrize("key", [2, -3, 10])
def test_an_index_out_of_range_is_an_error(key):
    with pytest.raises(ValueError,
                       match=f"coefficient index {key}, but there are only 2 coefficients"):
        _spec(priors={key: Normal(0.0, 1.0)})


@pytest.mark.parametrize("key", [True, False])
def test_a_boolean_key_is_not_an_index(key):
    with pytest.raises(ValueError, match=rf"unknown coefficient {key}\. Known names: "
                                         r"\['x1', 'x2'\] \(or an integer index, or 'intercept'\)"):
        _spec(priors={key: Normal(0.0, 1.0)})


def test_an_unknown_name_is_an_error_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"Prior given for unknown coefficient 'x3'\. "
                                         r"Known names: \['x1', 'x2'\]"):
        _spec(priors={"x3": Normal(0.0, 1.0)})


def test_a_design_column_called_intercept_takes_its_own_prior():
    spec = _spec(coef_names=["intercept", "x2"], priors={"intercept": Normal(0.0, 9.0)})
    assert spec.coef_priors[0] == Normal(0.0, 9.0)
    assert spec.intercept_prior.sigma == pytest.approx(750.0)


def test_a_bad_prior_value_names_what_it_was_for():
    accepted = r"must be a prior of bayes_sklearn.priors, a number \(a fixed value\), a \(mu"
    with pytest.raises(ValueError, match=r"The prior for the intercept " + accepted):
        _spec(priors={"intercept": "wide"})
    with pytest.raises(ValueError, match=r"The prior for 'x2' " + accepted):
        _spec(priors={"x2": "wide"})
    with pytest.raises(ValueError, match=r"The prior for 1 " + accepted):
        _spec(priors={1: None})


def test_priors_of_the_wrong_kind_are_an_error():
    with pytest.raises(ValueError, match=r"priors must be None, a prior \(applied to every "
                                         r"coefficient\) or a dict mapping coefficient "
                                         r"names or indices to priors\. The prior for every "
                                         r"coefficient must be .*; got \[1, 2, 3\]\."):
        _spec(priors=[1, 2, 3])
    # a (mu, sigma) pair is a prior, here for every coefficient
    assert _spec(priors=[1, 2]).coef_priors == (Normal(1.0, 2.0),) * 2


def test_prior_noise_of_the_wrong_kind_is_an_error():
    assert _spec(prior_noise=HalfNormal(4.0)).noise_prior == HalfNormal(4.0)
    assert _spec(prior_noise=Exponential(2.0)).noise_prior == Exponential(2.0)
    with pytest.raises(ValueError, match=r"The prior for the noise sd \(prior_noise\) must be "
                                         r"on positive numbers .*, got Normal\(mu=0\.0, "
                                         r"sigma=1\.0\)\."):
        _spec(prior_noise=Normal(0.0, 1.0))
