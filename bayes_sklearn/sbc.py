"""Simulation-based calibration (Talts et al. 2018) of the estimators.

Draw parameters from the prior, simulate data from them, fit, and record the
rank of each true parameter among the posterior draws. If the fit computes
the posterior correctly the ranks are uniform, whatever the model; a sampler
that is biased, or too narrow or too wide, shows up as non-uniform ranks.

The design ``X`` is held fixed. Priors must be given explicitly (the default
priors are scaled by the data, so they are not one fixed prior to simulate
from). The intercept prior of the estimators applies at the feature means,
so the simulation draws it there too.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.base import clone

from bayes_sklearn.priors import Exponential, Normal

__all__ = ["SBCResult", "simulation_based_calibration", "simulation_based_calibration_terms"]


@dataclass(frozen=True)
class SBCResult:
    """Ranks of the true parameters among thinned posterior draws.

    Parameters
    ----------
    ranks : ndarray of shape (n_replications, n_parameters)
        Integer ranks in ``0 .. n_draws``.
    n_draws : int
        Posterior draws each rank is taken among (after thinning).
    names : tuple of str
        Parameter names, the columns of ``ranks``.

    Examples
    --------
    Usually returned by :func:`simulation_based_calibration`; built here
    from ranks that are uniform, as those of a correct fit are, and from
    ranks bunched in the middle, as those of a posterior that is too wide:

    >>> import numpy as np
    >>> from bayes_sklearn.sbc import SBCResult
    >>> rng = np.random.default_rng(0)
    >>> ranks = rng.integers(0, 100, size=(200, 2))  # uniform on 0 .. 99
    >>> calibrated = SBCResult(ranks, n_draws=99, names=("intercept", "sigma"))
    >>> bool(calibrated.min_pvalue() > 0.01)
    True
    >>> too_wide = SBCResult(rng.binomial(99, 0.5, size=(200, 2)), n_draws=99,
    ...                      names=("intercept", "sigma"))
    >>> bool(too_wide.min_pvalue() < 1e-6)
    True
    """

    ranks: np.ndarray
    n_draws: int
    names: tuple[str, ...]

    def uniformity_pvalues(self, n_bins: int = 10) -> np.ndarray:
        """Chi-square test of uniform ranks, one p-value per parameter.

        Parameters
        ----------
        n_bins : int, default=10
            The ranks ``0 .. n_draws`` are grouped into this many bins of
            (nearly) equal width before the test.

        Returns
        -------
        ndarray of shape (n_parameters,)
            p-value of each column of ``ranks``, in the order of ``names``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.sbc import SBCResult
        >>> rng = np.random.default_rng(0)
        >>> ranks = rng.integers(0, 100, size=(200, 2))  # uniform on 0 .. 99
        >>> result = SBCResult(ranks, n_draws=99, names=("intercept", "sigma"))
        >>> pvalues = result.uniformity_pvalues()
        >>> pvalues.shape
        (2,)
        >>> bool(np.all(pvalues > 0.05))  # uniform ranks pass
        True
        """
        bins = np.minimum(self.ranks * n_bins // (self.n_draws + 1), n_bins - 1)
        counts = np.stack([np.bincount(b, minlength=n_bins) for b in bins.T])
        return stats.chisquare(counts, axis=1).pvalue

    def min_pvalue(self, n_bins: int = 10) -> float:
        """Bonferroni-adjusted smallest p-value over the parameters.

        Parameters
        ----------
        n_bins : int, default=10
            Bins of the chi-square test, as in :meth:`uniformity_pvalues`.

        Returns
        -------
        float
            ``min(1, n_parameters * min(p-values))``: small values (e.g.
            below 0.01) mean some parameter's ranks are not uniform.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_sklearn.sbc import SBCResult
        >>> rng = np.random.default_rng(0)
        >>> ranks = rng.integers(0, 100, size=(200, 2))  # uniform on 0 .. 99
        >>> result = SBCResult(ranks, n_draws=99, names=("intercept", "sigma"))
        >>> p = result.min_pvalue()
        >>> isinstance(p, float), bool(0.01 < p <= 1.0)
        (True, True)
        """
        pvalues = self.uniformity_pvalues(n_bins)
        return float(min(1.0, pvalues.min() * len(pvalues)))


def _truth_and_draws(estimator, X, intercept_z, coef, sigma, group_sd, group_effects):
    """True parameters and posterior draws, on the original scale."""
    post = estimator.posterior_
    intercept = intercept_z - X.mean(axis=0) @ coef
    truth = [intercept, *coef] + ([sigma] if sigma is not None else [])
    draws = [post["intercept"].values.ravel()]
    draws += list(post["coef"].values.reshape(-1, coef.shape[0]).T)
    if sigma is not None:
        draws.append(post["sigma"].values.ravel())
    if group_sd is not None:
        truth += [group_sd, group_effects[0]]
        draws.append(post["1|group_sigma"].values.ravel())
        draws.append(post["1|group"].values[..., 0].ravel())
    return np.array(truth), np.stack(draws)


def simulation_based_calibration(
    estimator,
    X: np.ndarray,
    n_replications: int,
    n_draws: int = 99,
    prior_scale: float = 1.0,
    noise_scale: float = 1.0,
    simulate_prior_scale: float | None = None,
    random_state: int = 0,
    progress: Callable[[int], None] | None = None,
    groups: np.ndarray | None = None,
    group_scale: float = 1.0,
) -> SBCResult:
    """Run SBC for a linear, logistic or hierarchical logistic estimator on
    the fixed design ``X``.

    Parameters
    ----------
    estimator : BayesianLinearRegression, BayesianLogisticRegression or HierarchicalLogisticRegression
        Unfitted template; it is cloned with explicit priors ``Normal(0,
        prior_scale)`` on the intercept and every coefficient (and, for the
        linear model, ``Exponential(noise_scale)`` on ``sigma``; for the
        hierarchical one, ``HalfNormal(group_scale)`` on the sd of the group
        intercepts).
    X : ndarray of shape (n_samples, n_features)
        Design, the same in every replication.
    n_replications : int
        Number of simulated data sets.
    n_draws : int, default=99
        Posterior draws kept per fit, evenly thinned, so ranks are in
        ``0 .. n_draws``. Thinning also reduces autocorrelation, which the
        rank statistic assumes away.
    prior_scale, noise_scale : float
        Prior of the fitted model.
    simulate_prior_scale : float or None
        Prior scale the parameters are drawn from; None uses ``prior_scale``.
        A different value makes a deliberately miscalibrated check (the test
        must then fail), which shows the test has power.
    random_state : int, default=0
        Seed of the simulations and of the fits.
    progress : callable or None
        Called with the replication index after each fit.
    groups : ndarray of shape (n_samples,) of int, optional
        Group of each row (codes ``0 .. n_groups - 1``), for a hierarchical
        estimator; the group intercepts vary. The ranks then include the sd
        of the group intercepts and the first group's intercept.
    group_scale : float, default=1.0
        Prior scale of the sd of the group intercepts.

    Returns
    -------
    SBCResult
        Ranks of the true parameters, one row per replication.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> from bayes_sklearn.sbc import simulation_based_calibration
    >>> X = np.random.default_rng(0).normal(size=(30, 2))
    >>> result = simulation_based_calibration(
    ...     BayesianLinearRegression(inference="exact", draws=200, chains=1), X,
    ...     n_replications=20)
    >>> result.ranks.shape
    (20, 4)
    >>> result.names
    ('intercept', 'coef[0]', 'coef[1]', 'sigma')
    """
    from bayes_sklearn.estimators.logistic import BayesianLogisticRegression

    rng = np.random.default_rng(random_state)
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    logistic = isinstance(estimator, BayesianLogisticRegression)
    priors = {"intercept": Normal(0.0, prior_scale)}
    priors.update({j: Normal(0.0, prior_scale) for j in range(p)})
    params = {"priors": priors, "random_state": random_state}
    if not logistic:
        params["prior_noise"] = Exponential(noise_scale)
    X_fit = X
    if groups is not None:
        if not (logistic and "group" in estimator.get_params()):
            raise ValueError(
                "groups are supported for HierarchicalLogisticRegression only: the group "
                "sd prior of HierarchicalRegression scales with sd(y), so it is not one "
                "fixed prior to simulate from."
            )
        groups = np.asarray(groups, dtype=np.int64)
        params.update(group=p, varying_slopes=None, prior_group_scale=group_scale)
        X_fit = np.column_stack([X, groups])
    template = clone(estimator).set_params(**params)
    draw_scale = prior_scale if simulate_prior_scale is None else simulate_prior_scale
    centered = X - X.mean(axis=0)
    ranks = []
    for replication in range(n_replications):
        intercept_z = rng.normal(0.0, draw_scale)
        coef = rng.normal(0.0, draw_scale, size=p)
        eta = intercept_z + centered @ coef
        sigma = group_sd = group_effects = None
        if groups is not None:
            group_sd = abs(rng.normal(0.0, group_scale))
            group_effects = rng.normal(0.0, group_sd, size=groups.max() + 1)
            eta = eta + group_effects[groups]
        if logistic:
            y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
            if y.min() == y.max():  # one class only: flip a row, as rare as it is
                y[0] = 1 - y[0]
        else:
            sigma = rng.exponential(noise_scale)
            y = eta + sigma * rng.normal(size=n)
        model = clone(template).set_params(random_state=random_state + replication)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_fit, y)
        truth, draws = _truth_and_draws(model, X, intercept_z, coef, sigma, group_sd,
                                        group_effects)
        keep = np.linspace(0, draws.shape[1] - 1, n_draws).round().astype(int)
        ranks.append((draws[:, keep] < truth[:, None]).sum(axis=1))
        if progress is not None:
            progress(replication)
    names = ("intercept", *(f"coef[{j}]" for j in range(p))) + (() if logistic else ("sigma",))
    if groups is not None:
        names += ("1|group_sigma", "1|group[0]")
    return SBCResult(np.array(ranks), n_draws, names)


def _term_design(frame, lhs: str) -> np.ndarray:
    """A bar term's design from plain columns: ``"1 + x"`` -> [ones, x]; by hand, so the
    simulation does not share the estimator's design code."""
    parts = [part.strip() for part in lhs.split("+")]
    columns = []
    for part in parts:
        if part == "1":
            columns.insert(0, np.ones(len(frame)))
        elif part == "0":
            continue
        elif part.isidentifier():
            columns.append(frame[part].to_numpy(dtype=float))
        else:
            raise ValueError(f"simulation_based_calibration_terms takes bar terms of plain "
                             f"columns ('1 + x'), got {lhs!r}.")
    return np.column_stack(columns)


