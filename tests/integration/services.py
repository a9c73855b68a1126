"""Private services on loopback for the integration tests: Redis, a PostgreSQL cluster, and a pretix instance
(migrated database, web server, Celery workers, an ORM subprocess). Everything lives in one temp dir."""

import glob
import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import site
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import redis
import requests
from celery.utils.nodenames import host_format

from devtools.procs import ManagedProcess, child_pids, free_port, start_on_free_port, stop_together, wait_until

from .api import loopback_session
from .orm import OrmClient
from .worker_logs import parse_task_events

INSTALL_HINT = "apt-get install redis-server postgresql"
TESTPLUGIN_HINT = "pip install -e tests/testplugin"
DB_NAME = "pretix"
DB_USER = "postgres"
REDIS_OPTIONS = "--bind 127.0.0.1 --protected-mode yes --appendonly no --daemonize no".split()
# Durability off: the data is thrown away after the run.
POSTGRES_SETTINGS = [
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=200",
]
INITDB_OPTIONS = ["-U", DB_USER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]
# Worker options as in pretix's documentation, plus one task at a time in a pool child process (so a test can
# kill the process running a task and the worker lives on) and no startup chatter between workers.
WORKER_OPTIONS = "-l info --pool prefork --concurrency 1 --without-mingle --without-gossip".split()
# pretix's web server is ``python -m pretix runserver --noreload`` (one thread per connection). Django listens with a
# backlog of 10 (``WSGIServer.request_queue_size``): 50 clients connecting at once would have their SYNs dropped and
# retried a second later. The bootstrap raises the backlog, then runs pretix's own ``__main__``.
WEB_BACKLOG = 128
WEB_BOOTSTRAP = (
    "import runpy, sys\n"
    "from django.core.servers import basehttp\n"
    "basehttp.WSGIServer.request_queue_size = int(sys.argv.pop(1))\n"
    "runpy.run_module('pretix', run_name='__main__', alter_sys=True)\n"
)


# --- what the machine must have ---------------------------------------------------------------------------------


def find_redis_server() -> str | None:
    return shutil.which("redis-server") or next(iter(glob.glob("/usr/bin/redis-server")), None)


def find_postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin that has initdb and postgres (Debian's layout)."""
    candidates = [
        Path(d)
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(Path(d) / "initdb", os.X_OK) and os.access(Path(d) / "postgres", os.X_OK)
    ]
    candidates.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return candidates[-1] if candidates else None


def postgres_run_as() -> str | None:
    """PostgreSQL refuses to run as root: as root we run it as the ``postgres`` user, else as ourselves."""
    return DB_USER if os.geteuid() == 0 else None


def missing_requirements() -> list[str]:
    missing = []
    if importlib.util.find_spec("pretix_shredder_testplugin") is None:
        missing.append(f"the test plugin pretix_shredder_testplugin (install it: {TESTPLUGIN_HINT})")
    if not find_redis_server():
        missing.append(f"redis-server (install it: {INSTALL_HINT})")
    if not find_postgres_bindir():
        missing.append(f"PostgreSQL's /usr/lib/postgresql/*/bin/initdb (install it: {INSTALL_HINT})")
    elif postgres_run_as():
        try:
            pwd.getpwnam(DB_USER)
        except KeyError:
            missing.append(f"the system user 'postgres' (install PostgreSQL: {INSTALL_HINT})")
    return missing


# --- Redis --------------------------------------------------------------------------------------------------------


class RedisServer:
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.port: int | None = None
        self.process: ManagedProcess | None = None

    @property
    def data_dir(self) -> Path:
        return self.workdir / "redis"

    def _launch(self, port: int) -> ManagedProcess:
        self.port = port
        argv = [find_redis_server(), "--port", str(port), "--dir", str(self.data_dir), "--save", "", *REDIS_OPTIONS]
        log_path = self.workdir / "logs" / "redis.log"
        self.process = ManagedProcess("redis-server", argv, log_path=log_path, cwd=self.data_dir).start()
        return self.process

    def start(self) -> "RedisServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        start_on_free_port(self._launch, self.ping, name="redis-server", timeout=20, ignore=(redis.ConnectionError,))
        return self

    def restart(self, down_seconds: float = 0.0) -> "RedisServer":
        """Stops redis-server and starts it again on the same port and data dir. Nothing is persisted
        (``--save ""``, no AOF): like a Redis restart without persistence, every key is gone afterwards."""
        self.process.stop()
        time.sleep(down_seconds)
        self._launch(self.port)
        wait_until(self.ping, timeout=20, message="redis-server ready again", ignore=(redis.ConnectionError,))
        return self

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5)

    def ping(self) -> bool:
        self.process.ensure_alive()
        with self.client() as client:
            return client.ping()

    def stop(self):
        if self.process:
            self.process.stop()


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


