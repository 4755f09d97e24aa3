"""The student's code as hidden tests see it: calls with timeouts, a budget, restarts after
crashes, and failures turned into messages for the student.

Every failure of the student's code surfaces as a :class:`StudentCodeError` whose message is
meant for the student; the engine turns it into a failed (or timed-out) test. The process behind
it is :class:`~autograder.worker_process.WorkerProcess`.
"""

from __future__ import annotations

import time
from pathlib import Path

from autograder.limits import DEFAULTS, GradingLimits
from autograder.sandbox import Limits
from autograder.sandboxed import channel
from autograder.sandboxed.channel import HandleRef
from autograder.worker_process import LoadError, LoadFailed, SandboxError, WorkerProcess

Handle = HandleRef

__all__ = [
    "Handle",
    "LoadError",
    "SandboxError",
    "StudentCodeError",
    "StudentCrashed",
    "StudentMissing",
    "StudentProxy",
    "StudentRaised",
    "StudentSession",
    "StudentTimeout",
    "WorkerUnavailable",
]


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


class WorkerUnavailable(StudentCodeError):
    """The submission cannot be called at all any more (did not load, or budget exhausted)."""


class StudentSession:
    """The call policy around one submission's worker process.

    Args:
        cells: ``(grade_id, code)`` pairs to load (setup cells, then the student's answers).
        limits: the worker's resource limits (default: ``grading.sandbox()``).
        grading: the assignment's limits (call budget, call and load timeouts).
        max_restarts: crash/timeout restarts allowed before the remaining tests are not run.
        missing_cells: answer cells the submission lacks (named in "not defined" messages).
        hide: folders the worker must not see.
        given: the assignment's given blocks (``{"given/layers.py": text, ...}``).
    """

    def __init__(
        self,
        cells: list[tuple[str, str]],
        limits: Limits | None = None,
        grading: GradingLimits = DEFAULTS,
        max_restarts: int = 4,
        missing_cells: tuple[str, ...] = (),
        hide: tuple[Path, ...] = (),
        given: dict[str, str] | None = None,
    ):
        self.cells = cells
        self.grading = grading
        self.process = WorkerProcess(
            limits or grading.sandbox(), hide, grading.load_timeout_s, given
        )
        self.missing_cells = list(missing_cells)
        self.budget_left = grading.call_budget_s
        self.max_restarts = max_restarts
        self.load_errors: list[LoadError] = []
        self.defined: set[str] = set()
        self.unloadable: str | None = None
        self.timed_out: set[str] = set()
        self.restarts = 0
        self.last_elapsed = 0.0
        self.last_mutated: list[str] = []
        self._planned_restart = False  # a timing check's fresh worker: not the student's crash

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def limits(self) -> Limits:
        """The worker's resource limits."""
        return self.process.limits

    @property
    def isolation_record(self) -> dict | None:
        """What confinement was active (after :meth:`close`)."""
        return self.process.isolation_record

    def start(self) -> None:
        """Start the worker and load the cells; load errors are recorded, not raised.

        Raises:
            SandboxError: the sandbox itself did not start.
        """
        try:
            reply = self.process.start(self.cells)
        except LoadFailed as exc:
            self.unloadable = str(exc)
            return
        if self.process.generation == 1:
            self.load_errors = [LoadError(**e) for e in reply.get("errors", [])]
            self.defined = set(reply.get("names", []))

    def close(self) -> None:
        """Stop the worker for good and release its sandbox."""
        self.process.close()

    def kill(self) -> None:
        """Kill the worker; the next call starts a fresh one (counted as a crash restart)."""
        self.process.kill()

    def restart_planned(self) -> None:
        """Kill the worker so the next call starts a fresh one, without counting a crash."""
        self.process.kill()
        self._planned_restart = True

    def output(self) -> tuple[str, bool]:
        """The student's captured output and whether it was capped."""
        return self.process.output()

    def ensure_running(self) -> None:
        """Make sure a worker is running, restarting after a crash within the restart limit.

        Raises:
            WorkerUnavailable: the code did not load, or too many restarts.
        """
        if self.unloadable:
            raise WorkerUnavailable(self.unloadable)
        if self.process.alive:
            return
        if self.process.generation > 0 and self._planned_restart:
            self._planned_restart = False
        elif self.process.generation > 0:
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

    def has(self, fn: str) -> bool:
        """True if the submission defines ``fn`` (and can be called at all)."""
        try:
            self.ensure_running()
        except StudentCodeError:
            return False
        return fn in self.defined

    # -- calls -----------------------------------------------------------------------------
    def _check_handles(self, value) -> None:
        """Refuse handles from an earlier worker process: their objects died with it."""
        if isinstance(value, HandleRef):
            if value.generation != self.process.generation:
                raise WorkerUnavailable(
                    "a value your code returned earlier was lost when its process was restarted"
                )
        elif isinstance(value, (list, tuple)):
            for v in value:
                self._check_handles(v)
        elif isinstance(value, dict):
            for v in value.values():
                self._check_handles(v)

    def _encode_arg(self, value, blobs):
        self._check_handles(value)
        return channel.encode(value, blobs)

    def call(
        self,
        fn: str,
        args: tuple = (),
        kwargs: dict | None = None,
        keep: tuple[int, ...] = (),
        timeout: float | None = None,
        remember_timeout: bool = True,
    ):
        """Call ``fn(*args, **kwargs)`` in the worker and return the decoded result.

        Args:
            fn: the student's function.
            args, kwargs: its arguments (numbers, strings, numeric arrays, containers, handles).
            keep: indices of a returned tuple to keep in the worker as handles.
            timeout: seconds for this call (default: the assignment's ``call_timeout_s``).
            remember_timeout: if True, a timeout means ``fn`` is not called again.

        Raises:
            StudentCodeError: missing, raised, crashed, timed out, or the budget is used up.
        """
        self._ready(fn, remember_timeout)
        blobs: list[bytes] = []
        header = {
            "op": "call",
            "fn": fn,
            "keep": list(keep),
            "args": self._encode_arg(tuple(args), blobs),
            "kwargs": self._encode_arg(dict(kwargs or {}), blobs),
        }
        return self._send(fn, header, blobs, timeout, remember_timeout)

    def call_many(
        self,
        fn: str,
        calls: list[tuple[tuple, dict]],
        pick: tuple[int, ...] | None = None,
        timeout: float | None = None,
    ) -> list:
        """Call ``fn`` once per ``(args, kwargs)`` in ``calls``, in one round trip.

        Args:
            fn: the student's function.
            calls: argument sets (by value only: no handles).
            pick: keep only these elements of each returned tuple (e.g. the outputs of a
                forward, not its cache).
            timeout: seconds for the whole batch (default: the assignment's call timeout).

        Returns:
            The results, in order.

        Raises:
            StudentCodeError: as for :meth:`call` (the first call that raises stops the batch).
        """
        self._ready(fn, True)
        blobs: list[bytes] = []
        header = {
            "op": "call_many",
            "fn": fn,
            "pick": list(pick) if pick is not None else None,
            "calls": self._encode_arg([[tuple(a), dict(k)] for a, k in calls], blobs),
        }
        return self._send(fn, header, blobs, timeout, True)

    def _ready(self, fn: str, remember_timeout: bool) -> None:
        if fn in self.timed_out and remember_timeout:
            raise StudentTimeout(f"{fn} timed out in an earlier test, so it was not called again")
        self.ensure_running()
        if fn not in self.defined:
            raise StudentMissing(self._missing_message(fn))
        if self.budget_left <= 0:
            raise WorkerUnavailable("the time budget for grading this submission is used up")

    def _send(self, fn, header, blobs, timeout, remember_timeout):
        timeout = self.grading.call_timeout_s if timeout is None else timeout
        budget_limited = self.budget_left < timeout
        timeout = min(timeout, self.budget_left)
        t0 = time.monotonic()
        try:
            reply = self.process.request(header, blobs, timeout)
        except channel.ChannelTimeout:
            self.process.kill()
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
            code = self.process.exit_code()
            self.process.kill()
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
        mutated = reply.get("mutated") or []
        self.last_mutated = (
            [str(m)[:100] for m in mutated][:20] if isinstance(mutated, list) else []
        )
        if not reply.get("ok"):
            err = reply.get("error") or {}
            etype = str(err.get("type", "Error"))[:100]
            msg = str(err.get("message", ""))[:500]
            if etype == "Missing":
                raise StudentMissing(self._missing_message(fn))
            if etype.startswith("Encode:"):
                raise StudentRaised(f"the result of {fn} could not be read ({etype[7:]}: {msg})")
            if etype == "NotImplementedError":
                said = f": {msg}" if msg else ""
                raise StudentRaised(f"{fn} is not finished (it raises NotImplementedError{said})")
            tb = str(err.get("traceback", ""))[:2000]
            raise StudentRaised(f"{fn} raised {etype}: {msg}" + (f"\n{tb}" if tb else ""))
        generation = self.process.generation

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

    def __init__(self, session: StudentSession):
        self._session = session

    def call(
        self, fn: str, *args, keep: tuple[int, ...] = (), timeout: float | None = None, **kwargs
    ):
        """Call the student's ``fn``; see :meth:`StudentSession.call`."""
        return self._session.call(fn, args, kwargs, keep=keep, timeout=timeout)

    def call_untimed(self, fn: str, *args, keep=(), timeout: float | None = None, **kwargs):
        """Like call, but a timeout does not stop later calls of ``fn`` (for timing checks)."""
        return self._session.call(
            fn, args, kwargs, keep=keep, timeout=timeout, remember_timeout=False
        )

    def call_many(self, fn: str, calls, pick=None, timeout: float | None = None) -> list:
        """Many calls of ``fn`` in one round trip; see :meth:`StudentSession.call_many`."""
        return self._session.call_many(fn, calls, pick=pick, timeout=timeout)

    def has(self, fn: str) -> bool:
        """True if the submission defines ``fn``."""
        return self._session.has(fn)

    @property
    def last_mutated(self) -> list[str]:
        """The array arguments the last call changed in place (``args[0]``, ``kwargs['W']``)."""
        return list(self._session.last_mutated)

    def restart(self) -> None:
        """Start a fresh worker (handles from before become invalid). A restart asked for by a
        test does not count against the limit on crash restarts."""
        self._session.restart_planned()

    @property
    def last_elapsed(self) -> float:
        """Seconds the last call took inside the worker."""
        return self._session.last_elapsed
