"""Run Python in a sandboxed subprocess: the ``run_python`` tool.

Each call starts a fresh interpreter (the base Python runtime, run with ``-I -S``)
in a new temporary working directory that is removed afterwards, under the best
isolation available, named in the first line of every result:

``bwrap``
    bubblewrap: new mount, PID, network, IPC and UTS namespaces. The filesystem
    is a tmpfs holding read-only binds of the Python runtime (the base prefix, and
    this environment's site-packages unless ``site_packages=False``), the shared
    libraries (``/usr/lib``, ``/usr/lib64``), a tmpfs ``/tmp`` (size-capped where
    bwrap has ``--size``), a private ``/proc`` and ``/dev``, and the work
    directory (read-write, at ``/home/sandbox``). ``/etc``, the host's ``/home``,
    ``/root``, the repository and ``/usr/bin`` are not there. The network
    namespace has only its own loopback.
``unshare``
    ``unshare(1)``: new network and PID namespaces only. The host's files are
    visible: as a random unprivileged uid when Podium runs as root and the
    runtime is readable by others, else as the calling user (the result notes it).
``none``
    Neither tool works here: resource limits, an empty environment and the
    temporary directory only. The result says so; the call is never quietly weaker.

In every mode the runner (:mod:`podium.tools._code_runner`) sets hard limits
before the code starts: address space (``RLIMIT_AS``), CPU seconds
(``RLIMIT_CPU``), file size (``RLIMIT_FSIZE``), processes (``RLIMIT_NPROC``) and
no core files. The parent enforces the wall-clock limit and an output cap: it
reads stdout and stderr as they come and stops the process group once the cap
is passed. The environment is built from scratch (nothing inherited, so no API
keys), and stdin is ``/dev/null``.

When Podium runs as root the sandbox gets no user namespace; instead bwrap keeps
only ``CAP_SETUID``/``CAP_SETGID`` and the runner drops to a random unprivileged
uid before the code runs. A namespace that maps root to root would run the code
as the kernel's root user, which ``RLIMIT_NPROC`` does not bind, so a fork bomb
would go unchecked. Run as another user, bwrap gets ``--unshare-all``.

Threat model. This stops code written by a model, or by a user through it, from
reading the host's files, reaching the network, seeing environment secrets,
leaving processes behind, or exhausting memory, CPU time, process slots, disk
(per file) or the caller's memory through output. It does not stop: kernel
exploits (there is no seccomp filter; the code talks to the full syscall
surface), CPU and cache side channels, exhausting the machine's disk by writing
many files into the work directory (each is capped, their number is not), using
``/tmp``'s tmpfs up to its size cap in RAM, or attacks on bubblewrap itself. In
the ``unshare`` and ``none`` modes the host's files are readable wherever the
uid may read them, and in ``none`` the network is open and a process that calls
``setsid`` can outlive the call. Do not run it as a boundary between mutually
hostile tenants; use a VM (gVisor, Firecracker) for that.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from langchain_core.tools import BaseTool
from pydantic import Field

from podium.errors import ConfigError, ToolInputError
from podium.settings import get_settings
from podium.tools._common import podium_tool
from podium.tools._registry import register_tools

__all__ = [
    "CodeLimits",
    "CodeResult",
    "Isolation",
    "make_code_tool",
    "run_code",
    "run_python",
    "sandbox_status",
]

Isolation = Literal["bwrap", "unshare", "none"]
SandboxChoice = Literal["auto", "bwrap", "unshare", "none"]
_LEVELS: tuple[Isolation, ...] = ("bwrap", "unshare", "none")
_DESCRIPTIONS: dict[Isolation, str] = {
    "bwrap": "bubblewrap; no network; private filesystem with a read-only Python runtime",
    "unshare": "no network; the host's files are visible",
    "none": "no isolation; resource limits and a clean environment only; the network and "
    "the host's files are reachable",
}
_RUNNER_SOURCE = (Path(__file__).with_name("_code_runner.py")).read_text(encoding="utf-8")
_SANDBOX_WORKDIR = "/home/sandbox"
_MAX_CODE_CHARS = 200_000
_DRAIN_AFTER_EXIT_S = 0.5


@dataclass(frozen=True)
class CodeLimits:
    """Limits for one call of the code tool.

    Attributes:
        timeout_s: Wall-clock seconds a call gets when the model gives none.
        max_timeout_s: The most wall-clock seconds the model may ask for.
        memory_mb: Address-space cap of each process, in MiB.
        max_output_bytes: Stdout plus stderr kept; past it the process is stopped.
        max_processes: Processes (and threads) the code may run at once.
        max_file_mb: Largest file the code may write, in MiB.
        tmp_mb: Size of the sandbox's ``/tmp`` (a tmpfs), in MiB.
        max_value_chars: Longest ``repr`` of the last expression reported.
    """

    timeout_s: float = 10.0
    max_timeout_s: float = 60.0
    memory_mb: int = 1024
    max_output_bytes: int = 64_000
    max_processes: int = 32
    max_file_mb: int = 64
    tmp_mb: int = 64
    max_value_chars: int = 10_000

    def __post_init__(self) -> None:
        numbers = {
            "timeout_s": self.timeout_s,
            "max_timeout_s": self.max_timeout_s,
            "memory_mb": self.memory_mb,
            "max_output_bytes": self.max_output_bytes,
            "max_processes": self.max_processes,
            "max_file_mb": self.max_file_mb,
            "tmp_mb": self.tmp_mb,
            "max_value_chars": self.max_value_chars,
        }
        bad = {name: value for name, value in numbers.items() if not value > 0}
        if bad:
            raise ConfigError(f"code tool limits must be positive, got {bad!r}")
        if self.timeout_s > self.max_timeout_s:
            raise ConfigError(
                f"timeout_s ({self.timeout_s!r}) must not exceed max_timeout_s "
                f"({self.max_timeout_s!r})"
            )
        if self.memory_mb < 64:
            raise ConfigError(
                f"memory_mb={self.memory_mb!r} is too small for a Python interpreter; use >= 64"
            )


@dataclass
class CodeResult:
    """What one run produced.

    Attributes:
        isolation: The isolation level used (``bwrap``, ``unshare`` or ``none``).
        stdout: Standard output, decoded as UTF-8 (bad bytes replaced).
        stderr: Standard error, including the traceback of an uncaught exception.
        exit_status: The process's exit status; None when it was killed by a signal.
        signal: The name of the signal that ended it, if one did.
        value: ``repr`` of the last expression's value, when the code ends in one.
        timed_out: The wall-clock limit was reached and the process was killed.
        output_truncated: Output passed the cap and the process was stopped.
        duration_s: Wall-clock seconds from start to the end of the process.
        notes: Extra facts for the reader (a fallback and why, a truncated value).
        timeout_s: The wall-clock limit the run had.
        limits: The other limits it had.
    """

    isolation: Isolation
    stdout: str = ""
    stderr: str = ""
    exit_status: int | None = None
    signal: str | None = None
    value: str | None = None
    timed_out: bool = False
    output_truncated: bool = False
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    timeout_s: float = 0.0
    limits: CodeLimits = field(default_factory=lambda: CodeLimits())

    def render(self) -> str:
        """Format the result for the model: a header line, then the non-empty sections."""
        limits, timeout_s = self.limits, self.timeout_s
        if self.timed_out:
            outcome = f"killed at the wall-clock limit of {timeout_s:g} s"
        elif self.output_truncated:
            outcome = f"stopped: output passed the cap of {limits.max_output_bytes} bytes"
        elif self.signal == "SIGXCPU":
            outcome = f"killed: CPU time limit of {math.ceil(timeout_s)} s exceeded"
        elif self.signal == "SIGXFSZ":
            outcome = f"killed: a file passed the size cap of {limits.max_file_mb} MiB"
        elif self.signal is not None:
            outcome = f"killed by {self.signal}"
        else:
            outcome = f"exit status {self.exit_status}"
        lines = [
            f"[sandbox: {self.isolation} ({_DESCRIPTIONS[self.isolation]})] {outcome} "
            f"({self.duration_s:.2f} s)"
        ]
        lines.extend(f"note: {note}" for note in self.notes)
        cut = " (truncated)" if self.output_truncated else ""
        if self.stdout:
            lines += [f"--- stdout{cut} ---", self.stdout.rstrip("\n")]
        if self.stderr:
            lines += [f"--- stderr{cut} ---", self.stderr.rstrip("\n")]
        if self.value is not None:
            lines += ["--- value of the last expression ---", self.value]
        if len(lines) == 1 + len(self.notes):
            lines.append("(no output)")
        return "\n".join(lines)


# --- the sandbox command ------------------------------------------------------------


def _interpreter() -> str:
    """The base interpreter's real path: a venv's python is a link that needs pyvenv.cfg."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(base)


