"""Gradients in the course's own form: written in the forward nodes' names, simplified as a course does.

The chain rule's adjoints already read node symbols (dJ/da = dJ/dy · ∂y/∂a), but a local derivative
from `sympy.diff` knows nothing of the node it belongs to: ∂y/∂a = exp(−a)/(1 + exp(−a))² although
y = 1/(1 + exp(−a)). Three passes turn that into what the slides write:

1. **Local derivatives in node names.** Where a node's definition appears in its own local derivative it
   is replaced by the node (∂v/∂p = exp(p) → v). For a node v = f(p) with one parent, a piece k of f
   (such as exp(−a)) that the equation v = f solves uniquely for is replaced by that solution
   (exp(−a) = (1 − y)/y), which turns σ′ into y(1 − y). Each rewrite is kept only if, with the node's
   definition put back, it is `equivalent` to the local derivative it replaces.
2. **Adjoints in node names**, right to left: dJ/dv = Σ dJ/dc · ∂c/∂v over the nodes c that read v, each
   adjoint simplified (the shortest of the sum as it is, `factor` and `cancel`) before it is used, with
   bounded effort (sums that multiply out to many terms, or a pass that has used its time, stay as they are).
3. **A check**: every node-form gradient, with node definitions substituted back down to the inputs,
   must be `equivalent` to the chain-rule gradient in the inputs; otherwise the input form is used.

>>> from symbackprop.core.examples import logistic_regression
>>> forms = node_form(logistic_regression(2).backward())
>>> forms["theta_1"].expr, forms["theta_1"].checked
(x_1*(-y + y_star), True)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from math import prod
from typing import TYPE_CHECKING, Callable, Iterable

import sympy as sp
from sympy.solvers.solveset import invert_real

from .substitution import written_size
from .verify import (
    TRUSTED,
    Equivalence,
    OutOfTime,
    PointCheck,
    allowed,
    deadline,
    equivalent,
    random_points,
    symbolic_zero,
)

if TYPE_CHECKING:
    from .backward import Backward
    from .graph import Graph, Node

MAX_REWRITE_OPS = 200  # bounded effort: larger expressions are kept as they are
REWRITE_SECONDS = 0.15  # ... and each of factor and cancel stops after this long (multivariate factoring)
REWRITE_BUDGET = 0.8  # seconds for simplifying all adjoints of a pass; then they are kept as the chain rule gives them
MAX_REWRITE_TERMS = 100  # ... and so are those that multiply out to more terms (`_terms`): no form that won had over 40
CHECK_POINTS = 3  # points of the check against the backward program's values
AGREE_DIGITS = 30  # ... computed from 50-digit inputs, the two values must agree to this many digits
MAX_DIRECT_CHECK_SIZE = 250  # tree nodes of both sides in the inputs; above, the proof goes through node names


@dataclass(frozen=True)
class NodeFormGradient:
    """dJ/dv written in node and input names (`expr`), and how it was checked against the input form
    (the chain-rule gradient written in the inputs, built on first read)."""

    variable: sp.Symbol
    expr: sp.Expr
    check: Equivalence
    backward: Backward = field(repr=False, compare=False)

    @cached_property
    def input_form(self) -> sp.Expr:
        return self.backward.gradient(self.variable)

    @property
    def checked(self) -> bool:
        return self.check.equal

    @property
    def rewritten(self) -> bool:
        """Whether this form differs from the input form (it does wherever it names a node)."""
        nodes = self.backward.graph.is_node
        return any(nodes(s) for s in self.expr.free_symbols) or self.expr != self.input_form


def _negative_terms(f: sp.Expr) -> int:
    return sum(1 for t in sp.Add.make_args(f) if t.could_extract_minus_sign())


def _score(coefficient: sp.Expr, factors: list[sp.Expr], nodes: frozenset) -> tuple[int, int, int]:
    """Fewer minus signs first; then differences written as (target − node) and (1 − node), as courses do."""
    adds = [f for f in factors if f.is_Add]
    minus = int(bool(coefficient.is_negative)) + sum(_negative_terms(f) for f in adds)
    node_first = sum(1 for f in adds if any(not t.could_extract_minus_sign() and t.free_symbols & nodes
                                            for t in f.args)
                     and any(t.could_extract_minus_sign() and not t.free_symbols & nodes for t in f.args))
    negative_constant = sum(1 for f in adds for t in f.args if t.is_Number and t.is_negative)
    return minus, node_first, negative_constant


def orient(expr: sp.Expr, nodes: Iterable[sp.Symbol] = ()) -> sp.Expr:
    """Signs placed as a course writes them: −z(z − 1) → z(1 − z), (y − y*)(z − 1) → (y* − y)(1 − z).

    Every way of flipping the sign of the differences in a product (and of the product) is scored:
    fewest minus signs, then `node` symbols subtracted rather than subtracted from.

    >>> z, x, y, s = sp.symbols("z x y y_star")
    >>> orient(-z*(z - 1), [z]), orient(x*(y - s)*(z - 1), [z, y]), orient(-x*z)
    (z*(1 - z), x*(1 - z)*(-y + y_star), -x*z)
    """
    if not expr.is_Mul:
        return expr
    nodes = frozenset(nodes)
    coefficient, factors = expr.as_coeff_mul()
    adds = [i for i, f in enumerate(factors) if f.is_Add and len(f.args) <= 6][:6]
    best, best_score = (coefficient, list(factors)), None
    for mask in range(1 << len(adds)):
        flipped = list(factors)
        for bit, i in enumerate(adds):
            if mask >> bit & 1:
                flipped[i] = sp.Add(*(-t for t in factors[i].args))
        sign = -1 if bin(mask).count("1") % 2 else 1
        score = (*_score(sign * coefficient, flipped, nodes), bin(mask).count("1"))
        if best_score is None or score < best_score:
            best, best_score = (sign * coefficient, flipped), score
    return sp.Mul(best[0], *best[1], evaluate=False) if best[0] != 1 else sp.Mul(*best[1], evaluate=False)


def _size(expr: sp.Expr) -> tuple[int, int]:
    return len(str(expr)), sp.count_ops(expr)


def _terms(expr: sp.Expr, cap: int = 10**6) -> tuple[int, int]:
    """About how many terms the numerator and denominator of `expr` have once over a common denominator and
    multiplied out (functions count as one symbol), without doing it: what `factor` and `cancel` face.

    >>> a, b, c, d = sp.symbols("a b c d")
    >>> _terms((a + b)**2 / (c + d) + sp.sin(a + b))  # an upper bound: (a + b)² has 3 terms, not 4
    (6, 2)
    """
    if expr.is_Add:
        parts = [_terms(a, cap) for a in expr.args]
        denominator = min(cap, prod(d for _, d in parts))
        return min(cap, sum(n * denominator // d for n, d in parts)), denominator
    if expr.is_Mul:
        parts = [_terms(a, cap) for a in expr.args]
        return min(cap, prod(n for n, _ in parts)), min(cap, prod(d for _, d in parts))
    if expr.is_Pow and expr.exp.is_Integer:
        n, d = _terms(expr.base, cap)
        k = min(abs(int(expr.exp)), 64)
        n, d = min(cap, n ** k), min(cap, d ** k)
        return (n, d) if expr.exp > 0 else (d, n)
    return 1, 1


def shortest(expr: sp.Expr, nodes: Iterable[sp.Symbol] = (), seconds: float = REWRITE_SECONDS) -> sp.Expr:
    """The shortest of `expr`, `factor(expr)` and `cancel(expr)` (signs oriented), as a course would write it;
    each of factor and cancel is given at most `seconds`.

    >>> y, s = sp.symbols("y y_star")
    >>> shortest((s/y - (1 - s)/(1 - y)) * y * (1 - y))
    -y + y_star
    """
    candidates = [orient(expr, nodes)]
    if seconds > 0 and sp.count_ops(expr) <= MAX_REWRITE_OPS and max(_terms(expr)) <= MAX_REWRITE_TERMS:
        for step in (sp.factor, sp.cancel):
            try:
                with deadline(seconds):
                    candidates.append(orient(step(expr), nodes))
            except (sp.PolynomialError, TypeError, ValueError, RecursionError, OutOfTime):
                continue
    return min(candidates, key=_size)


def _pieces(definition: sp.Expr, parent: sp.Symbol) -> list[sp.Expr]:
    """Compound subexpressions of a definition that contain the parent, largest first (exp(−a) in 1/(1+exp(−a)))."""
    found = {e for e in sp.preorder_traversal(definition)
             if not e.is_Atom and parent in e.free_symbols and e != definition}
    return sorted(found, key=lambda e: -sp.count_ops(e))


def solve_for(f: sp.Expr, v: sp.Symbol, k: sp.Symbol) -> sp.Expr | None:
    """The one real k with v = f(k), by sympy's `invert_real` (undoing f operation by operation), or None
    where there is not exactly one (or it is not found). Unchecked: a rewrite that uses it is proved.

    >>> y, k = sp.symbols("y k")
    >>> solve_for(1/(1 + k), y, k), solve_for(sp.sqrt(k + 1), y, k), solve_for(k**2, y, k)
    (-1 + 1/y, y**2 - 1, None)
    """
    try:
        unknown, found = invert_real(f, v, k)
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return None
    solutions = _elements(found) if unknown == k else None
    return solutions[0] if solutions is not None and len(solutions) == 1 else None


def _elements(found: sp.Set) -> list[sp.Expr] | None:
    """The listed elements of {s} ∩ ℝ, or of the image of such a set (what `invert_real` returns), else None."""
    if isinstance(found, sp.FiniteSet):
        return list(found)
    if isinstance(found, sp.Intersection):
        finite = [a for a in found.args if isinstance(a, sp.FiniteSet)]
        return list(finite[0]) if len(finite) == 1 else None
    if isinstance(found, sp.ImageSet) and len(found.base_sets) == 1:
        inner = _elements(found.base_sets[0])
        return None if inner is None else [found.lamda(e) for e in inner]
    return None


def local_in_nodes(node: Node, parent: sp.Symbol, local: sp.Expr) -> sp.Expr:
    """∂node/∂parent rewritten with the node's own name where that is shorter and provably the same.

    >>> from symbackprop import Graph
    >>> g = Graph.from_steps("y = 1/(1 + exp(-a))")
    >>> node = g.node("y")
    >>> local_in_nodes(node, g.symbol("a"), sp.diff(node.definition, g.symbol("a")))
    y*(1 - y)
    """
    v, d = node.symbol, node.definition
    if v in local.free_symbols or sp.count_ops(local) > MAX_REWRITE_OPS:
        return local  # already written with the node (a rule of the backward pass)
    candidates = [local.xreplace({d: v})] if d in set(sp.preorder_traversal(local)) else []
    if len(node.parents) == 1:
        unknown = sp.Dummy("k")
        for piece in _pieces(d, parent)[:4]:
            with_unknown = d.xreplace({piece: unknown})
            if parent in with_unknown.free_symbols or parent in local.xreplace({piece: unknown}).free_symbols:
                continue  # the piece does not hold every parent of the node or of its derivative: no rewrite
            solution = solve_for(with_unknown, v, unknown)
            if solution is not None:
                rewritten = shortest(local.xreplace({piece: solution}), [v])
                if parent not in rewritten.free_symbols:
                    candidates.append(rewritten)
    best = local
    for candidate in sorted(candidates, key=_size):
        if _size(candidate) >= _size(best):
            break
        if equivalent(candidate.xreplace({v: d}), local, points=3, kinds=TRUSTED).equal:
            best = candidate
            break
    return best


class NodeForm:
    """Every adjoint of a backward pass in node names, simplified step by step (see the module docstring)."""

    def __init__(self, backward: Backward):
        self.backward = backward
        self.graph: Graph = backward.graph
        self._shortest: dict[sp.Expr, sp.Expr] = {}  # pattern (`_pattern`) → its simplest form
        self._proofs: dict[sp.Expr, str | None] = {}  # pattern of a difference → how it is 0, or None

    @cached_property
    def _nodes(self) -> frozenset:
        return frozenset(n.symbol for n in self.graph.nodes)

    def _pattern(self, expr: sp.Expr) -> tuple[sp.Expr, dict[sp.Symbol, sp.Symbol]]:
        """`expr` with its symbols renamed, in name order, to stand-ins (nodes and inputs apart, assumptions
        kept), and the way back: dJ/dw11 and dJ/dw12 of one layer give the same pattern, simplified and
        proved once. The renaming is one-to-one, so what holds for the pattern holds for `expr`."""
        stand = {s: sp.Symbol(f"·{'n' if s in self._nodes else 'i'}{k}", **s.assumptions0)
                 for k, s in enumerate(sorted(expr.free_symbols, key=lambda s: s.name))}
        return expr.xreplace(stand), {v: k for k, v in stand.items()}

    @cached_property
    def locals(self) -> dict[tuple[sp.Symbol, sp.Symbol], sp.Expr]:
        """(child, parent) → the local derivative in node names, for every step of the pass."""
        found: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = {}
        cache: dict[tuple[sp.Expr, sp.Expr, sp.Expr], sp.Expr] = {}
        for step in self.backward.steps:
            key = (step.source, step.target)
            if key in found:
                continue
            node = self.graph.node(step.source)
            pattern = (node.definition, step.target, step.local)
            # units of a layer repeat one pattern under other names; rewrite each distinct one once
            if pattern not in cache:
                cache[pattern] = local_in_nodes(node, step.target, step.local)
            found[key] = cache[pattern]
        return found

    @cached_property
    def adjoints(self) -> dict[sp.Symbol, sp.Expr]:
        """dJ/dv in node and input names for the output, every relevant node and every variable."""
        b = self.backward
        result: dict[sp.Symbol, sp.Expr] = {b.output: sp.S.One}
        terms: dict[sp.Symbol, list[sp.Expr]] = {}
        end = time.monotonic() + allowed(REWRITE_BUDGET)
        for step in b.steps:
            terms.setdefault(step.target, []).append((step.source, self.locals[(step.source, step.target)]))
        for target, parts in terms.items():  # steps run right to left: every source is done first
            (source, local), *more = parts
            if not more and not result[source].free_symbols & local.free_symbols:
                # one reader, nothing in common to cancel: the product of two forms already simplified
                result[target] = orient(result[source] * local, self._nodes)
                continue
            total = sp.Add(*(result[source] * local for source, local in parts))
            pattern, back = self._pattern(total)  # units of a layer: one pattern under other names
            if pattern not in self._shortest:
                left = (end - time.monotonic()) / allowed(1.0)  # what remains of the whole pass's bound
                self._shortest[pattern] = shortest(pattern, [k for k, v in back.items() if v in self._nodes],
                                                   min(REWRITE_SECONDS, left))
            with sp.evaluate(False):  # the names put back as they are (2*(x + y) stays factored)
                result[target] = self._shortest[pattern].xreplace(back)
        for v in b.wrt:
            result.setdefault(v, sp.S.Zero)
        return result

    @cached_property
    def unsimplified(self) -> dict[sp.Symbol, sp.Expr]:
        """The chain rule with the node-name local derivatives, before any simplification."""
        result: dict[sp.Symbol, sp.Expr] = {self.backward.output: sp.S.One}
        for step in self.backward.steps:
            term = result[step.source] * self.locals[(step.source, step.target)]
            result[step.target] = result.get(step.target, sp.S.Zero) + term
        return result

    @cached_property
    def _point_values(self) -> list[tuple[dict, dict]]:
        """(point, every node and adjoint value there) at 3 small random points, from 50-digit inputs: the backward
        program run once per point serves every variable's check."""
        found = []
        for point in random_points(self.graph.inputs, CHECK_POINTS, seed=0, tries=4, kinds=TRUSTED):
            try:
                values = self.backward.values({k: sp.Float(v, 50) for k, v in point.items()})
            except (ArithmeticError, ValueError, TypeError):
                continue
            found.append((point, values))
            if len(found) == CHECK_POINTS:
                break
        return found

    def _against_backward_values(self, symbol: sp.Symbol, expr: sp.Expr) -> tuple[PointCheck, ...]:
        """The node form, its nodes given their values, against the backward program's adjoint at each
        point (which `verify` checks against sympy.diff); points where either is not a finite real are skipped."""
        checks = []
        for point, values in self._point_values:
            left = sp.N(expr.xreplace(values), AGREE_DIGITS + 10)
            right = sp.N(values.get(self.backward.adjoint_symbol(symbol), sp.S.Zero), AGREE_DIGITS + 10)
            if not (left.is_real and right.is_real and left.is_finite and right.is_finite):
                continue
            equal = abs(left - right) <= sp.Float(10) ** -AGREE_DIGITS * max(abs(left), abs(right), sp.Float(1))
            checks.append(PointCheck(point, left, right, bool(equal), False))
        return tuple(checks)

    @cached_property
    def _size_in_inputs(self) -> Callable[[sp.Basic], int]:
        """Tree nodes of a node-form expression written in the inputs, without writing it out."""
        return written_size(self.backward.program)

    def gradient(self, v: sp.Symbol | str) -> NodeFormGradient:
        """dJ/dv in node names, checked against the chain-rule gradient in the inputs.

        Where both, written in the inputs, are small, the check substitutes node definitions back and calls
        `equivalent` (exact points, then a symbolic proof). Otherwise the proof is made in node names
        instead, without writing either out: each local rewrite was proved on its own, so it remains to
        show that the simplified form equals the unsimplified chain rule with those locals (a small rational
        identity), and the node form is compared at 3 points with the backward program's adjoint values.
        """
        symbol = self.graph.symbol(v)
        expr = self.adjoints[symbol]
        size = self._size_in_inputs
        if size(expr) + size(self.backward.adjoint_symbol(symbol)) <= MAX_DIRECT_CHECK_SIZE:
            check = equivalent(self.graph.in_inputs(expr), self.backward.gradient(symbol), self.graph.inputs,
                               kinds=TRUSTED)
        else:
            checks = self._against_backward_values(symbol, expr)
            pattern, _ = self._pattern(expr - self.unsimplified.get(symbol, sp.S.Zero))
            if pattern not in self._proofs:  # a difference that is 0 is 0 under any renaming of its symbols
                self._proofs[pattern] = symbolic_zero(pattern, rational=True)
            proof = self._proofs[pattern]
            agree = all(c.equal for c in checks) and bool(checks)
            method = (f"in node names {proof}, each local rewrite proved" if proof else
                      "not proved in node names within the effort bound")
            check = Equivalence(agree and proof is not None, proof is not None and agree, method, checks,
                                digits=AGREE_DIGITS)
        if not check.equal:  # never show an unproved form: fall back to the inputs
            expr = self.backward.gradient(symbol)
        return NodeFormGradient(symbol, expr, check, self.backward)


def node_form(backward: Backward, wrt: Iterable[sp.Symbol | str] | None = None) -> dict[str, NodeFormGradient]:
    """The node form of every gradient of `backward` (keyed by variable name), each checked.

    >>> from symbackprop import Graph
    >>> forms = node_form(Graph.from_steps("t = x^2\\nu = sin(t)\\nJ = u*t").backward())
    >>> forms["x"].expr
    2*x*(t*cos(t) + u)
    """
    form = NodeForm(backward)
    return {backward.graph.symbol(v).name: form.gradient(v) for v in (backward.wrt if wrt is None else wrt)}
