"""The fast exporters write what pretix's own shredders' ``generate_files`` write, for the pinned pretix version.

These tests guard the data that is about to be deleted: for every built-in shredder, on data with every kind of
field, the files of our exporter have the same names, in the same order, and the same content (JSON parsed and
compared, and byte for byte) as pretix's own. Then: a constant number of queries per batch, progress per batch, and
the fallbacks (another pretix version, ``fast_export = off``, a plugin's shredder, a subclass of a built-in one).
"""

import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from hypothesis import given, settings
from hypothesis import strategies as st
from pretix.base import shredder as builtin
from pretix.base.models import InvoiceAddress, Order, OrderPosition, Question, QuestionAnswer
from pretix.base.services.invoices import generate_invoice

from pretix_shredder_api import archive, exporters
from pretix_shredder_api.exporters import stream

from .conftest import make_event

pytestmark = pytest.mark.django_db

BUILTIN = {
    "order_emails": builtin.EmailAddressShredder,
    "phone_numbers": builtin.PhoneNumberShredder,
    "attendee_info": builtin.AttendeeInfoShredder,
    "invoice_addresses": builtin.InvoiceAddressShredder,
    "question_answers": builtin.QuestionAnswerShredder,
    "waiting_list": builtin.WaitingListShredder,
    "invoices": builtin.InvoiceShredder,
}


# --- data with every kind of field ----------------------------------------------------------------------------------


def _questions(event, item):
    # created out of identifier order, so that sorting the answers by question id matters
    questions = {
        "multi": event.questions.create(question="Workshops", type=Question.TYPE_CHOICE_MULTIPLE, identifier="WS"),
        "text": event.questions.create(question="Diet", type=Question.TYPE_TEXT, identifier="DIET"),
        "file": event.questions.create(question="Student ID", type=Question.TYPE_FILE, identifier="SID"),
        "choice": event.questions.create(question="Shirt", type=Question.TYPE_CHOICE, identifier="SHIRT"),
        "bool": event.questions.create(question="Newsletter", type=Question.TYPE_BOOLEAN, identifier="NL"),
        "country": event.questions.create(question="Home", type=Question.TYPE_COUNTRYCODE, identifier="HOME"),
    }
    for q in questions.values():
        q.items.add(item)
    # option positions against creation order: the options' ordering is position, id
    for q in (questions["multi"], questions["choice"]):
        for position, ident in ((3, "A"), (1, "B"), (2, "C")):
            q.options.create(answer=f"{q.identifier} {ident}", identifier=f"{q.identifier}-{ident}", position=position)
    return questions


def _answer(position, question, answer, options=()):
    a = QuestionAnswer.objects.create(orderposition=position, question=question, answer=answer)
    if options:
        a.options.set(options)
    return a


def _order(event, code, *, email=None, phone=None, dt_offset=0):
    return Order.objects.create(
        code=code,
        event=event,
        email=email,
        phone=phone,
        status=Order.STATUS_PAID,
        datetime=now() - timedelta(days=40, minutes=dt_offset),
        expires=now() - timedelta(days=35),
        total=Decimal("23.00"),
        locale="en",
        sales_channel=event.organizer.sales_channels.get(identifier="web"),
    )


def _position(order, item, positionid, subevent=None, **kwargs):
    return OrderPosition.all.create(
        order=order, item=item, price=Decimal("23.00"), positionid=positionid, subevent=subevent, **kwargs
    )


