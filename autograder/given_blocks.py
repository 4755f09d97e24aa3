"""Given blocks: which ready-made modules of ``given/`` each assignment hands to its students.

An assignment asks for them in its source notebook's metadata (``s30kit.given``: a list of
module names such as ``["gradcheck", "layers"]``). The modules they import from each other come
along. ``make release`` writes them to ``source/<ID>/given/`` (nbgrader then releases them
beside the notebook) and to ``solutions/<ID>/given/``; the grader copies the same files into
the sandbox, so ``from given.layers import affine_forward`` works for the student, the answer
key and the grader alike.

A module is never given to an assignment that grades it: refused when its ``ANSWERS_FOR``
names the assignment, or when it defines a function with the name of one the assignment grades.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

from autograder.reference import source_layout
from autograder.registry import KIT_ROOT, source_notebook

GIVEN_DIR = KIT_ROOT / "given"
HEADER = (
    "# Given to you ready-made for this assignment: read it, use it, do not edit it.\n"
    "# (Generated from the kit's given/{name} by `make release`.)\n"
)


class GivenError(Exception):
    """An assignment asks for a module that does not exist or that holds its own answers."""


def available() -> list[str]:
    """The module names in ``given/`` (``gradcheck``, ``layers``, ...)."""
    return sorted(p.stem for p in GIVEN_DIR.glob("*.py") if p.stem != "__init__")


def _tree(name: str) -> ast.Module:
    return ast.parse((GIVEN_DIR / f"{name}.py").read_text())


def imports_of(name: str) -> list[str]:
    """The given modules that module ``name`` imports (``from given.layers import ...``)."""
    found = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("given."):
            found.append(node.module.split(".", 1)[1])
    return found


def answers_for(name: str) -> tuple[str, ...]:
    """The assignments that grade module ``name``'s functions (its ``ANSWERS_FOR``)."""
    for node in _tree(name).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "ANSWERS_FOR" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    return ()


def top_level_names(code: str) -> set[str]:
    """The functions and classes ``code`` defines at its top level."""
    return {
        n.name
        for n in ast.parse(code).body
        if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
    }


def defined_names(name: str) -> set[str]:
    """Top-level functions and classes module ``name`` of ``given/`` defines."""
    return top_level_names((GIVEN_DIR / f"{name}.py").read_text())


def graded_names(assignment: str) -> set[str]:
    """Functions and classes the assignment's answer cells define (the source's, as graded)."""
    names: set[str] = set()
    for _gid, kind, code in source_layout(assignment).run_cells:
        if kind == "answer":
            names |= top_level_names(code)
    return names


def declared(assignment: str) -> list[str]:
    """The modules the source notebook asks for (metadata ``s30kit.given``), as written."""
    meta = json.loads(source_notebook(assignment).read_text()).get("metadata", {})
    return list(meta.get("s30kit", {}).get("given", []))


def modules_for(assignment: str) -> list[str]:
    """The given modules released with ``assignment``: those it asks for and what they import.

    Raises:
        GivenError: an unknown module, or one holding answers of this assignment.
    """
    known = set(available())
    todo = list(declared(assignment))
    chosen: list[str] = []
    while todo:
        name = todo.pop(0)
        if name in chosen:
            continue
        if name not in known:
            raise GivenError(f"{assignment} asks for given/{name}.py, which does not exist")
        chosen.append(name)
        todo.extend(imports_of(name))
    graded = graded_names(assignment)
    for name in chosen:
        if assignment in answers_for(name):
            raise GivenError(
                f"given/{name}.py holds answers of {assignment} (its ANSWERS_FOR): "
                "it cannot be released with it"
            )
        clash = sorted(defined_names(name) & graded)
        if clash:
            raise GivenError(
                f"given/{name}.py defines {', '.join(clash)}, graded in {assignment}: "
                "it cannot be released with it"
            )
    return sorted(chosen)


def files_for(assignment: str) -> dict[str, str]:
    """``{relative path: text}`` of the ``given/`` folder released with ``assignment``."""
    names = modules_for(assignment)
    if not names:
        return {}
    out = {"given/__init__.py": HEADER.format(name="__init__.py") + _package_doc(names)}
    for name in names:
        text = (GIVEN_DIR / f"{name}.py").read_text()
        out[f"given/{name}.py"] = HEADER.format(name=f"{name}.py") + text
    return out


def _package_doc(names: list[str]) -> str:
    listed = ", ".join(f"given.{n}" for n in names)
    return f'"""Ready-made blocks for this assignment: {listed}."""\n'


def write(assignment: str, folder: Path) -> list[Path]:
    """Write ``folder/given/`` for ``assignment`` (replacing what was there); return the files."""
    shutil.rmtree(folder / "given", ignore_errors=True)
    written = []
    for rel, text in files_for(assignment).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def out_of_sync(assignment: str, folder: Path) -> list[str]:
    """What differs between ``folder/given/`` and what ``assignment`` should have there."""
    want = files_for(assignment)
    have_dir = folder / "given"
    have = {
        str(p.relative_to(folder)): p.read_text()
        for p in (have_dir.rglob("*.py") if have_dir.is_dir() else [])
    }
    problems = [f"{folder.name}/{rel} is missing" for rel in sorted(set(want) - set(have))]
    problems += [
        f"{folder.name}/{rel} should not be there" for rel in sorted(set(have) - set(want))
    ]
    problems += [
        f"{folder.name}/{rel} differs from given/{Path(rel).name}"
        for rel in sorted(set(want) & set(have))
        if want[rel] != have[rel]
    ]
    return problems
