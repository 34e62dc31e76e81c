"""Everything one worked example shows, computed once: the record every printer reads.

>>> from symbackprop import Graph
>>> ex = explain(Graph.from_expr("x^2 + 3x"), at={"x": "1/2"})
>>> ex.gradient_values
{x: 4}
>>> ex.verification.agree
True
>>> ex.node_form[ex.graph.symbol("x")].expr
2*x + 3
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

import sympy as sp

from .backward import Backward
from .graph import Graph
from .indexform import IndexRow, index_form
from .kinks import Kink, kinks
from .nodeform import NodeFormGradient, node_form
from .verify import VariableCheck, Verification


class PerVariable(Mapping):
    """variable → the chain-rule gradient (`"chain_rule"`) or sympy.diff's (`"direct"`), written in the
    inputs on first read: long to write out for a large program, and shown only on request (--in-inputs, JSON).

    >>> ex = explain(Graph.from_expr("x*y"))
    >>> x, y = ex.graph.symbol("x"), ex.graph.symbol("y")
    >>> dict(ex.direct), ex.gradient == {x: y, y: x}
    ({x: y, y: x}, True)
    """

    def __init__(self, results: Iterable[VariableCheck], which: str):
        self._results = {r.variable: r for r in results}
        self._which = which

    def __getitem__(self, variable: sp.Symbol) -> sp.Expr:
        return getattr(self._results[variable], self._which)  # a cached property of the verdict

    def __iter__(self) -> Iterator[sp.Symbol]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    def __repr__(self) -> str:
        return f"PerVariable({self._which} of {', '.join(map(str, self._results))})"


@dataclass(frozen=True)
class Explanation:
    """A graph, its backward pass, the check against direct differentiation, and values at a point."""

    graph: Graph
    backward: Backward
    gradient: Mapping[sp.Symbol, sp.Expr]  # chain rule, written in the inputs (on first read)
    direct: Mapping[sp.Symbol, sp.Expr]  # sympy.diff of graph.expr (on first read)
    verification: Verification
    at: dict[sp.Symbol, sp.Expr] | None = None
    values: dict[sp.Symbol, sp.Expr] | None = None  # every input, node and adjoint symbol, exact
    gradient_values: dict[sp.Symbol, sp.Expr] | None = None
    node_form: dict[sp.Symbol, NodeFormGradient] | None = None  # each gradient in node names, checked
    index_rows: tuple[IndexRow, ...] = ()  # the backward table in the slides' index notation, checked
    kinks: tuple[Kink, ...] = ()  # non-differentiable points met at `at`, with the convention used

    @property
    def output_value(self) -> sp.Expr | None:
        return None if self.values is None else self.values[self.graph.output]

    def value(self, symbol: sp.Symbol) -> sp.Expr | None:
        return None if self.values is None else self.values.get(symbol)


def explain(graph: Graph, wrt: Iterable[sp.Symbol | str] | None = None,
            at: Mapping[sp.Symbol | str, object] | None = None, points: int = 5, seed: int = 0) -> Explanation:
    """Run the backward pass, verify it, and (with `at`) evaluate everything exactly at that point."""
    backward = graph.backward(wrt)
    verification = backward.verify(points=points, seed=seed)
    gradient = PerVariable(verification.results, "chain_rule")
    direct = PerVariable(verification.results, "direct")
    forms = {backward.graph.symbol(k): v for k, v in node_form(backward).items()}
    rows = tuple(index_form(backward))
    if at is None:
        return Explanation(graph, backward, gradient, direct, verification, node_form=forms, index_rows=rows)
    values = backward.values(at)
    gradient_values = {v: values.get(backward.adjoint_symbol(v), sp.S.Zero) for v in backward.wrt}
    return Explanation(graph, backward, gradient, direct, verification, graph.point(at), values, gradient_values,
                       forms, rows, tuple(kinks(graph, values)))
