"""Two independent checks of a gradient: symbolic (the difference simplifies to 0) and at points.

The chain-rule gradient (from the backward pass) is compared with `sympy.diff` of the whole expression.
Both are evaluated at random exact points spread over scales and signs (drawn from a seed that depends
on the expressions, so they cannot be known in advance), exactly where that is cheap and with 60 significant
digits otherwise; where the reference side is real and finite the other side must be too. Then symbolic
simplification is tried with bounded effort; without a proof, the differences at the points are computed
again to 1000 digits, so a tiny nonzero difference such as exp(-1000) is found.

>>> from symbackprop import Graph
>>> report = Graph.from_expr("cos(sin(x^2) + 3x^2)").backward().verify()
>>> report.agree, report.results[0].how.split(" (x from")[0]
(True, 'proved equal (difference expands to 0); equal at 5 random points')
"""
from __future__ import annotations

import hashlib
import random
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, lru_cache
from itertools import chain, cycle, islice
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence

import mpmath
import sympy as sp

from ..functions import relu, sigmoid, softplus, to_elementary
from .substitution import written_size

if TYPE_CHECKING:
    from .backward import Backward

DIGITS = 60  # working precision for values that are not rational
TOLERANCE = sp.Float("1e-40", DIGITS)  # relative: far above rounding at 60 digits, far below any real error
SIDE_DIGITS = 400  # working precision one side may need where its terms cancel (1 - tanh(800)^2)
DEEP_DIGITS = 1000  # precision of the differences when no proof was found: tiny nonzero differences show
MAX_SIMPLIFY_OPS = 400  # bounded effort: simplify() only on differences smaller than this
PROOF_SECONDS = 1.0  # and at most this long (then the differences are computed to DEEP_DIGITS instead)


@dataclass(frozen=True)
class PointCheck:
    """Both sides at one point: `exact` when the comparison needed no rounding; `note` says why a point
    counts as a difference when the values are not simply two different numbers ("not a real number",
    "not finite", "differs by ≈ 1e-434")."""

    point: dict[sp.Symbol, sp.Rational]
    left: sp.Expr
    right: sp.Expr
    equal: bool
    exact: bool
    note: str = ""


@dataclass(frozen=True)
class Equivalence:
    """Whether two expressions are equal, and how that was established."""

    equal: bool
    proved: bool  # the difference was simplified to 0
    method: str  # how the symbolic step went ("expands to 0", ...) or why it was not conclusive
    checks: tuple[PointCheck, ...]
    deep: bool = False  # the differences at the points were also computed to DEEP_DIGITS
    digits: int = DIGITS  # the values that are not exact agree to this many significant digits

    @property
    def how(self) -> str:
        parts = [f"proved equal (difference {self.method})"] if self.proved else []
        if self.checks:
            exact = all(c.exact for c in self.checks)
            agree = sum(c.equal for c in self.checks)
            kind = "exactly" if exact else f"to {self.digits} digits" + (
                f", differences to {DEEP_DIGITS} digits" if self.deep else "")
            if agree == len(self.checks):
                parts.append(f"equal at {len(self.checks)} random points{_ranges(self.checks)} ({kind})")
            else:
                parts.append(f"different at {len(self.checks) - agree} of {len(self.checks)} random points")
        elif not self.proved:
            parts.append("no point found where both sides are defined")
        if not self.equal and not self.proved and self.method.startswith(("is the nonzero constant", "is never")):
            parts.append(f"the difference {self.method}")
        return "; ".join(parts)

    @property
    def counterexample(self) -> PointCheck | None:
        return next((c for c in self.checks if not c.equal), None)


RANGES_PER_VARIABLE = 3  # up to this many variables each gets its range; more share one


def _ranges(checks: Sequence[PointCheck]) -> str:
    """Where the points lay: per variable for a few, one range for many (a line a reader takes in at once).

    >>> x, y = sp.symbols("x y")
    >>> at = [{x: sp.Rational(-1625, 2), y: 2}, {x: 3, y: 1}]
    >>> _ranges([PointCheck(p, 0, 0, True, True) for p in at])
    ' (x from -812 to 3, y from 1 to 2)'
    >>> many = sp.symbols("a:5")
    >>> _ranges([PointCheck({s: k - 2 for k, s in enumerate(many)}, 0, 0, True, True)])
    ' (5 variables, values from -2 to 2)'
    """
    symbols = list(checks[0].point)
    if len(symbols) > RANGES_PER_VARIABLE:
        values = [float(v) for c in checks for v in c.point.values()]
        return f" ({len(symbols)} variables, values from {min(values):.3g} to {max(values):.3g})"
    spans = []
    for s in symbols:
        values = [float(c.point[s]) for c in checks]
        spans.append(f"{s} from {min(values):.3g} to {max(values):.3g}")
    return f" ({', '.join(spans)})" if spans else ""


