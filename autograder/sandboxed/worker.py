"""The worker: loads a student's extracted code and answers calls over the channel.

Runs as ``python -I worker.py LIBDIR REQ_FD REP_FD`` in a confined process. It is copied into
the run directory together with ``channel.py`` and imports nothing from the autograder package.
Student output goes to this process's stdout/stderr, which the trusted side drains and caps.
"""

from __future__ import annotations

import re
import sys
import time
import traceback
import types

MAGIC_LINE = re.compile(r"^(\s*)([%!].*)$")


def strip_magics(code: str) -> tuple[str, int]:
    """Replace IPython magics and shell escapes by ``pass`` (they only work in a kernel)."""
    lines = code.split("\n")
    n = 0
    for i, line in enumerate(lines):
        m = MAGIC_LINE.match(line)
        if m:
            lines[i] = f"{m.group(1)}pass  # removed: {m.group(2)[:60]}"
            n += 1
    return "\n".join(lines), n


def short_traceback(exc: BaseException, limit: int = 6) -> str:
    """The traceback restricted to frames from the student's cells."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell ")
    ][-limit:]
    lines = [f"  {f.filename[1:-1]}, line {f.lineno}, in {f.name}" for f in frames]
    return "\n".join(lines)


def describe(exc: BaseException) -> dict:
    name = type(exc).__name__
    return {"type": name, "message": str(exc)[:500], "traceback": short_traceback(exc)[:2000]}


def snapshot_arrays(value, path: str = "") -> list:
    """(path, array, copy) for every NumPy array passed by value in ``value`` (args, kwargs)."""
    import numpy as np

    found = []
    if isinstance(value, np.ndarray):
        found.append((path, value, value.copy()))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found += snapshot_arrays(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            found += snapshot_arrays(v, f"{path}[{k!r}]")
    return found


def changed_arrays(snapshot: list) -> list[str]:
    """Paths of the arrays a call changed in place (shape, dtype or any value)."""
    import numpy as np

    changed = []
    for path, arr, copy in snapshot:
        try:
            same = (
                arr.shape == copy.shape
                and arr.dtype == copy.dtype
                and np.array_equal(arr, copy, equal_nan=arr.dtype.kind in "fc")
            )
        except Exception:  # noqa: BLE001 - an array the student turned into something odd
            same = False
        if not same:
            changed.append(path)
    return changed[:20]


class Worker:
    def __init__(self, channel, req_fd: int, rep_fd: int):
        self.ch = channel
        self.reader = channel.FrameReader(req_fd)
        self.rep_fd = rep_fd
        self.ns: dict = {}
        self.handles: dict[int, object] = {}
        self.next_handle = 1
        self.state: dict = {}

    def store(self, obj) -> tuple[int, str]:
        h = self.next_handle
        self.next_handle += 1
        self.handles[h] = obj
        return h, type(obj).__name__

    def resolve(self, h: int, _name: str):
        if h not in self.handles:
            raise KeyError(f"unknown handle {h}")
        return self.handles[h]

    def reply(self, rid: int, payload: dict, value=None) -> None:
        blobs: list[bytes] = []
        if value is not None or "value" in payload:
            payload["value"] = self.ch.encode(value, blobs, self.store)
        payload["id"] = rid
        self.ch.write_frame(self.rep_fd, payload, blobs)

    def load(self, cells: list) -> dict:
        module = types.ModuleType("submission")
        sys.modules["submission"] = module
        self.ns = module.__dict__
        self.ns["__name__"] = "submission"
        errors = []
        for label, code in cells:
            code, n_magic = strip_magics(code)
            try:
                exec(compile(code, f"<cell {label}>", "exec"), self.ns)
            except BaseException as exc:  # noqa: BLE001 - student code may raise anything
                errors.append({"cell": label, **describe(exc)})
            if n_magic:
                errors.append(
                    {
                        "cell": label,
                        "type": "Notice",
                        "traceback": "",
                        "message": f"{n_magic} IPython magic/shell line(s) were ignored",
                    }
                )
        names = sorted(k for k, v in self.ns.items() if callable(v) and not k.startswith("_"))
        return {"ok": True, "errors": errors, "names": names}

    def function(self, name: str):
        """(the student's function ``name``, None), or (None, a "Missing" reply)."""
        fn = self.ns.get(name)
        if fn is None or not callable(fn):
            return None, {
                "ok": False,
                "error": {"type": "Missing", "message": name, "traceback": ""},
            }
        return fn, None

    def call(self, header: dict, blobs: list[bytes]):
        fn, missing = self.function(header["fn"])
        if missing:
            return missing, None
        args = self.ch.decode(header["args"], blobs, self.resolve)
        kwargs = self.ch.decode(header["kwargs"], blobs, self.resolve)
        before = snapshot_arrays(args, "args") + snapshot_arrays(kwargs, "kwargs")
        t0 = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001
            return {"ok": False, "error": describe(exc), "elapsed": time.perf_counter() - t0}, None
        elapsed = time.perf_counter() - t0
        mutated = changed_arrays(before)
        keep = header.get("keep") or []
        if keep and type(result) is tuple:
            items = list(result)
            for k in keep:
                if -len(items) <= k < len(items):
                    items[k] = self.ch.HandleRef(self.store(items[k])[0], type(items[k]).__name__)
            result = tuple(items)
        return {"ok": True, "elapsed": elapsed, "mutated": mutated, "value": None}, result

    def call_many(self, header: dict, blobs: list[bytes]):
        """Call one function on many argument sets (e.g. every nudged input of a numerical
        derivative) in one round trip; stops at the first call that raises."""
        fn, missing = self.function(header["fn"])
        if missing:
            return missing, None
        calls = self.ch.decode(header["calls"], blobs, self.resolve)
        pick = header.get("pick")
        results = []
        t0 = time.perf_counter()
        for args, kwargs in calls:
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001
                elapsed = time.perf_counter() - t0
                return {"ok": False, "error": describe(exc), "elapsed": elapsed}, None
            if pick is not None and type(result) is tuple:
                result = tuple(result[i] for i in pick if -len(result) <= i < len(result))
            results.append(result)
        return {"ok": True, "elapsed": time.perf_counter() - t0, "value": None}, results

    def serve(self) -> None:
        while True:
            try:
                header, blobs = self.reader.read()
            except self.ch.ChannelClosed:
                return
            rid = header.get("id", 0)
            op = header.get("op")
            try:
                if op == "load":
                    self.reply(rid, self.load(header["cells"]))
                elif op == "call":
                    payload, value = self.call(header, blobs)
                    self.reply(rid, payload, value)
                elif op == "call_many":
                    payload, value = self.call_many(header, blobs)
                    self.reply(rid, payload, value)
                elif op == "release":
                    for h in header.get("handles", []):
                        self.handles.pop(h, None)
                    self.reply(rid, {"ok": True})
                elif op == "ping":
                    self.reply(rid, {"ok": True})
                elif op == "exit":
                    return
                else:
                    self.reply(rid, {"ok": False, "error": {"type": "Protocol", "message": op}})
            except BaseException as exc:  # noqa: BLE001 - e.g. an unencodable result
                err = describe(exc)
                err["type"] = "Encode:" + err["type"]
                self.reply(rid, {"ok": False, "error": err})


DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "mount",
    "umount2",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "init_module",
    "finit_module",
    "pivot_root",
    "chroot",
    "keyctl",
    "add_key",
    "request_key",
)
DENIED_SOCKET_FAMILIES = (2, 10, 16, 17)  # AF_INET, AF_INET6, AF_NETLINK, AF_PACKET


