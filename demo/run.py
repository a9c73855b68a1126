"""``make demo``: a throw-away pretix with a finished event, shredded over HTTP by ``pretix-shredder run``.

Steps: write ``.demo/pretix.cfg`` (SQLite, no Redis, no Celery: pretix runs its tasks inside the request), migrate,
seed a few hundred orders (``demo/seed.py``), run pretix's periodic tasks once, start ``pretix runserver`` on a free
port, count the personal data through the REST API, export + download + verify + shred it with the CLI, list the zip,
count again. Then it leaves pretix running in the background and ends with its URL, login, password, the plugin's
page and how to stop it.

    python demo/run.py [--orders 300] [--port 8123] [--shredder order_emails ...] [--keep | --no-keep]
    python demo/run.py --serve [--port 8123]     # make demo-serve: start the demo's pretix again (no new data)
    python demo/run.py --stop                    # make demo-stop

Keeping the server: by default only when standard output is a terminal and ``CI`` is not set, so that a script or
CI job running ``make demo`` is never left with a server it did not ask for (it ends with ``make demo-serve`` instead);
``--keep`` / ``DEMO_KEEP=1`` and ``--no-keep`` / ``DEMO_KEEP=0`` decide explicitly. A kept server runs in its own
session, detached from the terminal; its pid is in ``.demo/server.pid``, ``make demo-stop`` stops it, and running
the demo or ``--serve`` again replaces it.

pretix runs with ``DJANGO_SETTINGS_MODULE=demo.settings`` (``demo/settings.py``): mail goes to files in
``.demo/data/mail/`` instead of a non-existent SMTP server, and a file cache lets the server see that the periodic
tasks ran. The test-only shredder plugin is excluded (``plugins_exclude``), although it is installed in ``.venv``.
Everything lives in ``.demo/`` (``make clean`` removes it); running the demo again reuses the database and recreates
the event. Standard library only: pretix runs in subprocesses of this interpreter (the virtualenv's Python).
"""

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".demo"
CONFIG = DEMO_DIR / "pretix.cfg"
DATA_DIR = DEMO_DIR / "data"
SERVER_LOG = DEMO_DIR / "server.log"
PID_FILE = DEMO_DIR / "server.pid"
INFO_FILE = DEMO_DIR / "demo.json"  # what --serve needs to print the banner: slugs and the demo's API token
EXPORT = DEMO_DIR / "export.zip"
SEED_SCRIPT = ROOT / "demo" / "seed.py"

ORGANIZER, EVENT = "demo", "shredder-demo"
RETENTION_EVENT, RETENTION_ORDERS = "retention-demo", 40  # a second finished event, with its own retention policy
RETENTION_PAGE = "/control/event/{organizer}/{event}/shredder-api/retention/"
ADMIN_LOGIN = ("admin@localhost", "admin")  # created by pretix's own migrations
DEFAULT_SHREDDERS = ("order_emails", "attendee_info", "question_answers")
TEST_PLUGIN = "pretix_shredder_testplugin"  # installed in .venv for the tests; never part of the demo
PLUGIN_PAGE = "/control/event/{organizer}/{event}/shredder-api/"
# pretix's update check would call pretix.eu from a throw-away instance
PERIODIC_EXCLUDE = "pretix.base.services.update_check.run_update_check"

MIGRATE_TIMEOUT = 900  # pretix has 300+ migrations: 70-120 s on SQLite for a fresh database, 5 s afterwards
SEED_TIMEOUT = 300
PERIODIC_TIMEOUT = 300
SERVER_START_TIMEOUT = 120
CLI_TIMEOUT = 600
HTTP_TIMEOUT = 60
STOP_TIMEOUT = 10


class DemoError(Exception):
    pass


# --- output -----------------------------------------------------------------------------------------------------


def step(number, total, text):
    print(f"\n==> [{number}/{total}] {text}", flush=True)


def note(text):
    print(f"    {text}", flush=True)


