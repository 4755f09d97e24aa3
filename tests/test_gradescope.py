"""Gradescope export: the zip of an assignment, unpacked into a temporary Gradescope root and run
with the repository's Python, writes a results.json whose score is the kit's own, test by test;
a corrupt, missing or ungradable submission still gets a valid results.json; the zip holds this
assignment's files only; setup.sh installs every dependency the zip's code imports."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
from conftest import ASSIGNMENTS, ROOT, run_grade

from autograder import gradescope

EXAMPLES = ROOT / "examples" / "submitted"
VISIBILITY = {"visible", "after_due_date", "after_published", "hidden"}
ZIPPED = ("03_lstm", "13_transformer")  # 03 also needs the helper its hidden test shares with 02


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("zips")
    code = subprocess.run(
        [sys.executable, "-m", "autograder", "gradescope", *ZIPPED, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert code.returncode == 0, code.stderr
    return {aid: out / f"{aid}.zip" for aid in ZIPPED}


def unpack(zip_path: Path, root: Path) -> Path:
    """Unpack like Gradescope does: into ``root/source``, keeping the files' modes."""
    source = root / "source"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(source)
        for info in zf.infolist():
            os.chmod(source / info.filename, (info.external_attr >> 16) & 0o777)
    (root / "submission").mkdir()
    return source


