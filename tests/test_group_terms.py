"""Bar terms: lifted out of the formula as lme4 reads them, replayed on new rows."""

import pickle
import re

import numpy as np
import pandas as pd
import pytest

from bayes_sklearn.design.group_terms import BarTerm, GroupTermsDesign, split_group_terms


def _term(lhs, factor, correlated=True):
    columns = tuple(factor.split(":"))
    return BarTerm(lhs, factor, correlated, factor, columns)


# --- split_group_terms: the grammar ---------------------------------------------------


@pytest.mark.parametrize(
    "formula, fixed, terms",
    [
        ("x + (1 | g)", "x", [_term("1", "g")]),
        ("(1 | g)", "1", [_term("1", "g")]),
        ("(1|g)", "1", [_term("1", "g")]),
        ("0 + x + (1 | g)", "0 + x", [_term("1", "g")]),
        ("x + (1 | g) - 1", "x - 1", [_term("1", "g")]),
        ("(1 | g) - 1", "-1", [_term("1", "g")]),
        ("0 + (1 | g)", "0", [_term("1", "g")]),
        ("x + (1 + x | g)", "x", [_term("1 + x", "g")]),
        ("(x | g)", "1", [_term("x", "g")]),
        ("(0 + x | g)", "1", [_term("0 + x", "g")]),
        ("(x - 1 | g)", "1", [_term("x - 1", "g")]),
        ("(x || g)", "1", [_term("x", "g", correlated=False)]),
        ("(1 | a) + (1 | b)", "1", [_term("1", "a"), _term("1", "b")]),
        ("(1 | a:b)", "1", [_term("1", "a:b")]),
        ("(1 | state/county)", "1", [_term("1", "state"), _term("1", "state:county")]),
        ("(1 | a/b/c)", "1", [_term("1", "a"), _term("1", "a:b"), _term("1", "a:b:c")]),
        ("(x || a/b)", "1", [_term("x", "a", False), _term("x", "a:b", False)]),
        (
            "np.log(x + 1) + C(r) + (center(x) + C(c) | g)",
            "np.log(x + 1) + C(r)",
            [_term("center(x) + C(c)", "g")],
        ),
        ("x*z + (0 + x | g) + (1 | h)", "x*z", [_term("0 + x", "g"), _term("1", "h")]),
        ("(a + b):x + (1 | g)", "(a + b):x", [_term("1", "g")]),
        ("C(r, levels=['a|b']) + (1 | g)", "C(r, levels=['a|b'])", [_term("1", "g")]),
        ("x + y", "x + y", []),
    ],
)
def test_split_gives_fixed_part_and_terms_in_order(formula, fixed, terms):
    assert split_group_terms(formula) == (fixed, tuple(terms))


def test_split_of_none_is_none():
    assert split_group_terms(None) == (None, ())


def test_backticked_factor_keeps_quotes_in_factor_not_in_label():
    _, (term,) = split_group_terms("(1 | `my county`)")
    assert term == BarTerm("1", "`my county`", True, "my county", ("my county",))


@pytest.mark.parametrize(
    "lhs, intercept",
    [("1", True), ("x", True), ("1 + x", True), ("0 + x", False), ("x - 1", False),
     ("-1 + x", False)],
)
def test_lme4_intercept_rule_inside_a_bar(lhs, intercept):
    _, (term,) = split_group_terms(f"({lhs} | g)")
    assert term.intercept is intercept


def test_str_of_a_term_is_the_bar_written_out():
    _, terms = split_group_terms("(1 + x|g) + (x||h)")
    assert [str(term) for term in terms] == ["(1 + x | g)", "(x || h)"]


