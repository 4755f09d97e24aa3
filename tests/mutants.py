"""Templates for catalogue entries (``tests/catalogue/<ID>.py``) that repeat across assignments.

The one every assignment needs is the *numerical backward*: a backward that differentiates the
student's own forward by centred differences instead of deriving the gradient. It is accurate to
~1e-10 away from kinks, so it passes every gradient check; only the realistic-size time budget
(and, for ReLU/max/hinge, inputs next to a kink) can catch it. Each catalogue instantiates the
template with the lines that are specific to its function; the result is ordinary student code
(a mutant must be self-contained: it replaces text inside the student's answer cell).
"""

from __future__ import annotations

import textwrap

STEP = "1e-5"


def fd_loop(array: str, grad: str, objective: str, indent: int = 4) -> str:
    """Lines that fill ``grad`` with centred differences of ``objective`` w.r.t. ``array``.

    Args:
        array: the name of the array that is nudged in place (and restored).
        grad: the name of the gradient array to create.
        objective: an expression giving the scalar objective at the current ``array``.
        indent: spaces before each line.

    Returns:
        Code text (no trailing newline).
    """
    body = f"""\
{grad} = np.zeros_like({array})
for idx in np.ndindex({array}.shape):
    old = {array}[idx]
    {array}[idx] = old + {STEP}
    f_plus = {objective}
    {array}[idx] = old - {STEP}
    f_minus = {objective}
    {array}[idx] = old
    {grad}[idx] = (f_plus - f_minus) / (2 * {STEP})"""
    return textwrap.indent(body, " " * indent)


def numerical_backward(
    setup: str, objective: str, grads: str = "{}", args: str = "args", indent: int = 4
) -> str:
    """The body of a backward returning ``{"d<name>": ...}`` by centred differences.

    Args:
        setup: lines (already indented) that unpack the cache and build ``args``, a dict of
            copied arrays to differentiate with respect to.
        objective: an expression for ``sum(forward(**args) * upstream)``.
        grads: the initial dict (gradients the mutant computes some other way, e.g. a bias).
        args: the name of the dict built by ``setup``.
        indent: the body's indentation.

    Returns:
        Code text ending in ``return grads``, to replace a backward's body.
    """
    pad = " " * indent
    loop = fd_loop("arr", "g", "objective()", indent + 4)
    return (
        f"{setup}\n\n"
        f"{pad}def objective():\n"
        f"{pad}    return {objective}\n\n"
        f"{pad}grads = {grads}\n"
        f"{pad}for name, arr in {args}.items():\n"
        f"{loop}\n"
        f'{pad}    grads["d" + name] = g\n'
        f"{pad}return grads"
    )


def mutant(name: str, cell: str, old: str, new: str, *catches: str) -> dict:
    """A catalogue entry for a wrong implementation: ``new`` replaces ``old`` in ``cell``.

    Args:
        name: the entry's name (its report is ``mutant-<name>``).
        cell: the answer cell's ``grade_id``.
        old: the exact text of the reference the entry replaces (it must occur once in the cell).
        new: the wrong text put in its place.
        *catches: the hidden tests the mutant must fail.

    Returns:
        ``dict(name, cell, old, new, catches)``, the form ``scripts/catalogue.py`` loads.
    """
    return dict(name=name, cell=cell, old=old, new=new, catches=list(catches))


def variant(name: str, cell: str, old: str, new: str) -> dict:
    """A catalogue entry for a correct alternative, which must earn full marks.

    Returns:
        ``dict(name, cell, old, new)``: as :func:`mutant`, without ``catches``.
    """
    return dict(name=name, cell=cell, old=old, new=new)


def rewrites(cell: str, old: str, **wrong: tuple[str, list[str]]) -> list[dict]:
    """Catalogue entries that rewrite the same text ``old`` of ``cell`` in different ways.

    Args:
        cell: the answer cell's ``grade_id``.
        old: the exact text each entry replaces.
        **wrong: one entry per keyword, ``name=(new, catches)``.

    Returns:
        The entries, as ``dict(name, cell, old, new, catches)``.
    """
    return [mutant(name, cell, old, new, *catches) for name, (new, catches) in wrong.items()]


def numerical_backward_mutant(
    name: str,
    cell: str,
    old: str,
    setup: str,
    objective: str,
    grads: str = "{}",
    catches=(),
) -> dict:
    """A whole catalogue entry whose backward differentiates numerically.

    ``old`` is the start of the reference backward's body: its first line (the one that unpacks
    the cache) is kept and followed by ``setup``; the template's body comes next and ends in
    ``return grads``, so the rest of ``old`` stays behind it, unreachable (the cell still
    compiles, and the entry replaces exactly one place).

    Args:
        name, cell, catches: as in any catalogue entry.
        old: the text the entry replaces, starting with the cache-unpacking line.
        setup, objective, grads: as in :func:`numerical_backward`.

    Returns:
        ``dict(name, cell, old, new, catches)``.
    """
    unpack, newline, rest = old.partition("\n")
    body = numerical_backward(f"{unpack}\n{setup}", objective, grads)
    return mutant(name, cell, old, body + newline + rest, *catches)
