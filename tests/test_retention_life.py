"""The life of a scheduled shred, walked with freezegun in eager mode: policy set → scheduled → notice (export and
mail) → postponed → shred → data gone → job visible; cancel; the event reopened; failure and retry; two runs at once.
"""

from datetime import timedelta

import pytest
from django.core import mail as djmail
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.models import CachedFile, LogEntry, Order

from pretix_shredder_api import labels, retention
from pretix_shredder_api.models import ScheduledShred, ShredderJob

from .conftest import token_client

pytestmark = pytest.mark.django_db

DAYS, NOTICE = 40, 7  # the event (date_from) ended 30 days before the fixtures were made: due in ~10 days


@pytest.fixture
def clock():
    with freeze_time(now()) as frozen:
        yield frozen


@pytest.fixture
def policy(organizer, event, orders, user):
    retention.update_policy(
        organizer,
        {"enabled": True, "shredders": ["order_emails"], "days_after_event": DAYS, "notice_days": NOTICE},
    )
    organizer.settings.flush()
    return retention.policy_of(event)


def due_of(event):
    return event.date_from + timedelta(days=DAYS)


def emails_left(event):
    return Order.objects.filter(event=event, email__isnull=False).count()


def schedule_of(event):
    return ScheduledShred.objects.get(event=event)


def actions(schedule):
    return list(
        LogEntry.objects.filter(object_id=schedule.pk, action_type__startswith="pretix_shredder_api.schedule.")
        .order_by("pk")
        .values_list("action_type", flat=True)
    )


def test_whole_life_with_postpone(clock, policy, event, token):
    client = token_client(token)
    schedule_url = f"/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/shredders/schedule/"

    # the event is over and the policy on: the first run plans the shred, nothing else happens
    assert retention.run_schedule() == {"created": 1, "steps": 0}
    s = schedule_of(event)
    assert (s.state, s.due, s.notice_at) == ("scheduled", due_of(event), due_of(event) - timedelta(days=NOTICE))
    assert djmail.outbox == [] and ShredderJob.objects.count() == 0

    # one minute before the notice time: still nothing
    clock.move_to(s.notice_at - timedelta(minutes=1))
    retention.run_schedule()
    assert schedule_of(event).state == "scheduled" and djmail.outbox == []

    # notice time: the export is made (owned by the policy) and the admin mailed with the date and the page
    clock.move_to(s.notice_at + timedelta(minutes=1))
    retention.run_schedule()
    s = schedule_of(event)
    assert s.state == "noticed" and s.notice_sent == now()
    job = s.job
    assert (job.owner, job.export_state, job.shredders) == ("policy:bigevents", "succeeded", ["order_emails"])
    assert CachedFile.objects.get(pk=job.file_id).expires >= s.due  # downloadable for the whole notice period
    assert len(djmail.outbox) == 1
    notice = djmail.outbox[0]
    assert notice.to == ["admin@example.org"]
    due_text = labels.datetime_text(s.due, event.timezone)
    assert notice.subject == f"Personal data of Sample Conference will be shredded on {due_text}"
    assert "/control/event/bigevents/sampleconf/shredder-api/retention/" in notice.body
    assert emails_left(event) == 3

    resp = client.get(schedule_url)
    assert resp.status_code == 200
    assert resp.json() == {
        "state": "noticed",
        "due": s.due.isoformat(),
        "notice_at": s.notice_at.isoformat(),
        "notice_sent": s.notice_sent.isoformat(),
        "postponed": False,
        "shredders": ["order_emails"],
        "attempts": 0,
        "last_error": "",
        "last_error_code": None,
        "scheduled_by": {"level": "organizer", "organizer": "bigevents", "event": None, "set_by": None},
        "export": "succeeded",
        "shred": None,
    }

    # an admin postpones by 5 days through the API; the export is kept until then
    new_day = (s.due + timedelta(days=5)).date()
    resp = client.post(schedule_url + "postpone/", {"date": new_day.isoformat()}, format="json")
    assert resp.status_code == 200, resp.content
    new_due = retention.start_of_day(new_day, event)
    assert resp.json()["due"] == new_due.isoformat() and resp.json()["postponed"] is True
    assert CachedFile.objects.get(pk=job.file_id).expires >= new_due

    # the original due date passes: nothing is shredded
    clock.move_to(s.due + timedelta(minutes=5))
    retention.run_schedule()
    assert schedule_of(event).state == "noticed" and emails_left(event) == 3

    # the new due date: the export is shredded, the data is gone, the job is visible as done
    clock.move_to(new_due + timedelta(minutes=5))
    retention.run_schedule()
    s = schedule_of(event)
    assert s.state == "done"
    assert emails_left(event) == 0
    job.refresh_from_db()
    assert job.shred_state == "succeeded" and job.file_id is None
    logged = LogEntry.objects.filter(event=event, action_type__startswith="pretix.event.shredder.").order_by("pk")
    assert [(e.action_type, e.parsed_data["policy"], e.user, e.api_token) for e in logged] == [
        ("pretix.event.shredder.started", "bigevents", None, None),
        ("pretix.event.shredder.completed", "bigevents", None, None),
    ]
    assert actions(s) == [
        "pretix_shredder_api.schedule.created",
        "pretix_shredder_api.schedule.export_started",
        "pretix_shredder_api.schedule.notice_sent",
        "pretix_shredder_api.schedule.postponed",
        "pretix_shredder_api.schedule.shred_started",
        "pretix_shredder_api.schedule.done",
    ]
    postponed = LogEntry.objects.get(action_type="pretix_shredder_api.schedule.postponed")
    assert postponed.api_token == token and postponed.parsed_data["due"] == new_due.isoformat()
    assert [m.subject for m in djmail.outbox[1:]] == ["The personal data of Sample Conference has been shredded"]
    assert client.get(schedule_url).json()["state"] == "done"

    # done is final: later runs schedule nothing new
    clock.move_to(new_due + timedelta(days=30))
    assert retention.run_schedule() == {"created": 0, "steps": 0}


