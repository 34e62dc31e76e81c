"""Exercise templates: seeded generators whose answer keys come from the toolkit, verified before use.

Every key is computed by the backward pass and checked two independent ways before an exercise is
returned: the chain-rule gradient against `sympy.diff` of the whole expression (symbolically and at
random exact points, `Backward.verify`), and numerically at the exercise's own point (the backward
program's value against the direct derivative and a central finite difference). Degenerate
variants (a zero derivative, a value undefined at the point, an absurdly long answer) are skipped and the
generator draws again from the same seeded stream, so the same seed always gives the same exercise.

>>> ex = generate("chain_rule", seed=1)
>>> [p.id for p in ex.parts], ex.points
(['a', 'b'], 5)
>>> generate("chain_rule", seed=1) == ex
True
"""
from __future__ import annotations

import multiprocessing as mp
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import sympy as sp

from ..core import examples
from ..core.backward import Backward
from ..core.graph import Graph
from ..core.nodeform import NodeForm
from ..core.verify import compare_points, equivalent, real_value, symbolic_zero, unhurried
from ..functions import sigmoid
from .matrix_template import matrix_backprop
from .model import Exercise, ExerciseError, Part, latex_of, safe_id, typed, variant_seed

DIGITS = 30  # working precision of the numeric checks (agreement required to 1e-20)
VALUE_TOLERANCE = 1e-3  # decimals to 4 significant digits are accepted for values at a point
ATTEMPTS = 60

X = sp.Symbol("x", real=True)
Y = sp.Symbol("y", real=True)


