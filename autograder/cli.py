"""Command line: ``grade``, ``grade-all``, ``merge``, ``feedback``, ``analytics``, ``gradescope``
and ``rubric`` (a stable contract; see docs/DESIGN.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.registry import UnknownAssignment, assignments, check_assignment

if TYPE_CHECKING:
    from autograder.shard import Shard


def _cmd_grade(args: argparse.Namespace) -> int:
    from autograder.report import error_report, summary, write_json_atomic
    from autograder.runner import grade
    from autograder.submission import Submission

    hide = (Path(args.json).parent,) if args.json else ()
    output: dict = {}
    submission = Submission.at(args.submission, args.assignment)
    try:
        report = grade(submission, hide=hide, output=output)
    except (KeyboardInterrupt, UnknownAssignment):
        raise
    except Exception as exc:  # the grader failed: the report says so, then main() exits 3
        if args.json:
            why = f"the grader could not finish: {type(exc).__name__}: {exc}"
            write_json_atomic(args.json, error_report(args.assignment, str(submission.path), why))
        raise
    if args.json:
        write_json_atomic(args.json, report)
    print(summary(report, output))
    return 0


def _cmd_rubric(args: argparse.Namespace) -> int:
    from autograder.reference import source_layout
    from autograder.runner import rubric

    tests = rubric(args.assignment)
    points = {g.grade_id: g.points for g in source_layout(args.assignment).grade_cells}
    print(f"{args.assignment}: {sum(points.values()):g} points")
    for cell, cell_points in points.items():
        mine = [t for t in tests if t.cell == cell]
        total = sum(t.max_score for t in mine)
        flag = "" if abs(total - cell_points) < 1e-9 else f"  MISMATCH: tests sum to {total:g}"
        print(f"  [{cell}] {cell_points:g} points{flag}")
        for t in mine:
            print(f"    {t.kind:<10} {t.max_score:>5g}  {t.name}")
    orphans = [t for t in tests if t.cell not in points]
    for t in orphans:
        print(f"  ORPHAN test {t.name} scores cell {t.cell!r}, which the notebook does not have")
    return 0


def _cmd_grade_all(args: argparse.Namespace) -> int:
    from autograder.batch import grade_all

    return grade_all(
        Path(args.submitted_dir),
        assignment=args.assignment,
        jobs=args.jobs,
        force=args.force,
        reports_dir=Path(args.reports),
        # Shards write no gradebook unless asked: `merge` writes it once (see shard.py).
        gradebook=args.gradebook or ("none" if args.shard else "sqlite:///gradebook.db"),
        shard=args.shard,
        feedback_dir=Path(args.feedback) if args.feedback else None,
    )


def _cmd_merge(args: argparse.Namespace) -> int:
    from autograder.shard import merge

    return merge([Path(d) for d in args.shard_dirs], Path(args.reports), args.gradebook)


def _shard_arg(text: str) -> Shard:
    """``--shard K/N``, checked (argparse prints the error and exits 2)."""
    from autograder.shard import parse_shard

    return parse_shard(text)


def _cmd_feedback(args: argparse.Namespace) -> int:
    from autograder.feedback import run_feedback

    return run_feedback(Path(args.reports_dir), Path(args.out))


def _cmd_analytics(args: argparse.Namespace) -> int:
    from autograder.analytics import run_analytics

    return run_analytics(Path(args.reports_dir), Path(args.out))


def _cmd_gradescope(args: argparse.Namespace) -> int:
    from autograder.gradescope import GradescopeError, build

    ids = assignments() if args.assignments == ["all"] else args.assignments
    for aid in ids:  # every ID checked before any zip is written
        check_assignment(aid)
    try:
        for aid in ids:
            path = build(aid, Path(args.out), visibility=args.visibility)
            print(f"{path} ({path.stat().st_size / 1024:.0f} KiB)")
    except GradescopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="grade one notebook and print a summary")
    g.add_argument("submission", help="the student's .ipynb")
    g.add_argument("--assignment", required=True, help="assignment ID, e.g. 13_transformer")
    g.add_argument("--json", help="also write the JSON report here")
    g.set_defaults(func=_cmd_grade)

    a = sub.add_parser("grade-all", help="grade nbgrader's submitted/<student>/<ID>/<ID>.ipynb")
    a.add_argument("submitted_dir", nargs="?", default="submitted")
    a.add_argument("--assignment", help="only this assignment")
    a.add_argument("--jobs", type=int, default=2, help="submissions graded in parallel")
    a.add_argument("--force", action="store_true", help="regrade what is already graded")
    a.add_argument("--reports", default="reports", help="where JSON reports and the CSV go")
    a.add_argument(
        "--gradebook",
        default=None,
        help="nbgrader gradebook URL ('none' to skip; default sqlite:///gradebook.db, "
        "or none with --shard)",
    )
    a.add_argument(
        "--shard",
        type=_shard_arg,
        metavar="K/N",
        help="grade only shard K (0-based) of N, e.g. $SLURM_ARRAY_TASK_ID/N; then `merge`",
    )
    a.add_argument("--feedback", help="also write DIR/<student>/<ID>.html feedback files")
    a.set_defaults(func=_cmd_grade_all)

    m = sub.add_parser("merge", help="merge grade-all --shard report folders into one")
    m.add_argument("shard_dirs", nargs="+", metavar="SHARD_REPORTS", help="the shards' --reports")
    m.add_argument("--reports", default="reports", help="where merged reports and the CSV go")
    m.add_argument(
        "--gradebook",
        default="sqlite:///gradebook.db",
        help="nbgrader gradebook URL ('none' to skip)",
    )
    m.set_defaults(func=_cmd_merge)

    f = sub.add_parser("feedback", help="write one HTML feedback file per student and assignment")
    f.add_argument("reports_dir", help="grade-all's reports folder (<student>/<ID>.json)")
    f.add_argument("--out", default="feedback", help="writes OUT/<student>/<ID>.html")
    f.set_defaults(func=_cmd_feedback)

    an = sub.add_parser("analytics", help="class analytics: plots and OUT/index.html")
    an.add_argument("reports_dir", help="grade-all's reports folder (<student>/<ID>.json)")
    an.add_argument("--out", default="analytics", help="writes OUT/index.html and OUT/plots/")
    an.set_defaults(func=_cmd_analytics)

    z = sub.add_parser("gradescope", help="write a Gradescope autograder zip per assignment")
    z.add_argument("assignments", nargs="+", metavar="ID", help="assignment IDs, or 'all'")
    z.add_argument("--out", required=True, help="folder for the <ID>.zip files")
    z.add_argument(
        "--visibility",
        default="visible",
        choices=("visible", "after_due_date", "after_published"),
        help="when students see the tests' results on Gradescope (default: visible)",
    )
    z.set_defaults(func=_cmd_gradescope)

    r = sub.add_parser("rubric", help="list an assignment's hidden tests and points")
    r.add_argument("assignment")
    r.set_defaults(func=_cmd_rubric)
    return parser


def _interrupt(*_) -> None:
    raise KeyboardInterrupt  # pytest stops its session on this one, and finally blocks run


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A TA's Ctrl-C or a batch system's SIGTERM: unwind normally, so the worker and its run
    # directory are cleaned up.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted: nothing was written for the submission being graded", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `... | head`: the work is done, the reader left early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UnknownAssignment as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the grader itself failed: say so and exit non-zero
        from autograder.runner import GraderError

        if isinstance(exc, GraderError):
            print(f"grader error: {exc}", file=sys.stderr)
            return 3
        traceback.print_exc()
        print(f"grader error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3


__all__ = ["main", "build_parser", "assignments"]
