"""A notice period that is real (issue 19, findings 2 and 4), walked with freezegun through ``run_schedule``.

At least one day (pretix.cfg may raise the minimum, never lower it); the notice mail always comes in an earlier
scheduler run than the shred and at least the notice period before it; after a failure or a policy change the shred
is announced again with the full notice; a change that would make it due sooner plans it at now + notice.
"""

from datetime import timedelta

import pytest
from django.core import mail as djmail
from django.test import Client
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.models import CachedFile, Order

from pretix_shredder_api import retention
from pretix_shredder_api.models import ScheduledShred, ShredderJob

from .conftest import make_team, token_client

pytestmark = pytest.mark.django_db

ORG_POLICY = "/api/v1/organizers/bigevents/shredder-policy/"
DAYS, NOTICE = 40, 7  # the event ended 30 days before the fixtures were made: due in ~10 days
NOTICE_SUBJECT = "Personal data of Sample Conference will be shredded"
DONE_SUBJECT = "The personal data of Sample Conference has been shredded"


@pytest.fixture
def clock():
    with freeze_time(now()) as frozen:
        yield frozen


@pytest.fixture
def org_client(organizer):
    team = make_team(organizer, all_event_permissions=True, all_organizer_permissions=True)
    return token_client(team.tokens.create(name="Organizer admin"))


def set_policy(obj, **values):
    retention.update_policy(obj, values)
    obj.settings.flush()


@pytest.fixture
def policy(organizer, event, orders, user):
    set_policy(organizer, enabled=True, shredders=["order_emails"], days_after_event=DAYS, notice_days=NOTICE)


def schedule_of(event):
    return ScheduledShred.objects.filter(event=event).order_by("-pk").first()


def emails_left(event):
    return Order.objects.filter(event=event, email__isnull=False).count()


def subjects():
    return [m.subject for m in djmail.outbox]


def notices():
    return [m for m in djmail.outbox if m.subject.startswith(NOTICE_SUBJECT)]


def run():
    """One scheduler run; returns whether it shredded (its own notice mails are in ``djmail.outbox``)."""
    before = len([m for m in djmail.outbox if m.subject == DONE_SUBJECT])
    retention.run_schedule()
    return len([m for m in djmail.outbox if m.subject == DONE_SUBJECT]) > before


# -- finding 4 ---------------------------------------------------------------------------------------------------------


def test_refused_notice_export_then_offline_after_the_due_date_gives_a_full_notice(clock, policy, event):
    """The notice-time export is refused (shop online), the due date passes while it fails, the shop goes offline:
    that run exports and sends the *first* notice, and does not shred; the shred comes a full notice period later."""
    event.live = True
    event.save()
    retention.run_schedule()
    s = schedule_of(event)
    planned_due = s.due
    clock.move_to(s.notice_at + timedelta(minutes=1))
    retention.run_schedule()
    s = schedule_of(event)
    assert (s.state, s.notice_sent, s.last_error) == ("failed", None, "reason:shop_online")
    assert notices() == []

    for days in (3, NOTICE + 1, NOTICE + 5):  # failing on, past the due date
        clock.move_to(planned_due - timedelta(days=NOTICE) + timedelta(days=days))
        assert run() is False
    assert now() > planned_due and schedule_of(event).state == "failed" and notices() == []

    event.live = False
    event.save()
    clock.tick(timedelta(minutes=10))
    assert run() is False  # the run that sends the first notice never shreds
    s = schedule_of(event)
    first_notice_at = now()
    assert (s.state, s.notice_sent, s.due) == ("noticed", first_notice_at, first_notice_at + timedelta(days=NOTICE))
    assert emails_left(event) == 3 and len(notices()) == 1 and DONE_SUBJECT not in subjects()
    assert CachedFile.objects.get(pk=s.job.file_id).expires >= s.due  # downloadable for the whole notice

    clock.move_to(s.due - timedelta(minutes=1))
    assert run() is False and emails_left(event) == 3
    clock.move_to(s.due + timedelta(minutes=1))
    assert run() is True and emails_left(event) == 0
    assert now() - first_notice_at >= timedelta(days=NOTICE)
    assert len(notices()) == 1


