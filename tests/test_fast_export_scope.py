"""The fast exporters given a scope below the event write what the scope shredders' own ``generate_files`` write.

The same guards as ``test_fast_export.py`` for the whole event, for a scope: on data with every kind of field, with
an order full of data outside the scope, the files of our exporter (bound to the scope by ``exporter_for``) have the
same names, order and bytes as the scope shredder's own; nothing of the order outside is in them; and the number of
queries does not change with the orders outside the scope.
"""

import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from pretix.base.models import InvoiceAddress, OrderPosition, Question
from pretix.base.services.invoices import generate_invoice

from pretix_shredder_api import archive, exporters, scope_shredders, scopes
from pretix_shredder_api.exporters import stream

from .conftest import make_event
from .test_fast_export import _answer, _grow, _order, _position, parsed, rich_event  # noqa: F401

pytestmark = pytest.mark.django_db

SCOPED = {
    "order_emails": scope_shredders.Emails,
    "phone_numbers": scope_shredders.PhoneNumbers,
    "attendee_info": scope_shredders.AttendeeInfo,
    "invoice_addresses": scope_shredders.InvoiceAddresses,
    "question_answers": scope_shredders.QuestionAnswers,
    "waiting_list": scope_shredders.WaitingList,
    "invoices": scope_shredders.Invoices,
}
OUTSIDE = "OUT01"


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def event_with_outsider(rich_event):  # noqa: F811
    """``rich_event`` plus a coming date with an order that has every kind of field, and its waiting list."""
    event = rich_event
    coming = event.subevents.create(name="Day 3", date_from=now() + timedelta(days=30), active=True)
    item = event.items.get(name="Ticket")
    order = _order(event, OUTSIDE, email="outside@example.org", phone="+4930777777", dt_offset=5)
    p = _position(
        order,
        item,
        1,
        coming,
        attendee_name_parts={"_scheme": "given_family", "given_name": "Out", "family_name": "Sider"},
        attendee_email="outside.attendee@example.org",
        city="Outsidetown",
        country="FR",
    )
    _answer(p, event.questions.get(identifier="DIET"), "outside answer")
    upload = _answer(p, event.questions.get(identifier="SID"), "")
    upload.file.save("outside-id.png", ContentFile(b"\x89PNG outside"), save=False)
    upload.answer = "file://" + upload.file.name
    upload.save()
    InvoiceAddress.objects.create(order=order, name_parts={"full_name": "Out Sider"}, country="FR", city="Outside")
    invoice = generate_invoice(order, trigger_pdf=False)
    invoice.file.save(f"{invoice.number}.pdf", ContentFile(b"%PDF outside"), save=True)
    event.waitinglistentries.create(item=item, subevent=coming, email="wait.outside@example.org", name_parts={})
    return event


def the_scopes(event) -> dict:
    """A scope from the resolver (every order whose dates ended), one of part of the orders (two of three, one
    date's waiting list), and one of validity (no waiting list)."""
    ended = scopes.for_ended(event, 1)
    codes = {o.code: o.pk for o in event.orders.all()}
    se1 = event.subevents.get(name="Day 1")
    part = scopes.Scope(kind=scopes.DATES, subevents=(se1.pk,), orders=(codes["ABC01"], codes["ABC03"]))
    validity = scopes.Scope(kind=scopes.VALIDITY, orders=(codes["ABC02"],))
    return {"ended": ended, "part": part, "validity": validity}


def fast_files(shredder, progress=None) -> list[tuple[str, bytes]]:
    exporter = exporters.exporter_for(shredder)
    assert exporter is not None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        exporter(shredder.event, zf, progress)
    with zipfile.ZipFile(buf) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def own_files(shredder) -> list[tuple[str, bytes]]:
    out = []
    for name, _type, content in shredder.generate_files() or ():
        out.append((name, content.encode() if isinstance(content, str) else content))
    return out


def test_the_resolved_scope_leaves_the_outsider_out(event_with_outsider):
    ended = the_scopes(event_with_outsider)["ended"]
    assert sorted(ended.codes) == ["ABC01", "ABC02", "ABC03"]


@pytest.mark.parametrize("which", ["ended", "part", "validity"])
@pytest.mark.parametrize("identifier", sorted(SCOPED))
def test_same_files_and_content_as_the_scope_shredder(event_with_outsider, identifier, which):
    scope = the_scopes(event_with_outsider)[which]
    shredder = SCOPED[identifier](event_with_outsider, scope)
    ours = fast_files(shredder)  # first: a missing invoice PDF is rendered by ours, then read by both
    theirs = own_files(shredder)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    assert parsed(ours) == parsed(theirs)
    assert ours == theirs  # byte for byte, too
    everything = b"".join(name.encode() + content for name, content in ours)
    assert OUTSIDE.encode() not in everything and b"utside" not in everything


@pytest.mark.parametrize("identifier", sorted(SCOPED))
def test_the_scope_exports_hold_data(event_with_outsider, identifier):
    """The equivalence above is only worth what the scopes cover: every exporter writes rows of the scope."""
    scope = the_scopes(event_with_outsider)["ended"]
    files = parsed(fast_files(SCOPED[identifier](event_with_outsider, scope)))
    assert files and all(content for content in files.values()), files
    if identifier == "question_answers":
        assert any(name.startswith("ABC01-2-SID-") for name in files)
        assert files["question-answers.json"]["ABC02-2"][0]["answer"] == "cancelled but still here"


