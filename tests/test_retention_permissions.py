"""Who may set deletion in motion (issue 19, findings 1 and 2): the same rule through the REST API and the pages.

An event's policy needs "change settings" and "change orders" on the event; the organizer's policy a team with all
events and "change orders", and the organizer settings permission; cancel, postpone and the schedule's download
"change orders". Each refusal says what is missing, and nothing is saved: the scheduler shreds nothing afterwards.
"""

from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.models import Order, User
from pretix.base.models.auth import StaffSession

from pretix_shredder_api import retention
from pretix_shredder_api.models import ScheduledShred

from .conftest import make_event, make_team, oauth_client, token_client

pytestmark = pytest.mark.django_db

ORG_POLICY = "/api/v1/organizers/bigevents/shredder-policy/"
ORG_PAGE = "/control/organizer/bigevents/shredder-retention/"
EVENT_PAGE = "/control/event/bigevents/sampleconf/shredder-api/retention/"
ATTACK = {"enabled": True, "shredders": ["order_emails"], "days_after_event": 0, "notice_days": 0}
GOOD = {"enabled": True, "shredders": ["order_emails"], "days_after_event": 10, "notice_days": 2}
PAGE_ATTACK = {
    "action": "policy",
    "policy-enabled": "on",
    "policy-shredders": ["order_emails"],
    "policy-days_after_event": "0",
    "policy-notice_days": "0",
}
PAGE_GOOD = {
    "action": "policy",
    "confirmed": "1",
    "policy-enabled": "on",
    "policy-shredders": ["order_emails"],
    "policy-days_after_event": "10",
    "policy-notice_days": "2",
}

MSG_EVENT_ORDERS = (
    "You may not change the data retention policy of this event: the permission to change the orders of this event "
    "(event.orders:write) is missing."
)
MSG_ORG_ALL_EVENTS = (
    "You may not change the organizer's data retention policy: a team with access to all events and the permission "
    "to change their orders (event.orders:write) is missing. It reaches every event of the organizer, so it needs a "
    "team with access to all events and the permission to change their orders, and the permission to change the "
    "organizer's settings."
)
MSG_ORG_SETTINGS = (
    "You may not change the organizer's data retention policy: the permission to change the organizer's settings "
    "(organizer.settings.general:write) is missing. It reaches every event of the organizer, so it needs a team with "
    "access to all events and the permission to change their orders, and the permission to change the organizer's "
    "settings."
)


def member(organizer, email, **permissions):
    user = User.objects.filter(email=email).first() or User.objects.create_user(email, "secret-password-123")
    make_team(organizer, **permissions).members.add(user)
    return user


def login(email):
    c = Client()
    assert c.login(email=email, password="secret-password-123")
    return c


def token(organizer, name="t", **permissions):
    return token_client(make_team(organizer, **permissions).tokens.create(name=name))


@pytest.fixture
def enabled(event):
    event.enable_plugin("pretix_shredder_api")
    event.save()


def nothing_shredded_by_the_scheduler(event):
    """A scheduler run (and one a day later) creates no schedule and every order keeps its e-mail address."""
    with freeze_time(now() + timedelta(minutes=1)):
        retention.run_schedule()
    with freeze_time(now() + timedelta(days=1)):
        retention.run_schedule()
    assert ScheduledShred.objects.filter(event=event).count() == 0
    assert Order.objects.filter(event=event, email__isnull=True).count() == 0


# -- finding 1: the event policy through the page needs "change orders" as the API does --------------------------------


def test_settings_only_user_cannot_save_the_event_policy_on_the_page(organizer, event, orders, enabled):
    member(organizer, "settings@example.org", limit_event_permissions={"event.settings.general:write": True})
    c = login("settings@example.org")
    html = c.get(EVENT_PAGE).content.decode()
    assert 'name="policy-notice_days"' not in html and MSG_EVENT_ORDERS in html

    resp = c.post(EVENT_PAGE, PAGE_ATTACK)
    assert resp.status_code == 403
    assert MSG_EVENT_ORDERS in resp.content.decode()
    event.settings.flush()
    assert retention.overridden(event) == [] and retention.policy_of(event).enabled is False
    assert c.post(EVENT_PAGE, {"action": "policy", "policy-inherit": "on"}).status_code == 403
    nothing_shredded_by_the_scheduler(event)


