"""Containment for a submission's process: no network, no course files, limited resources.

:func:`start` launches :mod:`bpkit.course._sandbox` in the strongest container the machine
allows, chosen once per run by :func:`containment`:

* ``bwrap`` (Debian's ``bubblewrap``): new network, PID, IPC and UTS namespaces; a file
  system holding only the system, Python, its packages and bpkit, read-only; a fresh
  size-limited ``tmpfs`` as HOME and working directory; the course's ``solutions/`` never
  visible. The process dies with the grader.
* ``unshare`` (util-linux, as root): new network and PID namespaces only; files are not
  hidden, so a submission could read what the grader's user can read.
* ``none``: limits only.

In every mode the process runs in its own session and process group, with limits on CPU
time, address space, processes, file size and open files. Inside bubblewrap, when the grader
runs as root, it also runs as a user id of its own (so one submission cannot signal or read
another, and the process-count limit counts its own processes only). ``BPFS_SANDBOX=bwrap|unshare|none`` forces a
mode (``bwrap`` fails when it is not available).
"""

from __future__ import annotations

import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._wire import read_message, write_message

__all__ = ["Limits", "Sandbox", "SandboxError", "containment", "start"]

HOME = "/home/student"
_BASE_UID = 62000


class SandboxError(RuntimeError):
    """The contained process could not be started or stopped answering."""


@dataclass
class Limits:
    """Resource limits of one submission's process (0: no limit)."""

    cpu_seconds: int = 300
    memory_bytes: int = 2 * 2 ** 30
    processes: int = 64
    file_bytes: int = 64 * 2 ** 20
    open_files: int = 256
    tmp_bytes: int = 256 * 2 ** 20

    def as_json(self, base_processes=0) -> str:
        return json.dumps({"cpu": self.cpu_seconds, "as": self.memory_bytes,
                           "nproc": self.processes + base_processes if self.processes else 0,
                           "fsize": self.file_bytes, "nofile": self.open_files})


def _probe(argv) -> bool:
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.lru_cache(maxsize=None)
def containment() -> str:
    """``"bwrap"``, ``"unshare"`` or ``"none"``: the strongest mode that works here (or ``BPFS_SANDBOX``)."""
    forced = os.environ.get("BPFS_SANDBOX", "").strip()
    bwrap = shutil.which("bwrap")
    if forced == "none":
        return "none"
    if bwrap and forced in ("", "bwrap") and _probe([bwrap, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid",
                                                     "--die-with-parent", "true"]):
        return "bwrap"
    if forced == "bwrap":
        raise SandboxError("BPFS_SANDBOX=bwrap, but bubblewrap does not work here: install it "
                           "(apt-get install bubblewrap) and run the grader where namespaces are allowed.")
    unshare = shutil.which("unshare")
    if unshare and _probe([unshare, "--net", "--pid", "--fork", "--kill-child", "true"]):
        return "unshare"
    return "none"


def warning(mode: str) -> str | None:
    """The loud warning for a weaker mode, or ``None`` for ``bwrap``."""
    if mode == "bwrap":
        return None
    what = ("no network, but submissions run as your user and can read every file your user can read (the "
            "course's solutions/ too)" if mode == "unshare" else
            "submissions run as your user, can use the network and read every file your user can read")
    return (f"WARNING: bubblewrap is not available, so grading is only partly contained: {what}. Install it "
            "(apt-get install bubblewrap) before grading untrusted work.")


def _readonly_paths() -> list:
    import bpkit
    paths = ["/usr", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin",
             sys.base_prefix, sys.prefix, str(Path(bpkit.__file__).resolve().parent)]
    real = os.path.realpath(sys.executable)
    paths.append(os.path.dirname(os.path.dirname(real)))
    out = []
    for p in paths:
        if p and os.path.lexists(p) and p not in out:
            out.append(p)
    return out


