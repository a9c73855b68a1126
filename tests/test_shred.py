"""POST of the shred URL and the shred itself: guards, policy, repeats, failures and restarts."""

import pytest
from django.db import InterfaceError, OperationalError
from pretix.base.models import CachedFile, LogEntry, Order
from pretix.base.shredder import EmailAddressShredder, ShredError

from pretix_shredder_api import tasks
from pretix_shredder_api.models import ShredderJob

from .helpers import fresh, job_url, long_ago, set_state, start_export

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(client, base_url, orders):
    return start_export(client, base_url)


def emails_left(event):
    return Order.objects.filter(event=event, email__isnull=False).count()


@pytest.mark.parametrize("state", ["waiting", "running"])
def test_shred_while_export_runs_is_409(client, job, state):
    set_state(job, export_state=state, export_progress=5, export_heartbeat=fresh())
    resp = client.post(job_url(job, "shred"), format="json")
    assert resp.status_code == 409
    assert resp.json() == {"status": state, "percentage": 5}
    assert ShredderJob.objects.get().shred_state == ""


def test_shred_of_failed_export_is_410(client, job):
    set_state(job, export_state="failed", export_message="Boom")
    resp = client.post(job_url(job, "shred"), format="json")
    assert resp.status_code == 410
    assert resp.json() == {"status": "failed", "message": "Boom"}


def test_event_back_online_is_400_and_nothing_starts(client, job, event):
    event.live = True
    event.save()
    resp = client.post(job_url(job, "shred"), format="json")
    assert resp.status_code == 400
    assert resp.json() == ["Your ticket shop needs to be offline to use this feature."]
    job.refresh_from_db()
    assert job.shred_state == ""
    assert emails_left(event) == 3


def test_changed_after_export_fails_with_pretix_message_and_keeps_the_export(client, job, event, orders):
    orders[0].log_action("pretix.event.order.comment", data={"comment": "changed"})
    resp = client.post(job_url(job, "shred"), format="json")
    assert resp.status_code == 202
    status = client.get(resp.json()["status"])
    assert status.status_code == 417
    assert status.json() == {
        "status": "failed",
        "message": "Something happened in your event after the export, please try again.",
    }
    assert emails_left(event) == 3
    assert client.get(job_url(job, "download")).status_code == 200
    assert not LogEntry.objects.filter(action_type__startswith="pretix.event.shredder.").exists()


def test_plugin_log_entries_do_not_count_as_changes(client, job, event, monkeypatch):
    calls = []
    original = EmailAddressShredder.shred_data

    def fail_once(self, progress_callback=None):
        calls.append(1)
        if len(calls) == 1:
            raise ShredError("Temporary problem.")
        return original(self, progress_callback=progress_callback)

    monkeypatch.setattr(EmailAddressShredder, "shred_data", fail_once)
    status_url = client.post(job_url(job, "shred"), format="json").json()["status"]
    assert client.get(status_url).json() == {"status": "failed", "message": "Temporary problem."}
    # The failed attempt logged "started" on the event; the retry must not treat that as a change.
    assert client.post(job_url(job, "shred"), format="json").json() == {"status": status_url}
    assert client.get(status_url).status_code == 200
    assert emails_left(event) == 0


@pytest.mark.parametrize(
    "error, message",
    [
        (RuntimeError("database exploded"), "Internal error"),
        (
            OperationalError("terminating connection due to administrator command"),
            "The data shredding stopped because the server lost its connection to the database. "
            "The export is still available: start the shred again to finish it.",
        ),
    ],
    ids=["internal", "database-connection-lost"],
)
def test_failed_shred_says_why_and_keeps_the_export_downloadable(client, job, event, monkeypatch, error, message):
    def broken(self, progress_callback=None):
        raise error

    monkeypatch.setattr(EmailAddressShredder, "shred_data", broken)
    status_url = client.post(job_url(job, "shred"), format="json").json()["status"]
    resp = client.get(status_url)
    assert resp.status_code == 417
    assert resp.json() == {"status": "failed", "message": message}
    assert client.get(job_url(job, "download")).status_code == 200
    assert CachedFile.objects.get().expires is not None


def test_outcome_is_recorded_once_the_database_is_back(monkeypatch):
    """A lost connection while writing the outcome: reconnect and write it again, until the retry time is over."""
    closed, calls = [], []
    monkeypatch.setattr(tasks.connection, "close", lambda: closed.append(True))
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: None)

    def record(*args):
        calls.append(args)
        if len(calls) < 3:
            raise InterfaceError("connection already closed")

    tasks.record_outcome(record, 7, "message")
    assert calls == [(7, "message")] * 3 and len(closed) == 2

    def never(*args):
        raise OperationalError("the database is down")

    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(tasks.time, "monotonic", lambda: next(clock))
    with pytest.raises(OperationalError):  # given up after RECORD_RETRY_SECONDS: the stale-job check takes over
        tasks.record_outcome(never, 7)