def _opaque(expr: sp.Expr) -> sp.Expr:
    """Stand a fresh symbol in for each function application and irrational power (innermost first).

    If the result is 0 then so is `expr`; this turns most chain-rule-vs-diff differences into
    rational functions, which `cancel` settles quickly.
    """
    names: dict[sp.Expr, sp.Symbol] = {}

    def opaque(e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            return e
        args = [opaque(a) for a in e.args]
        rebuilt = e.func(*args) if args != list(e.args) else e
        if isinstance(rebuilt, sp.Function) or (rebuilt.is_Pow and not rebuilt.exp.is_Integer):
            return names.setdefault(rebuilt, sp.Dummy(f"f{len(names)}"))
        return rebuilt

    return opaque(expr)


def symbolic_zero(difference: sp.Expr, rational: bool = False) -> str | None:
    """A short account of how `difference` simplifies to 0, or None if bounded effort does not show it.

    `rational=True` when the difference is a rational function of its symbols (a node form against the
    chain rule in node names): `cancel` is then tried before `expand`, which cannot clear denominators.

    >>> y = sp.Symbol("y")
    >>> symbolic_zero(y*(1 - y)/(y - y**2) - 1), symbolic_zero(y*(1 - y)/(y - y**2) - 1, rational=True)
    ('cancels to 0', 'cancels to 0')
    """
    if difference == 0:
        return "is identically 0"
    difference = to_elementary(difference)
    if difference == 0:
        return "is 0 once σ, ReLU, softplus are written out"
    ops = sp.count_ops(difference)
    steps = (("expands to 0", lambda e: sp.expand(_opaque(e)), MAX_SIMPLIFY_OPS * 10),
             ("cancels to 0", lambda e: sp.cancel(_opaque(e)), MAX_SIMPLIFY_OPS * 10),
             ("expands to 0 with functions expanded", sp.expand, MAX_SIMPLIFY_OPS),
             ("is 0 after rewriting in exp", lambda e: sp.cancel(sp.expand(e.rewrite(sp.exp))), MAX_SIMPLIFY_OPS // 2),
             ("simplifies to 0", sp.simplify, MAX_SIMPLIFY_OPS // 2))
    if rational:
        steps = (steps[1], steps[0], *steps[2:])
    with deadline(PROOF_SECONDS):
        for label, step, budget in steps:
            if ops > budget:
                continue
            try:
                if step(difference) == 0:
                    return label
            except (sp.PolynomialError, TypeError, ValueError, RecursionError, ZeroDivisionError):
                continue
            except OutOfTime:
                return None
    return None


class OutOfTime(Exception):
    """The proof's time budget ran out (see `deadline`)."""


# Wall-clock budgets keep `explain` interactive, but what they cut short depends on how busy the machine
# is. What is generated once and handed out (an exercise key) must read the same on any machine, so it is
# made `unhurried()`: every budget is multiplied by PATIENCE (operation counts still bound the work).
PATIENCE = 30.0
_patience = 1.0


@contextmanager
def unhurried(factor: float = PATIENCE) -> Iterator[None]:
    """Inside the block every wall-clock budget (proofs, node-form rewrites) is `factor` times longer.

    >>> with unhurried(): allowed(1.0)
    30.0
    """
    global _patience
    saved, _patience = _patience, factor
    try:
        yield
    finally:
        _patience = saved


def allowed(seconds: float) -> float:
    """A budget of `seconds`, as long as it is here (see `unhurried`)."""
    return seconds * _patience


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise `OutOfTime` inside the block after `allowed(seconds)` (an interval timer: main thread, Unix
    only; elsewhere the block runs to its end, bounded by the operation counts alone)."""
    seconds = allowed(seconds)
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread() \
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def out_of_time(signum, frame):
        raise OutOfTime()

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- where to look -------------------------------------------------------------------------------------

SIMPLE = tuple(sp.Rational(p, q) for p, q in ((1, 2), (1, 1), (3, 2), (2, 1), (3, 1), (1, 3), (2, 3), (5, 2),
                                              (4, 1), (5, 1)))  # small values: integer and half powers of negatives
KINDS = ("moderate", "wide", "far", "simple")
TRUSTED = ("small",)  # for two forms the toolkit derived itself (no adversary): cheap exact points only


@lru_cache(maxsize=1)
def _primes() -> tuple[int, ...]:
    """The primes between 10⁴ and 10⁵: denominators no trick of the answer can know in advance."""
    return tuple(sp.sieve.primerange(10**4, 10**5))


def _draw(rng: random.Random, kind: str, positive: bool) -> sp.Rational:
    """One coordinate: `moderate` in ±[0.05, 5], `wide` anywhere from ±10⁻⁴ to ±30, `far` in ±[30, 3000],
    all with a large prime denominator (so sin(2520πx), Max(0, x − 31) or (x − 1/9) factors do not vanish
    there); `simple` a small integer or fraction (where negative bases have real integer and half powers);
    `small` the old predictable kind (±30/9), for comparisons no student wrote (chain rule vs sympy.diff)."""
    if kind == "small":  # numerators up to ±30, denominators up to 9: cheap exact values, for non-adversarial checks
        return sp.Rational(rng.randint(1 if positive else -30, 30), rng.randint(1, 9))
    sign = 1 if positive or rng.random() < 0.5 else -1
    if kind == "simple":
        return sign * rng.choice(SIMPLE)
    magnitude = {"moderate": lambda: rng.uniform(0.05, 5), "wide": lambda: 10 ** rng.uniform(-4, 1.5),
                 "far": lambda: 10 ** rng.uniform(1.48, 3.5)}[kind]()
    q = rng.choice(_primes())
    return sign * sp.Rational(max(1, round(magnitude * q)), q)


def _points(symbols: Sequence[sp.Symbol], seed: int,
            kinds: Sequence[str] = KINDS) -> Iterator[tuple[str, dict[sp.Symbol, sp.Rational]]]:
    """(kind, point) for `random_points`, drawn as needed."""
    rng = random.Random(seed)
    for kind in cycle(kinds):
        yield kind, {s: _draw(rng, kind, bool(s.is_positive)) for s in symbols}


def random_points(symbols: Sequence[sp.Symbol], count: int, seed: int, tries: int = 20, *,
                  kinds: Sequence[str] = KINDS):
    """Random exact points spread over scales and signs (see `KINDS`); positive symbols stay positive.

    The kinds take turns, so any 4 consecutive points include each; in a `simple` point every coordinate is
    small and exact, in the others every coordinate has a large prime denominator. A bounded list keeps a
    pathological domain from looping.

    >>> x = sp.Symbol("x", real=True)
    >>> [abs(p[x]) >= 30 for p in random_points([x], 2, seed=1, tries=2)]
    [False, False, True, False]
    """
    return [point for _, point in islice(_points(symbols, seed, kinds), count * tries)]


def unpredictable_seed(*parts: object) -> int:
    """A seed that depends on the expressions compared: which points are drawn cannot be known before the
    answer is written (changing the answer changes the points), yet a verdict is reproducible."""
    digest = hashlib.sha256("\x1f".join(_safe_str(p) for p in parts).encode("utf-8", "replace")).digest()
    return int.from_bytes(digest[:8], "big")


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except ValueError:  # an integer beyond Python's printing limit
        return sp.srepr(value)[:10_000] if isinstance(value, sp.Basic) else repr(type(value))


# --- values at a point --------------------------------------------------------------------------------

def real_value(value: sp.Expr, digits: int = DIGITS) -> sp.Float | None:
    """`value` as a number with `digits` significant digits, or None where it is not a finite real number.

    >>> real_value(sp.sqrt(2), 5), real_value(sp.log(-1)), real_value(1 / sp.Integer(0))
    (1.4142, None, None)
    """
    return _evaluate(to_elementary(sp.sympify(value, strict=True)), digits)


def _evaluate(value: sp.Expr, digits: int) -> sp.Float | None:
    """`real_value` of a value already written in elementary functions."""
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I):
        return None
    try:
        number = sp.N(value, digits)
    except (TypeError, ValueError, ZeroDivisionError, RecursionError):
        return None
    return number if number.is_Number and number.is_real and number.is_finite else None


# --- fast numbers: the expression tree walked with mpmath ------------------------------------------------

class _Unsupported(Exception):
    """A node the mpmath walk does not know; sympy's evalf takes over."""


class _TooCostly(Exception):
    """A value that needs more digits than anyone can compute (sec(e^(x^3)) at x = 3000 needs π to 10¹⁰
    bits): the point is skipped, not evaluated."""


HUGE_ARGUMENT_BITS = 4000  # exp and trig functions of arguments beyond 2^4000 are not evaluated
_REDUCED = {"sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "sech", "csch", "coth", "exp",
            "erf"}


_MP_FUNCTIONS: dict[type, str] = {
    sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.cot: "cot", sp.sec: "sec", sp.csc: "csc",
    sp.asin: "asin", sp.acos: "acos", sp.atan: "atan", sp.sinh: "sinh", sp.cosh: "cosh", sp.tanh: "tanh",
    sp.sech: "sech", sp.csch: "csch", sp.coth: "coth", sp.exp: "exp", sp.erf: "erf",
}


def _mp_walk(expr: sp.Expr, point: Mapping[sp.Symbol, sp.Rational], ctx, memo: dict):
    """`expr` at `point` in mpmath's context `ctx` (at its precision); principal branches, as sympy.
    `memo["lost"]` collects the digits lost where terms of a sum cancel."""
    if expr in memo:
        return memo[expr]
    if expr.is_Integer:
        value = ctx.mpf(int(expr))
    elif expr.is_Rational:
        value = ctx.mpf(int(expr.p)) / int(expr.q)
    elif expr.is_Symbol:
        if expr not in point:
            raise _Unsupported(expr)
        value = _mp_walk(point[expr], point, ctx, memo)
    elif expr.is_Float:
        value = ctx.mpf(expr._mpf_)
    elif expr is sp.pi:
        value = +ctx.pi
    elif expr is sp.E:
        value = +ctx.e
    elif expr.is_Add:
        terms = [_mp_walk(a, point, ctx, memo) for a in expr.args]
        value = ctx.fsum(terms)
        largest = max(abs(t) for t in terms)
        if largest and ctx.isfinite(largest):
            lost = ctx.mag(largest) - ctx.mag(value) if value else ctx.prec
            memo["lost"] = max(memo.get("lost", 0), lost)
            if lost > ctx.prec - 64 and not _cheap_exactly(expr):  # under 20 digits left, and not x − 3 at 3
                memo.setdefault("vanished", []).append(expr)
                if "noise" in memo:  # what the lost digits could hide: a random size and sign (`_hidden`)
                    rng = memo["noise"]
                    value = largest * ctx.ldexp(1, 64 - ctx.prec) * rng.uniform(1, 2) * rng.choice((1, -1))
    elif expr.is_Mul:
        value = ctx.fprod(_mp_walk(a, point, ctx, memo) for a in expr.args)
    elif expr.is_Pow:
        base = _mp_walk(expr.base, point, ctx, memo)
        if expr.exp.is_Integer:
            value = ctx.power(base, int(expr.exp))
        elif expr.exp == sp.S.Half:
            value = ctx.sqrt(base)
        else:
            exponent = _mp_walk(expr.exp, point, ctx, memo)
            if exponent and base and ctx.mag(exponent) + ctx.mag(ctx.mag(base)) > HUGE_ARGUMENT_BITS:
                raise _TooCostly(expr)
            value = ctx.power(base, exponent)
    elif type(expr) in _MP_FUNCTIONS:
        arg = _mp_walk(expr.args[0], point, ctx, memo)
        if _MP_FUNCTIONS[type(expr)] in _REDUCED and arg and ctx.mag(arg) > HUGE_ARGUMENT_BITS:
            raise _TooCostly(expr)
        value = getattr(ctx, _MP_FUNCTIONS[type(expr)])(arg)
    elif isinstance(expr, sp.log):
        args = [_mp_walk(a, point, ctx, memo) for a in expr.args]
        value = ctx.log(*args)
    elif isinstance(expr, sp.Abs):
        value = abs(_mp_walk(expr.args[0], point, ctx, memo))
    elif isinstance(expr, sp.sign):
        arg = _mp_walk(expr.args[0], point, ctx, memo)
        value = ctx.sign(arg)
    elif isinstance(expr, (sp.Max, sp.Min)):
        args = [_mp_walk(a, point, ctx, memo) for a in expr.args]
        if any(isinstance(a, ctx.mpc) for a in args):
            raise _Unsupported(expr)
        value = max(args) if isinstance(expr, sp.Max) else min(args)
    else:
        raise _Unsupported(expr)
    memo[expr] = value
    return value


def _mp_value(expr: sp.Expr, point: Mapping[sp.Symbol, sp.Rational], digits: int, extra: int = 20,
              correct: int | None = None):
    """`expr` at `point` at `digits` digits: (value, accurate) where `accurate` says it has `correct` (by
    default `digits` − 15) correct digits: no sum lost more than 40 bits to cancellation, or a second
    evaluation at `digits + extra` agrees to that many digits. Raises `_Unsupported` for a node it does not
    know, ZeroDivisionError where it is not finite. Two runs agree also where a sum cancelled to nothing in
    both (2x + x·e²⁴⁰⁰·(1 − tanh 1200) is 2x at 75 and at 95 digits): there the value must also stand when
    such sums are as large as their lost digits allow (`_hidden`)."""
    memo: dict = {}
    with mpmath.workdps(digits):
        a = _mp_walk(expr, point, mpmath.mp, memo)
    if memo.get("lost", 0) <= 40:
        return a, True
    memo = {}
    with mpmath.workdps(digits + extra):
        b = _mp_walk(expr, point, mpmath.mp, memo)
    scale = max(abs(a), abs(b))
    with mpmath.workdps(digits + extra):
        tolerance = scale * mpmath.mpf(10) ** -(digits - 15 if correct is None else correct)
        agreed = scale != 0 and abs(a - b) <= tolerance  # (0 after cancelling: unknown)
        if agreed and memo.get("vanished"):
            agreed = abs(_hidden(expr, point, digits + extra, b)) <= tolerance
    return b, agreed


def _mp_number(value: sp.Expr, point: Mapping[sp.Symbol, sp.Rational]) -> tuple[sp.Expr | None, str]:
    """`_number` by mpmath, raising `_Unsupported` where sympy's evalf has to take over."""
    for digits in (DIGITS + 15, 4 * DIGITS, SIDE_DIGITS):  # more digits where terms cancel
        try:
            v, agreed = _mp_value(value, point, digits, correct=DIGITS)  # enough once two runs agree to DIGITS
        except (ZeroDivisionError, OverflowError):
            return None, "not finite"
        except (ValueError, TypeError) as error:
            raise _Unsupported(value) from error
        if agreed:
            break
    else:
        raise _Unsupported(value)
    if not mpmath.isfinite(v):
        return None, "not finite"
    if isinstance(v, mpmath.mpc):
        re, im = v.real, v.imag
        if abs(im) > abs(re) * mpmath.mpf(10) ** -40 + mpmath.mpf(10) ** -70:
            return None, "not a real number"
        v = re
    return sp.Float(v, DIGITS), ""


DEEPEST_DIGITS = 8000  # a difference whose terms still cancel at this precision is not decided by its values
UNDECIDED = f"not decided: terms cancel beyond {DEEPEST_DIGITS} digits"  # the note of such a point


class _Undecided(Exception):
    """The difference at a point is neither shown nonzero nor shown to be rounding noise, even at
    DEEPEST_DIGITS: x·e^(2·10⁵)·(1 − tanh(10⁵)) is about 2x, but 1 − tanh(10⁵) is 0 below 86 000 digits."""


def _mp_difference(difference: sp.Expr, digits: int, point: Mapping, scale=1) -> sp.Expr | None:
    """`_difference` by mpmath: the difference (as sympy wrote it: 2x + x·exp(−10⁶) − 2x is x·exp(−10⁶))
    at `digits` and at `digits + 50`. It is nonzero where both runs agree and no sum that cancelled could
    move it (`_hidden`); it is 0 where it is rounding noise that shrinks with the precision or, where sums
    cancelled, within what their lost digits hide, if that is below HIDDEN (times `scale`, the size of the
    values compared). Anything else means `digits` was not enough: x·e²⁴⁰⁰·(1 − tanh 1200) is 0 at 1000
    digits, where 1 − tanh 1200 rounds to 0, and 6x at 1050; the precision is doubled, up to
    DEEPEST_DIGITS; past that `_Undecided` is raised.

    >>> x = sp.Symbol("x", real=True)
    >>> _mp_difference(x * sp.exp(2400) * (1 - sp.tanh(1200)), 1000, {x: sp.Integer(3)})
    6.00000000000000
    >>> _mp_difference(sp.sin(x)**2 + sp.cos(x)**2 - 1, 1000, {x: sp.Integer(3)}) is None
    True
    >>> _mp_difference(4 / (sp.exp(x) + sp.exp(-x))**2 - 1 + sp.tanh(x)**2, 1000, {x: sp.Integer(1606)}) is None
    True
    """
    scale = max(mpmath.mpf(1), abs(mpmath.mpf(scale)))
    while True:
        values = []
        for dps in (digits, digits + 50):
            memo = {}
            with mpmath.workdps(dps):
                values.append(_mp_walk(difference, point, mpmath.mp, memo))
        a, b = values
        cancelled = bool(memo.get("vanished"))  # a sum kept under 20 digits in the run at digits + 50
        with mpmath.workdps(digits + 50):
            if not mpmath.isfinite(b):
                return None
            spread = abs(_hidden(difference, point, digits + 50, b)) if cancelled else 0
            if b != 0 and abs(a - b) <= abs(b) * mpmath.mpf(10) ** -10 and spread <= abs(b) * mpmath.mpf(10) ** -10:
                return sp.Float(b.real if isinstance(b, mpmath.mpc) else b, 15)
            if cancelled and abs(b) <= spread <= HIDDEN * scale:
                return None  # within what the cancelled sums hide, and that is too small to see
            if not cancelled and (b == 0 or abs(b) <= abs(a) * mpmath.mpf(10) ** -40):
                return None  # noise, shrinking with the precision
        if digits * 2 > DEEPEST_DIGITS:
            raise _Undecided(difference)
        digits *= 2


HIDDEN = mpmath.mpf(10) ** -70  # below the smallest difference a comparison at DIGITS digits sees (1e-40 of 1e-30)


def _hidden(expr: sp.Expr, point: Mapping, digits: int, value=0) -> mpmath.mpf:
    """How far `expr` could be from `value` (its value at `digits`) if each sum that cancelled to nothing were as
    large as its lost digits allow (random sizes and signs, so that two such sums do not cancel): 1 − tanh(10⁵)
    could be 10⁻⁷⁹⁸⁰, and x·e^(2·10⁵)·(1 − tanh(10⁵)) then 10⁷⁸⁸⁷⁹."""
    with mpmath.workdps(digits):
        return _mp_walk(expr, point, mpmath.mp, {"noise": random.Random(0)}) - value


def _number(value: sp.Expr, point: dict | None = None) -> tuple[sp.Expr | None, str]:
    """(value to DIGITS digits, "") for a finite real number ("approximate" when evalf, not mpmath at two
    precisions, computed it), else (None, why): "not finite", "not a real number", or "unknown" when it
    cannot be evaluated. With `point`, `value` is evaluated there (by evalf,
    without building the exact value, which for (p/q)^(r/s) with large p, q can take very long)."""
    if value.is_Rational:
        return value, ""
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None, "not finite"
    try:
        return _mp_number(value, point or {})
    except _TooCostly:
        return None, "unknown"
    except _Unsupported:
        pass
    try:
        number = value.evalf(DIGITS, subs=point, maxn=SIDE_DIGITS)
    except (TypeError, ValueError, ZeroDivisionError, RecursionError, OverflowError, ArithmeticError):
        return None, "unknown"
    if number.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None, "not finite"
    if number.is_Number:
        return (number, "approximate") if number.is_finite else (None, "not finite")
    re, im = number.as_real_imag()
    if re.is_Number and im.is_Number:
        if abs(im) <= TOLERANCE * max(abs(re), sp.Float(1e-30, DIGITS)):  # rounding of a real value
            return re, "approximate"
        return None, "not a real number"
    return None, "unknown"


def _difference(left: sp.Expr, right: sp.Expr, digits: int, point: dict | None = None,
                undecided: object = None, scale=1) -> object:
    """left − right (at `point`), to 15 correct digits using up to `digits` of working precision, or None
    when it is 0 to that precision (or cannot be told apart from 0); `undecided` where its terms cancel
    beyond DEEPEST_DIGITS (see `_mp_difference`)."""
    difference = left - right
    if point is not None:
        try:
            return _mp_difference(difference, digits, point, scale)
        except _Undecided:
            return undecided
        except _TooCostly:
            return None
        except (_Unsupported, ZeroDivisionError, OverflowError, ValueError, TypeError):
            pass
    if difference.is_Rational and point is None:
        return None if difference == 0 else difference
    try:
        value = difference.evalf(15, subs=point, maxn=digits, strict=True)
    except (sp.core.evalf.PrecisionExhausted, TypeError, ValueError, ZeroDivisionError, RecursionError,
            OverflowError, ArithmeticError):
        return None
    return value if value.is_Number and value != 0 else None


def _shown(expr: sp.Expr, point: Mapping) -> sp.Expr:
    """A value to show for `expr` at `point` (a complex number, zoo), or nan when there is none."""
    try:
        value = expr.evalf(15, subs=dict(point))
    except (TypeError, ValueError, ZeroDivisionError, RecursionError, OverflowError, ArithmeticError):
        return sp.nan
    return value if value.is_number else sp.nan


def _cheap_exactly(expr: sp.Expr) -> bool:
    """Whether substituting exact rationals with large denominators into `expr` is cheap: a rational
    function of modest degree (sympy would factor large integers to simplify sqrt(p/q), and look for multiples of π in
    sin(p/q))."""
    return all(e.is_Symbol or e.is_Rational or e.is_Add or e.is_Mul or
               (e.is_Pow and e.exp.is_Integer and abs(e.exp) <= 64) for e in sp.preorder_traversal(expr))


@dataclass(frozen=True)
class _Sides:
    """The two sides of a comparison, written in elementary functions, and whether each is cheap to
    evaluate exactly."""

    left: sp.Expr
    right: sp.Expr
    left_exact: bool
    right_exact: bool

    @classmethod
    def of(cls, left: sp.Expr, right: sp.Expr) -> _Sides:
        left, right = to_elementary(left), to_elementary(right)
        return cls(left, right, _cheap_exactly(left), _cheap_exactly(right))

    def at(self, point: dict, generic: bool) -> PointCheck | None:
        """Both sides at one point, or None where the right side (the reference) is not a finite real.

        Where it is, the left side must be too: a non-real left value is a difference everywhere, a
        non-finite one at a generic point (at a `simple` point it may be a removable singularity such as
        x²/x at 0). Rational functions are evaluated exactly, anything else with mpmath (or evalf)."""
        eb = self.right.xreplace(point) if self.right_exact else self.right
        fb, why_b = _number(eb, None if eb is not self.right else point)
        if fb is None:
            return None
        ea = self.left.xreplace(point) if self.left_exact else self.left
        if ea is not self.left and eb is not self.right and (ea.is_Rational and eb.is_Rational or ea == eb):
            return PointCheck(point, ea, eb, ea == eb, True)
        fa, why = _number(ea, None if ea is not self.left else point)
        if fa is None:
            if why == "not a real number" or (why == "not finite" and generic):
                return PointCheck(point, ea if ea is not self.left else _shown(ea, point), fb, False, False, why)
            return None
        scale = max(abs(fa), abs(fb), sp.Float(1e-30, DIGITS))
        if abs(fa - fb) <= TOLERANCE * scale:
            return PointCheck(point, fa, fb, True, False)
        if "approximate" in (why, why_b):  # the 60-digit values lost accuracy: the difference decides
            difference = self.difference(point, SIDE_DIGITS, undecided=UNDECIDED, scale=abs(fb))
            if difference is None:
                return PointCheck(point, fa, fb, True, False)
            if difference is UNDECIDED:  # no number to show for the left side: its exact value
                return PointCheck(point, self.left.xreplace(point), fb, False, False, UNDECIDED)
        return PointCheck(point, fa, fb, False, False)

    @cached_property
    def delta(self) -> sp.Expr:
        return self.left - self.right

    def difference(self, point: dict, digits: int, undecided: object = None, scale=1) -> object:
        """The difference at `point` (`_difference`); `scale` is the size of the reference value there."""
        return _difference(self.delta, sp.S.Zero, digits, point, undecided, scale)


def compare_points(left: sp.Expr, right: sp.Expr, symbols: Sequence[sp.Symbol], count: int = 5,
                   seed: int = 0, kinds: Sequence[str] = KINDS) -> tuple[PointCheck, ...]:
    """Both sides at `count` random points (`random_points`) where the right side is real and finite:
    exactly when both are rational, else at 60 digits with a relative tolerance of 1e-40. Where the right
    side is real and finite, a left side that is not counts as a difference, not as a skipped point.
    `kinds=TRUSTED` for two forms the toolkit derived itself (no adversary): cheap exact points."""
    return _checks(_Sides.of(left, right), symbols, count, seed, kinds=kinds)


def _checks(sides: _Sides, symbols: Sequence[sp.Symbol], count: int, seed: int,
            enough: int | None = None, kinds: Sequence[str] = KINDS) -> tuple[PointCheck, ...]:
    """Up to `count` checks (fewer once `enough` differences are found)."""
    checks: list[PointCheck] = []
    for kind, point in islice(_points(symbols, seed, kinds), count * 20):
        if len(checks) == count or enough is not None and sum(not c.equal for c in checks) >= enough:
            break
        check = sides.at(point, kind != "simple")
        if check is not None:
            checks.append(check)
    return tuple(checks)


EXPONENT_VALUES = tuple(sign * sp.Rational(p, q) for sign in (1, -1)
                        for p, q in ((1, 1), (2, 1), (1, 2), (3, 2)))
NEGATIVE_BASES = tuple(-sp.Rational(p, q) for p, q in ((3, 1), (2, 1), (1, 2), (5, 2)))
POWER_POINTS = 48  # extra small points where a variable is raised to a variable power


def power_points(left: sp.Expr, right: sp.Expr, symbols: Sequence[sp.Symbol], seed: int) -> list[dict]:
    """Small exact points for expressions with variable exponents: variables in an exponent take small
    integers and halves, the others negative values. Power rules that hold only for positive bases,
    `(a^b)^c = a^(bc)`, fail there: at a = −3, b = −2, c = −1/2 the two sides are 3 and −3.

    >>> a, b, c = sp.symbols("a b c", real=True)
    >>> len(power_points((a**b)**c, a**(b*c), [a, b, c], 0)), power_points(a**2, a**2, [a], 0)
    (48, [])
    """
    exponents = {s for e in (left, right) for p in e.atoms(sp.Pow) if not p.exp.is_number
                 for s in p.exp.free_symbols}
    if not exponents:
        return []
    rng = random.Random(seed)
    return [{s: rng.choice(EXPONENT_VALUES if s in exponents else NEGATIVE_BASES) if not s.is_positive
             else rng.choice(EXPONENT_VALUES[:4]) for s in symbols} for _ in range(POWER_POINTS)]


def _switch_points(switch: sp.Expr, v: sp.Symbol, span: int = 20, steps: int = 800) -> list[sp.Rational]:
    """Where a switch that is not a polynomial (sin(x) − 0.99999) changes sign or comes closest to 0, on a
    grid over [−span, span] and a logarithmic one out to ±10⁶: Max(0, sin(x) − 0.99999) is nonzero only
    on windows 0.009 wide, Max(0, e^x − 10^5) only past x ≈ 11.5."""
    far = [sign * sp.Rational(round(10 ** (k / 20) * 1000), 1000) for k in range(27, 121) for sign in (1, -1)]
    grid = sorted({sp.Rational(k * 2 * span, steps) - span for k in range(steps + 1)} | set(far))
    steps = len(grid) - 1
    values = []
    try:
        with mpmath.workdps(20):
            for g in grid:
                value = _mp_walk(switch, {v: g}, mpmath.mp, {})
                values.append(value.real if isinstance(value, mpmath.mpc) else value)
    except (_Unsupported, _TooCostly, ZeroDivisionError, ValueError, TypeError, OverflowError):
        return []
    found = []
    for k in range(1, steps):
        a, b, c = values[k - 1], values[k], values[k + 1]
        if a * b <= 0 or (abs(b) <= abs(a) and abs(b) <= abs(c)):  # a sign change, or a local approach to 0
            found.append((abs(b), grid[k]))
    return [g for _, g in sorted(found, key=lambda t: t[0])[:6]]


KINK_OFFSETS = tuple(sp.Rational(1, 10**k) for k in (1, 3, 6, 12, 30)) + (sp.Integer(1), sp.Integer(10))


def kink_points(left: sp.Expr, right: sp.Expr, symbols: Sequence[sp.Symbol], seed: int) -> list[dict]:
    """Points on both sides of where a Max, Min, Abs or sign switches, close and far: `Max(0, x − 2999)`
    or `tanh(10⁶x) − sign(x)` differ from 0 only past a switch, where random points seldom land.

    Each switch (the difference of two Max arguments, the argument of Abs) that is a polynomial of degree
    at most 4 in one variable (the others at a random point) gives its real roots r, and points
    r ± d(1 + |r|) for d from 10⁻³⁰ to 10.

    >>> x = sp.Symbol("x", real=True)
    >>> sorted({float(p[x]) for p in kink_points(sp.Max(0, x - 2999), 0 * x, [x], 0)})[-2:]
    [5999.0, 32999.0]
    """
    return _kinks(left, right, tuple(symbols), seed)[0]


def switch_roots(left: sp.Expr, right: sp.Expr, symbols: Sequence[sp.Symbol], seed: int) -> list[dict]:
    """The points where a Max, Min, Abs or sign switches: `2x + 1 − sign(x)²` is 2x everywhere but at 0,
    where both sides are defined and differ.

    >>> x = sp.Symbol("x", real=True)
    >>> sorted(p[x] for p in switch_roots(sp.Max(0, abs(x) - 100), 0 * x, [x], 0))
    [-100, 0, 100]
    """
    return _kinks(left, right, tuple(symbols), seed)[1]


def _branches(switch: sp.Expr) -> list[sp.Expr]:
    """A switch with each |u| and sign(u) written as its branches: |x| − 100 → x − 100 and −x − 100."""
    out = [switch]
    for f in sorted(switch.atoms(sp.Abs, sp.sign), key=sp.default_sort_key)[:3]:
        values = (f.args[0], -f.args[0]) if isinstance(f, sp.Abs) else (sp.S.One, sp.S.NegativeOne)
        out = [e.xreplace({f: value}) for e in out for value in values]
    return out


@lru_cache(maxsize=64)
def _kinks(left: sp.Expr, right: sp.Expr, symbols: Sequence[sp.Symbol], seed: int) -> tuple[list, list]:
    """(points on both sides of every switch, the switch points themselves)."""
    switches = set()
    for e in (left, right):
        for m in e.atoms(sp.Max, sp.Min):
            switches.update(a - b for i, a in enumerate(m.args) for b in m.args[i + 1:])
        switches.update(f.args[0] for f in e.atoms(sp.Abs, sp.sign, sp.Heaviside))
    if not switches or not symbols:
        return [], []
    switches = {branch for s in sorted(switches, key=sp.default_sort_key)[:8] for branch in _branches(s)}
    rng = random.Random(seed)
    base = {s: _draw(rng, "moderate", bool(s.is_positive)) for s in symbols}
    points, roots_at = [], []
    for switch in sorted(switches, key=sp.default_sort_key)[:16]:
        variables = [s for s in symbols if s in switch.free_symbols]
        if not variables:
            continue
        v = variables[0]
        one = switch.xreplace({s: base[s] for s in variables[1:]})
        try:
            poly = sp.Poly(one, v)
            if poly.degree() > 4 or not all(c.is_Rational for c in poly.all_coeffs()):
                raise sp.PolynomialError(one)
            roots = [r for r in sp.real_roots(poly) if r.is_Rational or r.is_real]
        except (sp.PolynomialError, sp.GeneratorsNeeded, ValueError, TypeError, NotImplementedError):
            roots = _switch_points(one, v)
        for root in roots[:4]:
            r = sp.nsimplify(sp.N(root, 40), rational=True) if not root.is_Rational else root
            roots_at.append({**base, v: r})
            for d in KINK_OFFSETS:
                for sign in (1, -1):
                    points.append({**base, v: r + sign * d * (1 + abs(r))})
    return points, [dict(p) for p in {tuple(sorted(p.items(), key=lambda i: i[0].name)): p
                                      for p in roots_at}.values()]


def _deep_checks(sides: _Sides, checks: Sequence[PointCheck]) -> tuple[PointCheck, ...]:
    """The points again, with the difference computed to DEEP_DIGITS: 2x + exp(−1000) is not 2x."""
    out = []
    for c in checks:
        if c.equal and not c.exact:
            tiny = sides.difference(c.point, DEEP_DIGITS, undecided=UNDECIDED,
                                    scale=abs(c.right) if c.right.is_Number else 1)
            if tiny is UNDECIDED:  # not shown equal (an answer is correct when that is shown); no number to show
                c = PointCheck(c.point, sides.left.xreplace(c.point), c.right, False, False, UNDECIDED)
            elif tiny is not None:
                c = PointCheck(c.point, c.left, c.right, False, False, f"differs by ≈ {sp.N(tiny, 3)!s}")
        out.append(c)
    return tuple(out)


def _nonzero_constant(difference: sp.Expr) -> str | None:
    """"is the nonzero constant exp(-1000000) ≈ 3.30e-434295" when the difference, as sympy writes it
    (2x + exp(−10⁶) − 2x is exp(−10⁶)), has no variables left and is not 0, else None."""
    if difference.free_symbols:
        return None
    value = _difference(difference, sp.S.Zero, DEEP_DIGITS)
    return None if value is None else f"is the nonzero constant {_short_text(difference)} ≈ {sp.N(value, 3)!s}"


def _never_zero(difference: sp.Expr) -> bool:
    """sympy's assumptions prove `difference` ≠ 0 (exp(−10⁴(x − 7)²) is positive), with bounded effort."""
    if sp.count_ops(difference) > MAX_SIMPLIFY_OPS // 4:
        return False
    try:
        return difference.is_zero is False
    except (TypeError, ValueError, RecursionError, AttributeError):
        return False


def _short_text(value: sp.Expr, limit: int = 60) -> str:
    text = _safe_str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def equivalent(left: sp.Expr, right: sp.Expr, symbols: Sequence[sp.Symbol] | None = None,
               points: int = 5, seed: int = 0, kinds: Sequence[str] = KINDS) -> Equivalence:
    """Decide left == right exactly, on the domain of `right` (the reference, e.g. the true derivative).

    Evaluation at random points first (one difference settles it), then a symbolic proof with bounded
    effort; without a proof, the differences at the points are computed again to DEEP_DIGITS digits, so
    `2x + 1e-12` and `2x + exp(-1000)` are not `2x`. Where `right` is real and finite, `left` must be too:
    `sqrt(-x^2)` (real only at 0) is not 0. The points depend on both expressions and `seed`; `kinds`
    as in `compare_points` (`TRUSTED` for two forms the toolkit derived itself: no adversary, so neither
    the extra points at switches of Max, Abs, sign nor those at negative bases of variable powers).

    >>> from sympy import Rational, Symbol, sin, cos, sqrt, exp
    >>> x = Symbol("x", real=True)
    >>> equivalent(sin(2*x), 2*sin(x)*cos(x)).proved
    True
    >>> equivalent(2*x + Rational(1, 10**12), 2*x).equal, equivalent(2*x + exp(-1000), 2*x).equal
    (False, False)
    >>> equivalent(sqrt(-x**2), 0 * x).counterexample.note
    'not a real number'
    """
    if symbols is None:
        symbols = sorted(left.free_symbols | right.free_symbols, key=sp.default_sort_key)
    seed = unpredictable_seed(left, right, seed)
    sides = _Sides.of(left, right)
    checks = _checks(sides, symbols, points, seed, enough=3, kinds=kinds)
    if all(c.equal for c in checks) and tuple(kinds) != TRUSTED:  # points that catch answers written to fool
        symbols = tuple(symbols)
        extra = chain(((p, False) for p in power_points(sides.left, sides.right, symbols, seed)),
                      ((p, True) for p in kink_points(sides.left, sides.right, symbols, seed)),
                      ((p, False) for p in switch_roots(sides.left, sides.right, symbols, seed)))
        wrong = next((c for c in (sides.at(p, generic) for p, generic in extra) if c is not None and not c.equal),
                     None)
        checks += (wrong,) if wrong is not None else ()
    if not all(c.equal for c in checks):
        return Equivalence(False, False, "not tried: the values differ", checks)
    difference = left - right
    proof = symbolic_zero(difference)
    if proof is not None:
        return Equivalence(True, True, proof, checks)
    constant = _nonzero_constant(difference)
    if constant is None and _never_zero(sides.delta):
        constant = "is never 0 (sympy proves it nonzero for every real value of the variables)"
    if constant is not None:
        return Equivalence(False, False, constant, _deep_checks(sides, checks), deep=True)
    checks = _deep_checks(sides, checks)
    return Equivalence(bool(checks) and all(c.equal for c in checks), False,
                       "did not simplify to 0 within the effort bound", checks, deep=True)


# --- verify(): every variable of a backward pass, in time linear in the program ----------------------
#
# `equivalent` above settles one pair of expressions. A backward pass has one pair per variable, and
# writing every chain-rule gradient out in the inputs, differentiating the whole expression once per
# variable and simplifying every difference grows with the square of the network (hours at 64×32).
# `verify` therefore checks every variable at random exact points, each side from its own source:
#
#   chain rule:  the backward program, run line by line (one pass gives every adjoint);
#   direct:      d(graph.expr)/dv, one variable at a time, accumulated forward over the expression
#                tree of `graph.expr` (each node's subtree shared, not copied) with sympy's derivative
#                of each operation; it reads the nodes' definitions, never the backward pass's local
#                derivatives, steps or adjoints.
#
# Every subexpression is evaluated once per point. Values stay exact (fractions) while only + − × ÷ and
# integer powers are involved; otherwise they are computed with mpmath at two working precisions and
# used only where both runs agree to 45 digits (else the point is tried again at higher precision).
# A symbolic proof, as `equivalent` does it, is tried on a seeded sample of variables; each verdict
# says which was done.

PROOF_SAMPLE = 4  # variables per backward pass on which a symbolic proof is tried
PROOF_MAX_OPS = 160  # ... if their difference is at most this large: cancel() took 25 s at 230 (micrograd)
_PRECISIONS = ((70, 90), (300, 330), (1200, 1230))  # working digits: a pair of runs, then retries
_STABLE = mpmath.mpf("1e-45")  # both runs of a pair agree to this (relative): the value is trusted
_EXACT_BITS = 20_000  # a fraction larger than this continues as a floating-point value

Number = Fraction | mpmath.mpf | None  # None: not a finite real number at this point


@dataclass(frozen=True)
class VariableCheck:
    """The verdict for one variable: chain rule vs direct differentiation.

    `chain_rule` (the gradient written in the inputs) and `direct` (`sympy.diff` of the whole
    expression) are built on first use; `proof` says whether a symbolic proof was tried.
    """

    variable: sp.Symbol
    equivalence: Equivalence
    proof: str  # "proved", "tried" (no proof found), "too large", "sampled out", "values differ"
    backward: Backward = field(repr=False, compare=False)

    @cached_property
    def chain_rule(self) -> sp.Expr:
        return self.backward.gradient(self.variable)

    @cached_property
    def direct(self) -> sp.Expr:
        return self.backward.direct(self.variable)

    @property
    def agree(self) -> bool:
        return self.equivalence.equal

    @property
    def how(self) -> str:
        note = {"tried": "; not proved symbolically (did not simplify to 0 within the effort bound)",
                "too large": f"; no symbolic proof tried (the difference has more than {PROOF_MAX_OPS} operations)",
                "sampled out": "; symbolic proof tried on a sample of the other variables"}
        return self.equivalence.how + (note.get(self.proof, "") if self.equivalence.equal else "")


@dataclass(frozen=True)
class Verification:
    """Per-variable verdicts of a backward pass."""

    results: tuple[VariableCheck, ...]

    @property
    def agree(self) -> bool:
        return all(r.agree for r in self.results)

    def __getitem__(self, variable) -> VariableCheck:
        for r in self.results:
            if r.variable == variable or r.variable.name == str(variable):
                return r
        raise KeyError(variable)

    def __str__(self) -> str:
        return "\n".join(f"{r.variable}: {'agree' if r.agree else 'DISAGREE'} — {r.how}" for r in self.results)


def verify(backward: Backward, points: int = 5, seed: int = 0, proofs: int = PROOF_SAMPLE) -> Verification:
    """Chain rule vs `sympy.diff(graph.expr, v)` for every variable: at `points` random exact points
    each, and symbolically for a seeded sample of `proofs` variables among those small enough.

    >>> from symbackprop import Graph
    >>> print(Graph.from_steps("a = x*y\\nJ = a + a^2").backward().verify(proofs=1))  # doctest: +ELLIPSIS
    x: agree — equal at 5 random points (x from ...) (exactly); symbolic proof tried on a sample of the other variables
    y: agree — proved equal (difference expands to 0); equal at 5 random points (x from ...) (exactly)
    """
    wrt = backward.wrt
    found: dict[sp.Symbol, list[PointCheck]] = {v: [] for v in wrt}
    graph = backward.graph
    derivatives = _Derivatives(graph.output, {n.symbol: n.definition for n in graph.nodes})
    for point in random_points(backward.graph.inputs, points, seed, kinds=TRUSTED):  # no adversary here
        needed = [v for v in wrt if len(found[v]) < points]
        if not needed:
            break
        for v, check in _checks_at(backward, derivatives, point, needed).items():
            found[v].append(check)
    size = written_size(backward.program)  # a proof is judged possible or not before writing anything out
    small = [v for v in wrt if size(backward.adjoint_symbol(v)) <= PROOF_MAX_OPS]
    sample = set(random.Random(seed).sample(small, min(max(proofs, 0), len(small))))
    results = []
    for v in wrt:
        checks = tuple(found[v])
        if not all(c.equal for c in checks):
            equivalence, proof = Equivalence(False, False, "not tried: the values differ", checks), "values differ"
        elif v not in small:
            equivalence, proof = Equivalence(bool(checks), False, "not tried: too large", checks), "too large"
        elif v not in sample and checks:
            equivalence, proof = Equivalence(True, False, "not tried", checks), "sampled out"
        else:
            results.append(_proof(VariableCheck(v, Equivalence(bool(checks), False, "", checks), "", backward)))
            continue
        results.append(VariableCheck(v, equivalence, proof, backward))
    return Verification(tuple(results))


def _proof(result: VariableCheck) -> VariableCheck:
    """The verdict of values that agree (or of no values at all), with a symbolic proof tried."""
    checks = result.equivalence.checks
    difference = result.chain_rule - result.direct
    if difference != 0 and sp.count_ops(difference) > PROOF_MAX_OPS:
        equivalence, proof = Equivalence(bool(checks), False, "not tried: too large", checks), "too large"
    else:
        found = symbolic_zero(difference)
        equivalence = Equivalence(found is not None or bool(checks), found is not None,
                                  found or "did not simplify to 0 within the effort bound", checks)
        proof = "proved" if found else "tried"
    verdict = VariableCheck(result.variable, equivalence, proof, result.backward)
    verdict.__dict__.update(chain_rule=result.chain_rule, direct=result.direct)  # built once, kept for printing
    return verdict


def _checks_at(backward: Backward, derivatives: _Derivatives, point: dict[sp.Symbol, sp.Rational],
               variables: list[sp.Symbol]) -> dict[sp.Symbol, PointCheck]:
    """Chain rule vs direct at one point, for the variables where both are defined and trustworthy."""
    exact = {s: Fraction(int(r.p), int(r.q)) for s, r in point.items()}
    settled: dict[sp.Symbol, PointCheck] = {}
    pending = list(variables)
    for digits in _PRECISIONS:
        runs = []
        for d in digits:
            ctx = mpmath.MPContext()
            ctx.dps = d
            chain = _run_program(backward.program, _Values(ctx, exact))
            direct = derivatives.at(_Values(ctx, exact, derivatives.definitions))
            runs.append((ctx, [(chain.get(backward.adjoint_symbol(v), Fraction(0)), direct(v)) for v in pending]))
        (_, low), (ctx, high) = runs
        still = []
        for v, (c1, d1), (c2, d2) in zip(pending, low, high):
            if _stable(ctx, c1, c2) and _stable(ctx, d1, d2):
                settled[v] = _point_check(ctx, point, c2, d2)
            else:
                still.append(v)
        pending = still
        if not pending:
            break
    return settled


def _stable(ctx: mpmath.MPContext, low: Number, high: Number) -> bool:
    """A value defined in both runs of a pair, the same in both (to 45 digits, relative)."""
    if low is None or high is None:
        return False
    if isinstance(low, Fraction) and isinstance(high, Fraction):
        return low == high
    a, b = _mpf(ctx, low), _mpf(ctx, high)
    return abs(a - b) <= _STABLE * max(abs(b), ctx.mpf("1e-30"))


def _point_check(ctx: mpmath.MPContext, point: dict, chain: Number, direct: Number) -> PointCheck:
    if isinstance(chain, Fraction) and isinstance(direct, Fraction):
        left, right = sp.Rational(chain.numerator, chain.denominator), sp.Rational(direct.numerator, direct.denominator)
        return PointCheck(point, left, right, chain == direct, True)
    a, b = _mpf(ctx, chain), _mpf(ctx, direct)
    scale = max(abs(a), abs(b), ctx.mpf("1e-30"))
    equal = bool(abs(a - b) <= ctx.mpf(TOLERANCE) * scale)
    as_float = (lambda n: sp.Rational(n.numerator, n.denominator) if isinstance(n, Fraction) else sp.Float(n, DIGITS))
    return PointCheck(point, as_float(chain), as_float(direct), equal, False)


def _run_program(program: Sequence[tuple[sp.Symbol, sp.Expr]], values: _Values) -> dict[sp.Symbol, Number]:
    """The backward program at a point: every line in order, each from the values before it."""
    for symbol, rhs in program:
        values.memo[symbol] = values(rhs)
    return {symbol: values.memo[symbol] for symbol, _ in program}


class _Derivatives:
    """d(output)/dv at a point by forward accumulation over the forward function's subexpressions.

    The forward function is the output with every node standing for its definition (the expression
    tree of `graph.expr`, each node's subtree shared). Each subexpression e that depends on v gets
    de/dv = Σ over its arguments a that depend on v of ∂e/∂a · da/dv, with ∂e/∂a sympy's derivative of
    e's own operation (a node has ∂node/∂definition = 1).

    >>> x, y, u, J = sp.symbols("x y u J")
    >>> d = _Derivatives(J, {u: x * y, J: sp.sin(u) + x**3})
    >>> ctx = mpmath.MPContext(); ctx.dps = 30
    >>> at = d.at(_Values(ctx, {x: Fraction(0), y: Fraction(2)}, d.definitions))
    >>> at(x), at(sp.Symbol("z"))  # y·cos(xy) + 3x² = 2, and z does not occur
    (mpf('2.0'), Fraction(0, 1))
    """

    def __init__(self, output: sp.Symbol, definitions: Mapping[sp.Symbol, sp.Expr]):
        self.output, self.definitions = output, definitions
        self.position: dict[sp.Basic, int] = {}
        self.readers: dict[sp.Basic, list[tuple[sp.Basic, int]]] = {}
        stack: list[tuple[sp.Basic, bool]] = [(output, False)]
        while stack:  # post-order without recursion: arguments before what reads them
            e, ready = stack.pop()
            if e in self.position:
                continue
            args = _arguments(e, definitions)
            if ready or not args:
                self.position[e] = len(self.position)
                for i, a in enumerate(args):
                    self.readers.setdefault(a, []).append((e, i))
                continue
            stack.append((e, True))
            stack.extend((a, False) for a in reversed(args) if a not in self.position)
        self._plans: dict[sp.Symbol, list[tuple[sp.Basic, list[tuple[int, sp.Basic]]]]] = {}
        self._local: dict[tuple[sp.Basic, int], sp.Expr] = {}

    def plan(self, v: sp.Symbol) -> list[tuple[sp.Basic, list[tuple[int, sp.Basic]]]]:
        """The subexpressions that depend on v, arguments first, each with the arguments through which."""
        if v not in self._plans:
            incoming: dict[sp.Basic, list[tuple[int, sp.Basic]]] = {}
            stack = [v]
            while stack:
                e = stack.pop()
                for reader, i in self.readers.get(e, ()):
                    if reader not in incoming:
                        incoming[reader] = []
                        stack.append(reader)
                    incoming[reader].append((i, e))
            self._plans[v] = ([] if self.output not in incoming and self.output != v else
                              sorted(incoming.items(), key=lambda item: self.position[item[0]]))
        return self._plans[v]

    def at(self, values: _Values):
        """A function v ↦ d(output)/dv at the point of `values` (built with the same definitions)."""
        partials: dict[tuple[sp.Basic, int], Number] = {}
        ctx = values.ctx

        def derivative(v: sp.Symbol) -> Number:
            if v == self.output:
                return Fraction(1)
            plan = self.plan(v)
            if not plan:
                return Fraction(0)
            tangent: dict[sp.Basic, Number] = {v: Fraction(1)}
            for e, through in plan:
                total: Number = Fraction(0)
                for i, a in through:
                    if (e, i) not in partials:
                        partials[(e, i)] = self._partial(e, i, values)
                    total = _add2(ctx, total, _mul2(ctx, partials[(e, i)], tangent[a]))
                tangent[e] = total
            return tangent[self.output]

        return derivative

    def _partial(self, e: sp.Basic, i: int, values: _Values) -> Number:
        """∂e/∂(its i-th argument) at the point."""
        ctx = values.ctx
        if e in self.definitions or e.is_Add:
            return Fraction(1)
        args = e.args
        if e.is_Mul:
            return _mul(ctx, [values(a) for k, a in enumerate(args) if k != i])
        if e.is_Pow and i == 0:
            power = values(args[1])
            return _mul(ctx, [power, _pow(ctx, values(args[0]), _add(ctx, [power, Fraction(-1)]))])
        if (e, i) not in self._local:  # sympy's derivative of e's operation in that argument
            stand_in = sp.Dummy(real=True) if args[i].is_real else sp.Dummy()  # |a|′ = sign(a) needs "real"
            rebuilt = e.func(*(stand_in if k == i else a for k, a in enumerate(args)))
            self._local[(e, i)] = sp.diff(rebuilt, stand_in).xreplace({stand_in: args[i]})
        return values(self._local[(e, i)])


def _arguments(e: sp.Basic, definitions: Mapping[sp.Symbol, sp.Expr]) -> tuple[sp.Basic, ...]:
    """What e is computed from: a node from its definition, anything else from its sympy arguments."""
    return (definitions[e],) if e in definitions else e.args


class _Values:
    """Values of sympy expressions at one point and one working precision, each subexpression once.

    >>> ctx = mpmath.MPContext(); ctx.dps = 20
    >>> x = sp.Symbol("x")
    >>> v = _Values(ctx, {x: Fraction(1, 2)})
    >>> v(x**2 + 1), ctx.nstr(v(sp.exp(x)), 20), v(sp.log(x - 1))
    (Fraction(5, 4), '1.6487212707001281468', None)
    """

    def __init__(self, ctx: mpmath.MPContext, known: Mapping[sp.Basic, Number],
                 definitions: Mapping[sp.Symbol, sp.Expr] | None = None):
        self.ctx = ctx
        self.memo: dict[sp.Basic, Number] = dict(known)
        self.definitions = definitions or {}  # a node's value is its definition's

    def __call__(self, expr: sp.Basic) -> Number:
        memo = self.memo
        if expr in memo:
            return memo[expr]
        stack = [expr]
        while stack:  # arguments first, without recursion
            e = stack[-1]
            missing = [a for a in _arguments(e, self.definitions) if a not in memo]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            if e not in memo:
                memo[e] = self._compute(e)
        return memo[expr]

    def _compute(self, e: sp.Basic) -> Number:
        ctx = self.ctx
        if e in self.definitions:
            return self.memo[self.definitions[e]]
        if e.is_Rational:
            return Fraction(int(e.p), int(e.q))
        if e.is_Float:
            return ctx.make_mpf(e._mpf_)
        if e.is_NumberSymbol:
            return ctx.mpf(e.evalf(ctx.dps + 5)._mpf_) if e.is_real else None
        if not e.args:
            return None  # a symbol without a value, oo, zoo, nan, I: not a finite real number here
        args = [self.memo[a] for a in e.args]
        if any(a is None for a in args):
            return None
        try:
            if e.is_Add:
                return _add(ctx, args)
            if e.is_Mul:
                return _mul(ctx, args)
            if e.is_Pow:
                return _pow(ctx, *args)
            rule = _FUNCTIONS.get(e.func)
            if rule is not None:
                return _real(ctx, rule(ctx, *args))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return None
        return self._by_sympy(e, args)

    def _by_sympy(self, e: sp.Basic, args: list[Number]) -> Number:
        """Any other function: sympy's own evaluation, at this precision."""
        ctx = self.ctx
        exact = [sp.Rational(a.numerator, a.denominator) if isinstance(a, Fraction) else sp.Float(a, ctx.dps)
                 for a in args]
        try:
            value = real_value(e.func(*exact), ctx.dps)
        except Exception:  # noqa: BLE001 -- sympy may raise anything on an operation it cannot rebuild: no value
            return None
        return None if value is None else ctx.mpf(sp.Float(value, ctx.dps)._mpf_)


def _mpf(ctx: mpmath.MPContext, a: Fraction | mpmath.mpf) -> mpmath.mpf:
    return ctx.fdiv(a.numerator, a.denominator) if isinstance(a, Fraction) else ctx.convert(a)


def _exact(a: Fraction, ctx: mpmath.MPContext) -> Number:
    """Keep a fraction exact unless it has grown too large."""
    if a.numerator.bit_length() + a.denominator.bit_length() <= _EXACT_BITS:
        return a
    return _mpf(ctx, a)


def _real(ctx: mpmath.MPContext, a) -> Number:
    if isinstance(a, Fraction):
        return _exact(a, ctx)
    if isinstance(a, int):
        return Fraction(a)
    return a if isinstance(a, ctx.mpf) and ctx.isfinite(a) else None


def _add2(ctx: mpmath.MPContext, a: Number, b: Number) -> Number:
    """a + b (the common case of `_add`, without building a list)."""
    if a is None or b is None:
        return None
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _exact(a + b, ctx)
    if isinstance(a, Fraction) and a == 0 or isinstance(b, Fraction) and b == 0:
        return b if isinstance(a, Fraction) and a == 0 else a
    return _real(ctx, _mpf(ctx, a) + _mpf(ctx, b))


def _mul2(ctx: mpmath.MPContext, a: Number, b: Number) -> Number:
    """a · b (the common case of `_mul`)."""
    if a is None or b is None:
        return None
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _exact(a * b, ctx)
    if isinstance(a, Fraction) and a == 0 or isinstance(b, Fraction) and b == 0:
        return Fraction(0)  # exactly 0 times a finite number
    if isinstance(a, Fraction) and a == 1 or isinstance(b, Fraction) and b == 1:
        return b if isinstance(a, Fraction) and a == 1 else a
    return _real(ctx, _mpf(ctx, a) * _mpf(ctx, b))


def _add(ctx: mpmath.MPContext, args: list[Number]) -> Number:
    if any(a is None for a in args):
        return None
    if all(isinstance(a, Fraction) for a in args):
        return _exact(sum(args, Fraction(0)), ctx)
    return _real(ctx, ctx.fsum(_mpf(ctx, a) for a in args))


def _mul(ctx: mpmath.MPContext, args: list[Number]) -> Number:
    if any(a is None for a in args):
        return None
    if all(isinstance(a, Fraction) for a in args):
        product = Fraction(1)
        for a in args:
            product *= a
        return _exact(product, ctx)
    return _real(ctx, ctx.fprod(_mpf(ctx, a) for a in args))


def _pow(ctx: mpmath.MPContext, base: Number, power: Number) -> Number:
    if base is None or power is None:
        return None
    if isinstance(power, Fraction) and power.denominator == 1:
        if base == 0 and power < 0:
            return None
        bits = base.numerator.bit_length() + base.denominator.bit_length() if isinstance(base, Fraction) else None
        if bits is not None and abs(power) * bits <= _EXACT_BITS:
            return base ** int(power)
        return _real(ctx, _mpf(ctx, base) ** int(power))
    if base < 0:
        return None  # a fractional power of a negative number is not real (sympy's principal root)
    if base == 0:
        return Fraction(0) if power > 0 else None
    return _real(ctx, ctx.power(_mpf(ctx, base), _mpf(ctx, power)))


def _where(condition):
    """An mpmath rule defined only where `condition(argument)` holds (None elsewhere)."""
    def wrap(rule):
        return lambda ctx, a: rule(ctx, _mpf(ctx, a)) if condition(a) else None
    return wrap


def _heaviside(ctx, a, at_zero=None):
    return Fraction(1) if a > 0 else Fraction(0) if a < 0 else at_zero


def _extreme(pick):
    def rule(ctx, *args):
        if all(isinstance(a, Fraction) for a in args):
            return pick(args)
        return pick(_mpf(ctx, a) for a in args)
    return rule


_FUNCTIONS: dict[type, Callable] = {
    sp.exp: lambda ctx, a: ctx.exp(_mpf(ctx, a)),
    sp.log: _where(lambda a: a > 0)(lambda ctx, a: ctx.log(a)),
    sp.sin: lambda ctx, a: ctx.sin(_mpf(ctx, a)),
    sp.cos: lambda ctx, a: ctx.cos(_mpf(ctx, a)),
    sp.tan: lambda ctx, a: ctx.tan(_mpf(ctx, a)),
    sp.sinh: lambda ctx, a: ctx.sinh(_mpf(ctx, a)),
    sp.cosh: lambda ctx, a: ctx.cosh(_mpf(ctx, a)),
    sp.tanh: lambda ctx, a: ctx.tanh(_mpf(ctx, a)),
    sp.asin: _where(lambda a: -1 <= a <= 1)(lambda ctx, a: ctx.asin(a)),
    sp.acos: _where(lambda a: -1 <= a <= 1)(lambda ctx, a: ctx.acos(a)),
    sp.atan: lambda ctx, a: ctx.atan(_mpf(ctx, a)),
    sp.asinh: lambda ctx, a: ctx.asinh(_mpf(ctx, a)),
    sp.acosh: _where(lambda a: a >= 1)(lambda ctx, a: ctx.acosh(a)),
    sp.atanh: _where(lambda a: -1 < a < 1)(lambda ctx, a: ctx.atanh(a)),
    sp.erf: lambda ctx, a: ctx.erf(_mpf(ctx, a)),
    sp.Abs: lambda ctx, a: abs(a),
    sp.sign: lambda ctx, a: Fraction((a > 0) - (a < 0)),
    sp.Heaviside: _heaviside,
    sp.Max: _extreme(max),
    sp.Min: _extreme(min),
    sigmoid: lambda ctx, a: 1 / (1 + ctx.exp(-_mpf(ctx, a))),
    softplus: lambda ctx, a: ctx.log1p(ctx.exp(_mpf(ctx, a))),
    relu: lambda ctx, a: max(a, Fraction(0)) if isinstance(a, Fraction) else max(a, ctx.zero),
}
"""mpmath (or exact) values of the functions sympy and symbackprop write; others go through sympy."""