@pytest.mark.parametrize(
    "formula, words",
    [
        ("( | g)", "nothing before the '|'"),
        ("(1 | )", "no grouping factor"),
        ("(1 | g", "unbalanced parentheses"),
        ("x + 1 | g)", "unbalanced parentheses"),
        ("x:(1 | g)", "inside 'x:(1 | g)'"),
        ("np.log((1 | g))", "not used inside a function call"),
        ("(1 | g):x", "inside '(1 | g):x'"),
        ("y ~ x + (1 | g)", "has a '~'"),
        ("x - (1 | g)", "removes the group term"),
        ("x | g", "'|' outside parentheses"),
        ("(1 | g | h)", "more than one '|'"),
        ("(0 | g)", "has no effects"),
        ("(x + | g)", "invalid left-hand side"),
        ("(1 | g + h)", "grouping factor 'g + h', which is not a column name"),
        ("(1 | C(g))", "grouping factor 'C(g)', which is not a column name"),
        ("", "non-empty string"),
    ],
)
def test_malformed_formulas_are_refused_in_words(formula, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        split_group_terms(formula)


def test_bad_factor_error_shows_valid_examples():
    with pytest.raises(ValueError) as info:
        split_group_terms("(1 | g + h)")
    for example in ("(1 | county)", "(1 + floor | county)", "(1 | state/county)",
                    "(floor || county)"):
        assert example in str(info.value)


# --- GroupTermsDesign: fit and replay -------------------------------------------------


@pytest.fixture
def radon_like():
    return pd.DataFrame({
        "floor": [0.0, 1.0, 0.0, 1.0, 1.0],
        "state": ["MN", "MN", "WI", "MN", "WI"],
        "county": ["B", "A", "A", "B", "A"],
    })


def _fit(formula, X):
    return GroupTermsDesign.fit_transform(X, split_group_terms(formula)[1])


def test_slope_and_intercept_matrix_names_and_codes(radon_like):
    design, (arrays,) = _fit("(1 + floor | county)", radon_like)
    assert design.effect_names == (("1|county", "floor|county"),)
    assert design.levels == (("A", "B"),)
    np.testing.assert_array_equal(
        arrays.matrix, [[1, 0], [1, 1], [1, 0], [1, 1], [1, 1]]
    )
    np.testing.assert_array_equal(arrays.codes, [1, 0, 0, 1, 0])
    assert arrays.matrix.dtype == np.float64 and arrays.codes.dtype == np.int64


@pytest.mark.parametrize(
    "formula, names, matrix",
    [
        ("(floor | county)", ("1|county", "floor|county"), [[1, 0], [1, 1]]),
        ("(0 + floor | county)", ("floor|county",), [[0], [1]]),
        ("(floor - 1 | county)", ("floor|county",), [[0], [1]]),
        ("(1 | county)", ("1|county",), [[1], [1]]),
    ],
)
def test_intercept_rule_in_the_fitted_design(radon_like, formula, names, matrix):
    design, (arrays,) = _fit(formula, radon_like)
    assert design.effect_names == (names,)
    np.testing.assert_array_equal(arrays.matrix[:2], matrix)


def test_independent_term_has_the_same_design_as_a_correlated_one(radon_like):
    design, (independent,) = _fit("(floor || county)", radon_like)
    _, (correlated,) = _fit("(floor | county)", radon_like)
    assert design.terms[0].correlated is False
    assert design.effect_names == (("1|county", "floor|county"),)
    np.testing.assert_array_equal(independent.matrix, correlated.matrix)


def test_nested_factor_levels_are_observed_pairs(radon_like):
    design, (state, pair) = _fit("(1 | state/county)", radon_like)
    assert design.effect_names == (("1|state",), ("1|state:county",))
    assert design.levels == (("MN", "WI"), ("MN:A", "MN:B", "WI:A"))
    assert design.level_keys[1] == (("MN", "A"), ("MN", "B"), ("WI", "A"))
    np.testing.assert_array_equal(state.codes, [0, 0, 1, 0, 1])
    np.testing.assert_array_equal(pair.codes, [1, 0, 2, 1, 2])


def test_interaction_factor_codes_new_pairs_as_unseen(radon_like):
    design = GroupTermsDesign.fit(radon_like, split_group_terms("(1 | state:county)")[1])
    new = pd.DataFrame({"state": ["WI", "WI", "MN"], "county": ["A", "B", "A"]})
    (arrays,) = design.transform(new)
    # WI:B is two known values but an unseen pair
    np.testing.assert_array_equal(arrays.codes, [2, -1, 0])


def test_unseen_levels_get_minus_one(radon_like):
    design = GroupTermsDesign.fit(radon_like, split_group_terms("(1 + floor | county)")[1])
    new = pd.DataFrame({"floor": [1.0, 0.0, 1.0], "county": ["Z", "B", "Y"]})
    (arrays,) = design.transform(new)
    np.testing.assert_array_equal(arrays.codes, [-1, 1, -1])
    np.testing.assert_array_equal(arrays.matrix, [[1, 1], [1, 0], [1, 1]])


def test_numeric_levels_sort_as_numbers():
    X = pd.DataFrame({"g": [10, 2, 10, 1]})
    design, (arrays,) = _fit("(1 | g)", X)
    assert design.levels == ((1, 2, 10),)
    assert all(type(level) is int for level in design.levels[0])
    np.testing.assert_array_equal(arrays.codes, [2, 1, 2, 0])


def test_center_inside_a_bar_replays_the_fit_mean():
    X = pd.DataFrame({"x": [1.0, 2.0, 6.0], "g": ["a", "b", "a"]})  # mean 3
    design, (train,) = _fit("(center(x) | g)", X)
    assert design.effect_names == (("1|g", "center(x)|g"),)
    np.testing.assert_allclose(train.matrix, [[1, -2], [1, -1], [1, 3]])
    (new,) = design.transform(pd.DataFrame({"x": [10.0, 0.0], "g": ["b", "c"]}))
    np.testing.assert_allclose(new.matrix, [[1, 7], [1, -3]])
    np.testing.assert_array_equal(new.codes, [1, -1])


def test_categorical_inside_a_bar_keeps_fit_levels():
    X = pd.DataFrame({"c": ["u", "v", "w", "u"], "g": ["a", "a", "b", "b"]})
    design, (train,) = _fit("(C(c) | g)", X)
    assert design.effect_names == (("1|g", "C(c)[T.v]|g", "C(c)[T.w]|g"),)
    np.testing.assert_array_equal(train.matrix, [[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 0, 0]])
    # a new frame holding one level only is still coded against all three
    (new,) = design.transform(pd.DataFrame({"c": ["w"], "g": ["b"]}))
    np.testing.assert_array_equal(new.matrix, [[1, 0, 1]])


def test_unknown_level_inside_a_bar_follows_handle_unknown():
    X = pd.DataFrame({"c": ["u", "v"], "g": ["a", "b"]})
    design = GroupTermsDesign.fit(X, split_group_terms("(0 + C(c) | g)")[1])
    new = pd.DataFrame({"c": ["z"], "g": ["a"]})
    with pytest.raises(ValueError, match=r"In group term '\(0 \+ C\(c\) \| g\)'.*not seen"):
        design.transform(new)
    (arrays,) = design.transform(new, handle_unknown="ignore")
    assert arrays.matrix.shape == (1, 2)


def test_interaction_inside_a_bar():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0], "z": [2.0, 0.5, -1.0], "g": ["a", "b", "a"]})
    design, (arrays,) = _fit("(0 + x:z | g)", X)
    assert design.effect_names == (("x:z|g",),)
    np.testing.assert_allclose(arrays.matrix, [[2.0], [1.0], [-3.0]])


