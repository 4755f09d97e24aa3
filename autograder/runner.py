"""Grade one submission: intake, extraction, worker, hidden tests, report."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import pytest

from autograder import given_blocks
from autograder import limits as grading_limits
from autograder.intake import IntakeError, extract_module, read_notebook_file
from autograder.limits import GradingLimits
from autograder.plugin import GradingPlugin, TestResult
from autograder.reference import load_reference, source_layout
from autograder.registry import HIDDEN_DIR, check_assignment, hidden_tests
from autograder.report import build_report
from autograder.sandbox import static_record
from autograder.student import SandboxError, StudentSession
from autograder.submission import Submission


class GraderError(Exception):
    """The grader itself could not run (a broken hidden test file, an unknown assignment)."""


def _pytest_args(assignment: str) -> list[str]:
    args = [
        str(hidden_tests(assignment)),
        "-c",
        str(HIDDEN_DIR / "pytest.ini"),
        "--rootdir",
        str(HIDDEN_DIR),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        "--assert=plain",
        "--import-mode=importlib",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    return args


def _run_pytest(assignment: str, plugin: GradingPlugin) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = pytest.main(_pytest_args(assignment), plugins=[plugin])
    if plugin.collect_errors or code in (
        pytest.ExitCode.INTERRUPTED,
        pytest.ExitCode.INTERNAL_ERROR,
        pytest.ExitCode.USAGE_ERROR,
    ):
        detail = plugin.collect_errors[0] if plugin.collect_errors else f"pytest exit {code}"
        raise GraderError(f"the hidden tests for {assignment} could not run: {detail}")
    if not plugin.collected:
        raise GraderError(f"no hidden tests were collected for {assignment}")


def rubric(assignment: str) -> list[TestResult]:
    """The hidden tests of an assignment with their cells, kinds and points (nothing is run)."""
    check_assignment(assignment)
    plugin = GradingPlugin(None, None, not_run="not run")
    _run_pytest(assignment, plugin)
    return plugin.collected


def grade(
    submission: Submission,
    limits: GradingLimits | None = None,
    hide: tuple[Path, ...] = (),
    output: dict | None = None,
) -> dict:
    """Grade ``submission`` against its assignment's hidden tests; return the report dict.

    Args:
        submission: the notebook and its coordinates (:meth:`Submission.at`).
        limits: the grading limits (default: the assignment's, from its source notebook).
        hide: further folders the worker must not see (e.g. where reports are written).
        output: if a dict, it receives the student's captured output: ``text`` (capped) and
            ``truncated``.

    Raises:
        UnknownAssignment: the assignment is not built.
        GraderError: the hidden tests or the sandbox could not run (not the student's fault).
    """
    t0 = time.monotonic()
    assignment = check_assignment(submission.assignment)
    limits = limits or grading_limits.for_assignment(assignment)
    layout = source_layout(assignment)
    try:
        notebook = read_notebook_file(submission.path)
    except IntakeError as exc:  # nothing runs; every test says why, in one collection
        plugin = GradingPlugin(None, None, not_run=str(exc))
        _run_pytest(assignment, plugin)
        isolation = static_record(limits.sandbox())
        return _report(submission, plugin, layout.max_score, isolation, t0, error=str(exc))
    extracted = extract_module(layout, notebook)
    session = StudentSession(
        extracted.cells,
        grading=limits,
        missing_cells=tuple(extracted.missing),
        hide=submission.folders_to_hide(hide),
        given=given_blocks.files_for(assignment),
    )
    plugin = GradingPlugin(session, load_reference(assignment))
    try:
        session.start()
        _run_pytest(assignment, plugin)
    except SandboxError as exc:
        raise GraderError(str(exc)) from None
    finally:
        session.close()
    if output is not None:
        output["text"], output["truncated"] = session.output()
    isolation = session.isolation_record or static_record(limits.sandbox())
    return _report(submission, plugin, layout.max_score, isolation, t0)


def _report(submission, plugin, max_score, isolation, t0, error=None) -> dict:
    return build_report(
        submission.assignment,
        str(submission.path),
        plugin.outcomes(),
        max_score,
        isolation,
        time.monotonic() - t0,
        error=error,
    )