def run_autograder(root: Path, **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    """``root/source/run_autograder`` with AUTOGRADER_ROOT=root and this Python; the results."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environ |= {"AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable, **env}
    proc = subprocess.run(
        [str(root / "source" / "run_autograder")],
        cwd=root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = root / "results" / "results.json"
    return proc, json.loads(results.read_text()) if results.is_file() else {}


def assert_valid_results(results: dict) -> None:
    """The fields Gradescope reads, with the types it expects."""
    assert isinstance(results["score"], int | float)
    assert results.get("visibility", "visible") in VISIBILITY
    assert results["tests"], "at least one test: the student must see something"
    for t in results["tests"]:
        assert isinstance(t["name"], str) and t["name"]
        assert isinstance(t["score"], int | float) and isinstance(t["max_score"], int | float)
        assert isinstance(t["output"], str)
        assert t["visibility"] in VISIBILITY


def by_name(results: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"]}


@pytest.mark.parametrize(
    "aid,isolation",
    [("03_lstm", "default"), ("03_lstm", "basic"), ("13_transformer", "default")],
)
def test_results_json_scores_equal_the_kits_own_grade_test_by_test(zips, tmp_path, aid, isolation):
    notebook = EXAMPLES / "bob" / aid / f"{aid}.ipynb"
    code, kit = run_grade(notebook, aid, tmp_path / "kit" / "report.json")
    assert code == 0 and 0 < kit["score"] < kit["max_score"]

    root = tmp_path / "gs"
    unpack(zips[aid], root)
    shutil.copy(notebook, root / "submission" / f"{aid}.ipynb")
    env = {"AUTOGRADER_ISOLATION": "basic"} if isolation == "basic" else {}
    proc, results = run_autograder(root, **env)

    assert proc.returncode == 0, proc.stderr
    assert_valid_results(results)
    assert results["score"] == pytest.approx(kit["score"])
    expected = {f"[{t['cell']}] {t['name']}": t["score"] for t in kit["tests"]}
    assert by_name(results) == pytest.approx(expected)
    failed = [t for t in results["tests"] if t["score"] < t["max_score"]]
    assert failed and all(t["output"] and t["output"] != "passed" for t in failed)
    if isolation == "basic":
        assert any(
            "AUTOGRADER_ISOLATION=basic" in n for n in results["extra_data"]["isolation"]["notes"]
        )


def test_a_corrupt_notebook_gets_score_zero_and_a_visible_reason(zips, tmp_path):
    root = tmp_path / "gs"
    unpack(zips["03_lstm"], root)
    shutil.copy(EXAMPLES / "dave" / "03_lstm" / "03_lstm.ipynb", root / "submission")
    proc, results = run_autograder(root)
    assert proc.returncode == 0
    assert_valid_results(results)
    assert results["score"] == 0
    first = results["tests"][0]
    assert first["visibility"] == "visible" and "not valid notebook JSON" in first["output"]


def test_an_empty_submission_folder_gets_score_zero_and_says_no_notebook(zips, tmp_path):
    root = tmp_path / "gs"
    unpack(zips["03_lstm"], root)
    proc, results = run_autograder(root)
    assert proc.returncode == 0
    assert_valid_results(results)
    assert results["score"] == 0
    assert "no notebook" in results["tests"][0]["output"]
    assert "03_lstm.ipynb" in results["tests"][0]["output"]
    assert sum(t["max_score"] for t in results["tests"]) == 32  # shown as 0 / the points


def test_a_broken_grader_still_writes_results_without_its_error_text(zips, tmp_path):
    root = tmp_path / "gs"
    source = unpack(zips["03_lstm"], root)
    (source / "autograder" / "hidden" / "test_03_lstm.py").write_text("def broken(:\n")
    shutil.copy(EXAMPLES / "bob" / "03_lstm" / "03_lstm.ipynb", root / "submission")
    proc, results = run_autograder(root)
    assert proc.returncode == 0
    assert_valid_results(results)
    assert results["score"] == 0
    text = json.dumps(results["tests"])
    assert "not your fault" in text and "test_03_lstm" not in text and "broken" not in text


def test_a_grading_past_the_time_limit_gets_score_zero_and_says_so(zips, tmp_path):
    root = tmp_path / "gs"
    source = unpack(zips["03_lstm"], root)
    config = json.loads((source / "gradescope.json").read_text())
    (source / "gradescope.json").write_text(json.dumps(config | {"timeout_s": 0.2}))
    shutil.copy(EXAMPLES / "bob" / "03_lstm" / "03_lstm.ipynb", root / "submission")
    proc, results = run_autograder(root)
    assert_valid_results(results)
    assert results["score"] == 0 and "did not finish within 0.2 s" in results["output"]


def test_without_a_python_run_autograder_still_writes_valid_results(zips, tmp_path):
    root = tmp_path / "gs"
    unpack(zips["03_lstm"], root)
    proc, results = run_autograder(root, AUTOGRADER_PYTHON=str(tmp_path / "no-python"))
    assert proc.returncode == 0
    assert_valid_results(results)
    assert results["score"] == 0 and "tell your instructor" in results["output"]


def test_the_zip_has_gradescopes_two_scripts_at_its_root_executable(zips):
    with zipfile.ZipFile(zips["03_lstm"]) as zf:
        modes = {i.filename: (i.external_attr >> 16) for i in zf.infolist()}
    for name in ("setup.sh", "run_autograder"):
        assert modes[name] & stat.S_IXUSR, f"{name} is not executable"
    assert not any(m & stat.S_IXUSR for n, m in modes.items() if n.endswith((".py", ".ipynb")))


def test_every_zip_holds_only_its_own_source_notebook_and_hidden_test(tmp_path):
    for aid in ASSIGNMENTS:
        with zipfile.ZipFile(gradescope.build(aid, tmp_path)) as zf:
            names = zf.namelist()
        notebooks = [n for n in names if n.endswith(".ipynb")]
        tests = [n for n in names if Path(n).name.startswith("test_")]
        assert notebooks == [f"source/{aid}/{aid}.ipynb"], aid
        assert tests == [f"autograder/hidden/test_{aid}.py"], aid
        assert not [n for n in names if n.startswith(("tests/", "solutions/", "release/"))]
        config = json.loads(zipfile.ZipFile(tmp_path / f"{aid}.zip").read("gradescope.json"))
        assert config["assignment"] == aid


def test_setup_sh_is_valid_bash_and_installs_every_package_the_zips_code_imports(zips):
    with zipfile.ZipFile(zips["03_lstm"]) as zf:
        setup = zf.read("setup.sh").decode()
        pins = zf.read("requirements.txt").decode().split()
        code = {n: zf.read(n).decode() for n in zf.namelist() if n.endswith(".py")}
    check = subprocess.run(["bash", "-n"], input=setup, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr
    assert 'pip install --no-cache-dir -r "$HERE/requirements.txt"' in setup

    imported: set[str] = set()
    for text in code.values():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    local = {Path(n).stem for n in code}  # the sandboxed scripts import each other by name
    first_party = {"autograder", "given", "s30kit"} | local
    third_party = imported - set(sys.stdlib_module_names) - first_party
    dists = importlib.metadata.packages_distributions()
    needed = {dists[m][0].lower() for m in third_party}
    assert {"numpy", "pytest", "pyseccomp"} <= needed  # the scan does see the engine's imports
    pinned = {p.split("==")[0].lower(): p.split("==")[1] for p in pins}
    assert needed <= set(pinned), f"setup.sh would not install {needed - set(pinned)}"
    checked = [line for line in setup.splitlines() if '-c "import ' in line]
    assert checked, "setup.sh must import the grading packages once installed"
    names = checked[-1].split('-c "import ', 1)[1].rstrip('"').split(", ")
    assert third_party <= set(names), f"setup.sh does not check {third_party - set(names)}"

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = pyproject["dependencies"] + pyproject["optional-dependencies"]["kit"]
    from packaging.requirements import Requirement

    specs = {Requirement(r).name.lower(): Requirement(r).specifier for r in declared}
    for name, version in pinned.items():
        assert name in specs, f"{name} is pinned for Gradescope but not in pyproject.toml"
        assert specs[name].contains(version), f"{name}=={version} breaks pyproject's {specs[name]}"


def test_the_notebook_to_grade_is_the_assignments_name_else_the_only_one(tmp_path):
    sub = tmp_path / "submission"
    (sub / "nested").mkdir(parents=True)
    (sub / "nested" / "mine.ipynb").write_text("{}")
    assert gradescope.find_notebook(sub, "03_lstm") == sub / "nested" / "mine.ipynb"
    (sub / "other.ipynb").write_text("{}")
    many = gradescope.find_notebook(sub, "03_lstm")
    assert isinstance(many, str) and "2 notebooks" in many and "03_lstm.ipynb" in many
    (sub / "nested" / "03_lstm.ipynb").write_text("{}")
    assert gradescope.find_notebook(sub, "03_lstm") == sub / "nested" / "03_lstm.ipynb"
    (sub / "03_lstm.ipynb").write_text("{}")
    assert gradescope.find_notebook(sub, "03_lstm") == sub / "03_lstm.ipynb"
    (sub / ".ipynb_checkpoints").mkdir()
    (sub / ".ipynb_checkpoints" / "03_lstm-checkpoint.ipynb").write_text("{}")
    assert gradescope.find_notebook(sub, "03_lstm") == sub / "03_lstm.ipynb"
    assert "no submission folder" in gradescope.find_notebook(tmp_path / "none", "03_lstm")


def test_the_chosen_visibility_reaches_every_test_but_never_hides_why_nothing_was_graded():
    test = {"name": "f_forward", "cell": "f", "kind": "forward", "score": 0.0, "max_score": 2.0}
    graded = {"assignment": "03_lstm", "status": "graded", "error": None, "score": 1.0}
    graded |= {"max_score": 3.0, "duration_s": 1.0}
    graded["tests"] = [
        test | {"status": "failed", "message": "your out differs"},
        test
        | {"name": "g_forward", "score": 1.0, "max_score": 1.0, "status": "passed"}
        | {"message": ""},
    ]
    results = gradescope.to_results(graded, "after_due_date")
    assert results["visibility"] == "after_due_date" and results["score"] == 1.0
    assert {t["visibility"] for t in results["tests"]} == {"after_due_date"}
    assert results["tests"][0]["output"] == "your out differs"

    broken = graded | {"status": "error", "error": "the submission is not a regular file"}
    results = gradescope.to_results(broken, "after_published")
    assert results["score"] == 0
    assert results["tests"][0]["visibility"] == "visible"
    assert "not a regular file" in results["tests"][0]["output"]
    with pytest.raises(gradescope.GradescopeError, match="visibility"):
        gradescope.build("03_lstm", Path("/nonexistent"), visibility="hidden")
