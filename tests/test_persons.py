"""Requests of one person, the domain: finding, dispositions, the shared-order rule, the export, the erasure and its
proof (``persons``), called directly. The REST resource is tested in ``test_persons_api``."""

import io
import json
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pretix.base.models import (
    Customer,
    InvoiceAddress,
    LogEntry,
    Order,
    OrderPosition,
    OutgoingMail,
    QuestionAnswer,
    Voucher,
    WaitingListEntry,
)

from pretix_shredder_api import jobs, persons
from pretix_shredder_api.models import PersonRequest, PersonState

from .person_data import EMAIL, OTHERS, PERSON, VALUES, other_orders, seed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def data(organizer):
    return seed(organizer)


@pytest.fixture
def identity(token):
    return jobs.Identity(api_token=token)


def new_request(organizer, identity, kind="erasure", email=PERSON, locale="en"):
    req = persons.create_request(organizer, identity, persons.validate_email(email), kind, locale)
    return persons.find(req)


def items(req, event=None, type_=None):
    if event is None:
        found = req.findings["organizer"]["items"]
    else:
        found = next((e["items"] for e in req.findings["events"] if e["event"] == event), [])
    return [i for i in found if type_ is None or i["type"] == type_]


# -- the address ------------------------------------------------------------------------------------------------------


def test_address_is_normalised_and_hashed_with_the_secret_key(settings):
    assert persons.validate_email("  Ada.Lovelace@Example.NET ") == EMAIL
    assert persons.email_hash(EMAIL) == persons.email_hash(persons.normalise(PERSON))
    settings.SECRET_KEY = "another secret"
    assert persons.email_hash(EMAIL) != persons.email_hash(EMAIL + ".")


@pytest.mark.parametrize(
    "raw",
    ["", "   ", None, 17, "not-an-address", "a@", "%@example.net", "ada%@example.net", "*@example.net",
     "ada*@example.net", "a" * 250 + "@example.net"],
)  # fmt: skip
def test_bad_addresses_are_refused(raw):
    with pytest.raises(persons.InvalidEmail):
        persons.validate_email(raw)


def test_underscore_is_a_literal_character(organizer, identity, data):
    req = new_request(organizer, identity, email="ada_lovelace@example.net")
    assert req.state == PersonState.DONE
    assert req.message == "no_data" and persons.message_of(req) == "No data of this person is held."
    assert req.findings["held"] is False
    assert req.email == "" and req.email_hash == persons.email_hash("ada_lovelace@example.net")


# -- finding ----------------------------------------------------------------------------------------------------------


def test_finding_covers_every_place_and_both_events(organizer, identity, data):
    req = new_request(organizer, identity)
    assert req.state == PersonState.FOUND
    assert req.respond_by.month == (req.received.month % 12) + 1
    assert {e["event"] for e in req.findings["events"]} == {"past", "future"}
    assert sorted(i["ref"] for i in items(req, "past", "order")) == ["ADA01"]
    assert sorted(i["ref"] for i in items(req, "past", "position")) == ["ADA01-1", "MARY1-1"]
    assert len(items(req, "past", "answer")) == 3  # own ticket, as a guest, order-level
    assert len(items(req, "past", "file")) == 1
    assert [i["ref"] for i in items(req, "past", "invoice_address")] == ["ADA01"]
    assert [i["ref"] for i in items(req, "past", "waiting_list")] == [str(data["wle"].pk)]
    assert [i["ref"] for i in items(req, "past", "voucher")] == [data["voucher"].code]
    assert len(items(req, "past", "mail")) == 1
    logs = items(req, "past", "log")
    assert logs and sum(int(i["ref"]) for i in logs) >= 2  # ADA01's own, and MOVED's old address
    assert [i["type"] for i in items(req)] == ["customer", "sso"]
    assert req.counts["others_positions"] == 1  # Charles's ticket on ADA01
    assert set(req.event_ids) == {data["past"].pk, data["future"].pk}