@pytest.fixture
def rich_event(organizer):
    """A finished event series with orders that use every field the built-in shredders export."""
    event = make_event(organizer, slug="festival", has_subevents=True)
    event.settings.name_scheme = "given_family"
    se1 = event.subevents.create(name="Day 1", date_from=now() - timedelta(days=31), active=True)
    se2 = event.subevents.create(name="Day 2", date_from=now() - timedelta(days=30), active=True)
    item = event.items.create(name="Ticket", default_price=Decimal("23.00"), admission=True)
    q = _questions(event, item)
    multi, choice = list(q["multi"].options.all()), list(q["choice"].options.all())

    o1 = _order(event, "ABC01", email="buyer1@example.org", phone="+4930123456", dt_offset=3)
    p11 = _position(
        o1,
        item,
        1,
        se1,
        attendee_name_parts={"_scheme": "given_family", "given_name": "Ada", "family_name": "Löwe"},
        attendee_email="ada@example.org",
        company="Analytical Engines Ltd.",
        street="1 Byron Road\nFlat 2",
        zipcode="W1",
        city="London",
        country="GB",
    )
    p12 = _position(
        o1,
        item,
        2,
        se2,
        attendee_name_parts={"given_name": "Charles", "family_name": "Babbage"},  # no scheme: the event's
        attendee_email="charles@example.org",
        country="US",
        state="CA",
        city="San José",
    )
    _answer(p11, q["multi"], "WS A, WS C", options=[multi[0], multi[2]])
    _answer(p11, q["text"], "vegan – „no nuts“")
    _answer(p11, q["choice"], "SHIRT B", options=[choice[0]])
    _answer(p11, q["bool"], "True")
    _answer(p11, q["country"], "DE")
    upload = QuestionAnswer(orderposition=p12, question=q["file"])
    upload.file.save("student-id.png", ContentFile(b"\x89PNG fake image bytes"), save=False)
    upload.answer = "file://" + upload.file.name
    upload.save()
    _answer(p12, q["multi"], "WS B", options=[multi[1]])

    o2 = _order(event, "ABC02", email=None, phone=None, dt_offset=2)  # no contact data at all
    _position(o2, item, 1, se1, attendee_name_parts={"_legacy": "Grace Hopper"}, country="", state="")
    p22 = _position(o2, item, 2, se2, canceled=True, attendee_email="gone@example.org", attendee_name_parts={})
    _answer(p22, q["text"], "cancelled but still here")

    o3 = _order(event, "ABC03", email="buyer3@example.org", phone="+14155550123", dt_offset=1)
    o3.status = Order.STATUS_CANCELED
    o3.save()
    _position(o3, item, 1, se2, attendee_name_parts={"_scheme": "full", "full_name": "Edsger Dijkstra"}, country="NL")

    InvoiceAddress.objects.create(
        order=o1,
        is_business=True,
        company="Analytical Engines Ltd.",
        name_parts={"_scheme": "given_family", "given_name": "Ada", "family_name": "Löwe"},
        street="1 Byron Road",
        zipcode="W1",
        city="London",
        country="GB",
        vat_id="GB123456789",
        vat_id_validated=True,
        custom_field="PO 4711",
        internal_reference="ref-1",
        transmission_type="email",
        transmission_info={"transmission_email_address": "invoices@example.org"},
    )
    InvoiceAddress.objects.create(
        order=o2, name_parts={"given_name": "Grace", "family_name": "Hopper"}, country="US", state="NY", city="NYC"
    )
    InvoiceAddress.objects.create(order=o3, name_parts={}, country_old="Atlantis")  # no country: country_old

    rendered = generate_invoice(o1, trigger_pdf=False)  # no PDF yet: the export renders it
    stored = generate_invoice(o3, trigger_pdf=False)
    stored.file.save(f"{stored.number}.pdf", ContentFile(b"%PDF-1.4 stored invoice"), save=True)

    event.waitinglistentries.create(
        item=item,
        subevent=se1,
        email="wait1@example.org",
        phone="+4930999999",
        name_parts={"_scheme": "given_family", "given_name": "Alan", "family_name": "Turing"},
        locale="de",
        priority=5,
    )
    event.waitinglistentries.create(item=item, subevent=se2, email="wait2@example.org", name_parts={}, priority=0)
    event.invoices_for_test = (rendered, stored)
    return event


# --- what the two produce -------------------------------------------------------------------------------------------


def fast_files(identifier, event, progress=None) -> list[tuple[str, bytes]]:
    shredder = BUILTIN[identifier](event)
    exporter = exporters.exporter_for(shredder)
    assert exporter is not None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        exporter(event, zf, progress)
    with zipfile.ZipFile(buf) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def builtin_files(identifier, event) -> list[tuple[str, bytes]]:
    out = []
    for name, _type, content in BUILTIN[identifier](event).generate_files() or ():
        out.append((name, content.encode() if isinstance(content, str) else content))
    return out


def parsed(files):
    return {name: json.loads(content) if name.endswith(".json") else content for name, content in files}


@pytest.mark.parametrize("identifier", sorted(BUILTIN))
def test_same_files_and_content_as_pretix(rich_event, identifier):
    ours = fast_files(identifier, rich_event)  # first: a missing invoice PDF is rendered by ours, then read by both
    theirs = builtin_files(identifier, rich_event)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    assert parsed(ours) == parsed(theirs)
    assert ours == theirs  # byte for byte, too


