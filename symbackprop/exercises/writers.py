"""Writers: one set of exercises, four forms. Writers lay out what the templates computed; no math here.

- `nbgrader`: source notebooks for nbgrader (cell metadata schema 3, solution regions, autograded test
  cells with hidden tests); our own data lives under the `symbackprop` metadata key.
- `notebook`: a student notebook (answer cells to fill in) for courses without nbgrader.
- `markdown`: a printable worksheet per exercise, and `key.md`.
- `json`: the statement and parts per exercise, with an answer template.

Every format also writes `key.json`. Output is deterministic: the same exercises give the same bytes.

>>> from symbackprop.exercises import generate
>>> nb = notebook(generate("chain_rule", seed=0), nbgrader=True)
>>> [c["metadata"]["nbgrader"]["grade"] for c in nb["cells"] if "points" in c["metadata"]["nbgrader"]]
[True, True]
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

from .model import Exercise, Key, Part

FORMATS = ("nbgrader", "notebook", "markdown", "json")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def dumps(data: Any) -> str:
    """JSON the way nbformat writes notebooks (indent 1, sorted keys), ending in a newline."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# --- notebooks --------------------------------------------------------------------------------------

def _nbgrader(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = True,
              points: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
                            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


class _Cells:
    """Builds cells with stable ids (`<exercise>-<n>`) so that regenerating gives the same bytes."""

    def __init__(self, exercise: Exercise, nbgrader: bool):
        self.exercise, self.nbgrader, self.cells = exercise, nbgrader, []

    def add(self, kind: str, source: str, name: str, ours: dict[str, Any] | None = None, **grading: Any) -> None:
        metadata: dict[str, Any] = {}
        if self.nbgrader:
            metadata["nbgrader"] = _nbgrader(f"{self.exercise.id}-{name}", **grading)
        if ours:
            metadata["symbackprop"] = ours
        cell: dict[str, Any] = {"cell_type": kind, "id": f"{self.exercise.id}-{name}"[:64], "metadata": metadata,
                                "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        self.cells.append(cell)


def _prompt(part: Part) -> str:
    uses = f" Use: {', '.join(f'`{v}`' for v in part.variables)}." if part.variables else ""
    return f"**({part.id})** [{part.points} point{'s' * (part.points != 1)}] {part.prompt}{uses}"


def _hints(exercise: Exercise) -> str:
    items = "\n".join(f"- {h}" for h in exercise.hints)
    return f"<details><summary>Hints</summary>\n\n{items}\n\n</details>"


def _heading(exercise: Exercise) -> str:
    who = f" — {exercise.student}" if exercise.student else ""
    return (f"## {exercise.number}. {exercise.title} ({exercise.points} points){who}\n\n{exercise.statement}\n\n"
            "Write each answer as text between quotes, e.g. `answer_a = \"2*x*cos(x^2)\"`.")


def notebook(exercise: Exercise, nbgrader: bool = False) -> dict[str, Any]:
    """An exercise as a notebook: the nbgrader source version (solutions, hidden tests) or the student one."""
    cells = _Cells(exercise, nbgrader)
    cells.add("markdown", _heading(exercise), "statement", {"role": "statement", "exercise": exercise.id})
    cells.add("code", "from symbackprop.exercises import autograde, readable", "setup")
    for part in exercise.parts:
        ours = {"role": "answer", "exercise": exercise.id, "part": part.id}
        cells.add("markdown", _prompt(part), f"{part.id}-prompt")
        if nbgrader:
            cells.add("code", f"### BEGIN SOLUTION\nanswer_{part.id} = {json.dumps(part.answer)}\n### END SOLUTION",
                      f"{part.id}-answer", ours, solution=True, locked=False)
            test = (f"# Part ({part.id}) is checked for readability here; hidden tests grade it with symbackprop's "
                    f"checker\n# and print the points and feedback.\nreadable(answer_{part.id}, "
                    f"{list(part.variables)!r})\n### BEGIN HIDDEN TESTS\n"
                    f"autograde({part.to_dict()!r}, answer_{part.id})\n### END HIDDEN TESTS")
            cells.add("code", test, f"{part.id}-test", {"role": "test", "exercise": exercise.id, "part": part.id},
                      grade=True, points=part.points)
        else:
            cells.add("code", f"answer_{part.id} = \"\"  # your answer, between the quotes", f"{part.id}-answer", ours)
            cells.add("code", f"readable(answer_{part.id}, {list(part.variables)!r}, strict=False)",
                      f"{part.id}-check")
    cells.add("markdown", _hints(exercise), "hints")
    ours = {"exercise": exercise.id, "template": exercise.template, "difficulty": exercise.difficulty,
            "seed": exercise.seed, "student": exercise.student, "version": "nbgrader" if nbgrader else "student"}
    return {"cells": cells.cells, "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"},
                                               "symbackprop": ours},
            "nbformat": 4, "nbformat_minor": 5}


