"""A fitted formula design as data, and the check that makes loading it safe.

formulaic evaluates every term that is not a plain column name as Python
(``C(r)``, ``np.log(x)``, ``I(x ** 2)``) when it builds a design matrix. A
formula read from a file would therefore run at ``predict`` time, so a stored
formula is accepted only if every such term is built from column names,
numbers and strings, arithmetic, and calls to a fixed list of transforms.
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
    for node in ast.walk(tree):
        problem = _problem(node)
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
        formula=state["formula"], model_spec=spec, column_names=tuple(state["column_names"])
    )