class PostgresCluster:
    """A private cluster made by initdb in the temp dir; durability switched off for speed (throwaway data)."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.bindir = find_postgres_bindir()
        self.user = postgres_run_as()
        self.base = self.workdir / "postgres"
        self.data_dir = self.base / "data"
        self.port: int | None = None
        self.process: ManagedProcess | None = None

    @property
    def major_version(self) -> str:
        return self.bindir.parent.name

    def start(self) -> "PostgresCluster":
        self.base.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.base, self.user, self.user)
        log_dir = self.workdir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "initdb.log", "wb") as log:
            subprocess.run(
                [self.bindir / "initdb", "-D", self.data_dir, *INITDB_OPTIONS],
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.user,
                group=self.user,
                extra_groups=[] if self.user else None,
                cwd=self.base,
                timeout=120,
            )

        start_on_free_port(
            self._launch, self._connectable, name="PostgreSQL", timeout=60, ignore=(psycopg2.OperationalError,)
        )
        return self

    def _launch(self, port: int) -> ManagedProcess:
        self.port = port
        argv = [self.bindir / "postgres", "-D", self.data_dir, "-p", str(port), "-k", self.base]
        for setting in POSTGRES_SETTINGS:
            argv += ["-c", setting]
        # SIGINT is PostgreSQL's "fast shutdown"; SIGTERM would wait for every client to disconnect.
        self.process = ManagedProcess(
            "postgres",
            argv,
            log_path=self.workdir / "logs" / "postgres.log",
            cwd=self.base,
            user=self.user,
            stop_signal=signal.SIGINT,
        ).start()
        return self.process

    def restart(self, down_seconds: float = 0.0) -> "PostgresCluster":
        """Fast shutdown (every client connection is cut, open transactions roll back), ``down_seconds`` without a
        database, then PostgreSQL again on the same port and data dir (committed data is kept)."""
        self.process.stop()
        time.sleep(down_seconds)
        self._launch(self.port)
        wait_until(self._connectable, timeout=60, message="PostgreSQL ready again", ignore=(psycopg2.OperationalError,))
        return self

    def connect(self, dbname: str = "postgres"):
        return psycopg2.connect(host="127.0.0.1", port=self.port, user=DB_USER, dbname=dbname, connect_timeout=5)

    def _connectable(self) -> bool:
        self.process.ensure_alive()
        self.connect().close()
        return True

    def create_database(self, name: str):
        conn = self.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()

    def _tool(self, tool: str, *args, log_path: Path, timeout: float = 300):
        argv = [self.bindir / tool, "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, *args]
        with open(log_path, "ab") as log:
            subprocess.run(argv, check=True, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)

    def dump(self, dbname: str, path: Path, log_path: Path):
        self._tool("pg_dump", "-Fc", "-Z1", "-f", path, dbname, log_path=log_path)

    def restore(self, dbname: str, path: Path, log_path: Path):
        self._tool("pg_restore", "--no-owner", "--exit-on-error", "-d", dbname, path, log_path=log_path)

    def stop(self):
        if self.process:
            self.process.stop()


# --- a migrated database, cached by what the migrations are -------------------------------------------------------


def migrations_fingerprint(postgres_major: str, excluded_plugins=()) -> str:
    """Changes whenever any installed distribution, any migration file (site-packages and editable pretix plugins)
    or the PostgreSQL major version changes."""
    digest = hashlib.sha256(f"postgres {postgres_major}; excluded {sorted(excluded_plugins)}\n".encode())
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        digest.update(f"{dist.metadata['Name']}=={dist.version}\n".encode())
    roots = {Path(p) for p in site.getsitepackages()}
    for entry_point in importlib.metadata.entry_points(group="pretix.plugin"):
        if entry_point.module in excluded_plugins:
            continue
        spec = importlib.util.find_spec(entry_point.module)
        roots.update(Path(p) for p in (spec.submodule_search_locations or []) if spec)
    for root in sorted(roots):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            if os.path.basename(dirpath) != "migrations":
                continue
            for name in sorted(f for f in filenames if f.endswith(".py")):
                path = Path(dirpath) / name
                digest.update(f"{path}\n".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def cache_dir() -> Path | None:
    """Where migrated database dumps are kept between runs; None when switched off (SHREDDER_IT_DB_CACHE=0)."""
    if os.environ.get("SHREDDER_IT_DB_CACHE", "1") == "0":
        return None
    if os.environ.get("SHREDDER_IT_CACHE_DIR"):
        return Path(os.environ["SHREDDER_IT_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pretix-shredder-api-integration"


# --- pretix -------------------------------------------------------------------------------------------------------


class Worker:
    """One Celery worker (prefork pool, concurrency 1: tasks run in a child process of ``pid``)."""

    def __init__(self, name: str, process: ManagedProcess):
        self.name = name
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def pool_pids(self) -> list[int]:
        return child_pids(self.pid)

    def ready(self) -> bool:
        self.process.ensure_alive()
        return f"{self.name} ready." in self.process.log_text() and bool(self.pool_pids())

    def task_events(self) -> list[dict]:
        """``{"name", "id", "event"}`` for each "Task name[id] received/succeeded/failed/raised/retry" log line."""
        return parse_task_events(self.process.log_text())

    def handled(self, task_id: str) -> bool:
        return any(e["id"] == task_id and e["event"] == "received" for e in self.task_events())

    def kill_pool_process(self, pid: int | None = None, sig: int = signal.SIGKILL) -> int:
        """Kills the pool child ``pid`` (default: the only one). The worker then starts a new child."""
        pids = self.pool_pids()
        pid = pid if pid is not None else (pids[0] if len(pids) == 1 else None)
        if pid is None or pid not in pids:
            raise RuntimeError(f"{pid} is not a pool process of {self.name} (those are {pids})")
        os.kill(pid, sig)
        return pid


class PretixInstance:
    def __init__(
        self,
        workdir: Path,
        redis_server: RedisServer,
        postgres: PostgresCluster,
        *,
        workers: int = 2,
        extra_config: dict | None = None,
        excluded_plugins=(),
    ):
        self.workdir = Path(workdir)
        self.redis = redis_server
        self.postgres = postgres
        self.worker_count = workers
        self.extra_config = extra_config or {}
        self.excluded_plugins = [p for p in excluded_plugins if p]
        self.config_path = self.workdir / "pretix.cfg"
        self.data_dir = self.workdir / "data"
        self.trace_dir = self.workdir / "traces"
        self.log_dir = self.workdir / "logs"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web: ManagedProcess | None = None
        self.workers: list[Worker] = []
        self.orm = None
        self.database_source = None  # "cache" or "migrate"

    # configuration and environment

    def write_config(self):
        sections = {
            "pretix": {
                "instance_name": "pretix-shredder-api integration tests",
                "url": self.url,
                "datadir": self.data_dir,
                "currency": "EUR",
                "ecb_rates": "off",
                "plugins_exclude": ",".join(self.excluded_plugins),
            },
            "django": {"debug": "false", "secret": hashlib.sha256(os.urandom(32)).hexdigest()},
            "database": {
                "backend": "postgresql",
                "name": DB_NAME,
                "user": DB_USER,
                "host": "127.0.0.1",
                "port": self.postgres.port,
            },
            "redis": {"location": self.redis.url(0)},
            "celery": {"backend": self.redis.url(1), "broker": self.redis.url(2)},
            # Nothing listens there: a mail fails fast instead of reaching a real server.
            "mail": {"from": "pretix@example.invalid", "host": "127.0.0.1", "port": free_port()},
        }
        for section, values in self.extra_config.items():
            sections.setdefault(section, {}).update(values)
        lines = []
        for section, values in sections.items():
            lines.append(f"[{section}]")
            lines.extend(f"{key}={value}" for key, value in values.items() if value != "")
            lines.append("")
        self.config_path.write_text("\n".join(lines), encoding="utf-8")

    def env(self, **extra) -> dict:
        """The environment of every pretix subprocess: pretix.settings with our config, nothing inherited
        that would change pretix's configuration (PRETIX_* variables, pytest's DJANGO_SETTINGS_MODULE)."""
        dropped = ("DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST", "SLOW_TEST_SHREDDER_ALLOW_DIE")
        env = {
            k: v for k, v in os.environ.items() if k not in dropped and not k.startswith(("PRETIX_", "FILE__PRETIX_"))
        }
        env.update(
            PRETIX_CONFIG_FILE=str(self.config_path),
            DJANGO_SETTINGS_MODULE="pretix.settings",
            PYTHONUNBUFFERED="1",
            SLOW_TEST_SHREDDER_TRACE_DIR=str(self.trace_dir),
        )
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def api_url(self, path: str) -> str:
        return f"{self.url}/api/v1/{path.lstrip('/')}"

    def shredders_url(self, organizer: str, event: str) -> str:
        return self.api_url(f"organizers/{organizer}/events/{event}/shredders/")

    # lifecycle

    def start(self) -> "PretixInstance":
        for d in (self.data_dir, self.trace_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.write_config()
        self.prepare_database()
        self._start_processes()
        return self

    def run_pretix(self, *args, log_name: str, timeout: float = 600):
        with open(self.log_dir / log_name, "ab") as log:
            result = subprocess.run(
                [sys.executable, "-m", "pretix", *args],
                env=self.env(),
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        if result.returncode:
            tail = "\n".join((self.log_dir / log_name).read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(f"python -m pretix {' '.join(args)} failed ({result.returncode}):\n{tail}")

    def prepare_database(self):
        """A migrated database: restored from the cache when the migrations are unchanged, else migrated for real
        (``python -m pretix migrate``) and then cached."""
        self.postgres.create_database(DB_NAME)
        directory = cache_dir()
        dump = None
        if directory:
            fingerprint = migrations_fingerprint(self.postgres.major_version, self.excluded_plugins)
            dump = directory / f"pretix-db-{fingerprint}.pgdump"
            if dump.is_file():
                try:
                    self.postgres.restore(DB_NAME, dump, log_path=self.log_dir / "pg_restore.log")
                    self.database_source = "cache"
                    return
                except subprocess.CalledProcessError:
                    dump.unlink(missing_ok=True)
                    self.postgres.create_database(DB_NAME)
        self.run_pretix("migrate", "--noinput", log_name="migrate.log")
        self.database_source = "migrate"
        if dump:
            directory.mkdir(parents=True, exist_ok=True)
            partial = dump.with_suffix(f".partial-{os.getpid()}")
            self.postgres.dump(DB_NAME, partial, log_path=self.log_dir / "pg_dump.log")
            partial.replace(dump)
            for old in sorted(directory.glob("pretix-db-*.pgdump"), key=lambda p: p.stat().st_mtime)[:-3]:
                old.unlink(missing_ok=True)

    def _start_web(self):
        self.web = ManagedProcess(
            "pretix-web",
            [
                sys.executable,
                "-c",
                WEB_BOOTSTRAP,
                str(WEB_BACKLOG),
                "runserver",
                "--noreload",
                f"127.0.0.1:{self.port}",
            ],
            log_path=self.log_dir / "web.log",
            env=self.env(),
            cwd=self.workdir,
            stop_timeout=5,
        ).start()

    def restart_web(self, down_seconds: float = 0.0) -> float:
        """Stops the web server (open connections are cut), waits ``down_seconds``, starts it again on the same
        port and waits until it answers; returns the seconds it was unreachable."""
        began = time.monotonic()
        self.web.stop()
        time.sleep(down_seconds)
        self._start_web()
        self._wait_web_ready(interval=0.1)
        return time.monotonic() - began

    def _wait_web_ready(self, interval: float) -> None:
        wait_until(
            self._web_ready,
            timeout=120,
            interval=interval,
            message="pretix web server answers /healthcheck/",
            ignore=(requests.ConnectionError,),
        )

    def _start_processes(self):
        python = sys.executable
        self._start_web()
        for i in range(1, self.worker_count + 1):
            pattern = f"w{i}@%h"
            argv = [python, "-m", "celery", "-A", "pretix.celery_app", "worker", "-n", pattern, *WORKER_OPTIONS]
            process = ManagedProcess(
                f"worker-w{i}",
                argv,
                log_path=self.log_dir / f"worker-w{i}.log",
                env=self.env(SLOW_TEST_SHREDDER_ALLOW_DIE="1"),
                cwd=self.workdir,
                # Cold shutdown: running tasks are not waited for (the data is thrown away). Python then takes
                # seconds of CPU to wind down pretix: SIGKILL after 1 s.
                stop_signal=signal.SIGQUIT,
                stop_timeout=1,
            ).start()
            self.workers.append(Worker(host_format(pattern), process))
        self.orm = OrmClient(env=self.env(), cwd=self.workdir, log_path=self.log_dir / "orm.log").start()

        self._wait_web_ready(interval=0.25)
        for worker in self.workers:
            wait_until(worker.ready, timeout=120, interval=0.25, message=f"Celery worker {worker.name} ready")
        self.orm.wait_ready(timeout=120)

    def _web_ready(self) -> bool:
        self.web.ensure_alive()
        with loopback_session() as session:
            return session.get(f"{self.url}/healthcheck/", timeout=5).status_code == 200

    def worker(self, name_or_index) -> Worker:
        for i, worker in enumerate(self.workers, start=1):
            if name_or_index in (i, worker.name, worker.name.split("@")[0]):
                return worker
        raise KeyError(name_or_index)

    def worker_of_pid(self, pid: int) -> Worker | None:
        for worker in self.workers:
            if pid == worker.pid or pid in worker.pool_pids():
                return worker
        return None

    def processes(self) -> list[ManagedProcess]:
        found = [self.web, *(w.process for w in self.workers), self.orm.process if self.orm else None]
        return [p for p in found if p is not None]

    def stop(self):
        stop_together(self.processes())

    def log_paths(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log")) + sorted((self.data_dir / "logs").glob("*.log"))
