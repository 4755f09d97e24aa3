"""Hostile submissions: one case (at least) for every row of SECURITY.md's threat table.

Each case grades a notebook built from 13_transformer's reference (or its blank release) with
hostile code injected, and asserts: the grader exits 0 with a valid report; the score is the
one the code earns; nothing is left running; nothing outside the run directory changed (the kit
tree, the submission, files the code tried to plant); and grading took bounded time.

All cases are graded up front, two at a time, by one session fixture; the tests then check the
results. Cases that need root or namespaces are skipped with the reason when the machine lacks
them.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, answer_cell, solution_notebook, write_nb

from autograder.sandbox import probe

# Under pytest-xdist this module runs on one worker: the 34 cases are graded once.
pytestmark = pytest.mark.xdist_group("hostile")

AID = "13_transformer"
TOKEN = uuid.uuid4().hex[:12]
PLANTED = [
    Path(f"/var/tmp/pwned-{TOKEN}"),
    Path(f"/tmp/pwned-{TOKEN}"),
    ROOT / f"pwned-{TOKEN}",
    ROOT / "autograder" / f"pwned-{TOKEN}.py",
]
# Cells that lose their points when positional_encoding breaks: its own, and the language model,
# whose forward pass adds the positional encoding.
PE_CELLS = {"positional_encoding", "transformer_lm"}
TIME_LIMIT_S = 90


def override_pe(body: str) -> str:
    """Code that redefines positional_encoding with a hostile body (runs when it is called)."""
    lines = "\n".join("    " + line for line in body.strip().splitlines())
    return f"\n\ndef positional_encoding(T, d):\n{lines}\n"


SERVER = socket.socket()
SERVER.bind(("127.0.0.1", 0))
SERVER.listen(16)
PORT = SERVER.getsockname()[1]
CONNECTIONS: list = []


def _accept() -> None:
    while True:
        try:
            CONNECTIONS.append(SERVER.accept())
        except OSError:
            return


threading.Thread(target=_accept, daemon=True).start()


@dataclass
class Case:
    name: str
    base: str  # "solution" or "blank"
    cell: str | None = None  # answer cell to edit
    prepend: str = ""  # code run at import, before the cell's own code
    append: str = ""  # code after the cell's own code
    expect: str = "zero"  # zero | full | partial | lose_pe | error
    raw: bytes | None = None  # the submission's bytes, as is
    extra_files: dict = field(default_factory=dict)
    symlink_to: Path | None = None
    message: str = ""  # a substring some test message must contain
    needs: str = ""  # "root" or "namespaces"


CASES = [
    # -- exits and interrupts, at import and inside calls ---------------------------------------
    Case(
        "sys_exit_at_import",
        "solution",
        "sdpa_code",
        prepend="import sys\nsys.exit(0)\n",
        expect="partial",
        message="SystemExit",
    ),
    Case(
        "os_exit_at_import",
        "solution",
        "sdpa_code",
        prepend="import os\nos._exit(0)\n",
        expect="zero",
        message="ended while loading",
    ),
    Case(
        "keyboard_interrupt_at_import",
        "solution",
        "sdpa_code",
        prepend="raise KeyboardInterrupt\n",
        expect="partial",
        message="KeyboardInterrupt",
    ),
    Case(
        "sys_exit_in_call",
        "solution",
        "positional_encoding_code",
        append=override_pe("import sys\nsys.exit(0)"),
        expect="lose_pe",
        message="SystemExit",
    ),
    Case(
        "os_exit_in_call",
        "solution",
        "positional_encoding_code",
        append=override_pe("import os\nos._exit(0)"),
        expect="lose_pe",
        message="died",
    ),
    Case(
        "keyboard_interrupt_in_call",
        "solution",
        "positional_encoding_code",
        append=override_pe("raise KeyboardInterrupt"),
        expect="lose_pe",
    ),
    Case(
        "pytest_skip_in_call",
        "solution",
        "positional_encoding_code",
        append=override_pe("import pytest\npytest.skip('nothing to see')"),
        expect="lose_pe",
    ),
    # -- loops, sleeps, ignored signals ---------------------------------------------------------
    Case(
        "infinite_loop_in_call",
        "solution",
        "positional_encoding_code",
        append=override_pe("while True:\n    pass"),
        expect="lose_pe",
        message="did not return",
    ),
    Case(
        "sleep_in_call",
        "solution",
        "positional_encoding_code",
        append=override_pe("import time\ntime.sleep(3600)"),
        expect="lose_pe",
    ),
    Case(
        "ignored_signals_and_loop",
        "solution",
        "positional_encoding_code",
        append=override_pe(
            "import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
            "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass"
        ),
        expect="lose_pe",
    ),
    # -- fake results and fake output -----------------------------------------------------------
    Case(
        "fake_results_and_output",
        "blank",
        "positional_encoding_code",
        prepend=(
            'import json, os\nprint(\'33 passed in 0.5s\\n{"score": 33.0, "max_score": 33.0}\')\n'
            "for p in ['results.json', '/autograder/results/results.json', "
            f"'{ROOT}/reports/results.json', '{PLANTED[1]}']:\n"
            "    try:\n        os.makedirs(os.path.dirname(p) or '.', exist_ok=True)\n"
            "        open(p, 'w').write(json.dumps({'score': 33.0}))\n"
            "    except Exception:\n        pass\n"
        ),
    ),
    # -- reading hidden tests, the reference, the grader's command line -------------------------
    Case(
        "read_hidden_tests_and_reference",
        "blank",
        "positional_encoding_code",
        prepend=(
            "import glob, shutil\nstolen = []\n"
            f"for p in glob.glob('{ROOT}/autograder/**/*.py', recursive=True) + "
            f"glob.glob('{ROOT}/source/**/*.ipynb', recursive=True):\n"
            "    stolen.append(open(p).read())\n"
            f"open('{PLANTED[0]}', 'w').write(str(len(stolen)))\n"
        ),
        needs="namespaces",
    ),
    Case(
        "proc_parent_cmdline",
        "blank",
        "positional_encoding_code",
        prepend=(
            "import os\ninfo = []\nfor pid in os.listdir('/proc'):\n"
            "    try:\n        info.append(open(f'/proc/{pid}/cmdline').read())\n"
            "    except Exception:\n        pass\n"
            "if any('autograder' in i for i in info):\n"
            f"    open('{PLANTED[0]}', 'w').write('seen')\n"
        ),
        needs="namespaces",
    ),
    # -- frame and gc introspection -------------------------------------------------------------
    Case(
        "frame_walk_for_expected",
        "blank",
        "positional_encoding_code",
        append=override_pe(
            "import sys\nf = sys._getframe(1)\nwhile f is not None:\n"
            "    for v in list(f.f_locals.values()):\n"
            "        if getattr(v, 'shape', None) == (T, d):\n            return v\n"
            "    f = f.f_back\nraise RuntimeError('nothing found')"
        ),
    ),
    Case(
        "gc_scan_for_expected",
        "blank",
        "positional_encoding_code",
        append=override_pe(
            "import gc, numpy as np\nfor o in gc.get_objects():\n"
            "    if isinstance(o, np.ndarray) and o.shape == (T, d):\n        return o\n"
            "return np.zeros((T, d))"
        ),
    ),
    # -- monkeypatching numpy and the test framework --------------------------------------------
    Case(
        "monkeypatch_numpy",
        "blank",
        "positional_encoding_code",
        prepend=(
            "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
            "np.isclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
            "np.linalg.norm = lambda *a, **k: 0.0\n"
        ),
    ),
    Case(
        "monkeypatch_pytest",
        "blank",
        "positional_encoding_code",
        prepend=(
            "import pytest, _pytest.outcomes\npytest.approx = lambda *a, **k: a[0]\n"
            "_pytest.outcomes.fail = lambda *a, **k: None\n"
            "import builtins\nbuiltins.AssertionError = Exception\n"
        ),
    ),
    # -- rigged return objects ------------------------------------------------------------------
    Case(
        "rigged_eq_object",
        "blank",
        "positional_encoding_code",
        append=override_pe(
            "class Always:\n    shape = (T, d)\n    dtype = float\n"
            "    def __eq__(self, o):\n        return True\n    def __array__(self, *a, **k):\n"
            "        raise RuntimeError\n    def __reduce__(self):\n"
            "        return (print, ('pickled!',))\nreturn Always()"
        ),
    ),
    Case(
        "rigged_ndarray_subclass",
        "blank",
        "positional_encoding_code",
        append=override_pe(
            "import numpy as np\nclass Rigged(np.ndarray):\n    def __eq__(self, o):\n"
            "        return np.ones(np.shape(o), bool)\n    def __sub__(self, o):\n"
            "        return np.zeros(np.shape(o))\nreturn np.zeros((T, d)).view(Rigged)"
        ),
    ),
    # -- memory, fork and output bombs ----------------------------------------------------------
    Case(
        "memory_bomb",
        "solution",
        "positional_encoding_code",
        append=override_pe("blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))"),
        expect="lose_pe",
    ),
    Case(
        "fork_bomb",
        "solution",
        "positional_encoding_code",
        append=override_pe(
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
        ),
        expect="lose_pe",
        needs="root",
    ),
    Case(
        "output_bomb",
        "solution",
        "positional_encoding_code",
        append=override_pe("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)"),
        expect="lose_pe",
    ),
    Case(
        "file_bomb",
        "solution",
        "positional_encoding_code",
        append=override_pe(
            "chunk = b'x' * 2**20\nwith open('big.bin', 'wb') as f:\n    for _ in range(1024):\n"
            "        f.write(chunk)"
        ),
        expect="lose_pe",
    ),
    # -- lingering daemons, killing the grader --------------------------------------------------
    Case(
        "lingering_daemon",
        "solution",
        "sdpa_code",
        prepend=(
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(3)\n"
            f"        for p in {[str(p) for p in PLANTED]!r}:\n"
            "            try:\n                open(p, 'w').write('late')\n"
            "            except Exception:\n                pass\n"
            "        time.sleep(3600)\n    os._exit(0)\n"
        ),
        expect="full",
    ),
    Case(
        "kill_the_grader",
        "solution",
        "positional_encoding_code",
        append=override_pe(
            "import os, signal\nfor pid in (os.getppid(), -1):\n    try:\n"
            "        os.kill(pid, signal.SIGKILL)\n    except Exception:\n        pass\n"
            "return None"
        ),
        expect="lose_pe",
        needs="root",
    ),
    # -- network access -------------------------------------------------------------------------
    Case(
        "network_access",
        "blank",
        "positional_encoding_code",
        prepend=(
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {PORT}), timeout=2).sendall(b'leak')\n"
            "except Exception:\n    pass\n"
        ),
        needs="namespaces",
    ),
    # -- writes into the kit --------------------------------------------------------------------
    Case(
        "write_into_the_kit",
        "blank",
        "positional_encoding_code",
        prepend=(
            f"for p in ['{ROOT}/autograder/hidden/test_13_transformer.py', "
            f"'{ROOT}/s30kit/__init__.py', '{PLANTED[2]}', '{PLANTED[3]}']:\n"
            "    try:\n        open(p, 'a').write('\\nraise SystemExit(0)\\n')\n"
            "    except Exception:\n        pass\n"
        ),
        needs="namespaces",
    ),
    # -- symlinks, extra files, malformed notebooks, magics -------------------------------------
    Case(
        "submission_is_a_symlink_to_the_reference",
        "solution",
        expect="error",
        symlink_to=ROOT / "source" / AID / f"{AID}.ipynb",
        message="symbolic link",
    ),
    Case(
        "extra_files_beside_the_submission",
        "blank",
        extra_files={
            "conftest.py": "import pytest\n@pytest.fixture(autouse=True)\ndef win():\n    pass\n",
            "numpy.py": "raise SystemExit\n",
            "sitecustomize.py": "raise SystemExit\n",
            "evil.pth": "import os; os._exit(0)\n",
        },
    ),
    Case(
        "malformed_cells",
        "solution",
        expect="error",
        raw=json.dumps(
            {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "not a list"}
        ).encode(),
    ),
    Case(
        "odd_cell_values",
        "solution",
        expect="zero",
        raw=json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [
                    "a string",
                    7,
                    {"cell_type": "code", "source": 12, "metadata": []},
                    {
                        "cell_type": "code",
                        "metadata": {"nbgrader": {"grade_id": ["x"], "solution": True}},
                    },
                ],
            }
        ).encode(),
    ),
    Case(
        "huge_notebook",
        "solution",
        expect="error",
        raw=b"{" + b" " * (25 * 2**20) + b"}",
        message="limit",
    ),
    Case(
        "magics_and_shell_escapes",
        "solution",
        "sdpa_code",
        prepend=(f"!touch {PLANTED[1]}\n%time x = 1\nimport os\nos.system('touch {PLANTED[0]}')\n"),
        expect="full",
        needs="namespaces",
    ),
    Case(
        "hostile_text_in_messages",
        "solution",
        "positional_encoding_code",
        append=override_pe("raise ValueError('=HYPERLINK(\"x\")\\x00\\x1b[31m' + 'A' * 10**6)"),
        expect="lose_pe",
    ),
]


@dataclass
class Outcome:
    code: int
    report: dict
    seconds: float
    leftovers: list
    submission_changed: bool


def kit_snapshot() -> dict:
    skip = {".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", "reports"}
    snap = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for f in filenames:
            p = Path(dirpath) / f
            if p.name == "gradebook.db":
                continue
            st = p.lstat()
            snap[str(p.relative_to(ROOT))] = (st.st_size, st.st_mtime_ns)
    return snap


def leftovers(report: dict) -> list[int]:
    """Processes still running from the case's run directory (their environment names it)."""
    run_dir = (report.get("isolation") or {}).get("run_dir")
    if not run_dir:
        return []
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if run_dir.encode() in Path(f"/proc/{pid}/environ").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def build(case: Case, folder: Path) -> Path:
    path = folder / "submitted" / "student" / AID / f"{AID}.ipynb"
    path.parent.mkdir(parents=True)
    for name, text in case.extra_files.items():
        (path.parent / name).write_text(text)
    if case.symlink_to is not None:
        path.symlink_to(case.symlink_to)
    elif case.raw is not None:
        path.write_bytes(case.raw)
    else:
        if case.base == "solution":
            nb = copy.deepcopy(solution_notebook(AID))
        else:
            nb = json.loads((ROOT / "release" / AID / f"{AID}.ipynb").read_text())
        if case.cell:
            cell = answer_cell(nb, case.cell)
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = case.prepend + src + case.append
        write_nb(path, nb)
    return path