def install_seccomp() -> bool:
    """Deny network sockets, tracing, mounts, namespaces, io_uring and bpf (EPERM)."""
    import errno

    try:
        import pyseccomp as seccomp
    except ImportError:
        return False
    filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for family in DENIED_SOCKET_FAMILIES:
        filt.add_rule(seccomp.ERRNO(errno.EPERM), "socket", seccomp.Arg(0, seccomp.EQ, family))
    for name in DENIED_SYSCALLS:
        try:
            filt.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except Exception:  # noqa: BLE001 - a syscall this kernel/arch does not know
            pass
    filt.load()
    return True


def main() -> None:
    libdir, req_fd, rep_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sys.path.insert(0, libdir)
    import os

    import channel  # noqa: PLC0415 - only importable once libdir is on sys.path
    import numpy  # noqa: F401 - imported before student code, as the notebooks do

    seccomp = "--seccomp" in sys.argv and install_seccomp()
    sys.argv = ["submission"]
    worker = Worker(channel, req_fd, rep_fd)
    worker.state = {"uid": os.getuid(), "pid": os.getpid(), "seccomp": seccomp}
    channel.write_frame(rep_fd, {"id": 0, "hello": True, "state": worker.state}, [])
    worker.serve()


if __name__ == "__main__":
    main()
