"""Requests of one person: what an irreversible erasure must never do - touch another person's mails and log entries
(a look-alike address), act in an event whose permission was not checked, undo a cancel, report skipped rows as
erased, or erase what was not exported first."""

import json
from datetime import timedelta

import pytest
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.models import CachedFile, LogEntry, Order, OutgoingMail, Team

from pretix_shredder_api import flows, jobs, persons
from pretix_shredder_api.models import PersonRequest, PersonState

from .conftest import make_event, make_order, token_client
from .person_data import EMAIL, PERSON, seed

pytestmark = pytest.mark.django_db

BASE = "/api/v1/organizers/bigevents/shredder-requests/"


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def identity(token):
    return jobs.Identity(api_token=token)


def new_request(organizer, identity, email, kind="erasure"):
    req = persons.create_request(organizer, identity, persons.validate_email(email), kind, "en")
    return persons.find(req)


def export(req):
    assert persons.check_export(req) and persons.claim_export(req)
    return persons.export(req)


def erase(req):
    req = export(req)
    assert persons.check_erase(req) and persons.claim_erase(req)
    return persons.erase(req)


def mail(organizer, event, order, to):
    return OutgoingMail.objects.create(
        organizer=organizer, event=event, order=order, subject="Your order", body_plain="Hello",
        sender="shop@example.org", to=to, recipient_count=len(to),
    )  # fmt: skip


# -- 1. exact address match for mails and log entries ----------------------------------------------------------------


def test_a_lookalike_address_mails_and_logs_are_not_the_persons(organizer, identity):
    event = make_event(organizer, slug="club", name="Club")
    item = event.items.create(name="Ticket", default_price=23)
    ann = make_order(event, item, "ANN01", "ann@x.org")
    joann = make_order(event, item, "JOANN", "joann@x.org")
    other = make_order(event, item, "OTHER", "bob@x.org")
    mine = mail(organizer, event, ann, ["ann@x.org"])
    theirs = [
        mail(organizer, event, joann, ["joann@x.org"]),
        mail(organizer, None, None, ["Jo Ann <JoAnn@X.org>"]),
        mail(organizer, event, other, ["ann@x.org.evil.example"]),
    ]
    also_mine = mail(organizer, None, None, ["Ann <ANN@x.org>"])  # organizer level, by address only
    joann.log_action("pretix.event.order.email.changed", data={"old_email": "xjoann@x.org", "new_email": "joann@x.org"})
    other.log_action("pretix.event.order.comment", data={"new_comment": "Forward to joann@x.org please"})
    other.log_action("pretix.event.order.contact.changed", data={"old_email": "ann@x.org", "new_email": "bob@x.org"})
    their_logs = {
        le.pk: le.data
        for le in LogEntry.objects.filter(content_type__model="order", object_id__in=[joann.pk, other.pk])
        if "ann@x.org" not in json.loads(le.data).values()
    }
    assert len(their_logs) == 2

    req = new_request(organizer, identity, "Ann@X.org")
    h = persons.find_holdings(organizer, "ann@x.org")
    assert sorted(m.pk for m in h.mails) == sorted([mine.pk, also_mine.pk])
    assert all(le.pk not in their_logs for le in h.logs)
    assert any(le.object_id == other.pk for le in h.logs)  # the old address of a changed order still counts
    req = erase(req)
    assert req.state == PersonState.DONE
    assert not OutgoingMail.objects.filter(pk__in=[mine.pk, also_mine.pk]).exists()
    assert OutgoingMail.objects.filter(pk__in=[m.pk for m in theirs]).count() == 3
    assert {le.pk: le.data for le in LogEntry.objects.filter(pk__in=their_logs)} == their_logs
    assert not LogEntry.objects.filter(pk__in=their_logs, shredded=True).exists()
    assert Order.objects.get(pk=joann.pk).email == "joann@x.org"
    changed = LogEntry.objects.get(action_type="pretix.event.order.contact.changed")
    assert json.loads(changed.data) == {"old_email": "█", "new_email": "bob@x.org"}


def test_address_boundaries():
    match = persons.address_matcher(["ann@x.org"])
    for text in ["ann@x.org", "ANN@X.ORG", "Ann <ann@x.org>", "to ann@x.org.", "ann@x.org, bob@y.org"]:
        assert match(text), text
    for text in ["joann@x.org", "jo.ann@x.org", "j+ann@x.org", "ann@x.org.uk", "ann@x.orgs", "ann@x-org", ""]:
        assert not match(text), text


