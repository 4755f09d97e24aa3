"""How the worker process is launched and confined.

Every layer is probed and recorded in the report's ``isolation`` field. Today's layers are the
ones any user gets (a separate process in its own session, a scrubbed environment, resource
limits, wall-clock timeouts enforced by the client, a kill of the whole process group). Later
layers (uid drop, namespaces, seccomp) plug in by wrapping the command in :func:`launch_command`
and adding their probe to :func:`probe_layers`.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import s30kit

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to the worker (per process)."""

    cpu_seconds: int = 300
    address_space: int = 4 * 1024**3
    file_size: int = 16 * 1024**2
    open_files: int = 64
    output_bytes: int = 64 * 1024


@dataclass
class RunDir:
    """A private directory holding the worker script, the helper package and a scratch cwd."""

    root: Path
    lib: Path = field(init=False)
    work: Path = field(init=False)

    def __post_init__(self) -> None:
        self.lib = self.root / "lib"
        self.work = self.root / "work"

    @classmethod
    def create(cls) -> RunDir:
        root = Path(tempfile.mkdtemp(prefix="s30grade-"))
        os.chmod(root, 0o700)
        rd = cls(root)
        rd.lib.mkdir()
        rd.work.mkdir()
        shutil.copy2(HERE / "worker.py", rd.lib / "worker.py")
        shutil.copy2(HERE / "channel.py", rd.lib / "channel.py")
        shutil.copytree(
            Path(s30kit.__file__).parent,
            rd.lib / "s30kit",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        return rd

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def worker_env(rd: RunDir) -> dict[str, str]:
    """A scrubbed environment: nothing of the grader's environment leaks into the worker."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(rd.work),
        "TMPDIR": str(rd.work),
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
    }


def launch_command(rd: RunDir, req_fd: int, rep_fd: int) -> list[str]:
    """The worker's argv. Isolation wrappers (setpriv, unshare, ...) prepend themselves here."""
    return [
        sys.executable,
        "-I",
        "-B",
        str(rd.lib / "worker.py"),
        str(rd.lib),
        str(req_fd),
        str(rep_fd),
    ]


def make_preexec(limits: Limits):
    """Applied in the child between fork and exec: resource limits (the session is separate)."""

    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_AS, (limits.address_space, limits.address_space))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))

    return preexec


def probe_layers(limits: Limits) -> dict:
    """Which isolation layers this launch provides (recorded in every report)."""
    return {
        "separate_process": True,
        "own_session": True,
        "scrubbed_env": True,
        "rlimits": {
            "cpu_s": limits.cpu_seconds,
            "address_space_bytes": limits.address_space,
            "file_size_bytes": limits.file_size,
            "open_files": limits.open_files,
            "core": 0,
        },
        "wall_clock_timeouts": True,
        "kill_process_group": True,
        "uid_drop": False,
        "namespaces": False,
        "seccomp": False,
        "notes": "uid drop, namespaces and seccomp are not enabled in this version",
    }