def _bwrap_argv(limits: Limits, hidden=()) -> list:
    # the fresh file systems first, so that a read-only bind below them (a course cloned into /tmp) stays visible
    argv = [shutil.which("bwrap"), "--proc", "/proc", "--dev", "/dev",
            "--size", str(limits.tmp_bytes), "--perms", "1777", "--tmpfs", "/tmp",
            "--perms", "0755", "--dir", "/home",
            "--size", str(limits.tmp_bytes), "--perms", "1777", "--tmpfs", HOME]
    made = {"/", "/proc", "/dev", "/tmp", "/home", HOME}
    binds = _readonly_paths()
    for p in binds:
        if os.path.islink(p) and os.path.dirname(p) == "/":
            argv += ["--symlink", os.readlink(p), p]
            made.add(p)
            continue
        parents = []
        parent = os.path.dirname(p)
        while parent not in made:
            parents.append(parent)
            parent = os.path.dirname(parent)
        for d in reversed(parents):
            argv += ["--perms", "0755", "--dir", d]
            made.add(d)
        argv += ["--ro-bind", p, p]
        made.add(p)
    for h in hidden:                          # e.g. the course's solutions/, when a bound folder holds it
        if any(os.path.commonpath([h, b]) == b for b in binds if not os.path.islink(b)):
            argv += ["--tmpfs", h]
    argv += ["--chdir", HOME, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--die-with-parent", "--new-session", "--clearenv"]
    return argv


def _environment(home: str) -> dict:
    env = {"HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": os.path.join(home, ".matplotlib"), "PYTHONDONTWRITEBYTECODE": "1",
           "TMPDIR": "/tmp" if home == HOME else home, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "MKL_NUM_THREADS"):
        env[key] = os.environ.get(key, "1" if key.endswith("THREADS") else None)
    return {k: v for k, v in env.items() if v is not None}


def _processes_of(uid: int) -> list:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


@dataclass
class Sandbox:
    """A running contained process and its two pipes."""

    process: subprocess.Popen
    to_child: int
    from_child: int
    uid: int
    mode: str
    workdir: str | None = None
    next_id: int = 0
    dead: bool = False
    notes: list = field(default_factory=list)

    def request(self, message: dict, deadline: float) -> dict:
        """Send ``message`` and wait for its reply until ``deadline`` (``time.monotonic()``).

        Raises ``TimeoutError`` at the deadline and ``EOFError`` when the process is gone;
        either way the process is killed.
        """
        if self.dead:
            raise EOFError("the process has already stopped")
        self.next_id += 1
        message = dict(message, id=self.next_id)

        def wait():
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                raise TimeoutError("no reply before the time limit")
        try:
            write_message(self.to_child, message)
            while True:
                reply = read_message(self.from_child, wait)
                if reply.get("id") == self.next_id:
                    return reply
        except (TimeoutError, EOFError, BrokenPipeError, OSError, ValueError):
            self.kill()
            raise

    def kill(self) -> None:
        """Stop the process and everything it started."""
        self.dead = True
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.uid:
            for _ in range(3):                 # processes that left the group (setsid) still carry the uid
                pids = _processes_of(self.uid)
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                if not pids:
                    break
                time.sleep(0.05)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def close(self, deadline: float) -> None:
        """Ask the process to exit, then make sure it has."""
        if not self.dead:
            try:
                write_message(self.to_child, {"op": "exit"})
                self.process.wait(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


def start(slot: int, limits: Limits, hidden=(), mode=None) -> Sandbox:
    """Start a contained :mod:`bpkit.course._sandbox` process; ``slot`` (0, 1, ...) picks its user id."""
    mode = mode or containment()
    # its own user id only inside bubblewrap, whose file system it can read; elsewhere Python may live
    # in a folder only the grader's user can read (e.g. /root/.pyenv)
    uid = _BASE_UID + slot if os.geteuid() == 0 and mode == "bwrap" else 0
    base = 0 if uid else len(_processes_of(os.getuid()))
    r_req, w_req = os.pipe()
    r_rep, w_rep = os.pipe()
    server = [sys.executable, "-I", "-m", "bpkit.course._sandbox", "--fds", f"{r_req},{w_rep}", "--uid", str(uid),
              "--limits", limits.as_json(base)]
    workdir = None
    if mode == "bwrap":
        argv = _bwrap_argv(limits, hidden) + [a for k, v in _environment(HOME).items()
                                              for a in ("--setenv", k, v)] + server
        env, cwd = {}, "/"
    else:
        workdir = tempfile.mkdtemp(prefix="bpfs-grade-")
        argv = server if mode == "none" else [shutil.which("unshare"), "--net", "--pid", "--fork", "--kill-child"] + server
        env, cwd = _environment(workdir), workdir
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   pass_fds=(r_req, w_rep), env=env, cwd=cwd, start_new_session=True)
    except OSError as exc:
        for fd in (r_req, w_req, r_rep, w_rep):
            os.close(fd)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        raise SandboxError(f"could not start the grading process: {exc}") from None
    os.close(r_req)
    os.close(w_rep)
    return Sandbox(process, w_req, r_rep, uid, mode, workdir)
