"""The precompiled NUTS driver (inference/fast_nuts.py), piece by piece.

Chain starts, the progress numbers nutpie reports, the arrow trace turned into
arrays, and what one short fit hands to nutpie and gets back. A fit on the
cached kernel costs a few hundredths of a second.
"""

import dataclasses
import re

import numpy as np
import pyarrow as pa
import pytest

from bayes_sklearn import BayesianLinearRegression
from bayes_sklearn.inference import fast_nuts, nutpie_run
from bayes_sklearn.inference.packing import pack_model
from bayes_sklearn.inference.settings import InferenceSettings
from bayes_sklearn.model.spec import resolve_group_terms, resolve_model_spec


def _packed(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [10.0, 0.1] + [100.0, -5.0]
    y = 40.0 + X @ [0.5, 20.0] + rng.normal(size=n)
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y)
    X_z = np.ascontiguousarray(spec.standardizer.transform(X))
    return pack_model(spec, X_z, y)


@pytest.mark.parametrize("whitened, jitter", [(False, 1.0), (True, 2.0)])
def test_chains_start_within_the_jitter_of_the_initial_point_per_seed(whitened, jitter):
    """PyMC's default U(-1, 1) around the prior centre; in whitened coordinates,
    U(-2, 2) approximation sds around its mean (the initial point is then 0)."""
    packed = _packed()
    start = fast_nuts._initial_point_function(packed, whitened)
    expected = packed.initial_point + np.random.default_rng(5).uniform(-jitter, jitter,
                                                                       packed.n_dim)
    np.testing.assert_array_equal(start(5), expected)
    points = np.array([start(seed) for seed in range(200)])
    offsets = points - packed.initial_point
    assert np.abs(offsets).max() < jitter
    # the full range is used, in every coordinate
    assert np.all(offsets.max(axis=0) > 0.9 * jitter)
    assert np.all(offsets.min(axis=0) < -0.9 * jitter)


class _Bar:
    def __init__(self, *args):
        self.args, self.updates, self.closed = args, [], 0

    def update_to(self, position, status=None):
        self.updates.append((position, status))

    def close(self):
        self.closed += 1


def _recording(bars):
    """A ProgressBar stand-in that keeps every bar it makes."""

    def make(*args):
        bars.append(_Bar(*args))
        return bars[-1]

    return make


def test_progress_snapshot_shows_draws_chains_and_divergences():
    snapshot = nutpie_run._ProgressSnapshot()
    bar = _Bar()
    snapshot.show(bar)
    snapshot.record("7 12 0")
    snapshot.show(bar)
    assert bar.updates == []  # nothing to show before the first full report
    snapshot.record("7 12 0 3")
    snapshot.show(bar)
    assert bar.updates == [(7, "0/3 chains done, 0 divergences")]
    bar.updates.clear()
    snapshot.record("130 400 1 3 2 0 5.0")
    snapshot.show(bar)
    assert snapshot.values == [130, 400, 1, 3, 2, 0, 5]
    assert bar.updates == [(130, "1/3 chains done, 7 divergences")]


def _trace(n_tune, n_draws, n_dim, offset):
    tuning = np.r_[np.ones(n_tune, bool), np.zeros(n_draws, bool)]
    n = n_tune + n_draws
    theta = offset + np.arange(n * n_dim, dtype=float).reshape(n, n_dim)
    draws = {"theta": pa.array(list(theta), pa.list_(pa.float64()))}
    stats = {"tuning": pa.array(tuning)}
    for k, source in enumerate(nutpie_run._STATS):
        stats[source] = pa.array(offset + 10.0 * k + np.arange(n))
    return draws, stats, theta[~tuning]


def test_trace_keeps_post_warmup_rows_with_arviz_stat_names():
    (d1, s1, kept1), (d2, s2, kept2) = _trace(3, 4, 2, 0.0), _trace(3, 4, 2, 1000.0)
    theta, stats = nutpie_run._trace_to_arrays([d1, d2], [s1, s2], 2)
    np.testing.assert_array_equal(theta, np.stack([kept1, kept2]))
    assert set(stats) == set(nutpie_run._STATS.values())
    assert {"tree_depth", "acceptance_rate", "lp", "reached_max_treedepth"} <= set(stats)
    for k, name in enumerate(nutpie_run._STATS.values()):
        expected = np.stack([offset + 10.0 * k + np.arange(3, 7) for offset in (0.0, 1000.0)])
        np.testing.assert_array_equal(stats[name], expected, err_msg=name)


def test_trace_of_unequal_chains_is_refused():
    (d1, s1, _) = _trace(1, 2, 2, 0.0)
    with pytest.raises(ValueError):
        nutpie_run._trace_to_arrays([d1, d1], [s1], 2)


@pytest.mark.filterwarnings("ignore::bayes_sklearn.BayesianConvergenceWarning")
def test_a_fit_with_a_bar_sizes_it_to_every_draw_and_closes_it(monkeypatch, regression_data):
    bars = []
    monkeypatch.setattr(nutpie_run, "ProgressBar", _recording(bars))
    X, y = regression_data
    model = BayesianLinearRegression(draws=30, tune=40, chains=2, random_state=0,
                                     progressbar=True).fit(X, y)
    (bar,) = bars
    assert bar.args == (2 * (30 + 40), "NUTS", "draws")
    # nutpie's reports while it runs (how many arrive varies: none on a fast
    # run), then the finished trace's numbers
    *reports, last = bar.updates
    assert all(re.fullmatch(r"[0-2]/2 chains done, \d+ divergences", status)
               for _, status in reports)
    n_divergent = int(model.idata_.sample_stats["diverging"].sum())
    assert last == (140, f"2/2 chains done, {n_divergent} divergences")
    assert bar.closed == 1


