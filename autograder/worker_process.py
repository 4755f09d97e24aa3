"""Process lifecycle of one confined worker: start it, greet it, load the cells, exchange frames,
capture its output, kill it. What to call and what to do when a call fails is
:mod:`autograder.student`'s business, not this module's."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import Confinement, Limits
from autograder.sandboxed import channel


class SandboxError(Exception):
    """The confined worker could not be started at all: a problem of the grader, not the
    student (e.g. a sandbox layer this machine refuses)."""


class LoadFailed(Exception):
    """The student's cells could not be loaded (timeout or the process died); ``str(exc)`` is
    the student-facing reason."""


@dataclass
class LoadError:
    """An answer cell that raised while loading (or a notice about a cell)."""

    cell: str
    type: str
    message: str
    traceback: str

    def describe(self) -> str:
        """One line (plus the short traceback) for the student."""
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


class WorkerProcess:
    """The confined process holding a submission's code; :meth:`start` again gives a fresh one.

    Args:
        limits: the worker's resource limits.
        hide: folders the worker must not see (besides the kit).
        load_timeout: seconds for the hello and for loading the cells.
        given: the assignment's given blocks, ``{"given/layers.py": text, ...}``.
    """

    def __init__(
        self,
        limits: Limits,
        hide: tuple[Path, ...] = (),
        load_timeout: float = 10.0,
        given: dict[str, str] | None = None,
    ):
        self.limits = limits
        self.hide = list(hide)
        self.given = dict(given or {})
        self.load_timeout = load_timeout
        self.conf: Confinement | None = None
        self.state: dict = {}
        self.generation = 0
        self.proc: subprocess.Popen | None = None
        self.outputs: list[OutputDrain] = []
        self.isolation_record: dict | None = None
        self._rid = 0
        self._req_fd = -1
        self._reader: channel.FrameReader | None = None

    @property
    def alive(self) -> bool:
        """True while a worker process is running."""
        return self.proc is not None and self.proc.poll() is None

    def start(self, cells: list[tuple[str, str]]) -> dict:
        """Start a fresh process (killing any previous one) and load ``cells`` into it.

        Returns:
            The worker's load reply: ``errors`` (cells that raised) and ``names`` (defined).

        Raises:
            SandboxError: the sandbox did not start (the grader's problem).
            LoadFailed: loading timed out or the process died (the student's code).
        """
        self.kill()
        self.generation += 1
        self.conf = self.conf or Confinement.plan(self.limits, self.hide, self.given)
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
        self._req_fd, self._reader = req_w, channel.FrameReader(rep_r)
        drain = OutputDrain(self.proc.stdout, self.limits.output_bytes)
        drain.start()
        self.outputs.append(drain)
        self._hello(drain)
        try:
            return self.request(
                {"op": "load", "cells": [list(c) for c in cells]}, [], self.load_timeout
            )
        except channel.ChannelTimeout:
            self.kill()
            raise LoadFailed(
                f"your notebook's code did not finish loading within {self.load_timeout:.0f} s "
                "(an infinite loop or a long computation at the top level of an answer cell?)"
            ) from None
        except (channel.ChannelClosed, channel.ChannelError):
            code = self.exit_code()
            self.kill()
            raise LoadFailed(
                "the process running your code ended while loading your answer cells "
                f"({code}; sys.exit/os._exit or a crash at the top level of a cell?)"
            ) from None

    def _hello(self, drain: OutputDrain) -> None:
        """The worker's first frame, sent before any student code runs: its confinement."""
        try:
            hello, _ = self._reader.read(time.monotonic() + self.load_timeout)
        except (channel.ChannelTimeout, channel.ChannelClosed, channel.ChannelError):
            code = self.exit_code()
            self.kill()
            drain.join(timeout=1)
            tail = bytes(drain.data[-500:]).decode("utf-8", "replace").strip()
            raise SandboxError(f"the grading sandbox did not start ({code}): {tail}") from None
        self.state = hello.get("state") or {}

    def request(self, header: dict, blobs: list[bytes], timeout: float) -> dict:
        """Send one request frame and wait up to ``timeout`` s for its reply.

        Returns:
            The reply header, with its arrays' bytes under ``"_blobs"``.

        Raises:
            channel.ChannelTimeout, channel.ChannelClosed, channel.ChannelError.
        """
        self._rid += 1
        header["id"] = self._rid
        try:
            channel.write_frame(self._req_fd, header, blobs)
        except OSError:
            raise channel.ChannelClosed() from None
        deadline = time.monotonic() + timeout
        while True:
            reply, rblobs = self._reader.read(deadline)
            if reply.get("id") == self._rid:
                reply["_blobs"] = rblobs
                return reply

    def kill(self) -> None:
        """Kill the worker's whole process group (and its uid's processes) and close its pipes."""
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
        for fd in (self._req_fd, self._reader.fd if self._reader else -1):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc = None

    def close(self) -> None:
        """Kill the process, release the sandbox and keep its isolation record."""
        self.kill()
        for d in self.outputs:
            d.join(timeout=1)
        if self.conf is not None:
            self.isolation_record = self.conf.record(self.state)
            self.conf.close()
            self.conf = None

    def output(self) -> tuple[str, bool]:
        """The student's captured output (all generations) and whether it was capped."""
        cap = self.limits.output_bytes
        data = b"".join(bytes(d.data) for d in self.outputs)[:cap]
        truncated = (
            any(d.dropped for d in self.outputs) or sum(len(d.data) for d in self.outputs) > cap
        )
        return data.decode("utf-8", "replace"), truncated

    def exit_code(self) -> str:
        """How the process ended, in words (``exit code 1``, ``killed by signal SIGKILL``)."""
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
