"""The control-panel page: the policy setting, and what was exported and shredded, when and by whom."""

import pytest
from django.test import Client

from .helpers import job_url, start_export

pytestmark = pytest.mark.django_db

PAGE = "/control/event/bigevents/sampleconf/shredder-api/"


@pytest.fixture
def admin(user):
    c = Client()
    assert c.login(email="admin@example.org", password="secret-password-123")
    return c


@pytest.fixture
def enabled(event):
    event.enable_plugin("pretix_shredder_api")
    event.save()


def test_page_needs_the_plugin_enabled(admin, event):
    assert admin.get(PAGE).status_code == 404


def test_settings_page_switches_the_confirm_code_policy_on(admin, event, enabled):
    resp = admin.get(PAGE)
    assert resp.status_code == 200
    assert "Require the confirm code" in resp.content.decode()
    assert "No exports have been made through the API yet." in resp.content.decode()

    resp = admin.post(PAGE, {"shredder_api_require_confirm_code": "on"})
    assert resp.status_code == 302
    event.settings.flush()
    assert event.settings.get("shredder_api_require_confirm_code", as_type=bool) is True


def test_page_lists_exports_and_shreds_with_who_did_them(admin, client, base_url, orders, event, enabled):
    done = start_export(client, base_url)
    client.post(job_url(done, "shred"), format="json")
    start_export(client, base_url, ["attendee_info"])
    html = admin.get(PAGE).content.decode()
    assert html.count("API token “GDPR tooling” of team “Team”") == 2
    assert "order_emails" in html and "attendee_info" in html
    assert "succeeded" in html


def test_navigation_entry(admin, event, enabled):
    html = admin.get("/control/event/bigevents/sampleconf/settings/").content.decode()
    assert PAGE in html


def test_users_without_settings_permission_get_403(event, enabled, organizer):
    from pretix.base.models import User

    from .conftest import make_team

    team = make_team(organizer, limit_event_permissions={"event.orders:write": True})
    u = User.objects.create_user("orders@example.org", "secret-password-123")
    team.members.add(u)
    c = Client()
    c.login(email="orders@example.org", password="secret-password-123")
    assert c.get(PAGE).status_code == 403