def _spec_and_data(n=40, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [10.0, 0.1] + [100.0, -5.0]
    y = 40.0 + X @ [0.5, 20.0] + rng.normal(size=n)
    spec = resolve_model_spec(family="gaussian", coef_names=["a", "b"], X=X, y=y)
    return spec, np.ascontiguousarray(spec.standardizer.transform(X)), y


def test_a_seed_gives_the_same_draws_and_the_stats_come_along():
    spec, X_z, y = _spec_and_data()
    settings = InferenceSettings(draws=15, tune=25, chains=2, seed=3)
    first = fast_nuts.sample_fast_nuts(spec, X_z, y, settings)
    again = fast_nuts.sample_fast_nuts(spec, X_z, y, settings)
    other = fast_nuts.sample_fast_nuts(spec, X_z, y, InferenceSettings(
        draws=15, tune=25, chains=2, seed=4))
    assert first.coef_z.shape == (2, 15, 2, 1)
    np.testing.assert_array_equal(first.coef_z, again.coef_z)
    assert not np.array_equal(first.coef_z, other.coef_z)
    assert first.method == "nuts (nutpie, precompiled, laplace-whitened)"
    assert set(first.sample_stats) == set(nutpie_run._STATS.values())
    assert first.sample_stats["lp"].shape == (2, 15)


def test_each_chain_gets_a_core_up_to_the_machine(monkeypatch):
    cores_seen = []
    real = nutpie_run.nutpie_core()

    class Core:
        lib = real.lib

        def start_sampler(self, settings, cores, model, progress):
            cores_seen.append(cores)
            return real.start_sampler(settings, cores, model, progress)

    monkeypatch.setattr(nutpie_run, "nutpie_core", Core)
    spec, X_z, y = _spec_and_data()
    for cpus, chains in [(2, 1), (2, 3), (None, 3)]:  # None: the OS does not say
        monkeypatch.setattr(nutpie_run.os, "cpu_count", lambda: cpus)
        fast_nuts.sample_fast_nuts(spec, X_z, y, InferenceSettings(draws=5, tune=5, chains=chains))
    assert cores_seen == [1, 2, 1]


@pytest.mark.filterwarnings("ignore::bayes_sklearn.BayesianConvergenceWarning")
def test_the_bar_follows_the_sampler_while_it_runs(monkeypatch):
    """Each wait that times out refreshes the bar from nutpie's latest report."""
    real = nutpie_run.nutpie_core()
    bars = []

    class Sampler:
        def __init__(self, inner):
            self.inner, self.timeouts = inner, 0

        def wait(self, seconds):
            if self.timeouts == 0:
                self.inner.wait(60.0)  # done, with at least one report in
                self.timeouts += 1
                raise TimeoutError
            return self.inner.wait(seconds)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    class Core:
        lib = real.lib

        def start_sampler(self, *args):
            return Sampler(real.start_sampler(*args))

    monkeypatch.setattr(nutpie_run, "nutpie_core", Core)
    monkeypatch.setattr(nutpie_run, "ProgressBar", _recording(bars))
    spec, X_z, y = _spec_and_data()
    settings = InferenceSettings(draws=10, tune=10, chains=1, progressbar=True)
    fast_nuts.sample_fast_nuts(spec, X_z, y, settings)
    (bar,) = bars
    # one refresh in the loop from nutpie's report, then the bar is filled
    # from the finished trace
    (_, during), (position, final) = bar.updates
    assert re.fullmatch(r"[01]/1 chains done, \d+ divergences", during)
    assert position == 20 and re.fullmatch(r"1/1 chains done, \d+ divergences", final)


def test_advi_initialisation_whitens_by_the_variational_fit_group_terms_included(monkeypatch):
    from bayes_sklearn.inference import advi
    from bayes_sklearn.inference.preconditioning import GaussianApproximation

    spec, X_z, y = _spec_and_data()
    designs = [(np.ones((len(y), 1)), np.arange(len(y)) % 2)]
    terms = resolve_group_terms([("g", ("u", "v"), ("1|g",), True)], [designs[0][0]],
                                family="gaussian", y=y)
    spec = dataclasses.replace(spec, group_terms=terms)
    settings = InferenceSettings(draws=5, tune=5, chains=2, nuts_init="advi")
    packed = pack_model(spec, X_z, y, group_designs=designs)
    calls, whitened_by = [], []
    approximation = GaussianApproximation(packed.initial_point + 0.1,
                                          0.5 * np.eye(packed.n_dim), "advi")

    class Fit:
        def gaussian(self):
            return approximation

    def fit_variational(*args, sample_weight=None, group_designs=None):
        calls.append(args)
        assert sample_weight is None and group_designs is designs
        return Fit()

    def whitened(packed, approximation):
        whitened_by.append(approximation)
        return real_whitened(packed, approximation)

    real_whitened = fast_nuts.whitened
    monkeypatch.setattr(advi, "fit_variational", fit_variational)
    monkeypatch.setattr(fast_nuts, "whitened", whitened)
    result = fast_nuts.sample_fast_nuts(spec, X_z, y, settings, group_designs=designs)
    (args,) = calls
    assert len(args) == 4
    assert args[0] is spec and args[1] is X_z and args[2] is y and args[3] is settings
    assert whitened_by == [approximation]
    assert result.method == "nuts (nutpie, precompiled, advi-whitened)"
