"""grade-all over nbgrader's submitted/ layout: every submission gets a result, broken ones
included, and the results land in the JSON reports, the CSV and nbgrader's gradebook."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import pytest
from conftest import ASSIGNMENTS, ROOT

# Under pytest-xdist this module runs on one worker: the examples are graded once.
pytestmark = pytest.mark.xdist_group("batch")


@pytest.fixture(scope="module")
def batch(graded_examples):
    base, db, first = graded_examples
    again = subprocess.run(first.args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return base, db, first, again


def test_every_example_is_graded_and_the_batch_carries_on_past_broken_files(batch):
    base, _, first, _ = batch
    assert first.returncode == 0, first.stderr
    reports = {
        (p.parent.name, p.stem): json.loads(p.read_text())
        for p in (base / "reports").glob("*/*.json")
    }
    for aid in ASSIGNMENTS:
        assert reports[("alice", aid)]["score"] == reports[("alice", aid)]["max_score"]
        assert 0 < reports[("bob", aid)]["score"] < reports[("bob", aid)]["max_score"]
        assert 0 < reports[("carol", aid)]["score"] < reports[("bob", aid)]["max_score"]
        assert reports[("dave", aid)]["status"] == "error"
    assert "alice" in first.stdout and "reports:" in first.stdout


def test_already_graded_submissions_are_skipped_without_force(batch):
    _, _, _, again = batch
    assert "0 to grade" in again.stdout


def test_csv_has_one_row_per_submission(batch):
    base, *_ = batch
    with open(base / "reports" / "grades.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * len(ASSIGNMENTS)
    assert {r["status"] for r in rows if r["student"] == "dave"} == {"error"}


def test_scores_are_in_nbgraders_gradebook(batch):
    from nbgrader.api import Gradebook

    base, db, *_ = batch
    report = json.loads((base / "reports" / "bob" / f"{ASSIGNMENTS[0]}.json").read_text())
    with Gradebook(db) as gb:
        sub = gb.find_submission(ASSIGNMENTS[0], "bob")
        assert sub.score == pytest.approx(report["score"])
        assert sub.max_score == pytest.approx(report["max_score"])


def test_grade_all_feedback_writes_a_page_per_example_submission(batch, tmp_path):
    base, *_ = batch
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade-all",
            str(base / "submitted"),
            "--reports",
            str(base / "reports"),
            "--gradebook",
            "none",
            "--feedback",
            str(tmp_path / "feedback"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "0 to grade" in proc.stdout
    pages = {(p.parent.name, p.stem) for p in (tmp_path / "feedback").glob("*/*.html")}
    students = ("alice", "bob", "carol", "dave")
    assert pages == {(s, aid) for s in students for aid in ASSIGNMENTS}
    report = json.loads((base / "reports" / "bob" / f"{ASSIGNMENTS[0]}.json").read_text())
    bob = (tmp_path / "feedback" / "bob" / f"{ASSIGNMENTS[0]}.html").read_text()
    assert f"Score: {report['score']:g} / {report['max_score']:g}" in bob
    dave = (tmp_path / "feedback" / "dave" / f"{ASSIGNMENTS[0]}.html").read_text()
    assert "Your notebook could not be graded" in dave


def test_analytics_writes_its_plots_and_page_for_the_examples(batch, tmp_path):
    base, *_ = batch
    out = tmp_path / "analytics"
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "analytics", str(base / "reports"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    expected = {f"plots/{aid}.png" for aid in ASSIGNMENTS}
    expected |= {"plots/heatmap.png", "plots/overview.png"}
    page = (out / "index.html").read_text()
    assert set(re.findall(r'src="([^"]+)"', page)) == expected
    for name in expected:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"{4 * len(ASSIGNMENTS)} report(s): 4 student(s)" in page
