"""How the worker process is launched and confined, in layers.

Every grading probes which layers this machine allows and records them in the report's
``isolation`` field:

* always: a separate process in its own session, a scrubbed environment, resource limits (CPU,
  address space, file size, open files, no core dumps), per-call wall-clock timeouts (in the
  client) and a hard kill of the whole process group;
* as root: a dedicated unprivileged uid per parallel slot (no capabilities, no new privileges,
  a cap on its number of processes), and a sweep that kills every process of that uid;
* where namespaces are allowed: an empty network namespace, its own pid namespace (when the
  worker ends, everything it started ends), private /tmp and /dev/shm, and the kit, the
  submissions and other run directories hidden behind empty mounts;
* where libseccomp is available: a seccomp filter (see sandboxed/worker.py).

Without root (a student or TA on a laptop) grading still works with the first layer, and the
report says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import functools
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import s30kit
from autograder.sandboxed import FILES as SANDBOXED_FILES

HERE = Path(__file__).resolve().parent
SANDBOXED_DIR = HERE / "sandboxed"
KIT_ROOT = HERE.parent
RUNS_BASE = Path("/var/tmp/s30kit-runs")
SANDBOX_UID_BASE = 61000
SLOTS = 64
NEVER_MASK = {
    "/",
    "/usr",
    "/lib",
    "/lib64",
    "/bin",
    "/sbin",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/var",
    "/run",
    "/var/tmp",
}
PRIVATE_TMP = Path("/tmp")
UNSHARE = [
    "unshare",
    "--net",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount",
    "--propagation",
    "private",
    "--mount-proc",
]


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to the worker."""

    cpu_seconds: int = 300
    address_space: int = 4 * 1024**3
    file_size: int = 16 * 1024**2
    open_files: int = 64
    processes: int = 32
    output_bytes: int = 64 * 1024


@functools.cache
def probe() -> dict:
    """Which layers this machine allows (probed once per process, in a few milliseconds).

    ``AUTOGRADER_ISOLATION=basic`` turns the root-only layers and seccomp off (for debugging a
    grader problem, and for measuring what the isolation costs).
    """
    if os.environ.get("AUTOGRADER_ISOLATION") == "basic":
        why = "turned off by AUTOGRADER_ISOLATION=basic"
        return {
            "root": False,
            "namespaces": False,
            "namespaces_why_not": why,
            "seccomp": False,
            "seccomp_why_not": why,
            "basic": True,
        }
    root = os.geteuid() == 0
    namespaces, why_ns = False, "needs root"
    if root:
        if shutil.which("unshare") is None:
            why_ns = "the unshare command is not installed"
        else:
            try:
                rc = subprocess.run([*UNSHARE, "true"], capture_output=True, timeout=10).returncode
                namespaces, why_ns = rc == 0, "" if rc == 0 else "unshare is not permitted here"
            except (OSError, subprocess.TimeoutExpired):
                why_ns = "unshare failed"
    seccomp, why_sc = False, "the pyseccomp package or libseccomp is missing"
    try:
        import pyseccomp  # noqa: F401

        seccomp = ctypes.util.find_library("seccomp") is not None
    except (ImportError, OSError):
        pass
    return {
        "root": root,
        "namespaces": namespaces,
        "namespaces_why_not": why_ns,
        "seccomp": seccomp,
        "seccomp_why_not": "" if seccomp else why_sc,
    }