def tail(path, lines=25):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- the instance -----------------------------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(port):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(
        "# Written by demo/run.py on every run (the port changes). SQLite, no Redis, no Celery.\n"
        "[pretix]\n"
        "instance_name=pretix shredder demo\n"
        f"url=http://127.0.0.1:{port}\n"
        f"datadir={DATA_DIR}\n"
        "currency=EUR\n"
        "ecb_rates=false\n"
        f"plugins_exclude={TEST_PLUGIN}\n"
        "\n[django]\n"
        "# runserver would switch debug on, and with it pretix's Vite dev mode: it spawns 'npm run dev:control'.\n"
        "debug=false\n"
        "\n[database]\n"
        "backend=sqlite3\n"
        "\n[mail]\n"
        "# demo/settings.py writes mails to files in data/mail/ (no SMTP server needed)\n"
        "from=demo@localhost\n"
    )


def pretix_env():
    env = dict(os.environ, PRETIX_CONFIG_FILE=str(CONFIG), DJANGO_SETTINGS_MODULE="demo.settings")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    for name in ("PRETIX_URL", "PRETIX_TOKEN", "PRETIX_ORGANIZER", "PRETIX_EVENT"):
        env.pop(name, None)  # the CLI gets ours, not the caller's
    return env


def run_logged(args, log, timeout, what):
    """Run a pretix subprocess with its output in ``log``; raise DemoError (with the log's tail) if it fails."""
    with open(log, "w") as out:
        try:
            result = subprocess.run(args, env=pretix_env(), stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DemoError(f"{what} did not finish within {timeout} s; see {log}") from None
    if result.returncode != 0:
        raise DemoError(f"{what} failed (exit {result.returncode}):\n{tail(log)}")


def migrate():
    started = time.monotonic()
    run_logged(
        [sys.executable, "-m", "pretix", "migrate", "--noinput"], DEMO_DIR / "migrate.log", MIGRATE_TIMEOUT, "migrate"
    )
    note(f"database ready ({time.monotonic() - started:.0f} s; log: .demo/migrate.log)")


def seed(orders, event=EVENT, extra=(), log_name="seed.log"):
    args = [sys.executable, str(SEED_SCRIPT), "--organizer", ORGANIZER, "--event", event, "--orders", str(orders)]
    args += ["--member", ADMIN_LOGIN[0], "--members-keep-password", *extra]
    log = DEMO_DIR / log_name
    with open(log, "w") as err:
        try:
            result = subprocess.run(
                args, env=pretix_env(), stdout=subprocess.PIPE, stderr=err, text=True, timeout=SEED_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise DemoError(f"seeding did not finish within {SEED_TIMEOUT} s; see {log}") from None
    if result.returncode != 0:
        raise DemoError(f"seeding failed (exit {result.returncode}):\n{tail(log)}")
    info = json.loads(result.stdout)
    note(
        f"event {info['organizer']}/{info['event']}: ended 30 days ago, shop offline; {info['orders']} orders, "
        f"{info['positions']} tickets, {info['answers']} answers, {info['invoices']} invoices ({info['seconds']} s)"
    )
    return info


def run_periodic():
    """pretix's cron job, once: its housekeeping runs, and the control panel shows no "cronjob" warning."""
    started = time.monotonic()
    args = [sys.executable, "-m", "pretix", "runperiodic", "--exclude", PERIODIC_EXCLUDE]
    run_logged(args, DEMO_DIR / "runperiodic.log", PERIODIC_TIMEOUT, "runperiodic")
    note(f"periodic tasks ran once ({time.monotonic() - started:.0f} s; log: .demo/runperiodic.log)")


# --- the server -------------------------------------------------------------------------------------------------


def stop_leftover_server():
    """A server kept by an earlier run uses the same SQLite file: stop it, if it really is that server (its
    environment names our config). True if one was stopped."""
    try:
        pid = int(PID_FILE.read_text().split()[0])
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        PID_FILE.unlink(missing_ok=True)
        return False
    ours = f"PRETIX_CONFIG_FILE={CONFIG}".encode() in environ
    if ours:
        note(f"stopping the demo's pretix (pid {pid})")
        stop_pid(pid)
    PID_FILE.unlink(missing_ok=True)
    return ours


def start_server(port):
    log = open(SERVER_LOG, "w")  # handed to the child, closed below
    # --insecure: serve static files without debug mode, for the control panel
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pretix", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
            env=pretix_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches us, and we stop it in order
        )
    finally:
        log.close()
    PID_FILE.write_text(f"{proc.pid} {port}\n")
    return proc


def wait_until_up(proc, base_url, token):
    """Until the event answers through the API (pretix's /healthcheck/ says 503 without a cache backend)."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"pretix exited with code {proc.returncode} while starting:\n{tail(SERVER_LOG)}")
        try:
            get_json(f"{base_url}/api/v1/organizers/{ORGANIZER}/events/{EVENT}/", token, timeout=5)
            return
        except urllib.error.HTTPError as exc:
            raise DemoError(f"pretix answers {exc.code} for the demo event:\n{tail(SERVER_LOG)}") from None
        except (OSError, http.client.HTTPException):  # not listening yet
            time.sleep(0.5)
    raise DemoError(f"pretix did not answer within {SERVER_START_TIMEOUT} s:\n{tail(SERVER_LOG)}")


def stop_pid(pid):
    """SIGTERM to the server's process group (its own session), SIGKILL if it is still there after a while."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)


def _alive(pid):
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reaps our own child
        if waited:
            return False
    except ChildProcessError:
        pass  # not our child (an earlier run's server)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_server(proc):
    """Stop our server; a second Ctrl-C meanwhile waits until it is done (blocked, not lost)."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        if proc.poll() is None:
            stop_pid(proc.pid)
            proc.poll()
        PID_FILE.unlink(missing_ok=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


# --- the API, from the outside ----------------------------------------------------------------------------------


def get_json(url, token, timeout=HTTP_TIMEOUT):
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def api_get(url, token):
    """``get_json``, with any failure turned into a DemoError that shows the server's log."""
    try:
        return get_json(url, token)
    except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError and HTTPError are OSErrors
        raise DemoError(f"GET {url}: {exc}\nserver log:\n{tail(SERVER_LOG)}") from None


def count_personal_data(base_url, token):
    """What an API client sees: orders with an e-mail, tickets with attendee e-mail / name, question answers."""
    counts = {"orders": 0, "order e-mails": 0, "attendee e-mails": 0, "attendee names": 0, "answers": 0}
    url = f"{base_url}/api/v1/organizers/{ORGANIZER}/events/{EVENT}/orders/?page_size=50"
    for _page in range(10_000):  # bounded: 500,000 orders
        page = api_get(url, token)
        for order in page["results"]:
            counts["orders"] += 1
            counts["order e-mails"] += bool(order.get("email"))
            for position in order["positions"]:
                counts["attendee e-mails"] += bool(position.get("attendee_email"))
                counts["attendee names"] += bool(position.get("attendee_name"))
                counts["answers"] += len(position.get("answers") or [])
        url = page["next"]
        if not url:
            break
    return counts


def print_counts(counts):
    note(", ".join(f"{name}: {value}" for name, value in counts.items()))


# --- the CLI ----------------------------------------------------------------------------------------------------


def cli_command():
    """The console script next to this interpreter, else the module (installed, but the script is missing)."""
    script = Path(sys.executable).parent / "pretix-shredder"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "pretix_shredder_api.client"]


