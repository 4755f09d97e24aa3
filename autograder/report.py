"""The grading report: building it, neutralising student text, writing it atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_MESSAGE = 1500
#: How a test's status is marked in plain-text listings (the summary, nbgrader's grade cells).
STATUS_MARK = {"passed": "ok  ", "failed": "FAIL", "timeout": "TIME", "error": "ERR "}


def clean_text(text: str, limit: int = MAX_MESSAGE) -> str:
    """Plain, bounded text: control characters removed, long text cut and marked."""
    text = CONTROL.sub("", str(text))
    if len(text) > limit:
        text = text[:limit] + " [...truncated]"
    return text


def build_report(
    assignment: str,
    submission: str,
    tests: list[dict],
    max_score: float,
    isolation: dict,
    duration: float,
    error: str | None = None,
) -> dict:
    """The JSON report (schema in docs/DESIGN.md), built once when grading ends.

    ``error`` set means the submission (or the grader) could not be graded: status ``error``.
    Test messages are cleaned (control characters removed, length capped).
    """
    tests = [dict(t, message=clean_text(t["message"])) for t in tests]
    return {
        "assignment": assignment,
        "submission": submission,
        "status": "error" if error else "graded",
        "error": clean_text(error, 500) if error else None,
        "score": round(sum(t["score"] for t in tests), 4),
        "max_score": round(max_score, 4),
        "tests": tests,
        "isolation": isolation,
        "duration_s": round(duration, 3),
    }


def error_report(assignment: str, submission: str, error: str, duration: float = 0.0) -> dict:
    """A report for a submission the grader could not grade at all (no tests ran)."""
    return build_report(assignment, submission, [], 0.0, {}, duration, error=error)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` next to ``path`` and move it into place (never a half-written file).

    The file is private to the grader's user (``mkstemp``'s 0600) unless ``mode`` is given (the
    feedback pages and analytics are meant to be handed out: 0644).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Write a report (or any JSON object) atomically, as :func:`write_bytes_atomic` does."""
    write_bytes_atomic(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def output_tail(text: str, truncated: bool, lines: int = 12) -> list[str]:
    """The last lines the student's code printed, cleaned, for the summary."""
    if not text and not truncated:
        return []
    kept = clean_text(text, 10_000).splitlines()[-lines:]
    note = " (capped: only the first part was kept)" if truncated else ""
    head = f"  your code printed {len(text)} characters{note}; the last lines:"
    return [head] + [f"  | {line[:200]}" for line in kept]


def summary(report: dict, output: dict | None = None) -> str:
    """A human-readable summary: score, each test grouped by grade cell, the student's output."""
    lines = [f"{report['assignment']}: {report['submission']}"]
    if report["status"] == "error":
        lines.append(f"  could not be graded: {report['error']}")
    lines.append(
        f"  score {report['score']:g} / {report['max_score']:g}  ({report['duration_s']:.1f} s)"
    )
    cell = None
    for t in report["tests"]:
        if t["cell"] != cell:
            cell = t["cell"]
            got = sum(x["score"] for x in report["tests"] if x["cell"] == cell)
            top = sum(x["max_score"] for x in report["tests"] if x["cell"] == cell)
            lines.append(f"  [{cell}] {got:g}/{top:g}")
        mark = STATUS_MARK.get(t["status"], "?   ")
        lines.append(f"    {mark} {t['name']} ({t['score']:g}/{t['max_score']:g})")
        if t["message"] and t["status"] != "passed":
            first = t["message"].splitlines()[0][:300]
            lines.append(f"         {first}")
    if output:
        lines += output_tail(output.get("text", ""), output.get("truncated", False))
    return "\n".join(lines)
