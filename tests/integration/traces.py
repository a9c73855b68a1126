"""What ``slow_test_shredder`` (tests/testplugin) recorded about its runs: phase, state, pid, worker, task id."""

import json
from pathlib import Path

from devtools.procs import wait_until


class ShredderTrace:
    def __init__(self, trace_dir: Path, organizer: str, event: str):
        self.path = Path(trace_dir) / f"{organizer}__{event}.jsonl"

    def records(self, phase: str | None = None, state: str | None = None) -> list[dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = [json.loads(line) for line in lines if line.strip()]
        return [r for r in records if (phase is None or r["phase"] == phase) and (state is None or r["state"] == state)]

    def wait_for(self, phase: str, state: str = "started", *, count: int = 1, timeout: float = 30.0) -> dict:
        """Waits until ``count`` records of ``phase``/``state`` exist; returns the last of them."""

        def found():
            records = self.records(phase, state)
            return records[count - 1] if len(records) >= count else None

        return wait_until(found, timeout=timeout, interval=0.1, message=f"slow_test_shredder {phase} {state} #{count}")
