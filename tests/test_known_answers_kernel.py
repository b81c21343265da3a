"""Known answers for the precompiled log density: a hand-written scipy model.

The kernel's log density (``_kernel.log_density``) is checked here against the
model written out with ``scipy.stats`` densities, independently of PyMC and of
the package: priors on the unconstrained parameters with the log-Jacobian of
``sigma = exp(u)`` and ``sd = exp(v)``, and each family's likelihood over the
rows. The kernel drops additive constants, so values are compared as
differences between points; its gradient is compared with central finite
differences of the hand-written density (step 1e-5: truncation error
~1e-10 relative, far below the tolerance).
"""

import numpy as np
import pytest
from scipy import special, stats

from bayes_sklearn.inference._kernel import log_density
from bayes_sklearn.inference.packing import pack_model
from bayes_sklearn.model.spec import resolve_model_spec
from bayes_sklearn.priors import (
    Exponential,
    HalfNormal,
    HalfStudentT,
    Laplace,
    Normal,
    StudentT,
)


def _location_logpdf(prior, x):
    if isinstance(prior, Normal):
        return stats.norm.logpdf(x, prior.loc, prior.scale)
    if isinstance(prior, StudentT):
        return stats.t.logpdf(x, prior.nu, prior.loc, prior.scale)
    assert isinstance(prior, Laplace)
    return stats.laplace.logpdf(x, prior.loc, prior.scale)


def _scale_logpdf(prior, s):
    if isinstance(prior, Exponential):
        return stats.expon.logpdf(s, scale=prior.scale)
    if isinstance(prior, HalfNormal):
        return stats.halfnorm.logpdf(s, scale=prior.sigma)
    assert isinstance(prior, HalfStudentT)
    return np.log(2.0) + stats.t.logpdf(s, prior.nu, 0.0, prior.sigma)


def hand_log_density(spec, X_z, y, codes, theta, weight=1.0):
    """log p(theta, y) on the kernel's unconstrained parameters, by hand."""
    m, p = spec.n_outputs, X_z.shape[1]
    intercept = theta[:m]
    coef = theta[m : m * (p + 1)].reshape(p, m)
    index = m * (p + 1)
    logp = sum(_location_logpdf(spec.intercept_prior, a) for a in intercept)
    priors = spec.sampling_coef_priors()
    logp += sum(_location_logpdf(priors[j], coef[j, k]) for j in range(p) for k in range(m))
    eta = intercept + X_z @ coef
    if spec.family == "gaussian":
        u = theta[index]
        logp += _scale_logpdf(spec.noise_prior, np.exp(u)) + u
        index += 1
    if spec.groups is not None:
        groups = spec.groups
        e, g = groups.n_effects, groups.n_groups
        v = theta[index : index + e]
        sd = np.exp(v)
        logp += sum(_scale_logpdf(groups.sd_priors[k], sd[k]) + v[k] for k in range(e))
        raw = theta[index + e :].reshape(g, e)
        if groups.centered:
            effects = raw
            logp += stats.norm.logpdf(raw, 0.0, sd).sum()
        else:
            effects = raw * sd
            logp += stats.norm.logpdf(raw).sum()
        columns = np.column_stack([np.ones(len(y)), X_z[:, list(groups.varying)]])
        eta = eta + (effects[codes] * columns).sum(axis=1)[:, None]
    if spec.family == "gaussian":
        loglik = stats.norm.logpdf(y, eta[:, 0], np.exp(theta[m * (p + 1)]))
    elif spec.family == "bernoulli":
        loglik = stats.bernoulli.logpmf(y, special.expit(eta[:, 0]))
    else:
        logits = np.column_stack([np.zeros(len(y)), eta])
        loglik = special.log_softmax(logits, axis=1)[np.arange(len(y)), y.astype(int)]
    return logp + weight * loglik.sum()


def _finite_differences(f, theta, step=1e-5):
    grad = np.empty_like(theta)
    for i in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (f(up) - f(down)) / (2 * step)
    return grad