def cli_shown():
    """``cli_command()`` as a newcomer would type it from the repository root."""
    return " ".join(_relative(part) for part in cli_command())


def _relative(path):
    return path.replace(str(ROOT) + os.sep, "")


def run_cli(base_url, token, shredders):
    for leftover in (EXPORT, EXPORT.with_name(EXPORT.name + ".json"), EXPORT.with_name(EXPORT.name + ".part")):
        leftover.unlink(missing_ok=True)
    args = ["run", *[arg for s in shredders for arg in ("--shredder", s)], "-o", str(EXPORT), "--yes"]
    note(f"PRETIX_URL={base_url} PRETIX_TOKEN=… PRETIX_ORGANIZER={ORGANIZER} PRETIX_EVENT={EVENT} \\")
    note(f"  {cli_shown()} {_relative(' '.join(args))}")
    print(flush=True)
    env = dict(os.environ, PRETIX_URL=base_url, PRETIX_TOKEN=token, PRETIX_ORGANIZER=ORGANIZER, PRETIX_EVENT=EVENT)
    try:
        result = subprocess.run(
            [*cli_command(), *args, "--timeout", str(CLI_TIMEOUT)], env=env, timeout=CLI_TIMEOUT + 30
        )
    except subprocess.TimeoutExpired:
        raise DemoError(f"pretix-shredder did not finish within {CLI_TIMEOUT} s") from None
    if result.returncode != 0:
        raise DemoError(f"pretix-shredder failed (exit {result.returncode}); server log:\n{tail(SERVER_LOG)}")


