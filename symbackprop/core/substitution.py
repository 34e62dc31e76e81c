"""Writing a value in for a symbol, all through an expression: how nodes and adjoints become formulas
in the inputs (`Graph.in_inputs`, `Backward.gradient`).

>>> import sympy as sp
>>> x, t = sp.symbols("x t")
>>> substitute(sp.cos(t), t, x**2)
cos(x**2)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

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


def written_size(lines: Iterable[tuple[sp.Symbol, sp.Basic]]) -> Callable[[sp.Basic], int]:
    """How many tree nodes an expression would have with every line's symbol written out (each line
    reading only the lines before it), counted without writing anything out.

    >>> x, t, u = sp.symbols("x t u")
    >>> size = written_size([(t, x**2), (u, t*sp.sin(t))])  # u = x**2*sin(x**2)
    >>> size(u), size(u + 1), size(x)
    (8, 10, 1)
    """
    sizes: dict[sp.Basic, int] = {}

    def tree(e: sp.Basic) -> int:
        return sizes.get(e, 1) if e.is_Symbol else 1 + sum(tree(a) for a in e.args)

    for symbol, definition in lines:
        sizes[symbol] = tree(definition)
    return tree
