"""nbgrader itself accepts our source notebooks, and the student version (solutions removed) fails validation.

Runs nbgrader's own preprocessors (ClearSolutions, ClearHiddenTests, as `nbgrader generate_assignment`
does) and its Validator (what `nbgrader validate` runs), each notebook executed in a real kernel.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")
from nbgrader.nbgraderformat import MetadataValidator  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions  # noqa: E402
from nbgrader.validator import Validator  # noqa: E402

from symbackprop.exercises import generate  # noqa: E402
from symbackprop.exercises.writers import dumps, notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _student_version(source: Path, target: Path) -> None:
    nb = nbformat.read(str(source), as_version=4)
    for preprocessor in (ClearSolutions(), ClearHiddenTests(), ClearOutput()):
        nb, _ = preprocessor.preprocess(nb, {})
    nbformat.write(nb, str(target))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A 5-part source notebook (gradient_magnitude, f = 3x² + 3xy + 3x + 2y² at (−1, 2))."""
    folder = tmp_path_factory.mktemp("nbgrader")
    path = folder / "magnitude.ipynb"
    path.write_text(dumps(notebook(generate("gradient_magnitude", seed=0), nbgrader=True)))
    return path


def test_metadata_is_nbgrader_schema_3_and_valid_nbformat(source):
    nb = nbformat.read(str(source), as_version=4)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)
    meta = [c.metadata.nbgrader for c in nb.cells]
    assert {m["schema_version"] for m in meta} == {3}
    assert sum(m["points"] for m in meta if m["grade"]) == 8
    assert sum(m["solution"] for m in meta) == 5
    text = source.read_text()
    for marker in ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
        assert text.count(marker) == 5


def test_source_notebooks_pass_nbgrader_validate():
    validator = Validator()
    for path in (ROOT / "exercises" / "nbgrader").glob("0[16]-*.ipynb"):  # chain_rule, gradient_magnitude
        assert validator.validate(str(path)) == {}, path.name


def test_student_version_fails_validation_as_it_should(source, tmp_path):
    student = tmp_path / "student.ipynb"
    _student_version(source, student)
    text = student.read_text()
    assert "### BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "sqrt(34)" not in text
    assert text.count("raise NotImplementedError()") == 5
    result = Validator().validate(str(student))
    assert len(result["failed"]) == 5  # every test cell fails: nothing was answered


def test_a_wrong_answer_gets_partial_credit_not_a_pass(source, tmp_path):
    """Answer (e) wrong in the source: nbgrader sees 0 of 2 points on that cell and fails only that cell."""
    nb = json.loads(source.read_text())
    for cell in nb["cells"]:
        if "answer_e = " in "".join(cell["source"]):
            cell["source"] = cell["source"].replace('"sqrt(34)"', '"5.8"')
    wrong = tmp_path / "wrong.ipynb"
    wrong.write_text(json.dumps(nb))
    result = Validator().validate(str(wrong))
    assert len(result["failed"]) == 1
    assert "Partial credit" in result["failed"][0]["raw_error"]