def test_cancelled_shred_never_runs(clock, policy, event, token):
    client = token_client(token)
    url = f"/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/shredders/schedule/cancel/"
    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    retention.run_schedule()
    resp = client.post(url, format="json")
    assert resp.status_code == 200 and resp.json()["state"] == "cancelled"
    for days in (1, 10, 100):
        clock.move_to(due_of(event) + timedelta(days=days))
        assert retention.run_schedule() == {"created": 0, "steps": 0}
    assert schedule_of(event).state == "cancelled" and emails_left(event) == 3
    assert ShredderJob.objects.get().shred_state == ""
    assert client.post(url, format="json").status_code == 409
    assert LogEntry.objects.get(action_type="pretix_shredder_api.schedule.cancelled").api_token == token


def test_event_reopened_before_due_is_dropped_and_planned_again_later(clock, policy, event):
    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    retention.run_schedule()
    assert schedule_of(event).state == "noticed"

    # the event gets a later end: it is not over any more, the schedule is dropped, nothing is shredded
    event.date_to = now() + timedelta(days=20)
    event.save()
    clock.move_to(due_of(event) + timedelta(minutes=5))
    retention.run_schedule()
    dropped = ScheduledShred.objects.get(event=event)
    assert (dropped.state, dropped.last_error) == ("dropped", "reason:event_reopened")  # a key, see test_reasons
    assert emails_left(event) == 3

    # once it is over again, a new schedule is planned from the new end
    clock.move_to(event.date_to + timedelta(hours=1))
    assert retention.run_schedule()["created"] == 1
    new = ScheduledShred.objects.exclude(pk=dropped.pk).get(event=event)
    assert new.state == "scheduled" and new.due == event.date_to + timedelta(days=DAYS)