# -- 2. export and erase act only within the events that were checked ------------------------------------------------


def test_an_event_added_since_the_finding_is_not_touched_and_is_reported(organizer):
    one = make_event(organizer, slug="one", name="One")
    item = one.items.create(name="Ticket", default_price=23)
    make_order(one, item, "ANN01", "ann@x.org")
    team = Team.objects.create(organizer=organizer, name="One only", all_events=False, all_event_permissions=True)
    team.limit_events.add(one)
    client = token_client(team.tokens.create(name="One only"))
    resp = client.post(BASE, {"email": "ann@x.org", "kind": "erasure"}, format="json")
    assert resp.status_code == 201, resp.content
    rid = resp.json()["id"]
    assert PersonRequest.objects.get(pk=rid).event_ids == [one.pk]

    two = make_event(organizer, slug="two", name="Two")  # the credential cannot change (or read) it
    item2 = two.items.create(name="Ticket", default_price=23)
    later = make_order(two, item2, "ANN02", "ann@x.org")
    mail(organizer, two, later, ["ann@x.org"])
    later.log_action("pretix.event.order.placed", data={"email": "ann@x.org"})

    resp = client.post(f"{BASE}{rid}/export/", format="json")
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert [e["event"] for e in body["events"]] == ["one"]
    assert "two" in body["message"] and "new request" in body["message"]
    resp = client.post(f"{BASE}{rid}/erase/", format="json")
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert body["state"] == "done" and body["orders_affected"] == ["ANN01"]
    assert "two" in body["message"] and "new request" in body["message"]
    assert Order.objects.get(pk=later.pk).email == "ann@x.org"
    assert OutgoingMail.objects.filter(order=later).exists()
    assert not LogEntry.objects.filter(object_id=later.pk, content_type__model="order", shredded=True).exists()
    assert Order.objects.get(code="ANN01").email is None


# -- 3. a cancel during a step stays cancelled ------------------------------------------------------------------------


def test_a_cancel_during_the_export_stays_cancelled_and_the_file_goes(organizer, identity, monkeypatch):
    data = seed(organizer)
    req = new_request(organizer, identity, PERSON)
    assert persons.check_export(req) and persons.claim_export(req)
    original = persons.summary_text

    def cancelled_meanwhile(r, findings, counts):
        persons.cancel(PersonRequest.objects.get(pk=r.pk), identity)
        return original(r, findings, counts)

    monkeypatch.setattr(persons, "summary_text", cancelled_meanwhile)
    req = persons.export(req)
    req.refresh_from_db()
    assert req.state == PersonState.CANCELLED and req.email == ""
    assert req.file_id is None and req.exported_at is None
    assert not CachedFile.objects.filter(session_key=f"pretix_shredder_api:person:{req.pk}").exists()
    assert not LogEntry.objects.filter(action_type="pretix_shredder_api.person.exported").exists()
    with pytest.raises(persons.Conflict):
        persons.check_erase(req)
    assert Order.objects.get(pk=data["a1"].pk).email == PERSON


def test_a_cancel_during_the_finding_stays_cancelled(organizer, identity, monkeypatch):
    seed(organizer)
    req = persons.create_request(organizer, identity, "nobody@example.org", "erasure", "en")
    original = persons.dispositions

    def cancelled_meanwhile(h):
        persons.cancel(PersonRequest.objects.get(pk=req.pk), identity)
        return original(h)

    monkeypatch.setattr(persons, "dispositions", cancelled_meanwhile)
    req = persons.find(req)
    assert req.state == PersonState.CANCELLED and req.message == ""
    assert not LogEntry.objects.filter(action_type="pretix_shredder_api.person.found").exists()


# -- 4. the follow-up marks only what it erased -----------------------------------------------------------------------


