"""Every source notebook (markers removed) executes top to bottom in a fresh kernel; a fresh
release run cell by cell stops only at NotImplementedErrors that say what to write; no notebook
text holds control characters.

Timing is not asserted here (timed tests flake on a busy machine); `scripts/benchmark.py
--notebooks` measures it and the README records the figures.
"""

from __future__ import annotations

import json
import re
import shutil

import nbformat
import pytest
from conftest import ASSIGNMENTS, ROOT, solution_notebook
from nbclient import NotebookClient

from autograder import given_blocks
from autograder.registry import release_notebook


def _errors(nb) -> list[dict]:
    return [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("output_type") == "error"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_source_notebook_executes_top_to_bottom(aid, tmp_path):
    given_blocks.write(aid, tmp_path)  # the notebook imports its given blocks from beside it
    nb = nbformat.from_dict(solution_notebook(aid))
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert not _errors(nb)


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_a_fresh_release_stops_only_at_named_not_implemented_errors(aid, tmp_path):
    """A student who runs every cell of a fresh release sees only NotImplementedErrors, each
    with a message naming what to write (no NameError, KeyError or results of nothing)."""
    folder = tmp_path / aid
    shutil.copytree(release_notebook(aid).parent, folder)
    nb = nbformat.read(folder / f"{aid}.ipynb", as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    ).execute()
    wrong = [
        f"{o['ename']}: {o['evalue'][:200]}"
        for o in _errors(nb)
        if o["ename"] != "NotImplementedError" or not o["evalue"].strip()
    ]
    assert not wrong, "\n".join(wrong)


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@pytest.mark.parametrize("folder", ["source", "release", "solutions"])
def test_no_notebook_text_holds_a_control_character(folder):
    """A stray control character (a BEL where `\\a` of `\\approx` was meant) breaks the math."""
    found = []
    for path in sorted((ROOT / folder).glob("*/*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for m in CONTROL.finditer(text):
                found.append(f"{path.relative_to(ROOT)} cell {i}: {m.group()!r} at {m.start()}")
    assert not found, "\n".join(found)


def _derivation_cells(nb: dict) -> dict[str, str]:
    return {
        c["metadata"]["nbgrader"]["grade_id"]: (
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        )
        for c in nb["cells"]
        if c["cell_type"] == "markdown" and c["metadata"].get("nbgrader", {}).get("solution")
    }


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_backward_has_a_derivation_the_student_writes(aid):
    """Students derive: each graded *_backward has a derivation cell, written out in the answer
    key and blank ("YOUR ANSWER HERE") in the release."""
    backwards = sorted(n for n in given_blocks.graded_names(aid) if n.endswith("_backward"))
    source = _derivation_cells(json.loads((ROOT / "source" / aid / f"{aid}.ipynb").read_text()))
    release = _derivation_cells(json.loads(release_notebook(aid).read_text()))
    missing = [b for b in backwards if f"derive_{b}" not in source]
    assert not missing, f"{aid}: no derivation cell for {missing}"
    for gid, text in source.items():
        assert len(text.split()) >= 30, f"{aid}: the derivation {gid} is only {text[:80]!r}"
        assert release[gid].strip() == "YOUR ANSWER HERE", f"{aid}: {gid} is not blank in release"
