"""Where the kit keeps things: source notebooks and hidden tests."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent
SOURCE_DIR = KIT_ROOT / "source"
HIDDEN_DIR = HERE / "hidden"
ASSIGNMENT_ID = re.compile(r"^\d\d_[a-z0-9_]+$")


class UnknownAssignment(Exception):
    """The assignment ID names no gradable assignment in this kit."""


def source_notebook(assignment: str) -> Path:
    return SOURCE_DIR / assignment / f"{assignment}.ipynb"


def hidden_tests(assignment: str) -> Path:
    return HIDDEN_DIR / f"test_{assignment}.py"


def assignments() -> list[str]:
    """IDs that have both a source notebook and hidden tests, sorted."""
    found = []
    for path in sorted(HIDDEN_DIR.glob("test_*.py")):
        aid = path.stem[len("test_") :]
        if ASSIGNMENT_ID.match(aid) and source_notebook(aid).is_file():
            found.append(aid)
    return found


def check_assignment(assignment: str) -> str:
    if assignment not in assignments():
        known = ", ".join(assignments()) or "none"
        raise UnknownAssignment(f"unknown assignment {assignment!r} (gradable: {known})")
    return assignment
