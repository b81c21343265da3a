"""Direct checks of ADVI's pieces (``inference/advi.py``), each in milliseconds.

The fitted approximations are checked against exact posteriors in
``test_known_answers_advi.py`` (seconds per fit); here each building block
meets an independent answer: the gaussian entropy and the reparameterisation
gradient against scipy and finite differences, the dropped constants against
PyMC's own log density, the optimiser against a hand-written Adam loop on the
same random stream, the stopping rule on crafted parameter sequences, and the
minibatch weight ``n / batch_size`` on data whose rows are all alike.
"""

import numpy as np
import pytest
from scipy import stats
from reference_map import jacobian, reference_model, reference_point
from test_kernel import CASES, _spec_and_data

from bayes_sklearn.inference import advi
from bayes_sklearn.inference._kernel import log_density
from bayes_sklearn.inference.advi import (
    VariationalFit,
    WindowedParameterConvergence,
    _Family,
    _initial_sd,
    _log_density_constant,
    _Minibatches,
    _optimise,
    fit_advi,
    fit_variational,
)
from bayes_sklearn.inference.packing import pack_model
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import resolve_model_spec

HALF_LOG_2PI_E = 0.5 * (1 + np.log(2 * np.pi))


# ---------------------------------------------------------------- stopping rule


def _feed(rule, means, start=1):
    """Feed one parameter vector per window (every=1, window=1); the stops."""
    return [rule.update(np.asarray(m, dtype=float), start + i) for i, m in enumerate(means)]


def test_default_window_is_100_snapshots_every_10_steps():
    """Constant parameters: the first window (iterations 10..1000) only sets
    the reference mean; the second, complete at 2000, has change 0 < tol."""
    rule = WindowedParameterConvergence(tolerance=1e-2)
    params = np.array([3.0, -1.0])
    stops = [rule.update(params, it) for it in range(1, 2001)]
    assert stops.index(True) == 1999
    assert rule.converged and rule.changes == [0.0]


def test_window_mean_is_the_average_of_the_snapshots():
    """Snapshots only every ``every`` steps; the window mean is per coordinate."""
    rule = WindowedParameterConvergence(tolerance=0.0, every=2, window=3)
    for it in range(1, 7):
        # iterations 2, 4, 6 are kept: (2, 20), (4, 40), (6, 60)
        assert rule.update(np.array([it, 10.0 * it]), it) is False
    np.testing.assert_array_equal(rule.previous_mean, [4.0, 40.0])
    assert rule.snapshots == [] and rule.changes == []


def test_snapshots_are_copies_of_the_caller_array():
    rule = WindowedParameterConvergence(tolerance=0.0, every=1, window=2)
    buffer = np.array([1.0])
    rule.update(buffer, 1)
    buffer[0] = 3.0
    rule.update(buffer, 2)
    np.testing.assert_array_equal(rule.previous_mean, [2.0])


def test_relative_change_between_window_means():
    rule = WindowedParameterConvergence(tolerance=0.05, every=1, window=1)
    assert _feed(rule, [[3.0, 4.0], [3.0, 4.5], [3.0, 4.55]]) == [False, False, True]
    # |(0, 0.5)| / |(3, 4)| = 0.1, then 0.05 / |(3, 4.5)|
    np.testing.assert_allclose(rule.changes, [0.1, 0.05 / np.hypot(3.0, 4.5)], rtol=1e-12)
    assert rule.converged


def test_change_from_a_zero_mean_is_relative_to_1e_12():
    rule = WindowedParameterConvergence(tolerance=0.05, every=1, window=1)
    assert _feed(rule, [[0.0], [1e-13]]) == [False, False]
    assert rule.changes == [pytest.approx(0.1, rel=1e-9)]
    assert not rule.converged


def test_tolerance_is_strict():
    """A change equal to ``tol`` does not stop: constant parameters with
    tol=0 run on until the plateau rule stops them (see below)."""
    rule = WindowedParameterConvergence(tolerance=0.0, every=1, window=1)
    stops = _feed(rule, [[2.0]] * 7)
    assert stops == [False] * 6 + [True]


