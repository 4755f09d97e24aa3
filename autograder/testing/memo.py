"""Results shared by several test cases: computed once per submission, failures included."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def memoised(memo: dict | None, key: tuple, compute: Callable[[], T]) -> T:
    """``compute()`` once per ``key`` in ``memo`` (the ``memo`` fixture), its exception too.

    Several parametrised cases usually read one expensive result (one gradient check, one
    training run). The first case computes it; the others reuse it, and if computing it failed
    every case reports the same failure.

    Args:
        memo: the session's ``memo`` fixture, or None to compute without caching.
        key: identifies the result; include everything it depends on (see :func:`digest`).
        compute: makes the result.

    Returns:
        The (cached) result.

    Raises:
        Exception: whatever ``compute`` raised, again for every case that asks.
    """
    if memo is None:
        return compute()
    if key not in memo:
        try:
            memo[key] = compute()
        except Exception as exc:  # the same failure is reported by every dependent case
            memo[key] = exc
    value = memo[key]
    if isinstance(value, Exception):
        raise value
    return value


def digest(inputs: dict) -> str:
    """A fingerprint of a dict of arrays, plain values and nested containers, for memo keys."""
    h = hashlib.sha1()
    _feed(h, inputs)
    return h.hexdigest()


def _feed(h, value) -> None:
    if isinstance(value, dict):
        h.update(b"{")
        for name in sorted(value, key=str):
            h.update(str(name).encode())
            _feed(h, value[name])
        h.update(b"}")
    elif isinstance(value, (tuple, list)):
        h.update(b"(")
        for v in value:
            _feed(h, v)
        h.update(b")")
    elif isinstance(value, np.ndarray):
        h.update(str((value.dtype, value.shape)).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(repr(value).encode())


def copy_inputs(inputs: dict) -> dict:
    """A copy whose arrays the student's or the reference's code may modify freely."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}
