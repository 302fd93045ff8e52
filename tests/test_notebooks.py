"""Execute the teaching notebooks top to bottom (nbclient, kernel python3); no cell may error."""
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
TIME_LIMIT_S = 60.0


def _execute(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


@pytest.mark.parametrize("name", ["one_frame.ipynb"])
def test_notebook_runs_without_errors(name):
    path = NOTEBOOKS_DIR / name
    start = time.monotonic()
    notebook = _execute(path)  # raises CellExecutionError, naming the cell, if one fails
    elapsed_s = time.monotonic() - start
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert code_cells and all(c.execution_count is not None for c in code_cells)
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    figures = [o for c in code_cells for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 8, "every step of the frame path should draw its picture"
    assert elapsed_s < TIME_LIMIT_S


def test_notebooks_define_no_codec_logic():
    # notebooks import the package; functions and classes belong in it (STYLE.md, point 11)
    for path in NOTEBOOKS_DIR.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert "\ndef " not in "\n" + cell.source, path.name
                assert "\nclass " not in "\n" + cell.source, path.name
