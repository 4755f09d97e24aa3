"""Shared helpers for the kit's own tests: notebooks to grade and a way to grade them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
