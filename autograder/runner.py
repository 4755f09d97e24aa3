"""Grade one submission: intake, extraction, worker, hidden tests, report."""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

import pytest

from autograder.client import SandboxError, Worker
from autograder.intake import IntakeError, extract_module, read_notebook_file
from autograder.paths import HIDDEN_DIR, check_assignment, hidden_tests
from autograder.plugin import GradingPlugin, TestResult
from autograder.reference import load_reference, source_layout
from autograder.report import finish, new_report
from autograder.sandbox import Limits, static_record


class GraderError(Exception):
    """The grader itself could not run (a broken hidden test file, an unknown assignment)."""


def _pytest_args(assignment: str, collect_only: bool = False) -> list[str]:
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
    return args + (["--collect-only"] if collect_only else [])


def _run_pytest(assignment: str, plugin: GradingPlugin, collect_only: bool = False) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = pytest.main(_pytest_args(assignment, collect_only), plugins=[plugin])
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
    plugin = GradingPlugin(None, None)
    _run_pytest(assignment, plugin, collect_only=True)
    return plugin.collected


def folders_to_hide(submission: Path, extra: tuple[Path, ...] = ()) -> tuple[Path, ...]:
    """The submission's folder and, in nbgrader's layout, the whole submitted/ tree."""
    path = Path(os.path.abspath(submission))
    hide = [path.parent]
    if len(path.parents) > 3 and path.parent.name == path.stem:
        hide.append(path.parents[2])
    return (*hide, *(Path(os.path.abspath(p)) for p in extra))


def grade(
    submission: str | Path,
    assignment: str,
    limits: Limits | None = None,
    hide: tuple[Path, ...] = (),
    output: dict | None = None,
) -> dict:
    """Grade ``submission`` against ``assignment``'s hidden tests; return the report dict.

    ``hide`` lists further folders the worker must not see (e.g. where reports are written).
    If ``output`` is a dict it receives the student's captured output: ``text`` (capped at
    ``limits.output_bytes``) and ``truncated``.
    """
    t0 = time.monotonic()
    check_assignment(assignment)
    limits = limits or Limits()
    report = new_report(assignment, str(submission))
    report["isolation"] = static_record(limits)
    layout = source_layout(assignment)
    try:
        notebook = read_notebook_file(submission)
    except IntakeError as exc:
        tests = [dict(t.as_dict(), status="error", message=str(exc)) for t in rubric(assignment)]
        report.update(status="error", error=str(exc))
        return finish(report, tests, layout.max_score, time.monotonic() - t0)
    extracted = extract_module(layout, notebook)
    worker = Worker(
        extracted.cells,
        limits,
        missing_cells=tuple(extracted.missing),
        hide=folders_to_hide(Path(submission), hide),
    )
    plugin = GradingPlugin(worker, load_reference(assignment))
    try:
        worker.start()
        _run_pytest(assignment, plugin)
    except SandboxError as exc:
        raise GraderError(str(exc)) from None
    finally:
        worker.close()
    report["isolation"] = worker.isolation_record or report["isolation"]
    if output is not None:
        output["text"], output["truncated"] = worker.output()
    recorded = {r.name: r for r in plugin.results}
    tests = [recorded.get(c.name, c).as_dict() for c in plugin.collected]
    return finish(report, tests, layout.max_score, time.monotonic() - t0)