def simulation_based_calibration_terms(
    estimator,
    X,
    formula: str,
    n_replications: int,
    n_draws: int = 99,
    prior_scale: float = 1.0,
    noise_scale: float = 1.0,
    group_scale: float = 1.0,
    lkj_eta: float = 1.0,
    random_state: int = 0,
    progress: Callable[[int], None] | None = None,
    simulate_group_scale: float | None = None,
) -> SBCResult:
    """Run SBC for a hierarchical estimator with group terms in its formula.

    The parameters are drawn from the priors the estimator is given, the
    data simulated from them on the fixed rows ``X``, and the ranks taken of
    the intercept, the coefficients, ``sigma`` (linear model), every term's
    sds, the correlation of a two-effect correlated term and the first
    level's effects. The simulation builds the designs from the columns by
    hand and draws a correlation ``r`` of two effects as ``2 Beta(eta, eta) -
    1``, the LKJ(eta) marginal in dimension 2, independently of the
    estimator's code.

    Parameters
    ----------
    estimator : HierarchicalRegression or HierarchicalLogisticRegression
        Unfitted template; cloned with ``formula``, priors ``Normal(0,
        prior_scale)`` on the intercept (at x = 0: ``center_predictors=False``)
        and each coefficient, ``Exponential(noise_scale)`` on ``sigma`` and
        ``HalfNormal(group_scale)`` on every group sd, and ``lkj_eta``.
    X : DataFrame
        The rows, the same in every replication: numeric columns and the
        grouping columns.
    formula : str
        Fixed part of plain columns and bar terms whose left-hand sides are
        plain columns, e.g. ``"x + (1 + x | a) + (1 | b)"``; at most two
        effects per correlated term.
    n_replications : int
        Number of simulated data sets.
    n_draws : int, default=99
        Posterior draws kept per fit, evenly thinned (ranks in ``0 .. n_draws``).
    prior_scale, noise_scale, group_scale : float
        Prior scales of the fitted and the simulating model.
    lkj_eta : float, default=1.0
        LKJ shape of the correlated terms.
    random_state : int, default=0
        Seed of the simulations and of the fits.
    progress : callable or None
        Called with the replication index after each fit.
    simulate_group_scale : float or None
        Scale of the half-normal the group sds are drawn from; None uses
        ``group_scale``. A different value makes a deliberately
        miscalibrated check, which shows the test has power.

    Returns
    -------
    SBCResult
        Ranks of the true parameters, one row per replication.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bayes_sklearn import HierarchicalRegression
    >>> from bayes_sklearn.sbc import simulation_based_calibration_terms
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=40), "g": np.repeat(list("abcd"), 10)})
    >>> result = simulation_based_calibration_terms(
    ...     HierarchicalRegression(draws=100, tune=100, chains=1, progressbar=False), X,
    ...     "x + (1 | g)", n_replications=2)  # doctest: +SKIP
    >>> result.names  # doctest: +SKIP
    ('intercept', 'x', 'sigma', '1|g_sigma', '1|g[0]')
    """
    from bayes_sklearn.design.group_terms import split_group_terms
    from bayes_sklearn.estimators.logistic import BayesianLogisticRegression
    from bayes_sklearn.priors import HalfNormal

    rng = np.random.default_rng(random_state)
    fixed, bars = split_group_terms(formula)
    fixed_columns = [c.strip() for c in fixed.split("+") if c.strip() not in ("1", "")]
    F = X[fixed_columns].to_numpy(dtype=float)
    logistic = isinstance(estimator, BayesianLogisticRegression)
    terms = []
    for bar in bars:
        Z = _term_design(X, bar.lhs)
        labels = X[list(bar.columns)].astype(str).agg(":".join, axis=1).to_numpy()
        levels, codes = np.unique(labels, return_inverse=True)
        names = [f"{part.strip()}|{bar.label}" for part in bar.lhs.split("+")
                 if part.strip() != "0"]
        correlated = bar.correlated and Z.shape[1] > 1
        if correlated and Z.shape[1] > 2:
            raise ValueError("simulation_based_calibration_terms draws correlations of two "
                             f"effects only; {bar} has {Z.shape[1]}.")
        terms.append((bar, Z, codes.ravel(), levels, names, correlated))
    priors = {"intercept": Normal(0.0, prior_scale)}
    priors.update({name: Normal(0.0, prior_scale) for name in fixed_columns})
    for _, _, _, _, names, _ in terms:
        priors.update({name: HalfNormal(group_scale) for name in names})
    params = {"formula": formula, "priors": priors, "random_state": random_state,
              "center_predictors": False, "lkj_eta": lkj_eta}
    if not logistic:
        params["prior_noise"] = Exponential(noise_scale)
    template = clone(estimator).set_params(**params)
    simulating_group_scale = group_scale if simulate_group_scale is None else simulate_group_scale
    n = len(X)
    ranks, names_out = [], None
    for replication in range(n_replications):
        intercept = rng.normal(0.0, prior_scale)
        coef = rng.normal(0.0, prior_scale, size=len(fixed_columns))
        eta = intercept + F @ coef
        truth = [intercept, *coef]
        truth_names = ["intercept", *fixed_columns]
        term_truth = []
        for bar, Z, codes, levels, names, correlated in terms:
            sd = np.abs(rng.normal(0.0, simulating_group_scale, size=Z.shape[1]))
            z = rng.normal(size=(len(levels), Z.shape[1]))
            r = None
            if correlated:
                r = 2.0 * rng.beta(lkj_eta, lkj_eta) - 1.0
                z[:, 1] = r * z[:, 0] + np.sqrt(1.0 - r**2) * z[:, 1]
            effects = z * sd
            eta = eta + (effects[codes] * Z).sum(axis=1)
            term_truth.append((bar, names, sd, r, effects, levels[0]))
        if logistic:
            y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
            if y.min() == y.max():
                y[0] = 1 - y[0]
        else:
            sigma = rng.exponential(noise_scale)
            y = eta + sigma * rng.normal(size=n)
            truth.append(sigma)
            truth_names.append("sigma")
        model = clone(template).set_params(random_state=random_state + replication)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        post = model.posterior_
        draws = [post["intercept"].values.ravel()]
        draws += [post["coef"].sel(feature=name).values.ravel() for name in fixed_columns]
        if not logistic:
            draws.append(post["sigma"].values.ravel())
        for bar, names, sd, r, effects, first in term_truth:
            for e, name in enumerate(names):
                truth.append(sd[e])
                truth_names.append(f"{name}_sigma")
                draws.append(post[f"{name}_sigma"].values.ravel())
            if r is not None:
                truth.append(r)
                truth_names.append(f"{bar.label}_corr")
                draws.append(post[f"{bar.label}_corr"].values[..., 0, 1].ravel())
            for e, name in enumerate(names):
                truth.append(effects[0, e])
                truth_names.append(f"{name}[0]")
                draws.append(post[name].sel({f"{bar.label}__factor_dim": first}).values.ravel())
        draws = np.stack(draws)
        keep = np.linspace(0, draws.shape[1] - 1, n_draws).round().astype(int)
        ranks.append((draws[:, keep] < np.array(truth)[:, None]).sum(axis=1))
        names_out = tuple(truth_names)
        if progress is not None:
            progress(replication)
    return SBCResult(np.array(ranks), n_draws, names_out)
