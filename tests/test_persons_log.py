"""Requests of one person, around them: organizer-level log entries in words (also on pretix's organizer log page)
and the webhook ``pretix_shredder_api.person.erased`` (order codes and counts, no personal values), delivered by
pretix's own machinery to a real HTTP receiver."""

import json

import pytest
from django.test import Client
from django.utils import translation
from pretix.api.models import WebHook
from pretix.api.webhooks import get_all_webhook_events
from pretix.base.models import LogEntry, Team, User

from .person_data import EMAIL, PERSON, VALUES, seed
from .test_webhooks import Receiver, save_artifact, without_volatile

pytestmark = pytest.mark.django_db

BASE = "/api/v1/organizers/bigevents/shredder-requests/"


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.ALLOW_HTTP_TO_PRIVATE_NETWORKS = True


@pytest.fixture
def data(organizer):
    return seed(organizer)


def erased_request(client):
    req_id = client.post(BASE, {"email": PERSON, "kind": "erasure"}, format="json").json()["id"]
    assert client.post(f"{BASE}{req_id}/export/", format="json").status_code == 202  # nothing unexported is erased
    assert client.post(f"{BASE}{req_id}/erase/", format="json").status_code == 202
    return req_id


def test_the_webhook_type_is_registered():
    with translation.override("en"):
        assert (
            str(get_all_webhook_events()["pretix_shredder_api.person.erased"].verbose_name) == "Data of a person erased"
        )


def test_erasure_delivers_the_webhook_without_values(organizer, client, data, django_capture_on_commit_callbacks):
    with Receiver() as r:
        hook = WebHook.objects.create(organizer=organizer, target_url=r.url, all_events=True)
        hook.listeners.create(action_type="pretix_shredder_api.person.erased")
        with django_capture_on_commit_callbacks(execute=True):
            req_id = erased_request(client)
    save_artifact("person_erased", r.received)
    (payload,) = [without_volatile(p) for p in r.received]
    assert payload == {
        "organizer": "bigevents",
        "action": "pretix_shredder_api.person.erased",
        "request": req_id,
        "orders": ["ADA01", "MARY1"],
        "counts": payload["counts"],
        "proof_found": 0,
    }
    assert payload["counts"]["erased"] > 0 and payload["counts"]["retained"] == 1
    text = json.dumps(payload).casefold()
    assert EMAIL not in text and all(v.casefold() not in text for v in VALUES.values())


def test_log_texts(organizer, client, data):
    req_id = erased_request(client)
    entries = LogEntry.objects.filter(action_type__startswith="pretix_shredder_api.person.").order_by("pk")
    assert all(e.event_id is None and e.organizer_id == organizer.pk for e in entries)
    who = "API token “GDPR tooling” of team “Team”"
    texts = [e.display() for e in entries]
    assert texts[0] == f"{who} registered request #{req_id} of a person (erasure)."
    assert texts[1].startswith(f"The data of the person of request #{req_id} was found: ")
    assert texts[2] == f"The data of the person of request #{req_id} was exported."
    assert texts[3] == (
        f"{who} erased the data of the person of request #{req_id} (orders: ADA01, MARY1); "
        "the check afterwards found 0 values left."
    )


def organizer_log_page(organizer):
    admin = User.objects.create_user("owner@example.org", "secret-password-123")
    team = Team.objects.create(organizer=organizer, name="Owners", all_events=True, all_event_permissions=True,
                               all_organizer_permissions=True)  # fmt: skip
    team.members.add(admin)
    c = Client(raise_request_exception=False)
    c.login(email="owner@example.org", password="secret-password-123")
    return c.get("/control/organizer/bigevents/logs")


@pytest.mark.parametrize("enabled", [True, False])
def test_the_organizer_log_page_shows_the_entries(organizer, client, data, enabled):
    """The plugin is an event-and-organizer hybrid: pretix renders its organizer-level entries whether or not it is
    switched on for the organizer."""
    organizer.plugins = "pretix_shredder_api" if enabled else ""
    organizer.save()
    req_id = erased_request(client)
    resp = organizer_log_page(organizer)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert f"registered request #{req_id} of a person (erasure)." in html
    assert "the check afterwards found 0 values left." in html
    assert EMAIL not in html
