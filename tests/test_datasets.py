"""The shipped data sets, and the mixed-model reference constants built on them.

The reference constants (``tests/reference_mixed_models.py``) come from
statsmodels, which the test suite does not have; what is checked here is what
needs no statsmodels: the data are the documented tables, and the constants
agree with the closed forms of the two balanced designs (recomputed here from
the data, independently of the generating script) and with lme4's published
fits.
"""

import hashlib
import re
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path
from string import ascii_lowercase, ascii_uppercase

import numpy as np
import pandas as pd
import pytest

import reference_mixed_models as ref
from bayes_sklearn.datasets import load_pastes, load_penicillin, load_radon

ROOT = Path(__file__).resolve().parents[1]
DATA = resources.files("bayes_sklearn").joinpath("data")


def _is_str_column(column):
    return pd.api.types.is_string_dtype(column) and all(isinstance(v, str) for v in column)


def test_penicillin_is_the_crossed_lme4_table():
    df = load_penicillin()
    assert df.shape == (144, 3)
    assert list(df.columns) == ["diameter", "plate", "sample"]
    assert pd.api.types.is_integer_dtype(df["diameter"])
    assert _is_str_column(df["plate"]) and _is_str_column(df["sample"])
    assert sorted(df["plate"].unique()) == list(ascii_lowercase[:24])  # a .. x
    assert sorted(df["sample"].unique()) == list(ascii_uppercase[:6])  # A .. F
    # fully crossed and balanced: every plate-sample pair exactly once
    counts = df.groupby(["plate", "sample"]).size()
    assert len(counts) == 24 * 6 and (counts == 1).all()
    assert df["diameter"].between(18, 27).all() and not df.isna().any().any()


def test_pastes_is_the_nested_lme4_table():
    df = load_pastes()
    assert df.shape == (60, 4)
    assert list(df.columns) == ["strength", "batch", "cask", "sample"]
    assert pd.api.types.is_float_dtype(df["strength"])
    for column in ("batch", "cask", "sample"):
        assert _is_str_column(df[column]), column
    assert sorted(df["batch"].unique()) == list(ascii_uppercase[:10])  # A .. J
    assert sorted(df["cask"].unique()) == ["a", "b", "c"]
    assert (df["sample"] == df["batch"] + ":" + df["cask"]).all()
    assert not df.isna().any().any()


def test_pastes_casks_are_nested_in_batches():
    """The cask labels are reused in every batch: cask alone is not a grouping."""
    df = load_pastes()
    assert df["cask"].nunique() == 3
    assert (df["batch"] + ":" + df["cask"]).nunique() == 30
    assert df["sample"].nunique() == 30
    # every batch has all three casks, each cask of each batch two assays
    assert (df.groupby("batch")["cask"].nunique() == 3).all()
    assert (df.groupby(["batch", "cask"]).size() == 2).all()


def test_radon_still_loads():
    df = load_radon()
    assert df.shape == (919, 29) and df["county"].nunique() == 85


