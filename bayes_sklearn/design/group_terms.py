"""Group (random-effects) terms written as lme4, brms and Bambi users write them.

formulaic has no random-effects terms: its ``|`` separates formula parts. So
one grammar serves both kinds of effect through a small pre-pass:
:func:`split_group_terms` lifts the top-level parenthesised bar terms out of
a right-hand side and leaves the rest, untouched, as the fixed-effects
formula for formulaic; :class:`GroupTermsDesign` then gives the left-hand
side of each bar term to formulaic too, so ``C()``, ``center()`` and
interactions inside a bar are learnt at fit and replayed on new rows exactly
as in the fixed part.

How lme4/brms/Bambi syntax maps to the result (the fixed part is the first
element of what :func:`split_group_terms` returns)::

    written                      fixed   bar terms (lhs, factor, correlated)
    "x + (1 | g)"                "x"     ("1", "g", True)
    "(1 | g)"                    "1"     ("1", "g", True)
    "0 + x + (1 | g)"            "0 + x" ("1", "g", True)
    "x + (1 + x | g)"            "x"     ("1 + x", "g", True)
    "(x | g)"                    "1"     ("x", "g", True)       intercept kept
    "(0 + x | g)", "(x - 1 | g)" "1"     slope only, no group intercept
    "(x || g)"                   "1"     ("x", "g", False)      independent
    "(1 | a) + (1 | b)"          "1"     ("1", "a", True), ("1", "b", True)
    "(1 | a/b)"                  "1"     ("1", "a", True), ("1", "a:b", True)
    "(1 | a:b)"                  "1"     ("1", "a:b", True)

As in lme4, a bar's left-hand side includes an intercept unless it says
``0 +`` or ``- 1``, and ``(x || g)`` (lme4's ``(1 | g) + (0 + x | g)``) stays
one term whose effects are independent. A nested factor ``a/b`` expands to
``a`` and the interaction ``a:b``, whose levels are the observed pairs.
Effects are named as Bambi names them: ``"1|g"`` for the group intercept,
``"x|g"`` for the slope of ``x``, ``"1|a:b"`` for an interaction factor.

Levels of a factor unseen in fit get code -1 in
:meth:`GroupTermsDesign.transform`; what to predict for them is the caller's
policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayes_sklearn.design.formula import (
    FormulaDesign,
    _check_formula,
    as_frame,
    check_columns_known,
    parse_formula,
)

#: Shown with every group-term error: what valid bar terms look like.
GROUP_TERM_EXAMPLES = (
    "e.g. '(1 | county)', '(1 + floor | county)', '(1 | state/county)' "
    "or '(floor || county)'"
)

_OPENING = {"(": ")", "[": "]", "{": "}"}
_CLOSING = {")": "(", "]": "[", "}": "{"}
_QUOTES = "'\"`"

_NAME = r"(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)"
_FACTOR = re.compile(rf"\s*{_NAME}\s*(?:[/:]\s*{_NAME}\s*)*")
_FACTOR_TOKEN = re.compile(rf"({_NAME})|([/:])")


@dataclass(frozen=True)
class BarTerm:
    """One group term ``(lhs | factor)`` or ``(lhs || factor)``.

    Attributes
    ----------
    lhs : str
        The left-hand side, a formula for formulaic (``"1"``, ``"1 + floor"``,
        ``"0 + x"``); as in lme4 it includes an intercept unless it says
        ``0 +`` or ``- 1``.
    factor : str
        The grouping factor as written: a column, or columns joined by ``:``
        for their interaction (a nested ``a/b`` is expanded to ``a`` and
        ``a:b`` before it gets here).
    correlated : bool
        False for ``||``: the effects of the term are independent.
    label : str
        The factor as Bambi names it (backticks removed), e.g. ``"state:county"``.
    columns : tuple of str
        The columns of the factor, one for a plain factor.

    Examples
    --------
    >>> term = BarTerm("1 + floor", "county", True, "county", ("county",))
    >>> str(term)
    '(1 + floor | county)'
    >>> term.intercept
    True
    """

    lhs: str
    factor: str
    correlated: bool
    label: str
    columns: tuple[str, ...]

    def __str__(self) -> str:
        return f"({self.lhs} {'|' if self.correlated else '||'} {self.factor})"

    @property
    def intercept(self) -> bool:
        """Whether the term has a group intercept (lme4's rule)."""
        return "1" in {str(part) for part in parse_formula(self.lhs)}


def split_group_terms(formula: str | None) -> tuple[str | None, tuple[BarTerm, ...]]:
    """Lift the bar terms out of a right-hand-side formula.

    Parameters
    ----------
    formula : str or None
        A right-hand side such as ``"floor + (1 + floor | county)"``. Bar
        terms must be added at its top level; they cannot be removed with
        ``-`` or used inside a function call or an interaction.

    Returns
    -------
    fixed : str or None
        The rest of the formula, its terms as written (``"0 +"`` and
        ``"- 1"`` kept); ``"1"`` (intercept only) when nothing else is left.
        None when ``formula`` is None.
    terms : tuple of BarTerm
        The bar terms in order, nested factors expanded.

    Raises
    ------
    ValueError
        If the formula is malformed (unbalanced parentheses, a ``'~'``, an
        empty side of a bar, a factor that is not a column name).

    Examples
    --------
    >>> fixed, terms = split_group_terms("floor + (1 + floor | county)")
    >>> fixed
    'floor'
    >>> terms[0].lhs, terms[0].factor, terms[0].correlated
    ('1 + floor', 'county', True)
    >>> fixed, terms = split_group_terms("(1 | state/county)")
    >>> fixed, [str(term) for term in terms]
    ('1', ['(1 | state)', '(1 | state:county)'])
    """
    if formula is None:
        return None, ()
    _check_formula(formula)
    kept: list[tuple[str, str]] = []
    terms: list[BarTerm] = []
    for sign, text in _top_level_summands(formula):
        bar = _bar_term_parts(text)
        if bar is None:
            _refuse_stray_bar(text, formula)
            kept.append((sign, text))
            continue
        if sign == "-":
            raise ValueError(
                f"formula {formula!r} removes the group term {text!r} with '-'; group "
                f"terms can only be added ({GROUP_TERM_EXAMPLES})."
            )
        terms.extend(_bar_terms(text, *bar))
    return _join_summands(kept), tuple(terms)


def _scan(text: str) -> Iterator[tuple[int, str, int]]:
    """Each character outside quotes with its bracket depth (closing ones at the inner depth)."""
    stack: list[str] = []
    quote = None
    for i, char in enumerate(text):
        if quote is not None:
            if char == quote:
                quote = None
            continue
        if char in _QUOTES:
            quote = char
        elif char in _OPENING:
            stack.append(char)
            yield i, char, len(stack)
            continue
        elif char in _CLOSING:
            if not stack or stack[-1] != _CLOSING[char]:
                raise ValueError(
                    f"formula {text!r} has unbalanced parentheses: {char!r} at position "
                    f"{i} closes nothing opened before it."
                )
            yield i, char, len(stack)
            stack.pop()
            continue
        yield i, char, len(stack)
    if quote is not None:
        raise ValueError(f"formula {text!r} has an unclosed quote {quote}.")
    if stack:
        raise ValueError(
            f"formula {text!r} has unbalanced parentheses: {stack[-1]!r} is never closed."
        )


def _top_level_summands(formula: str) -> list[tuple[str, str]]:
    """``formula`` cut at its top-level ``+`` and ``-``: (sign, text) pairs."""
    summands: list[tuple[str, str]] = []
    sign, start = "+", 0
    for i, char, depth in _scan(formula):
        if depth == 0 and char in "+-":
            text = formula[start:i].strip()
            if text:
                summands.append((sign, text))
                sign = char
            elif char == "-":
                # a leading or doubled sign: '-1 + x', 'x + -1'
                sign = "+" if sign == "-" else "-"
            start = i + 1
    text = formula[start:].strip()
    if text:
        summands.append((sign, text))
    return summands


def _join_summands(summands: list[tuple[str, str]]) -> str:
    if not summands:
        return "1"
    first_sign, first = summands[0]
    parts = [f"-{first}" if first_sign == "-" else first]
    parts += [f"{sign} {text}" for sign, text in summands[1:]]
    return " ".join(parts)


def _bar_term_parts(text: str) -> tuple[str, str, bool] | None:
    """(lhs, factor, correlated) when ``text`` is one parenthesised bar term, else None."""
    if not text.startswith("("):
        return None
    bars: list[int] = []
    for i, char, depth in _scan(text):
        if char == ")" and depth == 1 and i != len(text) - 1:
            return None  # '(a + b):x' and the like: the group closes early
        if char == "|" and depth == 1:
            bars.append(i)
    if not bars:
        return None
    if len(bars) == 2 and bars[1] == bars[0] + 1:
        return text[1 : bars[0]], text[bars[1] + 1 : -1], False
    if len(bars) > 1:
        raise ValueError(
            f"group term {text!r} has more than one '|'; give one left-hand side and "
            f"one grouping factor, {GROUP_TERM_EXAMPLES}."
        )
    return text[1 : bars[0]], text[bars[0] + 1 : -1], True


def _refuse_stray_bar(text: str, formula: str) -> None:
    """Raise if a ``|`` is left in a fixed-effects summand."""
    for _, char, depth in _scan(text):
        if char != "|":
            continue
        if depth == 0:
            raise ValueError(
                f"formula {formula!r} has a '|' outside parentheses in {text!r}; write "
                f"group terms in parentheses, {GROUP_TERM_EXAMPLES} ('|' alone would "
                "separate formulaic formula parts)."
            )
        raise ValueError(
            f"formula {formula!r} has a group term inside {text!r}; group terms must be "
            "added at the top level of the formula, not used inside a function call, "
            f"an interaction or extra parentheses, {GROUP_TERM_EXAMPLES}."
        )


def _bar_terms(text: str, lhs: str, factor: str, correlated: bool) -> list[BarTerm]:
    lhs, factor = lhs.strip(), factor.strip()
    if not lhs:
        raise ValueError(
            f"group term {text!r} has nothing before the '|'; say which effects vary "
            f"by group, {GROUP_TERM_EXAMPLES}."
        )
    if not factor:
        raise ValueError(
            f"group term {text!r} has no grouping factor after the '|', "
            f"{GROUP_TERM_EXAMPLES}."
        )
    if not _FACTOR.fullmatch(factor):
        raise ValueError(
            f"group term {text!r} has grouping factor {factor!r}, which is not a column "
            "name: give a column, 'a/b' for b nested in a, or 'a:b' for their "
            f"interaction, {GROUP_TERM_EXAMPLES}."
        )
    try:
        parsed = parse_formula(lhs)
    except ValueError as error:
        raise ValueError(f"group term {text!r} has an invalid left-hand side: {error}") from None
    if not list(parsed):
        raise ValueError(
            f"group term {text!r} has no effects: its left-hand side {lhs!r} removes the "
            f"intercept and adds nothing, {GROUP_TERM_EXAMPLES}."
        )
    terms = []
    for names in _expand_nesting(factor):
        written = ":".join(names)
        columns = tuple(name.strip("`") for name in names)
        terms.append(BarTerm(lhs, written, correlated, ":".join(columns), columns))
    return terms


def _expand_nesting(factor: str) -> list[list[str]]:
    """lme4's ``a/b/c``: the names of ``a``, ``a:b`` and ``a:b:c``."""
    expanded: list[list[str]] = []
    current: list[str] = []
    for match in _FACTOR_TOKEN.finditer(factor):
        name, operator = match.groups()
        if name is not None:
            current.append(name)
        elif operator == "/":
            expanded.append(list(current))
    expanded.append(current)
    return expanded


class GroupTermArrays(NamedTuple):
    """The rows of one bar term.

    Attributes
    ----------
    matrix : ndarray of shape (n_rows, n_effects), float64
        The term's left-hand-side design (a column of ones for its intercept).
    codes : ndarray of shape (n_rows,), int64
        Each row's level of the factor, ``0..n_levels-1``; -1 for a level not
        seen in fit.
    """

    matrix: np.ndarray
    codes: np.ndarray


@dataclass(frozen=True, eq=False)
class GroupTermsDesign:
    """Fitted design state of the bar terms of a formula.

    Holds, per term, formulaic's fitted spec of the left-hand side and the
    factor's levels seen in fit; no training rows.

    Attributes
    ----------
    terms : tuple of BarTerm
        The bar terms, as :func:`split_group_terms` gives them.
    lhs_designs : tuple of FormulaDesign
        The fitted design of each term's left-hand side.
    effect_names : tuple of tuple of str
        Per term, its effects as Bambi names them (``"1|county"``,
        ``"floor|county"``), in the order of the matrix columns.
    level_keys : tuple of tuple of tuple
        Per term, its levels seen in fit, each the tuple of its columns' values.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"floor": [0.0, 1.0, 1.0], "county": ["b", "a", "b"]})
    >>> _, terms = split_group_terms("(1 + floor | county)")
    >>> design = GroupTermsDesign.fit(X, terms)
    >>> design.effect_names, design.levels
    ((('1|county', 'floor|county'),), (('a', 'b'),))
    >>> arrays = design.transform(pd.DataFrame({"floor": [1.0], "county": ["c"]}))
    >>> arrays[0].matrix, arrays[0].codes
    (array([[1., 1.]]), array([-1]))
    """

    terms: tuple[BarTerm, ...]
    lhs_designs: tuple[FormulaDesign, ...]
    effect_names: tuple[tuple[str, ...], ...]
    level_keys: tuple[tuple[tuple[Any, ...], ...], ...]

    @classmethod
    def fit(cls, X: Any, terms: Sequence[BarTerm]) -> GroupTermsDesign:
        """Learn the design of ``terms`` on ``X``.

        Parameters
        ----------
        X : DataFrame
            The training rows: a pandas frame, or one of another library
            (polars, pyarrow), with every column the terms name.
        terms : sequence of BarTerm
            The bar terms, as :func:`split_group_terms` gives them.

        Returns
        -------
        GroupTermsDesign
            The fitted design.
        """
        return cls.fit_transform(X, terms)[0]

    @classmethod
    def fit_transform(
        cls, X: Any, terms: Sequence[BarTerm]
    ) -> tuple[GroupTermsDesign, tuple[GroupTermArrays, ...]]:
        """Learn the design of ``terms`` on ``X``; return it and the training arrays.

        Parameters
        ----------
        X : DataFrame
            The training rows, as in :meth:`fit`.
        terms : sequence of BarTerm
            The bar terms, as :func:`split_group_terms` gives them.

        Returns
        -------
        design : GroupTermsDesign
            The fitted design.
        arrays : tuple of GroupTermArrays
            Per term, the training rows' matrix and level codes (none is -1).
        """
        frame = as_frame(X)
        terms = tuple(terms)
        _check_columns(terms, [parse_formula(t.lhs).required_variables for t in terms], frame)
        designs, names, keys, arrays = [], [], [], []
        for term in terms:
            factor = _factor_values(term, frame)
            try:
                design, matrix = FormulaDesign.fit(frame, term.lhs)
            except ValueError as error:
                raise ValueError(f"In group term {str(term)!r}: {error}") from None
            term_keys = _levels_of(term, factor)
            designs.append(design)
            names.append(_effect_names(term, design))
            keys.append(term_keys)
            arrays.append(GroupTermArrays(_with_intercept(design, matrix),
                                          _codes_of(factor, term_keys)))
        _refuse_repeated_effects(terms, names)
        fitted = cls(tuple(terms), tuple(designs), tuple(names), tuple(keys))
        return fitted, tuple(arrays)

    @property
    def levels(self) -> tuple[tuple[Any, ...], ...]:
        """Per term, the labels of its levels: the value, or ``"MN:AITKIN"`` for a pair."""
        return tuple(
            tuple(key[0] if len(key) == 1 else ":".join(map(str, key)) for key in keys)
            for keys in self.level_keys
        )

    def transform(self, X: Any, handle_unknown: str = "error") -> tuple[GroupTermArrays, ...]:
        """Replay the fitted design on new rows: per term, its matrix and level codes.

        Parameters
        ----------
        X : DataFrame
            New rows with every column the terms name.
        handle_unknown : {"error", "ignore"}, default="error"
            For categorical levels unseen in fit inside a term's left-hand
            side (``C(x)``): raise, or encode them as the reference level, as
            in ``FormulaDesign.transform``. Unseen levels of the grouping
            factor are never an error here: they get code -1.

        Returns
        -------
        tuple of GroupTermArrays
            Per term, in the order of :attr:`terms`.
        """
        frame = as_frame(X)
        needed = [design.model_spec.required_variables for design in self.lhs_designs]
        _check_columns(self.terms, needed, frame)
        arrays = []
        for term, design, keys in zip(self.terms, self.lhs_designs, self.level_keys):
            factor = _factor_values(term, frame)
            try:
                matrix = design.transform(frame, handle_unknown=handle_unknown)
            except ValueError as error:
                raise ValueError(f"In group term {str(term)!r}: {error}") from None
            arrays.append(GroupTermArrays(_with_intercept(design, matrix),
                                          _codes_of(factor, keys)))
        return tuple(arrays)


    def row_levels(self, X: Any) -> tuple[np.ndarray, ...]:
        """Per term, each row's level label (as :attr:`levels` writes them), seen or not.

        Parameters
        ----------
        X : DataFrame
            Rows with every grouping column the terms name.

        Returns
        -------
        tuple of ndarray of shape (n_rows,)
            Object arrays, in the order of :attr:`terms`.
        """
        frame = as_frame(X)
        out = []
        for term in self.terms:
            check_columns_known(set(term.columns), frame.columns, str(term))
            factor = _factor_values(term, frame)
            if len(factor) == 1:
                out.append(np.asarray(factor[0], dtype=object))
            else:
                out.append(np.array([":".join(map(str, key)) for key in zip(*factor)],
                                    dtype=object))
        return tuple(out)


def _check_columns(terms: tuple[BarTerm, ...], lhs_needed: list[Any], frame: pd.DataFrame) -> None:
    """Raise naming the columns a term needs that ``frame`` lacks."""
    for term, needed in zip(terms, lhs_needed):
        check_columns_known(set(needed) | set(term.columns), frame.columns, str(term))


def _factor_values(term: BarTerm, frame: pd.DataFrame) -> list[np.ndarray]:
    values = [frame[column].to_numpy() for column in term.columns]
    for column, column_values in zip(term.columns, values):
        if pd.isna(column_values).any():
            raise ValueError(
                f"The grouping column {column!r} of group term {str(term)!r} contains "
                "missing values."
            )
    return values


def _levels_of(term: BarTerm, factor: list[np.ndarray]) -> tuple[tuple[Any, ...], ...]:
    """Observed levels (tuples of column values), sorted column by column as np.unique sorts."""
    per_column = []
    for column, values in zip(term.columns, factor):
        try:
            per_column.append(np.unique(values, return_inverse=True))
        except TypeError as error:
            raise ValueError(
                f"The grouping column {column!r} of group term {str(term)!r} mixes values "
                f"that cannot be sorted together ({error}); give it one type, e.g. str."
            ) from None
    codes = np.stack([inverse.ravel() for _, inverse in per_column], axis=1)
    observed = np.unique(codes, axis=0)
    return tuple(
        tuple(_plain(uniques[code]) for (uniques, _), code in zip(per_column, row))
        for row in observed
    )


def _codes_of(factor: list[np.ndarray], keys: tuple[tuple[Any, ...], ...]) -> np.ndarray:
    if len(factor) == 1:
        known = pd.Index([key[0] for key in keys])
        return known.get_indexer(factor[0]).astype(np.int64)
    known = pd.MultiIndex.from_tuples(keys, names=range(len(factor)))
    return known.get_indexer(pd.MultiIndex.from_arrays(factor)).astype(np.int64)


def _plain(value: Any) -> Any:
    # Python scalars keep the pickle small and the levels readable; dates
    # stay numpy, whose .item() would turn nanoseconds into an int.
    if isinstance(value, np.generic) and value.dtype.kind not in "mM":
        return value.item()
    return value


def _effect_names(term: BarTerm, design: FormulaDesign) -> tuple[str, ...]:
    names = (["1"] if design.intercept else []) + list(design.column_names)
    return tuple(f"{name}|{term.label}" for name in names)


def _with_intercept(design: FormulaDesign, matrix: np.ndarray) -> np.ndarray:
    if not design.intercept:
        return matrix
    return np.ascontiguousarray(np.column_stack([np.ones(len(matrix)), matrix]))


def _refuse_repeated_effects(terms: tuple[BarTerm, ...], names: list[tuple[str, ...]]) -> None:
    seen: dict[str, BarTerm] = {}
    for term, term_names in zip(terms, names):
        for name in term_names:
            if name in seen:
                raise ValueError(
                    f"Group terms {str(seen[name])!r} and {str(term)!r} both give the "
                    f"effect {name!r}; give each effect once, {GROUP_TERM_EXAMPLES}."
                )
            seen[name] = term
