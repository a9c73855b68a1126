"""Who may call: the auth matrix for every endpoint."""

import pytest
from rest_framework.test import APIClient

from .conftest import oauth_client, token_client
from .helpers import job_url, start_export

pytestmark = pytest.mark.django_db

ENDPOINTS = ["list", "detail", "export", "download", "shred", "status"]


@pytest.fixture
def job(client, base_url, orders):
    return start_export(client, base_url)


def call(client, endpoint, base_url, job):
    if endpoint == "list":
        return client.get(base_url)
    if endpoint == "detail":
        return client.get(base_url + "order_emails/")
    if endpoint == "export":
        return client.post(base_url + "export/", {"shredders": ["order_emails"]}, format="json")
    if endpoint in ("download", "status"):
        return client.get(job_url(job, endpoint))
    return client.post(job_url(job, endpoint), format="json")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_credentials_is_401(endpoint, base_url, job):
    assert call(APIClient(), endpoint, base_url, job).status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bad_token_is_401(endpoint, base_url, job):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert call(client, endpoint, base_url, job).status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_without_orders_write_is_403(endpoint, readonly_client, base_url, job):
    assert call(readonly_client, endpoint, base_url, job).status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_other_organizers_token_is_403(endpoint, foreign_client, base_url, job):
    assert call(foreign_client, endpoint, base_url, job).status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_devices_are_403_with_a_clear_detail(endpoint, device_client, base_url, job):
    resp = call(device_client, endpoint, base_url, job)
    assert resp.status_code == 403
    assert resp.json() == {"detail": "Devices may not use the data shredder."}


@pytest.mark.parametrize("endpoint", ["export", "shred"])
def test_oauth_without_write_scope_cannot_post(endpoint, user, organizer, base_url, job):
    client = oauth_client(user, organizer, scope="read")
    assert call(client, endpoint, base_url, job).status_code == 403


@pytest.mark.parametrize("endpoint", ["list", "detail", "download", "status"])
def test_oauth_without_read_scope_cannot_get(endpoint, user, organizer, base_url, job):
    client = oauth_client(user, organizer, scope="write")
    assert call(client, endpoint, base_url, job).status_code == 403


def test_oauth_token_not_granted_for_this_organizer_is_403(user, other_organizer, base_url):
    client = oauth_client(user, other_organizer, scope="read write")
    assert client.get(base_url).status_code == 403


def test_oauth_read_write_runs_the_flow(user, organizer, base_url, orders):
    client = oauth_client(user, organizer, scope="read write")
    assert client.get(base_url).status_code == 200
    job = start_export(client, base_url)
    assert client.get(job_url(job, "download")).status_code == 200
    assert client.post(job_url(job, "shred"), format="json").status_code == 202
    assert client.get(job_url(job, "status")).status_code == 200


def test_session_user_runs_the_flow(session_client, base_url, orders):
    assert session_client.get(base_url).status_code == 200
    job = start_export(session_client, base_url)
    assert session_client.get(job_url(job, "download")).status_code == 200
    assert session_client.post(job_url(job, "shred"), format="json").status_code == 202
    assert session_client.get(job_url(job, "status")).status_code == 200


def test_team_limited_to_orders_write_may_shred(organizer, base_url, orders):
    from .conftest import make_team

    team = make_team(organizer, limit_event_permissions={"event.orders:write": True})
    client = token_client(team.tokens.create(name="Orders only"))
    job = start_export(client, base_url)
    assert client.post(job_url(job, "shred"), format="json").status_code == 202
