"""Scores into nbgrader's gradebook, so ``nbgrader export`` and formgrader show them.

Each hidden test scores one notebook grade cell; a cell's auto score is the sum of its tests.
The assignment's cells are registered from the source notebook if ``nbgrader generate_assignment``
has not done it yet.
"""

from __future__ import annotations

from collections import defaultdict

from autograder.reference import source_layout


def cell_scores(report: dict) -> dict[str, float]:
    scores: dict[str, float] = defaultdict(float)
    for t in report["tests"]:
        scores[t["cell"]] += float(t["score"])
    return scores


def _ensure_assignment(gb, assignment: str) -> None:
    from nbgrader.api import MissingEntry

    gb.update_or_create_assignment(assignment)
    try:
        gb.find_notebook(assignment, assignment)
    except MissingEntry:
        gb.update_or_create_notebook(assignment, assignment)
    for cell in source_layout(assignment).grade_cells:
        try:
            gb.find_grade_cell(cell.grade_id, assignment, assignment)
        except MissingEntry:
            gb.update_or_create_grade_cell(
                cell.grade_id, assignment, assignment, max_score=cell.points, cell_type="code"
            )


def record(db_url: str, results: list[tuple[str, dict]]) -> int:
    """Write ``(student, report)`` pairs into the gradebook; returns how many were written."""
    import os
    import sys
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    # A new gradebook is created by running `alembic`, which lives beside this interpreter
    # (the venv may not be activated).
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")

    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy autoflush chatter
    warnings.filterwarnings("ignore", message=".*not in session.*")
    written = 0
    with Gradebook(db_url) as gb:
        for assignment in sorted({r["assignment"] for _, r in results}):
            _ensure_assignment(gb, assignment)
        for student, report in results:
            assignment = report["assignment"]
            gb.update_or_create_student(student)
            gb.update_or_create_submission(assignment, student)
            scores = cell_scores(report)
            for cell in source_layout(assignment).grade_cells:
                try:
                    grade = gb.find_grade(cell.grade_id, assignment, assignment, student)
                except MissingEntry:
                    continue
                grade.auto_score = scores.get(cell.grade_id, 0.0)
            written += 1
        gb.db.commit()
    return written
