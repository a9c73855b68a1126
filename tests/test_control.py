"""The event page "Data shredder" (every event, orders:read) and its settings page (plugin on, settings:write)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.models import CachedFile, LogEntry, User

from pretix_shredder_api.models import ShredderJob

from .conftest import make_event, make_team, oauth_client
from .helpers import fresh, job_url, set_state, start_export

pytestmark = pytest.mark.django_db

PAGE = "/control/event/bigevents/sampleconf/shredder-api/"
SETTINGS = "/control/event/bigevents/sampleconf/shredder-api/settings/"
PASSWORD = "secret-password-123"


def login(email):
    c = Client()
    assert c.login(email=email, password=PASSWORD)
    return c


def member(organizer, email, **team_kwargs):
    """A user on a team of ``organizer`` with these team settings (all events unless ``all_events=False``)."""
    team_kwargs.setdefault("all_events", True)
    from pretix.base.models import Team

    team = Team.objects.create(organizer=organizer, name=f"Team of {email}", **team_kwargs)
    u = User.objects.create_user(email, PASSWORD)
    team.members.add(u)
    return login(email)


@pytest.fixture
def admin(user):
    return login("admin@example.org")


@pytest.fixture
def enabled(event):
    event.enable_plugin("pretix_shredder_api")
    event.save()


@pytest.fixture
def orders_reader(organizer):
    return member(organizer, "reader@example.org", limit_event_permissions={"event.orders:read": True})


@pytest.fixture
def settings_only(organizer):
    return member(organizer, "settings@example.org", limit_event_permissions={"event.settings.general:write": True})


def html_of(resp):
    assert resp.status_code == 200, resp.status_code
    return resp.content.decode()


# -- the permission rule -------------------------------------------------------------------------------------------


def test_event_page_is_served_where_the_plugin_is_off_for_users_who_may_view_orders(orders_reader, event):
    html = html_of(orders_reader.get(PAGE))
    assert 'id="shredder-api-plugin-off"' in html
    assert "The data shredder API plugin is not switched on for this event." in html
    assert "No exports have been made through the API yet." in html
    # no settings permission: no link to the plugin settings
    assert "/settings/plugins" not in html


def test_event_page_off_links_the_plugin_settings_for_settings_admins(admin, event):
    html = html_of(admin.get(PAGE))
    assert "/control/event/bigevents/sampleconf/settings/plugins#plugin_pretix_shredder_api" in html


def test_event_page_refuses_users_who_may_not_view_orders(settings_only, event, enabled):
    assert settings_only.get(PAGE).status_code == 403


def test_event_page_is_404_without_access_to_the_event(organizer, event, other_organizer):
    other = make_event(organizer, slug="other")
    outsider = member(organizer, "limited@example.org", all_events=False, all_event_permissions=True)
    outsider_team = User.objects.get(email="limited@example.org").teams.get()
    outsider_team.limit_events.add(other)
    assert outsider.get(PAGE).status_code == 404
    assert outsider.get("/control/event/bigevents/other/shredder-api/").status_code == 200
    foreigner = member(other_organizer, "foreign@example.org", all_event_permissions=True)
    assert foreigner.get(PAGE).status_code == 404


def test_event_page_needs_login(event):
    resp = Client().get(PAGE)
    assert resp.status_code == 302
    assert resp["Location"].startswith("/control/login")


def test_settings_page_is_404_where_the_plugin_is_off(admin, event):
    assert admin.get(SETTINGS).status_code == 404


def test_settings_page_refuses_users_without_settings_permission(orders_reader, organizer, event, enabled):
    assert orders_reader.get(SETTINGS).status_code == 403
    writer = member(organizer, "writer@example.org", limit_event_permissions={"event.orders:write": True})
    assert writer.get(SETTINGS).status_code == 403
    assert writer.post(SETTINGS, {"shredder_api_require_confirm_code": "on"}).status_code == 403
    event.settings.flush()
    assert event.settings.get("shredder_api_require_confirm_code", as_type=bool) is False


def test_settings_page_without_orders_permission_works(settings_only, event, enabled):
    assert settings_only.get(SETTINGS).status_code == 200


# -- settings -------------------------------------------------------------------------------------------------------


def test_settings_are_saved_and_logged_with_our_action_type(admin, event, enabled):
    html = html_of(admin.get(SETTINGS))
    assert "Require the confirm code" in html and "Export lifetime" in html
    assert "Default of this installation: 120 minutes." in html

    resp = admin.post(SETTINGS, {"shredder_api_require_confirm_code": "on", "shredder_api_export_lifetime_minutes": 30})
    assert resp.status_code == 302 and resp["Location"] == SETTINGS
    event.settings.flush()
    assert event.settings.get("shredder_api_require_confirm_code", as_type=bool) is True
    assert event.settings.get("shredder_api_export_lifetime_minutes", as_type=int) == 30
    entry = LogEntry.objects.get(action_type="pretix_shredder_api.settings.changed")
    assert entry.event == event and entry.user.email == "admin@example.org"
    assert entry.parsed_data == {"shredder_api_export_lifetime_minutes": 30, "shredder_api_require_confirm_code": True}
    assert not LogEntry.objects.filter(action_type="pretix.event.settings").exists()
    assert entry.display() == "admin@example.org changed the data shredder API settings of this event."

    # saving unchanged values logs nothing more; an empty lifetime goes back to the installation's default
    admin.post(SETTINGS, {"shredder_api_require_confirm_code": "on", "shredder_api_export_lifetime_minutes": 30})
    assert LogEntry.objects.filter(action_type="pretix_shredder_api.settings.changed").count() == 1
    admin.post(SETTINGS, {"shredder_api_require_confirm_code": "on", "shredder_api_export_lifetime_minutes": ""})
    event.settings.flush()
    assert event.settings.get("shredder_api_export_lifetime_minutes") is None


@pytest.mark.parametrize("value", ["0", "-5", "abc", str(7 * 24 * 60 + 1)])
def test_invalid_lifetime_is_a_form_error_not_a_500(admin, event, enabled, value):
    resp = admin.post(SETTINGS, {"shredder_api_export_lifetime_minutes": value})
    assert resp.status_code == 200
    assert "We could not save your changes. See below for details." in resp.content.decode()
    event.settings.flush()
    assert event.settings.get("shredder_api_export_lifetime_minutes") is None


def test_a_settings_change_after_the_export_does_not_block_the_shred(admin, client, base_url, orders, event, enabled):
    job = start_export(client, base_url)
    admin.post(SETTINGS, {"shredder_api_export_lifetime_minutes": 45})
    assert client.post(job_url(job, "shred"), format="json").status_code == 202
    assert client.get(job_url(job, "status")).json() == {"status": "ok", "message": "OK"}


def test_per_event_export_lifetime(client, base_url, orders, event, enabled):
    event.settings.set("shredder_api_export_lifetime_minutes", 10)
    with freeze_time("2026-12-01 10:00:00"):
        job = start_export(client, base_url)
        assert CachedFile.objects.get(pk=job.file_id).expires == now() + timedelta(minutes=10)
    with freeze_time("2026-12-01 10:11:00"):
        assert client.get(job_url(job, "download")).status_code == 404


def test_per_event_export_lifetime_applies_after_a_failed_shred(client, base_url, orders, event, enabled):
    event.settings.set("shredder_api_export_lifetime_minutes", 10)
    job = start_export(client, base_url)
    event.log_action("pretix.event.changed", data={})  # the event changed after the export: the shred fails
    client.post(job_url(job, "shred"), format="json")
    expires = CachedFile.objects.get(pk=job.file_id).expires
    assert timedelta(minutes=9) < expires - now() <= timedelta(minutes=10)


def test_lifetime_setting_is_ignored_where_the_plugin_is_off(client, base_url, orders, event):
    event.settings.set("shredder_api_export_lifetime_minutes", 10)
    job = start_export(client, base_url)
    left = CachedFile.objects.get(pk=job.file_id).expires - now()
    assert timedelta(minutes=119) < left <= timedelta(minutes=120)


# -- the job history -----------------------------------------------------------------------------------------------


def test_page_lists_jobs_newest_first_with_who_what_and_state_in_words(
    admin, client, session_client, user, organizer, base_url, orders, event, enabled
):
    done = start_export(client, base_url, ["order_emails", "attendee_info"])
    client.post(job_url(done, "shred"), format="json")
    set_state(done, shred_finished=now() - timedelta(minutes=1))
    app_client = oauth_client(user, organizer, "read write", name="GDPR app")
    running = start_export(app_client, base_url, ["invoice_addresses"])
    set_state(running, export_state="running", export_progress=40, export_heartbeat=fresh())
    failed = start_export(session_client, base_url, ["phone_numbers"])
    set_state(failed, shred_state="failed", shred_message="Something broke.", shred_finished=now())

    html = html_of(admin.get(PAGE))
    table = html[html.index('id="shredder-api-jobs"') :]
    rows = table.split("<tr data-job=")[1:]
    assert [r.split('"')[1] for r in rows] == [str(failed.public_id), str(running.public_id), str(done.public_id)]
    assert "admin@example.org" in rows[0] and "Phone numbers" in rows[0]
    assert "Something broke." in rows[0] and "failed" in rows[0]
    assert "Application “GDPR app” for admin@example.org" in rows[1]
    assert "Invoice addresses" in rows[1] and "running (40 %)" in rows[1] and "not started" in rows[1]
    assert "API token “GDPR tooling” of team “Team”" in rows[2]
    assert "Emails, Attendee info" in rows[2]
    assert rows[2].count("done") == 2
    # the shredded export's file is gone; the others show their size
    assert "bytes" not in rows[2] and "KB" not in rows[2] and "downloadable until" not in rows[2]
    assert rows[2].startswith(f'"{done.public_id}" data-next="none"')
    size = CachedFile.objects.get(pk=running.file_id).file.size
    assert f"{size}" in rows[1] or "bytes" in rows[1] or "KB" in rows[1]


def test_page_is_paginated_the_pretix_way(admin, client, base_url, orders, event, enabled):
    job = start_export(client, base_url)
    ShredderJob.objects.bulk_create(
        [
            ShredderJob(event=event, owner=job.owner, api_token=job.api_token, shredders=["order_emails"])
            for _ in range(54)
        ]
    )
    first = html_of(admin.get(PAGE))
    assert first.count("<tr data-job=") == 50
    second = html_of(admin.get(PAGE + "?page=2"))
    assert second.count("<tr data-job=") == 5
    assert "pagination" in second
    assert admin.get(PAGE + "?page=9").status_code == 404


def test_jobs_of_other_events_are_not_listed(admin, client, organizer, orders, event, enabled):
    other = make_event(organizer, slug="other")
    token = make_team(organizer, all_event_permissions=True).tokens.create(name="Other")
    from .conftest import token_client

    start_export(token_client(token), f"/api/v1/organizers/bigevents/events/{other.slug}/shredders/")
    assert "No exports have been made through the API yet." in html_of(admin.get(PAGE))


# -- navigation -----------------------------------------------------------------------------------------------------


def test_event_navigation_links_the_page_where_the_plugin_is_on(admin, event):
    dashboard = "/control/event/bigevents/sampleconf/"
    assert PAGE not in html_of(admin.get(dashboard))
    event.enable_plugin("pretix_shredder_api")
    event.save()
    assert PAGE in html_of(admin.get(dashboard))


def test_settings_navigation_entry(admin, event, enabled):
    assert SETTINGS in html_of(admin.get("/control/event/bigevents/sampleconf/settings/"))


def test_settings_navigation_entry_is_hidden_without_settings_permission(orders_reader, event, enabled):
    html = html_of(orders_reader.get(PAGE))
    assert SETTINGS not in html


# -- issue 22: what the event page tells an organizer (items 2, 7, 8, 9) ----------------------------------------------


def schedule_for(event, state="noticed", error="", shredders=("order_emails", "attendee_info"), days=3):
    from pretix_shredder_api.models import ScheduledShred

    return ScheduledShred.objects.create(
        event=event,
        state=state,
        due=now() + timedelta(days=days),
        notice_at=now() - timedelta(days=1),
        shredders=list(shredders),
        last_error=error,
    )


def test_event_page_says_what_it_is_for_and_has_its_own_name(admin, event, enabled):
    html = html_of(admin.get(PAGE))
    assert "<h1>Data shredder jobs</h1>" in html
    assert "REST clients" not in html
    assert "What happened to the personal data of this event" in html
    assert "stays in the event's log: every shred and every download of an export" in html


def test_event_page_shows_the_schedule_and_links_the_retention_page(admin, orders_reader, event):
    schedule_for(event)
    html = html_of(admin.get(PAGE))
    panel = html[html.index('id="shredder-api-event-schedule"') :]
    panel = panel[: panel.index("</div>\n    </div>")]
    assert 'data-state="noticed"' in panel and "notice sent" in panel and "due " in panel
    assert "Emails, Attendee info" in panel and "order_emails" not in panel
    assert 'href="/control/event/bigevents/sampleconf/shredder-api/retention/"' in panel
    # who may not see the retention page gets no link to it
    assert "shredder-api-event-retention-link" not in html_of(orders_reader.get(PAGE))


def test_event_page_shows_a_failed_schedule_with_its_error(admin, event):
    schedule_for(event, state="failed", error="Your ticket shop needs to be offline.")
    html = html_of(admin.get(PAGE))
    panel = html[html.index('id="shredder-api-event-schedule"') :]
    assert 'data-state="failed" class="text-danger"' in panel
    # a text stored before reasons were keys renders as stored (includes/reason.html)
    assert "Last error:" in panel and '<span class="text-danger">Your ticket shop needs to be offline.</span>' in panel


@pytest.mark.parametrize("locale", ["en", "de"])
def test_a_failure_stored_as_a_key_is_rendered_in_the_readers_language(admin, user, event, locale):
    """The scheduler stores failures as keys (reasons.py); the event page renders them with the next step and its
    link, in the reader's language, never the key itself."""
    from pretix_shredder_api import reasons

    user.locale = locale
    user.save()
    schedule_for(event, state="failed", error=reasons.key("shop_online"))
    html = html_of(admin.get(PAGE))
    panel = html[html.index('id="shredder-api-event-schedule"') :].split("</p>")[0]
    assert "reason:" not in panel
    expected = {
        "en": ("The ticket shop of this event is online", "Take the shop offline."),
        "de": ("Der Ticketshop dieser Veranstaltung ist online", "Nehmen Sie den Shop offline."),
    }[locale]
    for text in expected:
        assert text in panel
    assert f'href="/control/event/{event.organizer.slug}/{event.slug}/live/"' in panel


