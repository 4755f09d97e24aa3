"""The worker answers calls by value, survives its student's crashes, and is bounded in time
and output. These tests drive autograder.student.StudentSession directly with small cells."""

from __future__ import annotations

import time

import numpy as np
import pytest

from autograder.sandbox import Limits
from autograder.student import (
    Handle,
    StudentCrashed,
    StudentMissing,
    StudentRaised,
    StudentSession,
    StudentTimeout,
    WorkerUnavailable,
)

CELLS = [
    ("setup:setup", "import numpy as np"),
    (
        "f_code",
        """
def double(x):
    return 2 * x, {"x": x}

def with_cache(x):
    return x + 1, object()

def use_cache(cache):
    return type(cache).__name__

def boom():
    raise ValueError("bad shape")

def leave():
    import sys
    sys.exit(0)

def die():
    import os
    os._exit(7)

def spin():
    while True:
        pass

def chatter():
    print("x" * 100_000)
    return 1

def hog():
    return np.ones(10**10)
""",
    ),
]


@pytest.fixture
def worker():
    w = StudentSession(CELLS, Limits(address_space=2 * 1024**3))
    yield w
    w.close()


def test_arrays_cross_by_value(worker):
    out, cache = worker.call("double", (np.arange(3.0),))
    np.testing.assert_array_equal(out, [0.0, 2.0, 4.0])
    assert isinstance(cache, dict) and worker.last_elapsed >= 0


def test_caches_stay_in_the_worker_behind_handles(worker):
    out, cache = worker.call("with_cache", (np.zeros(2),), keep=(-1,))
    assert isinstance(cache, Handle)
    assert worker.call("use_cache", (cache,)) == "object"


def test_student_exception_is_reported_with_its_type_and_message(worker):
    with pytest.raises(StudentRaised, match="boom raised ValueError: bad shape"):
        worker.call("boom")


def test_missing_function_is_named(worker):
    with pytest.raises(StudentMissing, match="nope is not defined"):
        worker.call("nope")


def test_sys_exit_inside_a_call_is_just_an_exception(worker):
    with pytest.raises(StudentRaised, match="SystemExit"):
        worker.call("leave")
    assert worker.call("double", (1.0,))[0] == 2.0


def test_worker_is_restarted_after_a_crash_and_old_handles_are_refused(worker):
    _, cache = worker.call("with_cache", (np.zeros(2),), keep=(-1,))
    with pytest.raises(StudentCrashed, match="exit code 7"):
        worker.call("die")
    assert worker.call("double", (2.0,))[0] == 4.0
    with pytest.raises(WorkerUnavailable, match="restarted"):
        worker.call("use_cache", (cache,))


def test_infinite_loop_times_out_and_is_not_called_again(worker):
    t0 = time.monotonic()
    with pytest.raises(StudentTimeout):
        worker.call("spin", timeout=0.5)
    with pytest.raises(StudentTimeout, match="earlier"):
        worker.call("spin", timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert worker.call("double", (3.0,))[0] == 6.0


def test_memory_limit_fails_the_call_not_the_grader(worker):
    with pytest.raises((StudentRaised, StudentCrashed), match="MemoryError|died"):
        worker.call("hog")


def test_student_output_is_captured_and_capped():
    worker = StudentSession(CELLS, Limits(output_bytes=1000))
    try:
        worker.call("chatter")
        worker.kill()
        time.sleep(0.2)
        text, truncated = worker.output()
        assert len(text) <= 1000 and truncated
    finally:
        worker.close()


def test_unloadable_submission_fails_every_call_quickly():
    w = StudentSession([("a_code", "import os\nos._exit(1)")])
    try:
        for _ in range(3):
            with pytest.raises(WorkerUnavailable, match="ended while loading"):
                w.call("anything")
    finally:
        w.close()
