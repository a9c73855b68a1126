"""The REST resource of requests of one person (CONTRACT.md "Requests of one person"): answers, states, bad input
and the auth matrix. Without a broker the POSTs return once the step is done (pretix runs tasks eagerly)."""

import io
import json
import zipfile

import pytest
from pretix.base.models import LogEntry, Order
from rest_framework.test import APIClient

from pretix_shredder_api.models import PersonRequest, PersonState

from .conftest import make_team, oauth_client, token_client
from .person_data import EMAIL, PERSON, seed

pytestmark = pytest.mark.django_db

BASE = "/api/v1/organizers/bigevents/shredder-requests/"


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def data(organizer):
    return seed(organizer)


def create(client, kind="erasure", email=PERSON, **headers):
    return client.post(BASE, {"email": email, "kind": kind}, format="json", **headers)


@pytest.fixture
def req_id(client, data):
    resp = create(client)
    assert resp.status_code == 201, resp.content
    return resp.json()["id"]


# -- the resource -----------------------------------------------------------------------------------------------------


def test_create_answers_201_with_the_request(client, data):
    resp = create(client)
    assert resp.status_code == 201
    body = resp.json()
    assert set(body) >= {"id", "kind", "state", "received", "respond_by"}
    assert body["kind"] == "erasure" and body["state"] == "found" and body["held"] is True
    assert "email" not in body  # the list and the 201 say nothing about the address
    req = PersonRequest.objects.get(pk=body["id"])
    assert req.email == EMAIL and req.api_token is not None


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"kind": "erasure"}, "email"),
        ({"email": "", "kind": "erasure"}, "email"),
        ({"email": None, "kind": "erasure"}, "email"),
        ({"email": ["a@example.net"], "kind": "erasure"}, "email"),
        ({"email": "no-at-sign", "kind": "erasure"}, "email"),
        ({"email": "a" * 250 + "@example.net", "kind": "erasure"}, "email"),
        ({"email": "%@example.net", "kind": "erasure"}, "email"),
        ({"email": "*@example.net", "kind": "erasure"}, "email"),
        ({"email": "ada%lovelace@example.net", "kind": "erasure"}, "email"),
        ({"email": EMAIL}, "kind"),
        ({"email": EMAIL, "kind": "delete"}, "kind"),
        ({"email": EMAIL, "kind": None}, "kind"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_creates_nothing(client, data, payload, field):
    resp = client.post(BASE, payload, format="json")
    assert resp.status_code == 400
    assert list(resp.json()) == [field]
    assert not PersonRequest.objects.exists()


def test_bad_input_in_german(client, data):
    resp = client.post(BASE, {"email": "*@x.de", "kind": "x"}, format="json", HTTP_ACCEPT_LANGUAGE="de")
    assert resp.json() == {
        "email": ["Bitte geben Sie genau eine E-Mail-Adresse an, kein Muster mit Platzhaltern."],
        "kind": ["Die Art muss „access“ (Auskunft) oder „erasure“ (Löschung) sein."],
    }


def test_a_body_that_is_not_an_object(client, data):
    assert client.post(BASE, [1, 2], format="json").status_code == 400


def test_an_address_holding_nothing_completes_saying_so(client, data):
    resp = create(client, email="nobody@example.net", HTTP_ACCEPT_LANGUAGE="de")
    body = resp.json()
    assert resp.status_code == 201 and body["state"] == "done" and body["held"] is False
    assert body["message"] == "Zu dieser Person sind keine Daten gespeichert."


def test_retrieve_shows_findings_with_texts(client, data, req_id):
    body = client.get(f"{BASE}{req_id}/", HTTP_ACCEPT_LANGUAGE="de").json()
    assert body["email"] == EMAIL and body["state"] == "found" and 28 <= body["days_left"] <= 31
    past = next(e for e in body["events"] if e["event"] == "past")
    invoice = next(i for i in past["items"] if i["type"] == "invoice")
    assert invoice["disposition"] == "retained" and "Steuerrecht" in invoice["text"]
    future = next(e for e in body["events"] if e["event"] == "future")
    assert all(i["disposition"] == "blocked" for i in future["items"])
    assert [i["type"] for i in body["organizer_items"]] == ["customer", "sso"]
    assert body["download"] is None and body["proof"] is None


@pytest.mark.parametrize("pk", ["999999", "abc", "1e3", "-1", "9" * 30])
def test_unknown_or_malformed_ids_are_json_404(client, data, pk):
    resp = client.get(f"{BASE}{pk}/")
    assert resp.status_code == 404 and "detail" in resp.json()


def test_list_open_first_and_paginated(client, data):
    done = create(client, email="nobody@example.net").json()["id"]
    open_ = create(client).json()["id"]
    resp = client.get(BASE)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [r["id"] for r in body["results"]] == [open_, done]
    assert all("email" not in r for r in body["results"])
    assert client.get(BASE + "?page=99").status_code == 404


def test_export_then_download(client, data):
    req_id = create(client, kind="access").json()["id"]
    assert client.get(f"{BASE}{req_id}/download/").status_code == 404  # none made yet
    resp = client.post(f"{BASE}{req_id}/export/", format="json")
    assert resp.status_code == 202
    assert resp.json()["state"] == "done"  # an access request is answered by its export
    resp = client.get(f"{BASE}{req_id}/download/")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/zip"
    content = b"".join(resp.streaming_content) if resp.streaming else resp.content
    person = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("person.json"))
    assert person["request"]["email"] == EMAIL