# --- Markdown -------------------------------------------------------------------------------------------

def worksheet(exercise: Exercise) -> str:
    """A printable worksheet: statement, parts with points and space for answers, hints."""
    who = f"\n\nStudent: **{exercise.student}**" if exercise.student else "\n\nName: ______________________"
    parts = "\n\n".join(f"{_prompt(p)}\n\nAnswer: ______________________________________" for p in exercise.parts)
    hints = "\n".join(f"- {h}" for h in exercise.hints)
    return (f"# {exercise.number}. {exercise.title} ({exercise.points} points){who}\n\n{exercise.statement}\n\n"
            f"{parts}\n\n### Hints\n\n{hints}\n")


def _key_line(part: Part) -> str:
    approx = f" ≈ {part.decimal}" if part.decimal and part.decimal != part.answer else ""
    return f"- **({part.id})** [{part.points}] ${part.answer_latex}${approx}  \n  typed: `{part.answer}`"


def answer_key(exercises: Sequence[Exercise]) -> str:
    """The printable answer key for a set: every part's answer in LaTeX, typed form, and how it was verified."""
    blocks = []
    for e in exercises:
        who = f" — {e.student}" if e.student else ""
        parts = "\n".join(_key_line(p) for p in e.parts)
        blocks.append(f"## {e.id}: {e.title} ({e.points} points){who}\n\n{parts}\n\n*Verified:* {e.verification}\n")
    return "# Answer key\n\n" + "\n".join(blocks)


# --- JSON -----------------------------------------------------------------------------------------------

def student_json(exercise: Exercise) -> dict[str, Any]:
    """The statement and parts without answers, and an answer file to fill in for `exercises grade`."""
    parts = [{"id": p.id, "prompt": p.prompt, "points": p.points, "kind": p.kind, "variables": list(p.variables)}
             for p in exercise.parts]
    return {"exercise": exercise.id, "title": exercise.title, "template": exercise.template,
            "difficulty": exercise.difficulty, "student": exercise.student, "statement": exercise.statement,
            "parts": parts, "hints": list(exercise.hints),
            "answer_file": {"student": exercise.student, "answers": {exercise.id: {p.id: "" for p in exercise.parts}}}}


# --- a whole set ----------------------------------------------------------------------------------------

WRITERS: dict[str, tuple[str, Callable[[Exercise], str]]] = {
    "nbgrader": (".ipynb", lambda e: dumps(notebook(e, nbgrader=True))),
    "notebook": (".ipynb", lambda e: dumps(notebook(e))),
    "markdown": (".md", worksheet),
    "json": (".json", lambda e: dumps(student_json(e))),
}


def write_set(exercises: Sequence[Exercise], out: str | Path, fmt: str, options: dict[str, Any]) -> list[Path]:
    """One file per exercise in `out`, plus `key.json` (and `key.md` for Markdown). Returns the paths."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    suffix, write = WRITERS[fmt]
    written = []
    for e in exercises:
        path = out / f"{e.id}{suffix}"
        path.write_text(write(e), encoding="utf-8")
        written.append(path)
    if fmt == "markdown":
        (out / "key.md").write_text(answer_key(exercises), encoding="utf-8")
        written.append(out / "key.md")
    (out / "key.json").write_text(dumps(Key(tuple(exercises), options).to_dict()), encoding="utf-8")
    written.append(out / "key.json")
    return written