def test_plateau_stops_after_5_windows_without_a_20_percent_gain():
    """Means alternating between two vectors of equal norm: a constant change
    0.4, well above tol. The first change sets the best; the next five bring
    no gain of 20%, and the fifth of them stops."""
    a, b = [3.0, 4.0], [4.0, 3.0]  # |a - b| / |a| = sqrt(2) / 5
    rule = WindowedParameterConvergence(tolerance=1e-3, every=1, window=1)
    stops = _feed(rule, [a, b] * 3 + [a])
    assert stops == [False] * 6 + [True]
    assert rule.windows_without_progress == 5 and rule.converged
    np.testing.assert_allclose(rule.changes, np.sqrt(2) / 5, rtol=1e-12)


def test_a_change_20_percent_below_the_best_restarts_the_plateau_count():
    """Changes 1, 1, 1, 1 (4 windows without progress) then 0.79: progress,
    the count restarts; a change of 0.8 times the best is no progress."""
    def means(ratios):
        # 1-vectors: the relative change from x to x (1 + r) is r exactly enough
        out, x = [[1.0]], 1.0
        for r in ratios:
            x = x * (1 + r)
            out.append([x])
        return out

    rule = WindowedParameterConvergence(tolerance=1e-3, every=1, window=1)
    _feed(rule, means([1.0, 1.0, 1.0, 1.0, 0.79]))
    assert rule.windows_without_progress == 0
    assert rule.best_change == pytest.approx(0.79)

    rule = WindowedParameterConvergence(tolerance=1e-3, every=1, window=1)
    _feed(rule, means([1.0, 1.0, 1.0, 1.0, 0.81]))
    assert rule.windows_without_progress == 4 and rule.best_change == pytest.approx(0.81)
    assert not rule.converged


def test_a_change_of_exactly_0_8_of_the_best_is_no_progress():
    # 1 -> 2 (change 1.0, best 1.0); 2 -> 2 + 2 * 0.8 gives 0.8 to the last bit
    x2 = 2.0 + 2.0 * 0.8
    assert abs(x2 - 2.0) / 2.0 == 0.8 * 1.0
    rule = WindowedParameterConvergence(tolerance=1e-3, every=1, window=1)
    _feed(rule, [[1.0], [2.0], [x2]])
    assert rule.changes == [1.0, 0.8]
    assert rule.windows_without_progress == 1


# ------------------------------------------------------------ variational family


def _random_params(dim, full_rank, seed=0):
    rng = np.random.default_rng(seed)
    n_scale = dim * dim if full_rank else dim
    return np.concatenate([rng.normal(size=dim) * 10, 0.5 * rng.normal(size=n_scale)])


def test_initial_params_store_the_log_sds():
    mean, sd = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    mean_field = _Family(2, False).initial(mean, sd)
    np.testing.assert_allclose(mean_field, [1.0, -2.0, np.log(0.5), np.log(4.0)])
    full = _Family(2, True).initial(mean, sd)
    np.testing.assert_allclose(full, [1.0, -2.0, np.log(0.5), 0.0, 0.0, np.log(4.0)])
    np.testing.assert_allclose(_Family(2, True).scale_matrix(full), np.diag(sd))


def test_full_rank_scale_matrix_is_lower_triangular_with_exp_diagonal():
    raw = np.array([[0.1, 7.0, 8.0], [-0.3, 0.2, 9.0], [0.4, 0.5, -0.6]])
    params = np.concatenate([np.zeros(3), raw.ravel()])
    expected = np.array([[np.exp(0.1), 0, 0], [-0.3, np.exp(0.2), 0], [0.4, 0.5, np.exp(-0.6)]])
    np.testing.assert_allclose(_Family(3, True).scale_matrix(params), expected)


@pytest.mark.parametrize("full_rank", [False, True])
def test_draws_have_the_family_mean_and_covariance(full_rank):
    dim = 3
    family = _Family(dim, full_rank)
    params = _random_params(dim, full_rank)
    scale = family.scale_matrix(params)
    cov = scale @ scale.T if full_rank else np.diag(scale**2)
    eps = np.random.default_rng(1).standard_normal((5, dim))
    expected = params[:dim] + eps @ np.linalg.cholesky(cov).T
    np.testing.assert_allclose(family.draw(params, eps), expected)
    fit = VariationalFit(family, params, np.zeros(1), False, None, packed=None)
    draws = fit.draw(20_000, np.random.default_rng(2))
    assert draws.shape == (20_000, dim)
    # 20000 draws: means to 4 se, covariances to 5% of the sds' product
    se = np.sqrt(np.diag(cov) / 20_000)
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - params[:dim]), 4 * se)
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(np.cov(draws, rowvar=False), cov, atol=0.05 * np.outer(sd, sd).max())