def test_the_data_has_every_kind_of_field(rich_event):
    """The equivalence above is only worth what the data covers."""
    files = parsed(fast_files("question_answers", rich_event))
    answers = files["question-answers.json"]
    assert answers["ABC02-2"] == [a for a in answers["ABC02-2"] if a["answer"] == "cancelled but still here"] != []
    assert any(a["options"] and len(a["option_identifiers"]) == 2 for a in answers["ABC01-1"])
    assert [a["answer"] for a in answers["ABC01-2"] if a["question_identifier"] == "SID"] == [
        f"/api/v1/organizers/bigevents/events/festival/orderpositions/"
        f"{OrderPosition.all.get(order__code='ABC01', positionid=2).pk}/answer/"
        f"{rich_event.questions.get(identifier='SID').pk}/"
    ]
    assert any(name.startswith("ABC01-2-SID-") for name in files)
    attendees = parsed(fast_files("attendee_info", rich_event))["attendee-info.json"]
    assert attendees["ABC01-2"] == {
        "name": "Charles Babbage",
        "company": None,
        "street": None,
        "zipcode": None,
        "city": "San José",
        "country": "US",
        "state": "CA",
    }
    addresses = parsed(fast_files("invoice_addresses", rich_event))["invoice-addresses.json"]
    assert addresses["ABC03"]["country"] == "Atlantis" and addresses["ABC02"]["state"] == "NY"
    waiting = parsed(fast_files("waiting_list", rich_event))["waiting-list.json"]
    assert {w["subevent"] for w in waiting} == set(rich_event.subevents.values_list("pk", flat=True))
    invoices = parsed(fast_files("invoices", rich_event))
    rendered, stored = rich_event.invoices_for_test
    assert invoices[f"invoices/{stored.number}.pdf"] == b"%PDF-1.4 stored invoice"
    assert invoices[f"invoices/{rendered.number}.pdf"].startswith(b"%PDF")
    assert parsed(fast_files("phone_numbers", rich_event))["phone-by-order.json"] == {
        "ABC01": "+4930123456",
        "ABC03": "+14155550123",
    }


def test_an_event_without_data_gives_pretix_empty_files(organizer):
    event = make_event(organizer, slug="empty")
    for identifier in BUILTIN:
        assert fast_files(identifier, event) == builtin_files(identifier, event), identifier


def test_batches_do_not_change_the_content(rich_event, monkeypatch):
    monkeypatch.setattr(stream, "BATCH", 1)
    for identifier in BUILTIN:
        assert fast_files(identifier, rich_event) == builtin_files(identifier, rich_event), identifier


# --- queries and progress -------------------------------------------------------------------------------------------


def _grow(event, item, question, start, count):
    for n in range(start, start + count):
        order = _order(event, f"G{n:04d}", email=f"g{n}@example.org", phone="+4930123456")
        for positionid in (1, 2):
            p = _position(
                order, item, positionid, attendee_email=f"a{n}@example.org", attendee_name_parts={"full_name": "X"}
            )
            _answer(p, question, "A", options=list(question.options.all()[:2]))
        InvoiceAddress.objects.create(order=order, name_parts={"full_name": "Y"}, country="DE")
        event.waitinglistentries.create(item=item, email=f"w{n}@example.org")
        inv = generate_invoice(order, trigger_pdf=False)
        inv.file.save(f"{inv.number}.pdf", ContentFile(b"%PDF"), save=True)


def _queries(identifier, event) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fast_files(identifier, event)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("identifier", sorted(BUILTIN))
def test_queries_per_batch_are_constant(organizer, monkeypatch, identifier):
    """With batches of 4 rows, 4 orders more (8 to 16 rows) cost at most a few queries per extra batch, whatever
    pretix does per row."""
    monkeypatch.setattr(stream, "BATCH", 4)
    event = make_event(organizer, slug="growing")
    item = event.items.create(name="Ticket", default_price=Decimal("23.00"))
    question = event.questions.create(question="Q", type=Question.TYPE_CHOICE_MULTIPLE, identifier="Q")
    for ident in "XYZ":
        question.options.create(answer=ident, identifier=ident)
    _grow(event, item, question, 0, 4)
    small = _queries(identifier, event)
    _grow(event, item, question, 4, 4)
    large = _queries(identifier, event)
    # 4 more orders are up to 8 more rows: 2 extra batches per file; each batch costs at most 3 queries (answers)
    assert large - small <= 2 * 3, (small, large)


def test_progress_is_reported_per_batch(rich_event, monkeypatch):
    monkeypatch.setattr(stream, "BATCH", 2)
    seen = []
    fast_files("question_answers", rich_event, progress=seen.append)
    total = OrderPosition.all.filter(order__event=rich_event).count()
    assert seen == [min(100, n * 100 / total) for n in range(2, total + 2, 2)]
    assert seen[-1] == 100


