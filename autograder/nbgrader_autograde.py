"""nbgrader's ``autograde`` runs the kit's engine instead of executing the notebook.

``nbgrader_config.py`` swaps two pieces of nbgrader's autograde pipeline (``Autograde``):

* ``KitAutograde`` takes the place of nbgrader's ``Execute`` and ``SaveAutoGrades``. It grades the
  student's *submitted* notebook with the same subprocess ``grade-all`` uses
  (``batch.grade_one``: ``python -m autograder grade ... --json``, in the sandbox), records each
  grade cell's auto score (the sum of that cell's hidden tests, as ``gradebook.record`` does) and
  replaces each grade cell's outputs in the autograded notebook with the kit's per-test lines
  (test name, points, the student message; never test code). ``nbgrader generate_feedback`` then
  renders those lines into each student's HTML feedback.
* ``KitExporter`` reads the submitted notebook; when it cannot be read at all (truncated JSON,
  not a notebook) it hands nbgrader a stand-in notebook saying so, so the kit still grades the
  file (score 0 and the reason) instead of nbgrader's whole run failing on one submission.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters import NotebookExporter
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, SaveAutoGrades
from traitlets import Unicode

from autograder.gradebook import cell_scores
from autograder.report import STATUS_MARK, clean_text, error_report


def kit_autograde_preprocessors(defaults: list[type]) -> list[type]:
    """nbgrader's autograde preprocessors with ``Execute`` replaced by ``KitAutograde`` and
    ``SaveAutoGrades`` (scores read from executed outputs) removed; the rest keep their order."""
    return [KitAutograde if p is Execute else p for p in defaults if p is not SaveAutoGrades]


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line for line in text.splitlines() or [""]]


def cell_feedback(report: dict, cell_id: str, points: float | None = None) -> str:
    """The lines a grade cell shows after autograding: the cell's kit score, then one line per
    hidden test of that cell (status, name, points) with the student message below it."""
    tests = [t for t in report["tests"] if t["cell"] == cell_id]
    got = sum(float(t["score"]) for t in tests)
    top = sum(float(t["max_score"]) for t in tests) if tests else (points or 0.0)
    lines = [f"Hidden tests for this cell: {got:g}/{top:g} points"]
    if report["status"] == "error":
        lines += _indent(f"This submission could not be graded: {report['error']}", "")
    if not tests and report["status"] != "error":
        lines.append("  (no hidden test scores this cell)")
    for t in tests:
        mark = STATUS_MARK.get(t["status"], "?   ")
        lines.append(f"  {mark} {t['name']}  {float(t['score']):g}/{float(t['max_score']):g}")
        if t["message"]:
            lines += _indent(clean_text(t["message"]), "       ")
    return "\n".join(lines) + "\n"


def _coursedir(pre: NbGraderPreprocessor) -> Any:
    """The converter's CourseDirectory (preprocessor -> exporter -> converter), else one built
    from this preprocessor's config."""
    exporter = getattr(pre, "parent", None)
    coursedir = getattr(getattr(exporter, "parent", None), "coursedir", None)
    if coursedir is None:
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=pre.config)
    return coursedir