def _data(family, n=40, seed=4):
    rng = np.random.default_rng(seed)
    # Columns far from standard scale: the kernel sees them standardised.
    X = rng.normal(size=(n, 3)) * [3.0, 50.0, 0.02] + [-20.0, 400.0, 1.5]
    codes = rng.integers(0, 3, size=n)
    if family == "gaussian":
        y = 200.0 + rng.normal(scale=30.0, size=n)
    elif family == "bernoulli":
        y = rng.integers(0, 2, size=n).astype(float)
    else:
        y = rng.integers(0, 3, size=n).astype(float)
    return X, y, codes


CASES = {
    # gaussian without groups: the sufficient statistics path
    "gaussian-exponential-noise": dict(family="gaussian"),
    "gaussian-halfnormal-noise-rows": dict(
        family="gaussian", prior_noise=HalfNormal(40.0), sufficient_statistics=False
    ),
    "gaussian-student-laplace-halft": dict(
        family="gaussian",
        priors={"a": StudentT(nu=3.0, mu=0.5, sigma=2.0), "b": Laplace(0.1, 0.5)},
        prior_noise=HalfStudentT(nu=4.0, sigma=25.0),
    ),
    "gaussian-groups": dict(family="gaussian", groups=True),
    "gaussian-groups-centered-weighted": dict(
        family="gaussian", groups=True, centered=True, row_weight=2.5
    ),
    # The kernel takes any design: uncentred columns make the sufficient
    # statistics' column sums and residual sum nonzero.
    "gaussian-uncentred-design": dict(family="gaussian", standardise=False),
    # a single group: group effects still apply
    "gaussian-one-group": dict(family="gaussian", groups=True, n_groups=1),
    "bernoulli-one-group": dict(family="bernoulli", groups=True, n_groups=1),
    "bernoulli": dict(family="bernoulli", priors=Normal(0.3, 1.5)),
    "bernoulli-groups-weighted": dict(family="bernoulli", groups=True, row_weight=3.0),
    "bernoulli-groups-centered": dict(family="bernoulli", groups=True, centered=True),
    "categorical-weighted": dict(
        family="categorical", priors={"c": Laplace(0.0, 2.0)}, row_weight=1.5
    ),
}


def _case(family, groups=False, priors=None, prior_noise=None, centered=False,
          row_weight=1.0, sufficient_statistics=True, standardise=True, n_groups=3):
    X, y, codes = _data(family)
    codes = codes % n_groups
    spec = resolve_model_spec(
        family=family,
        coef_names=["a", "b", "c"],
        X=X,
        y=y,
        n_outputs=2 if family == "categorical" else 1,
        priors=priors,
        prior_noise=prior_noise,
        group_labels=list("uvw")[:n_groups] if groups else None,
        varying_slopes=["b", "c"] if groups else None,
        centered=centered,
    )
    X_z = np.ascontiguousarray(spec.standardizer.transform(X) if standardise else X)
    codes = codes if groups else None
    packed = pack_model(spec, X_z, y, codes, row_weight=row_weight,
                        sufficient_statistics=sufficient_statistics)
    return spec, X_z, y, codes, packed, row_weight


@pytest.mark.parametrize("case", CASES)
def test_log_density_and_gradient_match_the_hand_written_model(case):
    spec, X_z, y, codes, packed, weight = _case(**CASES[case])
    rng = np.random.default_rng(7)
    # Wide spread: linear predictors of both signs and Laplace priors on
    # both sides of their centre.
    thetas = [packed.initial_point + rng.normal(scale=0.8, size=packed.n_dim) for _ in range(4)]

    def hand(theta):
        return hand_log_density(spec, X_z, y, codes, theta, weight)

    ours, theirs = [], []
    for theta in thetas:
        value, grad = log_density(packed.header, theta)
        ours.append(value)
        theirs.append(hand(theta))
        expected = _finite_differences(hand, theta)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    np.testing.assert_allclose(np.diff(ours), np.diff(theirs), rtol=1e-9, atol=1e-8)
