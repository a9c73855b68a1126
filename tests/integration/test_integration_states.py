"""The states a client polls are truthful under Celery: waiting, then running with a percentage (and steps), then
done only once the work is really done; failures carry the shredder's own reason."""

import io
import json
import zipfile

import pytest

from devtools.procs import wait_until

from .api import describe, job_public_id
from .conftest import STALE_AFTER_SECONDS, builtin_api_only
from .progression import body_problems, observe_all, poll_for, progression_problems, summary

pytestmark = pytest.mark.integration

# The slow shredder first: if the status said "ok" before it finished, the e-mails would still be there.
SHREDDERS = ["slow_test_shredder", "order_emails", "question_answers"]
LABELS = ["Slow test shredder", "Emails", "Question answers"]
PERSONAL_DATA = "Jane Doe, +49 30 1234567"
QUEUED_POLL_SECONDS = 0.6  # well below STALE_AFTER_SECONDS: a queued job is not stale yet


def shred_log(job) -> dict:
    """The job's log entries but its downloads (each download of the export is logged too, issue 22 item 9)."""
    return {k: v for k, v in job["log"].items() if k != "pretix_shredder_api.export.downloaded"}


@pytest.fixture(autouse=True)
def _plugin_only():
    if builtin_api_only():
        pytest.xfail("pretix's built-in API reports the export task's state and has no steps")


@pytest.fixture
def all_workers(pretix):
    return [w.name for w in pretix.workers]


def personal_data_left(orm, seeded_event) -> dict:
    """What the selected shredders should remove, as it is in the database right now."""
    snapshot = orm.call("event_snapshot", organizer=seeded_event["organizer"], event=seeded_event["event"])
    positions = [p for order in snapshot["orders"] for p in order["positions"]]
    settings = orm.call(
        "get_event_settings",
        organizer=seeded_event["organizer"],
        event=seeded_event["event"],
        keys=["slow_test_shredder_personal_data", "slow_test_shredder_shred_count"],
    )
    return {
        "order_emails": [o["email"] for o in snapshot["orders"] if o["email"]],
        "attendee_emails": [p["attendee_email"] for p in positions if p["attendee_email"]],
        "answers": [a for p in positions for a in p["answers"]],
        "test_shredder_data": settings["slow_test_shredder_personal_data"],
        "test_shredder_runs": int(settings["slow_test_shredder_shred_count"] or 0),
    }


def written_history(progress_recorder, job_id: int, phase: str) -> list[int]:
    """Not only the polled samples: every state and percentage the job row held. Waiting, then running with
    percentages that never go down, then succeeded; returns the running percentages."""
    history = progress_recorder.history(job_id, phase)
    states = [state for _attempt, state, _percentage in history]
    assert states[0] == "waiting" and states[-1] == "succeeded", history
    assert set(states[1:-1]) == {"running"}, history
    running = progress_recorder.percentages(job_id, phase)
    assert running == sorted(running), history
    return running


def finished_export(shredder_api, shredders) -> dict:
    urls = shredder_api.start_export(shredders)
    shredder_api.wait_download(urls["download"], timeout=60)
    return urls


def test_download_is_waiting_then_running_then_200(
    orm, celery_control, all_workers, shredder_api, shredder_trace, slow_shredder, progress_recorder
):
    slow_shredder(seconds=2)

    with celery_control.paused(all_workers):
        urls = shredder_api.start_export(["question_answers", "slow_test_shredder"])
        queued = poll_for(shredder_api.client, urls["download"], QUEUED_POLL_SECONDS)
    final, seen = shredder_api.wait_download(urls["download"], timeout=60, interval=0.15)
    finished = shredder_trace.records("export", "finished")

    observations = observe_all(queued + seen)
    print(f"\nexport/download: {summary(observations)}")
    assert progression_problems(observations) == [], summary(observations)
    assert body_problems(queued + seen, steps=False) == []
    assert {o.status for o in observations[: len(queued)]} == {"waiting"}, summary(observations)
    running = [o for o in observations if o.status == "running"]
    assert running, f"never reported running: {summary(observations)}"
    assert max(o.percentage for o in running) == 50  # question_answers done, the slow shredder at work
    assert finished, "download answered 200 before the test shredder finished its export"
    assert final.headers["Content-Type"].startswith("application/zip"), describe(final)
    job = orm.call("shredder_job", public_id=job_public_id(urls["download"]))
    assert 50 in written_history(progress_recorder, job["id"], "export")


