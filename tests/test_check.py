"""Typed answers, diagnoses, step-by-step derivations and gradient code; expected values worked by hand."""
import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symbackprop import Graph
from symbackprop.check import (check_derivative, check_gradient_code, check_steps, finite_difference_check,
                               read_answer, relative_error)
from symbackprop.core.examples import cos_sin, two_layer_net

SEEDS = Path(__file__).resolve().parent / "data" / "seeds"  # a copy of the lecture slides (seed 003)
x = sp.Symbol("x", real=True)


# --- typed answers -------------------------------------------------------------------------------------

def test_students_typing():
    assert read_answer("3x^2") == 3 * x**2
    assert read_answer("2 sin x cos x") == 2 * sp.sin(x) * sp.cos(x)
    assert read_answer("e^x") == sp.exp(x)
    assert read_answer("ln x") == sp.log(x)
    assert read_answer("0.5*x") == x / 2
    assert read_answer(r"\frac{1}{2\sqrt{x}}") == 1 / (2 * sp.sqrt(x))


def test_exact_not_close_enough():
    v = check_derivative("x^2", "x", "2x + 1e-12")
    assert v.status == "incorrect"
    # the counterexample carries both values; 2x vs 2x + 10^-12 at the same point
    point = sp.Rational(v.counterexample.point["x"])
    assert sp.Rational(v.counterexample.expected) == 2 * point
    assert sp.Rational(v.counterexample.answer) == 2 * point + sp.Rational(1, 10**12)


def test_how_it_was_decided_is_stated():
    v = check_derivative("sin(x)^2", "x", "sin(2x)")
    assert v.status == "correct" and "proved equal" in v.how and "random points" in v.how


@pytest.mark.parametrize("answer,mistake,edge", [
    ("cos(x^2)", "dropped_local", ("x", "u")),  # forgot du/dx = 2x for u = x^2
    ("-2x cos(x^2)", "flipped_sign", ("u", "J")),  # d/du sin(u) taken as -cos(u)
    ("2x sin(x^2)", "outer_underived", ("u", "J")),  # sin kept instead of cos
])
def test_diagnosis_names_node_and_edge(answer, mistake, edge):
    v = check_derivative("sin(x^2)", "x", answer)
    assert v.status == "incorrect"
    assert (v.diagnosis.mistake, v.diagnosis.edge) == (mistake, edge)


def test_dropped_inner_derivative_message():
    v = check_derivative("cos(sin(x^2) + 3x^2)", "x", "-sin(sin(x^2) + 3x^2) * (cos(x^2) + 3)")
    assert v.diagnosis.mistake == "dropped_local"
    assert "dt/dx = 2*x" in v.diagnosis.message and "t = x**2" in v.diagnosis.message


def test_missing_fan_out_path():
    # t = x^2 feeds u1 = sin(t) and u2 = 3t; forgetting the += from u2 leaves -sin(u)·cos(t)·2x
    v = check_derivative("cos(sin(x^2) + 3x^2)", "x", "-sin(sin(x^2) + 3x^2) * 2x cos(x^2)")
    assert v.diagnosis.mistake == "missing_path" and v.diagnosis.edge == ("t", "u2")


def test_wrong_variable_and_constant_factor():
    assert check_derivative("x^2 y", "x", "x^2").diagnosis.mistake == "wrong_variable"
    v = check_derivative("x^3", "x", "x^2")  # 1/3 of 3x^2
    assert v.diagnosis.mistake == "constant_factor" and "1/3" in v.diagnosis.message


@pytest.mark.parametrize("answer,words", [
    ("2xz", "uses 'xz'"),
    ("see my notes", "uses 'see'"),
    ("3x^^2", "column"),
    ("2*(x", "not closed"),
    ("foo(x)", "unknown function"),
])
def test_invalid_answers_point_at_the_spot(answer, words):
    v = check_derivative("x^2 y" if "y" in answer else "x^2", "x", answer)
    assert v.status == "invalid" and words in v.message


# --- step-by-step derivations ------------------------------------------------------------------------

def _slides_two_layer_backward() -> str:
    """The two-layer network's backward lines, as they stand in seed 003."""
    text = next(SEEDS.glob("003_*.txt")).read_text(encoding="utf-8")
    part = text[text.index("Case 2: Neural Network"):]
    part = part[part.index("Backward"):part.index("Advantages")]
    return "\n".join(line.strip().strip("$") for line in part.splitlines() if "frac{dJ}" in line)


def test_finds_the_wrong_line_of_the_slides():
    derivation = _slides_two_layer_backward()
    assert derivation.count("\n") == 6  # seven backward lines
    report = check_steps(two_layer_net(), derivation)
    wrong = [s for s in report.steps if s.status != "correct"]
    assert {s.line for s in wrong} == {7}  # only the dJ/dx_i line
    assert report.first_wrong.line == 7
    kinds = {s.kind: s.message for s in wrong}
    assert "a_1, a_2" in kinds["adjoint"]  # x_1 feeds a_1 and a_2: the sum is missing
    assert "alpha_1_1" in kinds["local"]  # da_1/dx_1 = α_11, not α_11 + α_21


