"""``grade-all``'s progress: a tqdm bar with an ETA on a terminal, one plain line per graded
submission elsewhere (CI logs, files, pipes), where a redrawn bar would be noise."""

from __future__ import annotations

import sys
from typing import TextIO


def submission_line(student: str | None, report: dict) -> str:
    """``student/ID: score/max in T s``, flagged when the submission could not be graded."""
    flag = "  (could not be graded)" if report["status"] == "error" else ""
    return (
        f"{student}/{report['assignment']}: "
        f"{report['score']:g}/{report['max_score']:g} in {report['duration_s']:.1f} s{flag}"
    )


class Progress:
    """Reports each graded submission to ``stream`` (default stdout).

    On a terminal (``stream.isatty()``) a tqdm bar counts the submissions and estimates the
    time left, with each submission's line printed above it; otherwise every submission gets
    the line ``[i/total] student/ID: score/max in T s``, as ``grade-all`` always printed.
    Use as a context manager so the bar is closed.
    """

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stdout
        self.done = 0
        isatty = getattr(self.stream, "isatty", None)
        self.bar = None
        if total and callable(isatty) and isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, file=self.stream, unit="sub", desc="grading", dynamic_ncols=True
            )

    def update(self, student: str | None, report: dict) -> None:
        """One more submission graded, with this report."""
        self.done += 1
        line = submission_line(student, report)
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
            self.bar.update(1)
        else:
            print(f"[{self.done}/{self.total}] {line}", file=self.stream, flush=True)

    def close(self) -> None:
        """Close the bar (leaving its final state on screen)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