@pytest.mark.parametrize("full_rank", [False, True])
def test_entropy_is_the_gaussian_entropy_minus_its_constant(full_rank):
    dim = 4
    family = _Family(dim, full_rank)
    params = _random_params(dim, full_rank, seed=3)
    scale = family.scale_matrix(params)
    cov = scale @ scale.T if full_rank else np.diag(scale**2)
    exact = stats.multivariate_normal(np.zeros(dim), cov).entropy()
    assert family.entropy(params) + dim * HALF_LOG_2PI_E == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("full_rank", [False, True])
def test_elbo_gradient_is_the_derivative_of_the_one_draw_estimate(full_rank):
    """For a fixed eps, d/dparams of log p(mu + L eps) + entropy, with a
    gaussian log p (gradient -P (x - m)) by central differences."""
    dim = 3
    family = _Family(dim, full_rank)
    rng = np.random.default_rng(4)
    root = rng.normal(size=(dim, dim))
    precision, m = root @ root.T + np.eye(dim), rng.normal(size=dim) * 5
    eps = rng.standard_normal(dim)

    def estimate(params):
        x = family.draw(params, eps)
        return -0.5 * (x - m) @ precision @ (x - m) + family.entropy(params)

    params = _random_params(dim, full_rank, seed=5)
    scale = family.scale_matrix(params)
    grad = -precision @ (family.point(params, scale, eps) - m)
    analytic = family.elbo_gradient(scale, eps, grad)
    h = 1e-6
    numeric = np.array([
        (estimate(params + h * e) - estimate(params - h * e)) / (2 * h) for e in np.eye(len(params))
    ])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------- constants


@pytest.mark.parametrize("case", ["gaussian-groups-robust-priors", "categorical", "bernoulli"])
def test_dropped_constants_are_what_pymc_keeps(case):
    """log p (PyMC, every normaliser kept) - kernel log density is a constant:
    ``_log_density_constant`` less the gaussian entropy's ``dim (1 + log 2 pi) / 2``.
    The two cases cover location and scale priors of each kind, the gaussian
    rows' and a group term's normalisers, and two outputs per coefficient."""
    if case in ("categorical", "bernoulli"):
        spec, X_z, y, designs = _spec_and_data(**CASES[case])
    else:
        robust = CASES["gaussian-robust-priors"]
        spec, X_z, y, designs = _spec_and_data(**{**robust, "groups": True})
    packed = pack_model(spec, X_z, y, group_designs=designs)
    model = reference_model(spec, X_z, y, group_designs=designs)
    logp = model.compile_logp()
    theta = packed.initial_point + 0.3
    # the reference model is on the original scale: less the linear map's log-Jacobian
    pymc_logp = logp(reference_point(model, spec, theta)) - jacobian(spec)
    dropped = pymc_logp - log_density(packed.header, theta)[0]
    dim = packed.n_dim
    expected = _log_density_constant(spec, X_z.shape[0], dim) - dim * HALF_LOG_2PI_E
    assert expected == pytest.approx(dropped, abs=1e-7)


# ----------------------------------------------------------------- minibatches


def _gaussian(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [3.0, 0.1] + [50.0, -2.0]
    y = 1000 + X @ [2.0, 30.0] + rng.normal(size=n)
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y)
    return spec, np.ascontiguousarray(spec.standardizer.transform(X)), y


@pytest.mark.parametrize("family, groups", [("gaussian", False), ("gaussian", True),
                                           ("bernoulli", True)])
def test_minibatch_weights_its_rows_by_n_over_batch_size(family, groups):
    """With every row alike (group included), any minibatch of 8 rows
    weighted by 40 / 8 is the full data: the same log density and gradient."""
    spec, X_z, y, designs = _spec_and_data(family, groups, n=40)
    X_z[:], y[:] = X_z[0], y[0]
    for Z, codes in designs or ():
        Z[:], codes[:] = Z[0], codes[0]
    batches = _Minibatches(spec, X_z, y, 8, group_designs=designs)
    batches.refill(np.random.default_rng(0))
    full = pack_model(spec, X_z, y, group_designs=designs)
    theta = full.initial_point + np.random.default_rng(1).normal(scale=0.3, size=full.n_dim)
    got, got_grad = log_density(batches.packed.header, theta)
    want, want_grad = log_density(full.header, theta)
    assert got == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-10)