def test_part_of_the_orders_is_only_that_part(event_with_outsider):
    scope = the_scopes(event_with_outsider)["part"]
    emails = parsed(fast_files(scope_shredders.Emails(event_with_outsider, scope)))
    assert set(emails["emails-by-order.json"]) == {"ABC01", "ABC03"}
    assert set(emails["emails-by-attendee.json"]) == {"ABC01-1", "ABC01-2"}
    waiting = parsed(fast_files(scope_shredders.WaitingList(event_with_outsider, scope)))["waiting-list.json"]
    assert [w["email"] for w in waiting] == ["wait1@example.org"]


def test_batches_do_not_change_the_content(event_with_outsider, monkeypatch):
    monkeypatch.setattr(stream, "BATCH", 1)
    scope = the_scopes(event_with_outsider)["ended"]
    for identifier, cls in SCOPED.items():
        shredder = cls(event_with_outsider, scope)
        assert fast_files(shredder) == own_files(shredder), identifier


def test_the_archive_of_a_scope_takes_the_fast_path_and_is_the_same_without_it(event_with_outsider, monkeypatch):
    scope = the_scopes(event_with_outsider)["ended"]
    shredders = list(scope_shredders.offered_in(event_with_outsider, scope).values())
    at = now()

    def entries():
        index = archive.index_data(event_with_outsider, [s.identifier for s in shredders], at, "ABCDEF", scope)
        buf = io.BytesIO()
        archive.write_zip(buf, index, shredders)
        with zipfile.ZipFile(buf) as zf:
            return {name: zf.read(name) for name in zf.namelist()}

    called = []
    for cls in SCOPED.values():
        original = cls.generate_files
        monkeypatch.setattr(cls, "generate_files", lambda self, o=original: called.append(self) or o(self))
    fast = entries()
    assert called == []  # none of the scope shredders' own generate_files ran
    monkeypatch.setenv("PRETIX_SHREDDER_API_FAST_EXPORT", "off")
    assert entries() == fast
    assert {s.identifier for s in called} == set(SCOPED)


def test_a_plugins_subclass_of_a_scope_shredder_uses_its_own_generate_files(event_with_outsider):
    class Mine(scope_shredders.Emails):
        pass

    scope = the_scopes(event_with_outsider)["ended"]
    assert exporters.exporter_for(Mine(event_with_outsider, scope)) is None
    assert exporters.exporter_for(scope_shredders.Emails(event_with_outsider, scope)) is not None


# --- queries --------------------------------------------------------------------------------------------------------


def _grow_on(event, item, question, subevent, start, count) -> list[int]:
    """``count`` orders full of data (``test_fast_export._grow``) on ``subevent`` with their waiting list; ids."""
    _grow(event, item, question, start, count)
    codes = [f"G{n:04d}" for n in range(start, start + count)]
    OrderPosition.all.filter(order__event=event, order__code__in=codes).update(subevent=subevent)
    emails = [f"w{n}@example.org" for n in range(start, start + count)]
    event.waitinglistentries.filter(email__in=emails).update(subevent=subevent)
    return list(event.orders.filter(code__in=codes).values_list("pk", flat=True))


def _queries(shredder) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fast_files(shredder)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("identifier", sorted(SCOPED))
def test_the_scope_export_query_count_does_not_grow_with_the_orders_outside_it(organizer, monkeypatch, identifier):
    """A scope of 6 orders (batches of 4 rows): its export costs the same number of queries with 4 and with 16
    orders outside it - and only a few more per extra batch when the scope itself grows."""
    monkeypatch.setattr(stream, "BATCH", 4)
    event = make_event(organizer, slug="growing", has_subevents=True)
    past = event.subevents.create(name="Past", date_from=now() - timedelta(days=10))
    later = event.subevents.create(name="Later", date_from=now() + timedelta(days=10))
    item = event.items.create(name="Ticket", default_price=Decimal("23.00"))
    question = event.questions.create(question="Q", type=Question.TYPE_CHOICE_MULTIPLE, identifier="Q")
    for ident in "XYZ":
        question.options.create(answer=ident, identifier=ident)
    inside = _grow_on(event, item, question, past, 0, 6)
    scope = scopes.Scope(kind=scopes.DATES, subevents=(past.pk,), orders=tuple(inside))
    _grow_on(event, item, question, later, 100, 4)
    small = _queries(SCOPED[identifier](event, scope))
    _grow_on(event, item, question, later, 200, 12)
    large = _queries(SCOPED[identifier](event, scope))
    assert small == large
    assert len(parsed(fast_files(SCOPED[identifier](event, scope)))) >= 1
    bigger = scopes.Scope(kind=scopes.DATES, subevents=(past.pk,), orders=tuple(inside + _grow_on(
        event, item, question, past, 300, 4)))  # fmt: skip
    # 4 more orders in the scope are up to 8 more rows: 2 extra batches per file, at most 3 queries each
    assert _queries(SCOPED[identifier](event, bigger)) - small <= 2 * 3
