"""Concurrent requests against a threaded pretix web server and PostgreSQL: one shred URL POSTed 20 times at once
starts exactly one shred."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from .api import ApiClient, job_public_id
from .conftest import builtin_api_only

pytestmark = pytest.mark.integration

PARALLEL = 20
# Long enough that every POST arrives while the shred is queued or running (after it, the answer would be 404).
SHRED_SECONDS = 4


def shred_log(job) -> dict:
    """The job's log entries but its downloads (each download of the export is logged too, issue 22 item 9)."""
    return {k: v for k, v in job["log"].items() if k != "pretix_shredder_api.export.downloaded"}


def post_at_once(token: str, url: str, count: int) -> list[tuple[int, dict]]:
    """``count`` threads, each with its own connection, POST ``url`` as close to the same moment as they can."""
    barrier = threading.Barrier(count)

    def post(_):
        client = ApiClient(token)
        try:
            barrier.wait(timeout=30)
            response = client.post(url, json={})
            return response.status_code, response.json()
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(post, i) for i in range(count)]
        return [f.result(timeout=60) for f in futures]


def run_shred_tasks_received(pretix) -> int:
    events = [e for w in pretix.workers for e in w.task_events()]
    return sum(1 for e in events if "run_shred" in e["name"] and e["event"] == "received")


def test_parallel_shred_posts_start_exactly_one_shred(
    pretix, orm, seeded_event, shredder_api, shredder_trace, slow_shredder
):
    if builtin_api_only():
        pytest.xfail("pretix's built-in API starts a shred for every POST")
    urls = shredder_api.start_export(["slow_test_shredder", "order_emails"])
    shredder_api.wait_download(urls["download"], timeout=60)
    slow_shredder(seconds=SHRED_SECONDS)
    tasks_before = run_shred_tasks_received(pretix)

    began = time.monotonic()
    answers = post_at_once(seeded_event["token"], urls["shred"], PARALLEL)
    took = time.monotonic() - began

    codes = Counter(code for code, _body in answers)
    print(f"\n{PARALLEL} parallel shred POSTs answered within {took:.1f} s: {dict(codes)}")
    assert set(codes) <= {202, 409}, answers
    status_urls = {body["status"] for code, body in answers if code == 202}
    assert len(status_urls) == 1, status_urls
    status_url = status_urls.pop()
    done, _ = shredder_api.wait_status(status_url, timeout=60)
    assert done.json() == {"status": "ok", "message": "OK"}

    job = orm.call("shredder_job", public_id=job_public_id(status_url))
    assert shred_log(job) == {"pretix.event.shredder.started": 1, "pretix.event.shredder.completed": 1}, job
    assert len(shredder_trace.records("shred", "started")) == 1
    assert len(shredder_trace.records("shred", "finished")) == 1
    runs = orm.call(
        "get_event_settings",
        organizer=seeded_event["organizer"],
        event=seeded_event["event"],
        keys=["slow_test_shredder_shred_count"],
    )
    assert int(runs["slow_test_shredder_shred_count"]) == 1
    assert run_shred_tasks_received(pretix) - tasks_before == 1  # one task queued, not one per POST
