"""Value checks: the student's result has the promised type, shape and values, or :class:`Fail`.

Every check raises :class:`Fail` with a message written for the student: what was compared with
what, and where it differs, never the reference's values or the test's code.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.student import Handle, StudentProxy
from given.gradcheck import rel_error

KINDS = ("forward", "gradcheck", "training", "property", "integrity")


class Fail(AssertionError):
    """A failed check; ``str(exc)`` is shown to the student."""


def graded(cell: str, kind: str, points: float, uses=(), requires=()):
    """Mark a hidden test with the notebook grade cell it scores.

    Args:
        cell: the ``grade_id`` of the visible-check cell whose points this test carries.
        kind: one of :data:`KINDS`.
        points: points of each case (a parametrised test gets ``points`` per case).
        uses: grade cells of OTHER functions this test calls (a training test uses the loss).
            When this test fails while one of them fails its own tests, the message says to
            fix that one first (a bug is charged where it is, and said so).
        requires: names of tests (a parametrised test's name covers all its cases) that must
            pass for this one to earn its points: a timing test requires the correctness tests
            of the function it times, so a fast but wrong function earns nothing.

    Returns:
        A pytest mark.

    Raises:
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return pytest.mark.grade(
        cell=cell,
        kind=kind,
        points=float(points),
        uses=tuple([uses] if isinstance(uses, str) else uses),
        requires=tuple([requires] if isinstance(requires, str) else requires),
    )


def type_name(value) -> str:
    """The type of ``value`` as the student wrote it (a handle reports the worker-side type)."""
    if isinstance(value, Handle):
        return value.type_name
    return type(value).__name__


def expect_array(value, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Check that ``value`` is a finite numeric array of ``shape``.

    Args:
        value: what the student's code returned (a Python number is accepted for ``shape == ()``).
        shape: the expected shape.
        what: how the message names the value (``"dx"``, ``"the loss returned by f"``).

    Returns:
        ``value`` as a float64 array.

    Raises:
        Fail: not an array, not numeric, wrong shape, or NaN/inf inside.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool) and shape == ():
        value = np.asarray(value, dtype=np.float64)
    if not isinstance(value, np.ndarray):
        raise Fail(
            f"{what} should be a NumPy array of shape {tuple(shape)}, got a {type_name(value)}"
        )
    if value.dtype.kind not in "iuf":
        raise Fail(f"{what} should hold floating-point numbers, got dtype {value.dtype}")
    if value.shape != tuple(shape):
        raise Fail(f"{what} has shape {value.shape}, expected {tuple(shape)}")
    arr = value.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Fail(f"{what} contains NaN or inf (first at index {idx})")
    return arr


def expect_array_shape_only(value, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Like :func:`expect_array` but lets NaN through (training reports divergence itself).

    Returns:
        ``value`` (a Python number, accepted for ``shape == ()``, as a 0-d float64 array).

    Raises:
        Fail: not a numeric array, or the wrong shape.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool) and shape == ():
        value = np.asarray(value, dtype=np.float64)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        raise Fail(
            f"{what} should be a float array of shape {tuple(shape)}, got a {type_name(value)}"
        )
    if value.shape != tuple(shape):
        raise Fail(f"{what} has shape {value.shape}, expected {tuple(shape)}")
    return value


def expect_close(what: str, got, expected: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Check ``got`` against ``expected`` with a norm-wise relative error.

    Args:
        what: how the message names the value.
        got: the student's value.
        expected: what it should be (its shape is the expected shape).
        tol: the largest relative error accepted.

    Returns:
        ``got`` as a float64 array.

    Raises:
        Fail: wrong type or shape, or a relative error above ``tol`` (the message gives the error
        and the index of the largest difference, not the expected values).
    """
    expected = np.asarray(expected, dtype=np.float64)
    arr = expect_array(got, expected.shape, what)
    err = rel_error(arr, expected)
    if err > tol:
        where = ""
        if arr.ndim:
            idx = np.unravel_index(int(np.argmax(np.abs(arr - expected))), arr.shape)
            where = f"; the largest difference is at index {tuple(int(i) for i in idx)}"
        raise Fail(
            f"{what} does not match the expected values: relative error {err:.2e} "
            f"(tolerance {tol:.0e}){where}"
        )
    return arr


def expect_keys(value, keys, what: str) -> dict:
    """Check that ``value`` is a dict holding every key in ``keys``.

    Returns:
        ``value``.

    Raises:
        Fail: not a dict, or keys missing (named in the message).
    """
    if not isinstance(value, dict):
        raise Fail(f"{what} should be a dict with keys {sorted(keys)}, got a {type_name(value)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise Fail(f"{what} is missing the key(s) {missing} (it has {sorted(value)[:10]})")
    return value


def expect_tuple(value, fn: str, n: int | None = None, what: str = "outputs..., cache") -> tuple:
    """Check that ``fn`` returned a tuple (of exactly ``n`` elements if given).

    Args:
        value: the student's result.
        fn: the function's name, for the message.
        n: the exact length, or None for "at least two".
        what: how the message spells the promised elements.

    Returns:
        ``value``.

    Raises:
        Fail: not a tuple of the promised length.
    """
    if not isinstance(value, tuple) or (len(value) != n if n else len(value) < 2):
        raise Fail(f"{fn} should return a tuple ({what}), got a {type_name(value)}")
    return value


def call_forward(
    student: StudentProxy, fn: str, *args, n_outputs: int | None = None, **kwargs
) -> tuple:
    """Call the student's forward ``fn``, keeping its cache (the last element) in the worker.

    Args:
        student: the ``student`` fixture.
        fn: the forward's name.
        *args, **kwargs: its arguments.
        n_outputs: how many outputs precede the cache (None: any number >= 1).

    Returns:
        The tuple ``(*outputs, cache)``; the cache is a :class:`Handle` to pass to the backward.

    Raises:
        Fail: the result is not such a tuple.
        StudentCodeError: the call itself failed (raised, crashed, timed out).
    """
    value = student.call(fn, *args, keep=(-1,), **kwargs)
    if n_outputs is None:
        return expect_tuple(value, fn)
    outs = "out, cache" if n_outputs == 1 else f"{n_outputs} outputs and a cache"
    return expect_tuple(value, fn, n_outputs + 1, outs)


def expect_loss_pair(value, fn: str, params: dict) -> tuple[float, dict]:
    """Check a model loss's result ``(loss, grads)``.

    Args:
        value: the student's result.
        fn: the loss function's name.
        params: the parameters it was called with (``grads`` must have the same keys and shapes).

    Returns:
        ``(loss as float, grads)``.

    Raises:
        Fail: not a pair, a loss that is not a finite scalar, a missing or misshapen gradient.
    """
    if not isinstance(value, tuple) or len(value) != 2:
        raise Fail(f"{fn} should return a pair (loss, grads), got a {type_name(value)}")
    loss, grads = value
    loss = float(expect_array(loss, (), f"the loss returned by {fn}"))
    grads = dict(expect_keys(grads, list(params), f"the grads dict returned by {fn}"))
    for k, p in params.items():
        grads[k] = expect_array_shape_only(grads[k], np.shape(p), f"grads[{k!r}] from {fn}")
    return loss, grads


def expect_inputs_unchanged(student: StudentProxy, fn: str) -> None:
    """Fail if the student's last call (of ``fn``) changed any of its array arguments in place.

    The worker compares every array argument before and after each call; use this right after
    calling a function whose contract leaves its inputs alone.

    Raises:
        Fail: naming the arguments that changed.
    """
    changed = student.last_mutated
    if changed:
        raise Fail(
            f"{fn} changed its argument(s) {', '.join(changed)} in place; the notebook's contract "
            "leaves inputs unchanged (work on a copy, e.g. W = W.copy())"
        )
