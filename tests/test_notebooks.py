"""Every source notebook (markers removed) executes top to bottom in a fresh kernel.

Timing is not asserted here (timed tests flake on a busy machine); `scripts/benchmark.py
--notebooks` measures it and the README records the figures.
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import ASSIGNMENTS, solution_notebook
from nbclient import NotebookClient


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_source_notebook_executes_top_to_bottom(aid, tmp_path):
    nb = nbformat.from_dict(solution_notebook(aid))
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("output_type") == "error"
    ]
    assert not errors
