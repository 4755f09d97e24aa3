"""grade-all's progress: a tqdm bar with an ETA on a terminal, plain numbered lines elsewhere,
each carrying the submission's student/ID, score and time."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios

from conftest import ROOT

from autograder.progress import Progress

QUICK = "01_complexodynamics"
REPORTS = [
    {"assignment": QUICK, "status": "graded", "score": 24.0, "max_score": 24.0, "duration_s": 3.21},
    {"assignment": QUICK, "status": "error", "score": 0.0, "max_score": 24.0, "duration_s": 1.04},
]


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_off_a_terminal_each_submission_is_one_numbered_plain_line():
    out = io.StringIO()
    with Progress(2, out) as progress:
        progress.update("alice", REPORTS[0])
        progress.update("dave", REPORTS[1])
    assert out.getvalue().splitlines() == [
        f"[1/2] alice/{QUICK}: 24/24 in 3.2 s",
        f"[2/2] dave/{QUICK}: 0/24 in 1.0 s  (could not be graded)",
    ]


def test_on_a_terminal_a_bar_counts_with_an_eta_and_the_lines_stay_above_it():
    out = Terminal()
    with Progress(2, out) as progress:
        assert progress.bar is not None
        progress.update("alice", REPORTS[0])
        progress.update("dave", REPORTS[1])
    text = out.getvalue()
    assert "\r" in text  # redrawn in place
    assert "grading" in text and "2/2" in text and "100%" in text
    assert "<" in text.split("2/2")[-1]  # tqdm's [elapsed<remaining]
    assert f"alice/{QUICK}: 24/24 in 3.2 s" in text and "[1/2]" not in text


def test_nothing_to_grade_draws_no_bar_even_on_a_terminal():
    out = Terminal()
    with Progress(0, out) as progress:
        assert progress.bar is None
    assert out.getvalue() == ""


def test_grade_all_on_a_pseudo_terminal_draws_the_bar(tmp_path):
    sub = tmp_path / "submitted" / "dave" / QUICK
    sub.mkdir(parents=True)  # one broken notebook: quick, it cannot be graded
    shutil.copy(ROOT / "examples" / "submitted" / "dave" / QUICK / f"{QUICK}.ipynb", sub)
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(tmp_path / "submitted")]
    cmd += ["--reports", str(tmp_path / "reports"), "--gradebook", "none"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=secondary, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    proc.stderr.close()
    text = b"".join(chunks).decode(errors="replace")
    assert "grading" in text and "1/1" in text and "100%" in text and "\r" in text
    assert f"dave/{QUICK}: 0/24 in" in text and "[1/1]" not in text
