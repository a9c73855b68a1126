"""Cost of the residual scan: how long the scan takes compared with the shred it checks.

    make bench-scan                                        # 2,000 and 20,000 orders
    .venv/bin/python benchmarks/scan.py --orders 2000      # one size

Per size: a migrated SQLite database (cached, as for ``make bench``), seeded with ``demo/seed.py`` (a finished,
offline event; with invoices and their PDFs for a tenth of the orders), then, in a child process with its own
pretix.cfg, an export of every shredder the event offers and its shred through the API (Django's test client,
eager mode: the shred runs inside the request). The shred task records on the job how long the scan took (the
collection of the values before the shredders ran plus the search after them: ``residual_seconds``).

Printed per size: shred wall time (without the scan), of which pretix's throttle sleeps (``slow_update`` and
``slow_delete`` sleep between batches on purpose), the scan time, and the ratio scan / shred - the goal is at most
20 % - also against the shred time without the sleeps, which is the stricter measure. Also the residual counts
before and after.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL = 0.20


def child(args) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pretix.settings")
    import django

    django.setup()
    from django.test import Client
    from django_scopes import scopes_disabled
    from pretix.base import shredder as pretix_shredder

    from demo.seed import seed_event
    from pretix_shredder_api.models import ShredderJob

    with scopes_disabled():
        t0 = time.monotonic()
        info = seed_event(
            "bench",
            f"scan-{args.orders}",
            orders=args.orders,
            with_invoices=max(args.orders // 10, 1),
            invoice_pdfs=True,
        )
        seeded = time.monotonic() - t0

    slept = [0.0]
    real_sleep = pretix_shredder.time.sleep

    def counting_sleep(seconds):
        slept[0] += seconds
        real_sleep(seconds)

    pretix_shredder.time.sleep = counting_sleep
    client = Client(HTTP_AUTHORIZATION=f"Token {info['token']}")
    base = f"/api/v1/organizers/{info['organizer']}/events/{info['event']}/shredders/"
    listed = [r["identifier"] for r in json.loads(client.get(base + "?page_size=100").content)["results"]]
    if args.builtin_only:  # what pretix's own shredders leave behind
        from pretix_shredder_api.shredders import COMPLETING

        listed = [i for i in listed if i not in {cls.identifier for cls in COMPLETING}]
    t0 = time.monotonic()
    resp = client.post(base + "export/", {"shredders": listed}, content_type="application/json")
    urls = json.loads(resp.content)
    exported = time.monotonic() - t0
    shred_path = urls["shred"].split("://", 1)[1].split("/", 1)[1]
    t0 = time.monotonic()
    resp = client.post("/" + shred_path, {}, content_type="application/json")
    shred_wall = time.monotonic() - t0
    status = json.loads(resp.content)["status"]
    final = client.get("/" + status.split("://", 1)[1].split("/", 1)[1])
    with scopes_disabled():
        job = ShredderJob.objects.get(public_id=urls["shred"].rstrip("/").split("/")[-2])
    scan = job.residual_seconds
    shred = shred_wall - scan
    return {
        "orders": args.orders,
        "seed_seconds": round(seeded, 1),
        "export_seconds": round(exported, 1),
        "shredders": listed,
        "status": final.status_code,
        "shred_seconds": round(shred, 2),
        "sleep_seconds": round(slept[0], 2),
        "scan_seconds": scan,
        "ratio": round(scan / shred, 4),
        "ratio_without_sleeps": round(scan / max(shred - slept[0], 1e-9), 4),
        "values_before": job.residual_values,
        "values_found": job.residual_found,
        "locations": job.residual_locations,
    }


def run_size(orders: int, work: Path, timeout: float, builtin_only: bool = False) -> dict:
    from benchmarks.run import run_in_fresh_copy

    args = ["--orders", str(orders)] + (["--builtin-only"] if builtin_only else [])
    return run_in_fresh_copy(__file__, f"scan-{orders}", args, work, timeout)


def table(results: list) -> str:
    lines = [
        f"{'orders':>8} {'shred s':>9} {'sleeps s':>9} {'scan s':>8} {'scan/shred':>11} {'w/o sleeps':>11} "
        f"{'values':>7} {'left':>5}  goal {GOAL:.0%}"
    ]
    for r in results:
        ok = "ok" if r["ratio"] <= GOAL else "MISSED"
        lines.append(
            f"{r['orders']:>8,} {r['shred_seconds']:>9.1f} {r['sleep_seconds']:>9.1f} {r['scan_seconds']:>8.2f} "
            f"{r['ratio']:>11.1%} {r['ratio_without_sleeps']:>11.1%} {r['values_before']:>7,} {r['values_found']:>5}"
            f"  {ok}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, action="append", help="event size (repeatable; default 2000, 20000)")
    parser.add_argument("--timeout", type=float, default=4 * 3600)
    parser.add_argument(
        "--builtin-only", action="store_true", help="shred with pretix's own shredders only (what they leave behind)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.orders = args.orders[0]
        Path(args.out).write_text(json.dumps(child(args), indent=2))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        for orders in args.orders or [2000, 20000]:
            print(
                f"[scan] {orders:,} orders: seeding, exporting, shredding (the shred sleeps on purpose)",
                file=sys.stderr,
            )
            results.append(run_size(orders, Path(tmp), args.timeout, args.builtin_only))
            print(json.dumps(results[-1], indent=2), file=sys.stderr)
    print(table(results))
    return 0 if all(r["ratio"] <= GOAL for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
