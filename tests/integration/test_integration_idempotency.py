"""Retries of the export and shred POSTs with ``X-Idempotency-Key`` (pretix's own ``IdempotencyMiddleware`` under
/api/): the same key gives the same answer and starts exactly one export / one shred - retried one after the other,
concurrently, and after the first attempt's connection was cut before its answer arrived."""

import threading
import time

import pytest
import requests

from devtools.procs import wait_until

from .api import ApiClient, describe, job_public_id
from .conftest import builtin_api_only
from .invariant import assert_invariant

pytestmark = pytest.mark.integration

SHREDDERS = ["slow_test_shredder", "order_emails"]
PERSONAL = "Jane Doe, +49 30 1234567"
CONCURRENT = {"detail": "Concurrent request with idempotency key."}  # pretix's answer while the first is processed
PARALLEL = 6
CUT_AFTER_SECONDS = 0.001  # the first attempt's read timeout: its answer never arrives


@pytest.fixture(autouse=True)
def _plugin_only():
    if builtin_api_only():
        pytest.xfail("pretix's built-in API reports the export task as the shred's status")


def post(client, url: str, key: str, body: dict, **kwargs) -> requests.Response:
    return client.post(url, json=body, headers={"X-Idempotency-Key": key}, **kwargs)


def post_until_answered(client, url: str, key: str, body: dict, timeout: float = 30.0):
    """POSTs with ``key`` while pretix answers that a request with that key is still being processed (409, as the
    middleware means it: retry); returns (the answer, how many 409s came first)."""
    deadline = time.monotonic() + timeout
    conflicts = 0
    while True:
        response = post(client, url, key, body)
        if not (response.status_code == 409 and response.json() == CONCURRENT):
            return response, conflicts
        conflicts += 1
        assert time.monotonic() < deadline, f"still 409 after {timeout} s: {describe(response)}"
        time.sleep(0.1)


