"""Notebook 09 (check your own gradients) runs top to bottom and shows what it promises."""
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "09_check_your_gradients.ipynb"


def test_notebook_09_runs():
    book = nbformat.read(NOTEBOOK, as_version=4)
    assert book.metadata["kernelspec"]["name"] == "python3"
    nbclient.NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "\n".join(o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "first wrong line: 8" in text  # (line 1 is blank) the slides' dJ/dx_i line
    assert "dropped_local" in text and "missing_path" in text
    assert "alpha_1_1: relative error" in text and "wrong" in text  # the planted bug is found
