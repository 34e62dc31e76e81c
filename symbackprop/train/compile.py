"""The backward program compiled to NumPy: loss and every parameter's gradient over a batch.

`compile_graph(graph)` hands the straight-line backward program (forward nodes, then adjoints `dJ_dv`) to
`sympy.lambdify`, with common-subexpression elimination run over the program's lines. Data symbols
take arrays (one entry per sample), parameters take numbers; the result is the loss and the gradient,
both averaged over the batch. Nothing is differentiated here: the gradient is the backward pass itself.

>>> from symbackprop import Graph
>>> f = compile_graph(Graph.from_steps("a = w*x + b\\nJ = (a - y)^2", parameters=["w", "b"]))
>>> loss, gradient = f([1, 0], {"x": [1, 2], "y": [0, 1]})
>>> float(loss), gradient.tolist()
(1.0, [3.0, 2.0])
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..errors import GraphError

if TYPE_CHECKING:
    from ..core.backward import Backward
    from ..core.graph import Graph


_BELOW_ONE, _ABOVE_ZERO = 1.0 - 2.0**-53, 2.0**-1022


def _sigmoid(a):
    """σ(a) = 1/(1 + e^(−a)), kept strictly inside (0, 1) so log σ and log(1 − σ) stay finite.

    In floating point σ(a) rounds to exactly 1 for a > 37 (and to 0 below −745); the bounds are the
    nearest floats, so nothing changes where σ is representable.
    """
    return np.maximum(np.minimum(1.0 / (1.0 + np.exp(-a)), _BELOW_ONE), _ABOVE_ZERO)


def _relu(a):
    return np.maximum(a, 0.0)


def _heaviside(a, at_zero=0.0):
    return np.heaviside(a, at_zero)


NUMPY_FUNCTIONS: dict[str, Callable] = {
    "sigmoid": _sigmoid, "relu": _relu, "softplus": lambda a: np.logaddexp(0.0, a), "Heaviside": _heaviside,
}
"""NumPy versions of symbackprop's sympy functions, handed to `lambdify` before plain `numpy`."""


def numpy_function(args: Sequence[sp.Symbol], program: Sequence[tuple[sp.Symbol, sp.Expr]],
                   outputs: Sequence[sp.Expr]) -> Callable:
    """`lambdify` a straight-line program: its lines in order, CSE inside them, returning `outputs`.

    >>> x, u = sp.symbols("x u")
    >>> [float(v) for v in numpy_function([x], [(u, sp.sin(x)**2 + sp.sin(x))], [u, 2*u])(0.0)]
    [0.0, 0.0]
    """
    lines = _with_common_subexpressions(program)
    rename = {s: sp.Symbol(f"_v{k}") for k, (s, _) in enumerate(lines)
              if not s.name.isidentifier() or keyword.iskeyword(s.name)}  # Python names for the code
    if rename:
        lines = [(s.xreplace(rename), e.xreplace(rename)) for s, e in lines]
        outputs = [sp.sympify(o, strict=True).xreplace(rename) for o in outputs]
    # lambdify's own printer settings, and terms printed in the order they are stored (sorting every
    # sum of a large net for readable code nobody reads took a tenth of compiling)
    printer = NumPyPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                            "user_functions": {name: name for name in NUMPY_FUNCTIONS}, "order": "none"})
    return sp.lambdify(list(args), list(outputs), modules=[NUMPY_FUNCTIONS, "numpy"], printer=printer,
                       cse=lambda exprs: (lines, list(exprs)), docstring_limit=0)


