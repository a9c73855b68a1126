"""GET P report/<asyncid>/<cfid>/ and GET P residual/: the residual scan's answers and their auth matrix."""

from datetime import timedelta

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


# -- GET P residual/ is bounded (finding 19.8): one stored result per event, one scan at a time ----------------------


@pytest.fixture
def scans(monkeypatch):
    """Counts the real scans (the search itself still runs)."""
    from pretix_shredder_api import residual

    calls = []
    original = residual.scan

    def counting(event, values):
        calls.append(event.pk)
        return original(event, values)

    monkeypatch.setattr(residual, "scan", counting)
    return calls


RESIDUAL_KEYS = {"checked_at", "values_found", "complete", "locations"}


def test_two_calls_in_a_row_scan_once_for_every_credential(readonly_client, client, base_url, orders, scans):
    first = readonly_client.get(base_url + "residual/")
    second = readonly_client.get(base_url + "residual/")
    other = client.get(base_url + "residual/")  # another credential: the same stored result
    assert [r.status_code for r in (first, second, other)] == [200, 200, 200]
    assert first.json() == second.json() == other.json()
    assert set(first.json()) == RESIDUAL_KEYS and first.json()["values_found"] == 9
    assert len(scans) == 1


def test_a_new_log_entry_gives_a_fresh_scan(readonly_client, base_url, orders, scans):
    from freezegun import freeze_time

    before = readonly_client.get(base_url + "residual/").json()
    with freeze_time(timedelta(seconds=5), tick=True):
        orders[0].log_action("pretix.event.order.comment", data={"new_comment": "call me"})
        after = readonly_client.get(base_url + "residual/").json()
    assert len(scans) == 2
    assert after["checked_at"] > before["checked_at"]


def test_an_order_change_without_a_log_entry_gives_a_fresh_scan(readonly_client, base_url, orders, scans):
    from freezegun import freeze_time

    assert readonly_client.get(base_url + "residual/").json()["values_found"] == 9
    with freeze_time(timedelta(seconds=5), tick=True):
        orders[0].email = None
        orders[0].save()  # last_modified moves
        assert readonly_client.get(base_url + "residual/").json()["values_found"] == 8
    assert len(scans) == 2


def test_a_new_order_gives_a_fresh_scan(readonly_client, base_url, orders, event, item, scans):
    from .conftest import make_order

    readonly_client.get(base_url + "residual/")
    make_order(event, item, "ORDNEW", "new@example.org")
    assert readonly_client.get(base_url + "residual/").json()["values_found"] > 9
    assert len(scans) == 2


def test_the_stored_result_expires_after_residual_cache_seconds(readonly_client, base_url, orders, scans, monkeypatch):
    from freezegun import freeze_time

    readonly_client.get(base_url + "residual/")
    with freeze_time(timedelta(seconds=599), tick=True):
        readonly_client.get(base_url + "residual/")
    assert len(scans) == 1
    with freeze_time(timedelta(seconds=601), tick=True):
        readonly_client.get(base_url + "residual/")
    assert len(scans) == 2
    monkeypatch.setenv("PRETIX_SHREDDER_API_RESIDUAL_CACHE_SECONDS", "0")  # no reuse (still one scan at a time)
    readonly_client.get(base_url + "residual/")
    readonly_client.get(base_url + "residual/")
    assert len(scans) == 4


def test_while_a_scan_runs_another_request_gets_429_with_retry_after(readonly_client, base_url, event, orders, scans):
    from django.utils.timezone import now

    from pretix_shredder_api.models import ResidualScan

    ResidualScan.objects.create(event=event, running_since=now(), seconds=12.3)
    resp = readonly_client.get(base_url + "residual/")
    assert resp.status_code == 429
    assert resp["Retry-After"] == "13"
    assert resp.json() == {"detail": "A scan of this event is running right now. Please try again in 13 seconds."}
    assert scans == []


def test_a_claim_of_a_process_that_died_is_taken_over(readonly_client, base_url, event, orders, scans):
    from django.utils.timezone import now

    from pretix_shredder_api.models import ResidualScan

    ResidualScan.objects.create(event=event, running_since=now() - timedelta(minutes=11))
    assert readonly_client.get(base_url + "residual/").status_code == 200
    assert len(scans) == 1
    assert ResidualScan.objects.get(event=event).running_since is None


def test_a_scan_that_crashes_gives_up_its_claim(readonly_client, base_url, event, orders, monkeypatch):
    from pretix_shredder_api import residual
    from pretix_shredder_api.models import ResidualScan

    def crash(event, values):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(residual, "scan", crash)
    with pytest.raises(RuntimeError):
        readonly_client.get(base_url + "residual/")
    assert ResidualScan.objects.get(event=event).running_since is None


def test_the_control_page_uses_the_stored_result_and_says_when_a_scan_runs(user, event, orders, scans, base_url):
    from django.test import Client
    from django.utils.timezone import now

    from pretix_shredder_api.models import ResidualScan

    event.organizer.enable_plugin("pretix_shredder_api")
    event.organizer.save()
    event.enable_plugin("pretix_shredder_api")
    event.save()
    c = Client()
    assert c.login(email="admin@example.org", password="secret-password-123")
    page = "/control/event/bigevents/sampleconf/shredder-api/residual/"
    assert "9 personal values of this event are still stored." in c.get(page).content.decode()
    assert "9 personal values of this event are still stored." in c.get(page).content.decode()
    assert len(scans) == 1
    ResidualScan.objects.filter(event=event).update(running_since=now(), fingerprint="changed meanwhile")
    html = c.get(page).content.decode()
    assert 'id="shredder-api-residual-running"' in html and "A scan of this event is running right now." in html
    assert len(scans) == 1


def test_retry_after_counts_down_the_running_scan(readonly_client, base_url, event, orders):
    from django.utils.timezone import now

    from pretix_shredder_api.models import ResidualScan

    ResidualScan.objects.create(event=event, running_since=now() - timedelta(seconds=40), seconds=50)
    assert readonly_client.get(base_url + "residual/")["Retry-After"] == "10"
    ResidualScan.objects.filter(event=event).update(running_since=now() - timedelta(seconds=300))
    assert readonly_client.get(base_url + "residual/")["Retry-After"] == "2"  # overdue: ask again soon
    ResidualScan.objects.filter(event=event).update(running_since=now(), seconds=None)
    assert readonly_client.get(base_url + "residual/")["Retry-After"] == "5"  # never scanned: a guess