def test_download_is_409_while_the_export_is_made(client, data, req_id):
    PersonRequest.objects.filter(pk=req_id).update(state=PersonState.EXPORTING)
    resp = client.get(f"{BASE}{req_id}/download/")
    assert resp.status_code == 409 and resp.json()["state"] == "exporting"
    # and a second export POST meanwhile starts nothing
    assert client.post(f"{BASE}{req_id}/export/", format="json").status_code == 202
    assert PersonRequest.objects.get(pk=req_id).file_id is None


def test_erase_202_once_and_the_proof(client, data, req_id):
    client.post(f"{BASE}{req_id}/export/", format="json")
    assert PersonRequest.objects.get(pk=req_id).state == PersonState.EXPORTED
    resp = client.post(f"{BASE}{req_id}/erase/", format="json")
    assert resp.status_code == 202
    body = resp.json()
    assert body["state"] == "done" and body["email"] is None and body["proof"]["found"] == 0
    assert body["orders_affected"] == ["ADA01", "MARY1"] and body["download"] is None
    assert Order.objects.get(pk=data["a1"].pk).email is None
    again = client.post(f"{BASE}{req_id}/erase/", format="json")
    assert again.status_code == 202 and again.json()["erased_at"] == body["erased_at"]
    assert LogEntry.objects.filter(action_type="pretix_shredder_api.person.erased").count() == 1
    assert client.post(f"{BASE}{req_id}/cancel/", format="json").status_code == 409


def test_erase_of_an_access_request_is_400(client, data):
    req_id = create(client, kind="access").json()["id"]
    resp = client.post(f"{BASE}{req_id}/erase/", format="json")
    assert resp.status_code == 400 and list(resp.json()) == ["kind"]


def test_erase_of_a_cancelled_request_is_409(client, data, req_id):
    assert client.post(f"{BASE}{req_id}/cancel/", format="json").status_code == 200
    resp = client.post(f"{BASE}{req_id}/erase/", format="json")
    assert resp.status_code == 409 and resp.json()["state"] == "cancelled"
    assert Order.objects.get(pk=data["a1"].pk).email == PERSON


# -- the auth matrix --------------------------------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", ""),
    ("POST", ""),
    ("GET", "{id}/"),
    ("POST", "{id}/export/"),
    ("GET", "{id}/download/"),
    ("POST", "{id}/erase/"),
    ("POST", "{id}/cancel/"),
]