def _with_common_subexpressions(program: Sequence[tuple[sp.Symbol, sp.Expr]]) -> list[tuple[sp.Symbol, sp.Expr]]:
    """sympy.cse over the right-hand sides; each shared piece is placed just before its first use.

    A line that only multiplies or adds names and numbers (most lines of a large net: `dJ_dw = dJ_da*x`)
    has nothing to share beyond its names, and is left out of the search.
    """
    taken = {s.name for line in program for s in (line[0], *line[1].free_symbols)}
    names = (sp.Symbol(f"_c{k}") for k in range(10**9) if f"_c{k}" not in taken)
    compound = [k for k, (_, rhs) in enumerate(program) if not _flat(rhs)]
    shared, found = sp.cse([program[k][1] for k in compound], symbols=names, order="none")
    reduced = [rhs for _, rhs in program]
    for k, rhs in zip(compound, found):
        reduced[k] = rhs
    definition = dict(shared)
    placed: set[sp.Symbol] = set()
    lines: list[tuple[sp.Symbol, sp.Expr]] = []

    def place(expr: sp.Expr) -> None:
        for s in sorted(expr.free_symbols & definition.keys() - placed, key=lambda s: int(s.name[2:])):
            if s not in placed:
                place(definition[s])
                placed.add(s)
                lines.append((s, definition[s]))

    for (symbol, _), rhs in zip(program, reduced):
        place(rhs)
        lines.append((symbol, rhs))
    return lines


def _flat(expr: sp.Expr) -> bool:
    """A name, a number, or a sum of products of names and numbers."""
    def product(e: sp.Expr) -> bool:
        return e.is_Atom or (e.is_Mul and all(a.is_Atom for a in e.args))
    return product(expr) or (expr.is_Add and all(product(a) for a in expr.args))


@dataclass(frozen=True)
class CompiledGradient:
    """Loss and gradient of a graph as NumPy code generated from its backward program.

    Call it with the `parameters`' values (a sequence in that order, or a mapping by name) and the
    `data` symbols' values (a mapping by name, or a sequence in that order): arrays with one entry per
    sample, or plain numbers. It returns the mean loss and the mean gradient (an array, `parameters` order).
    """

    graph: Graph
    backward: Backward
    parameters: tuple[sp.Symbol, ...]
    data: tuple[sp.Symbol, ...]
    _gradient: Callable = field(repr=False)
    _loss: Callable = field(repr=False)
    _nodes: dict = field(default_factory=dict, repr=False, compare=False)

    def __call__(self, params: Any, data: Any) -> tuple[float, np.ndarray]:
        """Mean loss and mean gradient over the batch."""
        theta, columns = self.parameter_values(params), self.columns(data)
        with np.errstate(over="ignore"):
            loss, *grads = self._gradient(*theta, *columns)
        return _batch_mean(loss, grads)

    def per_sample(self, params: Any, data: Any) -> tuple[np.ndarray, np.ndarray]:
        """Loss for every sample and gradient for every sample (parameters × samples), no averaging."""
        columns = self.columns(data)
        shape = (_batch_size(columns),)
        with np.errstate(over="ignore"):
            loss, *grads = self._gradient(*self.parameter_values(params), *columns)
        return (np.broadcast_to(loss, shape).astype(float),
                np.array([np.broadcast_to(g, shape) for g in grads], dtype=float).reshape(len(grads), *shape))

    def loss(self, params: Any, data: Any) -> float:
        """The mean loss alone, from the forward part of the program."""
        with np.errstate(over="ignore"):
            return float(np.mean(self._loss(*self.parameter_values(params), *self.columns(data))))

    def evaluate(self, node: sp.Symbol | str, params: Any, data: Any) -> np.ndarray:
        """One node's value for every sample (for example the network's prediction `y`)."""
        symbol = self.graph.node(node).symbol
        if symbol not in self._nodes:
            self._nodes[symbol] = numpy_function([*self.parameters, *self.data], self.backward.forward_program,
                                                 [symbol])
        with np.errstate(over="ignore"):
            value = self._nodes[symbol](*self.parameter_values(params), *self.columns(data))[0]
        return np.broadcast_to(value, (_batch_size(self.columns(data)),)) if np.ndim(value) == 0 else value

    def parameter_values(self, params: Any) -> list[float]:
        """Parameter values as floats in `parameters` order (from a sequence or a mapping by name)."""
        if isinstance(params, Mapping):
            given = {self.graph.symbol(k): v for k, v in params.items()}
            missing = [str(p) for p in self.parameters if p not in given]
            if missing:
                raise GraphError(f"no value given for parameter(s) {', '.join(missing)}")
            return [float(given[p]) for p in self.parameters]
        values = np.asarray(params, dtype=float).ravel()
        if values.size != len(self.parameters):
            raise GraphError(f"expected {len(self.parameters)} parameter values "
                             f"({', '.join(map(str, self.parameters))}), got {values.size}")
        return list(values)  # NumPy floats: an overflow gives inf (and a diverged run), not an exception

    def columns(self, data: Any) -> list:
        """Data values as arrays in `data` order (from a mapping by name, or a sequence already in order)."""
        if isinstance(data, Mapping):
            given = {self.graph.symbol(k): v for k, v in data.items()}
            missing = [str(d) for d in self.data if d not in given]
            if missing:
                raise GraphError(f"no data given for {', '.join(missing)}; pass a mapping from each data "
                                 f"symbol ({', '.join(map(str, self.data))}) to an array")
            data = [given[d] for d in self.data]
        if len(data) != len(self.data):
            raise GraphError(f"expected {len(self.data)} data columns ({', '.join(map(str, self.data))}), "
                             f"got {len(data)}")
        return [c if isinstance(c, np.ndarray) and c.dtype == float else np.asarray(c, dtype=float)
                for c in data]