def test_corrected_slides_line_passes():
    fixed = _slides_two_layer_backward().replace(
        r"\frac{dJ}{dx_i} = \frac{dJ}{da_j} \frac{da_j}{dx_i}, \frac{da_j}{dx_i} = \sum_{j=0}^D \alpha_{ji}",
        r"\frac{dJ}{dx_i} = \sum_j \frac{dJ}{da_j} \frac{da_j}{dx_i}, \frac{da_j}{dx_i} = \alpha_{ji}")
    assert check_steps(two_layer_net(), fixed).correct


def test_simple_example_in_slides_notation_and_missing_plus_equals():
    slides = "\n".join([
        r"\frac{dJ}{du} += -\sin(u)",
        r"\frac{dJ}{du_1} += \frac{dJ}{du} \frac{du}{du_1}, \quad \frac{du}{du_1} = 1 \quad "
        r"\frac{dJ}{du_2} += \frac{dJ}{du} \frac{du}{du_2}, \quad \frac{du}{du_2} = 1",
        r"\frac{dJ}{dt} += \frac{dJ}{du_1} \frac{du_1}{dt}, \quad \frac{du_1}{dt} = \cos(t)",
        r"\frac{dJ}{dt} += \frac{dJ}{du_2} \frac{du_2}{dt}, \quad \frac{du_2}{dt} = 3",
        r"\frac{dJ}{dx} += \frac{dJ}{dt} \frac{dt}{dx}, \quad \frac{dt}{dx} = 2x"])
    assert check_steps(cos_sin(), slides).correct
    plain = "dJ/du = -sin(u)\ndJ/du1 = dJ/du\ndJ/dt += dJ/du1 * cos(t)\ndJ/dx = dJ/dt * 2x"
    report = check_steps(cos_sin(), plain)
    assert report.first_wrong is None and len(report.missing) == 1 and "u2" in report.missing[0]


def test_values_at_a_point():
    # at x = 1/2: t = 1/4, u = sin(1/4) + 3/4, dJ/du = -sin(u) = -0.8401... (by hand: u ≈ 0.99740)
    good = "at x = 1/2\ndJ/du = -0.8401\ndJ/du1 = -0.8401"
    assert check_steps(cos_sin(), good).correct
    bad = "at x = 1/2\ndJ/du = -0.8401\ndJ/du1 = 0.8401"
    assert check_steps(cos_sin(), bad).first_wrong.line == 3


def test_wrong_local_derivative_line():
    report = check_steps(cos_sin(), "dJ/du = -sin(u)\ndu1/dt = -cos(t)")
    assert report.first_wrong.line == 2 and report.first_wrong.kind == "local"


# --- gradient code ------------------------------------------------------------------------------------

def _net_gradient(p, bug=False):
    """A small numpy backward pass of two_layer_net(2, 2), written by hand."""
    xv = np.array([p["x_1"], p["x_2"]])
    A = np.array([[p["alpha_1_1"], p["alpha_1_2"]], [p["alpha_2_1"], p["alpha_2_2"]]])
    beta = np.array([p["beta_1"], p["beta_2"]])
    a = A @ xv
    z = 1 / (1 + np.exp(-a))
    b = beta @ z
    y = 1 / (1 + np.exp(-b))
    dy = p["y_star"] / y + (1 - p["y_star"]) / (y - 1)
    db = dy * y * (1 - y)
    dz = db * beta
    da = dz * (z if bug else z * (1 - z))
    dA = np.outer(da, xv)
    return {"alpha_1_1": dA[0, 0], "alpha_1_2": dA[0, 1], "alpha_2_1": dA[1, 0], "alpha_2_2": dA[1, 1],
            "beta_1": db * z[0], "beta_2": db * z[1]}


def test_gradient_code_right_and_planted_bug():
    g = two_layer_net()
    assert check_gradient_code(g, _net_gradient).ok
    report = check_gradient_code(g, lambda p: _net_gradient(p, bug=True))
    assert not report.ok
    bad = {c.parameter for c in report.checks if c.relative_error > 1e-2}
    assert bad == {"alpha_1_1", "alpha_1_2", "alpha_2_1", "alpha_2_2"}


def test_finite_differences_and_relative_error():
    assert relative_error(2.0, 1.0) == 0.5
    loss = lambda p: math.sin(p["w"]) * p["v"]  # noqa: E731
    right = lambda p: {"w": math.cos(p["w"]) * p["v"], "v": math.sin(p["w"])}  # noqa: E731
    wrong = lambda p: {"w": -math.cos(p["w"]) * p["v"], "v": math.sin(p["w"])}  # noqa: E731
    assert finite_difference_check(loss, right, {"w": 0.3, "v": 1.5}).ok
    report = finite_difference_check(loss, wrong, {"w": 0.3, "v": 1.5})
    assert report.worst.parameter == "w" and report.worst.relative_error == pytest.approx(2.0)  # |a - (-a)| / |a|


@pytest.mark.parametrize("function,answer,reading", [("e^2x", "2e^(2x)", "e^2·x"), ("3x^2y", "6x", "3·x^2·y")])
def test_how_the_function_was_read_is_said_when_it_was_a_choice(function, answer, reading):
    """A careless instructor's e^2x is e²·x (reading policy), so 2e^(2x) is wrong; the verdict says how the
    function was read, not only how the answer was (attack 2026-11-23: it said neither)."""
    verdict = check_derivative(function, "x", answer)
    assert verdict.status == "incorrect"
    assert f"The function was read as {reading}." in verdict.message
