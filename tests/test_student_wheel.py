"""Students get the student package, not the repository: `make wheel` builds a wheel of s30kit
alone, it installs in a fresh venv, and every release notebook's setup cells run with it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, ROOT

from autograder.registry import release_notebook


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: building in the repository would leave build/ behind in the kit tree.
    src = out / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "s30kit", src / "s30kit", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("s30kit-*.whl")
    return path


def test_the_wheel_holds_the_student_package_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert all(t == "s30kit" or t.endswith(".dist-info") for t in tops), tops
    assert not [n for n in names if n.startswith(("source/", "solutions/", "autograder/"))]
    assert not [n for n in names if n.endswith(".ipynb")]


def setup_code(aid: str) -> str:
    """The release notebook's locked setup cells (its imports), as a student runs them."""
    nb = json.loads(release_notebook(aid).read_text())
    cells = [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if str(c["metadata"].get("nbgrader", {}).get("grade_id", "")).startswith("setup")
    ]
    return "\n\n".join(cells)


@pytest.mark.slow
def test_the_wheel_installs_in_a_fresh_venv_and_runs_every_release_setup(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    proc = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for aid in ASSIGNMENTS:
        # the student's folder: a copy of the release (the notebook and its given/ blocks)
        folder = tmp_path / "student" / aid
        shutil.copytree(release_notebook(aid).parent, folder)
        code = "import s30kit, sys\n" + setup_code(aid) + "\nprint(s30kit.__file__)"
        run = subprocess.run(
            [str(py), "-c", code], cwd=folder, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, f"{aid}: {run.stderr[-1500:]}"
        assert str(venv) in run.stdout, f"{aid} imported s30kit from {run.stdout.strip()}"
