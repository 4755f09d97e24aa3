"""Shared helpers for the kit's own tests: notebooks to grade and a way to grade them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from build import solution_notebook  # noqa: E402, F401  (re-exported for the test modules)
from catalogue import answer_cell, load_catalogue, mutate, write_nb  # noqa: E402, F401

from autograder.registry import assignments  # noqa: E402

#: The built assignments, in course order (the registry of the thirty decides which exist).
ASSIGNMENTS = assignments()


def answer_cells(nb: dict) -> list[dict]:
    """The cells of ``nb`` that hold a student's answer (nbgrader ``solution: true``)."""
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def run_grade(path: Path, aid: str, out: Path, timeout: float = 300) -> tuple[int, dict]:
    """``python -m autograder grade path --assignment aid --json out``: (exit code, report)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(path),
            "--assignment",
            aid,
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return proc.returncode, report


def grade_notebook(nb: dict, aid: str, tmp_path: Path) -> dict:
    """Grade ``nb`` as ``aid`` in nbgrader's layout under ``tmp_path``; the report (exit 0)."""
    path = write_nb(tmp_path / "submitted" / "student" / aid / f"{aid}.ipynb", nb)
    code, report = run_grade(path, aid, tmp_path / "reports" / f"{aid}.json")
    assert code == 0 and report, f"the grader failed (exit {code})"
    return report


@pytest.fixture(scope="session")
def graded_examples(tmp_path_factory) -> tuple[Path, str, subprocess.CompletedProcess]:
    """The bundled examples graded once by ``grade-all`` (2 jobs): (folder holding
    ``submitted/`` and ``reports/``, gradebook URL, the finished run). Shared by the modules of
    xdist_group "batch", which run on one worker."""
    base = tmp_path_factory.mktemp("batch")
    shutil.copytree(ROOT / "examples" / "submitted", base / "submitted")
    db = f"sqlite:///{base / 'gradebook.db'}"
    cmd = [
        sys.executable,
        "-m",
        "autograder",
        "grade-all",
        str(base / "submitted"),
        "--jobs",
        "2",
        "--reports",
        str(base / "reports"),
        "--gradebook",
        db,
    ]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return base, db, first