def test_settings_only_token_cannot_patch_the_event_policy(organizer, event, orders, base_url):
    settings_only = token(organizer, limit_event_permissions={"event.settings.general:write": True})
    resp = settings_only.patch(base_url + "policy/", ATTACK, format="json")
    assert resp.status_code == 403
    assert resp.json() == {"detail": MSG_EVENT_ORDERS}
    nothing_shredded_by_the_scheduler(event)


def test_event_policy_refusal_names_everything_missing(organizer, event, base_url):
    reader = token(organizer, limit_event_permissions={"event.orders:read": True})
    resp = reader.patch(base_url + "policy/", GOOD, format="json")
    assert resp.status_code == 403
    assert resp.json() == {
        "detail": "You may not change the data retention policy of this event: the permission to change the "
        "settings of this event (event.settings.general:write) is missing; the permission to change the orders of "
        "this event (event.orders:write) is missing."
    }


def test_settings_and_orders_user_saves_the_event_policy_on_the_page(organizer, event, enabled):
    member(
        organizer,
        "both@example.org",
        limit_event_permissions={"event.settings.general:write": True, "event.orders:write": True},
    )
    resp = login("both@example.org").post(EVENT_PAGE, PAGE_GOOD)
    assert resp.status_code == 302
    event.settings.flush()
    assert retention.policy_of(event) == retention.Policy(True, ("order_emails",), 10, 2)


def test_a_team_limited_to_the_event_may_change_its_policy(organizer, event, base_url):
    team = make_team(
        organizer, limit_event_permissions={"event.settings.general:write": True, "event.orders:write": True}
    )
    team.all_events = False
    team.save()
    team.limit_events.add(event)
    resp = token_client(team.tokens.create(name="one event")).patch(base_url + "policy/", GOOD, format="json")
    assert resp.status_code == 200


# -- finding 2: the organizer policy reaches every event, so it needs "change orders" on all of them ------------------


def test_organizer_settings_only_token_cannot_patch_the_organizer_policy(organizer, event, orders):
    settings_only = token(organizer, limit_organizer_permissions={"organizer.settings.general:write": True})
    resp = settings_only.patch(ORG_POLICY, ATTACK, format="json")
    assert resp.status_code == 403
    assert resp.json() == {"detail": MSG_ORG_ALL_EVENTS}
    organizer.settings.flush()
    assert retention.policy_of(organizer).enabled is False
    nothing_shredded_by_the_scheduler(event)


def test_organizer_settings_only_user_cannot_save_the_organizer_page(organizer, event, orders):
    member(organizer, "org@example.org", limit_organizer_permissions={"organizer.settings.general:write": True})
    c = login("org@example.org")
    html = unescape(c.get(ORG_PAGE).content.decode())
    assert 'name="policy-notice_days"' not in html
    assert MSG_ORG_ALL_EVENTS in html
    resp = c.post(ORG_PAGE, {k: v for k, v in PAGE_ATTACK.items() if k != "action"})
    assert resp.status_code == 403 and MSG_ORG_ALL_EVENTS in unescape(resp.content.decode())
    organizer.settings.flush()
    assert retention.policy_of(organizer).enabled is False
    nothing_shredded_by_the_scheduler(event)


def test_orders_on_some_events_only_is_not_enough_for_the_organizer_policy(organizer, event):
    team = make_team(
        organizer,
        limit_organizer_permissions={"organizer.settings.general:write": True},
        limit_event_permissions={"event.orders:write": True},
    )
    team.all_events = False
    team.save()
    team.limit_events.add(event)  # today every event, but not the events created tomorrow
    resp = token_client(team.tokens.create(name="limited")).patch(ORG_POLICY, GOOD, format="json")
    assert resp.status_code == 403 and resp.json() == {"detail": MSG_ORG_ALL_EVENTS}