def test_terms_keep_their_order_and_fit_codes_match_transform(radon_like):
    design, fitted = _fit("(1 | state) + (0 + floor | county)", radon_like)
    assert [str(term) for term in design.terms] == ["(1 | state)", "(0 + floor | county)"]
    replayed = design.transform(radon_like)
    for fit_arrays, again in zip(fitted, replayed):
        np.testing.assert_array_equal(fit_arrays.matrix, again.matrix)
        np.testing.assert_array_equal(fit_arrays.codes, again.codes)


def test_missing_columns_are_named(radon_like):
    design = GroupTermsDesign.fit(radon_like, split_group_terms("(1 + floor | county)")[1])
    with pytest.raises(ValueError, match=r"names 'county', which X does not have"):
        design.transform(radon_like.drop(columns="county"))
    with pytest.raises(ValueError, match=r"names 'floor', which X does not have"):
        design.transform(radon_like.drop(columns="floor"))
    with pytest.raises(ValueError, match=r"names 'district'"):
        _fit("(1 | district)", radon_like)


def test_missing_values_in_a_factor_are_refused(radon_like):
    holed = radon_like.assign(county=["A", None, "B", "A", "B"])
    with pytest.raises(ValueError, match="grouping column 'county'.*missing values"):
        _fit("(1 | county)", holed)
    design = GroupTermsDesign.fit(radon_like, split_group_terms("(1 | county)")[1])
    with pytest.raises(ValueError, match="missing values"):
        design.transform(radon_like.assign(county=[np.nan, "A", "B", "A", "B"]))


def test_a_factor_mixing_types_is_refused():
    X = pd.DataFrame({"g": ["a", 1, "a"]})
    with pytest.raises(ValueError, match="grouping column 'g'.*mixes values"):
        _fit("(1 | g)", X)


def test_an_effect_given_twice_is_refused(radon_like):
    with pytest.raises(ValueError, match=re.escape("both give the effect '1|county'")):
        _fit("(1 | county) + (floor | county)", radon_like)


def test_fitted_design_is_frozen(radon_like):
    design, _ = _fit("(1 | county)", radon_like)
    with pytest.raises(AttributeError):
        design.terms = ()


def test_pickle_round_trip_gives_identical_transforms(radon_like):
    design, _ = _fit("(center(floor) | state/county)", radon_like)
    restored = pickle.loads(pickle.dumps(design))
    new = pd.DataFrame({"floor": [3.0, 0.0], "state": ["WI", "MN"], "county": ["A", "C"]})
    assert restored.effect_names == design.effect_names
    assert restored.levels == design.levels
    for ours, theirs in zip(design.transform(new), restored.transform(new)):
        np.testing.assert_array_equal(ours.matrix, theirs.matrix)
        np.testing.assert_array_equal(ours.codes, theirs.codes)


