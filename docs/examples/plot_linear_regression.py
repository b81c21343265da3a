"""
Bayesian linear regression and its uncertainty band
===================================================

Thirty noisy points on a line. A Bayesian fit gives a whole distribution of
lines, and with it two different bands: where the *line* is (the credible
band of the mean) and where a *new observation* will fall (the wider
predictive band, which adds the noise). Getting the first one right needs the
posterior covariance of intercept and slope, not their two marginal sds.

We look at the prior first (samples of lines), fit with the exact posterior
and with NUTS, compare them, and draw both bands. Last, the textbook case
of a known noise sd, where the posterior is exactly Gaussian.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from bayes_sklearn import BayesianLinearRegression
from bayes_sklearn.plotting import plot_posterior_comparison
from bayes_sklearn.priors import Normal

FAST = os.environ.get("BAYES_SKLEARN_DOCS_FAST") == "1"
NUTS = {"draws": 300, "tune": 300, "chains": 2} if FAST else {"draws": 1000, "tune": 1000, "chains": 4}

rng = np.random.default_rng(1)
x = rng.uniform(2, 8, size=30)
y = 1.0 + 0.8 * x + rng.normal(scale=1.0, size=30)
X = x[:, None]
grid = np.linspace(0, 10, 101)[:, None]

# %%
# Prior samples of lines
# ----------------------
# The slope prior says "probably between -4 and 4 per unit of x"; the
# intercept prior is the default (at the mean of x, scaled by the spread of
# y). ``sample_prior_predictive(..., kind="mean")`` draws the regression line
# under each prior draw: before seeing the data the model allows rising,
# falling and flat lines, all through the level of the data.
model = BayesianLinearRegression(priors={"x0": Normal(0.0, 2.0)}, random_state=0,
                                 progressbar=False, **NUTS)
# The defaults are scaled by the data, so the prior is simulated at the
# training rows (sorted by x, to draw the lines).
order = np.argsort(x)
prior_lines = model.sample_prior_predictive(X[order], y=y[order], n_samples=50, kind="mean",
                                            random_state=0)
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(x[order], prior_lines.T, color="C0", alpha=0.25, lw=1)
ax.scatter(x, y, color="k", s=12, zorder=3, label="data")
ax.set(xlabel="x", ylabel="y", title="50 lines from the prior")
ax.legend()
fig.tight_layout()

# %%
# The exact posterior and NUTS
# ----------------------------
# With normal priors this model's posterior is known in closed form:
# ``inference="exact"`` draws from it directly. NUTS should find the same
# distribution, up to Monte Carlo error.
exact = BayesianLinearRegression(priors={"x0": Normal(0.0, 2.0)}, inference="exact",
                                 random_state=0).fit(X, y)
nuts = model.fit(X, y)
print(f"NUTS: {nuts.convergence_}")
for name, fit in [("exact", exact), ("NUTS", nuts)]:
    post = fit.posterior_
    print(f"{name:>5}: intercept {float(post['intercept'].mean()):.3f} ± {float(post['intercept'].std()):.3f}, "
          f"slope {float(post['coef'].mean()):.3f} ± {float(post['coef'].std()):.3f}, "
          f"sigma {float(post['sigma'].mean()):.3f} ± {float(post['sigma'].std()):.3f}")

fig, ax = plt.subplots(figsize=(6, 2.8))
plot_posterior_comparison({"exact": exact, "NUTS": nuts}, ["intercept", "coef", "sigma"], ax=ax)
fig.tight_layout()

# %%
# Intercept and slope are strongly correlated
# -------------------------------------------
# The data sit at x between 2 and 8, far from x = 0 where the intercept is
# read off. A steeper line through the data must cross x = 0 lower, so the
# posterior of (intercept, slope) is a narrow, tilted ellipse. ``coef_cov_``
# is that posterior covariance matrix.
print("posterior covariance of (intercept, slope):")
print(np.round(exact.coef_cov_, 4))
correlation = exact.coef_cov_[0, 1] / np.sqrt(exact.coef_cov_[0, 0] * exact.coef_cov_[1, 1])
print(f"correlation {correlation:.3f}")

intercepts = exact.posterior_["intercept"].values.ravel()
slopes = exact.posterior_["coef"].values.ravel()
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.scatter(intercepts[:1000], slopes[:1000], s=4, alpha=0.3)
ax.set(xlabel="intercept", ylabel="slope", title=f"posterior draws (correlation {correlation:.2f})")
fig.tight_layout()

# %%
# Treating them as independent would be wrong: with the two marginal sds
# alone the band of the line at x = 5 would be
marginal_sd = np.sqrt(exact.coef_cov_[0, 0] + 25 * exact.coef_cov_[1, 1])
joint_sd = np.sqrt(np.array([1.0, 5.0]) @ exact.coef_cov_ @ np.array([1.0, 5.0]))
print(f"sd of the line at x = 5: {joint_sd:.3f} with the covariance, "
      f"{marginal_sd:.3f} from the marginal sds alone")

# %%
# The predictive band
# -------------------
# ``predict_interval(kind="mean")`` is the credible band of the line,
# narrowest at the centre of the data; ``kind="predictive"`` adds the noise,
# the band for a new observation. About 90% of new points should fall in the
# second one, and only the line in the first.
mean = exact.predict(grid)
line_band = exact.predict_interval(grid, prob=0.9, kind="mean")
new_band = exact.predict_interval(grid, prob=0.9, kind="predictive")

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.fill_between(grid[:, 0], *new_band.T, color="C0", alpha=0.15, label="90% band for a new y")
ax.fill_between(grid[:, 0], *line_band.T, color="C0", alpha=0.4, label="90% band of the line")
ax.plot(grid[:, 0], mean, color="C0", label="posterior mean line")
ax.scatter(x, y, color="k", s=12, zorder=3, label="data")
ax.set(xlabel="x", ylabel="y")
ax.legend(fontsize=8, loc="upper left")
fig.tight_layout()

# %%
# A check of that claim on 2000 new points from the same process:
x_new = rng.uniform(2, 8, size=2000)
y_new = 1.0 + 0.8 * x_new + rng.normal(scale=1.0, size=2000)
band = exact.predict_interval(x_new[:, None], prob=0.9, kind="predictive")
inside = np.mean((band[:, 0] <= y_new) & (y_new <= band[:, 1]))
print(f"share of new points inside the 90% predictive band: {inside:.3f}")

# %%
# When the noise is known
# -----------------------
# Textbooks often start from a known noise sd: 11 points on ``y = 0.3 x + 2``
# measured with ``sigma_y = 0.1``, ``Normal(0, 0.2)`` priors on the slope
# and on the intercept *of the line* (at x = 0, hence
# ``center_predictors=False``). A number as ``prior_noise`` fixes the noise
# sd, and the posterior is then exactly Gaussian: ``coef_``, ``intercept_``
# and ``coef_cov_`` are its closed form, no grid and no sampling involved.
# The unknown-noise fit of the same points (the default ``Exponential``
# prior on ``sigma``) is drawn beside it: it also has to learn ``sigma``
# from 11 points, so its band is wider and its slope less certain.
x11 = np.linspace(0, 1, 11)
y11 = 0.3 * x11 + 2 + np.random.default_rng(2).normal(scale=0.1, size=11)
line_priors = {"intercept": Normal(0.0, 0.2), "x0": Normal(0.0, 0.2)}
known = BayesianLinearRegression(inference="exact", prior_noise=0.1, center_predictors=False,
                                 priors=line_priors, random_state=0).fit(x11[:, None], y11)
unknown = BayesianLinearRegression(inference="exact", center_predictors=False,
                                   priors=line_priors, random_state=0).fit(x11[:, None], y11)

A = np.column_stack([np.ones(11), x11])
precision = np.eye(2) / 0.2**2 + A.T @ A / 0.1**2
closed_mean = np.linalg.solve(precision, A.T @ y11 / 0.1**2)
print("known noise, posterior mean (intercept, slope):",
      np.round([known.intercept_, known.coef_[0]], 4),
      "closed form:", np.round(closed_mean, 4))
print("posterior sd of the slope: known noise "
      f"{np.sqrt(known.coef_cov_[1, 1]):.3f}, unknown noise {np.sqrt(unknown.coef_cov_[1, 1]):.3f}")

grid11 = np.linspace(0, 1, 51)[:, None]
fig, ax = plt.subplots(figsize=(6.5, 4))
for fit, label, color in [(known, "sigma known (0.1)", "C1"), (unknown, "sigma unknown", "C0")]:
    band = fit.predict_interval(grid11, prob=0.9, kind="mean")
    ax.fill_between(grid11[:, 0], *band.T, color=color, alpha=0.3, label=f"90% band, {label}")
    ax.plot(grid11[:, 0], fit.predict(grid11), color=color)
ax.scatter(x11, y11, color="k", s=12, zorder=3, label="data")
ax.set(xlabel="x", ylabel="y", title="The same 11 points, noise sd known or not")
ax.legend(fontsize=8, loc="upper left")
fig.tight_layout()