def call(client, method, path, req_id):
    url = BASE + path.format(id=req_id)
    if method == "GET":
        return client.get(url)
    return client.post(url, {"email": EMAIL, "kind": "erasure"} if path == "" else {}, format="json")


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_no_credentials_is_401(data, req_id, method, path):
    assert call(APIClient(), method, path, req_id).status_code == 401


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_devices_are_403(device_client, data, req_id, method, path):
    resp = call(device_client, method, path, req_id)
    assert resp.status_code == 403 and "detail" in resp.json()


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_other_organizers_are_refused(foreign_client, data, req_id, method, path):
    assert call(foreign_client, method, path, req_id).status_code == 403
    assert PersonRequest.objects.get(pk=req_id).state == PersonState.FOUND


@pytest.mark.parametrize(
    "method, path, status",
    [("GET", "", 200), ("POST", "", 201), ("GET", "{id}/", 200), ("POST", "{id}/export/", 202),
     ("POST", "{id}/erase/", 403), ("POST", "{id}/cancel/", 403)],
)  # fmt: skip
def test_read_permission_reads_and_exports_but_does_not_erase(readonly_client, data, req_id, method, path, status):
    resp = call(readonly_client, method, path, req_id)
    assert resp.status_code == status
    if status == 403:
        assert resp.json()["events"] == ["future", "past"]
        assert "event.orders:write" in resp.json()["detail"]
        assert Order.objects.get(pk=data["a1"].pk).email == PERSON


def test_a_team_lacking_one_event_is_told_which_and_nothing_changes(organizer, data, req_id):
    team = make_team(organizer, limit_event_permissions={"event.orders:write": True, "event.orders:read": True})
    team.all_events = False
    team.save()
    team.limit_events.add(data["past"])
    client = token_client(team.tokens.create(name="Past only"))
    for method, path in ENDPOINTS:
        resp = call(client, method, path, req_id)
        assert resp.status_code == 403, (method, path)
        assert resp.json()["events"] == ["future"], (method, path)
    assert Order.objects.get(pk=data["a1"].pk).email == PERSON
    assert PersonRequest.objects.get(pk=req_id).state == PersonState.FOUND


def test_oauth_scopes(user, organizer, data, req_id):
    read = oauth_client(user, organizer, "read")
    assert read.get(f"{BASE}{req_id}/").status_code == 200
    assert read.post(f"{BASE}{req_id}/erase/", format="json").status_code == 403
    write = oauth_client(user, organizer, "read write", app=read.oauth_application)
    assert write.post(f"{BASE}{req_id}/export/", format="json").status_code == 202
    assert write.post(f"{BASE}{req_id}/erase/", format="json").status_code == 202


def test_session_user(session_client, data, req_id):
    assert session_client.get(f"{BASE}{req_id}/").status_code == 200
    assert session_client.post(f"{BASE}{req_id}/export/", format="json").status_code == 202
    resp = session_client.post(f"{BASE}{req_id}/erase/", format="json")
    assert resp.status_code == 202
    assert PersonRequest.objects.get(pk=req_id).user is None  # created by the token, erased by the user


def test_permission_answer_in_german(readonly_client, data, req_id):
    resp = readonly_client.post(f"{BASE}{req_id}/erase/", format="json", HTTP_ACCEPT_LANGUAGE="de")
    assert resp.json()["detail"] == (
        "Ihnen fehlt die Berechtigung event.orders:write für diese Veranstaltungen der Anfrage: future, past"
    )


def test_list_searches_by_address_also_closed_requests(client, data):
    done = create(client, email="nobody@example.net").json()["id"]
    create(client)
    body = client.get(BASE, {"email": " NOBODY@example.net"}).json()
    assert [r["id"] for r in body["results"]] == [done]
    assert client.get(BASE, {"email": "someone.else@example.net"}).json()["count"] == 0
