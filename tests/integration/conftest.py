"""Fixtures for the integration tests: a real pretix (PostgreSQL, Redis, web server, two Celery workers) on
loopback, started once per session in a temp dir and stopped by pid at the end.

Environment variables:
- ``SHREDDER_IT_KEEP=1``: keep the temp dir (config, logs, traces) after the run and print where it is.
- ``SHREDDER_IT_DB_CACHE=0``: always run ``migrate`` instead of restoring a cached migrated database
  (``SHREDDER_IT_CACHE_DIR`` overrides the cache location, default ``~/.cache/pretix-shredder-api-integration``).
- ``SHREDDER_IT_EXCLUDE_PLUGINS=pretix_shredder_api``: run against pretix's built-in shredder API instead.
- ``CI=true``: missing redis-server/PostgreSQL fail the tests instead of skipping them.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .api import ApiClient, ShredderApi
from .celery_control import CeleryControl
from .recorder import ProgressRecorder
from .services import DB_NAME, INSTALL_HINT, PostgresCluster, PretixInstance, RedisServer, missing_requirements
from .smtp_sink import SmtpSink
from .traces import ShredderTrace

# Written to pretix.cfg as [shredder_api] so stale-job detection is quick enough to test.
HEARTBEAT_SECONDS = 1
STALE_AFTER_SECONDS = 5
PLUGIN_MODULE = "pretix_shredder_api"
TEST_PLUGIN_MODULE = "pretix_shredder_testplugin"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "integration: runs against a real pretix (PostgreSQL, Redis, web server, Celery workers) on loopback; "
        f"needs redis-server and PostgreSQL ({INSTALL_HINT})",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the end of the pretix logs to the report."""
    outcome = yield
    report = outcome.get_result()
    instance = item.funcargs.get("pretix") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(instance, PretixInstance):
        for process in instance.processes():
            report.sections.append((f"log tail: {process.name}", process.log_tail(30)))


def excluded_plugins() -> list[str]:
    return [p.strip() for p in os.environ.get("SHREDDER_IT_EXCLUDE_PLUGINS", "").split(",") if p.strip()]


def builtin_api_only() -> bool:
    """True when the run uses pretix's built-in shredder API (the plugin excluded)."""
    return PLUGIN_MODULE in excluded_plugins()


def require_services():
    missing = missing_requirements()
    if missing:
        message = "integration tests need " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def integration_workdir():
    require_services()
    path = Path(tempfile.mkdtemp(prefix="shredder-it-"))
    path.chmod(0o755)  # PostgreSQL runs as the postgres user and must reach its own dir in here
    yield path
    if os.environ.get("SHREDDER_IT_KEEP") == "1":
        print(f"\nintegration test files kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(integration_workdir):
    server = RedisServer(integration_workdir)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_cluster(integration_workdir):
    cluster = PostgresCluster(integration_workdir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def smtp_sink():
    """Where pretix delivers its mails: ``smtp_sink.messages``."""
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def pretix(integration_workdir, redis_server, postgres_cluster, smtp_sink) -> PretixInstance:
    """The running instance: ``.url``, ``.workers`` (w1, w2), ``.orm``, ``.trace_dir``, ``.log_dir``."""
    instance = PretixInstance(
        integration_workdir,
        redis_server,
        postgres_cluster,
        workers=2,
        extra_config={
            "shredder_api": {
                "heartbeat_seconds": HEARTBEAT_SECONDS,
                "stale_after_seconds": STALE_AFTER_SECONDS,
                "queue_timeout_seconds": STALE_AFTER_SECONDS,
            },
            "mail": {"port": smtp_sink.port},
        },
        excluded_plugins=excluded_plugins(),
    )
    try:
        try:
            instance.start()
        except Exception as e:
            tails = "\n".join(f"--- end of {p.log_path}:\n{p.log_tail(30)}" for p in instance.processes())
            raise RuntimeError(f"pretix did not start: {e}\n{tails}") from e
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def celery_control(pretix) -> CeleryControl:
    control = CeleryControl(pretix.redis.url(2))
    try:
        yield control
    finally:
        control.close()


@pytest.fixture
def orm(pretix):
    """``orm.call("seed_event", ...)`` / ``orm.run("result = ...")`` in the pretix ORM subprocess."""
    return pretix.orm


@pytest.fixture
def seeded_event(pretix) -> dict:
    """A fresh organizer with a finished, offline event (3 paid orders, test plugin on) and an API token:
    ``organizer``, ``event``, ``token``, ``order_codes``, ``emails``, ..."""
    return pretix.orm.call("seed_event")


@pytest.fixture
def api_client(seeded_event):
    client = ApiClient(seeded_event["token"])
    yield client
    client.close()


@pytest.fixture
def shredder_api(pretix, seeded_event, api_client) -> ShredderApi:
    return ShredderApi(api_client, pretix.shredders_url(seeded_event["organizer"], seeded_event["event"]))


@pytest.fixture
def shredder_trace(pretix, seeded_event) -> ShredderTrace:
    return ShredderTrace(pretix.trace_dir, seeded_event["organizer"], seeded_event["event"])


@pytest.fixture
def slow_shredder(pretix, seeded_event):
    """``slow_shredder(seconds=2, fail_shred=True, ...)`` sets the test shredder's event settings."""

    def configure(**values):
        settings = {f"slow_test_shredder_{key}": value for key, value in values.items()}
        return pretix.orm.call(
            "set_event_settings", organizer=seeded_event["organizer"], event=seeded_event["event"], values=settings
        )

    return configure


@pytest.fixture(scope="session")
def progress_recorder(pretix) -> ProgressRecorder:
    """Records every state and percentage written to the plugin's job rows (a trigger): ``.history(job_id, phase)``,
    ``.percentages(job_id, phase)``."""
    if builtin_api_only():
        pytest.skip(f"{PLUGIN_MODULE} is excluded from this instance")
    table = pretix.orm.run("from pretix_shredder_api.models import ShredderJob\nresult = ShredderJob._meta.db_table")
    recorder = ProgressRecorder(pretix.postgres, DB_NAME, table).install()
    try:
        yield recorder
    finally:
        recorder.uninstall()