def test_refill_draws_uniform_rows_from_the_generator():
    """Each step's rows are ``integers(0, n, size=batch_size)`` of the fit's
    generator, copied into the buffers the kernel reads."""
    spec, X_z, y = _gaussian(n=6)
    batches = _Minibatches(spec, X_z, y, 4)
    rng, same = np.random.default_rng(1), np.random.default_rng(1)
    seen = []
    for _ in range(300):
        batches.refill(rng)
        rows = same.integers(0, 6, size=4)
        np.testing.assert_array_equal(batches.rows, rows)
        np.testing.assert_array_equal(batches.X_batch, X_z[rows])
        np.testing.assert_array_equal(batches.y_batch, y[rows])
        seen.append(rows)
    # every row, first and last included, is drawn
    assert np.bincount(np.concatenate(seen), minlength=6).min() > 0


# ------------------------------------------------------------------- optimiser


def _adam_reference(header, start, seed, n_iter, refill):
    """Mean-field ADVI by the book: one-draw ELBO, Adam(1e-2, 0.9, 0.999, 1e-8),
    sds started from the curvature on the first minibatch."""
    rng = np.random.default_rng(seed)
    refill(rng)
    sd0 = _initial_sd(header, start)
    mu, omega = start.copy(), np.log(sd0)
    m1, m2 = np.zeros(2 * len(mu)), np.zeros(2 * len(mu))
    trace, history = [], []
    for t in range(1, n_iter + 1):
        refill(rng)
        eps = rng.standard_normal(len(mu))
        logp, g = log_density(header, mu + np.exp(omega) * eps)
        trace.append(logp + omega.sum())
        step = np.concatenate([g, g * eps * np.exp(omega) + 1])
        m1 = 0.9 * m1 + 0.1 * step
        m2 = 0.999 * m2 + 0.001 * step**2
        update = 1e-2 * (m1 / (1 - 0.9**t)) / (np.sqrt(m2 / (1 - 0.999**t)) + 1e-8)
        mu, omega = mu + update[: len(mu)], omega + update[len(mu) :]
        history.append(np.concatenate([mu, omega]))
    return np.array(history), np.array(trace)


def _minibatch_problem():
    spec, X_z, y = _gaussian(n=40)
    batches = _Minibatches(spec, X_z, y, 10)
    return spec, batches


def test_optimiser_is_adam_on_the_one_draw_elbo():
    _, batches = _minibatch_problem()
    packed = batches.packed
    settings = InferenceSettings(method="advi", max_iter=30, seed=7)
    family = _Family(packed.n_dim, False)
    params, trace, converged = _optimise(packed, batches.refill, family, settings,
                                         np.random.default_rng(7))
    history, want = _adam_reference(packed.header, packed.initial_point, 7, 30, batches.refill)
    np.testing.assert_allclose(trace, want, rtol=1e-12)
    # fewer steps than a window: the last iterate itself
    np.testing.assert_allclose(params, history[-1], rtol=1e-12)
    assert converged is False


def test_optimiser_returns_the_last_window_average_and_stops_on_convergence():
    """tol far above any change: the second window (iteration 2000) stops,
    and the parameters are that window's mean of the snapshots every 10 steps."""
    _, batches = _minibatch_problem()
    packed = batches.packed
    settings = InferenceSettings(method="advi", max_iter=5000, tol=1e9, seed=3)
    family = _Family(packed.n_dim, False)
    params, trace, converged = _optimise(packed, batches.refill, family, settings,
                                         np.random.default_rng(3))
    history, want = _adam_reference(packed.header, packed.initial_point, 3, 2000, batches.refill)
    assert converged is True and len(trace) == 2000
    np.testing.assert_allclose(trace, want, rtol=1e-10)
    np.testing.assert_allclose(params, history[1009::10].mean(axis=0), rtol=1e-10)


def test_one_window_without_a_stop_returns_that_window_average():
    _, batches = _minibatch_problem()
    packed = batches.packed
    settings = InferenceSettings(method="advi", max_iter=1500, tol=1e9, seed=3)
    params, trace, converged = _optimise(packed, batches.refill, _Family(packed.n_dim, False),
                                         settings, np.random.default_rng(3))
    history, _ = _adam_reference(packed.header, packed.initial_point, 3, 1500, batches.refill)
    assert converged is False and len(trace) == 1500
    np.testing.assert_allclose(params, history[9:1000:10].mean(axis=0), rtol=1e-10)


