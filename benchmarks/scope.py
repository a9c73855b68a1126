"""Cost of a scope export: a scope of past dates inside a big event series, against pretix's export of the whole event.

    make bench-scope                                              # 100,000 orders, a scope of 10,000 (slow)
    .venv/bin/python benchmarks/scope.py --orders 20000 --scope 2000
    .venv/bin/python benchmarks/scope.py --orders 10000 --orders 20000 --scope 2000   # the same scope, two events

Per size: a migrated SQLite database (cached, as for ``make bench``), seeded with ``demo/seed.py`` (bulk inserts; a
finished event with e-mails, phones, attendee data, answers, invoice addresses, and real invoices with PDFs for one
order in 100), then turned into a live series: ``--dates`` dates, a tenth of them ended 40 days ago and holding the
scope's orders (every tenth order, ``--scope`` of them), the rest coming, with the other orders; a waiting list
entry per date. Then, in a child process with its own pretix.cfg (eager mode: no broker, tasks run in the process):

* **pretix**: pretix's own shredder export task (``pretix.base.services.shredder.export``: ``generate_files`` of
  each shredder, written into a zip) of the whole event, for the built-in shredders that write files;
* **scope**: this plugin's scope export of the same shredders through its API (``POST …/shredders/scopes/export/``
  with ``ended_days_ago``: resolving the scope, the job, the archive with the fast exporters bound to the scope).

Printed per size (and written to ``benchmarks/results/scope-<timestamp>.json``): both wall times, the ratio
scope / pretix (goal: at most 0.25), and the SQL statements of each (counted with ``connection.execute_wrapper``).
The scope's count must be the same at every event size when the scope is (run two sizes with the same ``--scope``).
"""