def test_event_page_lists_pretix_control_panel_shreds_and_pruned_jobs(admin, client, user, base_url, orders, event):
    from .test_overview import shred_through_control_panel

    shred_through_control_panel(event, user, ["order_emails"])
    job = start_export(client, base_url, ["attendee_info"])
    client.post(job_url(job, "shred"), format="json")
    html = html_of(admin.get(PAGE))
    logged = html[html.index('id="shredder-api-logged-shreds"') :]
    assert logged.count("<tr data-source=") == 1  # the API shred has its job row above
    assert 'data-source="control"' in logged and "admin@example.org" in logged and "Emails" in logged
    ShredderJob.objects.filter(pk=job.pk).delete()  # pruned after the retention period
    logged = html_of(admin.get(PAGE))
    logged = logged[logged.index('id="shredder-api-logged-shreds"') :]
    assert 'data-source="api"' in logged and f"API (job {str(job.public_id)[:8]})" in logged
    assert "API token “GDPR tooling” of team “Team”" in logged and "Attendee info" in logged


def test_an_expired_export_is_shown_as_expired_with_no_download(admin, client, base_url, orders, event, enabled):
    job = start_export(client, base_url)
    CachedFile.objects.filter(pk=job.file_id).update(expires=now() - timedelta(minutes=1))
    html = html_of(admin.get(PAGE))
    row = html[html.index(f'<tr data-job="{job.public_id}"') :].split("</tr>")[0]
    assert 'data-next="new_export"' in row and "expired" in row
    assert "KB" not in row and "bytes" not in row and "downloadable until" not in row
    assert "Start a new export to shred the data." in row


