"""The trusted side of the worker: start it, load the student's cells, call functions safely.

Every failure of the student's code surfaces as a :class:`StudentCodeError` whose message is
meant for the student; the engine turns it into a failed (or timed-out) test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import channel
from autograder.channel import HandleRef
from autograder.sandbox import Confinement, Limits

Handle = HandleRef


class StudentCodeError(Exception):
    """The student's code could not answer a call; ``str(exc)`` is the student-facing reason."""

    status = "failed"


class StudentRaised(StudentCodeError):
    """The student's function raised an exception."""


class StudentMissing(StudentCodeError):
    """The function is not defined by the submission."""


class StudentTimeout(StudentCodeError):
    """The call did not finish within its wall-clock limit."""

    status = "timeout"


class StudentCrashed(StudentCodeError):
    """The worker process died during the call (exit, signal, memory limit)."""


class SandboxError(Exception):
    """The confined worker could not be started at all: a problem of the grader, not the
    student (e.g. a sandbox layer this machine refuses)."""


class WorkerUnavailable(StudentCodeError):
    """The submission cannot be called at all any more (did not load, or budget exhausted)."""


@dataclass
class LoadError:
    cell: str
    type: str
    message: str
    traceback: str

    def describe(self) -> str:
        if self.type == "Notice":
            return f"cell '{self.cell}': {self.message}"
        tb = f"\n{self.traceback}" if self.traceback else ""
        return f"cell '{self.cell}' raised {self.type}: {self.message}{tb}"


class OutputDrain(threading.Thread):
    """Reads the worker's stdout/stderr, keeping the first ``cap`` bytes and counting the rest."""

    def __init__(self, stream, cap: int):
        super().__init__(daemon=True)
        self.stream = stream
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0

    def run(self) -> None:
        try:
            while chunk := self.stream.read1(65536):
                room = self.cap - len(self.data)
                self.data.extend(chunk[: max(room, 0)])
                self.dropped += max(len(chunk) - max(room, 0), 0)
        except (OSError, ValueError):
            pass