def test_a_non_finite_gradient_stops_with_the_iteration_number():
    _, batches = _minibatch_problem()
    calls = []

    def poisoned(rng):
        batches.refill(rng)
        calls.append(1)
        if len(calls) > 3:  # the first refill is before iteration 1
            batches.y_batch[0] = np.nan

    settings = InferenceSettings(method="advi", max_iter=50, seed=0)
    message = r"^ADVI diverged at iteration 3: the gradient is not finite\.$"
    with pytest.raises(FloatingPointError, match=message):
        _optimise(batches.packed, poisoned, _Family(batches.packed.n_dim, False), settings,
                  np.random.default_rng(0))


class _RecordingBar:
    instances: list = []

    def __init__(self, total, desc, unit):
        self.args, self.updates, self.closed = (total, desc, unit), [], False
        _RecordingBar.instances.append(self)

    def update_to(self, position, status=None):
        self.updates.append((position, status))

    def close(self):
        self.closed = True


CLOCKS = {
    "frozen": lambda: iter([]),  # every read: the default below, 1000 s
    "0.2 s after the start": lambda: iter([0.0]),  # then 0.2 forever: not *more* than 0.2 s
    "1 s per read": lambda: iter(np.arange(0.0, 1e6)),
}


@pytest.mark.parametrize("clock", CLOCKS)
def test_progress_bar_reports_the_recent_elbo_and_convergence(monkeypatch, clock):
    """The bar is updated when more than 0.2 s have passed since the last
    update, and on stopping; each update shows the mean ELBO of the last 100 steps."""
    ticks = CLOCKS[clock]()
    default = 1000.0 if clock == "frozen" else 0.2
    monkeypatch.setattr(advi.time, "monotonic", lambda: next(ticks, default))
    monkeypatch.setattr(advi, "ProgressBar", _RecordingBar)
    _RecordingBar.instances = []
    _, batches = _minibatch_problem()
    settings = InferenceSettings(method="advi", max_iter=5000, tol=1e9, seed=3, progressbar=True)
    _, trace, _ = _optimise(batches.packed, batches.refill, _Family(batches.packed.n_dim, False),
                            settings, np.random.default_rng(3))
    (bar,) = _RecordingBar.instances
    assert bar.args == (5000, "ADVI", "it") and bar.closed
    assert bar.updates[-1] == (2000, f"ELBO {trace[-100:].mean():.4g}, converged")
    if clock == "1 s per read":
        assert len(bar.updates) == 2000
        assert bar.updates[0] == (1, f"ELBO {trace[0]:.4g}")
        assert bar.updates[149] == (150, f"ELBO {trace[50:150].mean():.4g}")
    else:
        assert len(bar.updates) == 1


def test_no_progress_bar_unless_asked(monkeypatch):
    monkeypatch.setattr(advi, "ProgressBar", _RecordingBar)
    _RecordingBar.instances = []
    _, batches = _minibatch_problem()
    settings = InferenceSettings(method="advi", max_iter=20, seed=3)
    _optimise(batches.packed, batches.refill, _Family(batches.packed.n_dim, False), settings,
              np.random.default_rng(3))
    assert _RecordingBar.instances == []


# ----------------------------------------------------------------- initial sd


def test_initial_sds_come_from_the_diagonal_curvature_capped_at_1():
    """Central second differences of the log density (an independent, more
    accurate scheme than the code's forward difference of the gradient)."""
    from bayes_sklearn.priors import Normal

    # few rows and wide priors: some coordinates are flatter than a unit normal
    spec, X_z, y, _ = _spec_and_data("bernoulli", groups=False, n=6, priors=Normal(0.0, 5.0))
    packed = pack_model(spec, X_z, y)
    point = packed.initial_point + 1.0
    h = 1e-4
    curvature = []
    for e in np.eye(len(point)):
        up, mid, down = (log_density(packed.header, point + s * h * e)[0] for s in (1, 0, -1))
        curvature.append(-(up - 2 * mid + down) / h**2)
    curvature = np.array(curvature)
    expected = np.where(curvature > 1.0, 1 / np.sqrt(np.maximum(curvature, 1.0)), 1.0)
    assert (curvature > 1.0).any() and (curvature < 1.0).any()  # both regimes
    np.testing.assert_allclose(_initial_sd(packed.header, point), expected, rtol=1e-3)


