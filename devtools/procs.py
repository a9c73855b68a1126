"""Child processes that always go away: own process group, parent-death signal, atexit and explicit stop by pid."""

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)
_RUNNING: list["ManagedProcess"] = []
_PORTS_HANDED_OUT: set[int] = set()


def wait_until(
    predicate: Callable,
    *,
    timeout: float,
    interval: float = 0.1,
    message: str = "condition",
    ignore: tuple[type[BaseException], ...] = (),
):
    """Calls ``predicate`` until it returns something truthy and returns that; ``TimeoutError`` after ``timeout``.

    Exceptions of the types in ``ignore`` count as "not yet" (the last one is reported on timeout).
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
        except ignore as e:
            value, last_error = None, e
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"{message}: not reached within {timeout:g} s{detail}")
        time.sleep(min(interval, remaining))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now and was not handed out before in this process."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _PORTS_HANDED_OUT:
            _PORTS_HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port found on 127.0.0.1")


class ProcessExited(RuntimeError):
    """A managed process ended while it should be running."""


def start_on_free_port(
    start: Callable[[int], "ManagedProcess"],
    ready: Callable[[], bool],
    *,
    name: str,
    timeout: float,
    attempts: int = 3,
    ignore: tuple[type[BaseException], ...] = (),
) -> int:
    """Starts a server with ``start(port)`` until ``ready()``; picks another port if it lost the race for one."""
    for attempt in range(1, attempts + 1):
        port = free_port()
        process = start(port)
        try:
            wait_until(ready, timeout=timeout, message=f"{name} ready", ignore=ignore)
            return port
        except ProcessExited:
            process.stop()
            if attempt == attempts or "already in use" not in process.log_text().lower():
                raise
    raise AssertionError("unreachable")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _die_with_parent():
    """Runs in the child between fork and exec: SIGKILL it when the test process dies (even by SIGKILL)."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid``, found through /proc."""
    children = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # Format: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class ManagedProcess:
    """A child process in its own session, logging to a file, stopped by pid (then its group) and never left over."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        log_path: Path,
        env: dict | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        stop_timeout: float = 10.0,
        pipes: bool = False,
    ):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self.pipes = pipes
        self.popen: subprocess.Popen | None = None

    def start(self) -> "ManagedProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            kwargs = {
                "stdin": subprocess.PIPE if self.pipes else subprocess.DEVNULL,
                "stdout": subprocess.PIPE if self.pipes else log,
                "stderr": log,
                "env": self.env,
                "cwd": self.cwd,
                "start_new_session": True,
                "preexec_fn": _die_with_parent,
            }
            if self.user:
                kwargs.update(user=self.user, group=self.user, extra_groups=[])
            self.popen = subprocess.Popen(self.argv, **kwargs)
        _RUNNING.append(self)
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def ensure_alive(self):
        if not self.alive():
            code = self.popen.returncode if self.popen else None
            raise ProcessExited(
                f"{self.name} is not running (exit code {code}); end of {self.log_path}:\n{self.log_tail()}"
            )

    def send_stop_signal(self):
        if self.alive():
            try:
                os.kill(self.pid, self.stop_signal)
            except ProcessLookupError:
                pass

    def reap(self, timeout: float | None = None):
        """Waits up to ``timeout`` (default ``stop_timeout``) for the process to end, then SIGKILLs its group."""
        if self.popen is None:
            return
        try:
            self.popen.wait(timeout=self.stop_timeout if timeout is None else max(timeout, 0))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # the group outlives its leader: mop up children
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream:
                stream.close()
        if self in _RUNNING:
            _RUNNING.remove(self)

    def stop(self):
        """Stop signal to the process, then SIGKILL to its whole process group after ``stop_timeout``."""
        stop_together([self])


def stop_together(processes: list["ManagedProcess"]):
    """Signals all processes first, then reaps each: they shut down in parallel."""
    processes = [p for p in processes if p is not None and p.popen is not None]
    signalled_at = time.monotonic()
    for process in processes:
        process.send_stop_signal()
    for process in processes:
        process.reap(signalled_at + process.stop_timeout - time.monotonic())


def stop_all():
    """Stops every process started here that is still registered, newest first."""
    stop_together(list(reversed(_RUNNING)))


atexit.register(stop_all)
