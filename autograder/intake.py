"""Reading a submission safely and extracting the cells the grader runs.

The submission is opened without following links, must be a regular file below a size cap, and
is parsed as JSON in the trusted process. Nothing else from the submission's folder is used.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_SUBMISSION_BYTES = 20 * 1024 * 1024


class IntakeError(Exception):
    """The submission cannot be graded at all; the message says why, for the student."""


def read_notebook_file(path: str | os.PathLike, max_bytes: int = MAX_SUBMISSION_BYTES) -> dict:
    """Open ``path`` (no symlinks, regular file, size-capped) and parse it as a notebook."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise IntakeError(f"the submission file {Path(path).name!r} does not exist") from None
    except OSError as exc:
        if os.path.islink(path):
            raise IntakeError("the submission is a symbolic link, not a notebook file") from None
        raise IntakeError(f"the submission could not be opened ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IntakeError("the submission is not a regular file")
        if st.st_size > max_bytes:
            raise IntakeError(
                f"the submission is {st.st_size / 1e6:.1f} MB, over the "
                f"{max_bytes / 1e6:.0f} MB limit (clear the outputs and submit again)"
            )
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    return parse_notebook(data)


def parse_notebook(data: bytes) -> dict:
    """Parse and minimally validate notebook JSON (nbformat 4)."""
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise IntakeError("the submission is not a text file (is it really a .ipynb?)") from None
    except ValueError as exc:
        raise IntakeError(
            f"the submission is not valid notebook JSON ({str(exc)[:120]}); "
            "was it saved from Jupyter?"
        ) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise IntakeError("the submission is JSON but not a Jupyter notebook (no 'cells' list)")
    if nb.get("nbformat") != 4:
        raise IntakeError(f"the notebook format {nb.get('nbformat')!r} is not supported (need 4)")
    return nb


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


@dataclass
class GradeCell:
    grade_id: str
    points: float


@dataclass
class Layout:
    """What the instructor's source notebook says about its cells."""

    run_cells: list[tuple[str, str, str]]  # (grade_id, kind "setup"|"answer", source code)
    grade_cells: list[GradeCell]

    @property
    def answer_ids(self) -> list[str]:
        return [gid for gid, kind, _ in self.run_cells if kind == "answer"]

    @property
    def max_score(self) -> float:
        return sum(g.points for g in self.grade_cells)


def layout_of(source_nb: dict) -> Layout:
    """Classify the source notebook's code cells by their nbgrader metadata."""
    run_cells, grade_cells = [], []
    for cell in source_nb["cells"]:
        meta = nbgrader_meta(cell)
        if cell.get("cell_type") != "code" or not meta:
            continue
        gid = str(meta.get("grade_id", ""))
        if meta.get("solution"):
            run_cells.append((gid, "answer", cell_source(cell)))
        elif meta.get("grade"):
            grade_cells.append(GradeCell(gid, float(meta.get("points", 0))))
        elif meta.get("locked"):
            run_cells.append((gid, "setup", cell_source(cell)))
    return Layout(run_cells, grade_cells)


@dataclass
class Extracted:
    cells: list[tuple[str, str]]  # (label, code) in the order the worker runs them
    missing: list[str] = field(default_factory=list)


def extract_module(layout: Layout, submission_nb: dict) -> Extracted:
    """The instructor's setup cells plus the student's answer cells, matched by ``grade_id``."""
    answers: dict[str, str] = {}
    for cell in submission_nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if isinstance(gid, str) and meta.get("solution") and gid not in answers:
            answers[gid] = cell_source(cell)
    out = Extracted(cells=[])
    for gid, kind, code in layout.run_cells:
        if kind == "setup":
            out.cells.append((f"setup:{gid}", code))
        elif gid in answers:
            out.cells.append((gid, answers[gid]))
        else:
            out.missing.append(gid)
    return out