class Worker:
    """One confined worker process holding a submission's code; restarted after a crash."""

    def __init__(
        self,
        cells: list[tuple[str, str]],
        limits: Limits | None = None,
        load_timeout: float = 10.0,
        budget_s: float = 60.0,
        max_restarts: int = 4,
        missing_cells: tuple[str, ...] = (),
        hide: tuple[Path, ...] = (),
    ):
        self.cells = cells
        self.hide = list(hide)
        self.conf: Confinement | None = None
        self.state: dict = {}
        self.isolation_record: dict | None = None
        self._planned_restart = False  # a timing check's fresh worker: not the student's crash
        self.missing_cells = list(missing_cells)
        self.limits = limits or Limits()
        self.load_timeout = load_timeout
        self.budget_left = budget_s
        self.max_restarts = max_restarts
        self.generation = 0
        self.proc: subprocess.Popen | None = None
        self.load_errors: list[LoadError] = []
        self.defined: set[str] = set()
        self.unloadable: str | None = None
        self.timed_out: set[str] = set()
        self.restarts = 0
        self.last_elapsed = 0.0
        self.outputs: list[OutputDrain] = []
        self._rid = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start a fresh worker process and load the cells; records load errors."""
        self.kill()
        self.generation += 1
        self.conf = self.conf or Confinement.plan(self.limits, self.hide)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        self.proc = subprocess.Popen(
            self.conf.command(req_r, rep_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(req_r, rep_w),
            env=self.conf.env(),
            cwd=self.conf.rundir.work,
            start_new_session=True,
            preexec_fn=self.conf.preexec(),
        )
        os.close(req_r)
        os.close(rep_w)
        self.req_fd, self.reader = req_w, channel.FrameReader(rep_r)
        drain = OutputDrain(self.proc.stdout, self.limits.output_bytes)
        drain.start()
        self.outputs.append(drain)
        self._hello(drain)
        try:
            reply = self._request(
                {"op": "load", "cells": [list(c) for c in self.cells]}, [], self.load_timeout
            )
        except channel.ChannelTimeout:
            self.kill()
            self.unloadable = (
                f"your notebook's code did not finish loading within {self.load_timeout:.0f} s "
                "(an infinite loop or a long computation at the top level of an answer cell?)"
            )
            return
        except (channel.ChannelClosed, channel.ChannelError):
            code = self._exit_code()
            self.kill()
            self.unloadable = (
                "the process running your code ended while loading your answer cells "
                f"({code}; sys.exit/os._exit or a crash at the top level of a cell?)"
            )
            return
        if self.generation == 1:
            self.load_errors = [LoadError(**e) for e in reply.get("errors", [])]
            self.defined = set(reply.get("names", []))

    def _hello(self, drain: OutputDrain) -> None:
        """The worker's first frame, sent before any student code runs: its confinement."""
        try:
            hello, _ = self.reader.read(time.monotonic() + self.load_timeout)
        except (channel.ChannelTimeout, channel.ChannelClosed, channel.ChannelError):
            code = self._exit_code()
            self.kill()
            drain.join(timeout=1)
            tail = bytes(drain.data[-500:]).decode("utf-8", "replace").strip()
            raise SandboxError(f"the grading sandbox did not start ({code}): {tail}") from None
        self.state = hello.get("state") or {}

    def kill(self) -> None:
        """Kill the worker's whole process group and close its pipes."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.conf is not None:
            self.conf.sweep()
        for fd in (self.req_fd, self.reader.fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc = None

    def close(self) -> None:
        self.kill()
        for d in self.outputs:
            d.join(timeout=1)
        if self.conf is not None:
            self.isolation_record = self.conf.record(self.state)
            self.conf.close()
            self.conf = None

    def output(self) -> tuple[str, bool]:
        """The student's captured output (all worker generations) and whether it was capped."""
        data = b"".join(bytes(d.data) for d in self.outputs)[: self.limits.output_bytes]
        truncated = (
            any(d.dropped for d in self.outputs)
            or sum(len(d.data) for d in self.outputs) > self.limits.output_bytes
        )
        return data.decode("utf-8", "replace"), truncated

    def _exit_code(self) -> str:
        if self.proc is None:
            return "no process"
        try:
            rc = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "still running"
        if rc < 0:
            try:
                return f"killed by signal {signal.Signals(-rc).name}"
            except ValueError:
                return f"killed by signal {-rc}"
        return f"exit code {rc}"

    # -- calls -----------------------------------------------------------------------------
    def _request(self, header: dict, blobs: list[bytes], timeout: float) -> dict:
        self._rid += 1
        header["id"] = self._rid
        try:
            channel.write_frame(self.req_fd, header, blobs)
        except (BrokenPipeError, OSError):
            raise channel.ChannelClosed() from None
        deadline = time.monotonic() + timeout
        while True:
            reply, rblobs = self.reader.read(deadline)
            if reply.get("id") == self._rid:
                reply["_blobs"] = rblobs
                return reply

    def _ensure_running(self) -> None:
        if self.unloadable:
            raise WorkerUnavailable(self.unloadable)
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.generation > 0 and self._planned_restart:
            self._planned_restart = False
        elif self.generation > 0:
            if self.restarts >= self.max_restarts:
                self.unloadable = (
                    f"the process running your code was restarted {self.restarts} times "
                    "after crashes or timeouts; the remaining tests were not run"
                )
                raise WorkerUnavailable(self.unloadable)
            self.restarts += 1
        self.start()
        if self.unloadable:
            raise WorkerUnavailable(self.unloadable)

    def _encode_arg(self, value, blobs):
        self._check_handles(value)
        return channel.encode(value, blobs)

    def _check_handles(self, value) -> None:
        """Refuse handles from an earlier worker process: their objects died with it."""
        if isinstance(value, HandleRef):
            if value.generation != self.generation:
                raise WorkerUnavailable(
                    "a value your code returned earlier was lost when its process was restarted"
                )
        elif isinstance(value, (list, tuple)):
            for v in value:
                self._check_handles(v)
        elif isinstance(value, dict):
            for v in value.values():
                self._check_handles(v)

    def call(
        self,
        fn: str,
        args: tuple = (),
        kwargs: dict | None = None,
        keep: tuple[int, ...] = (),
        timeout: float = 10.0,
        remember_timeout: bool = True,
    ):
        """Call ``fn(*args, **kwargs)`` in the worker; return the decoded result."""
        if fn in self.timed_out and remember_timeout:
            raise StudentTimeout(f"{fn} timed out in an earlier test, so it was not called again")
        self._ensure_running()
        if fn not in self.defined:
            raise StudentMissing(self._missing_message(fn))
        if self.budget_left <= 0:
            raise WorkerUnavailable("the time budget for grading this submission is used up")
        blobs: list[bytes] = []
        header = {
            "op": "call",
            "fn": fn,
            "keep": list(keep),
            "args": self._encode_arg(tuple(args), blobs),
            "kwargs": self._encode_arg(dict(kwargs or {}), blobs),
        }
        budget_limited = self.budget_left < timeout
        timeout = min(timeout, self.budget_left)
        t0 = time.monotonic()
        try:
            reply = self._request(header, blobs, timeout)
        except channel.ChannelTimeout:
            self.kill()
            if remember_timeout:
                self.timed_out.add(fn)
            else:
                self._planned_restart = True
            if budget_limited:
                raise StudentTimeout(
                    f"the time budget for grading this submission ran out during {fn} "
                    "(earlier calls were very slow)"
                ) from None
            raise StudentTimeout(
                f"{fn} did not return within {timeout:.1f} s (an infinite loop, or far too slow)"
            ) from None
        except (channel.ChannelClosed, channel.ChannelError) as exc:
            code = self._exit_code()
            self.kill()
            why = "sent an invalid reply" if isinstance(exc, channel.ChannelError) else code
            raise StudentCrashed(
                f"the process running your code died during {fn} ({why}; sys.exit/os._exit, "
                "a crash, or the memory/CPU limit?)"
            ) from None
        finally:
            self.budget_left -= time.monotonic() - t0
        return self._unpack(fn, reply)

    def _unpack(self, fn: str, reply: dict):
        self.last_elapsed = float(reply.get("elapsed", 0.0) or 0.0)
        if not reply.get("ok"):
            err = reply.get("error") or {}
            etype = str(err.get("type", "Error"))[:100]
            msg = str(err.get("message", ""))[:500]
            if etype == "Missing":
                raise StudentMissing(self._missing_message(fn))
            if etype.startswith("Encode:"):
                raise StudentRaised(f"the result of {fn} could not be read ({etype[7:]}: {msg})")
            if etype == "NotImplementedError" and not msg:
                raise StudentRaised(f"{fn} is not written yet (it raises NotImplementedError)")
            tb = str(err.get("traceback", ""))[:2000]
            raise StudentRaised(f"{fn} raised {etype}: {msg}" + (f"\n{tb}" if tb else ""))
        generation = self.generation

        def resolve(h: int, name: str) -> HandleRef:
            return HandleRef(h, name, generation)

        try:
            return channel.decode(reply.get("value", {"v": None}), reply["_blobs"], resolve)
        except channel.ChannelError as exc:
            raise StudentRaised(f"the result of {fn} could not be read ({exc})") from None

    def _missing_message(self, fn: str) -> str:
        msg = f"{fn} is not defined by your notebook"
        if self.missing_cells:
            msg += (
                f"; answer cell(s) {self.missing_cells} are missing from your notebook "
                "(deleted, or their nbgrader metadata changed?)"
            )
        failed = [e for e in self.load_errors if e.type != "Notice"]
        if failed:
            msg += "; these answer cells failed to run: " + "; ".join(
                e.describe() for e in failed[:3]
            )
        return msg


class StudentProxy:
    """What hidden tests see of the student: ``student.call(name, *args, **kwargs)``."""

    def __init__(self, worker: Worker):
        self._worker = worker

    def call(self, fn: str, *args, keep: tuple[int, ...] = (), timeout: float = 10.0, **kwargs):
        return self._worker.call(fn, args, kwargs, keep=keep, timeout=timeout)

    def call_untimed(self, fn: str, *args, keep=(), timeout: float = 10.0, **kwargs):
        """Like call, but a timeout does not stop later calls of ``fn`` (for timing checks)."""
        return self._worker.call(
            fn, args, kwargs, keep=keep, timeout=timeout, remember_timeout=False
        )

    def has(self, fn: str) -> bool:
        try:
            self._worker._ensure_running()
        except StudentCodeError:
            return False
        return fn in self._worker.defined

    def restart(self) -> None:
        """Start a fresh worker (handles from before become invalid). A restart asked for by a
        test does not count against the limit on crash restarts."""
        self._worker.kill()
        self._worker._planned_restart = True

    @property
    def last_elapsed(self) -> float:
        return self._worker.last_elapsed