def show_export(path):
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            note(f"{info.file_size:>10,} B  {info.compress_size:>9,} B packed  {info.filename}")
        index = json.loads(archive.read("index.json"))
        emails = (
            json.loads(archive.read("emails-by-order.json")) if "emails-by-order.json" in archive.namelist() else {}
        )
    note(f"index.json: shredders {index['shredders']}, confirm code {index['confirm_code']}, made {index['time']}")
    if emails:
        code, email = next(iter(emails.items()))
        note(f"emails-by-order.json keeps {len(emails)} addresses for your records, e.g. {code}: {email}")


# --- main -------------------------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--serve", action="store_true", help="start the demo's pretix again, with its data (no new run)")
    mode.add_argument("--stop", action="store_true", help="stop the demo's pretix")
    parser.add_argument("--orders", type=int, default=300, help="orders to seed (default: 300)")
    parser.add_argument("--port", type=int, default=0, help="port for pretix (default: a free one)")
    parser.add_argument(
        "--shredder", action="append", help=f"shredders to run (default: {' '.join(DEFAULT_SHREDDERS)})"
    )
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument(
        "--keep", dest="keep", action="store_true", default=None, help="leave pretix running afterwards (DEMO_KEEP=1)"
    )
    keep.add_argument("--no-keep", dest="keep", action="store_false", help="stop pretix at the end (DEMO_KEEP=0)")
    args = parser.parse_args(argv)
    if args.keep is None:
        args.keep = keep_by_default(os.environ, sys.stdout.isatty())
    return args


def keep_by_default(environ, on_terminal):
    """DEMO_KEEP decides if set; otherwise keep the server for a person at a terminal, never for CI or a script."""
    value = environ.get("DEMO_KEEP", "").strip()
    if value:
        return value not in ("0", "no", "false")
    return on_terminal and not environ.get("CI")


def demo(args, started):
    total = 8
    port = args.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    step(1, total, f"A pretix instance in .demo/: SQLite, no Redis, no Celery (tasks run in the request), {base_url}")
    DEMO_DIR.mkdir(exist_ok=True)
    stop_leftover_server()
    write_config(port)
    note(f"config: {CONFIG.relative_to(ROOT)}; mail goes to files in {_relative(str(DATA_DIR / 'mail'))}/")
    step(2, total, "Database migrations (the first run takes one to two minutes)")
    migrate()
    step(3, total, f"Seeding a finished, offline event with {args.orders} orders")
    info = seed(args.orders)
    seed(RETENTION_ORDERS, RETENTION_EVENT, ("--invoices", "0", "--retention-policy"), "seed-retention.log")
    note(f"event {ORGANIZER}/{RETENTION_EVENT} has its own retention policy: the periodic run below schedules it")
    save_info(info)
    step(4, total, "pretix's periodic tasks, once (what its cron job runs)")
    run_periodic()
    step(5, total, "Starting pretix")
    proc = start_server(port)
    try:
        wait_until_up(proc, base_url, info["token"])
        note(f"{base_url} answers (pid {proc.pid}; log: .demo/server.log)")
        shred_over_http(args, base_url, info["token"], total)
    except BaseException:
        stop_server(proc)
        raise
    return proc, base_url, info