class KitAutograde(NbGraderPreprocessor):
    """Grade the submission with the kit's engine, store its per-cell scores in the gradebook
    and put its per-test lines into the grade cells' outputs."""

    reports_directory = Unicode(
        "reports",
        help="Where the kit's JSON reports go (<dir>/<student>/<ID>.json, as grade-all writes "
        "them), relative to the course root; empty: a temporary folder, discarded.",
    ).tag(config=True)

    def grade(self, notebook_path: Path, assignment: str, root: str) -> dict:
        """The kit's report for one submitted notebook, graded exactly as ``grade-all`` does.
        Never raises: anything that stops grading becomes an error report (score 0)."""
        from autograder.batch import grade_one
        from autograder.registry import check_assignment
        from autograder.submission import Submission

        try:
            check_assignment(assignment)
        except Exception as exc:  # not one of the kit's assignments
            return error_report(assignment, str(notebook_path), f"not a kit assignment: {exc}")
        if notebook_path.stem != assignment:
            return error_report(
                assignment,
                str(notebook_path),
                f"the kit grades {assignment}.ipynb only, not {notebook_path.name}",
            )
        sub = Submission.at(notebook_path, assignment)
        try:
            if self.reports_directory:
                return grade_one(sub, Path(root, self.reports_directory))
            with tempfile.TemporaryDirectory(prefix="kit-autograde-") as tmp:
                return grade_one(sub, Path(tmp))
        except Exception as exc:  # the report could not be read back, the disk is full, ...
            return error_report(assignment, str(notebook_path), f"the grader failed: {exc}")

    def record(self, report: dict, db_url: str, notebook: str, student: str) -> None:
        """Each of the kit's grade cells gets auto score = the sum of its hidden tests (0 if none
        ran), as ``grade-all`` records it. Other grade cells (written answers the kit does not
        score) are left to the instructor: no auto score, flagged for manual grading, as
        nbgrader flags them. A hand-scored kit cell stays flagged for review, as nbgrader does."""
        from nbgrader.api import Gradebook

        from autograder.reference import source_layout

        scores = cell_scores(report)
        try:
            kit_cells = {c.grade_id for c in source_layout(report["assignment"]).grade_cells}
        except Exception:  # not a kit assignment: nothing of it is the kit's to score
            kit_cells = set()
        with Gradebook(db_url) as gb:
            nb = gb.find_submission_notebook(notebook, report["assignment"], student)
            for grade in nb.grades:
                if grade.name in kit_cells:
                    grade.auto_score = scores.get(grade.name, 0.0)  # exactly as gradebook.record
                    grade.needs_manual_grade = grade.manual_score is not None
                else:
                    grade.auto_score = None
                    grade.needs_manual_grade = True
            gb.db.commit()

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        """Grade, record, and rewrite the grade cells' outputs (nbgrader's preprocessor hook)."""
        info = resources["nbgrader"]
        assignment, student, notebook = info["assignment"], info["student"], info["notebook"]
        coursedir = _coursedir(self)
        folder = coursedir.format_path(coursedir.submitted_directory, student, assignment)
        path = Path(folder, f"{notebook}.ipynb")
        report = self.grade(path, assignment, coursedir.root)
        self.record(report, info["db_url"], notebook, student)
        self.log.info(
            "kit score for %s/%s: %g/%g%s",
            student,
            assignment,
            report["score"],
            report["max_score"],
            f" (could not be graded: {report['error']})" if report["status"] == "error" else "",
        )
        shown = set()
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade"):
                continue
            shown.add(meta.get("grade_id", ""))
            text = cell_feedback(report, meta.get("grade_id", ""), meta.get("points"))
            cell.outputs = [new_output("stream", name="stdout", text=text)]
            cell.execution_count = None
        missing = [c for c in dict.fromkeys(t["cell"] for t in report["tests"]) if c not in shown]
        if missing:  # grade cells the student deleted: their tests still count, and show here
            text = "".join(f"[{c}] " + cell_feedback(report, c) for c in missing)
            cell = new_code_cell("# Hidden tests of grade cells missing from this notebook")
            cell.outputs = [new_output("stream", name="stdout", text=text)]
            nb.cells.append(cell)
        return nb, resources


def stand_in_notebook(release: Path | None, problem: str) -> NotebookNode:
    """What nbgrader sanitizes in place of a submission it cannot read: the released student
    notebook (no solutions; its grade cells receive the kit's messages) or, without one, an
    empty notebook, headed by a note saying why."""
    note = new_markdown_cell(
        f"**This submission could not be read as a notebook** ({clean_text(problem, 300)}). "
        "None of its code ran; the autograder's messages are in the grade cells below."
    )
    nb = None
    if release is not None:
        try:
            nb = nbformat.read(release, as_version=4)
        except Exception:
            nb = None
    if nb is None:
        nb = new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
    nb.cells.insert(0, note)
    return nb


class KitExporter(NotebookExporter):
    """nbconvert's notebook exporter, except that an unreadable submission becomes a stand-in
    notebook (see ``stand_in_notebook``) instead of an exception that fails the submission."""

    def release_notebook(self, filename: str) -> Path | None:
        """The course's released notebook for ``<student>/<ID>/<name>.ipynb``, else the kit's."""
        from autograder import registry

        path = Path(filename)
        assignment = path.parent.name
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is not None:
            folder = coursedir.format_path(coursedir.release_directory, ".", assignment)
            if Path(folder, path.name).is_file():
                return Path(folder, path.name)
        try:
            kit = registry.release_notebook(registry.check_assignment(assignment))
        except Exception:
            return None
        return kit if kit.is_file() and kit.name == path.name else None

    def from_filename(
        self, filename: str, resources: dict | None = None, **kw: Any
    ) -> tuple[str, dict]:
        """Export ``filename``; an unreadable notebook is exported as a stand-in."""
        from autograder.intake import IntakeError, read_notebook_file

        try:
            # The kit's intake first (no links, a regular file, size cap), so nbgrader never
            # parses what the kit refuses; then nbformat's own reading.
            read_notebook_file(filename)
            with open(filename, encoding="utf-8") as fh:
                nbformat.read(fh, as_version=4)
        except Exception as exc:
            self.log.warning("%s could not be read (%s): grading a stand-in", filename, exc)
            resources = dict(resources or {})
            meta = dict(resources.get("metadata") or {})
            meta.setdefault("name", Path(filename).stem)
            meta.setdefault("path", os.path.dirname(os.path.abspath(filename)))
            resources["metadata"] = meta
            problem = str(exc) if isinstance(exc, IntakeError) else f"{type(exc).__name__}: {exc}"
            problem = (problem.splitlines() or ["unreadable"])[0]
            stand_in = stand_in_notebook(self.release_notebook(filename), problem)
            return self.from_notebook_node(stand_in, resources, **kw)
        return super().from_filename(filename, resources=resources, **kw)