def test_all_events_and_orders_without_organizer_settings_is_not_enough(organizer):
    resp = token(organizer, limit_event_permissions={"event.orders:write": True}).patch(ORG_POLICY, GOOD, format="json")
    assert resp.status_code == 403 and resp.json() == {"detail": MSG_ORG_SETTINGS}


def test_a_token_with_all_events_orders_and_organizer_settings_may(organizer):
    writer = token(
        organizer,
        limit_organizer_permissions={"organizer.settings.general:write": True},
        limit_event_permissions={"event.orders:write": True},
    )
    resp = writer.patch(ORG_POLICY, GOOD, format="json")
    assert resp.status_code == 200 and resp.json() == {**GOOD, "mode": "event", "hold": {}}


def test_a_user_may_hold_both_through_two_teams(organizer, event):
    """Sessions and OAuth count the user's teams together; the orders must still come from an all-events team."""
    user = member(organizer, "two@example.org", limit_organizer_permissions={"organizer.settings.general:write": True})
    assert oauth_client(user, organizer, "write").patch(ORG_POLICY, GOOD, format="json").status_code == 403
    assert (
        login("two@example.org").post(ORG_PAGE, {k: v for k, v in PAGE_GOOD.items() if k != "action"}).status_code
        == 403
    )

    member(organizer, "two@example.org", limit_event_permissions={"event.orders:write": True})
    resp = oauth_client(user, organizer, "write", name="again").patch(ORG_POLICY, GOOD, format="json")
    assert resp.status_code == 200
    resp = login("two@example.org").post(ORG_PAGE, {k: v for k, v in PAGE_GOOD.items() if k != "action"})
    assert resp.status_code == 302


def test_a_second_organizers_team_does_not_count(organizer, other_organizer):
    user = member(
        organizer, "mixed@example.org", limit_organizer_permissions={"organizer.settings.general:write": True}
    )
    make_event(other_organizer)
    member(other_organizer, "mixed@example.org", limit_event_permissions={"event.orders:write": True})
    resp = oauth_client(user, organizer, "write").patch(ORG_POLICY, GOOD, format="json")
    assert resp.status_code == 403 and resp.json() == {"detail": MSG_ORG_ALL_EVENTS}


def test_admin_mode_may_change_the_organizer_policy(organizer):
    staff = User.objects.create_user("staff@example.org", "secret-password-123", is_staff=True)
    c = login("staff@example.org")
    StaffSession.objects.create(user=staff, session_key=c.session.session_key)
    resp = c.post(ORG_PAGE, {k: v for k, v in PAGE_GOOD.items() if k != "action"})
    assert resp.status_code == 302
    organizer.settings.flush()
    assert retention.policy_of(organizer).enabled is True


# -- the schedule: cancel, postpone and download need "change orders"; the refusal says so -----------------------------


def test_schedule_refusals_say_what_is_missing(organizer, event, orders, user, base_url):
    retention.update_policy(organizer, {**GOOD, "days_after_event": 40, "notice_days": 7})
    organizer.settings.flush()
    s = retention.create_schedule(event)
    settings_only = token(organizer, limit_event_permissions={"event.settings.general:write": True})
    missing = "the permission to change the orders of this event (event.orders:write) is missing."
    for path, verb in (("cancel/", "cancel or postpone"), ("postpone/", "cancel or postpone")):
        resp = settings_only.post(base_url + "schedule/" + path, {"date": "2099-01-01"}, format="json")
        assert resp.status_code == 403
        assert resp.json() == {"detail": f"You may not {verb} the scheduled shred of this event: {missing}"}
    resp = settings_only.get(base_url + "schedule/download/")
    assert resp.status_code == 403
    assert resp.json() == {"detail": f"You may not download the export of the scheduled shred of this event: {missing}"}
    s.refresh_from_db()
    assert (s.state, s.postponed_at) == ("scheduled", None)
