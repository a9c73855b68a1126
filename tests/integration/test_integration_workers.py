"""The Celery workers really do the work, and a test can find and kill the process running a shred."""

import time

import pytest

from devtools.procs import pid_alive, wait_until

from .api import describe
from .conftest import STALE_AFTER_SECONDS, builtin_api_only

pytestmark = pytest.mark.integration


def test_both_workers_take_tasks(pretix, celery_control, shredder_api, shredder_trace, slow_shredder):
    w1, w2 = pretix.workers
    slow_shredder(seconds=0.5)

    with celery_control.paused([w2.name]):
        urls = shredder_api.start_export(["slow_test_shredder"])
        shredder_api.wait_download(urls["download"], timeout=60)
    with celery_control.paused([w1.name]):
        status_url = shredder_api.start_shred(urls["shred"])
        shredder_api.wait_status(status_url, timeout=60)
        shred = shredder_trace.wait_for("shred", "finished", timeout=60)

    export = shredder_trace.records("export", "finished")[0]
    assert export["worker"] == w1.name, export
    assert shred["worker"] == w2.name, shred
    assert w1.handled(export["task_id"]), f"{export['task_id']} not in {w1.log_path}"
    assert w2.handled(shred["task_id"]), f"{shred['task_id']} not in {w2.log_path}"
    # The work ran in each worker's pool process, not in the web server.
    assert pretix.worker_of_pid(export["pid"]) is w1
    assert pretix.worker_of_pid(shred["pid"]) is w2


def test_kill_the_process_running_an_export(pretix, celery_control, shredder_api, shredder_trace, slow_shredder):
    slow_shredder(seconds=30)
    urls = shredder_api.start_export(["slow_test_shredder"])
    # Two ways to find the process: the test shredder's trace, and Celery's own view of running tasks.
    started = shredder_trace.wait_for("export", "started")
    active = celery_control.find_active(task_id=started["task_id"], timeout=10)
    assert active["worker_pid"] == started["pid"]
    worker = pretix.worker(active["worker"])
    assert started["pid"] in worker.pool_pids()

    worker.kill_pool_process(started["pid"])
    slow_shredder(seconds=0)  # should the task be delivered again, it ends quickly

    wait_until(lambda: not pid_alive(started["pid"]), timeout=10, message="killed pool process gone")
    wait_until(
        lambda: worker.pool_pids() and started["pid"] not in worker.pool_pids(),
        timeout=30,
        message=f"{worker.name} started a new pool process",
    )
    assert not [r for r in shredder_trace.records("export", "finished") if r["pid"] == started["pid"]]
    wait_until(lambda: "WorkerLostError" in worker.process.log_text(), timeout=10, message="worker logs the loss")

    failed, _ = shredder_api.wait_download(urls["download"], done=(410,), timeout=STALE_AFTER_SECONDS * 3 + 10)
    assert failed.json()["status"] == "failed", describe(failed)


def test_killed_shred_is_reported_failed_then_completes_on_retry(
    pretix, celery_control, shredder_api, shredder_trace, slow_shredder
):
    if builtin_api_only():
        pytest.xfail("pretix's built-in API reports the export task's state on the status URL")
    urls = shredder_api.start_export(["slow_test_shredder"])
    shredder_api.wait_download(urls["download"], timeout=60)
    slow_shredder(seconds=60)
    status_url = shredder_api.start_shred(urls["shred"])
    started = shredder_trace.wait_for("shred", "started", timeout=30)
    pretix.worker_of_pid(started["pid"]).kill_pool_process(started["pid"])
    killed_at = time.monotonic()
    slow_shredder(seconds=0.5)  # should the task be delivered again, it ends quickly

    failed, _ = shredder_api.wait_status(status_url, done=(417,), timeout=STALE_AFTER_SECONDS * 3 + 10)
    assert failed.json()["status"] == "failed", describe(failed)
    assert time.monotonic() - killed_at < STALE_AFTER_SECONDS * 3 + 10
    download, _ = shredder_api.wait_download(urls["download"], timeout=10)
    assert download.status_code == 200, describe(download)

    retry_url = shredder_api.start_shred(urls["shred"])
    done, _ = shredder_api.wait_status(retry_url, timeout=60)
    assert done.json() == {"status": "ok", "message": "OK"}
    assert shredder_trace.records("shred", "finished")
