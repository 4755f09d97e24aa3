"""The worker launch: every layer the machine allows is used and recorded; without them the
grader still grades and says what is missing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, solution_notebook, write_nb

from autograder.sandbox import RUNS_BASE, plan_masks, probe

AID = "13_transformer"


def grade(tmp_path, env=None) -> dict:
    path = write_nb(tmp_path / "sub.ipynb", solution_notebook(AID))
    out = tmp_path / "r.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(path),
            "--assignment",
            AID,
            "--json",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env=env,
    )
    return json.loads(out.read_text())


def test_correct_submission_scores_full_marks_with_every_available_layer(tmp_path):
    report = grade(tmp_path)
    assert report["score"] == report["max_score"]
    iso, layers = report["isolation"], probe()
    assert iso["separate_process"] and iso["scrubbed_env"] and iso["rlimits"]["core"] == 0
    assert iso["uid_drop"] == layers["root"]
    assert iso["namespaces"]["network"] == iso["namespaces"]["pid"] == layers["namespaces"]
    assert iso["seccomp"] == layers["seccomp"]
    if layers["namespaces"]:
        hidden = [Path(h) for h in iso["namespaces"]["hidden"]]
        assert any(h == ROOT or h in ROOT.parents for h in hidden), "the kit is hidden"


def test_without_the_privileged_layers_it_still_grades_and_says_why(tmp_path):
    env = dict(os.environ, AUTOGRADER_ISOLATION="basic")
    report = grade(tmp_path, env)
    assert report["score"] == report["max_score"]
    iso = report["isolation"]
    assert not iso["uid_drop"] and not iso["namespaces"]["network"] and not iso["seccomp"]
    assert any("uid drop" in n for n in iso["notes"]) and any("seccomp" in n for n in iso["notes"])


@pytest.fixture
def open_tmp():
    """A scratch folder whose parents every uid can traverse (unlike pytest's tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix="s30kit-test-", dir="/var/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_unreadable_parents_of_the_interpreter_are_masked_but_the_interpreter_kept(open_tmp):
    locked = open_tmp / "home"
    (locked / "py").mkdir(parents=True)
    os.chmod(locked, 0o700)
    masks = plan_masks([locked / "py"], [])
    assert (str(locked), [str(locked / "py")], "0755") in masks


def test_system_folders_are_never_masked_and_nested_masks_collapse(tmp_path):
    inner = tmp_path / "course" / "submitted"
    inner.mkdir(parents=True)
    masks = plan_masks([], [Path("/"), Path("/usr"), tmp_path / "course", inner])
    assert masks == [("/tmp", [], "1777")], "tmp_path lives in /tmp, which is always private"


def test_a_kit_cloned_under_tmp_keeps_its_venv_in_the_private_tmp(open_tmp):
    kit = Path("/tmp/kit-clone")
    masks = plan_masks([kit / ".venv", open_tmp], [kit])
    assert ("/tmp", [str(kit / ".venv")], "1777") in masks


@pytest.mark.skipif(not probe()["namespaces"], reason="needs namespaces")
def test_kept_paths_inside_a_masked_folder_stay_visible(open_tmp):
    kit = open_tmp / "kit"
    (kit / ".venv").mkdir(parents=True)
    masks = plan_masks([kit / ".venv", Path("/var/tmp/x")], [kit])
    assert (str(kit), [str(kit / ".venv")], "0755") in masks


def run_dir_of_child(parent: int) -> Path | None:
    """The run directory of a worker started by process ``parent`` (from its environment)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != parent:
                continue
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        for var in env:
            if var.startswith(b"HOME=") and b"s30kit-run-" in var:
                return Path(var[5:].decode()).parent
    return None


@pytest.mark.skipif(not probe()["root"], reason="needs root (run directories under /var/tmp)")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_killed_grader_leaves_no_worker_running(tmp_path, how):
    nb = solution_notebook(AID)
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution"))
    cell["source"] += "\n\ndef positional_encoding(T, d):\n    while True:\n        pass\n"
    path = write_nb(tmp_path / "sub.ipynb", nb)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(path), "--assignment", AID],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # This grader's run directory (other graders may be running in parallel): the HOME its
    # worker was started with.
    deadline = time.monotonic() + 30
    run = None
    while run is None and time.monotonic() < deadline:
        run = run_dir_of_child(proc.pid)
        time.sleep(0.1)
    assert run is not None and run.parent == RUNS_BASE
    time.sleep(1.0)  # the worker is now inside the endless loop
    proc.send_signal(how)
    proc.wait(timeout=30)
    time.sleep(1.0)
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if str(run).encode() in Path(f"/proc/{pid}/environ").read_bytes():
                alive.append(pid)
        except OSError:
            pass
    assert not alive, "the worker died with its grader"
    if how == signal.SIGTERM:
        assert not run.exists(), "a terminated grader still removes its run directory"
