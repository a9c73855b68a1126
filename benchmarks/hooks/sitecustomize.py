"""Benchmark hook, loaded by every Python process the benchmark starts (``PYTHONPATH=benchmarks/hooks``).

With ``BENCH_TASK_GC_LOG`` set, every Celery task ends with a full garbage collection, and its duration is appended
to that file as a JSON line ``{"pid", "task", "seconds", "collected", "at"}``.

Why: pretix's question-answer shredder leaves its exported data in reference cycles (a DRF serializer keeps the data
it produced and is bound to child fields that point back at it) that only Python's cyclic collector frees - about
750 MB and 2.8 million objects at 20,000 orders, several seconds to collect. Without the hook, whether the collector's
threshold is crossed inside the measured export or in some later request depends on a few allocations more or less:
inside the export for one implementation, after the measurement for the other. With every task ending in a full
collection, the garbage of an export is always collected within that export (by the collector's own threshold or,
at the latest, here), the same way in both implementations. ``run.py --no-task-gc`` measures without the hook.
"""

import os

_LOG = os.environ.get("BENCH_TASK_GC_LOG")

if _LOG:
    import gc
    import json
    import time

    from celery.signals import task_postrun

    def _collect(sender=None, **kwargs):
        started = time.perf_counter()
        collected = gc.collect()
        entry = {
            "pid": os.getpid(),
            "task": getattr(sender, "name", str(sender)),
            "seconds": round(time.perf_counter() - started, 4),
            "collected": collected,
            "at": time.time(),
        }
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    task_postrun.connect(_collect, weak=False, dispatch_uid="bench_task_gc")
