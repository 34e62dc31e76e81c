"""What a printer reads: an `Explanation`, or a graph or backward pass with optional values; numbers.

>>> from symbackprop import Graph
>>> view(Graph.from_expr("x^2"), at={"x": 3}).values
{x: 3, J: 9}
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping, Union

import sympy as sp

from ..core.backward import Backward
from ..core.explanation import Explanation
from ..functions import to_elementary
from .names import adjoint_latex, course_latex, course_str, latex_name

if TYPE_CHECKING:
    from ..core.backward import AdjointStep
    from ..core.graph import Graph


# --- what a printer reads: an Explanation, or a graph / backward pass with optional values -----------

@dataclass(frozen=True)
class View:
    """The parts of a worked example the table printers read (an `Explanation` has the same fields)."""

    graph: Graph
    backward: Backward | None = None
    at: dict[sp.Symbol, sp.Expr] | None = None
    values: dict[sp.Symbol, sp.Expr] | None = None

    def value(self, symbol: sp.Symbol) -> sp.Expr | None:
        return None if self.values is None else self.values.get(symbol)


Shown = Union[Explanation, View]


def view(model: Any, at: Mapping | None = None) -> Shown:
    """What to print for a `Graph`, `Backward` or `Explanation`; with `at`, values from the model's own pass.

    >>> from symbackprop import Graph
    >>> view(Graph.from_expr("x^2"), at={"x": 3}).values
    {x: 3, J: 9}
    """
    if isinstance(model, (Explanation, View)):
        return model

    if isinstance(model, Backward):
        return View(model.graph, model, None if at is None else model.graph.point(at),
                    None if at is None else model.values(at))
    return View(model, None, None if at is None else model.point(at), None if at is None else model.forward(at))


def _symbol_names(ex: Shown) -> dict[sp.Symbol, str]:
    """LaTeX for every symbol that can appear: inputs, nodes, and the adjoint symbols dJ_dv."""
    g, b = ex.graph, ex.backward
    names = {s: latex_name(s.name) for s in (*g.inputs, *(n.symbol for n in g.nodes))}
    if b is not None:
        for target in b.adjoints:
            names[b.adjoint_symbol(target)] = adjoint_latex(g.output, target)
    return names


def _text_names(ex: Shown) -> dict[sp.Symbol, sp.Symbol]:
    """dJ_dt printed as dJ/dt in text."""
    b = ex.backward
    return {} if b is None else {b.adjoint_symbol(t): sp.Symbol(f"d{ex.graph.output}/d{t}") for t in b.adjoints}


def _text(expr: sp.Expr, ex: Shown) -> str:
    return course_str(expr.xreplace(_text_names(ex)))


def _tex(expr: sp.Expr, ex: Shown) -> str:
    return course_latex(expr, _symbol_names(ex))


@lru_cache(maxsize=8192)
def _float(value: sp.Expr) -> float | None:
    """The value as a float (17 digits of evaluation), or None if it is not a real number; cached, so the
    printers of one example evaluate each value once."""
    try:
        return float(sp.N(to_elementary(value), 17))
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=8192)
def _number_latex(value: sp.Expr) -> str:
    return sp.latex(value)


def _value_tex(value: sp.Expr, ex: Shown | None) -> str:
    """LaTeX of a value at a point (a number: no names to translate, so it is cached)."""
    return _number_latex(value) if ex is None or not value.free_symbols else _tex(value, ex)


def _approx(value: sp.Expr) -> str:
    """An exact value with a decimal beside it (`2421/98  ≈ 24.70408163`, `1/4  = 0.25`), except integers.

    >>> _approx(sp.Rational(2421, 98)), _approx(sp.sin(1)), _approx(sp.Integer(3))
    ('2421/98  ≈ 24.70408163', 'sin(1)  ≈ 0.8414709848', '3')
    """
    if value.is_Integer:
        return str(value)
    number = _float(value)
    if number is None:
        return str(value)
    exact = course_str(value)
    if len(exact) > 40:  # a long exact form says nothing at a glance
        return f"≈ {number:.10g}"
    return f"{exact}  {'=' if value.is_Rational and _exact_decimal(value, 10) else '≈'} {number:.10g}"


def _exact_decimal(value: sp.Rational, digits: int) -> bool:
    """Whether `value` printed with `digits` significant digits is exact (1/4 = 0.25, but 1/3 ≈ 0.3333)."""
    return sp.Rational(f"{float(value):.{digits}g}") == value


def _approx_tex(value: sp.Expr, ex: Shown) -> str:
    if value.is_Integer:
        return _value_tex(value, ex)
    number = _float(value)
    if number is None:
        return _value_tex(value, ex)
    sign = "=" if value.is_Rational and _exact_decimal(value, 6) else r"\approx"
    exact = _value_tex(value, ex)
    if len(exact) > 80:
        return rf"\approx {number:.6g}"
    return rf"{exact} {sign} {number:.6g}"


def short_number(value: sp.Expr, digits: int = 4) -> str:
    """A value in a few characters: an integer as it is; a short fraction with its decimal; else `≈` a decimal.

    >>> short_number(sp.Rational(1, 4)), short_number(sp.sin(1)), short_number(sp.Rational(1, 3)), short_number(sp.S(6))
    ('1/4 = 0.25', '≈ 0.8415', '1/3 ≈ 0.3333', '6')
    """
    if value.is_Integer and len(str(value)) <= 9:
        return str(value)
    number = _float(value)
    if number is None:
        return str(value)
    if value.is_Rational and len(str(value)) <= 7:
        return f"{value} {'=' if _exact_decimal(value, digits) else '≈'} {number:.{digits}g}"
    return f"≈ {number:.{digits}g}"


def short_number_latex(value: sp.Expr, ex: Shown | None = None, max_exact: int = 40) -> str:
    """LaTeX for a value: exact (and `≈` a decimal when not rational) while the exact form is short."""
    exact = _value_tex(value, ex)
    if value.is_Rational and len(exact) <= max_exact:
        return exact
    number = _float(value)
    if number is None:
        return exact
    return rf"{exact} \approx {number:.6g}" if len(exact) <= max_exact else rf"\approx {number:.6g}"


# --- rows shared by the table printers ------------------------------------------------------------

def forward_rows(ex: Shown) -> list[tuple[sp.Symbol, sp.Expr, sp.Expr | None]]:
    """(node, definition, value or None) in forward order."""
    return [(n.symbol, n.definition, ex.value(n.symbol)) for n in ex.graph.nodes]


def backward_rows(ex: Shown) -> list[tuple[AdjointStep, sp.Expr | None]]:
    """(step, value of its contribution or None) right to left."""
    if ex.values is None:
        return [(step, None) for step in ex.backward.steps]
    return [(step, contribution) for step, (_, contribution) in ex.backward.step_values(ex.values).items()]


