"""The backward pass: local derivatives on every edge, adjoints accumulated right to left.

For every node v and every parent p it reads, the *local derivative* is ∂v/∂p = sympy.diff of v's
definition. The *adjoint* of a value, dJ/dp, is the sum over the nodes c that read p of
dJ/dc · ∂c/∂p: one `+=` per consumer, so a node that feeds several others gathers several terms.

>>> from symbackprop import Graph
>>> b = Graph.from_expr("cos(sin(x^2) + 3x^2)").backward()
>>> for step in b.steps: print(step)
dJ/du += -sin(u)
dJ/du1 += dJ/du
dJ/du2 += dJ/du
dJ/dt += dJ/du1*cos(t)
dJ/dt += 3*dJ/du2
dJ/dx += 2*dJ/dt*x
>>> b.gradient("x")
2*x*(-sin(3*x**2 + sin(x**2))*cos(x**2) - 3*sin(3*x**2 + sin(x**2)))
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

import sympy as sp

from ..errors import GraphError
from ..functions import relu, sigmoid, softplus
from .substitution import substitute

if TYPE_CHECKING:
    from .graph import Graph, Node
    from .verify import Verification

# Local-derivative rules that reuse the node's own value (v = f(p)  ⇒  ∂v/∂p written with v).
# Everything else is plain sympy.diff of the node's definition.
OWN_VALUE_RULES: dict[type, Callable[[sp.Symbol, sp.Symbol], sp.Expr]] = {
    sp.exp: lambda v, p: v,
    sigmoid: lambda v, p: v * (1 - v),
    sp.tanh: lambda v, p: 1 - v**2,
    softplus: lambda v, p: sigmoid(p),
    relu: lambda v, p: sp.Heaviside(p, 0),
}


def local_derivative(node: Node, parent: sp.Symbol) -> sp.Expr:
    """∂node/∂parent: from the rule table when the node is f(parent) for a listed f, else sympy.diff.

    >>> from symbackprop import Graph
    >>> g = Graph.from_steps("v = exp(-a)\\nw = exp(v)")
    >>> local_derivative(g.node("w"), g.symbol("v")), local_derivative(g.node("v"), g.symbol("a"))
    (w, -exp(-a))
    """
    return local_derivatives(node)[parent]


def local_derivatives(node: Node, parents: Iterable[sp.Symbol] | None = None) -> dict[sp.Symbol, sp.Expr]:
    """∂node/∂p for every parent p of the node (or for the given `parents` only).

    A sum is differentiated term by term, and only the terms that contain p are passed to
    sympy.diff (the others contribute 0): a weighted sum of n inputs costs O(n), not O(n²).

    >>> from symbackprop import Graph
    >>> local_derivatives(Graph.from_steps("a = w_1*x_1 + w_2*x_2").node("a"))
    {w_1: x_1, w_2: x_2, x_1: w_1, x_2: w_2}
    """
    chosen = None if parents is None else set(parents)
    wanted = node.parents if chosen is None else tuple(p for p in node.parents if p in chosen)
    d = node.definition
    rule = OWN_VALUE_RULES.get(d.func)
    if rule is not None and len(node.parents) == 1 and d.args == node.parents:
        return {p: rule(node.symbol, p) for p in wanted}
    if not d.is_Add:
        return {p: _diff(d, p) for p in wanted}
    terms: dict[sp.Symbol, list[sp.Expr]] = {p: [] for p in wanted}
    for term in d.args:
        for p in term.free_symbols:
            if p in terms:
                terms[p].append(term)
    return {p: _diff(terms[p][0], p) if len(terms[p]) == 1 else sp.diff(sp.Add(*terms[p]), p) for p in wanted}


def _diff(expr: sp.Expr, p: sp.Symbol) -> sp.Expr:
    """sympy.diff(expr, p), the same expression, with the commonest case first: p a plain factor of a
    product that nothing else in it depends on (w_i in w_i*x_i), whose derivative is the other factors.

    >>> w, x = sp.symbols("w x")
    >>> _diff(3*w*x, w), _diff(w**2*x, w)
    (3*x, 2*w*x)
    """
    if expr is p:  # (a copy of p is differentiated by sympy.diff below, to the same 1)
        return sp.S.One
    if expr.is_Mul:
        others = [a for a in expr.args if a is not p]  # (a copy of p among them fails the test below)
        if len(others) == len(expr.args) - 1 and not any(p in a.free_symbols for a in others):
            return sp.Mul(*others)
    return sp.diff(expr, p)


def adjoint_symbol(output: sp.Symbol, of: sp.Symbol) -> sp.Symbol:
    """The symbol that stands for dJ/d(of) in the backward program: `dJ_dt` for J and t."""
    return sp.Symbol(f"d{output.name}_d{of.name}", real=True)


@dataclass(frozen=True)
class Edge:
    """parent → child, with the local derivative ∂child/∂parent."""

    parent: sp.Symbol
    child: sp.Symbol
    local: sp.Expr


@dataclass(frozen=True)
class AdjointStep:
    """One backward line: `adjoint(target) += adjoint(source) · local` (`=` where source is the output).

    `contribution` is that product, written in node symbols; `accumulates` marks a target that several
    nodes read, so its adjoint is a sum of such steps.
    """

    target: sp.Symbol
    source: sp.Symbol
    local: sp.Expr
    contribution: sp.Expr
    accumulates: bool
    output: sp.Symbol

    @property
    def op(self) -> str:
        return "+="

    def __str__(self) -> str:
        return f"d{self.output}/d{self.target} += {_readable(self.contribution, self.output)}"


def _readable(expr: sp.Expr, output: sp.Symbol) -> str:
    """`dJ_du` printed as `dJ/du` (for the plain-text form of a step)."""
    prefix = f"d{output.name}_d"
    names = {s: sp.Symbol(f"d{output.name}/d{s.name[len(prefix):]}") for s in expr.free_symbols
             if s.name.startswith(prefix)}
    return str(expr.xreplace(names))


class Backward:
    """The backward pass of a graph with respect to `wrt` (default: the graph's parameters)."""

    def __init__(self, graph: Graph, wrt: Iterable[sp.Symbol | str] | None = None):
        self.graph = graph
        self.wrt: tuple[sp.Symbol, ...] = (graph.parameters if wrt is None
                                           else tuple(graph.symbol(v) for v in wrt))
        self._wrt_set = frozenset(self.wrt)
        for v in self.wrt:
            if graph.is_node(v):
                raise GraphError(f"gradients are taken with respect to inputs; '{v}' is a node")
        self.output = graph.output
        live = self.relevant & self._reaches_output()
        self._local: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = {
            (node.symbol, p): local for node in graph.nodes if node.symbol in live
            for p, local in local_derivatives(node, live).items()}
        self.steps: tuple[AdjointStep, ...] = tuple(self._adjoint_steps(live))
        self._gradients: dict[sp.Symbol, sp.Expr] = {}  # written in the inputs once, read by every check

    # --- the pass ---------------------------------------------------------------------------------

    @cached_property
    def relevant(self) -> set[sp.Symbol]:
        """Inputs in `wrt` and the nodes that depend on them: the only values that need an adjoint."""
        needed = set(self.wrt)
        for node in self.graph.nodes:
            if needed.intersection(node.parents):
                needed.add(node.symbol)
        return needed

    def _reaches_output(self) -> set[sp.Symbol]:
        reach = {self.output}
        for node in reversed(self.graph.nodes):
            if node.symbol in reach:
                reach.update(node.parents)
        return reach

    def _target_order(self, live: set[sp.Symbol]) -> list[sp.Symbol]:
        """Values right to left, each after every node that reads it.

        A value's level is the longest path from it to the output (the output 0, what the output reads
        1, …); values go level by level, and within a level inputs come first, then nodes in forward
        order, as on the slides (dJ/dβ_j before dJ/dz_j, dJ/du1 before dJ/du2). The forward order
        already lists every reader after what it reads, so one pass right to left finds the levels.
        """
        level: dict[sp.Symbol, int] = {}
        for node in reversed(self.graph.nodes):
            if node.symbol in live:
                here = level.setdefault(node.symbol, 0)
                for p in node.parents:
                    if p in live and level.get(p, -1) <= here:
                        level[p] = here + 1
        position: dict[sp.Symbol, int] = {}
        for s in (*self.wrt, *(n.symbol for n in self.graph.nodes)):
            position.setdefault(s, len(position))
        return sorted(level, key=lambda s: (level[s], position[s]))

    def _adjoint_steps(self, live: set[sp.Symbol]) -> Iterable[AdjointStep]:
        """For every value right to left, one step per node that reads it."""
        upstream = {self.output: sp.S.One}  # dJ/dJ = 1, then the symbol dJ_dv of each node v read
        for target in self._target_order(live)[1:]:  # the output comes first; it has no step
            consumers = [c.symbol for c in self.graph.consumers[target] if c.symbol in live]
            for consumer in consumers:
                if consumer not in upstream:
                    upstream[consumer] = self.adjoint_symbol(consumer)
                local = self._local[(consumer, target)]
                yield AdjointStep(target, consumer, local, upstream[consumer] * local, len(consumers) > 1, self.output)

    # --- reading the result -----------------------------------------------------------------------

    def adjoint_symbol(self, of: sp.Symbol | str) -> sp.Symbol:
        """The symbol dJ_dv that stands for the adjoint of `of` in `program`."""
        return adjoint_symbol(self.output, of if isinstance(of, sp.Symbol) else self.graph.symbol(of))

    @cached_property
    def edges(self) -> tuple[Edge, ...]:
        """Every edge of the graph with its local derivative, in forward order.

        The backward pass itself only needs the edges on paths from `wrt` to the output; the rest
        (e.g. into data inputs x_i) are differentiated here, on first use.
        """
        for node in self.graph.nodes:
            missing = [p for p in node.parents if (node.symbol, p) not in self._local]
            self._local.update({(node.symbol, p): d for p, d in local_derivatives(node, missing).items()})
        return tuple(Edge(p, n.symbol, self._local[(n.symbol, p)]) for n in self.graph.nodes for p in n.parents)

    def local(self, child: sp.Symbol | str, parent: sp.Symbol | str) -> sp.Expr:
        """∂child/∂parent on the edge parent → child."""
        node, p = self.graph.node(child), self.graph.symbol(parent)
        if p not in node.parents:
            raise GraphError(f"there is no edge {parent} → {child}")
        if (node.symbol, p) not in self._local:
            self._local.update({(node.symbol, p): local_derivatives(node, [p])[p]})
        return self._local[(node.symbol, p)]

    @cached_property
    def adjoints(self) -> dict[sp.Symbol, sp.Expr]:
        """dJ/dv for the output, every relevant node and every `wrt` input, written in node symbols."""
        result: dict[sp.Symbol, sp.Expr] = {self.output: sp.S.One}
        for step in self.steps:
            result[step.target] = result.get(step.target, sp.S.Zero) + step.contribution
        for v in self.wrt:
            result.setdefault(v, sp.S.Zero)  # an input the output does not depend on
        return result

    @cached_property
    def program(self) -> list[tuple[sp.Symbol, sp.Expr]]:
        """Straight-line code: every node of the forward pass, then every adjoint (`dJ_dt = ...`).

        Evaluating it in order yields the output and the gradient for every `wrt` variable.
        """
        forward = [(n.symbol, n.definition) for n in self.graph.nodes]
        backward = [(self.adjoint_symbol(t), value) for t, value in self.adjoints.items() if t != self.output]
        return forward + backward

    @property
    def forward_program(self) -> list[tuple[sp.Symbol, sp.Expr]]:
        return self.program[:len(self.graph.nodes)]

    @property
    def backward_program(self) -> list[tuple[sp.Symbol, sp.Expr]]:
        return self.program[len(self.graph.nodes):]

    def gradient(self, v: sp.Symbol | str | None = None) -> sp.Expr | dict[sp.Symbol, sp.Expr]:
        """dJ/dv written in the inputs (all `wrt` variables as a dict when `v` is None)."""
        if v is None:
            return {w: self.gradient(w) for w in self.wrt}
        symbol = self.graph.symbol(v)
        if symbol not in self._wrt_set:
            raise GraphError(f"'{v}' is not among the variables of this backward pass "
                             f"({', '.join(map(str, self.wrt))}); use graph.backward(wrt=[...])")
        if symbol not in self._gradients:
            self._gradients[symbol] = self._in_inputs(self.adjoints[symbol])
        return self._gradients[symbol]

    def _in_inputs(self, expr: sp.Expr) -> sp.Expr:
        """Replace adjoint symbols (right to left), then node symbols, by what they stand for."""
        symbols = {adjoint_symbol(self.output, target): target for target in self.adjoints}
        present = {s for s in expr.free_symbols if s in symbols}  # kept up to date, not recomputed
        for target, value in reversed(list(self.adjoints.items())):
            s = adjoint_symbol(self.output, target)
            if s in present:
                expr = substitute(expr, s, value)
                present.update(a for a in value.free_symbols if a in symbols)
        return self.graph.in_inputs(expr)

    def direct(self, v: sp.Symbol | str) -> sp.Expr:
        """sympy.diff of the whole expression: the independent check of `gradient(v)`."""
        return sp.diff(self.graph.expr, self.graph.symbol(v))

    def values(self, at: Mapping, numeric: bool = False, digits: int = 15) -> dict[sp.Symbol, sp.Expr]:
        """Run the program at a point: forward values, then every adjoint (keyed by the value's symbol).

        >>> from symbackprop import Graph
        >>> b = Graph.from_steps("a = x*y\\nJ = a + a^2").backward()
        >>> b.values({"x": 1, "y": 2})[b.adjoint_symbol("x")]
        10
        """
        values = self.graph.forward(at)
        for symbol, expr in self.backward_program:
            values[symbol] = expr.xreplace(values)
        if numeric:
            return {s: v.evalf(digits) for s, v in values.items()}
        return values

    def step_values(self, values: Mapping[sp.Symbol, sp.Expr]) -> dict[AdjointStep, tuple[sp.Expr, sp.Expr]]:
        """(local derivative, contribution) of every step at a point, given `values(at)`.

        >>> from symbackprop import Graph
        >>> b = Graph.from_steps("t = x^2\\nJ = 3*t").backward()
        >>> list(b.step_values(b.values({"x": 2})).values())
        [(3, 3), (4, 12)]
        """
        return {s: (s.local.xreplace(values), s.contribution.xreplace(values)) for s in self.steps}

    def gradient_at(self, at: Mapping, numeric: bool = False) -> dict[sp.Symbol, sp.Expr]:
        """The gradient's value at a point, from the backward program, per `wrt` variable."""
        values = self.values(at, numeric=numeric)
        return {v: values.get(self.adjoint_symbol(v), sp.S.Zero) for v in self.wrt}

    def verify(self, points: int = 5, seed: int = 0, proofs: int | None = None) -> Verification:
        """Compare every gradient with direct differentiation at random points, and symbolically for a
        sample of `proofs` variables (see `symbackprop.core.verify`)."""
        from .verify import PROOF_SAMPLE, verify
        return verify(self, points=points, seed=seed, proofs=PROOF_SAMPLE if proofs is None else proofs)

    def __repr__(self) -> str:
        return f"Backward(wrt={list(self.wrt)}, steps={len(self.steps)})"