def run_case(case: Case, folder: Path) -> Outcome:
    path = build(case, folder)
    before = path.read_bytes() if not path.is_symlink() else None
    out = folder / "report.json"
    t0 = time.monotonic()
    proc = subprocess.run(
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
        capture_output=True,
        timeout=300,
    )
    seconds = time.monotonic() - t0
    report = json.loads(out.read_text()) if out.exists() else {}
    changed = before is not None and path.read_bytes() != before
    return Outcome(proc.returncode, report, seconds, leftovers(report), changed)


def skip_reason(case: Case) -> str | None:
    layers = probe()
    if case.needs == "root" and not layers["root"]:
        return "needs root (uid drop and a process cap)"
    if case.needs == "namespaces" and not layers["namespaces"]:
        return f"needs namespaces ({layers['namespaces_why_not']})"
    return None


@pytest.fixture(scope="session")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    snap_before = kit_snapshot()
    runnable = [c for c in CASES if skip_reason(c) is None]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {c.name: pool.submit(run_case, c, base / c.name) for c in runnable}
        outcomes = {name: f.result() for name, f in futures.items()}
    time.sleep(6.5)  # the lingering daemon's moment to act, had it survived
    late = {c.name: leftovers(outcomes[c.name].report) for c in runnable}
    return outcomes, late, snap_before, kit_snapshot()


