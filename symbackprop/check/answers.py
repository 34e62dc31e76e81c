"""Typed answers: a derivative a student types, read safely, compared exactly, and diagnosed when wrong.

A typed answer is read by the safe parser (or, for LaTeX, by `symbackprop.read.latex`), compared exactly
with `sympy.diff` of the function, and, when wrong, tested against the classic mistakes built from the
function's computation graph (a local derivative dropped or with its sign flipped, a missing `+=` at a
fan-out, the outer function left underived, the wrong variable, a constant factor).

>>> v = check_derivative("cos(sin(x^2) + 3x^2)", "x", "-sin(sin(x^2) + 3x^2) * (cos(x^2) + 3)")
>>> v.status, v.diagnosis.mistake
('incorrect', 'dropped_local')
>>> print(v.diagnosis.message)
you left out dt/dx = 2*x, the derivative of t = x**2
"""
from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Mapping, Sequence

import sympy as sp

from ..core.backward import Backward
from ..core.graph import Graph
from ..core.verify import PointCheck, compare_points, equivalent
from ..errors import GraphError, ParseError, SymbackpropError
from ..read.latex import looks_like_latex, read_latex_expr
from ..read.parse import CONSTANTS, FUNCTIONS, read_expr
from ..read.policy import GREEK, Reading, is_word, strip_label
from .worker import TIME_LIMIT, JobFailed, bounded

POINTS = 8  # random exact points per comparison
MISTAKES = ("dropped_local", "flipped_sign", "missing_path", "outer_underived", "wrong_variable",
            "constant_factor")


# --- records ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Counterexample:
    """A point where the answer and the true derivative differ, with both values (exact and ≈)."""

    point: dict[str, str]
    answer: str
    expected: str
    answer_approx: float | None
    expected_approx: float | None

    def __str__(self) -> str:
        at = ", ".join(f"{k} = {v}" for k, v in self.point.items())
        return (f"at {at} your answer is {_approx_text(self.answer, self.answer_approx)} but the derivative is "
                f"{_approx_text(self.expected, self.expected_approx)}")


@dataclass(frozen=True)
class Diagnosis:
    """A classic mistake the answer matches: `mistake` is one of MISTAKES; `edge` is (parent, child)."""

    mistake: str
    message: str
    node: str | None = None
    edge: tuple[str, str] | None = None


