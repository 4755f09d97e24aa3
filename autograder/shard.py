"""Fan-out over a scheduler: which submissions belong to shard K of N, and merging the shards.

``grade-all --shard K/N`` grades the submissions whose key ``<student>/<ID>`` hashes to K
modulo N (SHA-256, so the split is the same in every process, on every machine and in every
rerun, and a submission added later never moves the others). K is 0-based, 0 <= K < N, like
Kubernetes' ``$JOB_COMPLETION_INDEX`` and a Slurm array declared ``--array=0-(N-1)``.

Each shard writes its own reports folder and no gradebook (many writers to one SQLite file
lock each other out). ``merge`` then reads the shards' ``<student>/<ID>.json`` reports, refuses
two reports of one submission that disagree, and writes one reports folder, ``grades.csv``,
the grade table and the gradebook, as an unsharded ``grade-all`` would.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.registry import ASSIGNMENT_IDS, assignments
from autograder.report import write_json_atomic
from autograder.report_tree import is_number, read_report


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, student: str, assignment: str) -> bool:
        """Whether the submission ``<student>/<assignment>`` belongs to this shard."""
        return shard_of(student, assignment, self.count) == self.index


def shard_of(student: str, assignment: str, count: int) -> int:
    """The 0-based shard of ``<student>/<assignment>`` among ``count`` (a stable hash)."""
    digest = hashlib.sha256(f"{student}/{assignment}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str) -> Shard:
    """``"K/N"`` as a :class:`Shard`; an :class:`argparse.ArgumentTypeError` saying what is
    expected otherwise (argparse prints it and exits 2)."""
    usage = (
        f"expected K/N with whole numbers 0 <= K < N (K is 0-based, like "
        f"$SLURM_ARRAY_TASK_ID with --array=0-(N-1) or $JOB_COMPLETION_INDEX), got {text!r}"
    )
    parts = text.strip().split("/")
    if len(parts) != 2 or not all(p.strip().isascii() and p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(usage)
    index, count = (int(p) for p in parts)
    if count < 1 or index >= count:
        raise argparse.ArgumentTypeError(usage)
    return Shard(index, count)


def select(subs: list, shard: Shard | None) -> list:
    """The submissions (anything with ``student`` and ``assignment``) of ``shard``; all of
    them when ``shard`` is None."""
    if shard is None:
        return list(subs)
    return [s for s in subs if shard.owns(s.student or "unknown", s.assignment)]


class MergeError(Exception):
    """The shards cannot be merged; the message lists every problem found."""


def verdict(report: dict) -> tuple:
    """What two gradings of one submission must agree on: the scores, status and error, and
    each test's outcome (not the duration or the isolation record, which vary by machine)."""
    return (
        report["status"],
        report["error"],
        round(float(report["score"]), 4),
        round(float(report["max_score"]), 4),
        tuple(
            (t["name"], t["cell"], round(float(t["score"]), 4), t["status"])
            for t in report["tests"]
        ),
    )


def read_shard(shard_dir: Path) -> tuple[dict[tuple[str, str], dict], list[str]]:
    """The reports ``<student>/<ID>.json`` under ``shard_dir`` by (student, ID), and the
    problems found (unreadable or malformed reports, unknown assignment IDs)."""
    found: dict[tuple[str, str], dict] = {}
    problems: list[str] = []
    if not shard_dir.is_dir():
        return found, [f"{shard_dir}: not a folder"]
    known = set(assignments())
    for path in sorted(shard_dir.glob("*/*.json")):
        if path.name.startswith(".") or path.parent.name.startswith("."):
            continue  # a temporary file of an atomic write, or a hidden folder
        student, aid = path.parent.name, path.stem
        if aid not in known:
            why = "not built yet" if aid in ASSIGNMENT_IDS else "not one of the thirty"
            problems.append(f"{path}: {aid!r} is not a gradable assignment ({why})")
            continue
        if path.is_symlink() or not path.is_file():
            problems.append(f"{path}: not a regular file")
            continue
        try:  # size, JSON, the report schema, the file name matching the assignment
            report = read_report(path).report
        except ValueError as exc:
            problems.append(f"{path}: {exc}")
            continue
        if not is_number(report.get("duration_s")):  # grades.csv has a column for it
            problems.append(f"{path}: its 'duration_s' is not a number")
            continue
        found[student, aid] = report
    return found, problems


def collect(shard_dirs: list[Path]) -> list[tuple[str, dict]]:
    """Every submission's report from the shards, as ``(student, report)`` rows in the order
    ``grade-all`` writes them (students sorted, assignments in course order).

    The same submission in two shards is accepted only if both reports agree on
    :func:`verdict` (e.g. a folder given twice, or a shard rerun); the first folder's is kept.

    Raises:
        MergeError: a malformed report, or two reports of one submission that disagree.
    """
    merged: dict[tuple[str, str], tuple[Path, dict]] = {}
    problems: list[str] = []
    for shard_dir in shard_dirs:
        found, bad = read_shard(shard_dir)
        problems += bad
        for key, report in found.items():
            if key not in merged:
                merged[key] = (shard_dir, report)
            elif verdict(merged[key][1]) != verdict(report):
                first = merged[key][1]
                problems.append(
                    f"{key[0]}/{key[1]} is in {merged[key][0]} ({first['score']:g}/"
                    f"{first['max_score']:g}, {first['status']}) and in {shard_dir} "
                    f"({report['score']:g}/{report['max_score']:g}, {report['status']}), "
                    "with different results: regrade it or drop one of the two reports"
                )
    if problems:
        raise MergeError("\n".join(problems))
    order = {aid: i for i, aid in enumerate(ASSIGNMENT_IDS)}
    keys = sorted(merged, key=lambda k: (k[0], order[k[1]]))
    return [(student, merged[student, aid][1]) for student, aid in keys]


def merge(shard_dirs: list[Path], reports_dir: Path, gradebook: str = "none") -> int:
    """``python -m autograder merge``: the shards' reports into ``reports_dir`` (one
    ``<student>/<ID>.json`` each and ``grades.csv``), the grade table printed, and the
    gradebook at ``gradebook`` (``none`` skips it). Returns the exit code: 0, or 2 with every
    problem listed and nothing written when the shards cannot be merged."""
    from autograder.batch import print_outcome, write_csv

    try:
        rows = collect(shard_dirs)
    except MergeError as exc:
        print("error: the shards cannot be merged; nothing was written:", file=sys.stderr)
        for line in str(exc).splitlines():
            print(f"  {line}", file=sys.stderr)
        return 2
    if not rows:
        print("error: no reports found in " + ", ".join(map(str, shard_dirs)), file=sys.stderr)
        return 2
    reports_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for student, report in rows:
        write_json_atomic(reports_dir / student / f"{report['assignment']}.json", report)
    write_csv(reports_dir / "grades.csv", rows)
    if gradebook != "none":
        from autograder.gradebook import record

        try:
            record(gradebook, rows)
        except Exception as exc:  # a bad URL, a locked or foreign database: say which
            print(
                f"error: the reports and {reports_dir / 'grades.csv'} are written, but the "
                f"gradebook {gradebook} could not be: {type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
            return 3
    print(f"merged {len(rows)} report(s) from {len(shard_dirs)} folder(s)")
    print_outcome(rows, reports_dir, gradebook)
    return 0