def _sym(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


# --- numbers ----------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _number(value: sp.Expr) -> sp.Float | None:
    """`value` at DIGITS digits, or None where it is not a finite real number (the same value at the
    point is needed by the draw's sanity checks and by key verification: evaluated once)."""
    return real_value(value, DIGITS)


def _decimal(value: sp.Expr) -> str:
    number = _number(value)
    return "" if number is None else f"{float(number):.6g}"


def _sensible(value: sp.Expr, low: float = 1e-2, high: float = 1e4) -> bool:
    """Defined, not (nearly) zero, not huge: a value a student can compute and we can grade."""
    number = _number(value)
    return number is not None and low <= abs(float(number)) <= high


def _exact(value: sp.Expr) -> sp.Expr:
    """A value at a point as the backward program gives it (already exact; rationals stay rationals)."""
    return sp.sympify(value, strict=True)


def _moderate(graph: Graph, at: dict[sp.Symbol, sp.Expr], limit: float = 50) -> bool:
    """Every forward value defined and at most `limit` in size: no exp(exp(...)) monsters."""
    values = graph.forward(at)
    return all((v := _number(values[n.symbol])) is not None and abs(float(v)) <= limit for n in graph.nodes)


# --- verifying keys -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifiedGradient:
    """dJ/dv from the backward pass, checked against direct differentiation and numerically at `at`."""

    backward: Backward
    gradient: dict[sp.Symbol, sp.Expr]  # chain rule, in the inputs
    at_point: dict[sp.Symbol, sp.Expr]  # exact values at `at`, from the backward program
    how: str


def _finite_difference(expr: sp.Expr, at: dict[sp.Symbol, sp.Expr], v: sp.Symbol) -> sp.Float | None:
    h = sp.Rational(1, 10**10)  # truncation error ~h² = 1e-20, cancellation leaves ~20 digits
    plus, minus = dict(at), dict(at)
    plus[v], minus[v] = at[v] + h, at[v] - h
    a, b = _number(expr.xreplace(plus)), _number(expr.xreplace(minus))
    return None if a is None or b is None else (a - b) / (2 * h)


def _close(a: sp.Float, b: sp.Float, relative: float) -> bool:
    return abs(a - b) <= relative * max(abs(a), abs(b), sp.Float(1e-30, DIGITS))


def verified_gradient(graph: Graph, wrt: Sequence[sp.Symbol], at: dict[sp.Symbol, sp.Expr],
                      seed: int = 0) -> VerifiedGradient:
    """The backward pass for `wrt`, verified both ways; raises `ExerciseError` if any check fails.

    >>> g = Graph.from_expr("3x^2 + 2x y + y^2", output="f")
    >>> verified_gradient(g, g.inputs, {X: 1, Y: 2}).at_point
    {x: 10, y: 6}
    """
    backward = graph.backward(wrt)
    gradient, proofs = {}, []
    for v in backward.wrt:
        chain, direct = backward.gradient(v), backward.direct(v)
        proof = symbolic_zero(chain - direct)
        if proof is None:  # not settled symbolically with bounded effort: the core's full check decides
            result = equivalent(chain, direct, graph.inputs, points=3, seed=seed)
            if not result.equal:
                raise ExerciseError(f"the chain rule disagrees with direct differentiation for d{graph.output}/d{v}")
            proof = result.how
        gradient[v] = chain
        proofs.append(proof)
        near = [dict(at), {s: value + sp.Rational(1, 7) for s, value in at.items()},
                {s: value - sp.Rational(2, 9) for s, value in at.items()}]
        checked = 0
        for point in near:  # both written in the inputs, at the point and two nearby exact points
            a, b = _number(chain.xreplace(point)), _number(direct.xreplace(point))
            if a is not None and b is not None:
                if not _close(a, b, 1e-20):
                    raise ExerciseError(f"d{graph.output}/d{v}: chain rule {a} and direct {b} differ at {point}")
                checked += 1
        if checked < 2:
            raise ExerciseError(f"d{graph.output}/d{v} could not be evaluated near {at}")
    values = backward.gradient_at(at)
    for v in backward.wrt:
        direct = _number(backward.direct(v).xreplace(at))
        program = _number(values[v])
        difference = _finite_difference(graph.expr, at, v)
        if direct is None or program is None or difference is None:
            raise ExerciseError(f"d{graph.output}/d{v} is not defined at {at}")
        if not (_close(direct, program, 1e-20) and _close(direct, difference, 1e-12)):
            raise ExerciseError(f"d{graph.output}/d{v} at {at}: backward program {program}, direct {direct}, "
                                f"finite difference {difference} do not agree")
    how = (f"chain rule = direct differentiation for {', '.join(map(str, backward.wrt))} (difference "
           f"{'; '.join(sorted(set(proofs)))}; equal at the point and two nearby points to 20 digits); at the point: "
           "backward program = direct derivative = central finite difference")
    return VerifiedGradient(backward, gradient, {v: values[v] for v in backward.wrt}, how)


def in_nodes(backward: Backward, v: sp.Symbol) -> sp.Expr:
    """dJ/dv in the forward nodes' names as a course writes it (`(y* − y)·x_j`), proved equal to the
    chain rule's form (`symbackprop.core.nodeform`; the form in the inputs if no node form was proved)."""
    return _node_form(backward).gradient(v).expr


@lru_cache(maxsize=16)
def _node_form(backward: Backward) -> NodeForm:
    return NodeForm(backward)


def perturbed_adjoint(graph: Graph, at: dict[sp.Symbol, sp.Expr], node: sp.Symbol) -> sp.Expr:
    """dJ/d(node) at a point without the backward pass: nudge the node's value by s, differentiate J(s)."""
    s = sp.Dummy("s")
    values: dict[sp.Symbol, sp.Expr] = dict(at)
    for n in graph.nodes:
        values[n.symbol] = n.definition.xreplace(values) + (s if n.symbol == node else 0)
    return sp.diff(values[graph.output], s).subs(s, 0)


# --- parts ------------------------------------------------------------------------------------------

def _tex_point(at: dict[sp.Symbol, sp.Expr]) -> str:
    return ", ".join(f"{latex_of(k)} = {sp.latex(v)}" for k, v in at.items())


def _substitutions(graph: Graph) -> tuple[tuple[str, str], ...]:
    """Node name -> definition, from the output down, so replacing in order reaches the inputs."""
    return tuple((n.name, typed(n.definition)) for n in reversed(graph.nodes) if n.symbol != graph.output)


def derivative_part(pid: str, prompt: str, points: int, graph: Graph, v: sp.Symbol, answer: sp.Expr,
                    nodes_allowed: bool = False) -> Part:
    """A symbolic derivative part; with `nodes_allowed` the answer may use forward values (y, z_j, ...)."""
    variables = [s.name for s in graph.inputs]
    if nodes_allowed:
        variables += [n.name for n in graph.nodes if n.symbol != graph.output]
    steps = "\n".join(f"{n.name} = {typed(n.definition)}" for n in graph.nodes) if nodes_allowed else ""
    return Part(pid, prompt, points, "derivative", typed(answer), latex_of(answer), tuple(variables),
                function=typed(graph.expr), wrt=v.name,
                substitutions=_substitutions(graph) if nodes_allowed else (), steps=steps)


def value_part(pid: str, prompt: str, points: int, value: sp.Expr, carried: str = "") -> Part:
    """A value at a point; `carried` computes it from earlier parts' values (`part_a`), so a student whose
    earlier value was wrong still earns this part when this step is right given that value."""
    exact = _exact(value)
    return Part(pid, prompt, points, "value", typed(exact), latex_of(exact), (), tolerance=VALUE_TOLERANCE,
                decimal=_decimal(exact), carried=carried)


def _letters(count: int) -> list[str]:
    return [chr(ord("a") + k) for k in range(count)]


VALUE_NOTE = "Give exact values (like `3/4` or `-sin(1/4)`) or decimals to at least 4 significant digits."


# --- random functions of one variable -------------------------------------------------------------------

OUTER: tuple[tuple[str, Callable[[sp.Expr], sp.Expr]], ...] = (
    ("sin", sp.sin), ("cos", sp.cos), ("exp", sp.exp), ("tanh", sp.tanh), ("sigmoid", sigmoid),
    ("log", lambda u: sp.log(1 + u**2)), ("sqrt", lambda u: sp.sqrt(1 + u**2)), ("cube", lambda u: u**3),
)
INNER: tuple[Callable[[int], sp.Expr], ...] = (
    lambda c: c * X**2, lambda c: X**2 + c * X, lambda c: c * X, lambda c: X**3, lambda c: c * X**2 - X,
)
POINTS = tuple(sp.Rational(p) for p in ("1/2", "-1/2", "1", "-1", "3/2", "2", "1/3", "2/3"))


def random_composition(rng: random.Random, functions: int, fan_out: bool) -> sp.Expr:
    """A composition of `functions` elementary functions of x (the innermost a small polynomial).

    With `fan_out`, the outermost function reads the previous value plus a multiple of the innermost,
    as in the slides' cos(sin(x²) + 3x²).
    """
    inner = rng.choice(INNER)(rng.choice((2, 3)))
    expr, previous = inner, None
    for k in range(functions - 1):
        name, f = rng.choice([o for o in OUTER if o[0] != previous and not (o[0] == "cube" and k == 0
                                                                           and inner.is_polynomial(X))])
        previous = name
        last = k == functions - 2
        argument = expr + rng.choice((2, 3)) * inner if (fan_out and last and k > 0) else expr
        expr = f(argument)
    return expr


# --- the templates ------------------------------------------------------------------------------------

Draft = tuple[str, str, list[Part], list[str], str]  # title, statement, parts, hints, verification


def _chain_rule(rng: random.Random, difficulty: int) -> Draft | None:
    J = _sym("J")
    expr = random_composition(rng, difficulty + 1, fan_out=difficulty >= 2)
    graph = Graph.from_expr(expr)
    x0 = rng.choice(POINTS)
    if len(graph.nodes) > 7 or not _moderate(graph, {X: x0}):
        return None
    direct = sp.diff(graph.expr, X)
    if sp.count_ops(direct) > 25 + 15 * difficulty or not _sensible(direct.subs(X, x0), 1e-2, 1e3):
        return None
    key = verified_gradient(graph, [X], {X: x0})
    g = key.gradient[X]
    f_tex = latex_of(graph.expr)
    statement = (f"Let $J = {f_tex}$.\n\n"
                 "Find the derivative $\\frac{dJ}{dx}$ with the chain rule, and evaluate it at "
                 f"$x = {sp.latex(x0)}$.\n\nType expressions the way you would write them: `^` or `**` for powers, "
                 "`sin(x)`, `exp(x)`, `sigmoid(x)`, `2x`.")
    parts = [derivative_part("a", "$\\frac{dJ}{dx}$ as an expression in $x$.", 3, graph, X, g),
             value_part("b", f"$\\frac{{dJ}}{{dx}}$ at $x = {sp.latex(x0)}$. {VALUE_NOTE}", 2, key.at_point[X])]
    names = ", ".join(f"${latex_of(n.symbol)} = {latex_of(n.definition)}$" for n in graph.nodes)
    hints = [f"Name the intermediate values, innermost first: {names}.",
             "Work right to left: the derivative of each node with respect to what it reads, times the "
             f"derivative of ${latex_of(J)}$ with respect to that node."]
    fans = [n for n in graph.nodes if len(graph.consumers[n.symbol]) > 1]
    if fans:
        hints.append(f"${latex_of(fans[0].symbol)}$ feeds {len(graph.consumers[fans[0].symbol])} nodes: "
                     "add up one contribution per path (`+=`).")
    return "Chain rule", statement, parts, hints, key.how


def _part_symbol(pid: str) -> sp.Symbol:
    return _sym(f"part_{pid}")


def _carried_forward(graph: Graph, node, forward_ids: dict[sp.Symbol, str], at: dict[sp.Symbol, sp.Expr]) -> str:
    """A node's value from the student's own values of the nodes it reads (empty if it reads inputs only)."""
    if not any(p in forward_ids for p in node.parents):
        return ""
    own = {p: _part_symbol(forward_ids[p]) for p in node.parents if p in forward_ids}
    return typed(node.definition.xreplace(own).xreplace(at))


def _carried_backward(graph: Graph, target: sp.Symbol, forward_ids: dict[sp.Symbol, str],
                      adjoint_ids: dict[sp.Symbol, str], at: dict[sp.Symbol, sp.Expr]) -> str:
    """dJ/d(target) from the student's own adjoints of its consumers and their own forward values:
    the sum over the nodes c reading `target` of (their adjoint) × ∂c/∂target at the student's values."""
    own_values = {s: _part_symbol(pid) for s, pid in forward_ids.items()}
    total = sp.S.Zero
    for c in graph.consumers[target]:
        adjoint = sp.S.One if c.symbol == graph.output else _part_symbol(adjoint_ids[c.symbol])
        total += adjoint * sp.diff(c.definition, target).xreplace(own_values).xreplace(at)
    return typed(total)


def _graph_table(rng: random.Random, difficulty: int) -> Draft | None:
    expr = random_composition(rng, difficulty + 1, fan_out=difficulty >= 2)
    graph = Graph.from_expr(expr)
    if len(graph.nodes) > 6:
        return None
    x0 = rng.choice(POINTS)
    at = {X: x0}
    backward = graph.backward([X])
    values = backward.values(at)
    if not all(_sensible(values[n.symbol], 1e-2, 1e4) for n in graph.nodes):
        return None
    if not all(_sensible(values[backward.adjoint_symbol(n.symbol)]) for n in graph.nodes[:-1]):
        return None
    key = verified_gradient(graph, [X], at)
    checked = 0
    for n in graph.nodes[:-1]:  # every adjoint, a third way: nudge the node, differentiate J
        if not equivalent(perturbed_adjoint(graph, at, n.symbol), values[backward.adjoint_symbol(n.symbol)]).equal:
            raise ExerciseError(f"the adjoint of {n.name} failed its check in {graph}")
        checked += 1
    rows = "\n".join(f"| ${latex_of(n.symbol)}$ | ${latex_of(n.definition)}$ |" for n in graph.nodes)
    statement = (f"The function $J = {latex_of(graph.expr)}$ is computed in these steps:\n\n"
                 f"| node | definition |\n|---|---|\n{rows}\n\n"
                 f"At $x = {sp.latex(x0)}$, fill in the forward pass (the value of every node) and the backward "
                 "pass (the derivative of $J$ with respect to every node and to $x$). " + VALUE_NOTE)
    parts, ids = [], iter(_letters(2 * len(graph.nodes) + 1))
    forward_ids = {n.symbol: next(ids) for n in graph.nodes}
    for n in graph.nodes:
        carried = _carried_forward(graph, n, forward_ids, at)
        parts.append(value_part(forward_ids[n.symbol], f"Forward: the value of ${latex_of(n.symbol)}$.", 1,
                                values[n.symbol], carried))
    adjoint_ids: dict[sp.Symbol, str] = {}
    for target in [*(n.symbol for n in reversed(graph.nodes[:-1])), X]:
        adjoint_ids[target] = next(ids)
        carried = _carried_backward(graph, target, forward_ids, adjoint_ids, at)
        parts.append(value_part(adjoint_ids[target], f"Backward: $\\frac{{\\partial J}}{{\\partial {latex_of(target)}}}$.",
                                1, values[backward.adjoint_symbol(target)], carried))
    hints = ["Forward: evaluate the nodes top to bottom, each from the values above it.",
             "Backward: start from dJ/dJ = 1 and go bottom to top; each node's adjoint is the sum over the nodes "
             "that read it of (their adjoint) × (local derivative)."]
    return "Forward and backward table", statement, parts, hints, f"{key.how}; every node's adjoint (checked {checked}) " \
        "also by nudging the node's value and differentiating J"


def _data_value(rng: random.Random) -> sp.Rational:
    return rng.choice((sp.Integer(-2), sp.Integer(-1), sp.Integer(1), sp.Integer(2), sp.Rational(1, 2)))


def _logistic_regression(rng: random.Random, difficulty: int) -> Draft | None:
    features = 2 if difficulty == 1 else 3
    graph = examples.logistic_regression(features)
    theta = graph.parameters
    xs = [graph.symbol(f"x_{i}") for i in range(1, features + 1)]
    y_star = graph.symbol("y_star")
    at = {t: rng.choice((sp.Rational(-1), sp.Rational(-1, 2), sp.Rational(1, 2), sp.Integer(1), sp.Integer(2)))
          for t in theta}
    at.update({x: _data_value(rng) for x in xs})
    at[y_star] = sp.Integer(rng.choice((0, 1)))
    j = rng.randrange(features)
    wrt = list(theta) + ([xs[j]] if difficulty == 3 else [])
    key = verified_gradient(graph, wrt, at)
    if not all(_sensible(key.at_point[v]) for v in wrt):
        return None
    b = key.backward
    a_sym, y_sym = graph.symbol("a"), graph.symbol("y")
    statement = ("Logistic regression, as on the slides (this $J$ is the log-likelihood, to be maximised):\n\n"
                 f"$$a = {latex_of(graph.node('a').definition)}, \\qquad y = {latex_of(graph.node('y').definition)}, "
                 f"\\qquad J = {latex_of(graph.node('J').definition)}$$\n\n"
                 f"Symbolic answers may use the data (${', '.join(latex_of(x) for x in xs)}$, ${latex_of(y_star)}$), "
                 f"the parameters, and the forward values ${latex_of(a_sym)}$ and ${latex_of(y_sym)}$; type "
                 "`theta_1`, `x_1`, `y_star`.\n\n"
                 f"The data point: ${_tex_point(at)}$.")
    ids = iter(_letters(len(wrt) + 3))
    parts = [derivative_part(next(ids), f"$\\frac{{\\partial J}}{{\\partial {latex_of(theta[j])}}}$ (symbolic).",
                             3, graph, theta[j], in_nodes(b, theta[j]), nodes_allowed=True)]
    if difficulty == 3:
        parts.append(derivative_part(next(ids), f"$\\frac{{\\partial J}}{{\\partial {latex_of(xs[j])}}}$ (symbolic).",
                                     2, graph, xs[j], in_nodes(b, xs[j]), nodes_allowed=True))
    for t in theta:
        parts.append(value_part(next(ids), f"$\\frac{{\\partial J}}{{\\partial {latex_of(t)}}}$ at the data point. "
                                + VALUE_NOTE, 1, key.at_point[t]))
    hints = ["Go right to left: dJ/dy, then dJ/da = dJ/dy · dy/da, then dJ/dθ_j = dJ/da · x_j.",
             "dy/da = y(1 − y) for the logistic function; most of the product then cancels."]
    return "Logistic regression", statement, parts, hints, key.how


def _two_layer_net(rng: random.Random, difficulty: int) -> Draft | None:
    inputs = 3 if difficulty == 3 else 2
    graph = examples.two_layer_net(inputs, 2)
    alpha = [[graph.symbol(f"alpha_{j}_{i}") for i in range(1, inputs + 1)] for j in (1, 2)]
    beta = [graph.symbol(f"beta_{j}") for j in (1, 2)]
    xs = [graph.symbol(f"x_{i}") for i in range(1, inputs + 1)]
    weights = (sp.Rational(-1), sp.Rational(-1, 2), sp.Rational(1, 2), sp.Integer(1))
    at = {w: rng.choice(weights) for w in (*(a for row in alpha for a in row), *beta)}
    at.update({x: _data_value(rng) for x in xs})
    at[graph.symbol("y_star")] = sp.Integer(rng.choice((0, 1)))
    j, i = rng.randrange(2), rng.randrange(inputs)
    asked = [beta[j], alpha[j][i]] + ([xs[i]] if difficulty >= 2 else [])
    key = verified_gradient(graph, asked, at)
    if not all(_sensible(key.at_point[v], 1e-3) for v in asked):
        return None
    b = key.backward
    forward = "\\\\\n".join(f"{latex_of(n.symbol)} &= {latex_of(n.definition)}" for n in graph.nodes)
    statement = ("The slides' two-layer network with sigmoid units and the log-likelihood $J$:\n\n"
                 f"$$\\begin{{aligned}}\n{forward}\n\\end{{aligned}}$$\n\n"
                 "Symbolic answers may use the data, the weights and the forward values "
                 f"(${', '.join(latex_of(n.symbol) for n in graph.nodes[:-1])}$); type `alpha_1_2`, `beta_1`, "
                 "`z_1`, `y_star`.\n\n"
                 f"The point: ${_tex_point(at)}$.")
    ids = iter(_letters(2 * len(asked)))
    parts = [derivative_part(next(ids), f"$\\frac{{\\partial J}}{{\\partial {latex_of(v)}}}$ (symbolic).",
                             2 if v == beta[j] else 3, graph, v, in_nodes(b, v), nodes_allowed=True) for v in asked]
    parts += [value_part(next(ids), f"$\\frac{{\\partial J}}{{\\partial {latex_of(v)}}}$ at the point. {VALUE_NOTE}",
                         1, key.at_point[v]) for v in asked]
    hints = ["dJ/db first; then dJ/dβ_j = dJ/db · z_j and dJ/dz_j = dJ/db · β_j.",
             "dJ/da_j = dJ/dz_j · z_j(1 − z_j), and dJ/dα_ji = dJ/da_j · x_i.",
             "x_i feeds every a_j: dJ/dx_i is a sum over j (one `+=` per hidden unit)."]
    return "Two-layer network", statement, parts, hints, key.how


def _neuron_mse(rng: random.Random, difficulty: int) -> Draft | None:
    inputs = difficulty + 1
    graph = examples.single_neuron_mse(inputs)
    params = graph.parameters
    at = {p: rng.choice((sp.Rational(-1, 2), sp.Rational(1, 2), sp.Integer(1), sp.Integer(-1))) for p in params}
    at.update({graph.symbol(f"x_{i}"): _data_value(rng) for i in range(1, inputs + 1)})
    at[graph.symbol("y")] = sp.Integer(rng.choice((0, 1)))
    rate = rng.choice((sp.Rational(1, 10), sp.Rational(1, 2), sp.Rational(1, 4)))
    key = verified_gradient(graph, params, at)
    if not all(_sensible(key.at_point[p], 1e-3) for p in params):
        return None
    b = key.backward
    w1 = params[0]
    statement = ("A single sigmoid neuron with squared error:\n\n"
                 f"$$z = {latex_of(graph.node('z').definition)}, \\qquad a = \\sigma(z), \\qquad "
                 f"L = {latex_of(graph.node('L').definition)}$$\n\n"
                 f"Symbolic answers may use the data, the weights and the forward values $z$ and $a$ (type `w_1`, "
                 f"`x_1`, `sigmoid(z)`).\n\nThe point: ${_tex_point(at)}$; the learning rate is "
                 f"$\\alpha = {sp.latex(rate)}$.")
    ids = iter(_letters(2 * len(params) + 1))
    parts = [derivative_part(next(ids), f"$\\frac{{\\partial L}}{{\\partial {latex_of(w1)}}}$ (symbolic).", 2,
                             graph, w1, in_nodes(b, w1), nodes_allowed=True)]
    gradient_ids = {p: next(ids) for p in params}
    parts += [value_part(gradient_ids[p], f"$\\frac{{\\partial L}}{{\\partial {latex_of(p)}}}$ at the point. {VALUE_NOTE}",
                         1, key.at_point[p]) for p in params]
    parts += [value_part(next(ids), f"${latex_of(p)}$ after one gradient-descent step "
                         f"${latex_of(p)} \\leftarrow {latex_of(p)} - \\alpha \\frac{{\\partial L}}{{\\partial {latex_of(p)}}}$.",
                         1, at[p] - rate * key.at_point[p],  # right given the student's own gradient, too
                         carried=typed(at[p] - rate * _part_symbol(gradient_ids[p]))) for p in params]
    hints = ["dL/da = 2(a − y); da/dz = σ(z)(1 − σ(z)) = a(1 − a).",
             "dL/dw_i = dL/dz · x_i and dL/db = dL/dz.",
             "Gradient descent moves against the gradient: new = old − α · gradient."]
    return "Sigmoid neuron, squared error", statement, parts, hints, key.how


def _two_variable_function(rng: random.Random, difficulty: int) -> sp.Expr:
    c = [rng.randint(1, 4) for _ in range(4)]
    poly = c[0] * X**2 + c[1] * X * Y + c[2] * Y**2
    if difficulty == 1:
        return poly + rng.choice((0, c[3] * X, c[3] * Y))
    if difficulty == 2:
        return c[0] * X**2 * Y + rng.choice((sp.sin, sp.cos, sp.exp))(X * Y / c[3])
    return sp.exp(X * Y / c[3]) + rng.choice((sp.log(1 + X**2 + Y**2), X**2 / (1 + Y**2), sp.sqrt(1 + X**2 * Y**2)))


def _gradient_magnitude(rng: random.Random, difficulty: int) -> Draft | None:
    f = _sym("f")
    expr = _two_variable_function(rng, difficulty)
    graph = Graph.from_expr(expr, output="f")
    at = {X: rng.choice((sp.Integer(1), sp.Integer(2), sp.Integer(-1), sp.Rational(1, 2))),
          Y: rng.choice((sp.Integer(1), sp.Integer(2), sp.Integer(-1), sp.Integer(3)))}
    if graph.inputs != (X, Y):
        return None
    backward = graph.backward([X, Y])
    if not all(_sensible(backward.direct(v).xreplace(at), 1e-2, 1e4) for v in (X, Y)):
        return None
    key = verified_gradient(graph, [X, Y], at)
    gx, gy = key.at_point[X], key.at_point[Y]
    magnitude = sp.sqrt(gx**2 + gy**2)
    direct_magnitude = _number(sp.sqrt(backward.direct(X).xreplace(at)**2 + backward.direct(Y).xreplace(at)**2))
    if not _close(_number(magnitude), direct_magnitude, 1e-20):
        raise ExerciseError(f"the gradient's magnitude failed its check for {expr}")
    statement = (f"Let ${latex_of(f)}(x, y) = {latex_of(graph.expr)}$.\n\n"
                 f"Find the gradient $\\nabla {latex_of(f)}$, its value at $(x, y) = ({sp.latex(at[X])}, {sp.latex(at[Y])})$, "
                 "and its magnitude there.")
    parts = [derivative_part("a", "$\\frac{\\partial f}{\\partial x}$ (symbolic).", 2, graph, X, key.gradient[X]),
             derivative_part("b", "$\\frac{\\partial f}{\\partial y}$ (symbolic).", 2, graph, Y, key.gradient[Y]),
             value_part("c", f"$\\frac{{\\partial f}}{{\\partial x}}$ at the point. {VALUE_NOTE}", 1, gx),
             value_part("d", "$\\frac{\\partial f}{\\partial y}$ at the point.", 1, gy),
             value_part("e", "The magnitude $\\lVert \\nabla f \\rVert$ at the point.", 2, magnitude)]
    hints = ["Differentiate with respect to one variable while holding the other fixed.",
             "The magnitude is $\\sqrt{(\\partial f/\\partial x)^2 + (\\partial f/\\partial y)^2}$."]
    return "Gradient and its magnitude", statement, parts, hints, key.how + "; magnitude from both"


MISTAKES: tuple[tuple[str, str], ...] = (
    ("sign", "the sign of the local derivative is flipped"),
    ("underived", "the local derivative is the node's own function, left underived"),
    ("factor", "the local derivative lost its constant factor"),
)


def _mistake(kind: str, node_definition: sp.Expr, local: sp.Expr) -> sp.Expr | None:
    if kind == "sign":
        return -local
    if kind == "underived":
        return node_definition if isinstance(node_definition, sp.Function) else None
    coefficient, rest = local.as_coeff_Mul()
    return rest if coefficient not in (1, -1) else None


def _differs(a: sp.Expr, b: sp.Expr) -> bool:
    """Different at some random point (evaluation only: simplify is slow on expressions that differ)."""
    symbols = sorted(sp.sympify(a, strict=True).free_symbols | sp.sympify(b, strict=True).free_symbols, key=sp.default_sort_key)
    return any(not c.equal for c in compare_points(a, b, symbols, 3))


def replay(graph: Graph, steps, locals_: Sequence[sp.Expr], v: sp.Symbol) -> sp.Expr:
    """dJ/dv from a list of backward lines with the given local derivatives, written in the inputs."""
    adjoint: dict[sp.Symbol, sp.Expr] = {graph.output: sp.S.One}
    for step, local in zip(steps, locals_):
        adjoint[step.target] = adjoint.get(step.target, sp.S.Zero) + adjoint[step.source] * local
    return graph.in_inputs(adjoint.get(v, sp.S.Zero))


def _find_the_error(rng: random.Random, difficulty: int) -> Draft | None:
    expr = random_composition(rng, difficulty + 1, fan_out=difficulty >= 2)
    graph = Graph.from_expr(expr)
    x0 = rng.choice(POINTS)
    if len(graph.nodes) > 7 or not _moderate(graph, {X: x0}) or not _sensible(graph.backward().direct(X).subs(X, x0)):
        return None
    key = verified_gradient(graph, [X], {X: x0})
    steps = key.backward.steps
    true_locals = [s.local for s in steps]
    if not equivalent(replay(graph, steps, true_locals, X), key.gradient[X]).equal:
        raise ExerciseError(f"replaying the backward lines does not give the gradient of {expr}")
    line = rng.randrange(len(steps))
    kind, description = rng.choice(MISTAKES)
    step = steps[line]
    wrong = _mistake(kind, graph.node(step.source).definition, step.local)
    if wrong is None or not _differs(graph.in_inputs(wrong), graph.in_inputs(step.local)):
        return None
    planted = [*true_locals[:line], wrong, *true_locals[line + 1:]]
    if not _differs(replay(graph, steps, planted, X), key.gradient[X]):
        return None  # a mistake that does not change the result is no mistake
    J = graph.output

    def d(a: sp.Symbol, b: sp.Symbol) -> str:
        return f"\\frac{{\\partial {latex_of(a)}}}{{\\partial {latex_of(b)}}}"

    lines = []
    for k, (s, local) in enumerate(zip(steps, planted), start=1):
        if s.source == J:  # the first line: the output's own local derivative
            lines.append(f"{k}. ${d(J, s.target)} \\mathrel{{+}}= {latex_of(local)}$")
            continue
        lines.append(f"{k}. ${d(J, s.target)} \\mathrel{{+}}= {d(J, s.source)}\\,{d(s.source, s.target)}, \\quad "
                     f"{d(s.source, s.target)} = {latex_of(local)}$")
    forward = ", ".join(f"${latex_of(n.symbol)} = {latex_of(n.definition)}$" for n in graph.nodes)
    statement = (f"A student computed $\\frac{{dJ}}{{dx}}$ for $J = {latex_of(graph.expr)}$ with the forward pass "
                 f"{forward} and this backward pass:\n\n" + "\n".join(lines) +
                 "\n\nExactly one line has a wrong local derivative.")
    source = graph.node(step.source)
    correct = sp.diff(source.definition, step.target)  # in what the node reads (σ′ as σ(1 − σ), not via the node)
    parts = [Part("a", "The number of the wrong line.", 2, "line", str(line + 1), str(line + 1)),
             Part("b", f"The correct local derivative on that line, in terms of "
                       f"{', '.join('$' + latex_of(p) + '$' for p in source.parents)} "
                       f"(you may also use ${latex_of(source.symbol)}$ itself).", 3, "derivative",
                  typed(correct), latex_of(correct), (*(p.name for p in source.parents), source.name),
                  function=typed(source.definition), wrt=step.target.name,
                  substitutions=((source.name, typed(source.definition)),))]
    hints = ["Check each local derivative on its own: differentiate the node's definition with respect to what it reads.",
             "A wrong line changes the final result; the lines above it are unaffected."]
    return "Find the error", statement, parts, hints, \
        f"{key.how}; planted on line {line + 1}: {description} ({latex_of(wrong)} instead of {latex_of(step.local)})"


@dataclass(frozen=True)
class Template:
    """A named exercise generator: `draft(rng, difficulty)` returns a draft, or None for a degenerate draw."""

    name: str
    description: str
    draft: Callable[[random.Random, int], Draft | None]


TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template("chain_rule", "dJ/dx of a composition of 2-4 elementary functions, and its value at a point", _chain_rule),
    Template("graph_table", "fill in the forward values and every backward adjoint of a decomposition", _graph_table),
    Template("logistic_regression", "dJ/dθ_j for logistic regression, symbolic and at a data point", _logistic_regression),
    Template("two_layer_net", "dJ/dβ_j, dJ/dα_ji, dJ/dx_i in the slides' two-layer network", _two_layer_net),
    Template("neuron_mse", "a sigmoid neuron with squared error: every gradient and one descent step", _neuron_mse),
    Template("gradient_magnitude", "the gradient of f(x, y) at a point and its magnitude", _gradient_magnitude),
    Template("find_the_error", "a backward pass with one planted mistake: find the line, fix it", _find_the_error),
    Template("matrix_backprop", "a small network in matrix form: dJ/ds, dJ/dW2, dJ/dW1 at a point", matrix_backprop),
)}


