"""Broken and half-finished submissions get a score and a clear message per test; the grader
exits 0, never hangs past its limits and never changes the submission file."""

from __future__ import annotations

import copy
import hashlib
import time

import pytest
from conftest import ASSIGNMENTS, answer_cells, run_grade, solution_notebook, write_nb

AID = "22_scaling_laws" if "22_scaling_laws" in ASSIGNMENTS else (ASSIGNMENTS or [None])[0]
pytestmark = pytest.mark.skipif(AID is None, reason="no assignment to grade yet")

# Appended to an answer cell: every student function returns a NaN array of the wrong shape.
GARBAGE_RESULTS = """
import numpy as _np
for _name, _obj in list(globals().items()):
    if callable(_obj) and getattr(_obj, "__module__", "") == "submission":
        globals()[_name] = lambda *a, **k: _np.full((1, 1), _np.nan)
"""


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grade_notebook(tmp_path, nb=None, raw: bytes | None = None):
    path = tmp_path / "submission.ipynb"
    if raw is not None:
        path.write_bytes(raw)
    else:
        write_nb(path, nb)
    before = digest(path)
    t0 = time.monotonic()
    code, report = run_grade(path, AID, tmp_path / "report.json")
    assert code == 0, "the grader exits 0 whenever grading completed"
    assert digest(path) == before, "the submission file is never changed"
    assert report["tests"], "every test is listed, with a score"
    return report, time.monotonic() - t0


def edited(edit) -> dict:
    nb = copy.deepcopy(solution_notebook(AID))
    edit(answer_cells(nb))
    return nb


def messages(report) -> str:
    return "\n".join(t["message"] for t in report["tests"])


def test_corrupt_file_is_an_error_report_with_zero_score(tmp_path):
    report, _ = grade_notebook(tmp_path, raw=b"\x00\x01 definitely not a notebook")
    assert report["status"] == "error" and report["score"] == 0
    assert "not a text file" in report["error"] or "JSON" in report["error"]
    assert all(t["status"] == "error" for t in report["tests"])


def test_missing_answer_cells_are_named_in_the_messages(tmp_path):
    nb = solution_notebook(AID)
    nb["cells"] = [c for c in nb["cells"] if c not in answer_cells(nb)]
    report, _ = grade_notebook(tmp_path, nb)
    assert report["status"] == "graded" and report["score"] == 0
    assert "missing from your notebook" in messages(report)


@pytest.mark.parametrize(
    "prefix, expected",
    [
        ("raise RuntimeError('half-finished')\n", "RuntimeError"),
        ("import sys\nsys.exit(3)\n", "SystemExit"),
        ("import os\nos._exit(0)\n", "ended while loading"),
    ],
)
def test_failure_at_import_loses_only_what_it_breaks(tmp_path, prefix, expected):
    def edit(cells):
        cells[0]["source"] = prefix + cells[0]["source"]

    report, _ = grade_notebook(tmp_path, edited(edit))
    assert report["status"] == "graded"
    assert report["score"] < report["max_score"]
    assert expected in messages(report)


def test_wrong_shapes_and_nan_results_fail_with_a_message(tmp_path):
    def edit(cells):
        for c in cells:
            c["source"] += GARBAGE_RESULTS

    report, _ = grade_notebook(tmp_path, edited(edit))
    assert report["score"] == 0
    unclear = [t["name"] for t in report["tests"] if t["status"] != "failed" or not t["message"]]
    assert not unclear, f"these tests did not fail with a message: {unclear}"


def test_infinite_loop_at_import_is_cut_off(tmp_path):
    def edit(cells):
        cells[-1]["source"] = "while True:\n    pass\n" + cells[-1]["source"]

    report, took = grade_notebook(tmp_path, edited(edit))
    assert "did not finish loading" in messages(report)
    assert took < 60