def test_initial_sd_steps_in_proportion_to_a_far_coordinate():
    """An intercept started at 1e7 (ulp 2e-9): a fixed step of 1e-4 would be
    lost in rounding of the gradient. The log density is quadratic in the
    intercept, with curvature n / sigma^2 + 1 / prior_sd^2 (n = 40)."""
    spec, X_z, y = _gaussian(n=40)
    packed = pack_model(spec, X_z, y)
    point = packed.initial_point.copy()
    point[0], point[3] = 1e7, np.log(0.5)  # sigma = 0.5
    curvature = 40 / 0.5**2 + 1 / spec.intercept_prior.scale**2
    assert _initial_sd(packed.header, point)[0] == pytest.approx(1 / np.sqrt(curvature), rel=1e-6)


# --------------------------------------------------------------------- fitting


def test_minibatch_of_all_rows_is_the_full_batch():
    spec, X_z, y = _gaussian(n=40)
    for batch_size, kept in [(40, None), (41, None), (39, 39)]:
        settings = InferenceSettings(method="advi", max_iter=20, seed=0, batch_size=batch_size)
        assert fit_variational(spec, X_z, y, settings).batch_size == kept
    full = fit_variational(spec, X_z, y, InferenceSettings(method="advi", max_iter=20, seed=0))
    same = fit_variational(spec, X_z, y, InferenceSettings(method="advi", max_iter=20, seed=0,
                                                           batch_size=40))
    np.testing.assert_array_equal(full.params, same.params)
    # mean-field unless asked (NUTS's ADVI start uses the default)
    assert full.family.full_rank is False and len(full.params) == 2 * full.family.dim


def test_group_models_fit_full_batch_and_minibatch():
    spec, X_z, y, designs = _spec_and_data("gaussian", groups=True, n=40)
    (term,), ((Z, codes),) = spec.group_terms, designs
    for batch_size in (None, 10):
        settings = InferenceSettings(method="advi", max_iter=30, seed=1, chains=2, draws=5,
                                     batch_size=batch_size)
        result = fit_advi(spec, X_z, y, settings, group_designs=designs)
        assert result.group_terms[0].effects.shape == (2, 5, term.n_levels, term.n_effects)
        # the level codes reach the kernel: a different grouping, another fit
        regrouped = [(Z, (codes + 1) % term.n_levels)]
        other = fit_advi(spec, X_z, y, settings, group_designs=regrouped)
        assert not np.allclose(result.elbo_history, other.elbo_history)


def test_reported_elbo_is_the_trace_plus_the_dropped_constants():
    spec, X_z, y = _gaussian(n=40)
    settings = InferenceSettings(method="fullrank_advi", max_iter=25, seed=4, batch_size=10)
    fit = fit_variational(spec, X_z, y, settings, full_rank=True)
    batches = _Minibatches(spec, X_z, y, 10)
    family = _Family(batches.packed.n_dim, True)
    _, trace, _ = _optimise(batches.packed, batches.refill, family, settings,
                            np.random.default_rng(4))
    constant = _log_density_constant(spec, 40, family.dim)
    assert fit.family == family and fit.batch_size == 10 and fit.converged is False
    np.testing.assert_allclose(fit.elbo_history, trace + constant, rtol=1e-12)


@pytest.mark.parametrize("method, batch_size, label", [
    ("advi", None, "advi"),
    ("fullrank_advi", None, "fullrank_advi"),
    ("advi", 10, "advi (minibatch 10)"),
])
def test_fit_advi_draws_chains_times_draws_from_its_own_stream(method, batch_size, label):
    spec, X_z, y = _gaussian(n=40)
    settings = InferenceSettings(method=method, max_iter=30, seed=5, chains=2, draws=7,
                                 batch_size=batch_size)
    result = fit_advi(spec, X_z, y, settings)
    fit = fit_variational(spec, X_z, y, settings, full_rank=method == "fullrank_advi")
    theta = fit.draw(14, np.random.default_rng([5, 1])).reshape(2, 7, -1)
    assert result.method == label
    np.testing.assert_allclose(result.intercept_z[..., 0], theta[..., 0], rtol=1e-12)
    np.testing.assert_allclose(result.coef_z[..., 0], theta[..., 1:3], rtol=1e-12)
    np.testing.assert_allclose(result.sigma, np.exp(theta[..., 3]), rtol=1e-12)
    np.testing.assert_array_equal(result.elbo_history, fit.elbo_history)
    assert result.converged is False
    assert result.sample_stats is None
