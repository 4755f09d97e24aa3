"""release/ and solutions/ are what the build makes from source/, and the release leaks
neither solution code nor hidden-test text."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ASSIGNMENTS, ROOT, answer_cells

from autograder.paths import hidden_tests

MARK_BEGIN, MARK_END = "### BEGIN SOLUTION", "### END SOLUTION"


def release_text(aid: str) -> str:
    return (ROOT / "release" / aid / f"{aid}.ipynb").read_text()


def solution_lines(aid: str) -> list[str]:
    """Substantial lines that sit between solution markers in the source."""
    nb = json.loads((ROOT / "source" / aid / f"{aid}.ipynb").read_text())
    lines, inside = [], False
    for cell in answer_cells(nb):
        src = cell["source"]
        for line in ("".join(src) if isinstance(src, list) else src).split("\n"):
            stripped = line.strip()
            if stripped == MARK_BEGIN:
                inside = True
            elif stripped == MARK_END:
                inside = False
            elif inside and len(stripped) > 25 and not stripped.startswith("#"):
                lines.append(stripped)
    return lines


def test_release_and_solutions_are_in_sync_with_source():
    proc = subprocess.run(
        [sys.executable, "scripts/build.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def release_code(aid: str) -> str:
    """The code cells of the release (prose may spell out a recipe on purpose)."""
    nb = json.loads(release_text(aid))
    return "\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if c["cell_type"] == "code"
    )


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_release_contains_no_solution_code(aid):
    assert MARK_BEGIN not in release_text(aid)
    code = release_code(aid)
    leaked = [line for line in solution_lines(aid) if line in code]
    assert not leaked, f"solution lines in the release: {leaked[:3]}"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_release_contains_no_hidden_test_text(aid):
    text = release_text(aid)
    hidden = hidden_tests(aid).read_text()
    names = [line.split("(")[0][4:] for line in hidden.splitlines() if line.startswith("def test_")]
    assert names and not [n for n in names if n in text]
    assert "autograder" not in text


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_committed_notebooks_have_no_outputs(aid):
    for folder in ("source", "release"):
        nb = json.loads((ROOT / folder / aid / f"{aid}.ipynb").read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None