# --- when the fast path is not taken --------------------------------------------------------------------------------


def test_fast_path_for_every_builtin_shredder_by_default(rich_event):
    assert {i for i, cls in BUILTIN.items() if exporters.exporter_for(cls(rich_event))} == set(BUILTIN)


def test_other_pretix_versions_use_the_shredders_own_generate_files(rich_event, monkeypatch):
    monkeypatch.setattr("pretix.__version__", "2026.9.0")
    assert [exporters.exporter_for(cls(rich_event)) for cls in BUILTIN.values()] == [None] * len(BUILTIN)


@pytest.mark.parametrize("value", ["off", "false", "0", "no"])
def test_the_setting_turns_the_fast_path_off(rich_event, monkeypatch, value):
    monkeypatch.setenv("PRETIX_SHREDDER_API_FAST_EXPORT", value)
    assert [exporters.exporter_for(cls(rich_event)) for cls in BUILTIN.values()] == [None] * len(BUILTIN)


def test_the_setting_on_keeps_it(rich_event, monkeypatch):
    monkeypatch.setenv("PRETIX_SHREDDER_API_FAST_EXPORT", "on")
    assert exporters.exporter_for(builtin.PhoneNumberShredder(rich_event)) is not None


def test_plugin_shredders_and_subclasses_use_their_own_generate_files(rich_event):
    from pretix_shredder_testplugin.shredder import SlowTestShredder

    class Mine(builtin.EmailAddressShredder):
        def generate_files(self):
            yield "mine.json", "application/json", "{}"

    assert exporters.exporter_for(SlowTestShredder(rich_event)) is None
    assert exporters.exporter_for(Mine(rich_event)) is None


def _zip_entries(shredders) -> dict:
    index = archive.index_data(shredders[0].event, [s.identifier for s in shredders], now(), "ABCDEF")
    buf = io.BytesIO()
    archive.write_zip(buf, index, shredders)
    with zipfile.ZipFile(buf) as zf:
        return {name: zf.read(name) for name in zf.namelist() if name != "index.json"}


def test_the_archive_is_the_same_either_way(rich_event, monkeypatch):
    shredders = [cls(rich_event) for cls in BUILTIN.values()]
    fast = _zip_entries(shredders)
    monkeypatch.setenv("PRETIX_SHREDDER_API_FAST_EXPORT", "off")
    assert _zip_entries(shredders) == fast


def test_the_archive_falls_back_per_shredder(rich_event, monkeypatch):
    called = []

    class Mine(builtin.PhoneNumberShredder):
        def generate_files(self):
            called.append(True)
            yield "mine.json", "application/json", '{"x": 1}'

    entries = _zip_entries([Mine(rich_event), builtin.EmailAddressShredder(rich_event)])
    assert called == [True]
    assert set(entries) == {"CONFIRM_CODE.txt", "mine.json", "emails-by-order.json", "emails-by-attendee.json"}


# --- the pieces -----------------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.integers() | st.booleans() | st.none(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_dumps_indented_is_json_dumps_with_indent_4(value):
    assert stream.dumps_indented(value, json.JSONEncoder().default) == json.dumps(value, indent=4)


def test_dumps_indented_uses_the_encoders_default():
    from phonenumber_field.phonenumber import PhoneNumber
    from pretix.helpers.json import CustomJSONEncoder

    value = {"a": [PhoneNumber.from_string("+4930123456")], "b": {"c": PhoneNumber.from_string("+14155550123")}}
    assert stream.dumps_indented(value, CustomJSONEncoder().default) == json.dumps(
        value, indent=4, cls=CustomJSONEncoder
    )
    with pytest.raises(TypeError):
        stream.dumps_indented({"x": object()}, json.JSONEncoder().default)


def test_answers_of_a_position_read_later_do_not_hold_up_the_others(rich_event, monkeypatch):
    """A position (with answers and options) that appears between reading the positions and reading the answers is
    skipped, and every other position keeps its answers."""
    from pretix_shredder_api.exporters import positions

    complete = parsed(fast_files("question_answers", rich_event))["question-answers.json"]
    late = OrderPosition.all.get(order__code="ABC01", positionid=1)
    original = positions._positions
    monkeypatch.setattr(positions, "_positions", lambda event, scope: original(event, scope).exclude(pk=late.pk))
    without = parsed(fast_files("question_answers", rich_event))["question-answers.json"]
    assert without == {k: v for k, v in complete.items() if k != "ABC01-1"}
    assert complete["ABC01-1"] and complete["ABC01-2"] and complete["ABC02-2"]
