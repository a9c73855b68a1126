"""The parts of the benchmark that run inside Django, in a child process configured by ``PRETIX_CONFIG_FILE``.

One process can set up Django only once, with one pretix.cfg; the benchmark compares two configurations (with and
without this plugin) on several databases, so ``run.py`` starts this script once per step::

    seed      seed an event with demo/seed.py
    bigfile   replace the file of an export with N MB of random bytes (and its job's SHA-256, for ours)
    inproc-export, inproc-shred
              export (shred) through Django's test client under cProfile and count the SQL queries per poll;
              separate processes, so that the export's garbage does not land on the shred

Each command writes its result as JSON to ``--out``.
"""

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import profiles  # noqa: E402

API = "/api/v1/organizers/{organizer}/events/{event}/shredders/"


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pretix.settings")
    import django

    django.setup()


# --- seed -----------------------------------------------------------------------------------------------------------


def cmd_seed(args) -> dict:
    from demo.seed import seed_event

    return seed_event(
        args.organizer,
        args.event,
        orders=args.orders,
        with_invoices=0,
        invoice_pdfs=False,
        random_seed=args.random_seed,
    )


# --- bigfile --------------------------------------------------------------------------------------------------------


def _ids_of(url: str) -> tuple[str, str]:
    parts = urlsplit(url).path.rstrip("/").split("/")
    return parts[-2], parts[-1]


