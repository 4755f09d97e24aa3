"""Hand-made JSON reports for the feedback and analytics tests (no grading: seconds, not minutes).

The reports are built with the engine's own ``build_report``/``error_report``, so they have
exactly the schema ``grade-all`` writes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from autograder.report import build_report, error_report, write_json_atomic


def case(name: str, cell: str, points: float, message: str = "", kind: str = "forward") -> dict:
    """One test outcome: passed when ``message`` is empty, otherwise failed with it."""
    passed = not message
    return {
        "name": name,
        "cell": cell,
        "kind": kind,
        "score": points if passed else 0.0,
        "max_score": points,
        "status": "passed" if passed else "failed",
        "message": message,
    }


def graded(aid: str, tests: list[dict]) -> dict:
    """A graded report whose maximum is the sum of its tests' points."""
    top = sum(t["max_score"] for t in tests)
    return build_report(aid, f"submitted/x/{aid}/{aid}.ipynb", tests, top, {}, 1.0)


def not_graded(aid: str, why: str = "the notebook is not valid JSON") -> dict:
    """A report of a submission that could not be graded at all (no tests)."""
    return error_report(aid, f"submitted/x/{aid}/{aid}.ipynb", why)


def write_tree(root: Path, reports: dict[tuple[str, str], dict]) -> Path:
    """Write ``root/<student>/<ID>.json`` for each ((student, ID), report); return ``root``."""
    for (student, aid), report in reports.items():
        write_json_atomic(root / student / f"{aid}.json", report)
    return root


#: Messages of the hand-made class (the two gradient messages differ only in numbers).
GRAD_BOB = "dW is wrong: relative error of 3.10e-01 (tolerance 1e-07) at index (1, 2)"
GRAD_CAROL = "dW is wrong: relative error of 2.5e-02 (tolerance 1e-07) at index (0, 14)"
GRAD_PATTERN = "dW is wrong: relative error of # (tolerance #) at index (#, #)"
NAMED = "dW2 is wrong at index 3"
LOSS = "the loss did not decrease in 5 steps"


def small_class() -> dict[tuple[str, str], dict]:
    """A1 (10 points: t1 4 + t2 3 in cell c1, t3 3 in c2) and A2 (8 points).

    alice 10/10 and 5/8; bob 3/10 (t1, t3 fail); carol 3/10 (t1, t2 fail); dave could not be
    graded on A1. Known answers: A1's bins put 2 in 30-40% and 1 in 90-100%; failure rates t1
    2/3, t2 1/3, t3 1/3; bob's and carol's t1 messages are one pattern (2 times, 2 students).
    """
    return {
        ("alice", "A1"): graded(
            "A1", [case("t1", "c1", 4), case("t2", "c1", 3), case("t3", "c2", 3)]
        ),
        ("bob", "A1"): graded(
            "A1", [case("t1", "c1", 4, GRAD_BOB), case("t2", "c1", 3), case("t3", "c2", 3, LOSS)]
        ),
        ("carol", "A1"): graded(
            "A1",
            [case("t1", "c1", 4, GRAD_CAROL), case("t2", "c1", 3, NAMED), case("t3", "c2", 3)],
        ),
        ("dave", "A1"): not_graded("A1"),
        ("alice", "A2"): graded("A2", [case("u1", "d", 5), case("u2", "d", 3, "wrong shape (3,)")]),
    }


def run_command(*args: str) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS...`` from the kit's root, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