def parallel_posts(token: str, url: str, key: str, body: dict, count: int = PARALLEL):
    """``count`` clients POST at the same moment, each repeating while told a request with the key is in progress;
    returns [(answer, 409s seen)]."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def one(i):
        client = ApiClient(token)
        try:
            barrier.wait(timeout=30)
            results[i] = post_until_answered(client, url, key, body)
        except Exception as e:  # reported by the test, not lost in a thread
            errors.append(e)
        finally:
            client.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def cut_post(client, url: str, key: str, body: dict):
    """A POST whose answer never arrives: the client gives up before the server can answer (the server goes on)."""
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(client, url, key, body, timeout=(5, CUT_AFTER_SECONDS))


def event_jobs(orm, seeded_event) -> list[dict]:
    return orm.call("shredder_jobs", organizer=seeded_event["organizer"], event=seeded_event["event"])


def test_export_post_retried_with_the_same_key_starts_one_export(orm, seeded_event, api_client, shredder_api):
    url, body = f"{shredder_api.base_url}export/", {"shredders": SHREDDERS}

    first = post(api_client, url, "export-1", body)
    assert first.status_code == 202, describe(first)
    again = post(api_client, url, "export-1", body)
    assert (again.status_code, again.json()) == (202, first.json())
    assert [j["public_id"] for j in event_jobs(orm, seeded_event)] == [job_public_id(first.json()["download"])]

    answers = parallel_posts(seeded_event["token"], url, "export-2", body)
    bodies = {(r.status_code, r.text) for r, _ in answers}
    assert len(bodies) == 1 and answers[0][0].status_code == 202, bodies
    jobs = event_jobs(orm, seeded_event)
    assert [j["public_id"] for j in jobs[1:]] == [job_public_id(answers[0][0].json()["download"])]
    conflicts = sum(c for _, c in answers)

    cut_post(api_client, url, "export-3", body)
    wait_until(lambda: len(event_jobs(orm, seeded_event)) == 3, timeout=10, message="the cut POST's export exists")
    retried, retry_conflicts = post_until_answered(api_client, url, "export-3", body)
    assert retried.status_code == 202, describe(retried)
    jobs = event_jobs(orm, seeded_event)
    assert [j["public_id"] for j in jobs[2:]] == [job_public_id(retried.json()["download"])]

    other = post(api_client, url, "export-4", body)  # a new key is a new request
    assert other.status_code == 202 and other.json() != first.json(), describe(other)
    assert len(event_jobs(orm, seeded_event)) == 4
    for urls in (first.json(), answers[0][0].json(), retried.json(), other.json()):
        assert shredder_api.wait_download(urls["download"], timeout=60)[0].status_code == 200
    print(
        f"\nexport POST retries: sequential 1 job; {PARALLEL} parallel 1 job ({conflicts} answers 409 'concurrent' "
        f"first); cut after {CUT_AFTER_SECONDS} s then retried 1 job ({retry_conflicts} x 409 first)"
    )


def test_shred_post_retried_with_the_same_key_starts_one_shred(
    orm, seeded_event, api_client, shredder_api, shredder_trace, slow_shredder
):
    slow_shredder(seconds=1, personal_data=PERSONAL)
    urls = shredder_api.start_export(SHREDDERS)
    early = post(api_client, urls["shred"], "shred-1", {})  # the export still runs: 409, which pretix does not store
    assert early.status_code == 409 and early.json()["status"] in ("waiting", "running"), describe(early)
    shredder_api.wait_download(urls["download"], timeout=60)
    public_id = job_public_id(urls["download"])
    slow_shredder(seconds=3)  # still running while it is retried

    cut_post(api_client, urls["shred"], "shred-1", {})
    job = wait_until(
        lambda: next(j for j in event_jobs(orm, seeded_event) if j["shred_state"]),
        timeout=10,
        message="the cut POST's shred is queued",
        ignore=(StopIteration,),
    )
    attempt = job["shred_attempt"]
    retried, conflicts = post_until_answered(api_client, urls["shred"], "shred-1", {})
    assert retried.status_code == 202, describe(retried)
    status_url = retried.json()["status"]
    assert job_public_id(status_url) == public_id
    again = post(api_client, urls["shred"], "shred-1", {})
    assert (again.status_code, again.json()) == (202, retried.json())
    other = post(api_client, urls["shred"], "shred-2", {})  # a new key: our answer for a shred under way
    assert (other.status_code, other.json()) == (202, retried.json())
    assert [j["shred_attempt"] for j in event_jobs(orm, seeded_event)] == [attempt]  # nothing new was started

    done, _ = shredder_api.wait_status(status_url, timeout=60)
    assert done.json() == {"status": "ok", "message": "OK"}
    after = post(api_client, urls["shred"], "shred-3", {})
    assert (after.status_code, after.json()) == (404, {"detail": "This export has been shredded."})
    replayed = post(api_client, urls["shred"], "shred-1", {})  # the stored answer, as pretix replays every key
    assert (replayed.status_code, replayed.json()) == (202, retried.json())

    log = orm.call("shredder_job", public_id=public_id)["log"]
    assert log.get("pretix.event.shredder.started") == 1 and log.get("pretix.event.shredder.completed") == 1, log
    assert len(shredder_trace.records("shred", "started")) == 1
    assert [j["shred_attempt"] for j in event_jobs(orm, seeded_event)] == [attempt]
    outcome = assert_invariant(orm, seeded_event, shredder_api, {**urls, "status": status_url}, SHREDDERS)
    assert outcome.status == "ok"
    print(f"\nshred POST cut after {CUT_AFTER_SECONDS} s, retried ({conflicts} x 409 first): one shred; {outcome}")


def test_parallel_shred_posts_with_the_same_key_start_one_shred(
    orm, seeded_event, shredder_api, shredder_trace, slow_shredder
):
    slow_shredder(seconds=0, personal_data=PERSONAL)
    urls = shredder_api.start_export(SHREDDERS)
    shredder_api.wait_download(urls["download"], timeout=60)
    slow_shredder(seconds=1)

    answers = parallel_posts(seeded_event["token"], urls["shred"], "shred-parallel", {})
    bodies = {(r.status_code, r.text) for r, _ in answers}
    assert len(bodies) == 1 and answers[0][0].status_code == 202, bodies
    status_url = answers[0][0].json()["status"]
    done, _ = shredder_api.wait_status(status_url, timeout=60)
    assert done.json() == {"status": "ok", "message": "OK"}

    log = orm.call("shredder_job", public_id=job_public_id(status_url))["log"]
    assert log.get("pretix.event.shredder.started") == 1, log
    assert len(shredder_trace.records("shred", "started")) == 1
    outcome = assert_invariant(orm, seeded_event, shredder_api, {**urls, "status": status_url}, SHREDDERS)
    assert outcome.status == "ok"
    conflicts = sum(c for _, c in answers)
    print(
        f"\n{PARALLEL} parallel shred POSTs, one key: one shred ({conflicts} answers 409 'concurrent' first); {outcome}"
    )
