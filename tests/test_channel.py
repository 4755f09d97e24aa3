"""The worker channel carries numbers by value and nothing that could run code on load."""

import io
import os

import numpy as np
import pytest

from autograder.sandboxed import channel


def roundtrip(value, store=None, resolve=None):
    blobs = []
    spec = channel.encode(value, blobs, store)
    return channel.decode(spec, blobs, resolve)


def test_nested_numeric_values_roundtrip_exactly():
    value = {"a": np.arange(6.0).reshape(2, 3), "b": (1, 2.5, None, "s"), "c": [np.int64(3)]}
    out = roundtrip(value)
    np.testing.assert_array_equal(out["a"], value["a"])
    assert out["b"] == (1, 2.5, None, "s") and out["c"] == [3]


def test_arrays_keep_their_shape_zero_dimensional_ones_too():
    for arr in (np.array(2.5), np.zeros((0, 3)), np.arange(6.0).reshape(2, 3).T):
        out = roundtrip(arr)
        assert out.shape == arr.shape and np.array_equal(out, arr)


def test_unknown_objects_become_handles_in_the_worker():
    kept = []

    def store(obj):
        kept.append(obj)
        return len(kept), type(obj).__name__

    out = roundtrip({"cache": object()}, store, lambda h, name: ("handle", h, name))
    assert out == {"cache": ("handle", 1, "object")}


def test_trusted_side_refuses_to_send_arbitrary_objects():
    with pytest.raises(channel.ChannelError):
        channel.encode(object(), [])


def test_object_arrays_are_never_transferred_by_value():
    blobs = []
    spec = channel.encode(np.array([object()]), blobs, lambda o: (7, "ndarray"))
    assert spec == {"h": 7, "type": "ndarray"} and blobs == []


def test_pickled_array_payload_is_rejected():
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(channel.ChannelError):
        channel.decode({"a": 0}, [buf.getvalue()])


def test_ndarray_subclass_crosses_as_a_plain_array():
    class Rigged(np.ndarray):
        def __eq__(self, other):
            return True

    out = roundtrip(np.zeros(3).view(Rigged))
    assert type(out) is np.ndarray


def test_frames_survive_a_pipe_and_oversized_frames_are_refused():
    r, w = os.pipe()
    try:
        channel.write_frame(w, {"id": 1}, [b"x" * 10])
        header, blobs = channel.FrameReader(r).read(deadline=None)
        assert header == {"id": 1} and blobs == [b"x" * 10]
        channel.write_frame(w, {"id": 2}, [b"y" * 100])
        with pytest.raises(channel.ChannelError):
            channel.FrameReader(r, max_bytes=50).read()
    finally:
        os.close(r)
        os.close(w)


def test_read_times_out_when_nothing_arrives():
    import time

    r, w = os.pipe()
    try:
        with pytest.raises(channel.ChannelTimeout):
            channel.FrameReader(r).read(deadline=time.monotonic() + 0.05)
    finally:
        os.close(r)
        os.close(w)
