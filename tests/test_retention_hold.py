"""The legal hold (issue 21 item 5): stage one shreds all but the held tax-relevant shredders on the usual date,
stage two - the clock moved past the end of the hold with freezegun - the rest, each with notice; the invoices an
accountant exports are the same before and after stage one."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.test import Client
from django.utils.formats import date_format
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.models import Invoice, InvoiceAddress, InvoiceLine

from pretix_shredder_api import retention, retention_hold
from pretix_shredder_api.models import ScheduledShred, ShredderJob

from .conftest import make_event, make_team, token_client
from .scope_data import place_order, setup_series, values_for
from .test_erasure import database_hits

pytestmark = pytest.mark.django_db

EVENT_SHREDDERS = [
    "phone_numbers", "order_emails", "attendee_info", "invoice_addresses", "question_answers", "invoices",
    "cachedtickets", "payment_info", "waiting_list",
    "log_personal_data", "order_notes", "order_question_answers", "payment_details",
]  # fmt: skip
HOLD = {"invoices": 10, "invoice_addresses": 10}
ORG_POLICY = "/api/v1/organizers/bigevents/shredder-policy/"
INVOICE_TABLES = {"pretixbase_invoice", "pretixbase_invoiceline", "pretixbase_invoiceaddress"}


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def clock():
    with freeze_time(now()) as frozen:
        yield frozen


@pytest.fixture
def org_client(organizer):
    team = make_team(organizer, all_event_permissions=True, all_organizer_permissions=True)
    return token_client(team.tokens.create(name="Organizer admin"))


@pytest.fixture
def shop(clock, client, organizer, user):
    """An event that ended 40 days ago, shop offline, with two paid orders with invoices and invoice addresses."""
    event = make_event(organizer, slug="gala", live=True, date_from=now() + timedelta(days=5))
    item = event.items.create(name="Seat", default_price=Decimal("23.00"))
    questions = setup_series(event, item)
    event.quotas.create(name="All", size=100).items.add(item)
    codes = [place_order(client, event, item, [None], tag, questions) for tag in ("H1", "H2")]
    assert Invoice.objects.filter(event=event).count() == 2
    event.date_from = now() - timedelta(days=40)
    event.live = False
    event.enable_plugin("pretix_shredder_api")  # its completing shredders are active for the event
    event.save()
    djmail.outbox.clear()
    clock.tick(timedelta(minutes=1))
    return event, codes


def accounting(event) -> dict:
    """What an accountant exports of the invoices: every row of the invoices, their lines and addresses."""
    return {
        "invoices": [repr(sorted(r.items())) for r in Invoice.objects.filter(event=event).order_by("pk").values()],
        "lines": [
            repr(sorted(r.items())) for r in InvoiceLine.objects.filter(invoice__event=event).order_by("pk").values()
        ],
        "addresses": [
            repr(sorted(r.items())) for r in InvoiceAddress.objects.filter(order__event=event).order_by("pk").values()
        ],
    }


def residual_page(event) -> str:
    c = Client()
    assert c.login(email="admin@example.org", password="secret-password-123")
    resp = c.get(f"/control/event/{event.organizer.slug}/{event.slug}/shredder-api/residual/")
    assert resp.status_code == 200
    return resp.content.decode()


def values() -> dict:
    return {f"{t}.{k}": v for t in ("H1", "H2") for k, v in values_for(t).items()}


def run_to_done(clock, s):
    """Move the clock to the schedule's notice time and then past its due date, running the scheduler each time."""
    clock.move_to(max(s.notice_at, now()) + timedelta(minutes=1))
    retention.run_schedule()
    s.refresh_from_db()
    assert s.state == "noticed", s.last_error
    clock.move_to(s.due + timedelta(minutes=5))
    retention.run_schedule()
    s.refresh_from_db()
    assert s.state == "done", s.last_error
    return ShredderJob.objects.get(pk=s.job_id)