def test_fitted_design_keeps_no_training_rows():
    def pickled_size(n_rows):
        rng = np.random.default_rng(0)
        X = pd.DataFrame({
            "x": rng.normal(size=n_rows),
            "c": rng.choice(["u", "v"], n_rows),
            "g": rng.choice(["a", "b", "c"], n_rows),
        })
        design, _ = _fit("(center(x) + C(c) | g)", X)
        return len(pickle.dumps(design))

    assert pickled_size(10_000) == pickled_size(100)


def test_polars_frame_gives_the_same_design(radon_like):
    pl = pytest.importorskip("polars")
    design, (pandas_arrays,) = _fit("(1 + floor | county)", radon_like)
    (polars_arrays,) = design.transform(pl.from_pandas(radon_like))
    np.testing.assert_array_equal(polars_arrays.matrix, pandas_arrays.matrix)
    np.testing.assert_array_equal(polars_arrays.codes, pandas_arrays.codes)


# -- the design of a whole formula with group terms -------------------------------


def test_multilevel_design_replays_both_parts_on_new_rows():
    from bayes_sklearn.design.multilevel import MultilevelDesign

    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "g": ["a", "b", "a", "b"],
                          "h": ["p", "p", "q", "q"]})
    design, X_design, arrays = MultilevelDesign.fit(train, "center(x) + (1 + x | g) + (1 | h)")
    np.testing.assert_allclose(X_design, [[-1.5], [-0.5], [0.5], [1.5]])
    assert design.column_names == ("center(x)",) and design.intercept
    assert [a.codes.tolist() for a in arrays] == [[0, 1, 0, 1], [0, 0, 1, 1]]
    new = pd.DataFrame({"x": [10.0], "g": ["b"], "h": ["zz"]})
    # the fixed part keeps the training mean; the bar terms their levels
    np.testing.assert_allclose(design.transform(new), [[7.5]])
    (g_rows, h_rows) = design.group_arrays(new)
    np.testing.assert_array_equal(g_rows.matrix, [[1.0, 10.0]])
    assert g_rows.codes.tolist() == [1] and h_rows.codes.tolist() == [-1]
    assert [list(v) for v in design.group_terms.row_levels(new)] == [["b"], ["zz"]]


def test_multilevel_design_without_bars_and_with_no_fixed_columns():
    from bayes_sklearn.design.multilevel import MultilevelDesign

    frame = pd.DataFrame({"x": [1.0, 2.0], "g": ["a", "b"]})
    with pytest.raises(ValueError, match="has no group terms"):
        MultilevelDesign.fit(frame, "x")
    design, X_design, _ = MultilevelDesign.fit(frame, "(1 | g)")
    assert X_design.shape == (2, 0) and design.intercept
    design, _, _ = MultilevelDesign.fit(frame, "0 + x + (1 | g)")
    assert not design.intercept


def test_row_levels_of_a_nested_factor_are_the_pairs():
    terms = split_group_terms("(1 | s/c)")[1]
    frame = pd.DataFrame({"s": ["S1", "S2"], "c": ["c1", "c1"]})
    design = GroupTermsDesign.fit(frame, terms)
    assert [list(v) for v in design.row_levels(frame)] == [["S1", "S2"], ["S1:c1", "S2:c1"]]


def test_multilevel_design_passes_handle_unknown_to_both_parts():
    """Survivors of mutation testing: the policy for unseen categorical levels
    reaches the fixed part and the bar terms' designs, "error" by default;
    the design keeps its formula (saved files and ``repr`` read it)."""
    from bayes_sklearn.design.multilevel import MultilevelDesign

    train = pd.DataFrame({"c": ["u", "v", "u", "v"], "g": ["a", "b", "a", "b"]})
    formula = "C(c) + (0 + C(c) | g)"
    design, _, _ = MultilevelDesign.fit(train, formula)
    assert design.formula == formula
    new = pd.DataFrame({"c": ["z"], "g": ["a"]})
    with pytest.raises(ValueError, match="not seen"):
        design.transform(new)
    with pytest.raises(ValueError, match=r"In group term.*not seen"):
        design.group_arrays(new)
    np.testing.assert_array_equal(design.transform(new, handle_unknown="ignore"), [[0.0]])
    (arrays,) = design.group_arrays(new, handle_unknown="ignore")
    assert arrays.matrix.shape == (1, 2)