class Slot:
    """An exclusive parallel-slot number (and so a sandbox uid), held through a file lock."""

    def __init__(self, base: Path):
        base.mkdir(parents=True, exist_ok=True, mode=0o711)
        for index in range(SLOTS):
            fd = os.open(base / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.index, self.fd = index, fd
            self.uid = SANDBOX_UID_BASE + index
            return
        raise RuntimeError(f"all {SLOTS} grading slots are busy")

    def release(self) -> None:
        os.close(self.fd)


@dataclass
class RunDir:
    """A private directory with the worker's scripts, the helper package and a scratch cwd.

    ``lib`` holds the sandboxed scripts, the student package ``s30kit`` and the assignment's
    given blocks (``lib/given/``, exactly the files released with it), so the student's
    ``from given.layers import ...`` resolves to the kit's copy, never to a file they edited.
    """

    root: Path
    lib: Path = field(init=False)
    work: Path = field(init=False)

    def __post_init__(self) -> None:
        self.lib = self.root / "lib"
        self.work = self.root / "work"

    @classmethod
    def create(
        cls, base: Path | None, owner: int | None, given: dict[str, str] | None = None
    ) -> RunDir:
        if base is not None:
            base.mkdir(parents=True, exist_ok=True, mode=0o711)
            os.chmod(base, 0o711)
            sweep_stale_runs(base)
        root = Path(tempfile.mkdtemp(prefix="s30kit-run-", dir=base))
        os.chmod(root, 0o711 if owner is not None else 0o700)
        rd = cls(root)
        rd.lib.mkdir(mode=0o755)
        rd.work.mkdir(mode=0o700)
        for name in SANDBOXED_FILES:
            shutil.copy2(SANDBOXED_DIR / name, rd.lib / name)
        shutil.copytree(
            Path(s30kit.__file__).parent,
            rd.lib / "s30kit",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        for rel, text in (given or {}).items():
            (rd.lib / rel).parent.mkdir(parents=True, exist_ok=True)
            (rd.lib / rel).write_text(text)
        if owner is not None:
            os.chown(rd.work, owner, owner)
            for path in [rd.lib, *rd.lib.rglob("*")]:
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
        return rd

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


STALE_RUN_S = 6 * 3600
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


def sweep_stale_runs(base: Path) -> None:
    """Remove run directories left by a grader that was killed hard (older than 6 hours)."""
    now = time.time()
    for run in base.glob("s30kit-run-*"):
        try:
            if now - run.stat().st_mtime > STALE_RUN_S:
                shutil.rmtree(run, ignore_errors=True)
        except OSError:
            pass


def _traversable_by_others(path: Path) -> bool:
    try:
        return bool(os.stat(path).st_mode & stat.S_IXOTH)
    except OSError:
        return False


def _unreadable_ancestor(path: Path) -> Path | None:
    """The outermost ancestor of ``path`` another uid cannot traverse (e.g. /root), if any."""
    for parent in reversed(path.parents):
        if str(parent) != "/" and not _traversable_by_others(parent):
            return parent
    return None


def _inside(path: Path, outer: Path) -> bool:
    return path == outer or outer in path.parents


def plan_masks(needed: list[Path], hide: list[Path]) -> list[tuple[str, list[str], str]]:
    """Folders to cover with empty tmpfs mounts: (folder, needed paths kept inside it, mode).

    /tmp is always replaced by a private, empty one (mode 1777); a needed path inside it (a kit
    cloned under /tmp, say) is kept.
    """
    targets = [a for p in needed if (a := _unreadable_ancestor(p)) is not None]
    targets += [h for h in hide if h.is_dir()] + [PRIVATE_TMP]
    targets = [
        t
        for t in dict.fromkeys(t.resolve() for t in targets)
        if str(t) not in NEVER_MASK and t not in needed
    ]
    outermost = [t for t in targets if not any(o != t and _inside(t, o) for o in targets)]
    return [
        (str(t), [str(n) for n in needed if _inside(n, t)], "1777" if t == PRIVATE_TMP else "0755")
        for t in sorted(outermost)
    ]


@dataclass
class Confinement:
    """The layers one worker launch will use, and how to start it."""

    limits: Limits
    hide: list[Path] = field(default_factory=list)
    slot: Slot | None = None
    rundir: RunDir | None = None
    namespaces: bool = False
    seccomp: bool = False

    @classmethod
    def plan(
        cls, limits: Limits, hide: list[Path], given: dict[str, str] | None = None
    ) -> Confinement:
        layers = probe()
        conf = cls(
            limits,
            hide=[KIT_ROOT, *hide],
            namespaces=layers["namespaces"],
            seccomp=layers["seccomp"],
        )
        if layers["root"]:
            conf.slot = Slot(RUNS_BASE / "slots")
        conf.rundir = RunDir.create(
            RUNS_BASE if conf.slot else None, conf.slot.uid if conf.slot else None, given
        )
        return conf

    @property
    def uid(self) -> int | None:
        return self.slot.uid if self.slot else None

    def env(self) -> dict[str, str]:
        """A scrubbed environment: nothing of the grader's environment leaks into the worker."""
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.rundir.work),
            "TMPDIR": str(self.rundir.work),
            "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
        }

    def command(self, req_fd: int, rep_fd: int) -> list[str]:
        lib = self.rundir.lib
        worker = [
            sys.executable,
            "-I",
            "-B",
            str(lib / "worker.py"),
            str(lib),
            str(req_fd),
            str(rep_fd),
        ] + (["--seccomp"] if self.seccomp else [])
        if self.uid is None:
            return worker
        needed = [Path(sys.base_prefix).resolve(), Path(sys.prefix), self.rundir.root]
        cfg = {
            "uid": self.uid,
            "gid": self.uid,
            "nproc": self.limits.processes,
            "cwd": str(self.rundir.work),
            "masks": plan_masks(needed, self.hide) if self.namespaces else None,
        }
        confine = [sys.executable, "-I", "-B", str(lib / "confine.py"), json.dumps(cfg), "--"]
        return (UNSHARE + ["--"] if self.namespaces else []) + confine + worker

    def preexec(self):
        limits = self.limits

        def apply_limits() -> None:
            # If the grader itself is killed, the worker (or unshare, whose --kill-child then
            # ends the whole pid namespace) is killed too: no orphan keeps running.
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
            resource.setrlimit(resource.RLIMIT_AS, (limits.address_space, limits.address_space))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))

        return apply_limits

    def sweep(self) -> None:
        """Kill every process left running as the sandbox uid (root only)."""
        if self.uid is None:
            return
        for _ in range(3):
            found = False
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        if os.stat(f"/proc/{entry}").st_uid == self.uid:
                            os.kill(int(entry), signal.SIGKILL)
                            found = True
                    except (FileNotFoundError, ProcessLookupError, PermissionError):
                        pass
            if not found:
                return

    def close(self) -> None:
        self.sweep()
        if self.rundir is not None:
            self.rundir.remove()
            self.rundir = None
        if self.slot is not None:
            self.slot.release()
            self.slot = None

    def record(self, worker_state: dict | None = None) -> dict:
        return _record(
            self.limits, self.uid, self.namespaces, self.seccomp, self.hide, worker_state or {}
        )


