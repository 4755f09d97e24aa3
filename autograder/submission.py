"""A submission and its nbgrader coordinates, computed once and carried through grading.

nbgrader lays submissions out as ``<submitted>/<student>/<ID>/<ID>.ipynb``. When a notebook sits
in that layout, the student, the assignment folder and the whole ``submitted`` tree are known from
its path, and the worker must see none of them; a notebook elsewhere is graded on its own and only
its own folder is hidden.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Submission:
    """One notebook to grade.

    Attributes:
        path: the notebook, as given (links are not resolved: intake refuses links itself).
        assignment: the assignment ID it is graded against.
        student: the nbgrader student ID, or None outside nbgrader's layout.
        submitted_dir: nbgrader's ``submitted`` folder holding it, or None.
    """

    path: Path
    assignment: str
    student: str | None = None
    submitted_dir: Path | None = None

    @classmethod
    def at(cls, path: str | os.PathLike, assignment: str) -> Submission:
        """The submission at ``path``, with nbgrader coordinates if the path has the layout
        ``<submitted>/<student>/<name>/<name>.ipynb`` (the folder named like the notebook)."""
        absolute = Path(os.path.abspath(path))
        parts = absolute.parents
        if len(parts) > 3 and absolute.parent.name == absolute.stem:
            return cls(Path(path), assignment, student=parts[1].name, submitted_dir=parts[2])
        return cls(Path(path), assignment)

    @property
    def folder(self) -> Path:
        """The folder holding the notebook (absolute)."""
        return Path(os.path.abspath(self.path)).parent

    def report_path(self, reports_dir: Path) -> Path:
        """Where ``grade-all`` writes its report: ``<reports>/<student>/<ID>.json``."""
        return reports_dir / (self.student or "unknown") / f"{self.assignment}.json"

    def folders_to_hide(self, extra: tuple[Path, ...] = ()) -> tuple[Path, ...]:
        """What the worker must not see: this notebook's folder and, in nbgrader's layout, the
        whole submitted tree (other students), plus ``extra`` (e.g. the reports folder)."""
        hide = [self.folder]
        if self.submitted_dir is not None:
            hide.append(self.submitted_dir)  # other students' submissions
        return (*hide, *(Path(os.path.abspath(p)) for p in extra))