def _runtime_paths(site_packages: bool) -> tuple[list[str], list[str]]:
    """Directories the sandbox binds read-only, and the extra ``sys.path`` entries."""
    binds = [os.path.realpath(sys.base_prefix)]
    exe = _interpreter()
    if not any(exe.startswith(b + os.sep) for b in binds):
        binds.append(exe)
    extra: list[str] = []
    if site_packages:
        for key in ("purelib", "platlib"):
            path = os.path.realpath(sysconfig.get_paths()[key])
            if os.path.isdir(path) and path not in extra:
                extra.append(path)
                if not any(path.startswith(b + os.sep) for b in binds):
                    binds.append(path)
    return binds, extra


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _readable_by_others(paths: list[str]) -> bool:
    """Whether every directory above and at ``paths`` lets any uid through (o+x)."""
    for path in paths:
        for parent in [*_ancestors(path + "/x")]:
            try:
                if not os.stat(parent).st_mode & 0o001:
                    return False
            except OSError:
                return False
    return True


@functools.lru_cache(maxsize=8)
def _bwrap_options(bwrap: str) -> frozenset[str]:
    """The options this bubblewrap knows (``--size`` and ``--disable-userns`` are recent)."""
    try:
        done = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(re.findall(r"--[a-z0-9-]+", done.stdout + done.stderr))