@dataclass(frozen=True)
class Verdict:
    """`status` is correct | incorrect | invalid; `how` says how equality was decided."""

    status: str
    message: str
    counterexample: Counterexample | None = None
    diagnosis: Diagnosis | None = None
    how: str = ""
    expected: str | None = None
    answer: str | None = None
    read_as: str | None = None  # how the answer was read, where the reading was a choice ("2·x·y")

    @property
    def exit_code(self) -> int:
        return {"correct": 0, "incorrect": 1}.get(self.status, 2)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for JSON): every field, nested records as dicts."""
        return {"status": self.status, "message": self.message,
                "counterexample": None if self.counterexample is None else vars(self.counterexample).copy(),
                "diagnosis": None if self.diagnosis is None else {
                    **vars(self.diagnosis), "edge": None if self.diagnosis.edge is None else list(self.diagnosis.edge)},
                "how": self.how, "expected": self.expected, "answer": self.answer, "read_as": self.read_as}


def invalid(message: str) -> Verdict:
    """An answer (or function) that could not be checked; the message says why."""
    return Verdict("invalid", message)


def _approx_text(exact: str, approx: float | None) -> str:
    if approx is None or exact == _float_text(approx) or exact.startswith("≈"):
        return exact
    return f"{exact} ≈ {_float_text(approx)}"


def _float_text(value: float) -> str:
    return f"{value:.10g}"


# --- reading answers --------------------------------------------------------------------------------

def read_answer(text: str, symbols: Mapping[str, sp.Symbol] | None = None) -> sp.Expr:
    """A typed answer: plain (`3x^2`, `2 sin x cos x`, `e^x`, `ln x`) or LaTeX (`\\frac{1}{x}`).

    >>> read_answer("3x^2"), read_answer(r"\\frac{e^{-a}}{(1+e^{-a})^2}")
    (3*x**2, exp(-a)/(1 + exp(-a))**2)
    """
    return reading(text, symbols).expr


def reading(text: str, symbols: Mapping[str, sp.Symbol] | None = None) -> Reading:
    """A typed answer read by the policy of `symbackprop.read.policy`, with how it was read.

    >>> read = reading("2xy", {"x": sp.Symbol("x"), "y": sp.Symbol("y")})
    >>> read.expr, read.read_as
    (2*x*y, '2·x·y')
    """
    label = None
    if isinstance(text, str):
        text, label = strip_label(text)
    read = read_latex_expr(text, symbols) if isinstance(text, str) and looks_like_latex(text) else \
        read_expr(text, symbols)
    if label is None:
        return read
    plain = read.read_as or _short(read.expr).replace("**", "^").replace("*", "·")
    return Reading(read.expr, f"{label} = {plain}", read.names)


def _unknown_name_hint(name: str, known: set[str]) -> str:
    """STACK-style advice for a name the function does not have."""
    letters = known | set(CONSTANTS)
    other_case = [k for k in known if k != name and k.lower() == name.lower()]
    if other_case:
        return f"did you mean {other_case[0]}? (names are case-sensitive)"
    for fn in sorted(FUNCTIONS, key=len, reverse=True):
        if name.startswith(fn) and len(name) > len(fn):
            return f"did you mean {fn}({name[len(fn):]})? (a function needs its argument in parentheses " \
                   f"or after a space)"
    if len(name) > 1 and all(ch in letters for ch in name):
        return f"you may be missing a '*' between '{name[0]}' and '{name[1]}' (write {'*'.join(name)})"
    return f"the function only has {', '.join(sorted(known)) or 'no variables'}"


def _where(text: str, name: str) -> str:
    m = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text)
    return f"column {m.start() + 1}: " if m else ""


# --- counterexamples ---------------------------------------------------------------------------------

def _counterexample(check: PointCheck) -> Counterexample:
    def approx(value: sp.Expr) -> float | None:
        try:
            return float(sp.N(value, 17))
        except (TypeError, ValueError, OverflowError):
            return None

    answer = _short(check.left) + (f" ({check.note})" if check.note else "")
    return Counterexample({str(k): _short(v) for k, v in check.point.items()}, answer,
                          _short(check.right), None if check.note else approx(check.left), approx(check.right))


def _short(value: sp.Expr, limit: int = 200) -> str:
    """At most `limit` characters of `value`; a number too long for Python to print is shown rounded."""
    try:
        text = str(value)
    except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
        try:
            text = f"≈ {sp.N(value, 15)!s}"
        except (ValueError, TypeError):
            text = "(a number too long to print)"
    if len(text) > limit and isinstance(value, sp.Basic) and value.is_Number:
        text = f"≈ {sp.N(value, 15)!s}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _read_as(read_as: str | None) -> str:
    """`, read as 2·x·y,` for a message, where the reading was a choice."""
    return f", read as {read_as}," if read_as else ""


# --- typed answers ----------------------------------------------------------------------------------

def check_derivative(function: str | sp.Expr | Graph, wrt: str | sp.Symbol, answer: str | sp.Expr,
                     points: int = POINTS, seed: int = 0, *, time_limit: float | None = TIME_LIMIT) -> Verdict:
    """Is `answer` the derivative of `function` with respect to `wrt`? Names the mistake when it is not.

    The check runs under the same time limit and memory cap as `symbackprop check` (in a shared worker
    process; `time_limit=None` runs it here, unbounded), and never raises: whatever goes wrong is an
    `invalid` verdict that says what.

    >>> check_derivative("x^3", "x", "3x^2").status
    'correct'
    >>> v = check_derivative("sin(x^2)", "x", "cos(x^2)")
    >>> v.status, v.diagnosis.edge
    ('incorrect', ('x', 'u'))
    >>> check_derivative("x^3", "x", "3x^^2").status
    'invalid'
    >>> print(check_derivative("x^2", "x", ["2x"]).message)
    the check failed on this input (SympifyError: ...)
    >>> check_derivative("x^2", "x", "exp(exp(exp(exp(exp(exp(x))))))").status
    'incorrect'
    """
    if time_limit is None:
        return _check_derivative(function, wrt, answer, points, seed)
    try:
        return bounded(_check_derivative, function, wrt, answer, points, seed, time_limit=time_limit)
    except JobFailed as failure:
        return invalid(str(failure))
    except (pickle.PicklingError, TypeError, AttributeError) as error:  # arguments that cannot travel
        return invalid(f"the check could not be run: {type(error).__name__}: {error}")


def _check_derivative(function, wrt, answer, points: int, seed: int) -> Verdict:
    """`check_derivative` in this process; unexpected failures become `invalid` verdicts."""
    try:
        return _check(function, wrt, answer, points, seed)
    except MemoryError:
        return invalid("the check needed more memory than it may use")
    except RecursionError:
        return invalid("the input is too deeply nested")
    except SymbackpropError as error:
        return invalid(str(error))
    except Exception as error:  # never a traceback for what a student typed
        return invalid(f"the check failed on this input ({type(error).__name__}: {_short(str(error), 120)})")


def _check(function, wrt, answer, points: int, seed: int) -> Verdict:
    name = wrt.name if isinstance(wrt, sp.Symbol) else str(wrt).strip()
    if not re.fullmatch(r"[^\W\d]\w*", name):
        return invalid(f"'{name}' is not a variable name")
    declared = {name: wrt if isinstance(wrt, sp.Symbol) else sp.Symbol(name, real=True)}
    function_as = None  # how the function was read, where that was a choice (e^2x is e²·x)
    try:
        graph = function if isinstance(function, Graph) else None
        if graph is None and isinstance(function, str):
            read_function = read_expr(function, declared, words="letters")
            expr, function_as = read_function.expr, read_function.read_as
        else:
            expr = graph.expr if graph is not None else sp.sympify(function, strict=True)
    except ParseError as error:
        return invalid(f"the function cannot be read: {error}")
    known = {s.name: s for s in expr.free_symbols if isinstance(s, sp.Symbol)}
    x = known.get(name, declared[name])
    symbols = {**known, name: x}
    read_as, used = None, frozenset()
    try:
        if isinstance(answer, str):
            read = reading(answer, symbols)
            given, read_as, used = read.expr, read.read_as, read.names
        else:
            given = sp.sympify(answer, strict=True)
    except ParseError as error:
        return invalid(f"your answer cannot be read: {error}")
    unknown = sorted({*(s for s in given.free_symbols if s.name not in symbols),  # and those that cancelled: 0*zoo
                      *(sp.Symbol(n, real=True) for n in used if n not in symbols)}, key=sp.default_sort_key)
    foreign = ""  # a letter the function lacks (e^x + c, 3X^2) makes the answer wrong; a word is unreadable
    if unknown:
        text = answer if isinstance(answer, str) else ""
        words = [u.name for u in unknown if is_word(u.name) and u.name not in GREEK]
        word = min(words, key=lambda w: (text.find(w) % (len(text) + 1), w)) if words else None
        first = word or unknown[0].name
        about = f"your answer{_read_as(read_as)} uses '{first}', which is not in the function: " \
                f"{_unknown_name_hint(first, set(symbols))}"
        if word is not None:
            return Verdict("invalid", f"{_where(text, word)}{about}", read_as=read_as)
        foreign = about + ". "
    expected = sp.diff(expr, x)
    function_note = f" (The function was read as {function_as}.)" if function_as else ""
    variables = sorted(set(symbols.values()) | set(unknown), key=sp.default_sort_key)
    decision = equivalent(given, expected, variables, points, seed)
    shown = dict(expected=_short(expected), answer=_short(given), how=decision.how, read_as=read_as)
    if decision.equal:
        return Verdict("correct", f"Correct: your answer{_read_as(read_as)} equals d/d{name} of {_short(expr, 80)} "
                                  f"({decision.how}).", **shown)
    if not decision.checks:
        return Verdict("incorrect", f"Not shown equal: your answer{_read_as(read_as)} and the derivative are not "
                                    "real and finite at any point tried, and simplification did not prove them equal."
                                    + function_note, **shown)
    if decision.counterexample is None:  # the difference is a nonzero constant, too small to show at points
        return Verdict("incorrect", f"Not quite: {foreign}your answer minus the derivative {decision.method}."
                                    + function_note, **shown)
    bad = _counterexample(decision.counterexample)
    diagnosis = None if foreign else diagnose(expr, x, given, decision.checks, graph=graph, seed=seed)
    message = (f"Not quite: {foreign}" if foreign else f"Not quite{f' (read as {read_as})' if read_as else ''}: ") + (
        diagnosis.message + ". " if diagnosis else "") + f"For example, {bad}." + function_note
    return Verdict("incorrect", message, bad, diagnosis, **shown)


# --- the classic mistakes ---------------------------------------------------------------------------

def propagate(backward: Backward, change: Mapping[int, sp.Expr | None] | None = None) -> dict[sp.Symbol, sp.Expr]:
    """Adjoints written in the inputs, running the steps right to left; `change` replaces the local
    derivative of step k (None leaves the step out). With no change these are the true adjoints.

    >>> b = Graph.from_steps("t = x^2\\nJ = sin(t)").backward()
    >>> propagate(b)[b.graph.symbol("x")], propagate(b, {1: sp.S.One})[b.graph.symbol("x")]
    (2*x*cos(x**2), cos(x**2))
    """
    change = change or {}
    graph = backward.graph
    adjoint: dict[sp.Symbol, sp.Expr] = {backward.output: sp.S.One}
    for k, step in enumerate(backward.steps):
        local = change.get(k, step.local)
        if local is None:
            continue
        adjoint[step.target] = adjoint.get(step.target, sp.S.Zero) + adjoint.get(step.source, sp.S.Zero) * local
    return {v: graph.in_inputs(a) for v, a in adjoint.items()}


def mistakes(graph: Graph, wrt: sp.Symbol) -> Iterator[tuple[Diagnosis, sp.Expr]]:
    """The classic wrong derivatives of the graph's output with respect to `wrt`, each with its diagnosis.

    >>> [d.mistake for d, _ in mistakes(Graph.from_expr("sin(x^2)"), sp.Symbol("x", real=True))]
    ['dropped_local', 'flipped_sign', 'outer_underived', 'dropped_local', 'flipped_sign']
    """
    backward = graph.backward(wrt=[wrt])
    wrong = lambda change: propagate(backward, change).get(wrt, sp.S.Zero)  # noqa: E731
    for k, step in enumerate(backward.steps):
        node = graph.node(step.source)
        edge = (step.target.name, step.source.name)
        what = f"d{step.source}/d{step.target} = {step.local}"
        if step.local != 1:
            yield (Diagnosis("dropped_local", f"you left out {what}, the derivative of {node}",
                             node.name, edge), wrong({k: sp.S.One}))
        if step.local != 0:
            yield (Diagnosis("flipped_sign", f"the sign of {what} is flipped (the derivative of {node})",
                             node.name, edge), wrong({k: -step.local}))
        if step.accumulates:
            readers = ", ".join(c.name for c in graph.consumers[step.target])
            yield (Diagnosis("missing_path", f"{step.target} feeds several nodes ({readers}): "
                             f"dJ/d{step.target} needs a += from each, and the path through {step.source} "
                             f"({what}) is missing", node.name, edge), wrong({k: None}))
        d = node.definition
        if isinstance(d, sp.Function) and d.args == (step.target,) and step.local != d:
            yield (Diagnosis("outer_underived", f"{d.func.__name__} was not differentiated: in {node} the "
                             f"local derivative is {what}, not {d}", node.name, edge), wrong({k: d}))


def diagnose(expr: sp.Expr, wrt: sp.Symbol, answer: sp.Expr, checks: Sequence[PointCheck],
             graph: Graph | None = None, seed: int = 0) -> Diagnosis | None:
    """The classic mistake `answer` matches, if any (tested at the answer's points, then confirmed).

    >>> x = sp.Symbol("x", real=True)
    >>> diagnose(x**3, x, 6*x**2, equivalent(6*x**2, 3*x**2, [x], POINTS).checks).mistake
    'constant_factor'
    """
    symbols = sorted(expr.free_symbols | {wrt}, key=sp.default_sort_key)
    candidates: list[tuple[Diagnosis, Callable[[], sp.Expr]]] = []
    if graph is None:
        try:
            graph = Graph.from_expr(expr)
        except (GraphError, ParseError):
            graph = None
    if graph is not None and wrt in graph.inputs:
        candidates.extend((d, (lambda e=e: e)) for d, e in mistakes(graph, wrt))
    for other in symbols:
        if other != wrt:
            candidates.append((Diagnosis("wrong_variable", f"that is the derivative with respect to {other}, "
                                         f"not {wrt}"), lambda o=other: sp.diff(expr, o)))
    for diagnosis, build in candidates:
        candidate = build()
        quick = compare_points(answer, candidate, symbols, 2, seed)
        if quick and all(c.equal for c in quick) and equivalent(answer, candidate, symbols, POINTS, seed).equal:
            return diagnosis
    return _constant_factor(checks)


def _constant_factor(checks: Sequence[PointCheck]) -> Diagnosis | None:
    """Answer = r · derivative at every point, for one number r ≠ 0, 1."""
    ratios = []
    for c in checks:
        if c.note:  # not a real number, or not finite: no ratio
            return None
        try:
            a, b = sp.N(c.left, 30), sp.N(c.right, 30)
        except (TypeError, ValueError):
            return None
        if b == 0 or not (a.is_Number and b.is_Number):
            if a == 0 and b == 0:
                continue
            return None
        ratios.append(a / b)
    if len(ratios) < 2 or any(abs(r - ratios[0]) > 1e-20 * max(1, abs(ratios[0])) for r in ratios):
        return None
    if not 1e-12 < abs(ratios[0]) < 1e12:  # no constant a student would miss (and no 10^500000-digit fraction)
        return None
    simple = sp.Rational(Fraction(str(ratios[0])).limit_denominator(10**6))
    close = abs(simple - ratios[0]) <= 1e-20 * max(1, abs(ratios[0]))
    r = simple if close else sp.nsimplify(ratios[0], [sp.pi, sp.E], tolerance=1e-20)
    if r in (0, 1):
        return None
    if r == -1:
        return Diagnosis("constant_factor", "your answer has the wrong sign everywhere (it is −1 times the derivative)")
    return Diagnosis("constant_factor", f"your answer is {r} times the derivative: a constant factor is "
                                        f"missing or extra")