def shred_over_http(args, base_url, token, total):
    step(6, total, "Personal data before, as the REST API shows it")
    print_counts(count_personal_data(base_url, token))
    step(7, total, "pretix-shredder run: export, download, verify, shred, wait")
    run_cli(base_url, token, args.shredder or list(DEFAULT_SHREDDERS))
    print(flush=True)
    note(f"the export, {EXPORT.relative_to(ROOT)}:")
    show_export(EXPORT)
    step(8, total, "Personal data after")
    print_counts(count_personal_data(base_url, token))


def save_info(info):
    """What ``--serve`` needs later. The token is the throw-away demo instance's, printed at the end anyway."""
    keys = ("organizer", "event", "token", "team")
    INFO_FILE.write_text(json.dumps({k: info[k] for k in keys if k in info}, indent=2) + "\n")


def load_info():
    try:
        info = json.loads(INFO_FILE.read_text())
        database_there = (DATA_DIR / "db.sqlite3").exists()
    except (OSError, ValueError):
        info, database_there = None, False
    if not info or not database_there:
        raise DemoError("there is no demo to serve yet: run 'make demo' first")
    return info


def banner(proc, base_url, info):
    """The end of the demo: where to look, how to log in, how to try the CLI, how to stop."""
    page = PLUGIN_PAGE.format(organizer=info["organizer"], event=info["event"])
    env = (
        f"PRETIX_URL={base_url} PRETIX_TOKEN={info['token']} "
        f"PRETIX_ORGANIZER={info['organizer']} PRETIX_EVENT={info['event']}"
    )
    lines = [
        f"pretix keeps running at {base_url}/ (pid {proc.pid}, log .demo/server.log, mails .demo/data/mail/)",
        "",
        f"  log in         {base_url}/control/login",
        f"                 e-mail {ADMIN_LOGIN[0]}   password {ADMIN_LOGIN[1]}",
        f"  the plugin     {base_url}{page}",
        f'                 (event "{info["event"]}" -> "Data shredder" in the navigation; needs "view orders")',
        f"  retention      {base_url}{RETENTION_PAGE.format(organizer=info['organizer'], event=RETENTION_EVENT)}",
        f"                 (a scheduled shred, its export and notice mail; the organizer's policy: {base_url}"
        f"/control/organizer/{info['organizer']}/shredder-retention/)",
        f"  the CLI        export {env}",
        f"                 {cli_shown()} list",
        "  stop it        make demo-stop      (start it again: make demo-serve; a new run: make demo)",
    ]
    return "\n".join(lines)


def farewell(proc, base_url, info, keep, started):
    elapsed = time.monotonic() - started
    if not keep:
        stop_server(proc)
        print(
            f"\nDemo finished in {elapsed:.0f} s; pretix stopped (no terminal, or DEMO_KEEP=0).\n"
            "To look around in the control panel, start it again with its data: make demo-serve"
        )
        return
    print(f"\nDemo finished in {elapsed:.0f} s. {banner(proc, base_url, info)}")


def serve(args):
    """``make demo-serve``: the demo's pretix with the data the last ``make demo`` left, in the background."""
    info = load_info()
    stop_leftover_server()
    port = args.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    write_config(port)
    run_periodic()
    proc = start_server(port)
    try:
        wait_until_up(proc, base_url, info["token"])
    except BaseException:
        stop_server(proc)
        raise
    print(banner(proc, base_url, info))


def stop():
    """``make demo-stop``."""
    if not stop_leftover_server():
        print("no demo server is running")


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # so that SIGTERM / SIGHUP clean up like Ctrl-C does


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        if args.stop:
            stop()
            return 0
        if args.serve:
            serve(args)
            return 0
        proc, base_url, info = demo(args, started)
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted; nothing of it is left running", file=sys.stderr)
        return 130
    except Exception:  # a bug, or pretix answering something unexpected: show it all
        traceback.print_exc()
        print("\ndemo failed (see above); nothing of it is left running", file=sys.stderr)
        return 1
    farewell(proc, base_url, info, args.keep, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