def test_next_step_per_row_only_where_the_viewer_may(
    admin, orders_reader, client, session_client, base_url, orders, event, enabled
):
    theirs = start_export(client, base_url)  # a token's export
    mine = start_export(session_client, base_url)  # admin@example.org's own
    html = html_of(admin.get(PAGE))
    row = html[html.index(f'<tr data-job="{mine.public_id}"') :].split("</tr>")[0]
    assert 'data-next="download"' in row and f"download/{mine.public_id}/{mine.secret}/" in row
    assert "downloadable until" in row
    row = html[html.index(f'<tr data-job="{theirs.public_id}"') :].split("</tr>")[0]
    assert 'data-next="api"' in row and str(theirs.secret) not in row
    assert "with the credential that started it" in row
    # a reader (orders:read) never gets a download link, not even of ... nothing of theirs: no secret on the page
    html = html_of(orders_reader.get(PAGE))
    assert str(mine.secret) not in html and str(theirs.secret) not in html


def test_a_retention_export_says_it_is_kept_for_days_and_links_its_download(admin, organizer, orders, event):
    from freezegun import freeze_time as freeze

    from pretix_shredder_api import retention

    retention.update_policy(
        organizer, {"enabled": True, "shredders": ["order_emails"], "days_after_event": 40, "notice_days": 7}
    )
    organizer.settings.flush()
    s = retention.create_schedule(event)
    with freeze(s.notice_at + timedelta(minutes=1)):
        retention.advance(s.pk)
    s.refresh_from_db()
    html = html_of(admin.get(PAGE))
    row = html[html.index(f'<tr data-job="{s.job.public_id}"') :].split("</tr>")[0]
    until = CachedFile.objects.get(pk=s.job.file_id).expires
    assert until - now() > timedelta(days=5)  # kept for days, not the API's 120 minutes
    assert "downloadable until" in row
    assert (
        'data-next="download"' in row
        and 'href="/control/event/bigevents/sampleconf/shredder-api/retention/download/"' in row
    )


