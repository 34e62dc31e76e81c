"""The safe parser: what students type is read correctly, and everything else is refused with a reason."""
from pathlib import Path

import pytest
import sympy as sp

from symbackprop import ParseError, parse_expr, parse_program, relu, sigmoid, softplus

x, y, a, b = sp.symbols("x y a b", real=True)


@pytest.mark.parametrize("text, expected", [
    ("x^2", x**2),
    ("x**2", x**2),
    ("3x^2", 3 * x**2),
    ("2 x", 2 * x),
    ("2(x+1)", 2 * x + 2),
    ("(x+1)(x-1)", (x + 1) * (x - 1)),
    ("x y", x * y),
    ("x(y+1)", x * (y + 1)),
    ("2 sin x cos x", 2 * sp.sin(x) * sp.cos(x)),
    ("sin x^2", sp.sin(x**2)),
    ("e^x", sp.exp(x)),
    ("e^(-a)", sp.exp(-a)),
    ("ln x", sp.log(x)),
    ("log(x, 2)", sp.log(x) / sp.log(2)),
    ("pi x", sp.pi * x),
    ("0.5 x", x / 2),
    ("0.1", sp.Rational(1, 10)),
    ("1e-3", sp.Rational(1, 1000)),
    ("2.5e2", sp.Integer(250)),
    ("-x^2", -x**2),
    ("2^-1", sp.Rational(1, 2)),
    ("x^(1/3)", x**sp.Rational(1, 3)),
    ("sqrt(x)", sp.sqrt(x)),
    ("abs(x)", sp.Abs(x)),
    ("Max(0, x)", sp.Max(0, x)),
    ("min(x, y)", sp.Min(x, y)),
    ("sigmoid(a)", sigmoid(a)),
    ("σ(a)", sigmoid(a)),
    ("relu(a)", relu(a)),
    ("softplus(a)", softplus(a)),
    ("tanh(x) + sinh(x) + cosh(x)", sp.tanh(x) + sp.sinh(x) + sp.cosh(x)),
    ("asin(x) + acos(x) + atan(x) + erf(x)", sp.asin(x) + sp.acos(x) + sp.atan(x) + sp.erf(x)),
    ("cos(sin(x^2) + 3x^2)", sp.cos(sp.sin(x**2) + 3 * x**2)),
])
def test_accepted_forms(text, expected):
    assert parse_expr(text) == expected


def test_variables_are_real_unless_asked():
    assert parse_expr("x").is_real
    assert parse_expr("x", real=False).is_real is None
    assert sp.diff(parse_expr("abs(x)"), x) == sp.sign(x)


@pytest.mark.parametrize("text, reason, column", [
    ("__import__('os').system('echo hacked')", "strings", 12),
    ('sin("x")', "strings", 5),
    ("x.real", "attribute access", 1),
    ("a.__class__", "may not start with '_'", 3),
    ("x[0+1]", "an index in [...]", 1),
    ("lambda: 1", "lambda", 1),
    ("[a for a in b]", "comprehensions", 4),
    ("sin(x=1)", "'=' is not allowed", 6),
    ("foo(x)", "unknown function 'foo'", 1),
    ("factorial(10**9)", "unknown function 'factorial'", 1),
    ("x +", "ends with '+'", 3),
    ("(x", "not closed", 1),
    ("x)", "unmatched ')'", 2),
    ("1/0", "division by zero", 1),
    ("0^-1", "division by zero", 1),
    ("sin", "is a function", 1),
    ("sin(x, y)", "takes 1 argument", 1),
    ("x == 1", "comparisons", 1),
    ("x // 2", "operator //", 1),
    ("x % 2", "unexpected character '%'", 3),
    ("x @ y", "unexpected character '@'", 3),
    ("not x", "boolean operators", 1),
    ("a if b else c", "conditional", 3),
    ("9**9**9", "too large", 1),
    ("x**(10**10**10)", "too large", 5),
    ("99^999", "digits", 1),
    ("1e999999", "out of range", 1),
    ("1" * 100, "out of range", 1),
    ("x\x00", "NUL byte", 2),
    ("{x}", "sets are not allowed", 1),
])
def test_rejected_with_reason_and_column(text, reason, column):
    with pytest.raises(ParseError) as info:
        parse_expr(text)
    assert reason in str(info.value)
    assert info.value.column == column


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("   ", "empty"),
    ("x" * 20_000, "characters long"),
    ("(" * 10_000 + "x" + ")" * 10_000, "characters long"),
    ("(" * 100 + "x" + ")" * 100, "nested more than"),
    ("sin(" * 80 + "x" + ")" * 80, "nested more than"),
    ("-" * 5000 + "x", "nested"),
])
def test_cost_is_bounded(text, reason):
    with pytest.raises(ParseError) as info:
        parse_expr(text)
    assert reason in str(info.value)


