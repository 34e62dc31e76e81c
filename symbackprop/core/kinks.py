"""Honest maths at kinks: where a node is not differentiable at the point, say which convention was used.

|x| at 0, ReLU at 0, Max or Min at a tie have no derivative; the backward pass still returns a number
there, chosen by a convention (sympy's sign(0) = 0, the rule ReLU′(0) = 0, sympy's Heaviside(0) = 1/2
splitting a tie evenly). A `Kink` records where this happened and which value was taken.

>>> from symbackprop import Graph
>>> g = Graph.from_expr("relu(x) + abs(y)")
>>> [k.note for k in kinks(g, g.forward({"x": 0, "y": 1}))]
['ReLU(x) at x = 0: not differentiable there; the convention ReLU′(0) = 0 (Heaviside(0) = 0) was used']
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import sympy as sp

from ..functions import relu

if TYPE_CHECKING:
    from .graph import Graph


@dataclass(frozen=True)
class Kink:
    """A node whose definition is not differentiable at the point, and the convention the backward pass used."""

    node: sp.Symbol
    piece: sp.Expr
    note: str


def _zero(expr: sp.Expr, values: Mapping[sp.Symbol, sp.Expr]) -> bool:
    value = expr.xreplace(dict(values))
    return value.is_number and value.is_zero is True


def kinks(graph: Graph, values: Mapping[sp.Symbol, sp.Expr]) -> list[Kink]:
    """Every non-differentiable piece (|·|, ReLU, Max, Min, sign, Heaviside) that sits on its kink at the
    point given by forward `values`."""
    found: list[Kink] = []
    for node in graph.nodes:
        for piece in sp.preorder_traversal(node.definition):
            note = _note(piece, values)
            if note:
                found.append(Kink(node.symbol, piece, note))
    return found


def _note(piece: sp.Basic, values: Mapping[sp.Symbol, sp.Expr]) -> str | None:
    if isinstance(piece, sp.Abs) and _zero(piece.args[0], values):
        return (f"|{piece.args[0]}| at {piece.args[0]} = 0: not differentiable there; "
                f"sympy's d|u|/du = sign(u) gives sign(0) = 0 (a subgradient) — used")
    if isinstance(piece, relu) and _zero(piece.args[0], values):
        return (f"ReLU({piece.args[0]}) at {piece.args[0]} = 0: not differentiable there; "
                f"the convention ReLU′(0) = 0 (Heaviside(0) = 0) was used")
    if isinstance(piece, (sp.Max, sp.Min)):
        args = [a.xreplace(dict(values)) for a in piece.args]
        if all(a.is_number for a in args):
            best = (max if isinstance(piece, sp.Max) else min)(args, key=lambda a: float(sp.N(a)))
            ties = [a for a, v in zip(piece.args, args) if sp.simplify(v - best) == 0]
            if len(ties) > 1:
                return (f"{piece} at a tie ({', '.join(map(str, ties))} all equal {best}): not differentiable there; "
                        f"sympy's derivative uses Heaviside(0) = 1/2, so each tied argument gets 1/2 of the "
                        f"gradient (frameworks usually route it all to one; any split summing to 1 is a subgradient)")
    if isinstance(piece, sp.sign) and _zero(piece.args[0], values):
        return f"sign({piece.args[0]}) at 0: jumps there; its derivative is taken as 0"
    if isinstance(piece, sp.Heaviside) and _zero(piece.args[0], values):
        return f"{piece} at 0: jumps there; its derivative is taken as 0"
    return None