def test_downloads_are_listed_on_the_row(admin, client, base_url, orders, event, enabled):
    job = start_export(client, base_url)
    b"".join(client.get(job_url(job, "download")).streaming_content)
    html = html_of(admin.get(PAGE))
    row = html[html.index(f'<tr data-job="{job.public_id}"') :].split("</tr>")[0]
    cell = row[row.index("shredder-api-downloads") :]
    assert "API token “GDPR tooling” of team “Team”" in cell.split("</td>")[0]


def test_settings_page_has_its_own_name_and_no_raw_json(admin, event, enabled):
    html = html_of(admin.get(SETTINGS))
    assert "<h1>Data shredder API settings</h1>" in html
    assert '{"confirm_code"' not in html and "{&quot;confirm_code&quot;" not in html
    assert "the file CONFIRM_CODE.txt in the downloaded zip file" in html


def test_the_three_pages_have_distinct_names_in_the_navigation(admin, event, enabled):
    """pretix's own "Data shredder", the plugin's job page and its settings page (URLs unchanged)."""
    html = html_of(admin.get(PAGE))
    assert f'href="{PAGE}"' in html and "Data shredder jobs" in html
    settings_html = html_of(admin.get("/control/event/bigevents/sampleconf/settings/"))
    assert f'href="{SETTINGS}"' in settings_html and "Data shredder API settings" in settings_html