def _readme_sections():
    """{file name: section text} of ``bayes_sklearn/data/README.md``."""
    text = DATA.joinpath("README.md").read_text(encoding="utf-8")
    parts = re.split(r"^# (\S+\.csv) ", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("name", ["radon.csv", "penicillin.csv", "pastes.csv"])
def test_shipped_file_is_documented_with_its_hash(name):
    section = _readme_sections()[name]
    match = re.search(r"of the saved file: `([0-9a-f]{64})`", section)
    assert match, f"README.md gives no sha256 of the saved {name}"
    digest = hashlib.sha256(DATA.joinpath(name).read_bytes()).hexdigest()
    assert digest == match.group(1)


def test_package_data_ships_every_data_file():
    """pyproject's package-data globs cover each file in bayes_sklearn/data (a wheel has them)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["bayes_sklearn"]
    for entry in DATA.iterdir():
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        assert any(fnmatch(f"data/{entry.name}", g) for g in globs), entry.name


# --- the reference constants ------------------------------------------------------------


def _penicillin_anova():
    df = load_penicillin()
    a, b, grand = 24, 6, df["diameter"].mean()
    plate_mean = df.groupby("plate")["diameter"].transform("mean")
    sample_mean = df.groupby("sample")["diameter"].transform("mean")
    ss_plate = ((plate_mean - grand) ** 2).sum()
    ss_sample = ((sample_mean - grand) ** 2).sum()
    ss_resid = ((df["diameter"] - plate_mean - sample_mean + grand) ** 2).sum()
    ms_plate, ms_sample = ss_plate / (a - 1), ss_sample / (b - 1)
    mse = ss_resid / ((a - 1) * (b - 1))
    v_plate, v_sample = (ms_plate - mse) / b, (ms_sample - mse) / a
    return {
        "intercept": grand,
        "intercept_se": np.sqrt(v_plate / a + v_sample / b + mse / (a * b)),
        "plate": np.sqrt(v_plate), "sample": np.sqrt(v_sample), "sigma": np.sqrt(mse),
    }


def _pastes_anova(reml):
    df = load_pastes()
    a, c, n, grand = 10, 3, 2, df["strength"].mean()
    batch_mean = df.groupby("batch")["strength"].transform("mean")
    cask_mean = df.groupby(["batch", "cask"])["strength"].transform("mean")
    ms_batch = ((batch_mean - grand) ** 2).sum() / (a - 1)
    ms_cask = ((cask_mean - batch_mean) ** 2).sum() / (a * (c - 1))
    mse = ((df["strength"] - cask_mean) ** 2).sum() / (a * c * (n - 1))
    v_cask = (ms_cask - mse) / n
    v_batch = ((ms_batch if reml else (a - 1) / a * ms_batch) - ms_cask) / (c * n)
    return {
        "intercept": grand,
        "intercept_se": np.sqrt((c * n * v_batch + n * v_cask + mse) / (a * c * n)),
        "batch": np.sqrt(v_batch), "cask": np.sqrt(v_cask), "sigma": np.sqrt(mse),
    }


@pytest.mark.parametrize("fit", [ref.PENICILLIN_REML, ref.PENICILLIN_ML], ids=["REML", "ML"])
def test_penicillin_intercept_is_the_sample_mean(fit):
    """Balanced crossed design: the GLS intercept is the grand mean, whatever the variances."""
    mean = load_penicillin()["diameter"].mean()
    assert fit["fixed"]["Intercept"] == pytest.approx(mean, abs=1e-6)


@pytest.mark.parametrize("fit", [ref.PASTES_REML, ref.PASTES_ML], ids=["REML", "ML"])
def test_pastes_intercept_is_the_sample_mean(fit):
    """Balanced nested design: likewise."""
    mean = load_pastes()["strength"].mean()
    assert fit["fixed"]["Intercept"] == pytest.approx(mean, abs=1e-6)


@pytest.mark.parametrize(
    ("fit", "anova"),
    [
        (ref.PENICILLIN_REML, _penicillin_anova),
        (ref.PASTES_REML, lambda: _pastes_anova(reml=True)),
        (ref.PASTES_ML, lambda: _pastes_anova(reml=False)),
    ],
    ids=["penicillin-REML", "pastes-REML", "pastes-ML"],
)
def test_statsmodels_fits_match_the_closed_forms(fit, anova):
    """With every variance estimate positive, REML of a balanced design is ANOVA's (and
    ML's lower levels of the nested design too); statsmodels' optimum matches to 1e-6."""
    want = anova()
    assert fit["fixed"]["Intercept"] == pytest.approx(want["intercept"], rel=1e-6)
    assert fit["fixed_se"]["Intercept"] == pytest.approx(want["intercept_se"], rel=1e-6)
    assert fit["sigma"] == pytest.approx(want["sigma"], rel=1e-6)
    for name, sd in fit["sd"].items():
        assert sd == pytest.approx(want[name], rel=1e-6), name


def test_closed_form_constants_are_this_data():
    """The script's CLOSED_FORM is what this test's own formulas give on the shipped data."""
    mine = {
        "penicillin_reml": _penicillin_anova(),
        "pastes_reml": _pastes_anova(reml=True),
        "pastes_ml": _pastes_anova(reml=False),
    }
    for key, values in ref.CLOSED_FORM.items():
        for name, value in values.items():
            assert value == pytest.approx(mine[key][name.removeprefix("sd_")], rel=1e-9), (key, name)


@pytest.mark.parametrize(
    ("book", "fit"),
    [
        (ref.LME4_BOOK["PENICILLIN_REML"], ref.PENICILLIN_REML),
        (ref.LME4_BOOK["PASTES_ML"], ref.PASTES_ML),
    ],
    ids=["penicillin-REML", "pastes-ML"],
)
def test_statsmodels_fits_agree_with_lme4s_published_fits(book, fit):
    for key in ("fixed", "fixed_se", "sd"):
        for name, value in book[key].items():
            assert fit[key][name] == pytest.approx(value, rel=1e-3), (key, name)
    assert fit["sigma"] == pytest.approx(book["sigma"], rel=1e-3)
    if "llf" in book:
        assert fit["llf"] == pytest.approx(book["llf"], abs=1e-4)


def test_radon_constants_have_the_model_shapes():
    for fit in (ref.RADON_SLOPES_REML, ref.RADON_SLOPES_ML):
        assert set(fit["fixed"]) == set(fit["fixed_se"]) == {"Intercept", "floor"}
        assert set(fit["sd"]) == {"Intercept", "floor"} and -1 < fit["corr"] < 1
    for fit in (ref.RADON_INTERCEPTS_REML, ref.RADON_INTERCEPTS_ML):
        assert set(fit["fixed"]) == {"Intercept", "floor"} and set(fit["sd"]) == {"Intercept"}
    for fit in (ref.RADON_SLOPES_REML, ref.RADON_SLOPES_ML,
                ref.RADON_INTERCEPTS_REML, ref.RADON_INTERCEPTS_ML):
        assert all(v > 0 for v in [*fit["fixed_se"].values(), *fit["sd"].values(), fit["sigma"]])