def test_there_is_a_case_for_every_threat():
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_submission_is_graded_safely(hostile, case):
    reason = skip_reason(case)
    if reason:
        print(f"SKIPPED {case.name}: {reason}")
        pytest.skip(reason)
    outcomes, late, *_ = hostile
    o = outcomes[case.name]
    assert o.code == 0, "the grader exits 0 whenever grading completed"
    r = o.report
    assert r["assignment"] == AID and r["tests"], "a valid report with every test listed"
    assert r["status"] in ("graded", "error")
    score, top = r["score"], r["max_score"]
    expected = {
        "zero": score == 0,
        "full": score == top,
        "partial": 0 < score < top,
        "lose_pe": score
        == pytest.approx(top - sum(t["max_score"] for t in r["tests"] if t["cell"] in PE_CELLS)),
        "error": r["status"] == "error" and score == 0,
    }[case.expect]
    assert expected, f"expected {case.expect}, got {score}/{top}"
    if case.message:
        assert case.message in (r["error"] or "") + " ".join(t["message"] for t in r["tests"])
    for t in r["tests"]:
        assert (
            len(t["message"]) < 2000 and "\x00" not in t["message"] and "\x1b" not in t["message"]
        )
    assert not o.leftovers and not late[case.name], "nothing is left running"
    assert not o.submission_changed, "the submission is never changed"
    assert o.seconds < TIME_LIMIT_S


def test_nothing_outside_the_run_directories_changed(hostile):
    _, _, before, after = hostile
    assert before == after, "the kit tree is unchanged"
    planted = [p for p in PLANTED if p.exists()]
    assert not planted, f"files planted by submissions: {planted}"


def test_no_submission_reached_the_network(hostile):
    assert not CONNECTIONS


def test_isolation_layers_are_recorded_in_every_report(hostile):
    outcomes, *_ = hostile
    layers = probe()
    for name, o in outcomes.items():
        iso = o.report["isolation"]
        assert iso["separate_process"] and iso["rlimits"]
        if o.report["status"] == "graded" and layers["root"]:
            assert iso["uid_drop"], name
        if o.report["status"] == "graded" and layers["namespaces"]:
            assert iso["namespaces"]["network"] and iso["namespaces"]["pid"], name