def test_where_the_plugin_is_off_the_top_bar_leads_to_the_retention_page_of_a_scheduled_shred(
    admin, orders_reader, event
):
    """pretix sends neither the event navigation nor dashboard widgets to a plugin that is off for the event; the
    organizer's retention policy shreds it all the same - the top bar says so on the event's pages."""
    retention_url = "/control/event/bigevents/sampleconf/shredder-api/retention/"
    dashboard = "/control/event/bigevents/sampleconf/"
    assert retention_url not in html_of(admin.get(dashboard))  # no schedule: nothing
    s = schedule_for(event, days=4)
    html = html_of(admin.get(dashboard))
    assert f'href="{retention_url}"' in html and "Scheduled shred: " in html
    assert f'href="{retention_url}"' in html_of(admin.get("/control/event/bigevents/sampleconf/orders/"))
    assert retention_url not in html_of(orders_reader.get(dashboard))  # may not see the retention page
    s.state = "failed"
    s.save()
    assert "Scheduled shred failed (due " in html_of(admin.get(dashboard))
    event.enable_plugin("pretix_shredder_api")  # on: the event navigation has the pages, no top-bar entry
    event.save()
    event.organizer.plugins = "pretix_shredder_api"
    event.organizer.save()
    assert "Scheduled shred" not in html_of(admin.get(dashboard))
