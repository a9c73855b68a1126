"""Where the time of a profiled request goes: pretix's shredders, sleeping, compression, hashing, storage, the rest."""

import pstats

SLEEP = "<built-in method time.sleep>"
# Request plumbing that encloses everything (test client, middleware, DRF dispatch, Celery's eager apply, imports):
# left out of the "top cumulative" list when it covers more than half of the request, because it says nothing about
# where the time goes.
PLUMBING = (
    "/django/",
    "/rest_framework/",
    "/celery/",
    "/kombu/",
    "/django_scopes/",
    "/django_querytagger/",
    "/contextlib.py",
    "/pretix/api/",
    "/pretix/control/middleware.py",
    "/pretix/base/middleware.py",
    "/pretix/base/services/tasks.py",
    "/pretix/presale/",
    "/pretix/multidomain/",
    "/pretix/helpers/",
    "/sentry_sdk/",
    "/benchmarks/",
    "<frozen importlib",
    "importlib/__init__.py",
)


def _rows(stats: pstats.Stats):
    for (filename, line, func), (_cc, calls, own, cumulative, _callers) in stats.stats.items():
        yield filename, line, func, calls, own, cumulative


def _cumulative(stats, predicate) -> float:
    return sum(ct for filename, _line, func, _calls, _own, ct in _rows(stats) if predicate(filename, func))


def short_location(filename: str, line: int, func: str) -> str:
    if filename == "~":
        return func
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{func} ({filename}:{line})"


def top_entries(stats: pstats.Stats, wall: float, limit: int = 20) -> list[dict]:
    rows = sorted(_rows(stats), key=lambda r: r[5], reverse=True)
    entries = []
    for filename, line, func, calls, own, ct in rows:
        plumbing = (
            any(p in filename for p in PLUMBING) or filename == "~" and func.startswith("<built-in method builtins")
        )
        if ct >= 0.5 * wall and plumbing:
            continue
        entries.append(
            {
                "cumulative_s": round(ct, 3),
                "share": round(ct / wall, 3) if wall else None,
                "own_s": round(own, 3),
                "calls": calls,
                "where": short_location(filename, line, func),
            }
        )
        if len(entries) >= limit:
            break
    return entries


def summarize(stats: pstats.Stats, wall: float, shredder_func: str) -> dict:
    """Seconds (under the profiler) in pretix's shredders (``generate_files`` or ``shred_data``) and the rest."""
    shredders = _cumulative(stats, lambda f, fn: fn == shredder_func)
    parts = {
        "wall_s": wall,
        f"pretix_{shredder_func}_s": shredders,
        "of_which_sleep_s": _cumulative(stats, lambda f, fn: fn == SLEEP),
        "zip_writestr_s": _cumulative(stats, lambda f, fn: fn == "writestr" and f.endswith("zipfile.py")),
        "of_which_zlib_s": _cumulative(stats, lambda f, fn: f == "~" and "zlib.Compress" in fn),
        "sha256_s": _cumulative(stats, lambda f, fn: fn == "sha256_of"),
        "storage_save_s": _cumulative(stats, lambda f, fn: fn == "save" and f.endswith("db/models/fields/files.py")),
        "sql_total_s": _cumulative(stats, lambda f, fn: fn == "execute" and f.endswith("backends/sqlite3/base.py")),
        "task_end_gc_s": _cumulative(stats, lambda f, fn: fn == "_collect" and f.endswith("hooks/sitecustomize.py")),
        # this plugin's fast exporters (pretix_shredder_api/exporters/), which replace generate_files where they can
        "fast_exporters_s": _cumulative(
            stats, lambda f, fn: "pretix_shredder_api/exporters/" in f and fn.startswith("export_")
        ),
    }
    # what neither the shredders' exports nor the benchmark's garbage collection account for: our layer, plumbing
    parts["outside_shredders_s"] = wall - shredders - parts["fast_exporters_s"] - parts["task_end_gc_s"]
    parts["share_in_pretix_shredders"] = shredders / wall if wall else None
    parts["share_in_fast_exporters"] = parts["fast_exporters_s"] / wall if wall else None
    summary = {k: round(v, 4) if isinstance(v, float) else v for k, v in parts.items()}
    summary["top"] = top_entries(stats, wall)
    return summary