# -- finding 2: notice_days 0 ------------------------------------------------------------------------------------------


MIN_NOTICE_ERROR = {"notice_days": ["The notice period must be at least 1 day."]}


def test_notice_days_zero_is_refused_on_both_levels(org_client, base_url, organizer, event):
    resp = org_client.patch(
        ORG_POLICY,
        {"enabled": True, "shredders": ["order_emails"], "days_after_event": 0, "notice_days": 0},
        format="json",
    )
    assert resp.status_code == 400 and resp.json() == MIN_NOTICE_ERROR
    resp = org_client.patch(ORG_POLICY, {"notice_days": 0}, format="json")  # also on a policy that is off
    assert resp.status_code == 400 and resp.json() == MIN_NOTICE_ERROR
    resp = org_client.patch(base_url + "policy/", {"notice_days": 0}, format="json")
    assert resp.status_code == 400 and resp.json() == MIN_NOTICE_ERROR
    organizer.settings.flush()
    event.settings.flush()
    assert retention.policy_of(organizer).notice_days == 7 and retention.overridden(event) == []
    # switching a policy off is never refused, whatever its stored notice
    assert org_client.patch(ORG_POLICY, {"enabled": False}, format="json").status_code == 200


def test_notice_days_zero_is_a_form_error_on_the_pages(user, organizer, event):
    make_team(organizer, all_event_permissions=True, all_organizer_permissions=True).members.add(user)
    event.enable_plugin("pretix_shredder_api")
    event.save()
    c = Client()
    c.login(email="admin@example.org", password="secret-password-123")
    form = {
        "policy-enabled": "on",
        "policy-shredders": ["order_emails"],
        "policy-days_after_event": "5",
        "policy-notice_days": "0",
    }
    for url, data in (
        ("/control/organizer/bigevents/shredder-retention/", form),
        ("/control/event/bigevents/sampleconf/shredder-api/retention/", {"action": "policy", **form}),
    ):
        resp = c.post(url, data)
        assert resp.status_code == 200
        assert "The notice period must be at least 1 day." in resp.content.decode()
    organizer.settings.flush()
    event.settings.flush()
    assert retention.policy_of(event).enabled is False


def test_a_stored_notice_of_zero_days_still_gets_one_day(clock, organizer, event, orders, user):
    """A policy stored before the minimum (notice_days 0, due at once): notice in one run, shred a day later."""
    for key, value in (("enabled", True), ("shredders", ["order_emails"]), ("days_after_event", 0)):
        organizer.settings.set(retention.SETTINGS[key][0], value)
    organizer.settings.set(retention.SETTINGS["notice_days"][0], 0)
    organizer.settings.flush()
    assert run() is False
    s = schedule_of(event)
    assert (s.state, s.notice_sent, s.due) == ("noticed", now(), now() + timedelta(days=1))
    assert len(notices()) == 1 and emails_left(event) == 3
    clock.tick(timedelta(hours=23, minutes=59))
    assert run() is False
    clock.tick(timedelta(minutes=2))
    assert run() is True and emails_left(event) == 0


def test_the_instance_may_raise_the_minimum_notice(clock, monkeypatch, org_client, organizer, event, orders, user):
    monkeypatch.setenv("PRETIX_SHREDDER_API_MIN_NOTICE_DAYS", "3")
    body = {"enabled": True, "shredders": ["order_emails"], "days_after_event": 40, "notice_days": 2}
    resp = org_client.patch(ORG_POLICY, body, format="json")
    assert resp.status_code == 400 and resp.json() == {"notice_days": ["The notice period must be at least 3 days."]}
    # a policy stored with less gets the minimum
    set_policy(organizer, **body)
    retention.run_schedule()
    s = schedule_of(event)
    assert s.due - s.notice_at == timedelta(days=3)


