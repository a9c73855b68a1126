"""``slow_test_shredder``: a data shredder whose speed and failures the tests control per event.

See this package's README.rst for the event settings it reads.
"""

import json
import os
import signal
import time

from pretix.base.shredder import BaseDataShredder, ShredError

SETTING_PREFIX = "slow_test_shredder_"
TRACE_DIR_ENV = "SLOW_TEST_SHREDDER_TRACE_DIR"
ALLOW_DIE_ENV = "SLOW_TEST_SHREDDER_ALLOW_DIE"
MAX_SECONDS = 600.0
STEP_SECONDS = 0.1
MAX_STEPS = 100
MAX_EXPORT_BYTES = 512 * 1024 * 1024
FAIL_KINDS = ("shred_error", "internal")


def trace_file_name(organizer_slug: str, event_slug: str) -> str:
    return f"{organizer_slug}__{event_slug}.jsonl"


def _current_task():
    """(worker node name, task id) when running inside a Celery worker, else (None, None)."""
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a pretix dependency
        return None, None
    if current_task is None or current_task.request.called_directly or current_task.request.is_eager:
        return None, None
    return current_task.request.hostname, current_task.request.id


class SlowTestShredder(BaseDataShredder):
    identifier = "slow_test_shredder"
    verbose_name = "Slow test shredder"
    description = "Test only: takes as long as the tests ask for, fails or kills its process on request."

    @property
    def tax_relevant(self):
        return self._setting("tax_relevant", bool, False)

    def generate_files(self):
        self._trace("export", "started", 0)
        self._work("export")
        self._maybe_fail("export")
        summary = {
            "organizer": self.event.organizer.slug,
            "event": self.event.slug,
            "orders": self.event.orders.count(),
            "personal_data": self._setting("personal_data", str, None),
            "pid": os.getpid(),
        }
        files = [("slow_test_shredder/summary.json", "application/json", json.dumps(summary, indent=2))]
        padding = max(0, min(self._setting("export_bytes", int, 0), MAX_EXPORT_BYTES))
        if padding:
            files.append(("slow_test_shredder/padding.bin", "application/octet-stream", os.urandom(padding)))
        self._trace("export", "finished", 100)
        return files

    def shred_data(self, progress_callback=None):
        self._trace("shred", "started", 0)
        if progress_callback:
            progress_callback(0)
        self._work("shred", progress_callback)
        self._maybe_fail("shred")
        # The data this shredder removes: gone only once all its (slow) work is done.
        self.event.settings.delete(SETTING_PREFIX + "personal_data")
        count = self._setting("shred_count", int, 0)
        self.event.settings.set(SETTING_PREFIX + "shred_count", count + 1)
        if progress_callback:
            progress_callback(100)
        self._trace("shred", "finished", 100)

    def _setting(self, name, as_type, default):
        return self.event.settings.get(SETTING_PREFIX + name, as_type=as_type, default=default)

    def _work(self, phase, progress_callback=None):
        """Sleeps ``slow_test_shredder_seconds`` in small steps, reporting progress; may die half way."""
        seconds = max(0.0, min(self._setting("seconds", float, 0.0), MAX_SECONDS))
        die = self._setting(f"die_{phase}", bool, False)
        steps = max(1, min(MAX_STEPS, int(seconds / STEP_SECONDS)))
        for step in range(steps):
            if die and step == steps // 2:
                self._die(phase, step * 100 // steps)
            time.sleep(seconds / steps)
            percent = (step + 1) * 100 // steps
            if progress_callback:
                progress_callback(percent)
            self._trace(phase, "progress", percent)

    def _maybe_fail(self, phase):
        if not self._setting(f"fail_{phase}", bool, False):
            return
        kind = self._setting("fail_kind", str, "shred_error")
        self._trace(phase, "failed", 100, kind=kind)
        if kind == "internal":
            raise RuntimeError(f"slow_test_shredder: unexpected error in {phase} (on purpose)")
        raise ShredError(f"slow_test_shredder: {phase} failed on purpose")

    def _die(self, phase, percent):
        if os.environ.get(ALLOW_DIE_ENV) != "1":
            raise RuntimeError(f"slow_test_shredder: asked to kill its process, but {ALLOW_DIE_ENV} is not set")
        self._trace(phase, "dying", percent)
        os.kill(os.getpid(), signal.SIGKILL)

    def _trace(self, phase, state, percent, **extra):
        directory = os.environ.get(TRACE_DIR_ENV)
        if not directory:
            return
        worker, task_id = _current_task()
        record = {
            "phase": phase,
            "state": state,
            "percent": percent,
            "pid": os.getpid(),
            "worker": worker,
            "task_id": task_id,
            "time": time.time(),
            **extra,
        }
        path = os.path.join(directory, trace_file_name(self.event.organizer.slug, self.event.slug))
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