def test_shop_online_at_due_fails_reports_once_and_retries_until_it_works(clock, policy, event):
    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    retention.run_schedule()
    event.live = True
    event.save()
    djmail.outbox.clear()

    clock.move_to(due_of(event) + timedelta(minutes=5))
    retention.run_schedule()
    s = schedule_of(event)
    assert (s.state, s.attempts, s.last_error) == ("failed", 1, "reason:shop_online")
    assert emails_left(event) == 3
    assert len(djmail.outbox) == 1 and "failed" in djmail.outbox[0].subject
    assert "The ticket shop of this event is online" in djmail.outbox[0].body
    assert "/control/event/bigevents/sampleconf/live/" in djmail.outbox[0].body  # the next step's link

    # the next period retries (and fails again: logged, not mailed a second time)
    clock.tick(timedelta(minutes=10))
    retention.run_schedule()
    assert schedule_of(event).attempts == 2 and len(djmail.outbox) == 1
    assert actions(s).count("pretix_shredder_api.schedule.failed") == 2

    # the shop goes offline (nothing else changed): the same export is announced again with a full notice period
    event.live = False
    event.save()
    clock.tick(timedelta(minutes=10))
    retention.run_schedule()
    s = schedule_of(event)
    assert (s.state, s.notice_sent, s.due) == ("noticed", now(), now() + timedelta(days=NOTICE))
    assert emails_left(event) == 3
    assert [m.subject.split(" will")[0] for m in djmail.outbox[1:]] == ["Personal data of Sample Conference"]

    # and shredded once that notice period is over
    clock.move_to(s.due + timedelta(minutes=1))
    retention.run_schedule()
    s = schedule_of(event)
    assert s.state == "done" and emails_left(event) == 0
    assert ShredderJob.objects.get() == s.job and s.job.shred_state == "succeeded"


def test_changed_after_export_is_reported_then_reexported_and_shredded(clock, policy, event, orders):
    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    retention.run_schedule()
    first = schedule_of(event).job
    clock.tick(timedelta(days=1))
    orders[0].log_action("pretix.event.order.comment", data={"comment": "changed"})
    djmail.outbox.clear()

    clock.move_to(due_of(event) + timedelta(minutes=5))
    retention.run_schedule()
    s = schedule_of(event)
    assert (s.state, s.last_error) == ("failed", "reason:changed_after_export")
    assert emails_left(event) == 3 and len(djmail.outbox) == 1
    first.refresh_from_db()
    assert first.shred_state == ""  # never shredded from the stale export

    clock.tick(timedelta(minutes=10))
    retention.run_schedule()  # retry: a new export, announced with a full notice period (admins get the new file)
    s = schedule_of(event)
    assert (s.state, s.notice_sent, s.due) == ("noticed", now(), now() + timedelta(days=NOTICE))
    assert s.job != first and emails_left(event) == 3
    assert "will be shredded" in djmail.outbox[-1].subject

    clock.move_to(s.due + timedelta(minutes=1))
    retention.run_schedule()
    s = schedule_of(event)
    assert s.state == "done" and s.job != first and emails_left(event) == 0


def test_export_failure_is_reported_and_retried_at_the_next_period(clock, policy, event, monkeypatch):
    from pretix_shredder_api import archive

    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    real = archive.build_into_cachedfile

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(archive, "build_into_cachedfile", broken)
    retention.run_schedule()
    s = schedule_of(event)
    assert (s.state, s.attempts, s.last_error) == ("failed", 1, "reason:export_failed:Internal error")
    assert s.job.export_state == "failed" and s.notice_sent is None
    assert [m.subject for m in djmail.outbox] == ["The scheduled data shred of Sample Conference failed"]
    assert "Internal error" in djmail.outbox[0].body

    monkeypatch.setattr(archive, "build_into_cachedfile", real)
    clock.tick(timedelta(minutes=10))
    retention.run_schedule()
    s = schedule_of(event)
    assert s.state == "noticed" and s.job.export_state == "succeeded" and s.notice_sent is not None
    assert ShredderJob.objects.count() == 2
    assert [m.subject.split(" will")[0] for m in djmail.outbox[1:]] == ["Personal data of Sample Conference"]


def test_policy_switched_off_drops_the_schedule(clock, policy, event, organizer):
    retention.run_schedule()
    retention.update_policy(event, {"enabled": False})
    event.settings.flush()
    clock.move_to(due_of(event) + timedelta(minutes=5))
    retention.run_schedule()
    assert schedule_of(event).state == "dropped" and emails_left(event) == 0 + 3
    # an event override of "off" keeps it from being planned again
    assert retention.run_schedule()["created"] == 0