def test_repeated_post_while_queued_or_running_starts_nothing_new(client, job):
    status_url = "http://testserver" + job_url(job, "status")
    for state in ("waiting", "running"):
        set_state(job, shred_state=state, shred_heartbeat=fresh(), shred_attempt="the-running-one")
        resp = client.post(job_url(job, "shred"), format="json")
        assert resp.status_code == 202
        assert resp.json() == {"status": status_url}
        job.refresh_from_db()
        assert job.shred_attempt == "the-running-one" and job.shred_state == state


def test_stale_shred_is_failed_and_may_be_started_again(client, job, event):
    set_state(job, shred_state="running", shred_heartbeat=long_ago(), shred_attempt="dead-worker", shred_progress=30)
    status = client.get(job_url(job, "status"))
    assert status.status_code == 417
    assert "start the shred again" in status.json()["message"]
    assert client.get(job_url(job, "download")).status_code == 200

    assert client.post(job_url(job, "shred"), format="json").status_code == 202
    assert client.get(job_url(job, "status")).status_code == 200
    assert emails_left(event) == 0
    assert ShredderJob.objects.get().shred_attempt != "dead-worker"


def test_a_task_for_a_replaced_attempt_does_nothing(client, job, event):
    from pretix_shredder_api.tasks import run_shred

    set_state(job, shred_state="waiting", shred_heartbeat=fresh(), shred_attempt="current")
    run_shred.apply(args=(event.pk, job.pk, "an-older-attempt"))
    job.refresh_from_db()
    assert job.shred_state == "waiting" and emails_left(event) == 3


def test_a_task_that_waited_in_the_queue_too_long_does_not_run(client, job, event):
    from pretix_shredder_api.tasks import run_shred

    set_state(job, shred_state="waiting", shred_heartbeat=long_ago(), shred_attempt="queued")
    run_shred.apply(args=(event.pk, job.pk, "queued"))
    job.refresh_from_db()
    assert job.shred_state == "failed" and emails_left(event) == 3


def test_log_entries_attributed_to_oauth_application_and_user(user, organizer, base_url, orders, event):
    from .conftest import oauth_client

    client = oauth_client(user, organizer, scope="read write")
    job = start_export(client, base_url)
    client.post(job_url(job, "shred"), format="json")
    entries = LogEntry.objects.filter(action_type__startswith="pretix.event.shredder.")
    assert entries.count() == 2
    assert all(e.oauth_application == client.oauth_application and e.user == user for e in entries)
    assert all(e.event == event and e.api_token is None for e in entries)


def test_log_entries_attributed_to_session_user(session_client, user, base_url, orders):
    job = start_export(session_client, base_url)
    session_client.post(job_url(job, "shred"), format="json")
    entries = LogEntry.objects.filter(action_type__startswith="pretix.event.shredder.")
    assert entries.count() == 2 and all(e.user == user and e.api_token is None for e in entries)


class TestConfirmCodePolicy:
    @pytest.fixture
    def policy(self, event):
        event.enable_plugin("pretix_shredder_api")
        event.save()
        event.settings.shredder_api_require_confirm_code = True

    def test_missing_code_is_400(self, client, job, policy):
        resp = client.post(job_url(job, "shred"), format="json")
        assert resp.status_code == 400
        assert list(resp.json()) == ["confirm_code"]
        assert "CONFIRM_CODE.txt" in resp.json()["confirm_code"][0]
        assert ShredderJob.objects.get().shred_state == ""

    def test_wrong_code_is_400(self, client, job, policy):
        resp = client.post(job_url(job, "shred"), {"confirm_code": "WRONG1"}, format="json")
        assert resp.status_code == 400
        assert resp.json() == {"confirm_code": ["The confirm code you entered was incorrect."]}

    def test_right_code_shreds(self, client, job, policy, event):
        resp = client.post(job_url(job, "shred"), {"confirm_code": job.confirm_code}, format="json")
        assert resp.status_code == 202
        assert client.get(resp.json()["status"]).status_code == 200
        assert emails_left(event) == 0

    def test_policy_off_needs_no_code(self, client, job, event):
        event.enable_plugin("pretix_shredder_api")
        event.save()
        assert client.post(job_url(job, "shred"), format="json").status_code == 202

    def test_setting_without_plugin_enabled_does_not_apply(self, client, job, event):
        event.settings.shredder_api_require_confirm_code = True
        assert client.post(job_url(job, "shred"), format="json").status_code == 202