def _bwrap_args(
    bwrap: str, workdir: str, binds: list[str], env: dict[str, str], tmp_bytes: int, as_root: bool
) -> list[str]:
    known = _bwrap_options(bwrap)
    if as_root:
        # No user namespace (see the module docstring): keep only what the drop needs.
        args = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        args += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args = [bwrap, "--unshare-all", "--unshare-user"]
        if "--disable-userns" in known:
            args.append("--disable-userns")
    args += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    made: set[str] = set()
    for path in [*binds, "/usr/lib/x", _SANDBOX_WORKDIR]:
        for parent in _ancestors(path):
            # bwrap creates missing parents as 0700, which the dropped uid cannot enter.
            inside_bind = any(parent == b or parent.startswith(b + "/") for b in binds)
            if parent not in made and not inside_bind:
                made.add(parent)
                args += ["--perms", "0755", "--dir", parent]
    for lib in ("/usr/lib", "/usr/lib64", "/usr/lib32"):
        if os.path.isdir(lib) and not os.path.islink(lib):
            args += ["--ro-bind", lib, lib]
    for lib in ("/lib", "/lib64", "/lib32"):
        if os.path.islink(lib):
            args += ["--symlink", os.readlink(lib), lib]
        elif os.path.isdir(lib):
            args += ["--ro-bind", lib, lib]
    for path in binds:
        args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    if "--size" in known:
        args += ["--size", str(tmp_bytes)]
    args += ["--perms", "1777", "--tmpfs", "/tmp"]
    # No --chdir: bwrap's root has no CAP_DAC_OVERRIDE to enter the 0700 work directory
    # of the sandbox uid; the runner changes into it after dropping privileges.
    args += ["--bind", workdir, _SANDBOX_WORKDIR, "--chdir", "/"]
    return args


