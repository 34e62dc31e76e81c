"""Writing a value in for a symbol, all through an expression: how nodes and adjoints become formulas
in the inputs (`Graph.in_inputs`, `Backward.gradient`).

>>> import sympy as sp
>>> x, t = sp.symbols("x t")
>>> substitute(sp.cos(t), t, x**2)
cos(x**2)
"""
from __future__ import annotations

from collections.abc import Mapping

import sympy as sp


def substitute(expr: sp.Basic, symbol: sp.Symbol, value: sp.Basic) -> sp.Basic:
    """`expr.xreplace({symbol: value})`, the same expression, visiting a repeated subexpression once.

    Written in the inputs, a node's expression appears wherever the node was read; xreplace walks
    every copy, this walks each distinct one.

    >>> x, t = sp.symbols("x t")
    >>> substitute(sp.sin(t) + t**2 * sp.sin(t), t, x + 1)
    (x + 1)**2*sin(x + 1) + sin(x + 1)
    """
    return substitute_all(expr, {symbol: value})


def substitute_all(expr: sp.Basic, values: Mapping[sp.Symbol, sp.Basic]) -> sp.Basic:
    """`expr.xreplace(values)` for the symbols of `expr` that `values` has, visiting a repeated
    subexpression once (as `substitute`).

    >>> x, t, u = sp.symbols("x t u")
    >>> substitute_all(sp.sin(t) + u * sp.sin(t), {t: x + 1, u: x})
    x*sin(x + 1) + sin(x + 1)
    """
    done: dict[sp.Basic, sp.Basic] = {}

    def walk(e: sp.Basic) -> sp.Basic:
        if e in values:
            return values[e]
        if not e.args:
            return e
        if e not in done:
            args = [walk(a) for a in e.args]
            done[e] = e.func(*args) if any(new is not old for new, old in zip(args, e.args)) else e
        return done[e]

    return walk(expr)