def test_recorded_progress_never_goes_down(client, job):
    from pretix_shredder_api.tasks import Progress

    row = ShredderJob.objects.filter(pk=job.pk)
    progress = Progress(row, "shred", parts=2, min_interval=0)
    seen = []
    for part, value in [(0, 0.83), (0, 1.66), (0, 50), (0, 40), (1, 0), (1, 10), (1, 5), (1, 100)]:
        progress(value, part)
        seen.append(row.get().shred_progress)
    assert seen == [0, 0, 25, 25, 50, 55, 55, 99]
    assert seen == sorted(seen)


def test_progress_writes_at_most_once_per_interval_and_keeps_the_highest_value(client, job):
    from pretix_shredder_api.tasks import Progress

    row = ShredderJob.objects.filter(pk=job.pk)
    clock = [100.0]
    progress = Progress(row, "shred", parts=1, min_interval=1.0, clock=lambda: clock[0])
    seen = []
    for at, value, extra in [
        (100.0, 10, None),  # first report: written
        (100.3, 20, None),  # within the interval: not yet
        (100.6, 30, None),
        (101.0, 25, None),  # interval over: the highest value so far (30) is written
        (101.2, 40, {"shred_steps": [{"label": "x", "done": False}]}),  # a new step is always written
        (101.4, 60, None),
        (102.5, 60, None),  # nothing new since the last write but 60 is unwritten: written now
        (104.0, 60, None),
    ]:
        clock[0] = at
        progress(value, extra=extra)
        seen.append(row.get().shred_progress)
    assert seen == [10, 10, 10, 30, 40, 40, 60, 60]
    assert row.get().shred_steps == [{"label": "x", "done": False}]


def test_progress_writes_the_start_of_a_new_part_at_once(client, job):
    """A slow shredder may report nothing for minutes after it starts: its start must not wait for the interval."""
    from pretix_shredder_api.tasks import Progress

    row = ShredderJob.objects.filter(pk=job.pk)
    clock = [100.0]
    progress = Progress(row, "export", parts=2, min_interval=1.0, clock=lambda: clock[0])
    seen = []
    for at, part, value in [(100.0, 0, 0), (100.1, 0, 80), (100.2, 1, 0), (100.3, 1, 10), (100.4, 1, 0)]:
        clock[0] = at
        progress(value, part)
        seen.append(row.get().export_progress)
    assert seen == [0, 0, 50, 50, 50]


def test_only_the_exports_shredders_run(client, job, event):
    from pretix.base.models import OrderPosition

    client.post(job_url(job, "shred"), format="json")
    assert emails_left(event) == 0
    assert OrderPosition.all.filter(order__event=event).exclude(attendee_name_cached=None).count() == 3


def test_export_is_held_while_the_shred_runs_and_steps_are_recorded(client, job, monkeypatch):
    seen = {}
    original = EmailAddressShredder.shred_data

    def watching(self, progress_callback=None):
        row = ShredderJob.objects.select_related("file").get(pk=job.pk)
        seen["expires"] = row.file.expires
        seen["state"], seen["steps"] = row.shred_state, row.shred_steps
        return original(self, progress_callback=progress_callback)

    monkeypatch.setattr(EmailAddressShredder, "shred_data", watching)
    client.post(job_url(job, "shred"), format="json")
    assert seen == {"expires": None, "state": "running", "steps": [{"label": "Emails", "done": False}]}
    assert ShredderJob.objects.get().shred_steps == [{"label": "Emails", "done": True}]


def test_a_queued_shred_keeps_the_export_past_its_expiry(client, job, monkeypatch):
    from datetime import timedelta

    from django.utils.timezone import now
    from freezegun import freeze_time

    from pretix_shredder_api.tasks import run_shred

    monkeypatch.setattr(run_shred, "apply_async", lambda *a, **kw: None)  # queued, no worker yet
    assert client.post(job_url(job, "shred"), format="json").status_code == 202
    with freeze_time(now() + timedelta(hours=3)):
        assert client.get(job_url(job, "download")).status_code == 200


def test_a_shred_that_cannot_be_queued_is_reported_failed(client, job, monkeypatch):
    from pretix_shredder_api.tasks import run_shred

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(run_shred, "apply_async", broker_down)
    status_url = client.post(job_url(job, "shred"), format="json").json()["status"]
    resp = client.get(status_url)
    assert resp.status_code == 417
    assert resp.json() == {
        "status": "failed",
        "message": "The job could not be queued for processing. Please try again.",
    }
    assert client.get(job_url(job, "download")).status_code == 200