def test_the_instance_can_never_lower_the_minimum_below_a_day(clock, monkeypatch, org_client):
    monkeypatch.setenv("PRETIX_SHREDDER_API_MIN_NOTICE_DAYS", "0")
    resp = org_client.patch(ORG_POLICY, {"notice_days": 0}, format="json")
    assert resp.status_code == 400 and resp.json() == MIN_NOTICE_ERROR


# -- policy changes ----------------------------------------------------------------------------------------------------


def test_a_change_that_would_make_it_due_sooner_plans_it_at_now_plus_notice(clock, policy, event):
    retention.run_schedule()
    assert schedule_of(event).state == "scheduled"
    set_policy(event, days_after_event=NOTICE)  # due 23 days ago by the new policy
    assert run() is False
    s = schedule_of(event)
    assert (s.state, s.notice_sent, s.due) == ("noticed", now(), now() + timedelta(days=NOTICE))
    assert len(notices()) == 1 and emails_left(event) == 3


def test_a_longer_notice_after_the_notice_announces_again(clock, policy, event):
    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    retention.run_schedule()
    old = schedule_of(event)
    assert old.state == "noticed" and len(notices()) == 1

    clock.tick(timedelta(days=2))
    set_policy(event, notice_days=14)
    assert run() is False
    s = schedule_of(event)
    assert (s.notice_sent, s.due) == (now(), now() + timedelta(days=14))
    assert len(notices()) == 2 and s.job == old.job
    assert CachedFile.objects.get(pk=s.job.file_id).expires >= s.due
    clock.move_to(old.due + timedelta(minutes=5))
    assert run() is False and emails_left(event) == 3  # the old date is not the date any more
    clock.move_to(s.due + timedelta(minutes=1))
    assert run() is True and len(notices()) == 2


def test_shorter_days_after_the_notice_keep_the_announced_date(clock, policy, event):
    """By the new policy it was due long ago; the announced date already is a full notice after the notice mail, so
    it stays: never sooner than announced, no new mail."""
    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    retention.run_schedule()
    announced = schedule_of(event)
    clock.tick(timedelta(days=3))
    set_policy(event, days_after_event=NOTICE)
    assert run() is False
    s = schedule_of(event)
    assert (s.notice_sent, s.due) == (announced.notice_sent, announced.due) and len(notices()) == 1
    clock.move_to(s.due - timedelta(minutes=1))
    assert run() is False and emails_left(event) == 3
    clock.move_to(s.due + timedelta(minutes=1))
    assert run() is True


def test_other_shredders_after_the_notice_make_a_new_export_and_notice(clock, policy, event):
    retention.run_schedule()
    clock.move_to(schedule_of(event).notice_at + timedelta(minutes=1))
    retention.run_schedule()
    old = schedule_of(event)
    clock.tick(timedelta(days=1))
    set_policy(event, shredders=["order_emails", "attendee_info"])
    assert run() is False
    s = schedule_of(event)
    assert (s.state, s.shredders, s.notice_sent) == ("noticed", ["order_emails", "attendee_info"], now())
    assert s.job != old.job and s.job.shredders == ["order_emails", "attendee_info"]
    assert s.due == now() + timedelta(days=NOTICE) and len(notices()) == 2
    # the superseded export keeps only the usual lifetime from now
    assert CachedFile.objects.get(pk=old.job.file_id).expires == now() + timedelta(hours=2)
    clock.move_to(s.due + timedelta(minutes=1))
    assert run() is True
    assert ShredderJob.objects.get(pk=s.job.pk).shred_state == "succeeded"


def test_the_notice_run_never_shreds_even_when_everything_is_long_due(clock, organizer, event, orders, user):
    """An event that ended long ago under a policy set today: the first run notices, only a later one shreds."""
    set_policy(organizer, enabled=True, shredders=["order_emails"], days_after_event=1, notice_days=1)
    assert run() is False
    s = schedule_of(event)
    assert s.state == "noticed" and s.due == s.notice_sent + timedelta(days=1)
    for _ in range(3):
        assert run() is False
    clock.tick(timedelta(days=1, minutes=1))
    assert run() is True