import argparse
import cProfile
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
GOAL = 0.25
# pretix's built-in shredders that write files (cachedtickets and payment_info write none)
SHREDDERS = [
    "order_emails", "phone_numbers", "attendee_info", "invoice_addresses", "question_answers", "waiting_list",
    "invoices",
]  # fmt: skip
ENDED_DAYS_AGO = 30
WARMUP_ORDERS = 20


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def make_series(event, scope_orders: int, dates: int) -> dict:
    """The seeded event as a live series: every tenth order (up to ``scope_orders``) on one of the past dates (a tenth
    of ``dates``), every other order on a coming date."""
    from django.db import transaction
    from django.utils.timezone import now
    from pretix.base.models import OrderPosition

    past_count = max(dates // 10, 1)
    with transaction.atomic():
        event.has_subevents = True
        event.live = True
        event.save(update_fields=["has_subevents", "live"])
        start = now() - timedelta(days=ENDED_DAYS_AGO + 10)
        past = [
            event.subevents.create(name=f"Past {d}", date_from=start, date_to=start + timedelta(hours=2), active=True)
            for d in range(past_count)
        ]
        coming = [
            event.subevents.create(name=f"Coming {d}", date_from=now() + timedelta(days=10 + d), active=True)
            for d in range(dates - past_count)
        ]
        ids = list(event.orders.order_by("pk").values_list("pk", flat=True))
        step = max(len(ids) // max(scope_orders, 1), 1)
        inside = ids[::step][:scope_orders]  # spread over the whole event
        chosen = set(inside)
        outside = [pk for pk in ids if pk not in chosen]
        for group, dates_of in ((inside, past), (outside, coming)):
            for n, se in enumerate(dates_of):
                part = group[n :: len(dates_of)]
                for k in range(0, len(part), 2000):
                    OrderPosition.all.filter(order_id__in=part[k : k + 2000]).update(subevent=se)
        item = event.items.first()
        for n, se in enumerate(past + coming):
            event.waitinglistentries.create(item=item, subevent=se, email=f"wait{n}@example.org", name_parts={})
    return {"scope_orders": len(inside), "outside_orders": len(outside), "dates": dates, "past_dates": past_count}


def _api(info) -> str:
    return f"/api/v1/organizers/{info['organizer']}/events/{info['event']}/shredders/"


def child(args) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pretix.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django_scopes import scopes_disabled
    from pretix.base.services.shredder import export as pretix_export

    from demo.seed import seed_event

    with scopes_disabled():
        t0 = time.monotonic()
        info = seed_event("bench", f"scope-{args.orders}", orders=args.orders, with_invoices=max(args.orders // 100, 1))
        from pretix.base.models import Event

        event = Event.objects.get(organizer__slug=info["organizer"], slug=info["event"])
        series = make_series(event, args.scope, args.dates)
        warm = seed_event("bench", "warmup", orders=WARMUP_ORDERS, with_invoices=1)
        warmup = Event.objects.get(organizer__slug=warm["organizer"], slug=warm["event"])
        make_series(warmup, WARMUP_ORDERS // 10, 10)
        seeded = time.monotonic() - t0
        # both first run on a small series, unmeasured: no first-call imports in the measurement
        pretix_export.apply(kwargs={"event": warmup.pk, "shredders": SHREDDERS})

    client = Client(HTTP_AUTHORIZATION=f"Token {info['token']}")
    body = {"shredders": SHREDDERS, "ended_days_ago": ENDED_DAYS_AGO}
    warm_resp = client.post(_api(warm) + "scopes/export/", body, content_type="application/json")
    if warm_resp.status_code != 202:
        raise RuntimeError(f"warm-up scope export: {warm_resp.status_code} {warm_resp.content[:500]}")

    with scopes_disabled():
        counter = _QueryCounter()
        t0 = time.monotonic()
        if not args.no_builtin:
            with connection.execute_wrapper(counter):
                pretix_export.apply(kwargs={"event": event.pk, "shredders": SHREDDERS})
        builtin_seconds = time.monotonic() - t0
        builtin_queries = counter.count

    base = _api(info)
    counter = _QueryCounter()
    profiler = cProfile.Profile() if args.profile else None
    t0 = time.monotonic()
    with connection.execute_wrapper(counter):
        if profiler:
            profiler.enable()
        resp = client.post(base + "scopes/export/", body, content_type="application/json")
        if profiler:
            profiler.disable()
    scope_seconds = time.monotonic() - t0
    if profiler:
        profiler.dump_stats(args.profile)
    if resp.status_code != 202:
        raise RuntimeError(f"scope export: {resp.status_code} {resp.content[:500]}")
    urls = json.loads(resp.content)
    detail = json.loads(client.get("/" + urls["scope"].split("://", 1)[1].split("/", 1)[1]).content)
    if detail["export"] != "succeeded" or detail["order_count"] != series["scope_orders"]:
        raise RuntimeError(f"the scope export did not cover the scope: {detail}")
    return {
        "orders": args.orders,
        **series,
        "seed_seconds": round(seeded, 1),
        "shredders": SHREDDERS,
        "builtin_seconds": round(builtin_seconds, 2),
        "builtin_queries": builtin_queries,
        "scope_seconds": round(scope_seconds, 2),
        "scope_queries": counter.count,
        "ratio": round(scope_seconds / max(builtin_seconds, 1e-9), 4),
    }


def run_size(orders: int, scope: int, dates: int, work: Path, timeout: float, profile=None, no_builtin=False) -> dict:
    from benchmarks.run import run_in_fresh_copy

    args = ["--orders", str(orders), "--scope", str(scope), "--dates", str(dates)]
    args += (["--profile", profile] if profile else []) + (["--no-builtin"] if no_builtin else [])
    return run_in_fresh_copy(__file__, f"scope-{orders}", args, work, timeout)


def table(results: list) -> str:
    lines = [
        f"{'orders':>8} {'scope':>7} {'pretix s':>9} {'scope s':>8} {'ratio':>7} {'pretix q':>9} {'scope q':>8}"
        f"  goal ≤ {GOAL}"
    ]
    for r in results:
        ok = "ok" if r["ratio"] <= GOAL else "MISSED"
        lines.append(
            f"{r['orders']:>8,} {r['scope_orders']:>7,} {r['builtin_seconds']:>9.1f} {r['scope_seconds']:>8.2f} "
            f"{r['ratio']:>7.3f} {r['builtin_queries']:>9,} {r['scope_queries']:>8,}  {ok}"
        )
    by_scope = {}
    for r in results:
        by_scope.setdefault(r["scope_orders"], set()).add(r["scope_queries"])
    for size, counts in sorted(by_scope.items()):
        if len([r for r in results if r["scope_orders"] == size]) > 1:
            same = "the same at every event size" if len(counts) == 1 else f"NOT the same: {sorted(counts)}"
            lines.append(f"scope of {size:,} orders: queries {same}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, action="append", help="event size (repeatable; default 100000)")
    parser.add_argument("--scope", type=int, default=10000, help="orders in the scope (default 10000, at most 1/10)")
    parser.add_argument("--dates", type=int, default=100, help="dates of the series, a tenth of them past")
    parser.add_argument("--timeout", type=float, default=4 * 3600)
    parser.add_argument("--profile", help="write a cProfile dump of the scope export to PROFILE-<orders>")
    parser.add_argument("--no-builtin", action="store_true", help="skip pretix's export (to profile the scope's)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.orders = args.orders[0]
        Path(args.out).write_text(json.dumps(child(args), indent=2))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scope-") as tmp:
        for orders in args.orders or [100000]:
            print(f"[scope] {orders:,} orders, a scope of {args.scope:,}: seeding, exporting", file=sys.stderr)
            profile = f"{args.profile}-{orders}" if args.profile else None
            results.append(run_size(orders, args.scope, args.dates, Path(tmp), args.timeout, profile, args.no_builtin))
            print(json.dumps(results[-1], indent=2), file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"scope-{datetime.now():%Y%m%d-%H%M%S}.json"
    meta = {"loadavg_end": " ".join(f"{x:.2f}" for x in os.getloadavg()), "cpus": os.cpu_count(), "db": "SQLite"}
    out.write_text(json.dumps({"meta": meta, "sizes": results}, indent=2))
    print(table(results))
    print(f"results: {out}", file=sys.stderr)
    return 0 if all(r["ratio"] <= GOAL for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
