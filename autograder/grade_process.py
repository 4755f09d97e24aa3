"""The ``grade`` command in a process of its own: how ``grade-all``, nbgrader's autograde (through
``grade-all``'s ``grade_one``) and Gradescope's ``run_autograder`` grade one notebook, so nothing
a submission does to the grader (a crash, a hang) reaches the caller."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autograder.registry import KIT_ROOT


def _from_kit_root(path: Path) -> str:
    """``path`` as the grading process (run in the kit's root) must be given it: relative to
    the kit's root if inside it (as when grade-all runs there), absolute otherwise."""
    absolute = Path(os.path.abspath(path))
    return str(absolute.relative_to(KIT_ROOT) if absolute.is_relative_to(KIT_ROOT) else absolute)


def run_grade(
    notebook: Path, assignment: str, out: Path, timeout: float
) -> subprocess.CompletedProcess | None:
    """``python -m autograder grade NOTEBOOK --assignment ID --json OUT`` in its own process,
    run in the kit's root; the finished process, or None if it did not finish in ``timeout`` s.

    """
    cmd = [sys.executable, "-m", "autograder", "grade", _from_kit_root(notebook)]
    cmd += ["--assignment", assignment, "--json", _from_kit_root(out)]
    try:
        return subprocess.run(cmd, cwd=KIT_ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
