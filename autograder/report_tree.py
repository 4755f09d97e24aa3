"""Reading grade-all's reports tree (``REPORTS/<student>/<ID>.json``) for feedback and analytics.

A report that cannot be read or does not have the schema of ``docs/DESIGN.md`` is skipped with a
warning: one broken file must not stop the instructor's feedback or analytics for everyone else.
Reports are checked field by field, so the code that renders them can trust the types.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.report import write_bytes_atomic

__all__ = [
    "GradedReport",
    "check_report",
    "is_number",
    "load_tree",
    "printable",
    "read_report",
    "schema_problem",
    "write_bytes_atomic",
    "write_text_atomic",
]

#: A report file larger than this is not one the kit wrote (its messages are capped).
MAX_REPORT_BYTES = 20_000_000
#: Assignment IDs as file names: what the registry's IDs look like (safe in paths and URLs).
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
TEST_STATUSES = ("passed", "failed", "timeout", "error")


@dataclass(frozen=True)
class GradedReport:
    """One student's report for one assignment, checked against the report schema."""

    student: str
    assignment: str
    report: dict

    @property
    def graded(self) -> bool:
        """True unless the submission could not be graded at all."""
        return self.report["status"] == "graded"


def is_number(value: object) -> bool:
    """A finite JSON number (not a bool, NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def printable(name: str) -> str:
    """``name`` safe to encode as UTF-8: a folder name that is not valid UTF-8 (a surrogate
    escape) shows its bytes as ``\\x..`` escapes instead of breaking the page or the plot."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def schema_problem(report: object) -> str | None:
    """Why ``report`` is not a usable JSON report (None if it is)."""
    if not isinstance(report, dict):
        return "not a JSON object"
    if not isinstance(report.get("assignment"), str):
        return "no 'assignment'"
    if report.get("status") not in ("graded", "error"):
        return "'status' is neither 'graded' nor 'error'"
    for key in ("score", "max_score"):
        if not is_number(report.get(key)):
            return f"'{key}' is not a number"
    if report.get("error") is not None and not isinstance(report["error"], str):
        return "'error' is not text"
    tests = report.get("tests")
    if not isinstance(tests, list):
        return "'tests' is not a list"
    for i, t in enumerate(tests):
        if not isinstance(t, dict):
            return f"test {i} is not an object"
        for key in ("name", "cell", "status", "message"):
            if not isinstance(t.get(key), str):
                return f"test {i} has no text '{key}'"
        if t["status"] not in TEST_STATUSES:
            return f"test {i} has an unknown status"
        for key in ("score", "max_score"):
            if not is_number(t.get(key)):
                return f"test {i}: '{key}' is not a number"
    return None


def check_report(student: str, report: object, expected_id: str | None = None) -> GradedReport:
    """``report`` as a :class:`GradedReport`; ``ValueError`` saying why it cannot be used."""
    problem = schema_problem(report)
    if problem is None and not SAFE_ID.match(report["assignment"]):
        problem = "the assignment ID is not a plain name"
    if problem is None and expected_id is not None and report["assignment"] != expected_id:
        problem = (
            f"it is named {expected_id}.json but reports on {report['assignment']!r}, "
            f"not {expected_id!r}"
        )
    if problem:
        raise ValueError(problem)
    return GradedReport(student, report["assignment"], report)


def read_report(path: Path) -> GradedReport:
    """The report at ``REPORTS/<student>/<ID>.json``; ``ValueError`` saying why it is unusable."""
    try:
        too_large = path.stat().st_size > MAX_REPORT_BYTES
        data = None if too_large else json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: JSON syntax; RecursionError: nesting too deep for the parser
        raise ValueError(f"cannot be read as JSON ({type(exc).__name__})") from None
    if too_large:
        raise ValueError(f"larger than {MAX_REPORT_BYTES} bytes, not a report the kit wrote")
    return check_report(path.parent.name, data, expected_id=path.stem)


def load_tree(reports_dir: Path) -> tuple[list[GradedReport], list[str]]:
    """Every usable report under ``reports_dir``, sorted by student then assignment, and one
    warning per file that was skipped. Hidden files (temporary reports) are ignored."""
    found: list[GradedReport] = []
    warnings: list[str] = []
    for student_dir in sorted(reports_dir.iterdir()):
        if student_dir.name.startswith(".") or not student_dir.is_dir():
            continue
        for path in sorted(student_dir.glob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                found.append(read_report(path))
            except ValueError as exc:
                warnings.append(f"skipped {path}: {exc}")
    return found, warnings


def write_text_atomic(path: Path, text: str) -> None:
    """UTF-8 text, written atomically and readable by all (a page to hand out)."""
    write_bytes_atomic(path, text.encode("utf-8", "backslashreplace"), mode=0o644)