def test_the_task_checks_the_event_again(client, job, event):
    from pretix_shredder_api.tasks import run_shred

    set_state(job, shred_state="waiting", shred_heartbeat=fresh(), shred_attempt="a1")
    event.live = True
    event.save()
    run_shred.apply(args=(event.pk, job.pk, "a1"))
    job.refresh_from_db()
    assert job.shred_state == "failed"
    assert job.shred_message == "Your ticket shop needs to be offline to use this feature."
    assert emails_left(event) == 3


def test_success_of_a_replaced_attempt_is_not_recorded(client, job):
    from pretix_shredder_api import jobs

    set_state(job, shred_state="running", shred_heartbeat=fresh(), shred_attempt="current")
    jobs.shred_succeeded(job, "replaced", [])
    jobs.shred_failed(job.pk, "replaced", "late failure")
    job.refresh_from_db()
    assert job.shred_state == "running" and job.file is not None


def test_failure_of_a_replaced_attempt_does_not_release_the_held_file(client, job):
    from pretix_shredder_api import jobs

    set_state(job, shred_state="running", shred_heartbeat=fresh(), shred_attempt="current")
    CachedFile.objects.filter(pk=job.file_id).update(expires=None)
    jobs.shred_failed(job.pk, "replaced", "late failure")
    assert CachedFile.objects.get(pk=job.file_id).expires is None


def test_another_jobs_shred_is_not_a_change_after_this_export(client, base_url, job, event):
    second = start_export(client, base_url, ["attendee_info"])
    assert client.get(client.post(job_url(job, "shred"), format="json").json()["status"]).status_code == 200
    assert client.get(client.post(job_url(second, "shred"), format="json").json()["status"]).status_code == 200


def test_confirm_code_pasted_with_whitespace_is_accepted(client, job, event):
    event.enable_plugin("pretix_shredder_api")
    event.save()
    event.settings.shredder_api_require_confirm_code = True
    resp = client.post(job_url(job, "shred"), {"confirm_code": f"  {job.confirm_code}\n"}, format="json")
    assert resp.status_code == 202


# -- the expiry race: the file expires or is deleted between request_shred's check and the hold (finding 19.11)


def _expire_after_the_check(monkeypatch, how):
    """Run ``how(file)`` right after request_shred's checks passed, as the clock or pretix's cleanup would."""
    from pretix_shredder_api import jobs

    original = jobs.check_event_constraints

    def then_expire(event):
        original(event)
        how(CachedFile.objects.get(pk=ShredderJob.objects.get().file_id))

    monkeypatch.setattr(jobs, "check_event_constraints", then_expire)


def _into_the_past(cf):
    from datetime import timedelta

    from django.utils.timezone import now

    CachedFile.objects.filter(pk=cf.pk).update(expires=now() - timedelta(seconds=1))


@pytest.mark.parametrize("how", [_into_the_past, CachedFile.delete], ids=["expired", "deleted"])
def test_a_file_that_expires_after_the_check_is_not_held_and_nothing_starts(client, job, event, monkeypatch, how):
    _expire_after_the_check(monkeypatch, how)
    resp = client.post(job_url(job, "shred"), format="json")
    assert resp.status_code == 404
    assert resp.json() == {"detail": "This export has expired."}
    job.refresh_from_db()
    assert (job.shred_state, job.shred_attempt, job.shred_heartbeat) == ("", "", None)
    assert not LogEntry.objects.filter(action_type__startswith="pretix.event.shredder").exists()
    assert emails_left(event) == 3
    expired = CachedFile.objects.filter(pk=job.file_id).first()
    assert expired is None or expired.expires is not None  # never given eternal life


def test_hold_export_file_only_holds_a_living_file(job):
    from datetime import timedelta

    from django.utils.timezone import now

    from pretix_shredder_api.jobs import hold_export_file

    CachedFile.objects.filter(pk=job.file_id).update(expires=now() - timedelta(seconds=1))
    assert hold_export_file(job) is False
    assert CachedFile.objects.get(pk=job.file_id).expires < now()
    CachedFile.objects.filter(pk=job.file_id).update(expires=now() + timedelta(minutes=5))
    assert hold_export_file(job) is True
    assert CachedFile.objects.get(pk=job.file_id).expires is None
    assert hold_export_file(job) is True  # held already (a retry after a failed shred that kept the hold)
    CachedFile.objects.filter(pk=job.file_id).delete()
    assert hold_export_file(job) is False
