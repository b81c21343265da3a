"""
Hierarchical radon: partial pooling
===================================

Gelman & Hill's radon data: 919 houses in 85 Minnesota counties, with the log
radon level and whether it was measured in the basement (``floor = 0``) or on
the first floor (``floor = 1``). Counties have between 1 and 116 houses. How
should a county's radon level be estimated?

* **complete pooling** ignores counties: one line for the whole state;
* **no pooling** fits every county on its own: noisy for small counties;
* **partial pooling** (a hierarchical model) lets county effects vary around a
  state-wide distribution whose spread is learnt from the data: small
  counties borrow strength from the others.

Then: the hierarchical model with NUTS against minibatch ADVI, the model
with correlated county intercepts and floor slopes written as lme4 and brms
write it, a prediction for a county the model has never seen, and
cross-validation by county.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold, cross_val_score

from bayes_sklearn import BayesianLinearRegression, HierarchicalRegression
from bayes_sklearn.datasets import load_radon
from bayes_sklearn.metrics import lpd_scorer
from bayes_sklearn.plotting import plot_elbo, plot_posterior_comparison

FAST = os.environ.get("BAYES_SKLEARN_DOCS_FAST") == "1"
NUTS = {"draws": 200, "tune": 300, "chains": 2} if FAST else {"draws": 1000, "tune": 1000, "chains": 4}
COMMON = {"random_state": 0, "progressbar": False, **NUTS}

radon = load_radon()
X, y = radon[["floor", "county"]], radon["log_radon"]
houses = radon["county"].value_counts()
print(f"{len(radon)} houses, {len(houses)} counties, {houses.min()} to {houses.max()} houses each")

# %%
# Three ways to pool
# ------------------
# Complete pooling is a linear regression on ``floor``. No pooling gives each
# county its own intercept through the formula ``floor + C(county)``, with
# the default priors, which are wide enough to let each county speak for
# itself. Partial pooling is ``HierarchicalRegression`` with the county as
# the group: ``group="county"`` is the shorthand of the term ``(1 | county)``,
# with the county column held apart from the features.
complete = BayesianLinearRegression(**COMMON).fit(radon[["floor"]], y)
no_pooling = BayesianLinearRegression(formula="floor + C(county)", **COMMON).fit(X, y)
partial = HierarchicalRegression(group="county", **COMMON).fit(X, y)

# %%
# The estimated basement level of each county under each model, against the
# number of houses measured there. With no pooling, counties with few houses
# get extreme estimates; partial pooling pulls them towards the state-wide
# level, the more the fewer houses a county has, and leaves the large
# counties where their data put them.
counties = partial.groups_
reference = no_pooling.design_.model_spec.encoder_state["C(county)"][1]["categories"][0]
no_pool_coef = dict(zip(no_pooling.posterior_["coef"].feature.values, no_pooling.coef_))
no_pool_level = np.array([
    no_pooling.intercept_ + (0.0 if c == reference else no_pool_coef[f"C(county)[T.{c}]"])
    for c in counties
])
partial_level = partial.intercept_ + partial.posterior_["1|county"].mean(("chain", "draw")).values
n_houses = houses.loc[counties].to_numpy()

fig, ax = plt.subplots(figsize=(7, 4))
jitter = np.exp(np.random.default_rng(0).uniform(-0.08, 0.08, len(counties)))
ax.scatter(n_houses * jitter, no_pool_level, s=14, color="C1", label="no pooling")
ax.scatter(n_houses * jitter, partial_level, s=14, color="C0", label="partial pooling")
for x, a, b in zip(n_houses * jitter, no_pool_level, partial_level):
    ax.plot([x, x], [a, b], color="0.7", lw=0.6, zorder=0)
ax.axhline(complete.intercept_, color="k", ls="--", label="complete pooling")
ax.set_xscale("log")
ax.set_xlabel("houses measured in the county")
ax.set_ylabel("basement log radon")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The spread of the county effects is learnt, not fixed: its posterior is
# well away from zero (no pooling would be an infinite spread, complete
# pooling a spread of zero).
partial.summary(var_names=["intercept", "coef", "sigma", "1|county_sigma"])[["mean", "sd", "hdi_3%", "hdi_97%", "r_hat"]]

# %%
# NUTS against minibatch ADVI
# ---------------------------
# The model of the radon literature lets the floor effect vary by county too:
# ``varying_slopes=["floor"]`` is the term ``(1 + floor | county)``, whose
# two effects are correlated. NUTS samples it (non-centred, which avoids the
# funnel of counties with few houses); minibatch ADVI fits it 100 rows at a
# time, with each batch's likelihood weighted by ``n / 100`` for us.
varying = {"group": "county", "varying_slopes": ["floor"]}
nuts = HierarchicalRegression(**varying, **COMMON).fit(X, y)
advi = HierarchicalRegression(**varying, inference="advi", batch_size=100,
                              max_iter=3000 if FAST else 20_000, random_state=0,
                              progressbar=False).fit(X, y)
print(f"NUTS: {nuts.convergence_}")
print(f"ADVI: {advi.n_iter_} iterations")

# %%
# The population-level parameters under both. The means agree; mean-field
# ADVI's intervals are narrower, most of all for the group sds, because it
# cannot represent the posterior correlations between the county effects and
# their spread. Use it for speed on large data, NUTS for the uncertainty.
fig, ax = plt.subplots(figsize=(6.5, 3.5))
# the default variables: intercept, coef, sigma and the group sds
plot_posterior_comparison({"NUTS": nuts, "minibatch ADVI": advi}, ax=ax)
fig.tight_layout()

# %%
# The ELBO history shows the optimisation: noisy (each step sees 100 rows)
# but levelling off before the stopping rule ends it.
fig, ax = plt.subplots(figsize=(6.5, 3))
plot_elbo(advi, ax=ax)
fig.tight_layout()

# %%
# Correlated intercepts and slopes: the formula form
# --------------------------------------------------
# ``group=`` and ``varying_slopes=`` above are the shorthand of the model of
# the radon literature as lme4 and brms write it, a formula term in which a
# county's intercept and floor slope are correlated: ``floor + (1 + floor |
# county)``. The effects are defined at ``floor = 0`` (the basement) and
# their correlation gets an LKJ prior (``lkj_eta=1``, uniform over
# correlations, brms's default). Written as a formula, the county column
# stays in ``X`` and the formula says what it does; the model, and the names
# in ``posterior_``, are those of ``nuts`` above.
correlated = HierarchicalRegression(formula="floor + (1 + floor | county)", **COMMON).fit(X, y)
print(correlated.engine_, list(correlated.posterior_.data_vars))

# %%
# The correlation of county intercepts and floor slopes is
# ``posterior_["county_corr"]``, a 2 x 2 matrix per draw. Its posterior is
# wide and leans negative: counties with high basement levels tend to have a
# larger drop to the first floor. With 85 counties and few first-floor
# measurements in most, the data say only so much.
rho = correlated.posterior_["county_corr"].sel(
    county__effect="1|county", county__effect2="floor|county").values.ravel()
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.hist(rho, bins=30, range=(-1, 1), color="C0", alpha=0.7)
ax.axvline(np.median(rho), color="k", ls="--", label=f"median {np.median(rho):.2f}")
ax.set_xlabel("correlation of county intercept and floor slope")
ax.set_yticks([])
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Each county's basement level with its 90% interval, from the draws of
# ``intercept + "1|county"``, and the predictions themselves: ``predict``
# with all terms (the default) gives each county's level;
# ``group_terms=[]`` gives the population level, the same for every county
# (brms's ``re_formula = NA``, lme4's ``re.form = NA``). The intervals are
# widest for the counties with fewest houses, which sit closest to the
# population level.
levels = correlated.group_levels_["county"]
county_level = (correlated.posterior_["intercept"] + correlated.posterior_["1|county"]).stack(
    sample=("chain", "draw")).values
low, high = np.quantile(county_level, [0.05, 0.95], axis=1)
basement = pd.DataFrame({"floor": 0.0, "county": levels})
with_county = correlated.predict(basement)
population = correlated.predict(basement, group_terms=[])
n_levels = houses.loc[levels].to_numpy()

fig, ax = plt.subplots(figsize=(7, 4))
x_pos = n_levels * jitter
ax.vlines(x_pos, low, high, color="C0", alpha=0.4, lw=1.5, label="90% interval")
ax.scatter(x_pos, with_county, s=12, color="C0", zorder=3, label="predict(basement)")
ax.axhline(population[0], color="k", ls="--", label="predict(basement, group_terms=[])")
ax.set_xscale("log")
ax.set_xlabel("houses measured in the county")
ax.set_ylabel("basement log radon")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# A county the model has never seen
# ---------------------------------
# Fit without one small county, then predict its houses. With
# ``new_groups="population"`` the unseen county gets the state-wide level
# (no county effect); with ``new_groups="sample"`` it gets a new county effect
# drawn from the fitted distribution of counties, so the interval also
# carries the county-to-county spread, which is honest about a county we know
# nothing about.
held_out = "LAC QUI PARLE"
train = radon[radon["county"] != held_out]
model = HierarchicalRegression(**varying, **COMMON).fit(train[["floor", "county"]],
                                                        train["log_radon"])
new_rows = pd.DataFrame({"floor": [0.0, 1.0], "county": [held_out, held_out]})
actual = radon.loc[radon["county"] == held_out, ["floor", "log_radon"]]

fig, ax = plt.subplots(figsize=(5.5, 3.5))
for k, policy in enumerate(["population", "sample"]):
    band = model.set_params(new_groups=policy).predict_interval(new_rows, prob=0.9, kind="mean")
    for floor in (0, 1):
        ax.plot([floor + 0.08 * (2 * k - 1)] * 2, band[floor], lw=6, alpha=0.6, color=f"C{k}",
                label=f"new_groups='{policy}'" if floor == 0 else None)
ax.scatter(actual["floor"], actual["log_radon"], color="k", zorder=3,
           label=f"the {len(actual)} houses of {held_out}")
ax.set_xticks([0, 1], ["basement", "first floor"])
ax.set_ylabel("90% interval of the county mean")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Cross-validation by county
# --------------------------
# ``GroupKFold`` keeps every county's houses together, so each fold scores
# predictions for counties the model has not seen; ``KFold`` scores houses of
# mostly known counties. The score is the log predictive density of the
# held-out houses (higher is better): it judges the whole predictive
# distribution, not only its mean.
county = radon["county"]
models = {
    "complete pooling": (BayesianLinearRegression(**COMMON), radon[["floor"]]),
    "partial pooling, new_groups='population'": (
        HierarchicalRegression(**varying, new_groups="population", **COMMON), X),
    "partial pooling, new_groups='sample'": (
        HierarchicalRegression(**varying, new_groups="sample", **COMMON), X),
}
rows = []
for name, (estimator, features) in models.items():
    by_county = cross_val_score(estimator, features, y, groups=county, cv=GroupKFold(5),
                                scoring=lpd_scorer)
    by_house = cross_val_score(estimator, features, y,
                               cv=KFold(5, shuffle=True, random_state=0), scoring=lpd_scorer)
    rows.append({"model": name, "unseen counties (GroupKFold)": by_county.mean(),
                 "known counties (KFold)": by_house.mean()})
scores = pd.DataFrame(rows).set_index("model")
scores.round(3)

# %%
# For houses of known counties partial pooling predicts clearly better than
# one state-wide line. For unseen counties, predicting at the population
# level ignores how much counties differ and is overconfident;
# ``new_groups="sample"`` carries that spread into the predictive distribution
# and scores about as well as complete pooling, whose noise term absorbs the
# county differences.