def test_dispositions_erased_retained_blocked(organizer, identity, data, settings):
    req = new_request(organizer, identity)
    (invoice,) = items(req, "past", "invoice")
    assert invoice["disposition"] == "retained" and invoice["ground"] == "tax_law"
    assert invoice["until"] == data["invoice"].date.replace(year=data["invoice"].date.year + 10).isoformat()
    future = items(req, "future")
    assert future and all(i["disposition"] == "blocked" and i["why"] == "event_not_over" for i in future)
    assert all(i["disposition"] == "erased" for i in items(req, "past") if i["type"] != "invoice")
    assert req.counts["retained"] == 1 and req.counts["blocked"] == len(future)
    assert "then erased automatically" in persons.item_text(future[0])


def test_invoice_retention_is_configurable(organizer, identity, data, monkeypatch):
    monkeypatch.setattr(persons, "invoice_retention_years", lambda: 6)
    (invoice,) = items(new_request(organizer, identity), "past", "invoice")
    assert invoice["until"].startswith(str(data["invoice"].date.year + 6))


def test_queries_do_not_grow_with_other_peoples_orders(organizer, identity, data):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            persons.find_holdings(organizer, EMAIL)
        return len(ctx.captured_queries)

    count()  # warm: pretix's and Django's caches (content types, settings) fill on the first call
    small = count()
    other_orders(data["past"], data["item"], 200, start=100)
    assert count() == small
    assert small <= 15


@pytest.mark.parametrize("others", [0, 300])
def test_queries_of_the_find_step(organizer, identity, data, django_assert_max_num_queries, others):
    other_orders(data["past"], data["item"], others, start=1000)
    req = persons.create_request(organizer, identity, EMAIL, "erasure", "en")
    with django_assert_max_num_queries(25):
        persons.find(req)


# -- the access export ------------------------------------------------------------------------------------------------


def read_zip(req):
    req.refresh_from_db()
    cf, fh = persons.open_export(req)
    with fh:
        return zipfile.ZipFile(io.BytesIO(fh.read()))


def test_export_holds_exactly_the_persons_data(organizer, identity, data):
    req = new_request(organizer, identity, kind="access", locale="de")
    assert persons.check_export(req) and persons.claim_export(req)
    assert persons.check_export(req) is False and persons.claim_export(req) is False
    req = persons.export(req)
    assert req.state == PersonState.DONE and req.file_sha256 and req.email == ""  # an access request is answered
    zf = read_zip(req)
    assert sorted(n for n in zf.namelist() if not n.startswith("files/")) == ["person.json", "summary.txt"]
    (upload,) = [n for n in zf.namelist() if n.startswith("files/")]
    assert upload.startswith(f"files/{data['upload'].pk}-") and upload.endswith(VALUES["upload"])
    assert VALUES["answer"].encode() in zf.read(upload)
    person = json.loads(zf.read("person.json"))
    text = json.dumps(person)
    for value in VALUES.values():
        assert value.casefold() in text.casefold(), value
    for value in OTHERS.values():  # Charles's ticket, Mary's order, the look-alike: never here
        assert value.casefold() not in text.casefold(), value
    past = next(e for e in person["events"] if e["event"] == "past")
    (order,) = past["orders"]
    assert order["code"] == "ADA01" and [p["positionid"] for p in order["positions"]] == [1]
    assert order["invoice_address"]["street"] == VALUES["ia_street"]
    assert order["invoices"][0]["number"] == data["invoice"].full_invoice_no
    assert [t["order"] for t in past["tickets_on_other_orders"]] == ["MARY1"]
    assert past["waiting_list"][0]["voucher"] == data["voucher"].code
    assert person["organizer"]["customer"]["external_identifier"] == VALUES["external_id"]
    summary = zf.read("summary.txt").decode()
    assert "Antwort fällig" in summary and "Rechnung" in summary and "gesperrt" in summary


def test_export_of_a_request_without_data(organizer, identity, data):
    req = new_request(organizer, identity, email="nobody@example.net")
    assert req.state == PersonState.DONE
    with pytest.raises(persons.Conflict):  # nothing to export: the request is answered
        persons.check_export(req)


# -- the erasure ------------------------------------------------------------------------------------------------------


