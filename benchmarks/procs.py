"""Child processes that never outlive the benchmark, bounded waits, and memory readings from /proc."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

# Starting, watching and stopping children (own session, parent-death signal, stopped by pid and group, all of them
# stopped at exit) lives in devtools/procs.py, shared with the integration suite.
from devtools.procs import ManagedProcess as Proc
from devtools.procs import free_port, wait_until  # noqa: F401 - re-exported for the benchmark's modules


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup():
    """Stop every child on Ctrl-C and on SIGTERM/SIGHUP too (normal exit: devtools.procs' atexit hook;
    SIGKILL: the parent-death signal)."""
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
