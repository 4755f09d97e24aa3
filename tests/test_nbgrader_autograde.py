"""nbgrader's own autograde runs the kit: in a scratch course holding the bundled examples,
``nbgrader autograde ID`` then ``nbgrader export`` give grade-all's scores for every assignment,
the autograded notebooks carry the kit's messages (never hidden-test code), generate_feedback
writes them into HTML, formgrader's API lists the submissions, and its Autograde button keeps
the kit's scores."""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ASSIGNMENTS, ROOT
from nbformat.v4 import new_code_cell, new_notebook, new_output
from traitlets.config.loader import PyFileConfigLoader

from autograder.nbgrader_autograde import (
    KitAutograde,
    KitExporter,
    cell_feedback,
    kit_autograde_preprocessors,
)
from autograder.registry import hidden_tests

# The grade-all run is shared with test_batch.py (conftest's session fixture): same worker.
pytestmark = pytest.mark.xdist_group("batch")

NBGRADER = str(Path(sys.executable).with_name("nbgrader"))
STUDENTS = ("alice", "bob", "carol", "dave")


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the venv's ``nbgrader`` in ``course`` (its config is the kit's, linked)."""
    return subprocess.run(
        [NBGRADER, *args], cwd=course, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, dict[str, float]]:
    """A scratch course: the kit's config (linked), source/, the generated release and
    gradebook, the examples in submitted/, each assignment autograded by ``nbgrader autograde
    ID`` and exported. Returns the course folder and the wall time of each step."""
    base = tmp_path_factory.mktemp("course")
    os.symlink(ROOT / "nbgrader_config.py", base / "nbgrader_config.py")
    shutil.copytree(ROOT / "source", base / "source")
    shutil.copytree(ROOT / "examples" / "submitted", base / "submitted")
    times = {}
    t0 = time.monotonic()
    gen = nbgrader(base, "generate_assignment", "*", "--force")
    assert gen.returncode == 0, gen.stderr[-3000:]
    times["generate"] = time.monotonic() - t0
    t0 = time.monotonic()
    for aid in ASSIGNMENTS:
        run = nbgrader(base, "autograde", aid)
        assert run.returncode == 0, f"nbgrader autograde {aid} failed:\n{run.stderr[-3000:]}"
        assert f"kit score for dave/{aid}: 0/" in run.stderr, "the corrupt submission was skipped"
    times["autograde"] = time.monotonic() - t0
    export = nbgrader(base, "export")
    assert export.returncode == 0, export.stderr[-3000:]
    print(f"scratch course: {times}")
    return base, times


def exported(course_dir: Path) -> dict[tuple[str, str], dict]:
    with open(course_dir / "grades.csv") as fh:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}


def test_nbgrader_autograde_then_export_gives_grade_alls_scores_for_every_assignment(
    course, graded_examples
):
    from nbgrader.api import Gradebook

    course_dir, _ = course
    batch_dir, batch_db, first = graded_examples
    assert first.returncode == 0, first.stderr
    rows = exported(course_dir)
    assert len(rows) == len(STUDENTS) * len(ASSIGNMENTS)
    with Gradebook(batch_db) as gb:
        for aid in ASSIGNMENTS:
            for student in STUDENTS:
                report = json.loads((batch_dir / "reports" / student / f"{aid}.json").read_text())
                row = rows[student, aid]
                assert float(row["score"]) == pytest.approx(report["score"]), (student, aid)
                assert float(row["max_score"]) == pytest.approx(report["max_score"])
                assert gb.find_submission(aid, student).score == pytest.approx(report["score"])
    scores = {float(rows["bob", a]["score"]) for a in ASSIGNMENTS}
    assert {float(rows["dave", a]["score"]) for a in ASSIGNMENTS} == {0.0}
    assert all(0 < s for s in scores), "bob's partial scores reached the gradebook"


def _code_lines(path: Path) -> list[str]:
    """Lines of a hidden test module long enough to be recognisable code."""
    lines = []
    for line in path.read_text().splitlines():
        text = line.strip()
        if len(text) >= 24 and not text.startswith(("#", '"', "'", "from ", "import ")):
            lines.append(text)
    return lines


def test_grade_cells_of_autograded_notebooks_hold_the_kits_messages_and_no_test_code(
    course, graded_examples
):
    course_dir, _ = course
    batch_dir, *_ = graded_examples
    for aid in ASSIGNMENTS:
        code = _code_lines(hidden_tests(aid))
        assert code, aid
        for student in ("bob", "dave"):
            report = json.loads((batch_dir / "reports" / student / f"{aid}.json").read_text())
            nb = nbformat.read(course_dir / "autograded" / student / aid / f"{aid}.ipynb", 4)
            outputs = {}
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if cell.cell_type == "code" and meta.get("grade"):
                    outputs[meta["grade_id"]] = "".join(o.get("text", "") for o in cell.outputs)
            assert set(outputs) >= {t["cell"] for t in report["tests"]}, (student, aid)
            for t in report["tests"]:
                shown = outputs[t["cell"]]
                assert f"{t['name']}  {t['score']:g}/{t['max_score']:g}" in shown
                if t["message"]:
                    assert t["message"].splitlines()[0] in shown
            every = "\n".join(outputs.values())
            leaked = [line for line in code if line in every]
            assert not leaked, f"hidden-test code in {student}/{aid}'s outputs: {leaked[:3]}"
            if student == "dave":
                assert "could not be graded" in every


def test_generate_feedback_writes_html_with_the_kits_messages(course, graded_examples):
    course_dir, _ = course
    batch_dir, *_ = graded_examples
    aid = ASSIGNMENTS[0]
    run = nbgrader(course_dir, "generate_feedback", aid)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((batch_dir / "reports" / "bob" / f"{aid}.json").read_text())
    failed = next(t for t in report["tests"] if t["status"] == "failed")
    page = (course_dir / "feedback" / "bob" / aid / f"{aid}.html").read_text()
    assert html.escape(failed["message"].splitlines()[0][:80], quote=False) in page
    assert failed["name"] in page
    dave = (course_dir / "feedback" / "dave" / aid / f"{aid}.html").read_text()
    assert "could not be graded" in dave


def _api(course_dir: Path):
    """nbgrader's API as formgrader builds it, with the course's config."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def test_formgrader_lists_the_submissions_and_its_autograde_button_keeps_the_kits_scores(
    course, graded_examples
):
    course_dir, _ = course
    batch_dir, *_ = graded_examples
    aid = ASSIGNMENTS[0]
    api = _api(course_dir)
    before = {s["student"]: s for s in api.get_submissions(aid)}
    assert set(before) == set(STUDENTS)
    for student, sub in before.items():
        report = json.loads((batch_dir / "reports" / student / f"{aid}.json").read_text())
        assert sub["autograded"] and sub["submitted"], student
        assert sub["score"] == pytest.approx(report["score"]), student
    assert api.get_assignment(aid)["num_submissions"] == len(STUDENTS)
    result = api.autograde(aid, "bob")  # what formgrader's Autograde button calls
    assert result["success"], result.get("error")
    after = {s["student"]: s for s in api.get_submissions(aid)}
    assert after["bob"]["score"] == pytest.approx(before["bob"]["score"])
    assert after["bob"]["score"] < after["bob"]["max_score"]