def dump(exclude):
    """Every row of the tables the erasure touches, minus the person's own (``exclude``: model -> pks)."""
    tables = {
        Order: Order.objects.all(),
        OrderPosition: OrderPosition.all.all(),
        QuestionAnswer: QuestionAnswer.objects.all(),
        InvoiceAddress: InvoiceAddress.objects.all(),
        WaitingListEntry: WaitingListEntry.objects.all(),
        Voucher: Voucher.objects.all(),
        Customer: Customer.objects.all(),
        OutgoingMail: OutgoingMail.objects.all(),
        LogEntry: LogEntry.objects.exclude(action_type__startswith="pretix_shredder_api."),
    }
    return {
        model._meta.db_table: {row["id"]: row for row in qs.exclude(pk__in=exclude.get(model, [])).values()}
        for model, qs in tables.items()
    }


def persons_rows(data, logs):
    return {
        Order: [data["a1"].pk],
        OrderPosition: [data["own"].pk, data["on_mary"].pk],
        QuestionAnswer: list(
            QuestionAnswer.objects.filter(orderposition__in=[data["own"], data["on_mary"]]).values_list("pk", flat=True)
        )
        + list(
            QuestionAnswer.objects.filter(order=data["a1"], orderposition__isnull=True).values_list("pk", flat=True)
        ),
        InvoiceAddress: [data["a1"].invoice_address.pk],
        WaitingListEntry: [data["wle"].pk],
        Voucher: [data["voucher"].pk],
        Customer: [data["customer"].pk],
        OutgoingMail: list(OutgoingMail.objects.filter(order=data["a1"]).values_list("pk", flat=True)),
        LogEntry: logs,
    }


def export(req):
    assert persons.check_export(req) and persons.claim_export(req)
    return persons.export(req)


def erase(req):
    """Export first (nothing is erased that was not exported), then erase."""
    req = export(req)
    assert persons.check_erase(req)
    assert persons.claim_erase(req)
    return persons.erase(req)


def test_erasure_anonymises_the_person_and_leaves_everyone_else(organizer, identity, data):
    req = new_request(organizer, identity)
    h = persons.find_holdings(organizer, EMAIL)
    mine = persons_rows(data, [le.pk for le in h.logs])
    before = dump(mine)
    req = erase(req)
    assert req.state == PersonState.DONE and req.email == "" and req.erased_at
    assert dump(mine) == before  # every other person's rows, unchanged

    a1 = Order.objects.get(pk=data["a1"].pk)
    assert a1.email is None and a1.phone is None and a1.customer is None and a1.comment == ""
    assert not InvoiceAddress.objects.filter(order=a1).exists()
    own = OrderPosition.all.get(pk=data["own"].pk)
    assert own.attendee_name_cached is None and own.attendee_name_parts == {"_shredded": True}
    guest = OrderPosition.all.get(pk=data["on_mary"].pk)
    assert guest.attendee_email is None and guest.attendee_name_cached is None
    assert Order.objects.get(pk=data["b1"].pk).email == OTHERS["mary_email"]  # Mary's order stays hers
    charles = OrderPosition.all.get(pk=data["charles"].pk)
    assert charles.attendee_email == OTHERS["charles_email"]  # the shared-order rule
    assert QuestionAnswer.objects.filter(orderposition=charles).exists()
    assert not QuestionAnswer.objects.filter(pk=data["upload"].pk).exists()
    wle = WaitingListEntry.objects.get(pk=data["wle"].pk)
    assert wle.email == "█" and wle.name_cached is None
    assert Voucher.objects.get(pk=data["voucher"].pk).comment == "█"
    customer = Customer.objects.get(pk=data["customer"].pk)
    assert customer.email is None and customer.external_identifier is None and not customer.is_active
    # the person can sign up again with the same address and the same external login
    Customer.objects.create(organizer=organizer, email=EMAIL, provider=customer.provider,
                            external_identifier=VALUES["external_id"])  # fmt: skip
    assert not OutgoingMail.objects.filter(order=a1).exists()
    from django.apps import apps

    bank = apps.get_model("banktransfer", "BankTransaction").objects.get(order=a1)
    assert (bank.payer, bank.iban, bank.reference) == ("█", "█", "█")
    moved = LogEntry.objects.get(action_type="pretix.event.order.email.changed")
    assert moved.shredded and json.loads(moved.data)["old_email"] == "█"
    assert json.loads(moved.data)["new_email"] == "ada.king@elsewhere.example"  # someone else's value, kept
    # blocked: the valid ticket of the future event
    f1 = Order.objects.get(pk=data["f1"].pk)
    assert f1.email == EMAIL
    assert req.orders_affected == ["ADA01", "MARY1"]


