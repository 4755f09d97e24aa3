"""Stop a demo or experiment cell early, and kindly, when a function it needs is not written yet.

In a fresh release every function you write starts as ``raise NotImplementedError("write the
body of <name>")``. A cell that runs an experiment starts with ``require(f, g, ...)``: while any
of them is still that stub, the cell stops at once with one ``NotImplementedError`` that names
them all, instead of failing half-way with an unrelated error or printing results of nothing.
"""

from __future__ import annotations

from collections.abc import Callable

STUB_MESSAGE = "write the body of "


def unfinished(fn: Callable) -> bool:
    """True while ``fn`` still contains the release's stub (its ``NotImplementedError`` line)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    consts = [c for c in code.co_consts if isinstance(c, str)]
    return any(c.startswith(STUB_MESSAGE) for c in consts)


def require(*functions: Callable) -> None:
    """Raise ``NotImplementedError`` naming every function in ``functions`` not written yet.

    Raises:
        NotImplementedError: one or more of them still raise the release's stub.
    """
    missing = [getattr(fn, "__name__", repr(fn)) for fn in functions if unfinished(fn)]
    if missing:
        names = ", ".join(missing)
        raise NotImplementedError(
            f"this cell needs {names}: write {'them' if len(missing) > 1 else 'it'} first"
        )
