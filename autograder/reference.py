"""The reference implementation: the source notebook's own setup and answer cells, executed in
the trusted process. There is no second copy of the solutions to drift."""

from __future__ import annotations

import functools
import types

from autograder.intake import Layout, layout_of, read_notebook_file
from autograder.registry import source_notebook


@functools.cache
def source_layout(assignment: str) -> Layout:
    return layout_of(read_notebook_file(source_notebook(assignment)))


@functools.cache
def load_reference(assignment: str) -> types.ModuleType:
    """Execute the source notebook's setup and answer cells into a fresh module (cached)."""
    module = types.ModuleType(f"reference_{assignment}")
    for gid, _kind, code in source_layout(assignment).run_cells:
        exec(compile(code, f"<reference {gid}>", "exec"), module.__dict__)
    return module