def test_proof_finds_nothing_but_the_retained_and_the_blocked(organizer, identity, data):
    req = erase(new_request(organizer, identity))
    proof = req.proof
    assert proof["found"] == 0, proof["locations"]
    assert proof["values"] >= len(VALUES) - 1
    assert {loc["table"] for loc in proof["retained"]} <= {"pretixbase_invoice", "pretixbase_invoiceline"}
    assert proof["retained"]  # the invoice still names the person: kept under tax law
    assert {loc["event"] for loc in proof["blocked"]} <= {"future"}
    assert "value" not in json.dumps(proof).replace('"values"', "")
    for value in VALUES.values():
        assert (
            value.casefold()
            not in json.dumps(PersonRequest.objects.filter(pk=req.pk).values().get(), default=str).casefold()
        )


def test_proof_reports_what_an_erasure_left(organizer, identity, data):
    """The proof can fail: a value the erasure does not touch (a log entry of the event mentioning the person's
    name, on someone else's order) is found and located."""
    data["d1"].log_action("pretix.event.order.comment", data={"new_comment": f"Talked to {VALUES['name']}"})
    req = erase(new_request(organizer, identity))
    assert req.proof["found"] == 1
    assert req.proof["locations"] == [
        {"table": "pretixbase_logentry", "column": "data", "action_type": "pretix.event.order.comment",
         "count": 1, "event": "past"}
    ]  # fmt: skip


def test_the_same_request_twice_erases_once(organizer, identity, data):
    req = erase(new_request(organizer, identity))
    logged = LogEntry.objects.filter(action_type="pretix_shredder_api.person.erased").count()
    assert persons.check_erase(req) is False
    assert persons.claim_erase(req) is False
    assert persons.erase(req).state == PersonState.DONE
    assert LogEntry.objects.filter(action_type="pretix_shredder_api.person.erased").count() == logged == 1


def test_two_requests_for_one_address_erase_once(organizer, identity, data):
    first = export(new_request(organizer, identity))
    second = export(new_request(organizer, identity, email=EMAIL.upper()))
    assert first.email_hash == second.email_hash
    assert persons.claim_erase(first) and persons.claim_erase(second)
    first = persons.erase(first)
    assert first.orders_affected
    second = persons.erase(second)
    assert second.state == PersonState.DONE and second.orders_affected == []
    assert second.message == "erased_elsewhere"
    assert "already been erased" in persons.message_of(second)


def test_access_requests_are_not_erased(organizer, identity, data):
    req = new_request(organizer, identity, kind="access")
    with pytest.raises(persons.NotErasure):
        persons.check_erase(req)
    assert persons.claim_erase(req) is False


def test_cancel_before_and_after(organizer, identity, data):
    req = persons.cancel(new_request(organizer, identity), identity)
    assert req.state == PersonState.CANCELLED and req.email == ""
    assert Order.objects.get(pk=data["a1"].pk).email == PERSON
    done = erase(new_request(organizer, identity))
    with pytest.raises(persons.Conflict):
        persons.cancel(done, identity)


def test_a_stalled_erasure_can_be_started_again(organizer, identity, data):
    """A worker that died mid-erasure leaves the request "erasing"; after the stale limit a new POST runs it again
    (the step finds the rows again, so what the first run did is not done twice)."""
    from datetime import timedelta

    from django.utils.timezone import now

    req = export(new_request(organizer, identity))
    assert persons.claim_erase(req)
    assert persons.check_erase(req) is False and persons.claim_erase(req) is False  # running: nothing new
    PersonRequest.objects.filter(pk=req.pk).update(updated=now() - jobs.stale_after() - timedelta(seconds=1))
    req.refresh_from_db()
    assert persons.check_erase(req) and persons.claim_erase(req)
    assert persons.erase(req).state == PersonState.DONE