def generate(template: str, seed: int = 0, difficulty: int = 1, number: int = 1, student: str = "",
             salt: int = 0) -> Exercise:
    """One verified exercise: the same template, seed, difficulty, position and student give the same one.

    `salt` draws another variant for the same student (used to keep students' variants distinct).

    >>> generate("gradient_magnitude", seed=3).parts[-1].kind
    'value'
    """
    if template not in TEMPLATES:
        raise ExerciseError(f"unknown template {template!r} (known: {', '.join(TEMPLATES)})")
    if difficulty not in (1, 2, 3):
        raise ExerciseError(f"difficulty must be 1, 2 or 3, got {difficulty!r}")
    own_seed = variant_seed(f"{template}|{difficulty}", seed, number, student + (f"#{salt}" if salt else ""))
    rng = random.Random(own_seed)
    with unhurried():  # the same exercise and key on a busy machine as on a quiet one
        for _ in range(ATTEMPTS):
            draft = TEMPLATES[template].draft(rng, difficulty)
            if draft is not None:
                break
        else:  # pragma: no cover - the pools are chosen so that this does not happen
            raise ExerciseError(f"{template}: no usable variant found in {ATTEMPTS} draws for seed {seed}")
    title, statement, parts, hints, how = draft
    who = f"-{safe_id(student)}" if student else ""
    return Exercise(f"{number:02d}-{template}{who}", template, difficulty, own_seed, number, title, statement,
                    tuple(parts), tuple(hints), how, student)


