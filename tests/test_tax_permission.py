"""Running tax-relevant shredders outside the retention policy needs ``event.settings.invoicing:write`` (issue 21
item 5, pretix PR #1801): invoices, invoice addresses and payment records are what tax law wants kept."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils.timezone import now

from pretix_shredder_api import permissions
from pretix_shredder_api.models import ShredderJob
from pretix_shredder_api.scope_shredders import offered_for_scopes

from .conftest import make_event, make_team, token_client

pytestmark = pytest.mark.django_db

ORDERS_ONLY = {"event.orders:write": True}
WITH_INVOICING = {"event.orders:write": True, "event.settings.invoicing:write": True}


def client_with(organizer, perms):
    return token_client(make_team(organizer, limit_event_permissions=perms).tokens.create(name="t"))


@pytest.fixture
def series(organizer):
    event = make_event(organizer, slug="season", has_subevents=True, live=True, date_from=now() - timedelta(days=60))
    item = event.items.create(name="Seat", default_price=Decimal("23.00"))
    from .scope_data import add_subevent, end_subevent, place_order, setup_series

    questions = setup_series(event, item)
    se = add_subevent(event, item, "Old", 1)
    place_order(client_with(organizer, {"event.orders:write": True}), event, item, [se], "T1", questions)
    end_subevent(se, 40)
    return event


@pytest.mark.parametrize("shredders", [["invoices"], ["order_emails", "invoice_addresses"], ["payment_info"]])
def test_an_event_export_of_tax_relevant_shredders_needs_the_invoicing_permission(organizer, event, orders, shredders):
    url = f"/api/v1/organizers/{organizer.slug}/events/{event.slug}/shredders/export/"
    resp = client_with(organizer, ORDERS_ONLY).post(url, {"shredders": shredders}, format="json")
    assert resp.status_code == 403, resp.content
    detail = resp.json()["detail"]
    assert "event.settings.invoicing:write" in detail and shredders[-1] in detail
    assert not ShredderJob.objects.exists()
    resp = client_with(organizer, WITH_INVOICING).post(url, {"shredders": shredders}, format="json")
    assert resp.status_code == 202, resp.content


def test_other_shredders_need_only_the_orders(organizer, event, orders):
    url = f"/api/v1/organizers/{organizer.slug}/events/{event.slug}/shredders/export/"
    resp = client_with(organizer, ORDERS_ONLY).post(url, {"shredders": ["order_emails"]}, format="json")
    assert resp.status_code == 202, resp.content


def test_a_scope_export_of_tax_relevant_shredders_needs_the_invoicing_permission(organizer, series):
    url = f"/api/v1/organizers/{organizer.slug}/events/{series.slug}/shredders/scopes/export/"
    body = {"shredders": ["order_emails", "invoices"], "ended_days_ago": 10}
    resp = client_with(organizer, ORDERS_ONLY).post(url, body, format="json")
    assert resp.status_code == 403 and "event.settings.invoicing:write" in resp.json()["detail"]
    assert (
        client_with(organizer, ORDERS_ONLY)
        .post(url, {**body, "shredders": ["order_emails"]}, format="json")
        .status_code
        == 202
    )
    assert client_with(organizer, WITH_INVOICING).post(url, body, format="json").status_code == 202


def test_scope_shredders_say_truly_whether_they_are_tax_relevant(series):
    flags = {k: s.tax_relevant for k, s in offered_for_scopes(series, "dates").items()}
    assert {k for k, v in flags.items() if v} == {"invoices", "invoice_addresses", "payment_info", "payment_details"}
    assert all(isinstance(v, bool) for v in flags.values())
    assert permissions.TAX_RECORDS == "event.settings.invoicing:write"