def static_record(limits: Limits) -> dict:
    """The isolation record when no worker was started (e.g. an unreadable submission)."""
    return _record(limits, None, False, False, [], {})


def _record(limits, uid, namespaces, seccomp, hide, state) -> dict:
    """The report's ``isolation`` field: what was active (as seen from inside the worker),
    and why a layer was not."""
    layers = probe()
    lim = limits
    notes = []
    if not state:
        notes.append("no worker was started")
    if uid is None:
        why = layers["namespaces_why_not"] if layers.get("basic") else "the grader is not root"
        notes.append(f"uid drop: {why}")
    if not namespaces:
        notes.append(f"namespaces: {layers['namespaces_why_not'] or 'not used'}")
    if not seccomp:
        notes.append(f"seccomp: {layers['seccomp_why_not'] or 'not used'}")
    return {
        "separate_process": True,
        "own_session": True,
        "scrubbed_env": True,
        "rlimits": {
            "cpu_s": lim.cpu_seconds,
            "address_space_bytes": lim.address_space,
            "file_size_bytes": lim.file_size,
            "open_files": lim.open_files,
            "processes": lim.processes if uid is not None else None,
            "core": 0,
        },
        "wall_clock_timeouts": True,
        "kill_process_group": True,
        "uid_drop": uid is not None and state.get("uid") == uid,
        "sandbox_uid": state.get("uid"),
        "namespaces": {
            "network": namespaces,
            "pid": namespaces and state.get("pid") == 1,
            "mount": namespaces,
            "private_tmp": namespaces,
            "hidden": [m[0] for m in plan_masks([], hide)] if namespaces else [],
        },
        "seccomp": bool(state.get("seccomp")),
        "notes": notes,
    }
