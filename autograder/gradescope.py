"""Gradescope: one autograder zip per assignment, and Gradescope's ``results.json`` from a report.

``python -m autograder gradescope ID [ID ...|all] --out DIR`` writes ``DIR/<ID>.zip`` in
Gradescope's autograder format: ``setup.sh`` and ``run_autograder`` at the root (templates in
``autograder/gradescope_files/``), a pinned ``requirements.txt``, ``gradescope.json`` (the
assignment and the visibility of its tests), and what the engine needs for this assignment
only: the modules of the ``autograder`` package that grading imports, the assignment's hidden
test file(s), the ``given/`` blocks grading imports, ``s30kit`` and the assignment's source
notebook (the reference). Gradescope unpacks it into ``/autograder/source``.

On Gradescope, ``run_autograder`` calls ``python -m autograder.gradescope run``, which finds the
student's notebook in ``<root>/submission/``, grades it with ``python -m autograder grade`` in a
child process under a time limit, and writes ``<root>/results/results.json``. Any failure (no
notebook, an unreadable one, a grader failure, a timeout) still gives a valid results.json with
score 0 and a message saying what is wrong.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.metadata
import json
import math
import os
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from autograder.registry import HIDDEN_DIR, KIT_ROOT, check_assignment, hidden_tests
from autograder.report import clean_text, write_json_atomic

TEMPLATES = Path(__file__).resolve().parent / "gradescope_files"
CONFIG_NAME = "gradescope.json"
#: Where setup.sh puts the grading venv on Gradescope's image (run_autograder's default Python).
VENV = "/opt/s30kit/venv"
#: Distributions grading imports (engine, hidden tests, s30kit), with their import names.
#: ``tests/test_gradescope.py`` checks this against every import of the zip's files.
GRADING_REQUIREMENTS: dict[str, str] = {
    "numpy": "numpy",
    "matplotlib": "matplotlib",
    "pytest": "pytest",
    "pyseccomp": "pyseccomp",
}
#: Test visibilities an instructor may choose (Gradescope's values). ``hidden`` is not offered:
#: Gradescope means it for tests that carry no points, and every kit test carries points.
VISIBILITIES = ("visible", "after_due_date", "after_published")
#: Gradescope's default autograder timeout is 10 min; grading stops before it, so a
#: results.json is always written.
DEFAULT_TIMEOUT_S = 540.0
FIRST_PARTY = ("autograder", "given", "s30kit")
#: Entry modules of ``python -m autograder grade`` and of ``run``. The CLI imports each
#: command's modules inside the command, so from ``cli`` only its module-level imports count.
ROOT_MODULES = (
    "autograder/__init__.py",
    "autograder/__main__.py",
    "autograder/cli.py",
    "autograder/runner.py",
    "autograder/report.py",
    "autograder/submission.py",
    "autograder/gradescope.py",
)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so a rebuild of unchanged files is byte-identical


class GradescopeError(Exception):
    """The zip cannot be built (an unknown visibility, a missing grading dependency)."""


# ----------------------------------------------------------------------------- building the zip


@functools.cache
def _imports(path: Path, top_level_only: bool = False) -> list[str]:
    """Dotted names ``path`` imports (``import a.b``, ``from a.b import c`` -> ``a.b``, and
    ``a.b.c`` too, since ``c`` may be a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def _module_file(name: str) -> Path | None:
    """The kit file of first-party module ``name`` (``autograder.report``), if there is one."""
    base = KIT_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _source_imports(assignment: str) -> list[str]:
    """What the source notebook's setup and answer cells import (the reference runs them)."""
    from autograder.reference import source_layout

    found: list[str] = []
    for _gid, _kind, code in source_layout(assignment).run_cells:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                found += [a.name for a in node.names]
    return found


def grading_files(assignment: str) -> list[Path]:
    """The kit files grading ``assignment`` needs, for the zip (sorted, absolute).

    The first-party modules reachable by imports from the entry modules and from the
    assignment's hidden test, the sandboxed scripts (copied by path into the sandbox), the
    hidden tests' pytest.ini, the given blocks released with the assignment, every ``s30kit``
    module (the student package the sandbox gets) and the source notebook. No other
    assignment's hidden test or source notebook.
    """
    from autograder import given_blocks
    from autograder.registry import source_notebook

    check_assignment(assignment)
    todo = [KIT_ROOT / p for p in ROOT_MODULES]
    todo += [
        hidden_tests(assignment),
        *sorted((KIT_ROOT / "autograder" / "sandboxed").glob("*.py")),
    ]
    todo += sorted((KIT_ROOT / "s30kit").rglob("*.py"))
    todo += [KIT_ROOT / "given" / f"{m}.py" for m in given_blocks.modules_for(assignment)]
    todo += [p for name in _source_imports(assignment) if (p := _module_file(name))]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen or "__pycache__" in path.parts:
            continue
        seen.add(path)
        cli_only_top = path == KIT_ROOT / "autograder" / "cli.py"
        for name in _imports(path, top_level_only=cli_only_top):
            if name.split(".")[0] not in FIRST_PARTY:
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # a module imports its parent packages too
                found = _module_file(".".join(parts[:i]))
                if found is not None and found not in seen:
                    todo.append(found)
    extra = [HIDDEN_DIR / "pytest.ini", source_notebook(assignment)]
    return sorted(seen | set(extra))


def pinned_requirements() -> list[str]:
    """``name==version`` for each grading dependency, as installed here (the tested set).

    Raises:
        GradescopeError: a dependency is not installed in this environment.
    """
    pins = []
    for dist in GRADING_REQUIREMENTS:
        try:
            pins.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            raise GradescopeError(
                f"{dist} is not installed here; install the kit first (pip install -e '.[kit]')"
            ) from None
    return pins


@functools.cache
def min_python() -> str:
    """The oldest ``major.minor`` every pinned requirement supports (their Requires-Python)."""
    best = (3, 10)  # the kit's own floor (pyproject.toml)
    for dist in GRADING_REQUIREMENTS:
        spec = importlib.metadata.metadata(dist).get("Requires-Python") or ""
        for major, minor in re.findall(r">=\s*(\d+)\.(\d+)", spec):
            best = max(best, (int(major), int(minor)))
    return f"{best[0]}.{best[1]}"


def _template(name: str) -> str:
    imports = ", ".join(GRADING_REQUIREMENTS.values())
    return (
        (TEMPLATES / name)
        .read_text()
        .replace("@VENV@", VENV)
        .replace("@MIN_PYTHON@", min_python())
        .replace("@IMPORTS_CHECK@", f"import {imports}")
    )


def _add(zf: zipfile.ZipFile, arcname: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build(
    assignment: str,
    out_dir: Path,
    visibility: str = "visible",
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Path:
    """Write ``out_dir/<assignment>.zip`` (atomically) and return its path.

    Raises:
        UnknownAssignment: the assignment is not built.
        GradescopeError: an unknown visibility, or a grading dependency not installed here.
    """
    check_assignment(assignment)
    if visibility not in VISIBILITIES:
        raise GradescopeError(f"visibility {visibility!r}: choose one of {', '.join(VISIBILITIES)}")
    config = {"assignment": assignment, "visibility": visibility, "timeout_s": timeout_s}
    requirements = "\n".join(pinned_requirements()) + "\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{assignment}.zip"
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            _add(zf, "setup.sh", _template("setup.sh").encode(), executable=True)
            _add(zf, "run_autograder", _template("run_autograder").encode(), executable=True)
            _add(zf, "requirements.txt", requirements.encode())
            _add(zf, CONFIG_NAME, (json.dumps(config, indent=1) + "\n").encode())
            for path in grading_files(assignment):
                _add(zf, path.relative_to(KIT_ROOT).as_posix(), path.read_bytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# ------------------------------------------------------------- results.json from a kit report


def _summary_line(report: dict) -> str:
    return f"{report['assignment']}: {report['score']:g} / {report['max_score']:g} points."


def unreadable_test(message: str) -> dict:
    """The always-visible entry that tells the student why nothing could be graded."""
    return {
        "name": "The submission could not be graded",
        "score": 0.0,
        "max_score": 0.0,
        "status": "failed",
        "output": message,
        "output_format": "text",
        "visibility": "visible",
    }


def to_results(report: dict, visibility: str = "visible") -> dict:
    """Gradescope's results.json for a kit report (schema in docs/DESIGN.md).

    One Gradescope test per hidden test case, named ``[cell] test``, with its score, points,
    status and the kit's message for the student (already cleaned and capped). A report of a
    submission that could not be graded gets score 0 and a first, always-visible test saying
    why, whatever ``visibility`` the instructor chose for the tests.
    """
    tests = [
        {
            "name": f"[{t['cell']}] {t['name']}",
            "score": t["score"],
            "max_score": t["max_score"],
            "status": "passed" if t["status"] == "passed" else "failed",
            "output": t["message"] or ("passed" if t["status"] == "passed" else t["status"]),
            "output_format": "text",  # student text is shown as it is, never as Markdown
            "tags": [t["kind"]],
            "visibility": visibility,
        }
        for t in report["tests"]
    ]
    output = _summary_line(report)
    score = report["score"]
    if report["status"] == "error":
        why = f"This submission could not be graded: {report['error']}"
        tests.insert(0, unreadable_test(why))
        output = f"{why}\n{output}"
        score = 0.0
    return {
        "score": score,
        "output": output,
        "output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",  # the grader's log is for instructors
        "execution_time": math.ceil(report.get("duration_s") or 0.0),  # whole seconds
        "tests": tests,
        "extra_data": {"kit_status": report["status"], "isolation": report.get("isolation")},
    }


def error_results(assignment: str, message: str, max_score: float | None = None) -> dict:
    """results.json for a submission no report exists for (no notebook, a grader failure)."""
    tests = [unreadable_test(message)]
    if max_score:
        tests.append(
            {
                "name": f"{assignment} (not graded)",
                "score": 0.0,
                "max_score": max_score,
                "status": "failed",
                "output": message,
                "output_format": "text",
                "visibility": "visible",
            }
        )
    return {
        "score": 0.0,
        "output": message,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"kit_status": "error"},
    }


# ----------------------------------------------------------------- grading on Gradescope's box

MAX_LISTED = 2000  # files looked at in a submission folder


def find_notebook(folder: Path, assignment: str) -> Path | str:
    """The notebook to grade in ``folder``: ``<ID>.ipynb`` (at the top first, else anywhere
    below), else the only ``.ipynb``; otherwise a message for the student saying what is wrong.

    Links are listed, not followed (intake refuses them with its own message); Jupyter's
    ``.ipynb_checkpoints`` and hidden folders are skipped.
    """
    wanted = f"{assignment}.ipynb"
    if not folder.is_dir():
        return f"no submission folder was found; submit {wanted}"
    found: list[Path] = []
    for count, (dirpath, dirnames, filenames) in enumerate(os.walk(folder)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(".ipynb")]
        if count > MAX_LISTED:
            break
    named = [p for p in found if p.name == wanted]
    if named:
        return min(named, key=lambda p: len(p.relative_to(folder).parts))
    if len(found) == 1:
        return found[0]
    if not found:
        return f"no notebook (.ipynb) was found in your submission; submit {wanted}"
    names = ", ".join(clean_text(str(p.relative_to(folder)), 80) for p in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return f"{len(found)} notebooks were submitted ({names}{more}); name the one to grade {wanted}"


def grade_in_child(notebook: Path, assignment: str, timeout_s: float) -> dict:
    """The kit's report for ``notebook``, graded in a child process
    (``grade_process.run_grade``), so no failure of the grader (a crash, a hang) can stop
    results.json being written."""
    from autograder.grade_process import run_grade
    from autograder.report import error_report

    with tempfile.TemporaryDirectory(prefix="s30kit-gs-") as tmp:
        out = Path(tmp) / "report.json"
        t0 = time.monotonic()
        proc = run_grade(notebook, assignment, out, timeout_s)
        if proc is None:
            why = f"grading did not finish within {timeout_s:g} s; tell your instructor"
        else:
            sys.stdout.write(proc.stdout[-20_000:])  # the instructor's log (stdout is hidden)
            sys.stderr.write(proc.stderr[-20_000:])
            if proc.returncode == 0 and out.is_file():
                return json.loads(out.read_text())
            # The grader's own error text can name kit files: it stays in the instructor's log.
            why = (
                f"the autograder itself failed (exit {proc.returncode}); this is not your "
                "fault: tell your instructor"
            )
        return error_report(assignment, str(notebook), why, time.monotonic() - t0)


def run(root: Path) -> dict:
    """Grade the submission under ``root`` (Gradescope's ``/autograder``) and write
    ``root/results/results.json``; return what was written. Never raises for a bad submission
    or a failing grader: the results say what went wrong."""
    results_path = root / "results" / "results.json"
    assignment = "the assignment"
    try:
        config = json.loads((KIT_ROOT / CONFIG_NAME).read_text())
        assignment = config["assignment"]
        found = find_notebook(root / "submission", assignment)
        if isinstance(found, str):
            results = error_results(assignment, f"Not graded: {found}.", _max_score(assignment))
        else:
            print(f"grading {found} as {assignment}", flush=True)
            report = grade_in_child(found, assignment, float(config["timeout_s"]))
            results = to_results(report, config["visibility"])
            if report["status"] == "error" and not report["tests"]:
                results["tests"] = error_results(
                    assignment, results["tests"][0]["output"], _max_score(assignment)
                )["tests"]
    except Exception as exc:  # the autograder's own fault: still a valid results.json
        print(f"autograder failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        results = error_results(
            assignment,
            "The autograder failed on this submission; this is not your fault: tell your "
            f"instructor ({clean_text(type(exc).__name__, 80)}).",
        )
    write_json_atomic(results_path, results)
    print(f"wrote {results_path}: score {results['score']:g}", flush=True)
    return results


def _max_score(assignment: str) -> float | None:
    try:
        from autograder.reference import source_layout

        return source_layout(assignment).max_score
    except Exception:
        return None


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope run [--root DIR]`` (what run_autograder calls)."""
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="grade <root>/submission and write <root>/results")
    r.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    args = parser.parse_args(argv)
    run(Path(args.root))
    return 0


if __name__ == "__main__":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
    raise SystemExit(main())
