"""
Logistic regression with an interaction
=======================================

A binary outcome depends on two features *and their product*:
``y ~ Bernoulli(expit(-0.5 + x1 - x2 + 2 x1 x2))``, the model of PyMC's GLM
logistic example. In raw PyMC this takes a page of code, and predicting on
held-out rows means rebuilding the design matrix by hand. Here the formula
``"x1 * x2"`` does both: it builds the design in ``fit`` and replays it on new
rows.

Along the way: priors on each coefficient, a prior predictive check, NUTS with
its trace plot and summary, out-of-sample predictions and their accuracy, the
ROC curve, the decision boundary with its posterior uncertainty, and the
posterior distribution of the test accuracy.
"""

# %%
# Data
# ----
# 250 simulated rows, 70% for training.
import os

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import RocCurveDisplay, accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from bayes_sklearn import BayesianLogisticRegression
from bayes_sklearn.datasets import make_logistic_interaction
from bayes_sklearn.metrics import posterior_score
from bayes_sklearn.plotting import plot_decision_boundary, plot_score_distribution
from bayes_sklearn.priors import Normal

# Short chains when the docs are built in CI; full ones otherwise.
FAST = os.environ.get("BAYES_SKLEARN_DOCS_FAST") == "1"
NUTS = {"draws": 200, "tune": 200, "chains": 2} if FAST else {"draws": 1000, "tune": 1000, "chains": 4}

X, y = make_logistic_interaction(250, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=0.7, random_state=0)
X_train.head()

# %%
# Priors on each coefficient
# --------------------------
# The design columns of ``x1 * x2`` are ``x1``, ``x2`` and ``x1:x2``; each
# can get its own prior by name (on the original scale of the coefficient).
# We say main effects are probably below 5 on the log-odds scale per unit of
# x, and the interaction below 2.
priors = {"intercept": Normal(0, 2), "x1": Normal(0, 2.5), "x2": Normal(0, 2.5),
          "x1:x2": Normal(0, 1)}
clf = BayesianLogisticRegression(formula="x1 * x2", priors=priors, random_state=0,
                                 progressbar=False, **NUTS)

# %%
# Prior predictive check
# ----------------------
# Before fitting: what data do these priors expect? Each simulated data set
# gives a share of positive outcomes. A prior that puts most of its mass on
# all-0 or all-1 data sets would be too wide; here the shares spread over the
# whole range without piling up at the ends, and the observed share is well
# inside.
simulated = clf.sample_prior_predictive(X_train, y_train, n_samples=1000, random_state=0)
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.hist(simulated.mean(axis=1), bins=30, color="C0", alpha=0.7)
ax.axvline(y_train.mean(), color="k", ls="--", label="observed")
ax.set_xlabel("share of y = 1 in a simulated data set")
ax.legend()
fig.tight_layout()

# %%
# Fit with NUTS
# -------------
# The fit compiles nothing: NUTS runs on a log density compiled once per
# installation. ``summary`` is ArviZ's, with r_hat and effective sample sizes.
clf.fit(X_train, y_train)
print(clf.convergence_)
clf.summary(hdi_prob=0.94)[["mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "r_hat"]]

# %%
# The interaction's 94% interval excludes zero, and the posterior means sit
# near the simulating values (-0.5, 1, -1, 2). The trace plot shows the
# chains mixing over the same distribution:
az.plot_trace(clf.idata_, var_names=["intercept", "coef"], compact=True, figsize=(8, 4))
plt.tight_layout()

# %%
# Out-of-sample prediction
# ------------------------
# ``predict_proba`` replays the formula on the held-out rows (the interaction
# column is rebuilt for them) and averages the probability over the
# posterior; ``return_std=True`` adds its posterior sd.
proba, proba_sd = clf.predict_proba(X_test, return_std=True)
accuracy = accuracy_score(y_test, clf.predict(X_test))
auc = roc_auc_score(y_test, proba[:, 1])
print(f"test accuracy {accuracy:.3f}, ROC AUC {auc:.3f}")
print(f"posterior sd of P(y=1): median {np.median(proba_sd[:, 1]):.3f}, "
      f"largest {proba_sd[:, 1].max():.3f}")

# %%
# Without the interaction the problem is much harder for a linear model:
baseline = LogisticRegression().fit(X_train, y_train)
print(f"sklearn LogisticRegression on x1, x2: accuracy "
      f"{accuracy_score(y_test, baseline.predict(X_test)):.3f}")

# %%
# ROC curve
# ---------
# The estimator is a sklearn classifier, so sklearn's displays take it as it is.
fig, ax = plt.subplots(figsize=(4.5, 4.5))
RocCurveDisplay.from_estimator(clf, X_test, y_test, ax=ax)
ax.plot([0, 1], [0, 1], "k:", lw=1)

# %%
# The decision boundary and its uncertainty
# -----------------------------------------
# Colour: posterior mean probability. Thin lines: the boundaries of 100
# posterior draws. Thick line: the boundary of the averaged probability.
# Outside the dashed lines at least 95% of the draws agree on the class; the
# test rows near the boundary are the ones the model is unsure of.
fig, ax = plt.subplots(figsize=(6.5, 5))
plot_decision_boundary(clf, X_test, y_test, n_draws=100, ax=ax)

# %%
# The posterior distribution of the test accuracy
# -----------------------------------------------
# Every posterior draw is a classifier of its own. Scoring each draw on the
# same test rows gives the uncertainty of the accuracy itself, under
# parameter uncertainty (the dashed line is the accuracy of the averaged
# probabilities).
scores = posterior_score(clf, X_test, y_test, scoring="accuracy", n_draws=1000, random_state=0)
fig, ax = plt.subplots(figsize=(5, 3.5))
plot_score_distribution(scores, label="test accuracy", reference=accuracy, ax=ax)
low, high = np.quantile(scores, [0.05, 0.95])
print(f"90% interval of the test accuracy: [{low:.3f}, {high:.3f}]")