def test_nothing_is_executed(tmp_path: Path):
    marker = tmp_path / "ran"
    for text in (f"__import__('os').system('touch {marker}')", f"open({marker})", "exec(x)", "eval(x)",
                 "globals()", "getattr(x, y)"):
        with pytest.raises(ParseError):
            parse_expr(text)
    assert not marker.exists()


def test_non_text_is_refused():
    with pytest.raises(ParseError, match="expected text"):
        parse_expr(42)


def test_program_reads_assignments_and_comments():
    steps = parse_program("""
        # the slides' simple example
        t = x^2
        u1 = sin(t)   # inner function
        u2 = 3t
        u = u1 + u2
        J = cos(u)
    """.replace("        ", ""))
    t, u1, u2, u = sp.symbols("t u1 u2 u", real=True)
    assert steps == [("t", x**2), ("u1", sp.sin(t)), ("u2", 3 * t), ("u", u1 + u2), ("J", sp.cos(u))]


def test_program_augmented_assignment():
    c, d = sp.symbols("c d", real=True)
    assert parse_program("c = x*y\nc += d") == [("c", x * y), ("c", c + d)]


@pytest.mark.parametrize("program, reason, line, column", [
    ("t = x^2\nfoo", "expected an assignment", 2, 1),
    ("t = x^2\nu = sin(t, 2)", "takes 1 argument", 2, 5),
    ("t = x^2\nu = t +", "ends with '+'", 2, 7),
    ("sin = 3", "reserved name", 1, 1),
    ("c += 1", "needs an earlier value", 1, 1),
    ("# only a comment", "no assignments", None, None),
])
def test_program_errors_say_line_and_column(program, reason, line, column):
    with pytest.raises(ParseError) as info:
        parse_program(program)
    assert reason in str(info.value)
    assert info.value.line == line
    assert info.value.column == column


@pytest.mark.parametrize("assigned,used,reads_as", [
    ("θ", "θ", "theta"), ("θ₁", "θ₁", "theta_1"), ("λ", "λ", "lamda"), ("Θ", "Θ", "Theta"), ("ℓ", "ℓ", "l"),
    ("ﬁ", "fi", "fi"), ("θ", "theta", "theta"), ("é", "é", "é")])
def test_program_name_is_read_alike_where_assigned_and_where_used(assigned, used, reads_as):
    """A node named θ is the θ later lines read (they read it as theta): before, `θ = x*y; J = θ^2 + x` gave
    J a new input theta, so dJ/dx was 1 instead of 2xy² + 1 (attack 2026-11-23)."""
    from symbackprop import Graph
    x, y = sp.symbols("x y", real=True)
    graph = Graph.from_steps(f"{assigned} = x*y\nJ = {used}^2 + x")
    assert [s.name for s in graph.inputs] == ["x", "y"] and graph.nodes[0].symbol.name == reads_as
    by_hand = (x * y) ** 2 + x
    for v in (x, y):  # the gradient of the program against plain sympy.diff of it written out by hand
        assert sp.expand(graph.backward().gradient(graph.symbol(v.name)) - sp.diff(by_hand, v)) == 0


def test_program_name_that_is_not_a_name_once_read():
    with pytest.raises(ParseError, match="cannot be a name"):
        parse_program("x² = x\nJ = x²")


@pytest.mark.parametrize("program,line", [("E = x*y\nJ = E*e + E^2", 1), ("a = e*x\nE = a^2\nJ = E", 2),
                                          ("I = x\nJ = I*sqrt(-1)", 1)])
def test_a_value_named_like_a_constant_the_program_uses_is_refused(program, line):
    """Results print Euler's number as E: with a node E, explain showed 'J  E**2 + E*E' and
    'dJ/dx = y*(2*E + E)' (read: 3yE) for J = E·e + E² (attack 2026-11-23)."""
    with pytest.raises(ParseError, match="another name") as info:
        parse_program(program)
    assert info.value.line == line


def test_a_value_named_E_is_fine_without_eulers_number():
    E, y, t = sp.symbols("E y t", real=True)
    assert parse_program("E = (y - t)^2/2\nJ = 2*E") == [("E", (y - t) ** 2 / 2), ("J", 2 * E)]
