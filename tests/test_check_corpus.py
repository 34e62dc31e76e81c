"""The equivalence corpus: ≥100 (function, variable, answer, verdict) rows derived by hand."""
from pathlib import Path

import pytest

from symbackprop.check import check_derivative

CORPUS = Path(__file__).parent / "data" / "check_corpus.tsv"
STATUS = {"c": "correct", "i": "incorrect", "v": "invalid"}
ROWS = [line.split("\t") for line in CORPUS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")]


def test_corpus_is_large_enough():
    assert len(ROWS) >= 100
    assert sum(r[3] == "c" for r in ROWS) >= 40 and sum(r[3] == "i" for r in ROWS) >= 40


@pytest.mark.parametrize("function,wrt,answer,verdict", ROWS, ids=[f"{r[0]}|{r[2]}" for r in ROWS])
def test_corpus_verdict(function, wrt, answer, verdict):
    result = check_derivative(function, wrt, answer)
    assert result.status == STATUS[verdict.strip()], result.message
    if result.status == "incorrect":
        assert result.counterexample is not None