def test_two_stages_keep_only_what_the_hold_names_then_nothing(clock, org_client, shop):
    event, _codes = shop
    body = {"enabled": True, "shredders": EVENT_SHREDDERS, "days_after_event": 30, "notice_days": 5, "hold": HOLD}
    resp = org_client.patch(ORG_POLICY, body, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["hold"] == HOLD
    before = accounting(event)
    assert {"H1.ia_name", "H1.ia_city", "H1.email_new", "H1.payer", "H1.attendee"} <= set(database_hits(values()))

    # stage one: the usual date, every shredder but the held ones
    retention.run_schedule()
    (one,) = ScheduledShred.objects.filter(event=event)
    assert one.hold_years is None and one.shredders == [s for s in EVENT_SHREDDERS if s not in HOLD]
    run_to_done(clock, one)
    hits = database_hits(values())
    assert hits and {t.split(".")[0] for tables in hits.values() for t in tables} <= INVOICE_TABLES, hits
    assert {"H1.ia_name", "H1.ia_city"} <= set(hits)
    assert accounting(event) == before  # the accountant's export of the kept invoices is unchanged

    # the residual page says why each value is still stored and until when (the end of the hold)
    page = residual_page(event)
    end = retention_hold.period_end(event, event.date_from, 10)
    assert page.count("shredder-api-residual-location") >= 2
    assert "Legal hold: kept 10 years for tax law (invoices)" in page
    assert date_format(end, "SHORT_DATE_FORMAT") in page
    assert "No retention policy" not in page

    # the next run plans stage two at the end of the hold: the start of the year after the event's year + 10
    retention.run_schedule()
    two = ScheduledShred.objects.exclude(pk=one.pk).get(event=event)
    assert (two.hold_years, two.shredders, two.due) == (10, ["invoice_addresses", "invoices"], end)
    assert end.year == event.date_from.astimezone(event.timezone).year + 11 and (end.month, end.day) == (1, 1)
    clock.move_to(two.notice_at - timedelta(days=1))
    retention.run_schedule()
    assert ScheduledShred.objects.get(pk=two.pk).state == "scheduled" and database_hits(values())

    # stage two, with notice like any scheduled shred: nothing is left
    djmail.outbox.clear()
    job = run_to_done(clock, two)
    assert [m.subject.split(" ")[0] for m in djmail.outbox] == ["Personal", "The"]  # notice, done
    assert job.residual_found == 0, job.residual_locations
    assert database_hits(values()) == {}
    retention.run_schedule()
    assert ScheduledShred.objects.filter(event=event).count() == 2


@pytest.mark.parametrize(
    "hold, message",
    [
        ({"order_emails": 10}, '"order_emails" is not a tax-relevant data shredder; only those can be kept longer.'),
        ({"payment_info": 10}, '"payment_info" is not one of the policy\'s data shredders.'),
        ({"invoices": 0}, None),
        ({"invoices": "ten"}, None),
        (["invoices"], None),
    ],
)
def test_a_bad_hold_is_400_and_changes_nothing(org_client, organizer, hold, message):
    body = {"enabled": True, "shredders": ["invoices"], "days_after_event": 30, "notice_days": 5, "hold": hold}
    resp = org_client.patch(ORG_POLICY, body, format="json")
    assert resp.status_code == 400 and "hold" in resp.json(), resp.content
    if message:
        assert resp.json()["hold"] == [message]
    assert retention.policy_of(organizer).hold == {} and not retention.policy_of(organizer).enabled


def test_a_hold_needs_the_event_mode(org_client, organizer):
    body = {"enabled": True, "shredders": ["invoices"], "mode": "dates", "hold": {"invoices": 10}}
    resp = org_client.patch(ORG_POLICY, body, format="json")
    assert resp.status_code == 400 and resp.json() == {"hold": [str(retention_hold.MSG_ONLY_EVENT_MODE)]}