def _unshare_args(unshare: str, as_root: bool) -> list[str]:
    args = [unshare, "--net", "--pid", "--fork", "--kill-child"]
    # Root needs no user namespace to unshare; mapping root to root would exempt the
    # code from RLIMIT_NPROC, so the runner drops to an unprivileged uid instead.
    return args if as_root else [*args, "--map-root-user"]


def _environment(level: Isolation, workdir: str) -> dict[str, str]:
    home = _SANDBOX_WORKDIR if level == "bwrap" else workdir
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp" if level == "bwrap" else workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": "sandbox",
        # One thread each: threads count against the process cap and the memory cap.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }


@dataclass(frozen=True)
class _Launcher:
    level: Isolation
    bwrap: str | None
    unshare: str | None
    site_packages: bool

    def command(
        self, workdir: str, config: dict, limits: CodeLimits, env: dict[str, str]
    ) -> list[str]:
        binds, _ = _runtime_paths(self.site_packages)
        runner = ["-c", _RUNNER_SOURCE, json.dumps(config)]
        python = [_interpreter(), "-I", "-S", "-X", "utf8", *runner]
        as_root = os.geteuid() == 0
        if self.level == "bwrap":
            assert self.bwrap is not None
            tmp = limits.tmp_mb * 1024 * 1024
            return [*_bwrap_args(self.bwrap, workdir, binds, env, tmp, as_root), *python]
        if self.level == "unshare":
            assert self.unshare is not None
            return [*_unshare_args(self.unshare, as_root), *python]
        return python


_probe_lock = threading.Lock()
_probe_cache: dict[tuple, str | None] = {}


def _probe(launcher: _Launcher) -> str | None:
    """Start the sandbox once with ``pass``; return None when it works, else why not."""
    key = (launcher.level, launcher.bwrap, launcher.unshare, launcher.site_packages, os.geteuid())
    with _probe_lock:
        if key in _probe_cache:
            return _probe_cache[key]
        tool = launcher.bwrap if launcher.level == "bwrap" else launcher.unshare
        if launcher.level != "none" and (tool is None or not os.access(tool, os.X_OK)):
            reason: str | None = f"{launcher.level} is not installed"
        else:
            limits = CodeLimits(timeout_s=10, max_timeout_s=10)
            result = _execute(launcher, "1 + 1", limits, 10.0)
            ok = result.exit_status == 0 and result.value == "2"
            detail = (result.stderr.strip().splitlines() or [result.signal or "no output"])[-1]
            reason = None if ok else f"{launcher.level} failed to start ({detail})"
        _probe_cache[key] = reason
        return reason


def sandbox_status(
    sandbox: SandboxChoice = "auto",
    *,
    bwrap_path: str | None = None,
    unshare_path: str | None = None,
) -> tuple[Isolation | None, list[str]]:
    """Return the isolation level a call would use and why better levels were skipped.

    Args:
        sandbox: ``auto`` for the best level that works, or one level to require.
        bwrap_path: The bubblewrap executable; None looks for ``bwrap`` on ``PATH``.
        unshare_path: The ``unshare`` executable; None looks on ``PATH``.

    Returns:
        ``(level, reasons)``: level is None when a required level does not work.
    """
    launchers = _launchers(sandbox, bwrap_path, unshare_path, site_packages=True)
    reasons: list[str] = []
    for launcher in launchers:
        reason = _probe(launcher)
        if reason is None:
            return launcher.level, reasons
        reasons.append(reason)
    return None, reasons


