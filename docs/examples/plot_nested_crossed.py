"""
Crossed and nested group terms: Penicillin and Pastes
=====================================================

Two small designs from Davies & Goldsmith (1972) that lme4's documentation
uses to show its formula grammar, each with a known answer: lme4's REML
estimates of the standard deviations.

* **Penicillin** is *crossed*: each of 6 penicillin samples was assayed on
  each of 24 plates. Plates and samples vary independently of each other,
  so the model has one intercept per plate and one per sample,
  ``(1 | plate) + (1 | sample)``.
* **Pastes** is *nested*: 10 batches of paste, 3 casks from each batch, 2
  assays per cask. The cask labels ``"a"``, ``"b"``, ``"c"`` repeat in every
  batch, so a cask is only identified within its batch: ``(1 | batch/cask)``,
  which expands to ``(1 | batch) + (1 | batch:cask)``.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayes_sklearn import HierarchicalRegression
from bayes_sklearn.datasets import load_pastes, load_penicillin

FAST = os.environ.get("BAYES_SKLEARN_DOCS_FAST") == "1"
NUTS = {"draws": 200, "tune": 300, "chains": 2} if FAST else {"draws": 1000, "tune": 1000, "chains": 4}
COMMON = {"random_state": 0, "progressbar": False, **NUTS}

penicillin, pastes = load_penicillin(), load_pastes()

# %%
# Crossed: Penicillin
# -------------------
# The formula has no features, only the two group terms; the grouping
# columns are the columns of ``X``.
crossed = HierarchicalRegression(formula="(1 | plate) + (1 | sample)", **COMMON)
crossed.fit(penicillin[["plate", "sample"]], penicillin["diameter"])
print({label: len(levels) for label, levels in crossed.group_levels_.items()})

# %%
# Nested: Pastes
# --------------
# The crossed formula ``(1 | batch) + (1 | cask)`` would be wrong here: it
# would treat the ten casks called ``"a"`` as one cask. ``batch/cask`` gives
# 30 casks.
nested = HierarchicalRegression(formula="(1 | batch/cask)", **COMMON)
nested.fit(pastes[["batch", "cask"]], pastes["strength"])
print({label: len(levels) for label, levels in nested.group_levels_.items()})

# %%
# Against lme4
# ------------
# lme4's REML estimates (``lmer(diameter ~ 1 + (1 | plate) + (1 | sample))``
# and ``lmer(strength ~ 1 + (1 | batch/cask))``) beside the posterior
# medians and 90% intervals. They answer different questions (a REML
# estimate is a mode of a likelihood, a median summarises a posterior under
# the default half-normal priors), so they agree where the data determine an
# sd and part where they do not.
lme4_reml = {
    "Penicillin": {"1|plate_sigma": 0.8467, "1|sample_sigma": 1.9316, "sigma": 0.5499},
    "Pastes": {"1|batch_sigma": 1.2874, "1|batch:cask_sigma": 2.9041, "sigma": 0.8234},
}
rows = []
for design, model in [("Penicillin", crossed), ("Pastes", nested)]:
    for name, reml in lme4_reml[design].items():
        draws = model.posterior_[name].values.ravel()
        low, median, high = np.quantile(draws, [0.05, 0.5, 0.95])
        rows.append({"design": design, "sd": name, "lme4 REML": reml,
                     "posterior median": median, "5%": low, "95%": high})
comparison = pd.DataFrame(rows).set_index(["design", "sd"])
comparison.round(3)

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
for ax, (design, table) in zip(axes, comparison.groupby(level="design", sort=False)):
    names = table.index.get_level_values("sd")
    position = np.arange(len(names))
    ax.hlines(position, table["5%"], table["95%"], color="C0", lw=3, alpha=0.6,
              label="90% interval")
    ax.plot(table["posterior median"], position, "o", color="C0", label="posterior median")
    ax.plot(table["lme4 REML"], position, "x", color="k", ms=8, label="lme4 REML")
    ax.set_yticks(position, names)
    ax.set_title(design)
    ax.set_xlabel("standard deviation")
axes[0].legend(fontsize=8, loc="lower right")
fig.tight_layout()

# %%
# Every REML estimate lies inside its 90% interval. The plate sd, from 24
# plates, and the cask sd, from 30 casks, are well determined; the sample sd
# (6 samples) and above all the batch sd (10 batches, whose differences the
# cask-to-cask spread mostly hides) have wide, right-skewed posteriors, and
# there a point estimate alone would overstate what the data say. In Pastes
# the casks vary more than the batches they come from.
#
# Batch by batch
# --------------
# ``group_terms`` chooses which terms a prediction includes. A cask's mean
# strength includes both terms; with ``group_terms=["batch"]`` the
# prediction is the batch's mean over its casks, and with ``[]`` the mean of
# all batches.
cask_a = pd.DataFrame({"batch": ["A"], "cask": ["a"]})
print({
    "batch A, cask a": nested.predict(cask_a)[0],
    "batch A": nested.predict(cask_a, group_terms=["batch"])[0],
    "population": nested.predict(cask_a, group_terms=[])[0],
})
