"""``grade-all``: grade nbgrader's ``submitted/<student>/<ID>/<ID>.ipynb`` tree in parallel.

Each submission is graded by its own ``python -m autograder grade`` process, so one that breaks
the grader cannot touch the others. Results go where instructors read them: one JSON report per
submission, a CSV of all grades, and nbgrader's gradebook.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder import limits as grading_limits
from autograder.grade_process import run_grade
from autograder.progress import Progress
from autograder.registry import assignments, check_assignment
from autograder.report import clean_text, error_report, write_json_atomic
from autograder.shard import Shard, select
from autograder.submission import Submission


def discover(submitted_dir: Path, assignment: str | None = None) -> list[Submission]:
    """Every ``<student>/<ID>/<ID>.ipynb`` under ``submitted_dir`` for a gradable ID."""
    ids = [check_assignment(assignment)] if assignment else assignments()
    found = []
    for student_dir in sorted(p for p in submitted_dir.iterdir() if p.is_dir()):
        for aid in ids:
            path = student_dir / aid / f"{aid}.ipynb"
            if os.path.lexists(path):
                found.append(Submission.at(path, aid))
    return found


def is_graded(sub: Submission, reports_dir: Path) -> bool:
    """A report exists and is newer than the submission."""
    report = sub.report_path(reports_dir)
    try:
        return report.stat().st_mtime >= sub.path.lstat().st_mtime
    except OSError:
        return False


def grade_one(sub: Submission, reports_dir: Path) -> dict:
    """Grade in a separate process; a grader failure still yields an error report."""
    out = sub.report_path(reports_dir)
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    timeout = grading_limits.for_assignment(sub.assignment).grade_timeout_s
    t0 = time.monotonic()
    proc = run_grade(sub.path, sub.assignment, out, timeout)
    if proc is None:
        problem = f"the grader did not finish within {timeout:g} s"
    elif proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        problem = f"the grader failed on this submission (exit {proc.returncode}): {last}"
    else:
        return json.loads(out.read_text())
    report = error_report(sub.assignment, str(sub.path), problem, time.monotonic() - t0)
    write_json_atomic(out, report)
    return report


def csv_safe(value) -> str:
    """Neutralise spreadsheet formulas and control characters in a CSV cell."""
    text = clean_text(str(value), 300).replace("\n", " ")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(path: Path, rows: list[tuple[str, dict]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "assignment", "score", "max_score", "status", "duration_s", "error"])
        for student, r in rows:
            w.writerow(
                [
                    csv_safe(student),
                    r["assignment"],
                    r["score"],
                    r["max_score"],
                    r["status"],
                    r["duration_s"],
                    csv_safe(r["error"] or ""),
                ]
            )
    os.replace(tmp, path)


def load_reports(reports_dir: Path, subs: list[Submission]) -> list[tuple[str, dict]]:
    rows = []
    for sub in subs:
        path = sub.report_path(reports_dir)
        if path.is_file():
            rows.append((sub.student, json.loads(path.read_text())))
    return rows


def grade_table(rows: list[tuple[str, dict]]) -> str:
    """Students down, assignments across (by number, with a legend), ``score/max`` and a total;
    ``!`` marks a submission that could not be graded at all."""
    students = sorted({s for s, _ in rows})
    ids = sorted({r["assignment"] for _, r in rows})
    cells = {(s, r["assignment"]): r for s, r in rows}
    heads = [a.split("_")[0] if len(ids) > 2 else a for a in ids]
    texts = {}
    for (s, a), r in cells.items():
        texts[s, a] = f"{r['score']:g}/{r['max_score']:g}" + ("!" if r["status"] == "error" else "")
    col = max([len(h) for h in heads] + [len(t) for t in texts.values()] + [5])
    width = max([len(s) for s in students] + [7])
    lines = ["student".ljust(width) + "  " + "  ".join(h.rjust(col) for h in heads) + "    total"]
    for s in students:
        got = sum(cells[s, a]["score"] for a in ids if (s, a) in cells)
        top = sum(cells[s, a]["max_score"] for a in ids if (s, a) in cells)
        parts = [texts.get((s, a), "-").rjust(col) for a in ids]
        lines.append(s.ljust(width) + "  " + "  ".join(parts) + f"    {round(got, 2):g}/{top:g}")
    if heads != ids:
        lines.append("")
        lines.append("  ".join(f"{h} = {a}" for h, a in zip(heads, ids)))
    return "\n".join(lines)


def print_outcome(rows: list[tuple[str, dict]], reports_dir: Path, gradebook: str) -> None:
    """The grade table and where the reports, the CSV and the gradebook are (``grade-all``,
    ``merge``)."""
    print()
    print(grade_table(rows))
    print()
    print(
        f"reports: {reports_dir}/<student>/<ID>.json; CSV: {reports_dir / 'grades.csv'}"
        + ("" if gradebook == "none" else f"; gradebook: {gradebook}")
    )


def grade_all(
    submitted_dir: Path,
    assignment: str | None = None,
    jobs: int = 2,
    force: bool = False,
    reports_dir: Path = Path("reports"),
    gradebook: str = "sqlite:///gradebook.db",
    shard: Shard | None = None,
    feedback_dir: Path | None = None,
) -> int:
    """Grade what ``discover`` finds (only ``shard``'s part of it if given; see shard.py),
    write the reports, ``grades.csv`` and the gradebook, print progress and the table."""
    if not submitted_dir.is_dir():
        print(f"error: no submissions directory {submitted_dir}", file=sys.stderr)
        return 2
    reports_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    subs = discover(submitted_dir, assignment)
    if shard is not None:
        every = len(subs)
        subs = select(subs, shard)
        print(f"shard {shard}: {len(subs)} of the {every} submission(s)")
    todo = [s for s in subs if force or not is_graded(s, reports_dir)]
    print(f"{len(subs)} submission(s) found, {len(todo)} to grade, {max(jobs, 1)} at a time")
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool, Progress(len(todo)) as progress:
        futures = {pool.submit(grade_one, s, reports_dir): s for s in todo}
        for fut in as_completed(futures):
            progress.update(futures[fut].student, fut.result())
    if todo:
        print(f"graded {len(todo)} in {time.monotonic() - t0:.1f} s")
    rows = load_reports(reports_dir, subs)
    write_csv(reports_dir / "grades.csv", rows)
    if gradebook != "none" and rows:
        from autograder.gradebook import record

        record(gradebook, rows)
    if feedback_dir is not None:
        from autograder.feedback import feedback_for_rows

        written, problems = feedback_for_rows(rows, feedback_dir)
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
        print(f"feedback: {len(written)} file(s) in {feedback_dir}/<student>/<ID>.html")
    print_outcome(rows, reports_dir, gradebook)
    return 0
