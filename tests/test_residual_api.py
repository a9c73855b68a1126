"""GET P report/<asyncid>/<cfid>/ and GET P residual/: the residual scan's answers and their auth matrix."""

import pytest
from rest_framework.test import APIClient

from pretix_shredder_api.models import ShredderJob

from .conftest import make_team, oauth_client, token_client
from .helpers import job_url, set_state, start_export

pytestmark = pytest.mark.django_db

ENDPOINTS = ["report", "residual"]


@pytest.fixture
def job(client, base_url, orders):
    return start_export(client, base_url, shredders=("order_emails", "attendee_info"))


def call(client, endpoint, base_url, job):
    if endpoint == "report":
        return client.get(job_url(job, "report"))
    return client.get(base_url + "residual/")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_credentials_is_401(endpoint, base_url, job):
    assert call(APIClient(), endpoint, base_url, job).status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_without_orders_read_is_403(endpoint, organizer, base_url, job):
    team = make_team(organizer, limit_event_permissions={"event.settings.general:write": True})
    client = token_client(team.tokens.create(name="Settings only"))
    assert call(client, endpoint, base_url, job).status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_other_organizers_token_is_403(endpoint, foreign_client, base_url, job):
    assert call(foreign_client, endpoint, base_url, job).status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_devices_are_403_with_a_clear_detail(endpoint, device_client, base_url, job):
    resp = call(device_client, endpoint, base_url, job)
    assert resp.status_code == 403
    assert resp.json() == {"detail": "Devices may not use the data shredder."}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_oauth_without_read_scope_is_403(endpoint, user, organizer, base_url, job):
    client = oauth_client(user, organizer, scope="write")
    assert call(client, endpoint, base_url, job).status_code == 403


def test_read_permission_is_enough_for_the_on_demand_scan(readonly_client, base_url, orders):
    resp = readonly_client.get(base_url + "residual/")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"checked_at", "values_found", "complete", "locations"}
    # 3 buyer e-mails, 3 attendee names and 3 attendee e-mails of the fixture orders
    assert body["values_found"] == 9 and body["complete"] is False
    assert {(loc["table"], loc["column"], loc["action_type"], loc["count"]) for loc in body["locations"]} == {
        ("pretixbase_order", "email", None, 3),
        # the fixture's names are words of its attendee e-mails ("Attendee ORD0", "attendee-ord0@example.org")
        ("pretixbase_orderposition", "attendee_email", None, 6),
        ("pretixbase_orderposition", "attendee_name_cached", None, 3),
        ("pretixbase_orderposition", "attendee_name_parts", None, 3),
    }


def test_report_before_the_shred_says_not_started(client, job):
    resp = client.get(job_url(job, "report"))
    assert resp.status_code == 200
    assert resp.json() == {
        "shred": "not_started",
        "shredders": ["order_emails", "attendee_info"],
        "checked_at": None,
        "values_before": None,
        "values_found": None,
        "complete": None,
        "locations": [],
    }


def test_report_after_the_shred(client, job):
    assert client.post(job_url(job, "shred"), format="json").status_code == 202
    job.refresh_from_db()
    resp = client.get(job_url(job, "report"))
    assert resp.status_code == 200
    assert resp.json() == {
        "shred": "ok",
        "shredders": ["order_emails", "attendee_info"],
        "checked_at": job.residual_checked_at.isoformat().replace("+00:00", "Z"),
        "values_before": 9,
        "values_found": 0,
        "complete": True,
        "locations": [],
    }


def test_report_of_a_running_shred_has_no_outcome_yet(client, job):
    from .helpers import fresh

    set_state(job, shred_state="running", shred_heartbeat=fresh(), residual_checked_at=None)
    assert client.get(job_url(job, "report")).json()["shred"] == "running"
    assert client.get(job_url(job, "report")).json()["values_found"] is None


def test_report_is_owner_scoped_like_every_job_url(client, second_client, job, base_url):
    foreign = second_client.get(job_url(job, "report"))
    assert foreign.status_code == 404
    unknown = job_url(job, "report").replace(str(job.public_id), "00000000-0000-4000-8000-000000000000")
    assert client.get(unknown).status_code == 404
    assert foreign.json() == client.get(unknown).json() == {"detail": "This export does not exist."}
    assert client.get(base_url + "report/not-a-uuid/x/").status_code == 404


def test_a_retried_shred_counts_what_the_first_attempt_already_deleted(client, job, monkeypatch):
    """A worker that died half-way: the e-mails are gone, the names not. The retry's "before" still counts all 9
    values - the export zip (kept until a shred succeeded) holds the e-mails the first attempt deleted."""
    from pretix.base.shredder import AttendeeInfoShredder, ShredError

    original = AttendeeInfoShredder.shred_data

    def die(self, progress_callback=None):
        raise ShredError("Worker lost.")

    monkeypatch.setattr(AttendeeInfoShredder, "shred_data", die)
    status = client.post(job_url(job, "shred"), format="json").json()["status"]
    assert client.get(status).status_code == 417
    assert client.get(job_url(job, "report")).json()["shred"] == "failed"
    assert client.get(job_url(job, "report")).json()["values_found"] is None

    monkeypatch.setattr(AttendeeInfoShredder, "shred_data", original)
    assert client.post(job_url(job, "shred"), format="json").status_code == 202
    body = client.get(job_url(job, "report")).json()
    assert (body["shred"], body["values_before"], body["values_found"]) == ("ok", 9, 0)
    assert ShredderJob.objects.get(pk=job.pk).residual_values == 9
