"""The control-panel pages of the retention policy: organizer policy, event policy and schedule (cancel, postpone,
download), their navigation entries and permissions."""

from datetime import timedelta

import pytest
from django.test import Client
from freezegun import freeze_time
from pretix.base.models import CachedFile, User

from pretix_shredder_api import retention

from .conftest import make_team

pytestmark = pytest.mark.django_db

EVENT_PAGE = "/control/event/bigevents/sampleconf/shredder-api/retention/"
ORG_PAGE = "/control/organizer/bigevents/shredder-retention/"


def login(email):
    c = Client()
    assert c.login(email=email, password="secret-password-123")
    return c


@pytest.fixture
def admin(user, organizer):
    make_team(organizer, all_organizer_permissions=True).members.add(user)
    return login("admin@example.org")


@pytest.fixture
def enabled(event):
    event.enable_plugin("pretix_shredder_api")
    event.save()


@pytest.fixture
def noticed(organizer, event, orders, user):
    retention.update_policy(
        organizer, {"enabled": True, "shredders": ["order_emails"], "days_after_event": 40, "notice_days": 7}
    )
    organizer.settings.flush()
    s = retention.create_schedule(event)
    with freeze_time(s.notice_at + timedelta(minutes=1)):
        retention.advance(s.pk)
    s.refresh_from_db()
    return s


def test_organizer_page_saves_the_policy(admin, organizer, event):
    resp = admin.get(ORG_PAGE)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Data retention" in html and 'value="order_emails"' in html
    resp = admin.post(
        ORG_PAGE,
        {
            "policy-enabled": "on",
            "policy-shredders": ["order_emails", "attendee_info"],
            "policy-days_after_event": "60",
            "policy-notice_days": "14",
            "confirmed": "1",  # it schedules the event that is over: the page asks first (tests/test_retention_preview)
        },
    )
    assert resp.status_code == 302
    organizer.settings.flush()
    assert retention.policy_of(organizer) == retention.Policy(True, ("order_emails", "attendee_info"), 60, 14)


def test_organizer_page_refuses_a_bad_policy_with_a_clear_message(admin, organizer):
    resp = admin.post(ORG_PAGE, {"policy-enabled": "on", "policy-days_after_event": "5", "policy-notice_days": "9"})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Please name at least one data shredder for an active policy." in html
    assert "The notice period cannot be longer than the days after the event." in html
    organizer.settings.flush()
    assert retention.policy_of(organizer).enabled is False


def test_organizer_page_needs_organizer_settings_permission(user, organizer):
    assert login("admin@example.org").get(ORG_PAGE).status_code == 403


def test_organizer_navigation_entry(admin):
    assert ORG_PAGE in admin.get("/control/organizer/bigevents/").content.decode()


def test_event_page_overrides_and_inherits(admin, event, organizer, enabled):
    resp = admin.get(EVENT_PAGE)
    assert resp.status_code == 200
    assert "No shred is scheduled for this event." in resp.content.decode()
    resp = admin.post(
        EVENT_PAGE,
        {
            "action": "policy",
            "policy-enabled": "on",
            "policy-shredders": ["order_emails"],
            "policy-days_after_event": "10",
            "policy-notice_days": "2",
            "confirmed": "1",
        },
    )
    assert resp.status_code == 302
    event.settings.flush()
    assert retention.policy_of(event) == retention.Policy(True, ("order_emails",), 10, 2)
    assert retention.overridden(event) == ["enabled", "shredders", "days_after_event", "notice_days", "mode", "hold"]

    resp = admin.post(EVENT_PAGE, {"action": "policy", "policy-inherit": "on"})
    assert resp.status_code == 302
    event.settings.flush()
    assert retention.overridden(event) == [] and retention.policy_of(event) == retention.policy_of(organizer)


def test_event_navigation_entry(admin, event, enabled):
    assert EVENT_PAGE in admin.get("/control/event/bigevents/sampleconf/settings/").content.decode()


def test_event_page_shows_the_schedule_and_downloads_the_export(admin, noticed):
    html = admin.get(EVENT_PAGE).content.decode()
    assert 'data-state="noticed"' in html and "Download the export" in html and "Cancel this shred" in html
    resp = admin.get(EVENT_PAGE + "download/")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/zip"


def test_event_page_postpone_and_cancel(admin, noticed, event):
    new_day = (noticed.due + timedelta(days=3)).date()
    resp = admin.post(EVENT_PAGE, {"action": "postpone", "postpone-date": new_day.isoformat()})
    assert resp.status_code == 302
    noticed.refresh_from_db()
    assert noticed.due == retention.start_of_day(new_day, event) and noticed.postponed_at is not None

    resp = admin.post(EVENT_PAGE, {"action": "postpone", "postpone-date": "2000-01-01"}, follow=True)
    assert "Please choose a date after the current due date." in resp.content.decode()

    resp = admin.post(EVENT_PAGE, {"action": "cancel", "confirmed": "1"}, follow=True)
    assert "The scheduled shred has been cancelled." in resp.content.decode()
    noticed.refresh_from_db()
    assert noticed.state == "cancelled"
    assert "Cancel this shred" not in admin.get(EVENT_PAGE).content.decode()


