"""Computation graphs of named intermediate nodes.

A forward pass is a list of nodes; each node is a named value defined by a sympy expression of the
inputs and of earlier nodes. The graph for J = cos(sin(x²) + 3x²), as on the slides::

    t  = x**2        u1 = sin(t)      u2 = 3*t      u = u1 + u2      J = cos(u)

`t` feeds two nodes (u1 and u2): a fan-out, where the backward pass will add up two contributions.

>>> g = Graph.from_expr("cos(sin(x^2) + 3x^2)")
>>> [(n.name, n.definition) for n in g.nodes]
[('t', x**2), ('u1', sin(t)), ('u2', 3*t), ('u', u1 + u2), ('J', cos(u))]
>>> g.forward({"x": 0})[g.output]
1
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import sympy as sp

from ..errors import GraphError
from ..read.parse import name_as_read, parse_expr, parse_program
from .substitution import substitute_all, written_size

if TYPE_CHECKING:
    from .backward import Backward

Value = sp.Expr | int | float | str


@dataclass(frozen=True)
class Node:
    """One named intermediate value: `symbol = definition`, reading `parents` (inputs or earlier nodes)."""

    symbol: sp.Symbol
    definition: sp.Expr
    parents: tuple[sp.Symbol, ...]

    @property
    def name(self) -> str:
        return self.symbol.name

    def __str__(self) -> str:
        return f"{self.name} = {self.definition}"


class Graph:
    """A forward pass: `nodes` in order, the `inputs` they read, and the `output` node.

    `parameters` are what gradients are taken with respect to by default (all inputs unless given).
    """

    def __init__(self, nodes: Sequence[Node], output: sp.Symbol | None = None,
                 parameters: Iterable[sp.Symbol | str] | None = None, sort_inputs: bool = False):
        if not nodes:
            raise GraphError("a graph needs at least one node")
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.output: sp.Symbol = output if output is not None else self.nodes[-1].symbol
        self._node = {n.symbol: n for n in self.nodes}
        if self.output not in self._node:
            raise GraphError(f"the output {self.output} is not a node")
        found: dict[sp.Symbol, None] = {}  # inputs in order of first use
        for node in self.nodes:
            found.update((p, None) for p in node.parents if p not in self._node)
        inputs = sorted(found, key=sp.default_sort_key) if sort_inputs else list(found)
        self.inputs: tuple[sp.Symbol, ...] = tuple(inputs)
        self._input_set = frozenset(inputs)
        self.parameters: tuple[sp.Symbol, ...] = (
            self.inputs if parameters is None else tuple(self.symbol(p) for p in parameters))
        for p in self.parameters:
            if p in self._node:
                raise GraphError(f"'{p}' is a node; parameters must be inputs")
        if parameters is not None:  # parameters first, in the order given; then the data
            chosen = frozenset(self.parameters)  # a set: a tuple membership test made this quadratic
            self.inputs = (*self.parameters, *(s for s in inputs if s not in chosen))

    # --- building -------------------------------------------------------------------------------

    @classmethod
    def from_expr(cls, expr: sp.Expr | str, output: str = "J",
                  parameters: Iterable[sp.Symbol | str] | None = None) -> Graph:
        """Decompose an expression: one node per distinct compound subexpression, named like the slides.

        Shared subexpressions become one node that feeds several others.

        >>> [str(n) for n in Graph.from_expr("exp(x*y) + x*y").nodes]
        ['u2 = x*y', 'u1 = exp(u2)', 'J = u1 + u2']
        """
        if isinstance(expr, str):
            expr = parse_expr(expr)
        expr = sp.sympify(expr, strict=True)
        if not _is_compound(expr):
            raise GraphError(f"'{expr}' has nothing to compute: write an expression of the inputs")
        names = _name_subexpressions(expr, output)
        order = _postorder(expr)
        symbol_of = {sub: sp.Symbol(names[sub], **_assumptions(sub)) for sub in order}
        nodes = []
        for sub in order:
            definition = sub.func(*[symbol_of.get(a, a) if _is_compound(a) else
                                    a.xreplace(symbol_of) for a in sub.args])
            nodes.append(Node(symbol_of[sub], definition, _parents(definition)))
        return cls(nodes, parameters=parameters, sort_inputs=True)

    @classmethod
    def from_steps(cls, steps: str | Sequence[tuple[str | sp.Symbol, sp.Expr | str]],
                   parameters: Iterable[sp.Symbol | str] | None = None) -> Graph:
        """Build a graph from a forward program; the user's names are kept, the last assignment is the output.

        A reassigned name gets a new node each time (`c`, then `c_2`, ...).

        >>> g = Graph.from_steps("c = a*b\\nc = c + c + 1")
        >>> [str(n) for n in g.nodes]
        ['c = a*b', 'c_2 = 2*c + 1']
        """
        pairs = parse_program(steps) if isinstance(steps, str) else list(steps)
        current: dict[str, sp.Symbol] = {}  # name -> symbol of its latest version
        taken = _all_names(pairs)
        nodes: list[Node] = []
        for name, rhs in pairs:
            name = name.name if isinstance(name, sp.Symbol) else str(name)
            if isinstance(rhs, str):
                rhs = parse_expr(rhs, current, words="names")
            rhs = sp.sympify(rhs, strict=True)
            rhs = rhs.xreplace({s: current[s.name] for s in rhs.free_symbols
                                if s.name in current and current[s.name] != s})
            version = name
            read_before = any(s.name == name for s in rhs.free_symbols) or any(
                p.name == name for n in nodes for p in n.parents)  # the name is an input read earlier
            if name in current or read_before:
                version = _fresh(name, taken)
            symbol = sp.Symbol(version, real=True)
            taken.add(version)
            current[name] = symbol
            nodes.append(Node(symbol, rhs, _parents(rhs)))
        return cls(nodes, parameters=parameters)

    # --- reading --------------------------------------------------------------------------------

    def node(self, name: sp.Symbol | str) -> Node:
        """The node called `name`."""
        symbol = self.symbol(name)
        if symbol not in self._node:
            raise GraphError(f"'{name}' is not a node of this graph "
                             f"(nodes: {', '.join(n.name for n in self.nodes)})")
        return self._node[symbol]

    def is_node(self, symbol: sp.Symbol) -> bool:
        return symbol in self._node

    def symbol(self, name: sp.Symbol | str) -> sp.Symbol:
        """The input or node symbol called `name`."""
        if isinstance(name, sp.Symbol) and (name in self._node or name in self._input_set):
            return name
        text = str(name)
        for written in dict.fromkeys((text, name_as_read(text))):  # θ as the program read it: theta
            for s in (*self.inputs, *self._node):
                if s.name == written:
                    return s
        raise GraphError(f"'{name}' is neither an input nor a node of this graph "
                         f"(inputs: {', '.join(map(str, self.inputs))})")

    @cached_property
    def consumers(self) -> dict[sp.Symbol, tuple[Node, ...]]:
        """For every input and node, the nodes that read it, in forward order."""
        readers: dict[sp.Symbol, list[Node]] = {s: [] for s in (*self.inputs, *self._node)}
        for node in self.nodes:
            for p in node.parents:
                readers[p].append(node)
        return {s: tuple(r) for s, r in readers.items()}

    @cached_property
    def _written_out(self) -> dict[sp.Symbol, sp.Expr]:
        """Node → its definition written in the inputs, for the first nodes in forward order (`in_inputs`)."""
        return {}

    @cached_property
    def _index(self) -> dict[sp.Symbol, int]:
        return {n.symbol: i for i, n in enumerate(self.nodes)}

    @cached_property
    def expr_size(self) -> int:
        """How many tree nodes `expr` has, counted without writing it out (each node's definition in full
        wherever it is read): whether it fits on a line.

        >>> Graph.from_steps("t = x^2\\nJ = t*sin(t)").expr_size  # x**2*sin(x**2): Mul, Pow, x, 2, sin, Pow, x, 2
        8
        """
        return written_size((n.symbol, n.definition) for n in self.nodes)(self.output)

    @cached_property
    def expr(self) -> sp.Expr:
        """The output written in the inputs alone."""
        return self.in_inputs(self.output)

    def in_inputs(self, expr: sp.Expr | sp.Symbol) -> sp.Expr:
        """Replace node symbols in `expr` by their definitions, all the way down to the inputs.

        Each node is written out once per graph (`_written_out`) and then put in wherever it is read: a
        node such as Max(z1, z2, z3), which sympy takes long to build, is built once, not once per gradient.

        >>> g = Graph.from_steps("t = x^2\\nu = sin(t)")
        >>> g.in_inputs(g.symbol("u") * g.symbol("t"))
        x**2*sin(x**2)
        """
        present = [s for s in expr.free_symbols if s in self._node]
        if not present:
            return expr
        written = self._written_out
        for node in self.nodes[len(written):max(self._index[s] for s in present) + 1]:  # in forward order
            written[node.symbol] = substitute_all(node.definition, written)
        return substitute_all(expr, written)

    def order(self) -> list[sp.Symbol]:
        """Inputs and nodes in an order where every value comes after what it reads (graphlib)."""
        sorter = TopologicalSorter({n.symbol: n.parents for n in self.nodes})
        return list(sorter.static_order())

    # --- evaluating -----------------------------------------------------------------------------

    def point(self, at: Mapping[sp.Symbol | str, Value]) -> dict[sp.Symbol, sp.Expr]:
        """Turn `{"x": "1/2"}` or `{x: Rational(1, 2)}` into exact values for every input."""
        values = {}
        for key, value in at.items():
            symbol = self.symbol(key)
            values[symbol] = parse_expr(value) if isinstance(value, str) else sp.nsimplify(value, rational=True) \
                if isinstance(value, float) else sp.sympify(value, strict=True)
        missing = [s for s in self.inputs if s not in values]
        if missing:
            raise GraphError(f"no value given for {', '.join(map(str, missing))}")
        return values

    def forward(self, at: Mapping[sp.Symbol | str, Value], numeric: bool = False,
                digits: int = 15) -> dict[sp.Symbol, sp.Expr]:
        """Every input's and node's value at a point, exactly (or as floats with `numeric=True`).

        >>> g = Graph.from_steps("a = x + y\\nJ = a^2")
        >>> g.forward({"x": "1/2", "y": 1})
        {x: 1/2, y: 1, a: 3/2, J: 9/4}
        """
        values = self.point(at)
        for node in self.nodes:
            values[node.symbol] = node.definition.xreplace(
                {p: values[p] for p in node.parents}) if node.parents else node.definition
        if numeric:
            return {s: v.evalf(digits) for s, v in values.items()}
        return values

    def backward(self, wrt: Iterable[sp.Symbol | str] | None = None) -> Backward:
        """The backward pass: local derivatives, adjoint steps, gradients (see `symbackprop.core.backward`)."""
        from .backward import Backward
        return Backward(self, wrt)

    def __repr__(self) -> str:
        return f"Graph({'; '.join(map(str, self.nodes))})"

    def __str__(self) -> str:
        return "\n".join(map(str, self.nodes))


# --- helpers for building ---------------------------------------------------------------------------

def _is_compound(expr: sp.Basic) -> bool:
    """A subexpression worth a node: not a lone symbol or number, and depends on some variable."""
    return not expr.is_Atom and bool(expr.free_symbols)


def _parents(definition: sp.Expr) -> tuple[sp.Symbol, ...]:
    """The symbols a definition reads, in a stable (printing) order."""
    return tuple(sorted(definition.free_symbols, key=sp.default_sort_key))


def _assumptions(expr: sp.Expr) -> dict[str, bool]:
    return {"real": True} if expr.is_real else {}


def _operands(expr: sp.Expr) -> list[sp.Expr]:
    """Compound operands in reading order; function applications first, as the slides write sin(x²) + 3x²."""
    kids = [a for a in expr.args if _is_compound(a)]
    return sorted(kids, key=lambda a: 0 if isinstance(a, sp.Function) else 1)


def _postorder(expr: sp.Expr) -> list[sp.Expr]:
    """Distinct compound subexpressions, each after those it reads (operands in reading order)."""
    seen: dict[sp.Expr, None] = {}

    def visit(e: sp.Expr) -> None:
        if e in seen:
            return
        for a in _operands(e):
            visit(a)
        seen[e] = None

    visit(expr)
    return list(seen)


_LETTERS = "utsrqpnmkhgfdcba"  # read backwards from the output, as the slides do: J = cos(u), u1 = sin(t)


def _name_subexpressions(expr: sp.Expr, output: str) -> dict[sp.Expr, str]:
    """Readable names, handed out from the output down.

    The output is `J`; its operand is `u` (several operands: u1, u2, ...). A node `u` with several
    operands calls them u1, u2; otherwise operands take the previous letter: t, then s, ... and keep
    their branch's index (u1 = log(t1), t1 = s1 + 1), except a node shared by several branches, which
    belongs to none (t in u1 = sin(t), u2 = 3t).
    """
    readers: dict[sp.Expr, int] = {}
    for sub in _postorder(expr):
        for kid in set(_operands(sub)):
            readers[kid] = readers.get(kid, 0) + 1
    taken = {s.name for s in expr.free_symbols} | {output}
    names, letter_of, index_of = {expr: output}, {expr: -1}, {expr: ""}
    queue = [expr]
    while queue:
        parent = queue.pop(0)
        kids = [k for k in _operands(parent) if k not in names]
        indexed = bool(index_of[parent])
        step = 1 if (indexed or len(kids) == 1 or parent is expr) else 0
        letter = min(letter_of[parent] + step, len(_LETTERS) - 1)
        for number, kid in enumerate(kids, start=1):
            base = _LETTERS[letter]
            if len(kids) > 1:
                index = str(number)
            else:
                index = index_of[parent] if readers.get(kid, 0) < 2 else ""
            wanted = base + index
            names[kid] = wanted if wanted not in taken else _fresh(base, taken)
            taken.add(names[kid])
            letter_of[kid], index_of[kid] = letter, index
            queue.append(kid)
    return names


def _all_names(pairs: Sequence[tuple[str | sp.Symbol, sp.Expr | str]]) -> set[str]:
    names = set()
    for name, rhs in pairs:
        names.add(str(name))
        if isinstance(rhs, sp.Basic):
            names.update(s.name for s in rhs.free_symbols)
    return names


def _fresh(base: str, taken: set[str]) -> str:
    """`base_2`, `base_3`, ...: the first such name not yet taken."""
    k = 2
    while f"{base}_{k}" in taken:
        k += 1
    return f"{base}_{k}"
