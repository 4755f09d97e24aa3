"""Framing and value encoding for the trusted <-> worker pipes.

This file is copied next to the worker and imported there as a top-level module, so it must
depend on nothing but the standard library and NumPy.

A frame is ``>II`` (header length, blob count), a JSON header, then each blob as ``>Q`` length
plus ``.npy`` bytes. Values are encoded as JSON specs:

* ``{"v": x}``      None, bool, int, float or str
* ``{"a": i}``      a numeric ndarray, stored in blob ``i`` (dtype kinds b, i, u, f only)
* ``{"l": [...]}``  list; ``{"t": [...]}`` tuple; ``{"d": [[key, spec], ...]}`` dict with str keys
* ``{"h": n, "type": name}``  anything else: an object kept by the worker behind handle ``n``

Nothing is ever unpickled: arrays are read with ``allow_pickle=False`` and their dtype checked.
"""

from __future__ import annotations

import io
import json
import os
import select
import struct
import time

import numpy as np

ALLOWED_KINDS = "biuf"
MAX_FRAME_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 32
MAX_ITEMS = 100_000


class ChannelError(Exception):
    """The peer sent something that is not a valid frame or value."""


class ChannelTimeout(Exception):
    """No complete frame arrived before the deadline."""


class ChannelClosed(Exception):
    """The peer closed its end (the worker exited or died)."""


def _array_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    # ascontiguousarray returns at least one dimension: reshape so a 0-d array stays 0-d
    np.lib.format.write_array(buf, np.ascontiguousarray(arr).reshape(arr.shape), allow_pickle=False)
    return buf.getvalue()


def _read_array(data: bytes) -> np.ndarray:
    try:
        arr = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # malformed header, object dtype, truncated data
        raise ChannelError(f"invalid array payload: {exc}") from None
    if arr.dtype.kind not in ALLOWED_KINDS:
        raise ChannelError(f"array dtype {arr.dtype} is not allowed")
    return arr


def encode(value, blobs: list[bytes], store=None, depth: int = 0) -> dict:
    """Encode ``value`` into a JSON spec, appending array payloads to ``blobs``.

    ``store(obj) -> (handle, type_name)`` keeps non-transferable objects (worker side); without
    it such objects raise ChannelError (trusted side, which only sends plain data and handles).
    """
    if depth > MAX_DEPTH:
        raise ChannelError("value nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        if type(value) is int and abs(value) >= 2**63:
            value = float(value)
        return {"v": value}
    if isinstance(value, np.generic) and type(value).__module__ == "numpy":
        if value.dtype.kind in ALLOWED_KINDS:
            return {"v": value.item()}
    if isinstance(value, np.ndarray) and value.dtype.kind in ALLOWED_KINDS:
        blobs.append(_array_bytes(value.view(np.ndarray)))
        return {"a": len(blobs) - 1}
    if isinstance(value, HandleRef):
        return {"h": value.id}
    if type(value) in (list, tuple) and len(value) <= MAX_ITEMS:
        key = "l" if type(value) is list else "t"
        return {key: [encode(v, blobs, store, depth + 1) for v in value]}
    if type(value) is dict and len(value) <= MAX_ITEMS and all(type(k) is str for k in value):
        return {"d": [[k, encode(v, blobs, store, depth + 1)] for k, v in value.items()]}
    if store is None:
        raise ChannelError(f"cannot send a {type(value).__name__}")
    handle, name = store(value)
    return {"h": handle, "type": name}


class HandleRef:
    """A reference to an object that lives in the worker."""

    __slots__ = ("id", "type_name", "generation")

    def __init__(self, id: int, type_name: str = "object", generation: int = 0):
        self.id = id
        self.type_name = type_name
        self.generation = generation

    def __repr__(self) -> str:
        return f"<handle to a {self.type_name} in the worker>"


def decode(spec, blobs: list[bytes], resolve=None, depth: int = 0):
    """Inverse of :func:`encode`. ``resolve(handle_id, type_name)`` maps handle specs."""
    if depth > MAX_DEPTH or not isinstance(spec, dict) or len(spec) not in (1, 2):
        raise ChannelError("malformed value")
    if "v" in spec:
        v = spec["v"]
        if v is not None and type(v) not in (bool, int, float, str):
            raise ChannelError("malformed scalar")
        return v
    if "a" in spec:
        i = spec["a"]
        if type(i) is not int or not 0 <= i < len(blobs):
            raise ChannelError("bad array index")
        return _read_array(blobs[i])
    if "l" in spec or "t" in spec:
        items = spec.get("l", spec.get("t"))
        if not isinstance(items, list):
            raise ChannelError("malformed sequence")
        out = [decode(s, blobs, resolve, depth + 1) for s in items]
        return out if "l" in spec else tuple(out)
    if "d" in spec:
        pairs = spec["d"]
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs
        ):
            raise ChannelError("malformed dict")
        return {k: decode(s, blobs, resolve, depth + 1) for k, s in pairs}
    if "h" in spec:
        if type(spec["h"]) is not int or resolve is None:
            raise ChannelError("unexpected handle")
        return resolve(spec["h"], str(spec.get("type", "object"))[:100])
    raise ChannelError("malformed value")


def write_frame(fd: int, header: dict, blobs: list[bytes]) -> None:
    head = json.dumps(header).encode()
    parts = [struct.pack(">II", len(head), len(blobs)), head]
    for b in blobs:
        parts.append(struct.pack(">Q", len(b)))
        parts.append(b)
    data = b"".join(parts)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class FrameReader:
    """Reads whole frames from a pipe fd, with an optional deadline and a size cap."""

    def __init__(self, fd: int, max_bytes: int = MAX_FRAME_BYTES):
        self.fd = fd
        self.max_bytes = max_bytes
        self.buf = bytearray()

    def _fill(self, n: int, deadline: float | None) -> None:
        while len(self.buf) < n:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ChannelTimeout()
                ready, _, _ = select.select([self.fd], [], [], left)
                if not ready:
                    raise ChannelTimeout()
            chunk = os.read(self.fd, max(65536, min(n - len(self.buf), 1 << 24)))
            if not chunk:
                raise ChannelClosed()
            self.buf.extend(chunk)

    def _take(self, n: int, deadline: float | None) -> bytes:
        self._fill(n, deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read(self, deadline: float | None = None) -> tuple[dict, list[bytes]]:
        head_len, n_blobs = struct.unpack(">II", self._take(8, deadline))
        if head_len > self.max_bytes or n_blobs > MAX_ITEMS:
            raise ChannelError("frame too large")
        try:
            header = json.loads(self._take(head_len, deadline))
        except ValueError:
            raise ChannelError("frame header is not JSON") from None
        if not isinstance(header, dict):
            raise ChannelError("frame header is not an object")
        total = head_len
        blobs = []
        for _ in range(n_blobs):
            (size,) = struct.unpack(">Q", self._take(8, deadline))
            total += size
            if total > self.max_bytes:
                raise ChannelError("frame too large")
            blobs.append(self._take(size, deadline))
        return header, blobs
