"""The pytest plugin that gives hidden tests their fixtures and records their outcomes."""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass

import numpy as np
import pytest

from autograder.student import StudentCodeError, StudentProxy, StudentSession


@dataclass
class TestResult:
    name: str
    cell: str
    kind: str
    score: float
    max_score: float
    status: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def report_name(item) -> str:
    name = item.name
    return name[len("test_") :] if name.startswith("test_") else name


def grade_mark(item) -> dict | None:
    mark = item.get_closest_marker("grade")
    return dict(mark.kwargs) if mark else None


def outcome_of(excinfo) -> tuple[str, str]:
    """(status, student-facing message) for a test that raised ``excinfo``."""
    exc = excinfo.value
    if isinstance(exc, StudentCodeError):
        return exc.status, str(exc)
    if isinstance(exc, AssertionError):
        return "failed", str(exc) or "the check failed"
    if isinstance(exc, pytest.skip.Exception):
        return "error", "the test was skipped"
    name = type(exc).__name__
    return "error", f"your code's result could not be checked ({name}: {str(exc)[:200]})"


def _base(name: str) -> str:
    """A test's name without its parameters: ``f[dx]`` -> ``f``."""
    return name.split("[", 1)[0]


def apply_dependencies(tests: list[dict], marks: dict[str, dict]) -> None:
    """Apply the marks' ``requires`` and ``uses`` to the outcomes, in place.

    * ``requires``: a test earns its points only if every test it requires passed.
    * ``uses``: a failing test whose used grade cells have failing tests says so first.
    """
    failed_names = {t["name"] for t in tests if t["status"] != "passed"}
    failed_bases = {_base(n) for n in failed_names}
    failing_cells = {t["cell"] for t in tests if t["status"] != "passed"}
    for t in tests:
        mark = marks.get(t["name"]) or {}
        missing = [r for r in mark.get("requires", ()) if r in failed_bases or r in failed_names]
        if missing and t["status"] == "passed":
            t.update(
                score=0.0,
                status="failed",
                message=(
                    f"this test earns its points only when {', '.join(missing)} also passes "
                    "(a fast or plausible result earns nothing while the function is wrong); "
                    "fix that first"
                ),
            )
        upstream = [c for c in mark.get("uses", ()) if c in failing_cells and c != t["cell"]]
        if upstream and t["status"] != "passed":
            cells = ", ".join(f"'{c}'" for c in upstream)
            t["message"] = (
                f"this test uses your code of grade cell(s) {cells}, which fail their own "
                f"tests: fix that first. {t['message']}"
            )


class GradingPlugin:
    """Registered with ``pytest.main(plugins=[...])`` for one grading run."""

    def __init__(
        self,
        session: StudentSession | None,
        reference,
        not_run: str | None = None,
    ):
        """``session`` and ``reference`` serve the fixtures. With ``not_run`` set (or for a
        collect-only run) nothing is run: every collected test is recorded with status
        ``error`` and ``not_run`` as its message (e.g. why the submission could not be read)."""
        self.session = session
        self.reference = reference
        self.not_run = not_run
        self.results: list[TestResult] = []
        self.marks: dict[str, dict] = {}
        self.collected: list[TestResult] = []
        self.collect_errors: list[str] = []

    # -- fixtures -------------------------------------------------------------------------
    @pytest.fixture(scope="session")
    def student(self) -> StudentProxy:
        return StudentProxy(self.session)

    @pytest.fixture(scope="session")
    def ref(self):
        return self.reference

    @pytest.fixture(scope="session")
    def memo(self) -> dict:
        return {}

    @pytest.fixture
    def rng(self, request) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))

    # -- hooks ----------------------------------------------------------------------------
    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            mark = grade_mark(item) or {"cell": "?", "kind": "?", "points": 0.0}
            self.marks[report_name(item)] = mark
            self.collected.append(
                TestResult(
                    report_name(item),
                    mark["cell"],
                    mark["kind"],
                    0.0,
                    mark["points"],
                    "error",
                    self.not_run or "not run",
                )
            )
        if self.not_run is not None:
            items[:] = []  # nothing can run: every test keeps the reason as its message

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collect_errors.append(str(report.longrepr)[-2000:])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        """Build each report here, without pytest's traceback rendering.

        Nobody reads pytest's rendering of a failure (students get the test's own message), and
        it re-parses the source of every frame: about 0.1 s per failing test, most of the time
        of grading a submission that fails many tests.
        """
        excinfo = call.excinfo
        if excinfo is None:
            outcome, longrepr = "passed", None
        else:
            outcome, longrepr = "failed", f"{excinfo.typename}: {excinfo.value}"[:2000]
        rep = pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            outcome,
            longrepr,
            call.when,
            duration=call.duration,
            start=call.start,
            stop=call.stop,
        )
        if rep.when == "call" or (rep.when == "setup" and not rep.passed):
            self._record(item, call, rep)
        return rep

    def outcomes(self) -> list[dict]:
        """Every collected test, in collection order, with its recorded outcome, after the
        ``requires`` and ``uses`` rules of its mark (see ``autograder.testing.graded``)."""
        recorded = {r.name: r for r in self.results}
        tests = [recorded.get(c.name, c).as_dict() for c in self.collected]
        if self.not_run is None:
            apply_dependencies(tests, self.marks)
        return tests

    def _record(self, item, call, rep) -> None:
        mark = grade_mark(item) or {"cell": "?", "kind": "?", "points": 0.0}
        if rep.passed:
            status, message = "passed", ""
        elif call.excinfo is not None:
            status, message = outcome_of(call.excinfo)
        else:
            status, message = "error", "the test did not run"
        points = float(mark["points"])
        score = points if status == "passed" else 0.0
        self.results.append(
            TestResult(
                report_name(item), mark["cell"], mark["kind"], score, points, status, message
            )
        )
