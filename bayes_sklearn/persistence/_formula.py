"""A fitted formula design as data, and the check that makes loading it safe.

formulaic evaluates every term that is not a plain column name as Python
(``C(r)``, ``np.log(x)``, ``I(x ** 2)``) when it builds a design matrix. A
formula read from a file would therefore run at ``predict`` time, so a stored
formula is accepted only if every such term is built from column names,
numbers and strings, arithmetic, and calls to a fixed list of transforms.

Arithmetic is bounded too, so that a file cannot make ``predict`` hang or
exhaust memory: Python evaluates arithmetic on literals before numpy sees it
(``2 ** 2 ** 64``, ``'a' * 10 ** 12``). Integer literals are at most
``MAX_INT_LITERAL``, an exponent is a column or a literal of at most
``MAX_EXPONENT`` (no powers of powers), strings and lists are never operands,
spline and polynomial sizes are at most ``MAX_BASIS_SIZE``, and a term has at
most ``MAX_TERM_NODES`` syntax nodes.
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

import numpy as np

from bayes_sklearn.design.formula import FormulaDesign

#: Transforms a stored formula may call: formulaic's stateful transforms and
#: contrasts, and the names of ``FORMULA_CONTEXT``.
ALLOWED_CALLS = frozenset({
    "C", "I", "Q", "bs", "cc", "cr", "cs", "center", "scale", "standardize", "poly",
    "lag", "log", "log2", "log10", "exp", "exp2", "sqrt",
    "Treatment", "Poly", "Sum", "Helmert", "Diff",
})
#: ``contr.<name>`` contrasts of formulaic.
ALLOWED_CONTRASTS = frozenset({"treatment", "sum", "helmert", "poly", "diff", "custom"})
#: Bounds on what a stored formula may compute (see the module docstring).
MAX_FORMULA_LENGTH = 10_000
MAX_TERM_NODES = 200
MAX_INT_LITERAL = 10**15
MAX_STRING_LITERAL = 1_000
MAX_EXPONENT = 64
MAX_BASIS_SIZE = 100
#: Transforms whose numeric arguments (degree, df) set the number of columns.
_BASIS_CALLS = frozenset({"poly", "bs", "cr", "cs", "cc"})
_ALLOWED_NODES = (
    ast.Expression, ast.Call, ast.Name, ast.Load, ast.Constant, ast.keyword,
    ast.List, ast.Tuple, ast.BinOp, ast.UnaryOp, ast.Attribute,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
    ast.USub, ast.UAdd,
)


def check_formula_is_safe(formula: str) -> None:
    """Raise ``ValueError`` unless every evaluated term of ``formula`` is allowed.

    Terms that formulaic evaluates as Python may use only column names,
    numbers and strings, arithmetic, the transforms of ``ALLOWED_CALLS``,
    numpy ufuncs (``np.log``) and ``contr.<contrast>``.

    Parameters
    ----------
    formula : str
        Right-hand side of a formula, as stored with an estimator.

    Raises
    ------
    ValueError
        If the formula does not parse, or a term calls or names anything else.

    Examples
    --------
    >>> from bayes_sklearn.persistence import check_formula_is_safe
    >>> check_formula_is_safe("x1 * x2 + C(region) + np.log(x3) + center(x4)")
    >>> check_formula_is_safe("x1 + os.system('ls')")  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
        ...
    ValueError: Formula "x1 + os.system('ls')" cannot be stored or loaded:
    in term "os.system('ls')", the call os.system(...) is not an allowed transform. ...
    """
    from formulaic import Formula

    if not isinstance(formula, str) or len(formula) > MAX_FORMULA_LENGTH:
        size = len(formula) if isinstance(formula, str) else type(formula).__name__
        raise ValueError(
            f"Stored formula must be a string of at most {MAX_FORMULA_LENGTH} "
            f"characters, got {size}."
        )
    try:
        terms = list(Formula(formula))
    except Exception as error:
        raise ValueError(f"Stored formula {formula!r} does not parse: {error}") from error
    for term in terms:
        for factor in term.factors:
            if factor.eval_method.value == "python":
                _check_expression(str(factor.expr), formula)


def _check_expression(expr: str, formula: str) -> None:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"Formula term {expr!r} is not an expression.") from error
    nodes = list(ast.walk(tree))
    parents = {child: node for node in nodes for child in ast.iter_child_nodes(node)}
    too_long = (f"the term has {len(nodes)} syntax nodes, more than {MAX_TERM_NODES}"
                if len(nodes) > MAX_TERM_NODES else None)
    for node in nodes:
        problem = too_long or _problem(node) or _size_problem(node, parents)
        if problem:
            raise ValueError(
                f"Formula {formula!r} cannot be stored or loaded: in term {expr!r}, "
                f"{problem}. Loading evaluates formula terms, so stored formulas may "
                f"only use column names, numbers, arithmetic and the transforms "
                f"{sorted(ALLOWED_CALLS)}, np.<ufunc> and contr.<contrast>."
            )


def _problem(node: ast.AST) -> str | None:
    if not isinstance(node, _ALLOWED_NODES):
        return f"{type(node).__name__} is not allowed"
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ALLOWED_CALLS:
            return None
        if isinstance(func, ast.Attribute) and _allowed_attribute(func):
            return None
        return f"the call {ast.unparse(func)}(...) is not an allowed transform"
    if isinstance(node, ast.Attribute) and not _allowed_attribute(node):
        return f"the attribute {ast.unparse(node)} is not allowed"
    if isinstance(node, ast.Name) and (node.id.startswith("_") or hasattr(builtins, node.id)):
        return f"the name {node.id!r} is not allowed"
    return None


def _size_problem(node: ast.AST, parents: dict) -> str | None:
    """What lets ``node`` compute without bound (time or memory), if anything."""
    if isinstance(node, ast.Constant):
        return _literal_problem(node, parents.get(node))
    if isinstance(node, ast.BinOp):
        for operand in (node.left, node.right):
            if isinstance(operand, (ast.List, ast.Tuple)) or (
                isinstance(operand, ast.Constant) and isinstance(operand.value, str)
            ):
                return f"{ast.unparse(node)} does arithmetic on a string or sequence"
        if isinstance(node.op, ast.Pow):
            return _power_problem(node)
    if isinstance(node, ast.Call) and _is_basis_call(node):
        sizes = node.args[1:] + [k.value for k in node.keywords if k.arg in ("df", "degree")]
        for size in sizes:
            if isinstance(size, (ast.BinOp, ast.Name, ast.Call)):
                return (f"{ast.unparse(node)} must give its sizes (df, degree) as "
                        "numbers, not expressions")
            value = _number(size)
            if value is not None and abs(value) > MAX_BASIS_SIZE:
                return (f"{ast.unparse(node)} asks for {value} basis columns, more "
                        f"than {MAX_BASIS_SIZE}")
    if isinstance(node, ast.Call) and _is_ufunc_call(node) and node.keywords:
        return f"{ast.unparse(node)} passes keywords to a numpy ufunc"
    return None


def _is_basis_call(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Name) and node.func.id in _BASIS_CALLS


def _is_ufunc_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "np")


def _literal_problem(node: ast.Constant, parent: ast.AST | None) -> str | None:
    value = node.value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if abs(value) > MAX_INT_LITERAL:
            return f"the integer literal {value} is larger than {MAX_INT_LITERAL}"
        return None
    if isinstance(value, float):
        return None if np.isfinite(value) else f"the number {value} is not finite"
    if isinstance(value, str):
        if len(value) > MAX_STRING_LITERAL:
            return f"a string of {len(value)} characters is longer than {MAX_STRING_LITERAL}"
        # labels and options of transforms, never data for numpy ufuncs
        if _is_ufunc_call(parent):
            return f"the string {value!r} is an argument of a numpy ufunc"
        return None
    return f"the literal {value!r} is not a number or string"


def _power_problem(node: ast.BinOp) -> str | None:
    for operand in (node.left, node.right):
        if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(operand)):
            return f"{ast.unparse(node)} raises a power to a power"
    if isinstance(node.right, ast.Name):
        return None
    exponent = _number(node.right)
    if exponent is None or abs(exponent) > MAX_EXPONENT:
        return (f"the exponent of {ast.unparse(node)} must be a column or a number of "
                f"magnitude at most {MAX_EXPONENT}")
    return None


def _number(node: ast.AST) -> float | None:
    """The value of a (signed) numeric literal, or None."""
    sign = 1
    while isinstance(node, ast.UnaryOp):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and (
        not isinstance(node.value, bool)
    ):
        return sign * node.value
    return None


def _allowed_attribute(node: ast.Attribute) -> bool:
    if not isinstance(node.value, ast.Name) or node.attr.startswith("_"):
        return False
    if node.value.id == "np":
        return isinstance(getattr(np, node.attr, None), np.ufunc)
    return node.value.id == "contr" and node.attr in ALLOWED_CONTRASTS


def formula_design_state(design: FormulaDesign, encode) -> dict[str, Any]:
    """The fitted state of a formula design: its text and formulaic's learnt state."""
    check_formula_is_safe(design.formula)
    spec = design.model_spec
    return {
        "formula": design.formula,
        "column_names": list(design.column_names),
        "intercept": bool(design.intercept),
        "transform_state": encode(dict(spec.transform_state)),
        "encoder_state": encode(dict(spec.encoder_state)),
    }