def _write_random(path: str, megabytes: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(megabytes):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


def cmd_bigfile(args) -> dict:
    from pretix.base.models import CachedFile

    asyncid, cfid = _ids_of(args.url)
    job = None
    if args.impl == "ours":
        from pretix_shredder_api.models import ShredderJob

        job = ShredderJob.objects.select_related("file").get(public_id=asyncid)
        cf = job.file
    else:
        cf = CachedFile.objects.get(id=cfid)
    sha = _write_random(cf.file.path, args.mb)
    if job is not None:
        ShredderJob.objects.filter(pk=job.pk).update(file_sha256=sha)
    return {"path": cf.file.path, "bytes": args.mb * 1024 * 1024, "sha256": sha}


# --- inproc ---------------------------------------------------------------------------------------------------------


def _queries_of(client, path: str) -> list:
    """[number of SQL queries, status code] of one GET, the streamed body included."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
        if getattr(response, "streaming", False):
            for _chunk in response.streaming_content:
                pass
    return [len(ctx.captured_queries), response.status_code]


def _profiled(call, path: Path):
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    try:
        result = call()
    finally:
        profiler.disable()
    seconds = time.perf_counter() - started
    profiler.dump_stats(str(path))
    return result, seconds, pstats.Stats(profiler)


@contextmanager
def _job_state(download_path: str, **fields):
    """Give our job, for a moment, the state a poll sees while the work runs. (Eager mode has no such moment: export
    and shred finish inside the POST.)"""
    from pretix_shredder_api.models import ShredderJob

    row = ShredderJob.objects.filter(public_id=_ids_of(download_path)[0])
    saved = row.values(*fields).get()
    row.update(**fields)
    try:
        yield
    finally:
        row.update(**saved)


def _running_polls(client, impl: str, download_path: str, status_path: str) -> dict:
    from django.utils.timezone import now

    if impl != "ours":
        return {}
    polls = {}
    with _job_state(download_path, export_state="running", export_heartbeat=now()):
        polls["download_409"] = _queries_of(client, download_path)
    with _job_state(download_path, shred_state="running", shred_heartbeat=now()):
        polls["status_409"] = _queries_of(client, status_path)
    return polls


def _post(client, path: str, body=None):
    response = client.post(path, body or {}, content_type="application/json")
    if response.status_code != 202:
        raise RuntimeError(f"POST {path} answered {response.status_code}: {response.content[:500]!r}")
    return {key: urlsplit(url).path for key, url in response.json().items()}


def _warm_up(client, args) -> None:
    """Export, download and shred a small event first, so that no first-request imports are measured."""
    if not args.warmup_event:
        return
    base = API.format(organizer=args.organizer, event=args.warmup_event)
    client.get(base)
    urls = _post(client, base + "export/", {"shredders": args.shredders.split(",")})
    _queries_of(client, urls["download"])
    _post(client, urls["shred"])


def _setup(args):
    from django.test import Client

    client = Client(headers={"authorization": f"Token {args.token}"})
    outdir = Path(args.profile_dir)
    outdir.mkdir(parents=True, exist_ok=True)
    _warm_up(client, args)
    return client, outdir / f"{args.impl}-{args.orders}"


class _QueryCounter:
    """Counts the SQL statements run through the connection (CaptureQueriesContext keeps only the last 9,000)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def cmd_inproc_export(args) -> dict:
    from django.db import connection

    client, prefix = _setup(args)
    base = API.format(organizer=args.organizer, event=args.event)
    body = {"shredders": args.shredders.split(",")}
    path = Path(f"{prefix}-export.prof")
    counter = _QueryCounter()
    with connection.execute_wrapper(counter):
        urls, seconds, stats = _profiled(lambda: _post(client, base + "export/", body), path)
    status = urls["shred"].replace("/shred/", "/status/")
    polls = {"download_200": _queries_of(client, urls["download"])}
    polls.update(_running_polls(client, args.impl, urls["download"], status))
    summary = profiles.summarize(stats, seconds, "generate_files")
    summary["queries"] = counter.count
    return {"urls": urls, "polls": polls, "profile": {"export": summary}, "files": [str(path)]}


def cmd_inproc_shred(args) -> dict:
    client, prefix = _setup(args)
    path = Path(f"{prefix}-shred.prof")
    urls, seconds, stats = _profiled(lambda: _post(client, args.shred_path), path)
    polls = {"status_final": _queries_of(client, urls["status"])}
    summary = profiles.summarize(stats, seconds, "shred_data")
    return {"polls": polls, "profile": {"shred": summary}, "files": [str(path)]}


# --- command line ---------------------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed")
    seed.add_argument("--organizer", required=True)
    seed.add_argument("--event", required=True)
    seed.add_argument("--orders", type=int, required=True)
    seed.add_argument("--random-seed", type=int, default=1)
    big = sub.add_parser("bigfile")
    big.add_argument("--impl", choices=("builtin", "ours"), required=True)
    big.add_argument("--url", required=True, help="the download URL of a finished export")
    big.add_argument("--mb", type=int, default=100)
    export = sub.add_parser("inproc-export")
    shred = sub.add_parser("inproc-shred")
    shred.add_argument("--shred-path", required=True, help="the path of the shred URL inproc-export returned")
    for p in (export, shred):
        p.add_argument("--impl", choices=("builtin", "ours"), required=True)
        p.add_argument("--organizer", required=True)
        p.add_argument("--event", required=True)
        p.add_argument("--orders", type=int, required=True)
        p.add_argument("--token", required=True)
        p.add_argument("--shredders", required=True, help="comma-separated identifiers")
        p.add_argument("--profile-dir", required=True)
        p.add_argument("--warmup-event", default="", help="export and shred this event first, unmeasured")
    for p in (seed, big, export, shred):
        p.add_argument("--out", required=True, help="write the result as JSON here")
    return parser.parse_args(argv)


COMMANDS = {
    "seed": cmd_seed,
    "bigfile": cmd_bigfile,
    "inproc-export": cmd_inproc_export,
    "inproc-shred": cmd_inproc_shred,
}


def main(argv=None):
    args = parse_args(argv)
    setup_django()
    if args.command.startswith("inproc"):  # requests set up their scopes themselves, as in production
        result = COMMANDS[args.command](args)
    else:
        from django_scopes import scopes_disabled

        with scopes_disabled():
            result = COMMANDS[args.command](args)
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