MAX_COUNT = 50  # exercises per template in one set
REDRAWS = 40  # further variants tried for a student whose variant another student already has


def _generate_job(job: tuple) -> Exercise:
    return generate(*job)


def _map(jobs: Sequence[tuple], workers: int | None) -> list[Exercise]:
    """`generate` for every job, in a process pool when there are enough jobs to pay for one."""
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers <= 1 or len(jobs) < 4 or "fork" not in mp.get_all_start_methods():
        return [_generate_job(j) for j in jobs]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
        return list(pool.map(_generate_job, jobs, chunksize=max(1, len(jobs) // (4 * workers))))


def generate_set(template: str, count: int = 1, seed: int = 0, difficulty: int = 1,
                 students: Sequence[str] = (), workers: int | None = None) -> list[Exercise]:
    """`count` exercises of a template (`all`: one of each, `count` times; or names separated by commas),
    per student if given.

    Students get distinct variants whenever the template has enough of them: a student whose variant
    (its statement) another student already has draws again. Exercises are generated on every core.

    >>> [e.id for e in generate_set("chain_rule", 2, seed=0)]
    ['01-chain_rule', '02-chain_rule']
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ExerciseError(f"--count must be a whole number from 1 to {MAX_COUNT}, got {count!r}")
    chosen = list(TEMPLATES) if template == "all" else [t.strip() for t in template.split(",")]
    unknown = [t for t in chosen if t not in TEMPLATES]
    if unknown:
        raise ExerciseError(f"unknown template {unknown[0]!r} (known: {', '.join(TEMPLATES)}, or all)")
    if difficulty not in (1, 2, 3):
        raise ExerciseError(f"difficulty must be 1, 2 or 3, got {difficulty!r}")
    names = chosen * count
    who = list(students) or [""]
    jobs = [(name, seed, difficulty, number, student) for student in who for number, name in enumerate(names, 1)]
    exercises = _map(jobs, workers)
    if len(who) > 1:
        seen: dict[int, set[str]] = {}
        for k, (job, exercise) in enumerate(zip(jobs, exercises)):
            taken = seen.setdefault(exercise.number, set())
            salt = 0
            while exercise.statement in taken and salt < REDRAWS:
                salt += 1
                exercise = generate(*job, salt)
            exercises[k] = exercise
            taken.add(exercise.statement)
    return exercises