def formula_design_from_state(state: dict[str, Any], decode) -> FormulaDesign:
    """Rebuild a formula design; the formula is checked before formulaic sees it."""
    from formulaic import ModelSpec

    check_formula_is_safe(state["formula"])
    spec = ModelSpec(
        formula=state["formula"],
        transform_state=decode(state["transform_state"]),
        encoder_state=decode(state["encoder_state"]),
    )
    return FormulaDesign(
        formula=state["formula"], model_spec=spec, column_names=tuple(state["column_names"]),
        # files written before "0 +" formulas were accepted all had an intercept
        intercept=bool(state.get("intercept", True)),
    )


def multilevel_design_state(design, encode) -> dict[str, Any]:
    """The fitted state of a formula with group terms: each part's, and the levels."""
    groups = design.group_terms
    return {
        "formula": design.formula,
        "fixed": formula_design_state(design.fixed, encode),
        "terms": [encode(term) for term in groups.terms],
        "lhs": [formula_design_state(lhs, encode) for lhs in groups.lhs_designs],
        "effect_names": encode(groups.effect_names),
        "level_keys": encode(groups.level_keys),
    }


def multilevel_design_from_state(state: dict[str, Any], decode):
    """Rebuild a formula design with group terms; every formula is checked first.

    The bar terms are split again from the stored formula and must be the
    stored ones: a file cannot pair a formula with other terms. Grouping
    factors are plain column names (the splitter accepts nothing else).
    """
    from bayes_sklearn.design.group_terms import GroupTermsDesign, split_group_terms
    from bayes_sklearn.design.multilevel import MultilevelDesign

    # our own scanner splits the formula (it evaluates nothing); formulaic sees only
    # the parts, each checked by formula_design_from_state
    fixed_formula, bars = split_group_terms(state["formula"])
    terms = tuple(decode(term) for term in state["terms"])
    fixed = formula_design_from_state(state["fixed"], decode)
    lhs = tuple(formula_design_from_state(part, decode) for part in state["lhs"])
    if terms != bars or fixed.formula != fixed_formula or [d.formula for d in lhs] != [
            bar.lhs for bar in bars]:
        raise ValueError("stored group terms do not match the stored formula")
    groups = GroupTermsDesign(terms, lhs, decode(state["effect_names"]),
                              decode(state["level_keys"]))
    return MultilevelDesign(state["formula"], fixed, groups)