def _launchers(
    sandbox: SandboxChoice, bwrap_path: str | None, unshare_path: str | None, site_packages: bool
) -> list[_Launcher]:
    bwrap = bwrap_path or shutil.which("bwrap")
    unshare = unshare_path or shutil.which("unshare")
    levels = _LEVELS if sandbox == "auto" else (sandbox,)
    return [_Launcher(level, bwrap, unshare, site_packages) for level in levels]


# --- running ------------------------------------------------------------------------


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the process group; call it only before the leader is reaped.

    An unreaped leader keeps its pid, and so the group id, from being reused, so
    this cannot hit an unrelated group.
    """
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _has_exited(proc: subprocess.Popen) -> bool:
    """Whether the leader has exited, without reaping it (see :func:`_kill_group`)."""
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _execute(
    launcher: _Launcher, code: str, limits: CodeLimits, timeout_s: float
) -> CodeResult:
    """Run ``code`` once under ``launcher``; the caller has chosen a working level."""
    notes: list[str] = []
    uid = None
    if os.geteuid() == 0:
        runtime, _ = _runtime_paths(launcher.site_packages)
        if launcher.level == "bwrap" or _readable_by_others(runtime):
            uid = 1_000_000_000 + secrets.randbelow(1_000_000_000)
        else:
            notes.append(
                "the code runs as root (the Python runtime is not readable by an unprivileged "
                "uid outside bubblewrap), so the process limit is not enforced"
            )
    workdir = tempfile.mkdtemp(prefix="podium-code-")
    result_r, result_w = os.pipe()
    try:
        if uid is not None:
            os.chown(workdir, uid, uid)
        env = _environment(launcher.level, workdir)
        _, extra_paths = _runtime_paths(launcher.site_packages)
        config = {
            "result_fd": result_w,
            "uid": uid,
            "gid": uid,
            "fresh_user_namespace": launcher.level == "bwrap",
            "workdir": _SANDBOX_WORKDIR if launcher.level == "bwrap" else workdir,
            "paths": extra_paths,
            "max_value_chars": limits.max_value_chars,
            "limits": {
                "memory_bytes": limits.memory_mb * 1024 * 1024,
                "cpu_s": math.ceil(timeout_s),
                "file_bytes": limits.max_file_mb * 1024 * 1024,
                "processes": limits.max_processes,
            },
        }
        command = launcher.command(workdir, config, limits, env)
        started = time.monotonic()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(result_w,),
            cwd=workdir,
            env=env if launcher.level != "bwrap" else {"PATH": env["PATH"]},
            start_new_session=True,
        )
        os.close(result_w)
        result_w = -1
        try:
            result = _supervise(
                proc, result_r, code.encode("utf-8"), launcher, limits, timeout_s, started
            )
            result.notes[:0] = notes
            return result
        finally:
            _kill_group(proc)
            proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                with contextlib.suppress(OSError):
                    stream.close()
    finally:
        for fd in (result_r, result_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        shutil.rmtree(workdir, ignore_errors=True)


def _supervise(
    proc: subprocess.Popen,
    result_fd: int,
    stdin_data: bytes,
    launcher: _Launcher,
    limits: CodeLimits,
    timeout_s: float,
    started: float,
) -> CodeResult:
    """Feed stdin, read the pipes as they fill, and stop the process at a limit."""
    assert proc.stdin and proc.stdout and proc.stderr
    out = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    report = bytearray()
    kept = 0
    truncated = timed_out = False
    deadline = started + timeout_s
    exited_at: float | None = None
    pending = memoryview(stdin_data)
    sel = selectors.DefaultSelector()
    for fd in (*out, result_fd):
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    stdin_fd = proc.stdin.fileno()
    os.set_blocking(stdin_fd, False)
    sel.register(stdin_fd, selectors.EVENT_WRITE)
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                timed_out = True
                break
            if exited_at is None and _has_exited(proc):
                exited_at = now
            if exited_at is not None and now - exited_at > _DRAIN_AFTER_EXIT_S:
                break  # a leftover child holds the pipes (only possible in "none" mode)
            for key, _ in sel.select(timeout=min(deadline - now, 0.1)):
                fd = key.fd
                if fd == stdin_fd:
                    try:
                        written = os.write(fd, pending[:65536])
                    except BlockingIOError:
                        continue
                    except OSError:  # the runner is gone; its exit status tells why
                        written = len(pending)
                    pending = pending[written:]
                    if not pending:
                        sel.unregister(fd)
                        proc.stdin.close()
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(fd)
                    continue
                if fd == result_fd:
                    report += chunk[: limits.max_value_chars * 4 + 1024 - len(report)]
                    continue
                room = limits.max_output_bytes - kept
                out[fd] += chunk[: max(room, 0)]
                kept += min(len(chunk), max(room, 0))
                if len(chunk) > room:
                    truncated = True
                    break
            if truncated:
                break
    finally:
        sel.close()
    # Also after a normal exit: in the "none" mode a child may still hold the group.
    _kill_group(proc)
    returncode = proc.wait()
    duration = time.monotonic() - started
    result = CodeResult(
        isolation=launcher.level,
        stdout=out[proc.stdout.fileno()].decode("utf-8", errors="replace"),
        stderr=out[proc.stderr.fileno()].decode("utf-8", errors="replace"),
        timed_out=timed_out,
        output_truncated=truncated,
        duration_s=duration,
        timeout_s=timeout_s,
        limits=limits,
    )
    try:
        parsed = json.loads(report.decode("utf-8")) if report else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and not (timed_out or truncated):
        result.exit_status = parsed.get("status")
        result.value = parsed.get("value")
        if parsed.get("value_truncated"):
            result.notes.append(f"the value was cut to {limits.max_value_chars} characters")
    elif returncode < 0:
        result.signal = _signal_name(-returncode)
    elif returncode > 128 and launcher.level == "bwrap":
        # bwrap reports a child killed by signal N as exit status 128 + N.
        result.signal = _signal_name(returncode - 128)
    else:
        result.exit_status = returncode
    if timed_out or truncated:
        result.signal = result.signal or "SIGKILL"
    return result


def run_code(
    code: str,
    *,
    timeout_s: float | None = None,
    limits: CodeLimits | None = None,
    sandbox: SandboxChoice = "auto",
    bwrap_path: str | None = None,
    unshare_path: str | None = None,
    site_packages: bool = True,
) -> CodeResult:
    """Run Python code in a fresh sandboxed process and return what it produced.

    Args:
        code: Python source; a trailing expression's ``repr`` is reported.
        timeout_s: Wall-clock seconds; None uses ``limits.timeout_s``.
        limits: Memory, output, process and file caps; None uses the defaults.
        sandbox: ``auto`` (the best level that works), or one level to require.
        bwrap_path: The bubblewrap executable; None looks for ``bwrap`` on ``PATH``.
        unshare_path: The ``unshare`` executable; None looks on ``PATH``.
        site_packages: Make the current environment's installed packages importable
            (read-only) besides the standard library.

    Returns:
        A :class:`CodeResult`; ``render()`` formats it for a model.

    Raises:
        ToolInputError: The code is empty or too long, the timeout is out of range,
            or the required sandbox level does not work here.
    """
    limits = limits or CodeLimits()
    timeout = limits.timeout_s if timeout_s is None else timeout_s
    if not code or not code.strip():
        raise ToolInputError("the code is empty; give Python source such as 'print(2 + 2)'")
    if len(code) > _MAX_CODE_CHARS:
        raise ToolInputError(f"the code is longer than {_MAX_CODE_CHARS} characters")
    if not 0 < timeout <= limits.max_timeout_s:
        raise ToolInputError(
            f"timeout_s must be more than 0 and at most {limits.max_timeout_s:g} seconds, "
            f"got {timeout!r}"
        )
    skipped: list[str] = []
    for launcher in _launchers(sandbox, bwrap_path, unshare_path, site_packages):
        reason = _probe(launcher)
        if reason is not None:
            skipped.append(reason)
            continue
        result = _execute(launcher, code, limits, timeout)
        if skipped:
            result.notes.insert(0, "fell back because " + "; ".join(skipped))
        return result
    hint = "" if sandbox == "auto" else " or choose sandbox='auto'"
    raise ToolInputError(
        f"the {sandbox!r} sandbox is not available here: {'; '.join(skipped)}; "
        f"install bubblewrap (apt-get install bubblewrap){hint}"
    )


Timeout = Annotated[float, Field(gt=0)]


def make_code_tool(
    *,
    name: str = "run_python",
    timeout_s: float = 10.0,
    max_timeout_s: float = 60.0,
    memory_mb: int = 1024,
    max_output_bytes: int = 64_000,
    max_processes: int = 32,
    max_file_mb: int = 64,
    tmp_mb: int = 64,
    sandbox: SandboxChoice | None = None,
    bwrap_path: str | None = None,
    unshare_path: str | None = None,
    site_packages: bool = True,
) -> BaseTool:
    """Build a ``run_python`` tool with its own limits.

    Args:
        name: The tool's name.
        timeout_s: Wall-clock seconds a call gets when the model gives none.
        max_timeout_s: The most wall-clock seconds the model may ask for.
        memory_mb: Address-space cap per process, in MiB.
        max_output_bytes: Stdout plus stderr kept; past it the process is stopped.
        max_processes: Processes (threads included) the code may run at once.
        max_file_mb: Largest file the code may write, in MiB.
        tmp_mb: Size of the sandbox's in-memory ``/tmp``, in MiB.
        sandbox: ``auto``, ``bwrap``, ``unshare`` or ``none``; None reads the
            ``code_sandbox`` setting (``PODIUM_CODE_SANDBOX``, default ``auto``).
        bwrap_path: The bubblewrap executable; None looks for ``bwrap`` on ``PATH``.
        unshare_path: The ``unshare`` executable; None looks on ``PATH``.
        site_packages: Let the code import this environment's installed packages.

    Returns:
        A LangChain tool whose reply starts with the isolation level used.

    Raises:
        ConfigError: A limit is not positive or the sandbox choice is unknown.
    """
    limits = CodeLimits(
        timeout_s=timeout_s,
        max_timeout_s=max_timeout_s,
        memory_mb=memory_mb,
        max_output_bytes=max_output_bytes,
        max_processes=max_processes,
        max_file_mb=max_file_mb,
        tmp_mb=tmp_mb,
    )
    if sandbox is not None and sandbox not in ("auto", *_LEVELS):
        raise ConfigError(
            f"unknown sandbox {sandbox!r}; choose one of: auto, {', '.join(_LEVELS)}"
        )

    @podium_tool
    def run_python(code: str, timeout_s: Timeout | None = None) -> str:
        """Run Python code in a sandboxed process; return its output and last expression's value.

        Each call is a fresh process in an empty working directory: nothing is kept
        between calls. Print what you need or end with an expression; its value is
        shown as in a Python shell.

        Args:
            code: Python source, e.g. "import math; math.factorial(20)". The standard
                library (and installed packages such as numpy, when present) can be
                imported.
            timeout_s: Wall-clock seconds the run may take; omit for the default.
        """
        choice = sandbox or get_settings().code_sandbox
        result = run_code(
            code,
            timeout_s=timeout_s,
            limits=limits,
            sandbox=choice,
            bwrap_path=bwrap_path,
            unshare_path=unshare_path,
            site_packages=site_packages,
        )
        return result.render()

    run_python.name = name
    return run_python


run_python = make_code_tool()

register_tools([run_python])
