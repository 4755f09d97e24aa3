"""Second stage of the worker launch: runs as root inside fresh namespaces, then becomes the
worker.

    python -I confine.py CONFIG_JSON -- python -I -B worker.py ...

It arranges the file-system view (private /tmp and /dev/shm; the kit, other students' files and
unreadable parents hidden behind empty tmpfs mounts, with only what the worker needs bound back),
drops to the slot's unprivileged uid with no capabilities and no new privileges, caps the number
of processes, and execs the worker. Like worker.py it is copied into the run directory and
imports nothing from the autograder package.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 2, 4, 32, 4096, 16384
MS_RDONLY = 1
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def umount(target: str) -> None:
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")


def tmpfs(target: str, mode: str) -> None:
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size=64m")


def mask(target: str, keeps: list[str], stage: str, mode: str) -> None:
    """Cover ``target`` with an empty tmpfs, keeping the listed paths inside it visible."""
    holds = []
    for i, keep in enumerate(keeps):
        hold = os.path.join(stage, f"{len(os.listdir(stage))}-{i}")
        os.mkdir(hold, 0o700)
        mount(keep, hold, None, MS_BIND | MS_REC)
        holds.append((keep, hold))
    tmpfs(target, mode)
    for keep, hold in holds:
        os.makedirs(keep, mode=0o755, exist_ok=True)
        mount(hold, keep, None, MS_BIND | MS_REC)
        umount(hold)


def mount_points() -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        points = [line.split()[4] for line in fh]
    return [p.encode().decode("unicode_escape") for p in points]


def make_read_only(writable: set[str]) -> None:
    """Remount every file system read-only in this namespace, except scratch space."""
    for point in mount_points():
        if point in writable or point.startswith(("/proc", "/sys", "/dev")):
            continue
        try:
            mount("none", point, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        except OSError:
            pass  # a special file system that refuses; the uid's permissions still apply


def arrange_filesystem(cfg: dict) -> None:
    tmpfs("/dev/shm", "1777")
    stage = "/dev/shm/.stage"
    os.mkdir(stage, 0o700)
    for target, keeps, mode in cfg["masks"]:
        mask(target, keeps, stage, mode)
    umount("/dev/shm")
    tmpfs("/dev/shm", "1777")
    mount(cfg["cwd"], cfg["cwd"], None, MS_BIND)
    make_read_only({cfg["cwd"], "/tmp"})


def drop_privileges(uid: int, gid: int, nproc: int) -> None:
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # from root to a non-zero uid: every capability is dropped
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _check(_libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl(PDEATHSIG)")  # cleared by setuid
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError("could not drop privileges")


def main() -> None:
    cfg = json.loads(sys.argv[1])
    worker_argv = sys.argv[sys.argv.index("--") + 1 :]
    if cfg.get("masks") is not None:
        arrange_filesystem(cfg)
    if cfg.get("uid") is not None:
        drop_privileges(cfg["uid"], cfg["gid"], cfg["nproc"])
    os.chdir(cfg["cwd"])
    os.execv(worker_argv[0], worker_argv)


if __name__ == "__main__":
    main()