def test_the_courses_config_never_runs_nbgraders_execute_or_saveautogrades():
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute, SaveAutoGrades

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    pipeline = config.Autograde.autograde_preprocessors
    assert KitAutograde in pipeline
    assert Execute not in pipeline and SaveAutoGrades not in pipeline
    assert config.Autograde.exporter_class is KitExporter
    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    assert kit_autograde_preprocessors(defaults)[1:] == [
        p for p in defaults if p not in (Execute, SaveAutoGrades)
    ]


@pytest.mark.parametrize("kind", ["truncated_json", "symlink_to_the_source"])
def test_an_unreadable_submission_is_exported_as_the_release_under_a_note(tmp_path, kind):
    aid = ASSIGNMENTS[0]
    bad = tmp_path / "submitted" / "eve" / aid / f"{aid}.ipynb"
    bad.parent.mkdir(parents=True)
    if kind == "truncated_json":
        bad.write_text('{"cells": [')
    else:  # the kit refuses links; nbgrader must not read the answer key through one
        os.symlink(ROOT / "source" / aid / f"{aid}.ipynb", bad)
    text, _ = KitExporter().from_filename(str(bad), resources={})
    nb = nbformat.reads(text, 4)
    assert "could not be read as a notebook" in nb.cells[0].source
    if kind == "symlink_to_the_source":
        assert "symbolic link" in nb.cells[0].source
    release = nbformat.read(ROOT / "release" / aid / f"{aid}.ipynb", 4)
    assert [c.source for c in nb.cells[1:]] == [c.source for c in release.cells]


def test_student_text_in_a_message_is_escaped_in_the_feedback_html():
    from nbconvert import HTMLExporter

    hostile = "<script>alert(1)</script> & <img src=x onerror=alert(2)>"
    report = {
        "status": "graded",
        "error": None,
        "tests": [
            {"name": "f_forward", "cell": "f", "score": 0, "max_score": 1.0, "status": "failed"}
            | {"message": hostile}
        ],
    }
    text = cell_feedback(report, "f")
    assert "f_forward  0/1" in text and hostile in text
    cell = new_code_cell("check()", outputs=[new_output("stream", name="stdout", text=text)])
    page, _ = HTMLExporter().from_notebook_node(new_notebook(cells=[cell]))
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
