# Given to you ready-made for this assignment: read it, use it, do not edit it.
# (Generated from the kit's given/diagnosis.py by `make release`.)
"""What kind of bug a wrong gradient shows: a diagnosis from the gradient and the numerical one.

A gradient check says *that* a backward is wrong and *where* the largest difference is. Most
backpropagation bugs leave a recognisable shape in the error, visible from two arrays alone: the
gradient ``g`` the student's backward returned and the numerical gradient ``n`` of the student's
own forward (centred differences). :func:`diagnose` looks for these shapes, in this order:

* ``zero``: ``g`` is zero everywhere although ``n`` is not (a path to the input is missing);
* ``sign``: ``g = -n``;
* ``factor``: ``g = c n`` for one constant ``c``; when ``c`` (or ``1/c``) is a quantity of the
  call (a dimension such as the batch size, ``sqrt`` of a last dimension, a probability ``p`` or
  ``1 - p``, 2, ``ln 2``) the sentence names it and the likely cause;
* ``transpose``: ``g`` is ``n`` with its last two axes swapped;
* ``zero`` again: ``g`` is zero at some entries where ``n`` is not, and right everywhere else;
* ``slices``: ``g`` is right everywhere but at the steps before the last along axis 1 of a
  (B, T, ...) tensor (the recurrent path), or but in a run of whole equal blocks of its last
  axis (a gate's or a head's columns); the sentence names the indices.

Every statement is checked exactly (up to the numerical gradient's own noise) before it is made;
when no shape fits, :func:`diagnose` returns None: a wrong diagnosis is worse than none. Only the
two arrays and the call's shapes and numbers are used, never a reference implementation's values,
so the sentence is safe to show to the student.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["Quantity", "Diagnosis", "quantities_of", "diagnose", "kinds_in", "SIGNATURES"]

#: ``g`` "is" ``c n`` when the norm-wise relative residual is at most this. Centred differences
#: of a smooth float64 function are accurate to ~1e-9 relative (whole-model losses ~1e-7), and a
#: bug of one of these classes fits to rounding error, so 1e-5 separates the two with margin.
FIT = 1e-5
#: A factor matches a named quantity when it equals it to this relative precision.
MATCH = 1e-6
#: Fewest informative entries for a claim about a constant factor that no quantity explains.
MIN_ENTRIES_GENERIC = 3
#: A factor this close to 1 is not claimed: such an error comes from a slightly different
#: formula (an epsilon placed elsewhere), not from a factor left out.
NEAR_ONE = 0.01


@dataclass(frozen=True)
class Quantity:
    """A number of the call that a gradient may wrongly be scaled by.

    ``value`` is the number, ``name`` how the sentence names it (``"x.shape[0]"``), ``kind`` one
    of ``"size"`` (a dimension, or a product of two), ``"sqrt"`` (the square root of one),
    ``"prob"`` / ``"keep"`` (a probability p and 1 - p), ``"number"`` (another scalar argument),
    ``"two"`` and ``"ln2"``.
    """

    value: float
    name: str
    kind: str


@dataclass(frozen=True)
class Diagnosis:
    """The bug class (``zero``, ``sign``, ``factor``, ``transpose`` or ``slices``) and the
    sentence for the student."""

    kind: str
    sentence: str


def _arrays(value, name: str) -> Iterable[tuple[str, np.ndarray]]:
    if isinstance(value, np.ndarray):
        yield name, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _arrays(v, f"{name}[{k!r}]" if name else str(k))
    elif isinstance(value, (tuple, list)) and len(value) <= 16:
        for i, v in enumerate(value):
            yield from _arrays(v, f"{name}[{i}]")


def quantities_of(call: Mapping[str, object]) -> list[Quantity]:
    """The quantities of a call that a wrong gradient is commonly scaled by.

    Args:
        call: the call's arguments by name (a layer's inputs, or ``{"params": ..., "batch":
            ...}``); arrays may sit inside dicts, tuples and lists.

    Returns:
        Dimensions of every array (axis 0 of the call's first data array, if it is a matrix or
        larger, is named as the batch axis: the kit's convention), products of two dimensions
        of one array, square roots of last dimensions, scalar arguments (a p in (0, 1) also as
        1 - p), 2 and ln 2.
    """
    out: list[Quantity] = []
    roots: list[Quantity] = []  # matched last: sqrt(4) = 2 is more often a plain factor 2
    batch_named = False
    for arg, value in call.items():
        if isinstance(value, (bool, np.bool_)):
            continue
        if isinstance(value, (int, float, np.integer, np.floating)):
            v = float(value)
            if 0.0 < v < 1.0:
                out.append(Quantity(v, arg, "prob"))
                out.append(Quantity(1.0 - v, f"1 - {arg}", "keep"))
            elif v >= 2.0 or (v > 0.0 and v != 1.0):
                out.append(Quantity(v, arg, "number"))
            continue
        for name, arr in _arrays(value, arg):
            shape = arr.shape
            # The first data array of a call is batch-first (the kit's convention); parameters
            # are not data.
            is_batch = not batch_named and arg != "params" and len(shape) >= 2
            batch_named = batch_named or is_batch
            for k, n in enumerate(shape):
                if n >= 2:
                    label = f"{name}.shape[{k}]"
                    if k == 0 and is_batch:
                        label += ", the batch axis"
                    elif k == 1 and is_batch and len(shape) == 3:
                        label += f", the time axis if {name} is a (B, T, D) sequence"
                    out.append(Quantity(float(n), label, "size"))
            for i in range(len(shape)):
                for j in range(i + 1, len(shape)):
                    if shape[i] >= 2 and shape[j] >= 2:
                        out.append(
                            Quantity(
                                float(shape[i] * shape[j]),
                                f"{name}.shape[{i}] * {name}.shape[{j}]",
                                "size",
                            )
                        )
            if shape and shape[-1] >= 2:
                roots.append(Quantity(math.sqrt(shape[-1]), f"sqrt({name}.shape[-1])", "sqrt"))
    out.append(Quantity(2.0, "2", "two"))
    out.append(Quantity(math.log(2.0), "ln 2", "ln2"))
    return out + roots


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    denom = float(np.linalg.norm(a) + np.linalg.norm(b))
    return 0.0 if denom == 0.0 else float(np.linalg.norm(a - b)) / denom


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _cause(kind: str, divided: bool) -> str:
    if kind == "size":
        return (
            "did you average over that axis where your forward sums (or divide by it twice)?"
            if divided
            else "did you sum over that axis where your forward averages (or leave out a "
            "division by it)?"
        )
    if kind == "sqrt":
        return "is a 1/sqrt scale (such as attention's 1/sqrt(d_k)) missing or applied twice?"
    if kind in ("prob", "keep"):
        return (
            "is a scale of your forward (such as inverted dropout's 1/(1 - p)) missing from the "
            "backward, or applied twice?"
        )
    if kind == "two":
        return "is a factor 2 missing or extra (the derivative of a square)?"
    if kind == "ln2":
        return "are nats and bits mixed up (they differ by a factor ln 2)?"
    return "is a factor of that argument missing, extra or inverted?"


def _factor_sentence(what: str, c: float, quantities: list[Quantity], generic: bool) -> str | None:
    matches: list[tuple[Quantity, bool]] = []
    for q in quantities:
        if q.value <= 0:
            continue
        if abs(c * q.value - 1.0) <= MATCH:
            matches.append((q, True))
        elif abs(c / q.value - 1.0) <= MATCH:
            matches.append((q, False))
    if matches:
        q, divided = matches[0]
        names = [m.name for m, d in matches if d == divided and m.value == q.value]
        others = [m.name for m, d in matches if (m.value, d) != (q.value, divided)]
        how = "divided by" if divided else "multiplied by"
        named = " or ".join(dict.fromkeys(names))
        sentence = (
            f"your {what} is the numerical gradient {how} {_fmt(q.value)} ({named}) at every "
            f"entry: {_cause(q.kind, divided)}"
        )
        if others:
            sentence += f" (it also matches {', '.join(dict.fromkeys(others))})"
        return sentence
    if generic:
        return (
            f"your {what} is {_fmt(c)} times the numerical gradient at every entry: a constant "
            "factor is missing, extra or inverted somewhere in your backward"
        )
    return None


def _ratio(g: np.ndarray, n: np.ndarray) -> float | None:
    """The c with g = c n to within FIT, or None."""
    nn = float(np.dot(n, n))
    if nn == 0.0:
        return None
    c = float(np.dot(g, n)) / nn
    return c if _rel(g, c * n) <= FIT else None


def _index(indices: list[int] | None) -> str:
    """One axis of a NumPy-style index: ``:``, ``3``, ``0:5`` or ``[0, 2, 4]``."""
    if indices is None:
        return ":"
    if len(indices) == 1:
        return str(indices[0])
    if indices == list(range(indices[0], indices[-1] + 1)):
        return f"{indices[0]}:{indices[-1] + 1}"
    return "[" + ", ".join(str(i) for i in indices) + "]"


def _box(g: np.ndarray, n: np.ndarray, wrong_entries: np.ndarray) -> list[list[int] | None]:
    """Per axis: the indices whose slice holds a wrong entry, or None when every informative
    slice does (the axis does not confine the error)."""
    box: list[list[int] | None] = []
    for axis in range(g.ndim):
        other = tuple(a for a in range(g.ndim) if a != axis)
        wrong = np.any(wrong_entries, axis=other) if other else wrong_entries
        informative = np.any((g != 0) | (n != 0), axis=other) if other else (g != 0) | (n != 0)
        right_informative = informative & ~wrong
        if wrong.any() and right_informative.any():
            box.append([int(i) for i in np.flatnonzero(wrong)])
        else:
            box.append(None)
    return box


def _slices_sentence(what: str, g: np.ndarray, n: np.ndarray, scale: float) -> str | None:
    """The sentence for an error confined to the steps before the last along axis 1 of a
    (B, T, ...) tensor (a gradient right only at the last time step), or None."""
    wrong_entries = np.abs(g - n) > FIT * scale
    if not wrong_entries.any():
        return None
    box = _box(g, n, wrong_entries)
    axes = [axis for axis, b in enumerate(box) if b is not None]
    if len(axes) != 1:
        return None
    axis, wrong = axes[0], box[axes[0]]
    size = g.shape[axis]
    # Two confinements are claimed: the time pattern (in a (B, T, ...) tensor, every step but the
    # last wrong) and whole equal blocks of the last axis (a gate's or a head's columns). Others
    # (a unit of a stack, a block of rows, single indices) were measured on the catalogues to
    # come as often from bugs of no single class as from a block handled differently.
    time_pattern = g.ndim == 3 and axis == 1 and size >= 2 and wrong == list(range(size - 1))
    if not (time_pattern or _whole_blocks_of_last_axis(g.ndim, axis, size, wrong)):
        return None
    index = ", ".join(_index(b) for b in box)
    sentence = (
        f"your {what} matches the numerical gradient everywhere except at [{index}]: the error "
        f"is confined to those slices along axis {axis}"
    )
    inside = np.zeros(g.shape[axis], dtype=bool)
    inside[wrong] = True
    picked = np.compress(inside, g, axis=axis).ravel()
    c = _ratio(picked, np.compress(inside, n, axis=axis).ravel())
    if c is not None and abs(c - 1.0) > NEAR_ONE and c != 0.0:
        sentence += f", where it is {_fmt(c)} times the numerical gradient"
    if time_pattern:
        sentence += (
            "; only the last step along axis 1 is right: if that axis is time, check what your "
            "backward carries back from later steps (the recurrent path)"
        )
    else:
        sentence += " (one gate's or one head's block of columns handled differently?)"
    return sentence


def _whole_blocks_of_last_axis(ndim: int, axis: int, size: int, wrong: list[int]) -> bool:
    """True when the wrong indices are a contiguous run of whole equal blocks (of at least two
    columns) of the last axis of a matrix or larger, as a gate's or a head's columns are.

    Not along other axes: confinements to a unit of a stack or to rows were measured to come from
    bugs of no single class as often as not.
    """
    if ndim < 2 or axis != ndim - 1 or len(wrong) == size:
        return False
    if wrong != list(range(wrong[0], wrong[-1] + 1)):
        return False
    start, stop = wrong[0], wrong[-1] + 1
    return any(
        size % bs == 0 and size // bs >= 2 and start % bs == 0 and stop % bs == 0
        for bs in range(2, size // 2 + 1)
    )


def diagnose(
    what: str,
    analytic: np.ndarray,
    numeric: np.ndarray,
    quantities: list[Quantity] | None = None,
    coords: list[tuple[int, ...]] | None = None,
    direction: tuple[np.ndarray, float] | None = None,
) -> Diagnosis | None:
    """The bug class a wrong gradient shows, with a sentence for the student, or None.

    Args:
        what: how the sentence names the gradient (``"dx"``).
        analytic: the student's gradient (same shape as ``numeric``).
        numeric: the numerical gradient of the student's own function (NaN where not computed).
        quantities: the call's quantities (:func:`quantities_of`); 2 and ln 2 are always tried.
        coords: the coordinates where ``numeric`` was computed (default: all). With a sample,
            only the whole-tensor classes (zero, sign, factor, transpose) are judged, and only
            when ``direction`` confirms them.
        direction: ``(v, dd)``: a random direction and the numerical directional derivative of
            the same function along it, ``<n_full, v>``, which confirms a claim about the entries
            that were not sampled.

    Returns:
        A :class:`Diagnosis`, or None when no class fits exactly.
    """
    g_full = np.asarray(analytic, dtype=np.float64)
    n_full = np.asarray(numeric, dtype=np.float64)
    if g_full.shape != n_full.shape or not np.all(np.isfinite(g_full)):
        return None
    if quantities is None:
        quantities = quantities_of({})
    sampled = coords is not None
    if sampled:
        idx = list(coords)
        if not idx:
            return None
        g = np.array([g_full[i] for i in idx])
        n = np.array([n_full[i] for i in idx])
    else:
        g, n = g_full.ravel(), n_full.ravel()
    if not np.all(np.isfinite(n)):
        return None
    n_norm = float(np.linalg.norm(n))
    if n_norm == 0.0:
        return None
    if sampled and direction is None:
        return None

    def confirmed(candidate: np.ndarray) -> bool:
        """The candidate for the whole student gradient agrees with the direction (if any)."""
        if direction is None:
            return True
        v, dd = direction
        return _rel(np.array(float(np.sum(candidate * v))), np.array(dd)) <= FIT

    if not np.any(g_full):
        return Diagnosis(
            "zero",
            f"your {what} is zero everywhere, but your forward's output does change with it: is "
            "the path from this input to the output missing from your backward?",
        )
    informative = int(np.count_nonzero(n))
    c = _ratio(g, n)
    if c is not None and (not sampled or confirmed(g_full / c)):
        if abs(c + 1.0) <= MATCH:
            return Diagnosis(
                "sign",
                f"your {what} is the numerical gradient with the opposite sign at every entry: "
                "is a minus sign missing or extra (a loss maximised, a difference reversed)?",
            )
        if abs(c - 1.0) > NEAR_ONE and c != 0.0:
            sentence = _factor_sentence(
                what, c, quantities, generic=informative >= MIN_ENTRIES_GENERIC
            )
            if sentence:
                return Diagnosis("factor", sentence)
    if g_full.ndim >= 2 and g_full.shape[-1] == g_full.shape[-2] and g_full.shape[-1] >= 2:
        t_full = np.swapaxes(g_full, -1, -2)
        t = np.array([t_full[i] for i in coords]) if sampled else t_full.ravel()
        if _rel(t, n) <= FIT and _rel(g, n) > FIT and confirmed(t_full):
            return Diagnosis(
                "transpose",
                f"your {what} is the transpose of the numerical gradient (its last two axes "
                "swapped): are the factors of a matrix product in the wrong order, or a .T "
                "missing or extra?",
            )
    if sampled:
        return None
    scale = n_norm / math.sqrt(n.size) if n.size else 0.0
    zero_where = (g_full == 0.0) & (np.abs(n_full) > FIT * max(scale, 1e-300))
    rest = ~zero_where
    if zero_where.any() and _rel(g_full[rest], n_full[rest]) <= FIT:
        box = _box(g_full, n_full, zero_where)
        if any(b is not None for b in box):
            at = "at [" + ", ".join(_index(b) for b in box) + "]"
        else:
            first = tuple(int(i) for i in np.argwhere(zero_where)[0])
            at = f"at {int(zero_where.sum())} of its {g_full.size} entries (for example {first})"
        return Diagnosis(
            "zero",
            f"your {what} is zero {at}, where your forward's output does change with it, and "
            "right everywhere else: is a path to those entries missing, or a mask zeroing too "
            "much?",
        )
    where = _slices_sentence(what, g_full, n_full, max(scale, 1e-300))
    if where:
        return Diagnosis("slices", where)
    return None


#: Phrases that only the sentences of each class contain (used by :func:`kinds_in`).
SIGNATURES = {
    "zero": ("is zero everywhere, but", "is zero at "),
    "sign": ("with the opposite sign at every entry",),
    "factor": (
        "is the numerical gradient divided by",
        "is the numerical gradient multiplied by",
        "times the numerical gradient at every entry",
    ),
    "transpose": ("is the transpose of the numerical gradient",),
    "slices": ("matches the numerical gradient everywhere except at",),
}


def kinds_in(message: str) -> set[str]:
    """The diagnosis classes whose sentences occur in a message (a report's, a check table's)."""
    return {kind for kind, phrases in SIGNATURES.items() if any(p in message for p in phrases)}
