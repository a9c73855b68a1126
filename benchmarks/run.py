"""Benchmark: pretix's built-in shredder API against pretix-shredder-api, same machine, same run, identical data.

    .venv/bin/python benchmarks/run.py                 # 2,000 and 20,000 orders, 3 rounds (about 25 minutes)
    .venv/bin/python benchmarks/run.py --quick         # 200 and 2,000 orders, a few minutes
    .venv/bin/python benchmarks/run.py --orders 5000 --shredders order_emails,question_answers --celery

Per size, one SQLite database is migrated (cached between runs), seeded with demo/seed.py (plus a 20-order
"warmup" event), then copied for every measurement. Per round, two pretix web servers
(``python -m pretix runserver --noreload``) run one after the other, in alternating order: ``ours`` with this plugin,
``builtin`` with ``[pretix] plugins_exclude = pretix_shredder_api`` so that pretix's own routes answer. Each exports
and downloads, is restarted, and shreds (see benchmarks/flow.py why); every fresh server first runs the whole flow
on the warm-up event, unmeasured. Without ``--celery`` there is no broker: tasks run eagerly inside the request, as
in the built-in's own measurements. Then, per implementation, child processes run the same export and shred through
Django's test client under cProfile and count the SQL queries of each poll. The table goes to stdout, the JSON and
the profiles to ``benchmarks/results/``. Every child process is stopped by its pid on exit, error or Ctrl-C.
See benchmarks/README.md for what is measured and how.
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import flow, report  # noqa: E402
from benchmarks.instance import IMPLEMENTATIONS, Celery, Instance, copy_data, env_for, write_config  # noqa: E402
from benchmarks.procs import Proc, free_port, install_cleanup, memory_kb, run_checked, wait_until  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CACHE = RESULTS / ".cache"
DJANGO_SIDE = ROOT / "benchmarks" / "django_side.py"
ORGANIZER = "bench"
DEFAULT_SHREDDERS = "question_answers,phone_numbers,invoice_addresses"
BUILTIN_GONE = "May have succeeded or timed out"
WARMUP_EVENT = "warmup"
WARMUP_ORDERS = 20


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- preparing databases --------------------------------------------------------------------------------------------


def _schema_key() -> str:
    """Changes whenever a migration could: pretix's version, the plugins installed, this plugin's migrations."""
    digest = hashlib.sha256()
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: d.metadata["Name"] or ""):
        if dist.metadata["Name"] in ("pretix",) or dist.entry_points.select(group="pretix.plugin"):
            digest.update(f"{dist.metadata['Name']}=={dist.version};".encode())
    for path in sorted((ROOT / "pretix_shredder_api" / "migrations").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def migrated_base(work: Path, opts) -> Path:
    """A data dir with a migrated, empty database (the migration takes minutes; the result is cached)."""
    root = work / "base"
    (root / "data").mkdir(parents=True, exist_ok=True)
    config = write_config(root, "ours")
    cached = CACHE / f"migrated-{_schema_key()}.sqlite3"
    if cached.exists():
        log(f"using the migrated database cached in {cached}")
        shutil.copy(cached, root / "data" / "db.sqlite3")
        return root / "data"
    log("migrating a fresh database (cached afterwards)")
    argv = [sys.executable, "-m", "pretix", "migrate", "--noinput", "-v0"]
    run_checked(argv, env=env_for(config, os.environ), timeout=opts.timeout, log_path=root / "migrate.log", cwd=root)
    CACHE.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "data" / "db.sqlite3", cached)
    return root / "data"


def run_in_fresh_copy(script: str, name: str, child_args: list, work: Path, timeout: float) -> dict:
    """Run ``script --child <child_args> --out result.json`` in its own pretix (a copy of the migrated, empty
    database under ``work/<name>``) and return the result it writes: the one way the scan, scope and person
    benchmarks measure in a process of their own."""

    class Opts:
        pass

    opts = Opts()
    opts.timeout = timeout
    base = migrated_base(work, opts)
    root = work / name
    shutil.copytree(base, root / "data")
    config = write_config(root, "ours")
    out = root / "result.json"
    argv = [sys.executable, str(Path(script).resolve()), "--child", *child_args, "--out", str(out)]
    run_checked(argv, env=env_for(config, os.environ), timeout=timeout, log_path=root / "child.log", cwd=ROOT)
    return json.loads(out.read_text())


def django_side(command: list, config: Path, out: Path, timeout: float) -> dict:
    argv = [sys.executable, str(DJANGO_SIDE), *command, "--out", str(out)]
    run_checked(argv, env=env_for(config, os.environ), timeout=timeout, log_path=out.with_suffix(".log"), cwd=ROOT)
    return json.loads(out.read_text())


def seeded_template(base: Path, size_dir: Path, orders: int, opts) -> tuple[Path, dict]:
    root = size_dir / "template"
    copy_data(base, root)
    config = write_config(root, "ours")
    event = f"bench-{orders}"
    log(f"seeding {orders:,} orders")
    command = ["seed", "--organizer", ORGANIZER, "--event", event, "--orders", str(orders)]
    info = django_side(command, config, size_dir / "seed.json", opts.timeout)
    log(f"seeded in {info['seconds']} s: {info['positions']:,} positions, {info['answers']:,} answers")
    command = ["seed", "--organizer", ORGANIZER, "--event", WARMUP_EVENT, "--orders", str(WARMUP_ORDERS)]
    warm = django_side(command, config, size_dir / "seed-warmup.json", opts.timeout)
    if warm["token"] != info["token"]:
        raise RuntimeError("the warm-up event should share the demo team's token")
    return root / "data", info


# --- one implementation over HTTP -----------------------------------------------------------------------------------


def _check_implementation(target: flow.Target, impl: str) -> None:
    """Make sure the intended implementation answers: the two say different things about an unknown status id."""
    url = f"{target.api}status/{uuid.uuid4()}/{uuid.uuid4()}/"
    response = target.session().get(url, timeout=60)
    builtin = response.status_code == 410 and response.json().get("message") == BUILTIN_GONE
    if builtin != (impl == "builtin"):
        raise RuntimeError(f"expected the {impl} implementation, got {response.status_code} {response.text[:200]}")


def _warm_up(target: flow.Target, opts) -> None:
    """Export, download and shred a small event first, so that no first-request imports are measured."""
    if opts.warmup:
        flow.full_cycle(replace(target, event=WARMUP_EVENT), opts.shredders, opts)


def _big_download(inst: Instance, target: flow.Target, size_dir: Path, opts) -> dict:
    """A second export whose file is replaced by ``--big-mb`` MB of random bytes, then downloaded over HTTP."""
    session = target.session()
    urls = flow.start_export(session, target, opts.shredders, opts.timeout)
    flow.wait_export_ready(session, urls["download"], opts)
    out = size_dir / f"bigfile-{inst.impl}.json"
    command = ["bigfile", "--impl", inst.impl, "--url", urls["download"], "--mb", str(opts.big_mb)]
    made = django_side(command, inst.config, out, opts.timeout)
    result = flow.big_download(target, urls["download"], {"web": inst.web.pid}, opts)
    result["verified"] = result["sha256"] == made["sha256"] and result["bytes"] == made["bytes"]
    if not result["verified"]:
        raise RuntimeError(f"the {opts.big_mb} MB download does not match the file: {result} vs {made}")
    return result


def http_run(impl: str, round_no: int, template: Path, size_dir: Path, seed: dict, opts, redis_port) -> dict:
    root = size_dir / f"{impl}-r{round_no}"
    copy_data(template, root)
    celery = Celery(redis_port, 0) if redis_port else None
    if celery:
        _flush_redis(redis_port)
    inst = Instance(root, impl, os.environ, celery)
    target = flow.Target(inst.base_url, seed["organizer"], seed["event"], seed["token"], inst.db_path)
    try:
        log(f"{impl}: starting the web server{' and a Celery worker' if celery else ''} (round {round_no + 1})")
        inst.start(target.api.replace(inst.base_url, ""), {"Authorization": f"Token {seed['token']}"}, opts.timeout)
        _check_implementation(target, impl)
        _warm_up(target, opts)
        log(f"{impl}: export → download")
        result = flow.export_and_download(target, opts.shredders, inst.pids(), opts)
        if not opts.same_server:
            log(f"{impl}: restarting the server{' and worker' if celery else ''}")
            inst.restart()
            _warm_up(target, opts)
        log(f"{impl}: shred → status")
        result.update(flow.shred_and_status(target, result["urls"]["shred"], inst.pids(), opts))
        log(f"{impl}: export {result['export']['wall_s']} s, shred {result['shred']['wall_s']} s")
        if round_no == 0 and opts.big_mb:
            log(f"{impl}: {opts.big_mb} MB download")
            result["big_download"] = _big_download(inst, target, size_dir, opts)
        result["web_end_kb"] = memory_kb(inst.web.pid)
        return result
    finally:
        inst.stop()
        if not opts.keep:
            shutil.rmtree(root, ignore_errors=True)


def _flush_redis(port: int) -> None:
    import redis

    redis.Redis(host="127.0.0.1", port=port).flushall()


# --- one implementation in-process ----------------------------------------------------------------------------------


def inproc_run(impl: str, template: Path, size_dir: Path, seed: dict, orders: int, opts) -> dict:
    """Export in one child process, shred in another (both warmed up first), on a fresh copy of the data."""
    root = size_dir / f"inproc-{impl}"
    copy_data(template, root)
    config = write_config(root, impl)
    log(f"{impl}: in-process export and shred under cProfile, queries per poll")
    common = ["--impl", impl, "--organizer", seed["organizer"], "--event", seed["event"], "--orders", str(orders)]
    common += ["--token", seed["token"], "--shredders", ",".join(opts.shredders)]
    common += ["--profile-dir", str(opts.profile_dir)]
    if opts.warmup:
        common += ["--warmup-event", WARMUP_EVENT]
    try:
        exported = django_side(["inproc-export", *common], config, root / "export.json", opts.timeout * 3)
        command = ["inproc-shred", *common, "--shred-path", exported["urls"]["shred"]]
        shredded = django_side(command, config, root / "shred.json", opts.timeout * 3)
    finally:
        if not opts.keep:
            shutil.rmtree(root / "data", ignore_errors=True)
    return {
        "polls": {**exported["polls"], **shredded["polls"]},
        "profile": {**exported["profile"], **shredded["profile"]},
        "files": exported["files"] + shredded["files"],
    }


# --- a size, and the whole run --------------------------------------------------------------------------------------


def run_size(orders: int, base: Path, work: Path, opts, redis_port, result: dict, checkpoint=lambda: None) -> dict:
    """Fills ``result`` in place; ``checkpoint()`` after every measurement, so that an interrupted run keeps them."""
    size_dir = work / f"n{orders}"
    size_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    template, seed = seeded_template(base, size_dir, orders, opts)
    result.update({"orders": orders, "seed": seed, "http": {impl: [] for impl in IMPLEMENTATIONS}, "inproc": {}})
    for round_no in range(opts.rounds):
        order = IMPLEMENTATIONS if round_no % 2 == 0 else tuple(reversed(IMPLEMENTATIONS))
        for impl in order:
            result["http"][impl].append(http_run(impl, round_no, template, size_dir, seed, opts, redis_port))
            checkpoint()
    if not opts.no_profile:
        for impl in IMPLEMENTATIONS:
            if impl == "builtin" and opts.profile_builtin_max and orders > opts.profile_builtin_max:
                log(f"builtin: no in-process run above {opts.profile_builtin_max:,} orders (--profile-builtin-max)")
                continue
            result["inproc"][impl] = inproc_run(impl, template, size_dir, seed, orders, opts)
            checkpoint()
    result["seconds"] = round(time.monotonic() - started, 1)
    if not opts.keep:
        shutil.rmtree(size_dir / "template", ignore_errors=True)
    return result


def start_redis(work: Path) -> tuple[Proc, int]:
    server = shutil.which("redis-server")
    if not server:
        raise SystemExit("--celery needs redis-server (Debian package redis-server)")
    port = free_port()
    argv = [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    proc = Proc("redis", argv, log_path=work / "redis.log", cwd=work).start()
    wait_until(lambda: proc.ensure_alive() or "Ready to accept" in proc.log_tail(50), timeout=60, message="redis")
    return proc, port


def meta(opts) -> dict:
    return {
        "started": datetime.now().isoformat(timespec="seconds"),
        "mode": "Celery worker (Redis broker)" if opts.celery else "eager (no broker, tasks run inside the request)",
        "orders": opts.orders,
        "shredders": ",".join(opts.shredders),
        "rounds": opts.rounds,
        "warmup": f"export+shred of a {WARMUP_ORDERS}-order event per server/process" if opts.warmup else "none",
        "servers": "one for export+download, a fresh one for shred+status" if not opts.same_server else "one",
        "pretix": importlib.metadata.version("pretix"),
        "plugin": importlib.metadata.version("pretix-shredder-api"),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "database": "SQLite",
        "task_gc": "every task ends with gc.collect() (benchmarks/hooks), in every process" if opts.task_gc else "off",
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, nargs="+", default=[2000, 20000], help="event sizes (default 2000 20000)")
    parser.add_argument("--quick", action="store_true", help="200 and 2,000 orders")
    parser.add_argument(
        "--shredders",
        default=DEFAULT_SHREDDERS,
        help=f"comma-separated shredders for both implementations (default {DEFAULT_SHREDDERS}); order_emails and "
        "attendee_info sleep 2 s per 100 order positions when shredding",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="HTTP runs per implementation and size, alternating order (default 3)"
    )
    parser.add_argument("--celery", action="store_true", help="Redis broker and a Celery worker per instance")
    parser.add_argument("--big-mb", type=int, default=100, help="size of the large-download check (0: skip)")
    parser.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help=f"skip the unmeasured export and shred of a {WARMUP_ORDERS}-order event every server (and profiled "
        "process) does before measuring",
    )
    parser.add_argument(
        "--same-server",
        action="store_true",
        help="shred on the server that exported (default: a fresh one, see benchmarks/flow.py)",
    )
    parser.add_argument(
        "--no-task-gc",
        dest="task_gc",
        action="store_false",
        help="do not end every task with a full garbage collection (benchmarks/hooks/sitecustomize.py explains why "
        "the benchmark does that by default)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the in-process profile and query counts")
    parser.add_argument(
        "--profile-builtin-max",
        type=int,
        default=0,
        help="no in-process (cProfile) run of the built-in above this many orders (0: at every size); under cProfile "
        "its export takes about twice its wall time, which at 20,000 orders and more can be many minutes",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="upper bound of every single wait, seconds")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between polls of download/status URLs")
    parser.add_argument("--workdir", type=Path, help="where the data dirs go (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep data dirs and server logs")
    parser.add_argument("--strict", action="store_true", help="exit with 1 when a target is missed")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.orders = [200, 2000]
    opts.shredders = [s.strip() for s in opts.shredders.split(",") if s.strip()]
    return opts


def save(results: dict, path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, default=str))


def main(argv=None) -> int:
    opts = parse_args(argv)
    install_cleanup()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{stamp}.json"
    opts.profile_dir = RESULTS / f"{stamp}-profiles"
    work = opts.workdir or Path(tempfile.mkdtemp(prefix="pretix-shredder-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if opts.task_gc:  # inherited by every child process: web servers, workers, django_side.py
        hooks = str(ROOT / "benchmarks" / "hooks")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (hooks, os.environ.get("PYTHONPATH")) if p)
        os.environ["BENCH_TASK_GC_LOG"] = str(work / "task-gc.jsonl")
    results = {"meta": meta(opts), "sizes": []}
    redis = None
    started = time.monotonic()
    try:
        redis, redis_port = start_redis(work) if opts.celery else (None, None)
        base = migrated_base(work, opts)
        for orders in opts.orders:
            results["sizes"].append({"orders": orders, "http": {}, "inproc": {}})
            run_size(orders, base, work, opts, redis_port, results["sizes"][-1], lambda: save(results, out))
            save(results, out)
    finally:
        if redis:
            redis.stop()
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
        results["meta"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        results["meta"]["seconds"] = round(time.monotonic() - started, 1)
        save(results, out)
    print(report.render(results))
    save(results, out)
    log(f"results: {out} (profiles: {opts.profile_dir}); {results['meta']['seconds']} s in all")
    failed = not all(c["pass"] for c in results["targets"])
    return 1 if failed and opts.strict else 0


if __name__ == "__main__":
    sys.exit(main())
