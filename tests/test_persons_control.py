"""The organizer pages "Requests of persons": list (paginated, deadline in days), create, what was found, export,
download, erase, cancel - in English and German, with the same per-event permissions as the API."""

import pytest
from django.test import Client
from pretix.base.models import Order, User

from pretix_shredder_api import jobs, persons
from pretix_shredder_api.models import PersonRequest, PersonState

from .conftest import make_team
from .person_data import EMAIL, PERSON, seed

pytestmark = pytest.mark.django_db

LIST = "/control/organizer/bigevents/shredder-requests/"


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def data(organizer):
    return seed(organizer)


def login(email="admin@example.org"):
    c = Client()
    assert c.login(email=email, password="secret-password-123")
    return c


@pytest.fixture
def web(user):
    return login()


def test_create_find_export_erase_in_the_pages(web, data):
    resp = web.post(LIST, {"email": PERSON, "kind": "erasure"})
    assert resp.status_code == 302
    req = PersonRequest.objects.get()
    assert resp["Location"] == f"{LIST}{req.pk}/" and req.state == PersonState.FOUND and req.user is not None
    html = web.get(f"{LIST}{req.pk}/").content.decode()
    assert EMAIL in html and "Invoices are kept under tax law." in html and "then erased automatically" in html
    assert "Past Conference" in html and "Future Conference" in html
    assert web.post(f"{LIST}{req.pk}/", {"action": "export"}).status_code == 302
    resp = web.get(f"{LIST}{req.pk}/download/")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/zip"
    assert web.post(f"{LIST}{req.pk}/", {"action": "erase"}).status_code == 302
    req.refresh_from_db()
    assert req.state == PersonState.DONE and Order.objects.get(pk=data["a1"].pk).email is None
    html = web.get(f"{LIST}{req.pk}/").content.decode()
    assert EMAIL not in html and "0 of" in html


def test_bad_address_shows_the_form_error(web, data):
    resp = web.post(LIST, {"email": "*@example.net", "kind": "erasure"})
    assert resp.status_code == 200
    assert "not a pattern with wildcards" in resp.content.decode()
    assert not PersonRequest.objects.exists()


def test_list_is_paginated_with_the_deadline_in_days(web, organizer, token, data):
    identity = jobs.Identity(api_token=token)
    for i in range(51):
        persons.create_request(organizer, identity, f"p{i}@example.net", "access", "en")
    html = web.get(LIST).content.decode()
    assert "Requests of persons" in html and html.count("data-request=") == 50
    assert "in 30 days" in html or "in 31 days" in html or "in 29 days" in html
    assert web.get(LIST + "?page=2").content.decode().count("data-request=") == 1


def test_pages_in_german(web, user, data):
    User.objects.filter(pk=user.pk).update(locale="de")
    web = login()
    html = web.get(LIST).content.decode()
    assert "Anfragen von Personen" in html and "Noch keine Anfragen von Personen." in html
    web.post(LIST, {"email": PERSON, "kind": "erasure"})
    html = web.get(f"{LIST}{PersonRequest.objects.get().pk}/").content.decode()
    assert "Rechnungen werden nach Steuerrecht aufbewahrt." in html and "Was gefunden wurde" in html


def test_navigation_entry(web, data):
    html = web.get("/control/organizer/bigevents/").content.decode()
    assert f'href="{LIST}"' in html


def test_cancel_in_the_page(web, data):
    web.post(LIST, {"email": PERSON, "kind": "erasure"})
    req = PersonRequest.objects.get()
    web.post(f"{LIST}{req.pk}/", {"action": "cancel"})
    req.refresh_from_db()
    assert req.state == PersonState.CANCELLED


def test_a_user_lacking_an_event_gets_403_and_nothing_changes(organizer, token, data):
    req = persons.find(persons.create_request(organizer, jobs.Identity(api_token=token), EMAIL, "erasure", "en"))
    limited = User.objects.create_user("limited@example.org", "secret-password-123")
    team = make_team(organizer, limit_event_permissions={"event.orders:read": True, "event.orders:write": True})
    team.all_events = False
    team.save()
    team.limit_events.add(data["past"])
    team.members.add(limited)
    web = login("limited@example.org")
    assert web.get(LIST).status_code == 403
    assert web.get(f"{LIST}{req.pk}/").status_code == 403
    assert web.post(f"{LIST}{req.pk}/", {"action": "erase"}).status_code == 403
    assert web.get(f"{LIST}{req.pk}/download/").status_code == 403
    assert Order.objects.get(pk=data["a1"].pk).email == PERSON


def test_unknown_request_is_404(web, data):
    assert web.get(f"{LIST}99999/").status_code == 404


def test_search_by_address(web, organizer, token, data):
    identity = jobs.Identity(api_token=token)
    wanted = persons.create_request(organizer, identity, "wanted@example.net", "access", "en")
    persons.create_request(organizer, identity, "other@example.net", "access", "en")
    html = web.get(LIST, {"email": "Wanted@Example.net"}).content.decode()
    assert html.count("data-request=") == 1 and f'data-request="{wanted.pk}"' in html