def test_two_runs_at_once_take_a_step_once(clock, policy, event):
    """Both runs read the schedule before either writes (as two cron hosts would): one export, one shred."""
    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    a, b = schedule_of(event), schedule_of(event)
    assert retention._start_export(a) is True
    assert retention._start_export(b) is False
    assert ShredderJob.objects.count() == 1

    retention.advance(a.pk)  # export finished → noticed
    clock.move_to(due_of(event) + timedelta(minutes=5))
    a, b = schedule_of(event), schedule_of(event)
    assert retention._start_shred(a) is True
    assert retention._start_shred(b) is False
    assert ShredderJob.objects.get().shred_state == "succeeded"
    assert LogEntry.objects.filter(action_type="pretix.event.shredder.completed").count() == 1


def test_a_second_schedule_for_the_same_event_is_refused(clock, policy, event):
    assert retention.create_schedule(event) is not None
    assert retention.create_schedule(event) is None  # the partial unique constraint
    assert ScheduledShred.objects.filter(event=event).count() == 1


def test_periodic_task_runs_the_scheduler(clock, policy, event):
    from pretix.base.signals import periodic_task

    assert any(key[0] == "shredder_api_retention" for key, *_rest in periodic_task.receivers)
    periodic_task.send(sender=None)  # what pretix's runperiodic does
    assert schedule_of(event).state == "scheduled"


def test_the_scheduler_runs_without_a_scope(clock, policy, event):
    """pretix's runperiodic calls receivers with no organizer scope active."""
    from django_scopes import ScopeError, scope
    from pretix.base.models import Event

    with scope():
        with pytest.raises(ScopeError):
            list(Event.objects.all())
        assert retention.run_schedule() == {"created": 1, "steps": 0}


def test_postpone_wins_over_a_run_that_moved_the_schedule_meanwhile(clock, policy, event):
    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    stale = schedule_of(event)  # read by the page before the periodic run below moves it on
    retention.run_schedule()
    assert schedule_of(event).state == "noticed"
    until = stale.due + timedelta(days=3)
    s = retention.postpone(stale, until)
    assert (s.state, s.due) == ("noticed", until)
    assert CachedFile.objects.get(pk=s.job.file_id).expires == until + timedelta(hours=2)


def test_failure_and_notice_have_log_texts_and_webhook_payloads(clock, policy, event):
    from pretix.api.webhooks import get_all_webhook_events

    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    retention.run_schedule()
    event.live = True
    event.save()
    clock.move_to(due_of(event) + timedelta(minutes=5))
    retention.run_schedule()
    s = schedule_of(event)
    entries = {e.action_type: e for e in LogEntry.objects.filter(object_id=s.pk, content_type__model="scheduledshred")}
    failed = entries["pretix_shredder_api.schedule.failed"]
    policy = "Retention policy of organizer “Big Events”"  # set without a user (the fixture): nobody to name
    assert str(failed.display()) == (
        f"The removal of personal data scheduled by {policy} failed (attempt 1): The ticket shop of this event is "
        "online; pretix shreds personal data only while the shop is offline. Take the shop offline. The shred is "
        "then announced again, with the full notice."
    )
    notice = entries["pretix_shredder_api.schedule.notice_sent"]
    assert str(notice.display()) == f"{policy} sent the notice of the removal on {s.due.date().isoformat()}."

    hooks = get_all_webhook_events()
    payload = hooks[failed.action_type].build_payload(failed)
    assert {k: v for k, v in payload.items() if k not in ("notification_id", "datetime")} == {
        "organizer": event.organizer.slug,
        "event": event.slug,
        "action": "pretix_shredder_api.schedule.failed",
        "due": s.due.isoformat(),
        "shredders": ["order_emails"],
        "message": "The ticket shop of this event is online; pretix shreds personal data only while the shop is "
        "offline. Take the shop offline. The shred is then announced again, with the full notice.",
        "reason": "shop_online",
        "attempt": 1,
        "retention_policy": {"level": "organizer", "organizer": "bigevents", "event": None, "set_by": None},
    }
    assert hooks[notice.action_type].build_payload(notice)["action"] == "pretix_shredder_api.schedule.notice_sent"
