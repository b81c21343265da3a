"""Plots that show what a posterior adds: boundaries with uncertainty, score spreads.

matplotlib is an optional dependency (``pip install "bayes-sklearn[plot]"``);
every function returns the matplotlib ``Axes`` it drew on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "Plotting needs matplotlib: pip install 'bayes-sklearn[plot]'"
        ) from error
    return plt


def _feature_names(estimator) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return [f"x{i}" for i in range(estimator.n_features_in_)]


def _grid(X: pd.DataFrame, names: list[str], resolution: int, margin: float):
    lows, highs = X[names].min().to_numpy(float), X[names].max().to_numpy(float)
    pad = margin * (highs - lows)
    axes = [np.linspace(lo - p, hi + p, resolution) for lo, hi, p in zip(lows, highs, pad)]
    g0, g1 = np.meshgrid(*axes)
    frame = pd.DataFrame({names[0]: g0.ravel(), names[1]: g1.ravel()})
    return g0, g1, frame


def plot_decision_boundary(
    estimator,
    X,
    y=None,
    *,
    n_draws: int = 100,
    prob: float = 0.9,
    grid_resolution: int = 150,
    margin: float = 0.05,
    random_state=0,
    ax=None,
):
    """Decision boundary of a two-feature binary classifier, with its uncertainty.

    Shows, on the plane of the two input features:

    * the posterior mean probability of ``classes_[1]`` as a colour surface;
    * the boundary (probability 0.5) of ``n_draws`` individual posterior
      draws as thin lines: where they fan out, the boundary is uncertain;
    * the boundary of the posterior-averaged probability (thick line);
    * a ``prob`` credible band: outside the dashed lines, at least
      ``(1 + prob) / 2`` of the draws agree on the class;
    * the data points, if ``y`` is given.

    Parameters
    ----------
    estimator : BayesianLogisticRegression
        Fitted on exactly two input features (any formula of them).
    X : DataFrame or array of shape (n_samples, 2)
        Points that set the plotted range (and are drawn with ``y``).
    y : array-like of shape (n_samples,), optional
        Class labels of ``X``.
    n_draws : int, default=100
        Posterior draws whose boundaries are drawn.
    prob : float, default=0.9
        Mass of the credible band.
    grid_resolution : int, default=150
        Grid points per axis.
    margin : float, default=0.05
        Extra range around the data, as a fraction of it.
    random_state : int, default=0
        Seed for choosing the draws.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import warnings; warnings.simplefilter("ignore")  # 100 draws: too few for the checks
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLogisticRegression
    >>> from bayes_sklearn.plotting import plot_decision_boundary
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = (X[:, 0] - X[:, 1] + rng.logistic(size=100) > 0).astype(int)
    >>> clf = BayesianLogisticRegression(draws=100, tune=100, chains=1,
    ...                                  progressbar=False, random_state=0).fit(X, y)
    >>> ax = plot_decision_boundary(clf, X, y, n_draws=20, grid_resolution=40)
    >>> type(ax).__name__, ax.get_xlabel(), ax.get_ylabel()
    ('Axes', 'x0', 'x1')
    >>> plt.close("all")
    """
    check_is_fitted(estimator)
    if estimator.n_features_in_ != 2 or len(estimator.classes_) != 2:
        raise ValueError(
            "plot_decision_boundary needs a binary classifier fitted on exactly two "
            f"input features; got {estimator.n_features_in_} features and "
            f"{len(estimator.classes_)} classes."
        )
    plt = _pyplot()
    ax = ax if ax is not None else plt.subplots(figsize=(6, 5))[1]
    names = _feature_names(estimator)
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X), columns=names)
    g0, g1, grid = _grid(frame, names, grid_resolution, margin)
    if getattr(estimator, "feature_names_in_", None) is None:
        grid = grid.to_numpy()  # fitted on an array: give it one

    mean_p1 = estimator.predict_proba(grid)[:, 1].reshape(g0.shape)
    draws = estimator.predict_proba_draws(grid, n_draws=n_draws, random_state=random_state)
    p1_draws = draws[:, :, 1].reshape((-1,) + g0.shape)

    surface = ax.contourf(g0, g1, mean_p1, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    for p1 in p1_draws:
        ax.contour(g0, g1, p1, levels=[0.5], colors="k", linewidths=0.4, alpha=0.15)
    agree = (p1_draws > 0.5).mean(axis=0)
    ax.contour(g0, g1, agree, levels=[(1 - prob) / 2, (1 + prob) / 2], colors="k",
               linewidths=1.2, linestyles="--")
    ax.contour(g0, g1, mean_p1, levels=[0.5], colors="k", linewidths=2.5)
    if y is not None:
        y = np.asarray(y)
        for label, marker in zip(estimator.classes_, ("o", "^")):
            rows = y == label
            ax.scatter(frame[names[0]].to_numpy()[rows], frame[names[1]].to_numpy()[rows],
                       marker=marker, edgecolor="k", facecolor="white" if marker == "o" else "k",
                       s=22, label=f"y = {label}")
        ax.legend(loc="upper right", fontsize=8)
    ax.figure.colorbar(surface, ax=ax, label=f"P(y = {estimator.classes_[1]})")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(
        f"Decision boundary: {n_draws} posterior draws (thin), mean (thick), "
        f"{prob:.0%} band (dashed)", fontsize=9,
    )
    return ax


def plot_score_distribution(scores, *, label: str = "score", reference: float | None = None,
                            ax=None):
    """Histogram of a posterior score distribution (see :func:`bayes_sklearn.metrics.posterior_score`).

    Parameters
    ----------
    scores : array-like of shape (n_draws,)
        Score under each posterior draw.
    label : str, default="score"
        Name of the score, for the axis.
    reference : float, optional
        A point value to mark (e.g. the score of the averaged prediction).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
    >>> from bayes_sklearn.metrics import posterior_score
    >>> from bayes_sklearn.plotting import plot_score_distribution
    >>> model = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    >>> scores = posterior_score(model, X, y, scoring="r2", n_draws=200, random_state=0)
    >>> ax = plot_score_distribution(scores, label="R^2", reference=model.score(X, y))
    >>> type(ax).__name__, ax.get_xlabel()
    ('Axes', 'R^2')
    >>> plt.close("all")
    """
    plt = _pyplot()
    ax = ax if ax is not None else plt.subplots(figsize=(5, 3.5))[1]
    scores = np.asarray(scores)
    values, counts = np.unique(scores, return_counts=True)
    if 1 < len(values) <= 60:
        # discrete scores (accuracy on n rows moves in steps of 1/n): one bar each
        width = 0.8 * np.min(np.diff(values))
        ax.bar(values, counts, width=width, color="0.6", edgecolor="white")
    else:
        ax.hist(scores, bins=40, color="0.6", edgecolor="white")
    low, high = np.quantile(scores, [0.05, 0.95])
    ax.axvspan(low, high, color="C0", alpha=0.15, label=f"90% interval [{low:.3f}, {high:.3f}]")
    if reference is not None:
        ax.axvline(reference, color="C3", lw=2, label=f"posterior-mean prediction: {reference:.3f}")
    ax.set_xlabel(label)
    ax.set_ylabel("posterior draws")
    ax.legend(fontsize=8)
    return ax


def plot_elbo(estimator, *, smooth: int = 100, ax=None):
    """ELBO history of an ADVI fit, raw and as a running mean.

    Parameters
    ----------
    estimator : fitted estimator with ``inference="advi"`` or ``"fullrank_advi"``
        Its ``elbo_history_`` is drawn.
    smooth : int, default=100
        Window of the running mean.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
    >>> from bayes_sklearn.plotting import plot_elbo
    >>> model = BayesianLinearRegression(inference="advi", random_state=0).fit(X, y)
    >>> ax = plot_elbo(model)
    >>> type(ax).__name__, ax.get_title()
    ('Axes', 'advi')
    >>> [line.get_label() for line in ax.get_lines()]
    ['ELBO', 'running mean (100)']
    >>> plt.close("all")
    """
    check_is_fitted(estimator)
    history = getattr(estimator, "elbo_history_", None)
    if history is None:
        raise ValueError("plot_elbo needs an estimator fitted with ADVI (elbo_history_ is None).")
    plt = _pyplot()
    ax = ax if ax is not None else plt.subplots(figsize=(6, 3.5))[1]
    steps = np.arange(1, len(history) + 1)
    ax.plot(steps, history, color="0.75", lw=0.5, label="ELBO")
    if len(history) >= smooth:
        running = np.convolve(history, np.ones(smooth) / smooth, mode="valid")
        ax.plot(steps[smooth - 1:], running, color="C0", lw=1.5, label=f"running mean ({smooth})")
    low, high = np.quantile(history[len(history) // 10:], [0.01, 0.99])
    pad = 0.1 * (high - low)
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("iteration")
    ax.set_ylabel("ELBO")
    ax.set_title(estimator.inference_method_, fontsize=9)
    ax.legend(fontsize=8)
    return ax


def plot_posterior_comparison(fits: dict, var_names=None, *, prob: float = 0.94, ax=None):
    """Posterior means and central intervals of the same parameters under several fits.

    Parameters
    ----------
    fits : dict of str to fitted estimator
        E.g. ``{"NUTS": nuts_model, "minibatch ADVI": advi_model}``.
    var_names : sequence of str or None, default=None
        Scalar or vector variables of ``idata_.posterior`` to show. None
        shows ``intercept``, ``coef``, ``sigma`` and the sds of the group
        effects (``"1|county_sigma"``, ...).
    prob : float, default=0.94
        Mass of the intervals.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from bayes_sklearn import BayesianLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=50)
    >>> from bayes_sklearn.plotting import plot_posterior_comparison
    >>> exact = BayesianLinearRegression(inference="exact", random_state=0).fit(X, y)
    >>> advi = BayesianLinearRegression(inference="advi", random_state=0).fit(X, y)
    >>> ax = plot_posterior_comparison({"exact": exact, "ADVI": advi})
    >>> type(ax).__name__
    'Axes'
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['intercept', 'coef[x0]', 'coef[x1]', 'sigma']
    >>> plt.close("all")
    """
    plt = _pyplot()
    first = next(iter(fits.values())).idata_.posterior
    if var_names is None:
        group_sds = [name for name in first.data_vars
                     if "|" in str(name) and str(name).endswith("_sigma")]
        var_names = ["intercept", "coef", "sigma", *group_sds]
    rows = []
    for name in var_names:
        if name not in first:
            continue
        extra = [d for d in first[name].dims if d not in ("chain", "draw")]
        labels = [name] if not extra else [f"{name}[{v}]" for v in first[name][extra[0]].values]
        rows.extend((name, extra[0] if extra else None, i, label) for i, label in enumerate(labels))
    ax = ax if ax is not None else plt.subplots(figsize=(6, 0.45 * len(rows) + 1))[1]
    q = [(1 - prob) / 2, (1 + prob) / 2]
    offsets = np.linspace(-0.2, 0.2, len(fits)) if len(fits) > 1 else [0.0]
    for (fit_name, estimator), offset in zip(fits.items(), offsets):
        post = estimator.idata_.posterior
        for row, (name, dim, index, _) in enumerate(rows):
            values = post[name] if dim is None else post[name].isel({dim: index})
            values = np.asarray(values).ravel()
            low, high = np.quantile(values, q)
            ax.plot([low, high], [row + offset] * 2, lw=2,
                    color=f"C{list(fits).index(fit_name)}",
                    label=fit_name if row == 0 else None)
            ax.plot(values.mean(), row + offset, "o", color=f"C{list(fits).index(fit_name)}")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([label for *_, label in rows])
    ax.invert_yaxis()
    ax.set_xlabel(f"posterior mean and {prob:.0%} interval")
    ax.legend(fontsize=8)
    return ax
