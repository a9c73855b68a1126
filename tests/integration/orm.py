"""Client side of ``orm_server.py``: Django ORM work in one long-lived pretix subprocess (startup paid once)."""

import json
import os
import select
import sys
import time
from pathlib import Path

from devtools.procs import ManagedProcess

SERVER_SCRIPT = Path(__file__).with_name("orm_server.py")


class OrmError(RuntimeError):
    pass


class OrmClient:
    def __init__(self, *, env: dict, cwd: Path, log_path: Path, timeout: float = 60.0):
        self.timeout = timeout
        self._buffer = b""
        self.process = ManagedProcess(
            "orm", [sys.executable, SERVER_SCRIPT], log_path=log_path, env=env, cwd=cwd, pipes=True, stop_timeout=5
        )

    def start(self) -> "OrmClient":
        self.process.start()
        return self

    def wait_ready(self, timeout: float = 120.0):
        self._answer(timeout)

    def stop(self):
        self.process.stop()

    def call(self, function: str, /, **kwargs):
        """Calls ``orm_functions.<function>(**kwargs)`` in the subprocess and returns its result."""
        return self._request({"function": function, "kwargs": kwargs})

    def run(self, code: str, /, **kwargs):
        """Runs ``code`` (which sees ``kwargs`` and may set ``result``) in the subprocess; returns ``result``."""
        return self._request({"code": code, "kwargs": kwargs})

    def _request(self, request: dict):
        self.process.ensure_alive()
        self.process.popen.stdin.write((json.dumps(request) + "\n").encode())
        self.process.popen.stdin.flush()
        return self._answer(self.timeout)

    def _answer(self, timeout: float):
        line = self._read_line(timeout)
        answer = json.loads(line)
        if not answer["ok"]:
            raise OrmError(answer["error"])
        return answer["result"]

    def _read_line(self, timeout: float) -> bytes:
        fd = self.process.popen.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"ORM subprocess gave no answer within {timeout:g} s; log:\n{self.process.log_tail()}"
                )
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise OrmError(f"ORM subprocess exited; log:\n{self.process.log_tail()}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line