def test_status_is_waiting_then_running_with_steps_and_200_once_the_data_is_gone(
    orm, seeded_event, celery_control, all_workers, shredder_api, shredder_trace, slow_shredder, progress_recorder
):
    slow_shredder(personal_data=PERSONAL_DATA)
    urls = finished_export(shredder_api, SHREDDERS)
    with zipfile.ZipFile(io.BytesIO(shredder_api.download(urls["download"]).content)) as archive:
        assert json.loads(archive.read("slow_test_shredder/summary.json"))["personal_data"] == PERSONAL_DATA
    before = personal_data_left(orm, seeded_event)
    assert before["order_emails"] and before["answers"] and before["test_shredder_data"] == PERSONAL_DATA
    slow_shredder(seconds=2)

    with celery_control.paused(all_workers):
        status_url = shredder_api.start_shred(urls["shred"])
        queued = poll_for(shredder_api.client, status_url, QUEUED_POLL_SECONDS)
    final, seen = shredder_api.wait_status(status_url, timeout=60, interval=0.15)
    # The moment the status first says 200: is the data really gone, and the shred logged?
    left = personal_data_left(orm, seeded_event)
    job = orm.call("shredder_job", public_id=job_public_id(status_url))

    observations = observe_all(queued + seen)
    print(f"\nshred/status: {summary(observations)}")
    assert final.json() == {"status": "ok", "message": "OK"}
    assert progression_problems(observations, labels=LABELS) == [], summary(observations)
    assert body_problems(queued + seen, steps=True) == []
    assert {(o.status, o.steps) for o in observations[: len(queued)]} == {("waiting", ())}, summary(observations)
    running = [o for o in observations if o.status == "running"]
    assert any(o.steps and o.percentage > 0 for o in running), f"no progress while running: {summary(observations)}"
    assert left == {
        "order_emails": [],
        "attendee_emails": [],
        "answers": [],
        "test_shredder_data": None,
        "test_shredder_runs": 1,
    }
    assert job["shred_state"] == "succeeded", job
    assert shred_log(job) == {"pretix.event.shredder.started": 1, "pretix.event.shredder.completed": 1}, job
    assert len(shredder_trace.records("shred", "finished")) == 1
    assert written_history(progress_recorder, job["id"], "shred")[-1] <= 99
    gone = shredder_api.download(urls["download"])
    assert gone.status_code == 404, describe(gone)  # the export is deleted with the data


@pytest.mark.parametrize(
    ("kind", "message"),
    [("shred_error", "slow_test_shredder: shred failed on purpose"), ("internal", "Internal error")],
)
def test_failing_shred_is_417_with_the_shredders_reason(
    orm, seeded_event, shredder_api, shredder_trace, slow_shredder, kind, message
):
    urls = finished_export(shredder_api, SHREDDERS)
    slow_shredder(seconds=0.5, fail_shred=True, fail_kind=kind)

    status_url = shredder_api.start_shred(urls["shred"])
    failed, seen = shredder_api.wait_status(status_url, done=(417,), timeout=60, interval=0.15)

    observations = observe_all(seen)
    print(f"\nfailing shred ({kind}): {summary(observations)}")
    assert progression_problems(observations, final=417, labels=LABELS) == [], summary(observations)
    assert failed.json() == {"status": "failed", "message": message}
    assert shredder_trace.records("shred", "failed")
    left = personal_data_left(orm, seeded_event)
    assert left["order_emails"] and left["answers"], left  # the shredders after the failing one never ran
    job = orm.call("shredder_job", public_id=job_public_id(status_url))
    assert shred_log(job) == {"pretix.event.shredder.started": 1, "pretix_shredder_api.shred.failed": 1}, job
    again = shredder_api.download(urls["download"])
    assert again.status_code == 200, describe(again)  # a failed shred leaves the export downloadable


@pytest.mark.parametrize(
    ("kind", "message"),
    [("shred_error", "slow_test_shredder: export failed on purpose"), ("internal", "Internal error")],
)
def test_failing_export_is_410_with_its_reason(shredder_api, slow_shredder, kind, message):
    slow_shredder(seconds=0.5, fail_export=True, fail_kind=kind)
    urls = shredder_api.start_export(["question_answers", "slow_test_shredder"])

    failed, seen = shredder_api.wait_download(urls["download"], done=(410,), timeout=60, interval=0.15)

    observations = observe_all(seen)
    print(f"\nfailing export ({kind}): {summary(observations)}")
    assert progression_problems(observations, final=410) == [], summary(observations)
    assert failed.json() == {"status": "failed", "message": message}
    shred = shredder_api.shred(urls["shred"])
    assert shred.status_code == 410, describe(shred)
    assert shred.json() == {"status": "failed", "message": message}


