"""Wrong answers built to fool a point-sampler are graded incorrect, and legitimate answers stay correct.

Each cheat comes with a witness point where plain sympy (its own parser, not ours) shows the answer is not
the derivative; the checker must find that out by itself, within its time limit.
"""
from pathlib import Path

import pytest
import sympy as sp
from sympy.parsing.sympy_parser import (convert_xor, implicit_multiplication_application, parse_expr,
                                        standard_transformations)

from symbackprop.check.worker import Worker
from symbackprop.cli.check import grade

DATA = Path(__file__).parent / "data"
CHEATS = [line.split("\t") for line in (DATA / "adversarial_cheats.tsv").read_text(encoding="utf-8").splitlines()
          if line.strip() and not line.startswith("#")]
NAMES = {n: sp.Symbol(n, real=True) for n in "xyabcw"}
LOCAL = {**NAMES, "ln": sp.log, "abs": sp.Abs, "sign": sp.sign, "Max": sp.Max, "Min": sp.Min,
         "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "pi": sp.pi}
TRANSFORMS = standard_transformations + (convert_xor, implicit_multiplication_application)


def plain(text: str) -> sp.Expr:
    return parse_expr(text, local_dict=dict(LOCAL), transformations=TRANSFORMS)


@pytest.fixture(scope="module")
def worker():
    with Worker() as w:
        yield w


def test_enough_cheats():
    assert len(CHEATS) >= 40


@pytest.mark.parametrize("function,wrt,answer,witness,trick", CHEATS, ids=[f"{r[0]}|{r[2]}" for r in CHEATS])
def test_cheat_is_wrong_and_graded_incorrect(function, wrt, answer, witness, trick, worker):
    point = {NAMES[k]: sp.Rational(v) for k, v in (p.split("=") for p in witness.split(","))}
    expected = sp.diff(plain(function), NAMES[wrt]).subs(point)
    given = plain(answer).subs(point)
    assert sp.N(expected, 30).is_real, "the witness must lie where the derivative is real"
    gap = sp.N(given - expected, 20, maxn=10_000, strict=True)  # nonzero, to 20 correct digits
    assert gap != 0
    verdict, = grade([{"function": function, "wrt": wrt, "answer": answer}], worker)
    assert verdict.status == "incorrect", (trick, verdict.message)


LEGITIMATE = [  # right answers in forms a strict checker might refuse: removable points, other branches
    ("x^2", "x", "2x + sin(pi)"),
    ("x^3", "x", "3x^3/x"),
    ("x^2", "x", "2(x^3 - x)/(x^2 - 1)"),  # 2x except at x = ±1, which are removable
    ("sqrt(x)", "x", "1/(2 sqrt(abs(x)))"),  # equal wherever the derivative is real
    ("x abs(x)", "x", "2 abs(x)"),
    ("(a^b)^c", "c", "(a^b)^c ln(a^b)"),
    ("tanh(x)", "x", "sech(x)^2"),  # 1 - tanh(x)^2 cancels badly far from 0
    ("x^(1/3)", "x", "1/(3 x^(2/3))"),
    ("exp(-x^2/2)", "x", "-x exp(-x^2/2)"),
    ("log(1 + exp(1000 x))", "x", "1000/(1 + exp(-1000 x))"),
    ("sin(x)^2", "x", "sin(2x)"),
    ("x^x", "x", "exp(x ln x)(ln x + 1)"),
]


@pytest.mark.parametrize("function,wrt,answer", LEGITIMATE, ids=[f"{r[0]}|{r[2]}" for r in LEGITIMATE])
def test_legitimate_answer_stays_correct(function, wrt, answer, worker):
    difference = sp.simplify(plain(answer) - sp.diff(plain(function), NAMES[wrt]))
    point = {s: sp.Rational(7, 5) for s in NAMES.values()}
    assert abs(sp.N(difference.subs(point), 30)) < 1e-25  # right at a point of the domain
    verdict, = grade([{"function": function, "wrt": wrt, "answer": answer}], worker)
    assert verdict.status == "correct", verdict.message


# A second corpus, written separately (tests/data/adversarial_answers.tsv: 122 rows, each with its trick and
# source). Its `invalid` rows are answers outside the answer language (zoo, oo, I, unknown functions); the
# reading policy makes an unknown single letter a wrong answer rather than an unreadable one, so for those
# rows either verdict is right: what matters is that none is graded correct.
SECOND = [row for row in (line.split("\t") for line in
                          (DATA / "adversarial_answers.tsv").read_text(encoding="utf-8").splitlines()[1:])
          if len(row) >= 4]
ALLOWED = {"correct": {"correct"}, "incorrect": {"incorrect"}, "invalid": {"invalid", "incorrect"}}


def test_second_corpus_is_large_and_mostly_cheats():
    assert len(SECOND) >= 100 and sum(r[3] == "incorrect" for r in SECOND) >= 60


@pytest.mark.parametrize("function,wrt,answer,expected", [r[:4] for r in SECOND],
                         ids=[f"{r[0]}|{r[2]}" for r in SECOND])
def test_second_corpus_verdict(function, wrt, answer, expected, worker):
    verdict = next(grade([{"function": function, "wrt": wrt, "answer": answer}], worker))
    assert verdict.status in ALLOWED[expected], verdict.message


def test_difference_hidden_beyond_any_affordable_precision_is_not_graded_correct(worker):
    """x·e^(2C)·(1 − tanh C) with C = 10⁵ is exactly 2x·e^(2C)/(e^(2C) + 1), so the answer is about 4x, not 2x;
    but 1 − tanh C is 0 at fewer than 86 859 digits. Equality must be shown, so this is not 'correct'
    (before: 'equal at 8 random points ... differences to 1000 digits'; attack 2026-11-23)."""
    C = sp.Integer(10**5)
    by_hand = sp.simplify((1 - sp.tanh(C)).rewrite(sp.exp) - 2 / (sp.exp(2 * C) + 1))
    assert by_hand == 0  # so the extra term x·e^(2C)·(1 − tanh C) lies between x and 2x for x > 0: not 0
    verdict, = grade([{"function": "x^2", "wrt": "x", "answer": "2x + x*exp(2*10^5)*(1 - tanh(10^5))"}], worker)
    assert verdict.status == "incorrect", verdict.message
    assert "not decided" in verdict.message


@pytest.mark.xfail(strict=True, reason="a difference that cancels below every affordable precision and is not "
                   "multiplied up (x·(1 − tanh 10⁵) ≈ 2x·e^(−2·10⁵)) is within what the lost digits hide, so the "
                   "point counts as equal; deciding it needs a symbolic rewrite of the cancelled sum "
                   "(1 − tanh c = 2/(e^(2c) + 1)), which the checker does not try")
def test_tiny_difference_hidden_by_cancellation_is_found(worker):
    C = sp.Integer(10**5)
    assert sp.simplify((1 - sp.tanh(C)).rewrite(sp.exp) - 2 / (sp.exp(2 * C) + 1)) == 0  # > 0: the answer is wrong
    verdict, = grade([{"function": "x^2", "wrt": "x", "answer": "2x + x*(1 - tanh(10^5))"}], worker)
    assert verdict.status == "incorrect", verdict.message


@pytest.mark.xfail(strict=True, reason="sympy's evalf, the fallback where two mpmath runs do not settle a value, "
                   "evaluates tanh at thousands of digits for x^2·(1 − tanh(x)^2)·e^(−x^2) at x ≈ 3000 and does "
                   "not finish within the check's 3 s; a bounded fallback would let an answer that is slow only "
                   "where it is wrong skip those points, so the time limit is kept (attack 2026-11-23)")
def test_wrong_answer_with_far_cancellation_is_graded_within_the_time_limit(worker):
    x = NAMES["x"]
    answer = 1 - sp.tanh(x)**2 + x**2 * (1 - sp.tanh(x)**2) * sp.exp(-x**2)
    assert (answer - sp.diff(sp.tanh(x), x)).subs(x, 1) != 0  # wrong at x = 1 already
    verdict, = grade([{"function": "tanh(x)", "wrt": "x",
                       "answer": "1 - tanh(x)^2 + x^2*(1 - tanh(x)^2)*exp(-x^2)"}], worker)
    assert verdict.status == "incorrect", verdict.message
