"""Every notebook in notebooks/ runs top to bottom in a fresh kernel without an error."""
from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path):
    book = nbformat.read(path, as_version=4)
    assert book.metadata.get("kernelspec", {}).get("name"), f"{path.name} has no kernelspec (JupyterLab would ask)"
    client = nbclient.NotebookClient(book, timeout=300, kernel_name=book.metadata.kernelspec.name,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