def worker_refused(progress_recorder, job_id: int, phase: str, attempt: str = "") -> bool:
    """A worker took the queued task and failed it instead of starting it (the row says failed)."""
    return (attempt, "failed") in [(a, state) for a, state, _p in progress_recorder.history(job_id, phase)]


def test_export_queued_longer_than_the_queue_limit_is_410_and_never_starts(
    orm, celery_control, all_workers, shredder_api, shredder_trace, slow_shredder, progress_recorder
):
    """docs/installation.rst, production: a task that sat in the queue longer than the queue limit does not start at
    all, and the job is reported failed (as for a message Redis lost), not waiting forever."""
    slow_shredder(seconds=0.5)
    with celery_control.paused(all_workers):
        urls = shredder_api.start_export(["slow_test_shredder"])
        failed, seen = shredder_api.wait_download(
            urls["download"], done=(410,), timeout=STALE_AFTER_SECONDS + 5, interval=0.25
        )
    observations = observe_all(seen)
    print(f"\nexport queued behind busy workers: {summary(observations)}: {failed.json()['message']}")
    assert progression_problems(observations, final=410) == [], summary(observations)
    assert {o.status for o in observations[:-1]} == {"waiting"}, summary(observations)
    assert failed.json()["status"] == "failed" and failed.json()["message"], describe(failed)

    job = orm.call("shredder_job", public_id=job_public_id(urls["download"]))
    wait_until(
        lambda: worker_refused(progress_recorder, job["id"], "export"),
        timeout=30,
        message="a worker took the stale export task and failed it",
    )
    assert not shredder_trace.records("export", "started")
    again = shredder_api.download(urls["download"])
    assert again.status_code == 410 and again.json() == failed.json(), describe(again)


def test_shred_queued_longer_than_the_queue_limit_is_417_never_starts_and_can_be_started_again(
    orm, celery_control, all_workers, shredder_api, shredder_trace, progress_recorder
):
    urls = finished_export(shredder_api, ["slow_test_shredder", "order_emails"])
    with celery_control.paused(all_workers):
        status_url = shredder_api.start_shred(urls["shred"])
        failed, seen = shredder_api.wait_status(status_url, done=(417,), timeout=STALE_AFTER_SECONDS + 5, interval=0.25)
    observations = observe_all(seen)
    print(f"\nshred queued behind busy workers: {summary(observations)}: {failed.json()['message']}")
    assert progression_problems(observations, final=417, labels=LABELS) == [], summary(observations)
    assert {o.status for o in observations[:-1]} == {"waiting"}, summary(observations)
    assert failed.json()["status"] == "failed" and failed.json()["message"], describe(failed)

    job = orm.call("shredder_job", public_id=job_public_id(status_url))
    wait_until(
        lambda: worker_refused(progress_recorder, job["id"], "shred", job["shred_attempt"]),
        timeout=30,
        message="a worker took the stale shred task and failed it",
    )
    assert not shredder_trace.records("shred", "started")
    assert shredder_api.start_shred(urls["shred"]) == status_url
    done, _ = shredder_api.wait_status(status_url, timeout=60)
    assert done.json() == {"status": "ok", "message": "OK"}
    assert len(shredder_trace.records("shred", "started")) == 1


def test_percentage_never_goes_down_on_an_event_with_many_orders(orm, seeded_event, shredder_api, progress_recorder):
    orm.call("add_orders", organizer=seeded_event["organizer"], event=seeded_event["event"], count=1200)
    urls = finished_export(shredder_api, ["phone_numbers"])

    status_url = shredder_api.start_shred(urls["shred"])
    done, _ = shredder_api.wait_status(status_url, timeout=60)

    assert done.json() == {"status": "ok", "message": "OK"}
    job = orm.call("shredder_job", public_id=job_public_id(status_url))
    written = progress_recorder.percentages(job["id"], "shred")
    print(f"\nphone_numbers on 1203 orders, percentages written while running: {written[:8]} ... {written[-3:]}")
    assert written == sorted(written), written
