"""A pretix instance for the benchmark: its own data dir, SQLite file and pretix.cfg; a web server and maybe a worker.

``ours`` is pretix with this plugin installed (its routes answer ``…/shredders/``); ``builtin`` is the same
installation with the plugin excluded through pretix's own ``[pretix] plugins_exclude`` setting, so that pretix's
built-in ``EventShreddersViewSet`` answers there.
"""

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

from benchmarks.procs import Proc, free_port, wait_until

PLUGIN = "pretix_shredder_api"
IMPLEMENTATIONS = ("builtin", "ours")
DB_NAME = "db.sqlite3"


@dataclass
class Celery:
    """Broker and result backend of one instance (one Redis server, separate database numbers per instance)."""

    redis_port: int
    db_base: int

    @property
    def broker(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{self.db_base}"

    @property
    def backend(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{self.db_base + 1}"


def write_config(root: Path, impl: str, port: int = 0, celery: Celery | None = None) -> Path:
    """``root/pretix.cfg`` for a data dir ``root/data`` with ``root/data/db.sqlite3``."""
    data = root / "data"
    lines = [
        "[pretix]",
        f"instance_name=bench-{impl}",
        f"datadir={data}",
        f"url=http://127.0.0.1:{port or 8000}",
        "loglevel=WARNING",
    ]
    if impl == "builtin":
        lines.append(f"plugins_exclude={PLUGIN}")
    lines += ["", "[database]", "backend=sqlite3", f"name={data / DB_NAME}", "", "[django]", "debug=false"]
    lines += ["", "[mail]", "from=bench@localhost", "host=127.0.0.1", "port=1"]
    if celery:
        lines += ["", "[celery]", f"broker={celery.broker}", f"backend={celery.backend}"]
    path = root / "pretix.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


def env_for(config: Path, environ: dict) -> dict:
    env = dict(environ)
    env.pop("PRETIX_PRETIX_PLUGINS_EXCLUDE", None)  # the config file decides which implementation answers
    env["PRETIX_CONFIG_FILE"] = str(config)
    env["DJANGO_SETTINGS_MODULE"] = "pretix.settings"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def copy_data(template: Path, root: Path) -> None:
    """A fresh copy of a seeded data dir (SQLite file, media, secret) at ``root/data``."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copytree(template, root / "data")


class Instance:
    def __init__(self, root: Path, impl: str, environ: dict, celery: Celery | None = None):
        self.root = root
        self.impl = impl
        self.port = free_port()
        self.celery = celery
        self.config = write_config(root, impl, self.port, celery)
        self.env = env_for(self.config, environ)
        self.web: Proc | None = None
        self.worker: Proc | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.root / "data" / DB_NAME

    def pids(self) -> dict:
        return {"web": self.web.pid if self.web else None, "worker": self.worker.pid if self.worker else None}

    def start(self, probe_url: str, headers: dict, timeout: float) -> None:
        self._probe = (probe_url, headers, timeout)
        argv = [sys.executable, "-m", "pretix", "runserver", "--noreload", f"127.0.0.1:{self.port}"]
        self.web = Proc(f"web-{self.impl}", argv, log_path=self.root / "web.log", env=self.env, cwd=self.root).start()
        if self.celery:
            self._start_worker(timeout)
        wait_until(
            lambda: self._answers(probe_url, headers),
            timeout=timeout,
            interval=0.25,
            message=f"{self.impl} web server on port {self.port}",
        )

    def _start_worker(self, timeout: float) -> None:
        argv = [sys.executable, "-m", "celery", "-A", "pretix.celery_app", "worker", "--pool", "solo", "-l", "info"]
        argv += ["--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"bench-{self.impl}@%h"]
        log = self.root / "worker.log"
        self.worker = Proc(f"worker-{self.impl}", argv, log_path=log, env=self.env, cwd=self.root).start()

        def ready():
            self.worker.ensure_alive()
            return " ready." in self.worker.log_tail(200)

        wait_until(ready, timeout=timeout, interval=0.25, message=f"{self.impl} Celery worker")

    def _answers(self, url: str, headers: dict) -> bool:
        self.web.ensure_alive()
        try:
            return requests.get(self.base_url + url, headers=headers, timeout=30).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        for proc in (self.worker, self.web):
            if proc:
                proc.stop()
        self.web = self.worker = None

    def restart(self) -> None:
        """Fresh processes on the same port and data (URLs handed out before stay valid)."""
        self.stop()
        self.start(*self._probe)