def test_cancel_needs_the_orders_permission(noticed, organizer):
    team = make_team(organizer, limit_event_permissions={"event.settings.general:write": True})
    team.members.add(User.objects.create_user("settings@example.org", "secret-password-123"))
    c = login("settings@example.org")
    html = c.get(EVENT_PAGE).content.decode()
    assert "Cancel this shred" not in html and "Download the export" not in html
    assert c.post(EVENT_PAGE, {"action": "cancel"}).status_code == 403
    assert c.get(EVENT_PAGE + "download/").status_code == 403
    noticed.refresh_from_db()
    assert noticed.state == "noticed"


def test_the_admins_the_notice_mails_may_open_the_page_without_the_policy_form(noticed, organizer):
    team = make_team(organizer, limit_event_permissions={"event.orders:write": True})
    team.members.add(User.objects.create_user("orders@example.org", "secret-password-123"))
    c = login("orders@example.org")
    html = c.get(EVENT_PAGE).content.decode()
    assert "Cancel this shred" in html and 'name="policy-notice_days"' not in html
    assert c.post(EVENT_PAGE, {"action": "policy", "policy-inherit": "on"}).status_code == 403


def test_event_page_needs_settings_or_orders_permission(noticed, organizer):
    team = make_team(organizer, limit_event_permissions={"event.orders:read": True})
    team.members.add(User.objects.create_user("reader@example.org", "secret-password-123"))
    assert login("reader@example.org").get(EVENT_PAGE).status_code == 403


# -- issue 19 ----------------------------------------------------------------------------------------------------------


def test_postpone_form_to_the_end_of_the_calendar_is_a_form_error_and_saves_nothing(admin, noticed):
    before = (noticed.due, noticed.postponed_at, noticed.version)
    resp = admin.post(EVENT_PAGE, {"action": "postpone", "postpone-date": "9999-12-31"})
    assert resp.status_code == 200
    assert "Please choose a date at most 365 days after the current due date" in resp.content.decode()
    noticed.refresh_from_db()
    assert (noticed.due, noticed.postponed_at, noticed.version) == before


def test_cancel_says_the_export_is_deleted_and_the_download_is_404(admin, noticed):
    file_id = noticed.job.file_id
    resp = admin.post(EVENT_PAGE, {"action": "cancel", "confirmed": "1"}, follow=True)
    html = resp.content.decode()
    assert "The scheduled shred has been cancelled. Its export has been deleted" in html
    assert "This scheduled shred was cancelled; its export has been deleted." in html  # and the page keeps saying so
    assert "Download the export" not in html
    resp = admin.get(EVENT_PAGE + "download/")
    assert resp.status_code == 404
    assert "This scheduled shred was cancelled; its export has been deleted." in resp.content.decode()
    assert not CachedFile.objects.filter(pk=file_id).exists()


def test_organizer_page_saves_the_dates_mode_and_a_legal_hold(admin, organizer, event):
    """issue 21: the mode and the legal hold on the form; a hold of a shredder that is not tax-relevant is refused."""
    html = admin.get(ORG_PAGE).content.decode()
    assert 'name="policy-mode"' in html and 'name="policy-hold_shredders"' in html
    assert 'name="policy-hold_shredders" value="order_emails"' not in html  # only tax-relevant ones are offered
    fields = {
        "policy-enabled": "on",
        "policy-shredders": ["order_emails", "invoices"],
        "policy-days_after_event": "60",
        "policy-notice_days": "14",
        "confirmed": "1",  # a save that would schedule shreds asks first (the preview); this is the confirmation
    }
    resp = admin.post(ORG_PAGE, {**fields, "policy-mode": "dates"})
    assert resp.status_code == 302
    organizer.settings.flush()
    assert retention.policy_of(organizer).mode == "dates"

    resp = admin.post(ORG_PAGE, {**fields, "policy-mode": "dates", "policy-hold_shredders": ["invoices"]})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Please give the years to keep as a whole number from 1 to 100." in html
    resp = admin.post(
        ORG_PAGE,
        {**fields, "policy-mode": "dates", "policy-hold_shredders": ["invoices"], "policy-hold_years": "10"},
    )
    assert resp.status_code == 200 and "A legal hold works with the mode" in resp.content.decode()
    resp = admin.post(
        ORG_PAGE,
        {**fields, "policy-mode": "event", "policy-hold_shredders": ["invoices"], "policy-hold_years": "10"},
    )
    assert resp.status_code == 302
    organizer.settings.flush()
    policy = retention.policy_of(organizer)
    assert (policy.mode, policy.hold) == ("event", {"invoices": 10})
    html = admin.get(ORG_PAGE).content.decode()
    assert 'value="10"' in html