def test_the_follow_up_marks_skipped_items_as_skipped(organizer, identity):
    data = seed(organizer)
    future = data["future"]
    item = future.items.get()
    f2 = make_order(future, item, "FUT02", EMAIL)  # a second valid ticket of the future event
    f2.positions.update(attendee_email=None)
    req = erase(new_request(organizer, identity, PERSON))
    assert sorted(req.blocked_orders) == sorted([data["f1"].pk, f2.pk])
    blocked = req.counts["blocked"]
    Order.objects.filter(pk=data["f1"].pk).update(email="new.owner@example.net")  # FUT01 is someone else's now
    with freeze_time(req.blocked_until + timedelta(hours=1)):
        assert flows.run_person_follow_ups() == 1
    req.refresh_from_db()
    assert Order.objects.get(pk=data["f1"].pk).email == "new.owner@example.net"
    assert Order.objects.get(pk=f2.pk).email is None
    future_items = next(e["items"] for e in req.findings["events"] if e["event"] == "future")
    by_order = {}
    for i in future_items:
        by_order.setdefault(i["order"], set()).add(i["disposition"])
    assert by_order == {"FUT01": {"skipped"}, "FUT02": {"erased"}}
    skipped = [i for i in future_items if i["disposition"] == "skipped"]
    assert all(i["why"] == "not_theirs_any_more" and "erased" not in i for i in skipped)
    assert "no longer" in persons.item_text(skipped[0])
    assert req.counts["blocked"] == 0
    assert req.counts["skipped"] == len(skipped) and req.counts["skipped"] + 0 < blocked
    assert "FUT01" not in req.orders_affected and "FUT02" in req.orders_affected


# -- 5. nothing is erased that was not exported first -----------------------------------------------------------------


def test_erase_without_an_export_is_409_and_changes_nothing(client, organizer):
    data = seed(organizer)
    rid = client.post(BASE, {"email": PERSON, "kind": "erasure"}, format="json").json()["id"]
    resp = client.post(f"{BASE}{rid}/erase/", format="json")
    assert resp.status_code == 409
    assert resp.json()["detail"] == "Export this person's data first (POST …/export/), then erase it."
    resp = client.post(f"{BASE}{rid}/erase/", format="json", HTTP_ACCEPT_LANGUAGE="de")
    assert resp.status_code == 409 and "zuerst" in resp.json()["detail"]
    req = PersonRequest.objects.get(pk=rid)
    assert req.state == PersonState.FOUND and req.erased_at is None and req.email == EMAIL
    assert Order.objects.get(pk=data["a1"].pk).email == PERSON
    assert not LogEntry.objects.filter(action_type="pretix_shredder_api.person.erased").exists()
    assert client.post(f"{BASE}{rid}/export/", format="json").status_code == 202
    assert client.post(f"{BASE}{rid}/erase/", format="json").status_code == 202
    assert Order.objects.get(pk=data["a1"].pk).email is None


def test_the_domain_refuses_to_erase_without_an_export(organizer, identity):
    seed(organizer)
    req = new_request(organizer, identity, PERSON)
    with pytest.raises(persons.ExportFirst):
        persons.check_erase(req)
    assert persons.claim_erase(req) is False
    assert PersonRequest.objects.get(pk=req.pk).state == PersonState.FOUND


def test_a_request_without_data_completes_without_an_export(client, organizer):
    seed(organizer)
    rid = client.post(BASE, {"email": "nobody@example.org", "kind": "erasure"}, format="json").json()["id"]
    req = PersonRequest.objects.get(pk=rid)
    assert req.state == PersonState.DONE and req.message == "no_data" and req.exported_at is None
    assert client.post(f"{BASE}{rid}/erase/", format="json").status_code == 202  # nothing to erase: answered


def test_the_page_offers_erase_only_after_the_export(organizer, user):
    from django.test import Client

    seed(organizer)
    web = Client()
    assert web.login(email="admin@example.org", password="secret-password-123")
    lst = "/control/organizer/bigevents/shredder-requests/"
    web.post(lst, {"email": PERSON, "kind": "erasure"})
    req = PersonRequest.objects.get()
    html = web.get(f"{lst}{req.pk}/").content.decode()
    assert 'value="erase"' not in html and 'value="export"' in html
    resp = web.post(f"{lst}{req.pk}/", {"action": "erase"}, follow=True)
    assert "Export this person&#x27;s data first" in resp.content.decode()
    assert PersonRequest.objects.get().state == PersonState.FOUND
    web.post(f"{lst}{req.pk}/", {"action": "export"})
    assert 'value="erase"' in web.get(f"{lst}{req.pk}/").content.decode()


def test_exported_at_is_required_even_after_a_stall(organizer, identity):
    """A stalled export (its worker died) does not count as an export."""
    seed(organizer)
    req = new_request(organizer, identity, PERSON)
    assert persons.claim_export(req)
    PersonRequest.objects.filter(pk=req.pk).update(updated=now() - jobs.stale_after() - timedelta(seconds=1))
    req.refresh_from_db()
    assert persons.claim_erase(req) is False
    with pytest.raises(persons.Conflict):
        persons.check_erase(req)
