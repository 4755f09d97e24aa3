"""release/ and solutions/ are what the build makes from source/, and the release leaks
neither solution code nor hidden-test text."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, ROOT, answer_cells

from autograder.registry import hidden_tests

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


def build_check(*args: str) -> subprocess.CompletedProcess:
    """``python scripts/build.py check ...`` (what `make check` runs)."""
    return subprocess.run(
        [sys.executable, "scripts/build.py", "check", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_release_and_solutions_are_in_sync_with_source(aid):
    proc = build_check(aid)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def save_like_jupyterlab(path: Path) -> None:
    """Rewrite a notebook the way JupyterLab's autosave does: new kernelspec display name and
    language_info, nbformat 4.5 cell ids, editor flags in cell metadata, sources as line lists,
    its own JSON layout. Nothing nbgrader decides (sources, nbgrader metadata, locks) changes."""
    nb = json.loads(path.read_text())
    nb["metadata"]["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb["metadata"]["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.11.7",
    }
    nb["nbformat_minor"] = 5
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"{i:08x}-lab"
        src = cell["source"]
        cell["source"] = ("".join(src) if isinstance(src, list) else src).splitlines(True)
        if cell["cell_type"] == "code":
            cell["metadata"]["scrolled"] = True
        else:
            cell["metadata"]["jp-MarkdownHeadingCollapsed"] = False
    path.write_text(json.dumps(nb, indent=2, sort_keys=True, ensure_ascii=False))


def test_notebooks_saved_by_jupyterlab_stay_in_sync(tmp_path):
    aid = ASSIGNMENTS[0]
    for folder in ("release", "solutions"):
        shutil.copytree(ROOT / folder / aid, tmp_path / folder / aid)
        save_like_jupyterlab(tmp_path / folder / aid / f"{aid}.ipynb")
    proc = build_check(
        aid,
        "--release-dir",
        str(tmp_path / "release"),
        "--solutions-dir",
        str(tmp_path / "solutions"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_changed_release_cell_is_out_of_sync(tmp_path):
    aid = ASSIGNMENTS[0]
    shutil.copytree(ROOT / "release" / aid, tmp_path / "release" / aid)
    path = tmp_path / "release" / aid / f"{aid}.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = "edited by hand"
    path.write_text(json.dumps(nb))
    proc = build_check(aid, "--release-dir", str(tmp_path / "release"))
    assert proc.returncode == 1 and f"release/{aid} differs" in proc.stdout


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
    # tests defined with `def test_x(...)` and tests built by a shared factory (`test_x = ...`)
    names = re.findall(r"^def (test_\w+)\(|^(test_\w+) =", hidden, flags=re.M)
    names = [a or b for a, b in names]
    assert names and not [n for n in names if n in text]
    assert "autograder" not in text


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_committed_notebooks_have_no_outputs(aid):
    for folder in ("source", "release"):
        nb = json.loads((ROOT / folder / aid / f"{aid}.ipynb").read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None