def _batch_size(columns: Sequence[np.ndarray]) -> int:
    return max((c.shape[0] for c in columns if c.ndim), default=1)


def _batch_mean(loss: Any, grads: list) -> tuple[float, np.ndarray]:
    """Means over the batch; one stacked mean when every gradient is a full array (the usual case)."""
    mean_loss = float(np.mean(loss))
    if not grads:
        return mean_loss, np.zeros(0)
    shape = np.shape(loss)
    if shape and all(isinstance(g, np.ndarray) and g.shape == shape for g in grads):
        return mean_loss, np.stack(grads).mean(axis=1)
    return mean_loss, np.array([np.mean(g) for g in grads], dtype=float)


def compile_graph(graph: Graph, wrt: Iterable[sp.Symbol | str] | None = None) -> CompiledGradient:
    """Compile `graph.backward(wrt)`'s program; every input not in `wrt` is data.

    >>> from symbackprop.core.examples import gradient_example
    >>> f = compile_graph(gradient_example())  # f = 3x² + 2xy + y², no data
    >>> f([1, 2], {})[1].tolist()
    [10.0, 6.0]
    """
    backward = graph.backward(wrt)
    parameters = backward.wrt
    chosen = frozenset(parameters)  # a set: a tuple membership test made compiling quadratic
    data = tuple(s for s in graph.inputs if s not in chosen)
    args = [*parameters, *data]
    # No line reads an input's adjoint: where it only multiplies and adds names (dJ_dw = dJ_da*x, most
    # lines of a large net) it is written straight into the returned list instead of a line of its own.
    returned = {backward.adjoint_symbol(p): backward.adjoints[p] for p in parameters
                if _flat(backward.adjoints[p])}
    program = [(s, rhs) for s, rhs in backward.program if s not in returned]
    outputs = [graph.output, *(returned.get(a, a) for a in map(backward.adjoint_symbol, parameters))]
    gradient = numpy_function(args, program, outputs)
    loss = _OnFirstCall(lambda: numpy_function(args, backward.forward_program, [graph.output]))
    return CompiledGradient(graph, backward, parameters, data, gradient, lambda *a: loss(*a)[0])


class _OnFirstCall:
    """A function compiled when first called: the forward-only code, which training may never ask for,
    costs nothing until `loss()` is used (it was a third of compiling a large net)."""

    def __init__(self, build: Callable[[], Callable]):
        self._build, self._function = build, None

    def __call__(self, *args):
        if self._function is None:
            self._function = self._build()
        return self._function(*args)
