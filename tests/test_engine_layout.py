"""The engine's pieces each do one thing: the registry of the thirty, per-assignment limits,
a submission's nbgrader coordinates, the sandbox boundary, and a report even when the grader
fails."""

from __future__ import annotations

import ast
import json

import pytest
from conftest import ASSIGNMENTS, ROOT

from autograder import cli, limits, registry
from autograder.limits import DEFAULTS, GradingLimits, LimitsError, from_metadata
from autograder.sandboxed import FILES
from autograder.student import StudentSession, WorkerUnavailable
from autograder.submission import Submission


def test_the_registry_holds_the_thirty_fixed_ids_in_course_order():
    ids = registry.ASSIGNMENT_IDS
    assert len(ids) == len(set(ids)) == 30
    assert [int(a[:2]) for a in ids] == list(range(1, 31))
    assert ASSIGNMENTS == [a for a in ids if registry.is_built(a)]


def test_every_source_folder_is_a_registered_id():
    folders = {p.name for p in (ROOT / "source").iterdir() if p.is_dir()}
    assert folders <= set(registry.ASSIGNMENT_IDS)
    assert set(ASSIGNMENTS) == folders


def test_unknown_and_unbuilt_assignments_are_refused_with_the_reason():
    with pytest.raises(registry.UnknownAssignment, match="not one of the thirty"):
        registry.check_assignment("99_nope")
    unbuilt = [a for a in registry.ASSIGNMENT_IDS if not registry.is_built(a)]
    if unbuilt:
        with pytest.raises(registry.UnknownAssignment, match="not built yet"):
            registry.check_assignment(unbuilt[0])


def test_limits_default_to_the_engine_values():
    assert DEFAULTS.call_budget_s == 60 and DEFAULTS.call_timeout_s == 10
    assert DEFAULTS.sandbox().address_space == 4 * 1024**3
    assert from_metadata({}) == DEFAULTS


def test_notebook_metadata_overrides_limits():
    got = from_metadata({"s30kit": {"limits": {"call_budget_s": 120, "memory_mb": 6144}}})
    assert got.call_budget_s == 120.0 and got.memory_mb == 6144
    assert got.sandbox().address_space == 6144 * 1024**2
    assert got.call_timeout_s == DEFAULTS.call_timeout_s


@pytest.mark.parametrize(
    "asked", [{"call_budget": 5}, {"memory_mb": -1}, {"call_budget_s": "60"}, {"cpu_s": True}]
)
def test_malformed_limits_metadata_is_an_authoring_error(asked):
    with pytest.raises(LimitsError):
        from_metadata({"s30kit": {"limits": asked}})


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_each_assignment_reads_its_limits_from_its_source_notebook(aid):
    nb = json.loads(registry.source_notebook(aid).read_text())
    assert limits.for_assignment(aid) == from_metadata(nb["metadata"])


def test_the_call_budget_of_an_assignment_bounds_its_calls():
    cells = [("f_code", "def spin():\n    while True:\n        pass\n\ndef one():\n    return 1")]
    session = StudentSession(cells, grading=GradingLimits(call_budget_s=1.0))
    try:
        with pytest.raises(Exception, match="time budget|did not return"):
            session.call("spin", timeout=5)
        with pytest.raises(WorkerUnavailable, match="time budget"):
            session.call("one")
    finally:
        session.close()


def test_a_submission_in_nbgraders_layout_knows_its_coordinates(tmp_path):
    path = tmp_path / "submitted" / "alice" / "03_lstm" / "03_lstm.ipynb"
    sub = Submission.at(path, "03_lstm")
    assert sub.student == "alice" and sub.submitted_dir == tmp_path / "submitted"
    assert sub.report_path(tmp_path / "r") == tmp_path / "r" / "alice" / "03_lstm.json"
    assert set(sub.folders_to_hide()) == {path.parent, tmp_path / "submitted"}


def test_a_loose_notebook_hides_only_its_own_folder(tmp_path):
    sub = Submission.at(tmp_path / "mine.ipynb", "03_lstm")
    assert sub.student is None and sub.folders_to_hide() == (tmp_path,)


def test_sandboxed_files_import_nothing_from_the_package():
    folder = ROOT / "autograder" / "sandboxed"
    for name in FILES:
        tree = ast.parse((folder / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("autograder"), f"{name}: {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("autograder") for a in node.names), name


def test_grade_json_writes_an_error_report_when_the_grader_fails(tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated grader bug")

    monkeypatch.setattr("autograder.runner.grade", broken)
    out = tmp_path / "out" / "report.json"
    aid = ASSIGNMENTS[0]
    code = cli.main(["grade", str(tmp_path / "x.ipynb"), "--assignment", aid, "--json", str(out)])
    assert code == 3
    report = json.loads(out.read_text())
    assert report["status"] == "error" and "simulated grader bug" in report["error"]
    assert report["assignment"] == aid and report["tests"] == []
    assert "grader error" in capsys.readouterr().err


def test_nothing_in_the_repository_points_outside_it():
    outside = "../" + "shared"
    hits = []
    for path in ROOT.rglob("*"):
        if any(p in path.parts for p in (".git", ".venv", "__pycache__")) or not path.is_file():
            continue
        if path.suffix in {".py", ".md", ".ipynb", ".toml", ".cfg", ".txt"} or path.name in {
            "Makefile",
            "run",
        }:
            if outside in path.read_text(errors="replace"):
                hits.append(str(path.relative_to(ROOT)))
    assert not hits, f"files referring outside the repository: {hits}"
