"""Child processes that never outlive the benchmark, bounded waits, and memory readings from /proc."""

import atexit
import ctypes
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)
_RUNNING: list["Proc"] = []


def wait_until(predicate: Callable, *, timeout: float, interval: float = 0.2, message: str = "condition"):
    """Call ``predicate`` until it returns something truthy and return that; ``TimeoutError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{message}: not reached within {timeout:g} s")
        time.sleep(min(interval, remaining))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """Runs in the child before exec: the kernel sends it SIGKILL if the benchmark dies, even by SIGKILL."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Proc:
    """A child in its own session logging to a file; stopped by its pid (SIGTERM, then SIGKILL to its group)."""

    def __init__(self, name: str, argv: list, *, log_path: Path, env: dict | None = None, cwd: Path | None = None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Proc":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        _RUNNING.append(self)
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def ensure_alive(self):
        if not self.alive():
            raise RuntimeError(
                f"{self.name} exited ({self.popen.returncode}); end of {self.log_path}:\n{self.log_tail()}"
            )

    def stop(self, timeout: float = 10.0):
        if self.popen is None:
            return
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # its own session: the group id is its pid
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self in _RUNNING:
            _RUNNING.remove(self)


def stop_all():
    for proc in reversed(list(_RUNNING)):
        proc.stop()


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup():
    """Stop every child on normal exit, on Ctrl-C and on SIGTERM (SIGKILL is covered by the parent-death signal)."""
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def run_checked(argv: list, *, env: dict, timeout: float, log_path: Path, cwd: Path | None = None):
    """Run a helper to completion within ``timeout``; on failure raise with the end of its log."""
    proc = Proc(Path(log_path).stem, argv, log_path=log_path, env=env, cwd=cwd).start()
    try:
        proc.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"{proc.name} did not finish within {timeout:g} s; see {log_path}") from None
    finally:
        proc.stop()
    if proc.popen.returncode != 0:
        raise RuntimeError(f"{proc.name} failed ({proc.popen.returncode}); end of {log_path}:\n{proc.log_tail()}")


# --- memory ---------------------------------------------------------------------------------------------------------


def memory_kb(pid: int) -> dict:
    """VmRSS (now) and VmHWM (peak since start or since the last ``reset_peak``) of ``pid`` in kB."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def task_gc_seconds(since: float) -> dict:
    """Seconds of the garbage collections ``hooks/sitecustomize.py`` ran at the end of tasks since ``since``, per pid
    (empty without the hook)."""
    path = os.environ.get("BENCH_TASK_GC_LOG")
    if not path or not os.path.exists(path):
        return {}
    seconds: dict = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if entry["at"] >= since:
                seconds[entry["pid"]] = round(seconds.get(entry["pid"], 0) + entry["seconds"], 4)
    return seconds


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` value 5); False where the kernel does not allow it."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakMeter:
    """Peak RSS and CPU time of some processes during a ``with`` block.

    The peak is VmHWM after ``reset_peak`` (exact), or sampled VmRSS where the kernel does not allow the reset. CPU
    time is much less disturbed than wall time by other load on the machine.
    """

    def __init__(self, pids: dict, interval: float = 0.02):
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.interval = interval
        self.before: dict = {}
        self.peak: dict = {}
        self.exact = True
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        self.started_at = time.time()
        self.exact = all(reset_peak(pid) for pid in self.pids.values())
        self.before = {name: memory_kb(pid)["VmRSS"] for name, pid in self.pids.items()}
        self.cpu_before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.peak = dict(self.before)
        if not self.exact:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(self.interval):
            self._take("VmRSS")

    def _take(self, key: str):
        for name, pid in self.pids.items():
            try:
                self.peak[name] = max(self.peak[name], memory_kb(pid)[key])
            except (OSError, KeyError):
                pass

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._take("VmHWM" if self.exact else "VmRSS")
        self.after, self.cpu = {}, {}
        for name, pid in self.pids.items():
            try:
                self.after[name] = memory_kb(pid)["VmRSS"]
                self.cpu[name] = round(cpu_seconds(pid) - self.cpu_before[name], 3)
            except OSError:
                self.after[name] = self.cpu[name] = None
        return False

    def result(self) -> dict:
        gc_seconds = task_gc_seconds(self.started_at)
        return {
            name: {
                "before_kb": self.before[name],
                "peak_kb": self.peak[name],
                "after_kb": self.after.get(name),
                "increase_kb": self.peak[name] - self.before[name],
                "cpu_s": self.cpu.get(name),
                "task_gc_s": gc_seconds.get(pid),
            }
            for name, pid in self.pids.items()
        }