def test_a_failing_step_is_failed_with_a_message_in_the_readers_language(organizer, identity, data, monkeypatch):
    from pretix_shredder_api import tasks

    def broken(*args):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(persons, "find_holdings", broken)
    req = persons.create_request(organizer, identity, EMAIL, "erasure", "en")
    tasks.run_person_step.apply(args=(organizer.pk, req.pk, "find"))
    req.refresh_from_db()
    assert req.state == PersonState.FAILED and req.message == "internal" and req.email == ""
    from django.utils import translation

    with translation.override("de"):
        assert persons.message_of(req) == "Interner Fehler"


# -- the follow-up of what was blocked --------------------------------------------------------------------------------


def test_blocked_items_are_erased_by_the_periodic_task_once_the_event_is_over(organizer, identity, data):
    from datetime import timedelta

    from freezegun import freeze_time

    from pretix_shredder_api import flows

    req = erase(new_request(organizer, identity))
    assert req.blocked_orders == [data["f1"].pk] and req.blocked_until == data["future"].date_from
    assert req.email == ""  # the follow-up recognises the rows by the keyed hash
    assert flows.run_person_follow_ups() == 0  # not yet
    assert Order.objects.get(pk=data["f1"].pk).email == EMAIL
    later = data["future"].date_from + timedelta(hours=1)
    with freeze_time(later):
        assert flows.run_person_follow_ups() == 1
    f1 = Order.objects.get(pk=data["f1"].pk)
    assert f1.email is None
    assert OrderPosition.all.get(order=f1).attendee_name_cached is None
    req.refresh_from_db()
    assert req.blocked_orders == [] and req.blocked_until is None
    assert req.proof["follow_up"]["found"] == 0 and req.proof["found"] == 0
    assert "FUT01" in req.orders_affected
    assert req.counts["blocked"] == 0
    assert all(i["disposition"] == "erased" and i["erased"] for i in items(req, "future"))
    entries = LogEntry.objects.filter(action_type="pretix_shredder_api.person.erased").order_by("pk")
    assert [json.loads(e.data).get("orders") for e in entries] == [["ADA01", "MARY1"], ["FUT01"]]
    with freeze_time(later + timedelta(days=1)):
        assert flows.run_person_follow_ups() == 0  # done once


def test_the_follow_up_waits_when_the_event_moved(organizer, identity, data):
    from datetime import timedelta

    from freezegun import freeze_time

    from pretix_shredder_api import flows

    req = erase(new_request(organizer, identity))
    future = data["future"]
    moved = future.date_from + timedelta(days=10)
    future.date_from = moved
    future.save()
    with freeze_time(req.blocked_until + timedelta(hours=1)):
        assert flows.run_person_follow_ups() == 1
    req.refresh_from_db()
    assert req.blocked_until == moved and Order.objects.get(pk=data["f1"].pk).email == EMAIL


def test_the_follow_up_leaves_an_order_that_is_someone_elses_now(organizer, identity, data):
    from datetime import timedelta

    from freezegun import freeze_time

    from pretix_shredder_api import flows

    req = erase(new_request(organizer, identity))
    Order.objects.filter(pk=data["f1"].pk).update(email="new.owner@example.net")
    with freeze_time(req.blocked_until + timedelta(hours=1)):
        flows.run_person_follow_ups()
    assert Order.objects.get(pk=data["f1"].pk).email == "new.owner@example.net"


def test_the_name_scheme_is_not_a_value_of_the_person(organizer, identity, data):
    """pretix stores ``{"_scheme": "full", …}`` in every name: "full" must not count as the person's (the proof found
    it in every other attendee's name before)."""
    InvoiceAddress.objects.filter(order=data["a1"]).update(
        name_parts={"_scheme": "full", "full_name": VALUES["ia_name"]}
    )
    OrderPosition.all.filter(pk=data["charles"].pk).update(
        attendee_name_parts={"_scheme": "full", "full_name": OTHERS["charles_name"]}
    )
    req = erase(new_request(organizer, identity))
    assert req.proof["found"] == 0, req.proof["locations"]
