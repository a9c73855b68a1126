"""A shred scope below the event: the orders of past dates of a live series, or of products whose validity ended -
exported, shredded, checked by the residual scan, and nothing outside the scope changed."""

import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils.timezone import now
from pretix.base.models import Item, LogEntry, OrderPosition

from pretix_shredder_api import scopes
from pretix_shredder_api.models import ShredderJob

from .conftest import make_event
from .scope_data import add_subevent, dump_orders, end_subevent, place_order, setup_series, values_for
from .test_erasure import database_hits

pytestmark = pytest.mark.django_db

ALL_SCOPE_SHREDDERS = [
    "attendee_info", "cachedtickets", "invoice_addresses", "invoices", "order_emails", "payment_info",
    "phone_numbers", "question_answers", "waiting_list",
    "log_personal_data", "order_notes", "order_question_answers", "payment_details",
]  # fmt: skip


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def series(organizer):
    event = make_event(organizer, slug="season", has_subevents=True, live=True, date_from=now() - timedelta(days=60))
    item = event.items.create(name="Seat", default_price=Decimal("23.00"))
    return event, item


@pytest.fixture
def seeded(client, series):
    """Dates ended 40 and 20 days ago and one in 10 days; orders A (40), B (20), C (40 + coming), D (coming)."""
    event, item = series
    questions = setup_series(event, item)
    old = add_subevent(event, item, "Old", 1)
    recent = add_subevent(event, item, "Recent", 2)
    coming = add_subevent(event, item, "Coming", 10)
    codes = {
        "A": place_order(client, event, item, [old], "A", questions),
        "B": place_order(client, event, item, [recent], "B", questions),
        "C": place_order(client, event, item, [old, coming], "C", questions),
        "D": place_order(client, event, item, [coming], "D", questions),
    }
    end_subevent(old, 40)
    end_subevent(recent, 20)
    return {"event": event, "item": item, "old": old, "recent": recent, "coming": coming, "codes": codes}


def scope_url(event):
    return f"/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/shredders/scopes/export/"


def start(client, event, body):
    return client.post(scope_url(event), body, format="json")


def run_shred(client, urls, expect="ok"):
    body = b"".join(client.get(urls["download"]).streaming_content)
    resp = client.post(urls["shred"], format="json")
    assert resp.status_code == 202, resp.content
    status = client.get(resp.json()["status"])
    if expect == "ok":
        assert status.json() == {"status": "ok", "message": "OK"}, status.content
    return body, status, resp.json()["status"].replace("/status/", "/report/")


def test_a_scope_of_dates_covers_the_orders_all_of_whose_dates_are_over(client, seeded):
    event, codes = seeded["event"], seeded["codes"]
    resp = start(client, event, {"shredders": ["order_emails"], "subevents": [seeded["old"].pk, seeded["recent"].pk]})
    assert resp.status_code == 202, resp.content
    urls = resp.json()
    assert set(urls) == {"download", "shred", "scope"}
    detail = client.get(urls["scope"])
    assert detail.status_code == 200
    assert detail.json() == {
        "kind": "dates",
        "ended_days_ago": None,
        "subevents": sorted([seeded["old"].pk, seeded["recent"].pk]),
        "orders": sorted([codes["A"], codes["B"]]),  # C has a coming date too: it waits
        "order_count": 2,
        "shredders": ["order_emails"],
        "export": "succeeded",
        "shred": None,
    }


def test_ended_days_ago_picks_the_dates_that_ended_that_long_ago(client, seeded):
    event, codes = seeded["event"], seeded["codes"]
    for days, expected in ((30, [codes["A"]]), (10, sorted([codes["A"], codes["B"]]))):
        resp = start(client, event, {"shredders": ["order_emails"], "ended_days_ago": days})
        assert resp.status_code == 202, resp.content
        assert client.get(resp.json()["scope"]).json()["orders"] == expected
    # nothing ended 50 days ago
    resp = start(client, event, {"shredders": ["order_emails"], "ended_days_ago": 50})
    assert resp.status_code == 400
    assert resp.json() == [str(scopes.MSG_NO_ORDERS)]


def test_the_scope_shred_leaves_no_personal_value_of_its_orders_and_changes_nothing_else(client, seeded):
    event, codes = seeded["event"], seeded["codes"]
    others = [codes["C"], codes["D"]]
    before = dump_orders(event, others)
    logs_before = dict(LogEntry.objects.filter(event=event).values_list("pk", "data"))
    scope_values = {f"{t}.{k}": v for t in "AB" for k, v in values_for(t).items()}
    assert set(database_hits(scope_values)) >= {"A.email_new", "A.attendee", "A.ia_city", "A.payer", "B.answer"}

    resp = start(client, event, {"shredders": ALL_SCOPE_SHREDDERS, "ended_days_ago": 10})
    assert resp.status_code == 202, resp.content
    zipped, _status, report_url = run_shred(client, resp.json())

    # the export held the scope's data and only that
    with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
        index = json.loads(zf.read("index.json"))
        emails = json.loads(zf.read("emails-by-order.json"))
    assert index["scope"] == {"kind": "dates", "subevents": index["scope"]["subevents"], "orders": 2,
                              "ended_days_ago": 10}  # fmt: skip
    assert set(emails) == {codes["A"], codes["B"]}

    report = client.get(report_url).json()
    assert report["shred"] == "ok" and report["values_before"] > 10
    assert report["values_found"] == 0, report["locations"]
    # an independent search of the whole database: no value of A or B is left anywhere
    assert database_hits(scope_values) == {}
    # every row of the other orders is unchanged, and so are their log entries and every other log entry
    assert dump_orders(event, others) == before
    scope_ids = ShredderJob.objects.get().scope["orders"]
    changed = {pk for pk, data in LogEntry.objects.filter(event=event).values_list("pk", "data")
               if pk in logs_before and logs_before[pk] != data}  # fmt: skip
    scope_logs = set(
        scopes.Scope(kind="dates", orders=tuple(scope_ids)).log_entries_of(event).values_list("pk", flat=True)
    )
    assert changed and changed <= scope_logs
    event.refresh_from_db()
    assert event.live  # the shop stayed online


def test_a_new_order_for_a_coming_date_is_no_change_but_a_change_of_a_scope_order_is(client, seeded):
    event, item, codes = seeded["event"], seeded["item"], seeded["codes"]
    resp = start(client, event, {"shredders": ["order_emails"], "ended_days_ago": 10})
    urls = resp.json()
    questions = (event.questions.get(question="Needs?"), event.questions.get(question="Purchase order?"))
    place_order(client, event, item, [seeded["coming"]], "E", questions)  # the shop keeps selling
    run_shred(client, urls)

    resp = start(client, event, {"shredders": ["phone_numbers"], "subevents": [seeded["old"].pk]})
    urls = resp.json()
    base = f"/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/"
    assert client.patch(base + f"orders/{codes['A']}/", {"phone": "+4930555999888"}, format="json").status_code == 200
    _zip, status, _r = run_shred(client, urls, expect="failed")
    assert status.status_code == 417
    assert status.json()["message"] == "Something happened in your event after the export, please try again."


def test_an_order_that_got_a_coming_date_after_the_export_is_refused(client, seeded):
    event, item, codes = seeded["event"], seeded["item"], seeded["codes"]
    urls = start(client, event, {"shredders": ["order_emails"], "subevents": [seeded["old"].pk]}).json()
    order = event.orders.get(code=codes["A"])
    OrderPosition.objects.create(order=order, item=item, price=Decimal("1.00"), positionid=9, subevent=seeded["coming"])
    b"".join(client.get(urls["download"]).streaming_content)
    resp = client.post(urls["shred"], format="json")
    assert resp.status_code == 400
    assert resp.json() == [str(scopes.MSG_ORDERS_NOT_OVER)]


@pytest.mark.parametrize(
    "body, status, key",
    [
        ({"shredders": ["order_emails"]}, 400, "scope"),
        ({"shredders": ["order_emails"], "subevents": [1], "ended_days_ago": 3}, 400, "scope"),
        ({"shredders": ["order_emails"], "subevents": []}, 400, "subevents"),
        ({"shredders": ["order_emails"], "subevents": ["x"]}, 400, "subevents"),
        ({"shredders": ["order_emails"], "ended_days_ago": -1}, 400, "ended_days_ago"),
        ({"shredders": ["order_emails"], "ended_days_ago": "soon"}, 400, "ended_days_ago"),
        ({"shredders": ["nope"], "ended_days_ago": 3}, 400, "shredders"),
        ({"ended_days_ago": 3}, 400, "shredders"),
    ],
)
def test_bad_scope_requests_are_400_and_create_nothing(client, seeded, body, status, key):
    resp = start(client, seeded["event"], body)
    assert resp.status_code == status
    assert key in resp.json()
    assert not ShredderJob.objects.exists()


def test_coming_or_foreign_dates_are_refused(client, seeded, organizer):
    event = seeded["event"]
    resp = start(client, event, {"shredders": ["order_emails"], "subevents": [seeded["coming"].pk]})
    assert resp.status_code == 400
    assert resp.json() == [f"These dates are not over yet: {seeded['coming'].pk}"]
    other = make_event(organizer, slug="other", has_subevents=True)
    foreign = other.subevents.create(name="X", date_from=now() - timedelta(days=5))
    resp = start(client, event, {"shredders": ["order_emails"], "subevents": [foreign.pk]})
    assert resp.status_code == 400
    assert resp.json() == [f"These dates do not belong to this event: {foreign.pk}"]
    assert not ShredderJob.objects.exists()


def test_plugin_shredders_are_not_offered_in_a_scope(client, seeded):
    resp = start(client, seeded["event"], {"shredders": ["slow_test_shredder"], "ended_days_ago": 1})
    assert resp.status_code == 400 and "shredders" in resp.json()


def test_a_shop_without_dates_shreds_the_orders_whose_validity_ended(client, organizer):
    event = make_event(organizer, slug="museum", live=True, date_from=now() - timedelta(days=400))
    day_pass = event.items.create(
        name="Day pass", default_price=Decimal("9.00"), validity_mode=Item.VALIDITY_MODE_FIXED,
        validity_fixed_from=now() - timedelta(days=100), validity_fixed_until=now() - timedelta(days=60),
    )  # fmt: skip
    year_pass = event.items.create(name="Year pass", default_price=Decimal("90.00"))
    questions = setup_series(event, day_pass)
    questions[0].items.add(year_pass)
    quota = event.quotas.create(name="All", size=100)
    quota.items.add(day_pass, year_pass)
    old = place_order(client, event, day_pass, [None], "V1", questions)
    dynamic = place_order(client, event, year_pass, [None], "V2", questions)
    running = place_order(client, event, year_pass, [None], "V3", questions)
    OrderPosition.all.filter(order__code=dynamic).update(valid_until=now() - timedelta(days=40))
    OrderPosition.all.filter(order__code=running).update(valid_until=now() + timedelta(days=40))
    before = dump_orders(event, [running])

    resp = start(
        client, event, {"shredders": ALL_SCOPE_SHREDDERS[:-5] + ALL_SCOPE_SHREDDERS[-4:], "ended_days_ago": 30}
    )
    assert resp.status_code == 202, resp.content
    detail = client.get(resp.json()["scope"]).json()
    assert detail["kind"] == "validity" and detail["orders"] == sorted([old, dynamic])
    _zip, _s, report_url = run_shred(client, resp.json())
    assert client.get(report_url).json()["values_found"] == 0
    scope_values = {f"{t}.{k}": v for t in ("V1", "V2") for k, v in values_for(t).items()}
    assert database_hits(scope_values) == {}
    assert dump_orders(event, [running]) == before
    # the waiting list belongs to no order: a validity scope does not offer it
    resp = start(client, event, {"shredders": ["waiting_list"], "ended_days_ago": 30})
    assert resp.status_code == 400 and "shredders" in resp.json()


def test_scope_endpoints_have_the_auth_matrix(seeded, client, readonly_client, device_client, foreign_client):
    from rest_framework.test import APIClient

    event = seeded["event"]
    body = {"shredders": ["order_emails"], "ended_days_ago": 10}
    assert APIClient().post(scope_url(event), body, format="json").status_code == 401
    assert readonly_client.post(scope_url(event), body, format="json").status_code == 403
    assert device_client.post(scope_url(event), body, format="json").status_code == 403
    assert foreign_client.post(scope_url(event), body, format="json").status_code in (403, 404)
    urls = start(client, event, body).json()
    assert APIClient().get(urls["scope"]).status_code == 401
    assert readonly_client.get(urls["scope"]).status_code == 403
    assert device_client.get(urls["scope"]).status_code == 403
    assert foreign_client.get(urls["scope"]).status_code in (403, 404)
    assert not ShredderJob.objects.exclude(pk=ShredderJob.objects.get().pk).exists()


def test_another_credential_does_not_see_the_scope_job(seeded, client, second_client):
    urls = start(client, seeded["event"], {"shredders": ["order_emails"], "ended_days_ago": 10}).json()
    resp = second_client.get(urls["scope"])
    assert resp.status_code == 404 and resp.json() == {"detail": "This export does not exist."}
    assert second_client.get(urls["download"]).status_code == 404
    bad = urls["scope"].rstrip("/").rsplit("/", 1)[0] + "/not-a-uuid/"
    assert client.get(bad).status_code == 404


def _export_queries(client, event):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        resp = start(client, event, {"shredders": ALL_SCOPE_SHREDDERS, "ended_days_ago": 10})
    assert resp.status_code == 202, resp.content
    assert client.get(resp.json()["scope"]).json()["export"] == "succeeded"
    return len(ctx.captured_queries)


def test_the_scope_export_query_count_does_not_grow_with_the_orders_outside_it(client, seeded):
    from .conftest import make_order

    event, item = seeded["event"], seeded["item"]
    first = _export_queries(client, event)
    for i in range(30):
        order = make_order(event, item, f"OUT{i:03d}", f"outside{i}@example.org")
        order.all_positions.update(subevent=seeded["coming"])
    assert _export_queries(client, event) == first


@pytest.mark.skipif("sqlite" not in __import__("django.db").db.connection.vendor, reason="SQLite's query plan")
@pytest.mark.parametrize("has_subevents", [True, False])
def test_resolving_a_scope_reads_the_positions_once_not_once_per_order(organizer, has_subevents):
    """In a request pretix's scoped managers add the organizer to every query; a correlated EXISTS per order then
    searched each order's positions through the organizer index (35 s for 10,000 orders, benchmarks/scope.py)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope

    event = make_event(organizer, slug="plan", has_subevents=has_subevents)
    with scope(organizer=organizer), CaptureQueriesContext(connection) as ctx:
        with pytest.raises(scopes.ScopeError):
            scopes.for_ended(event, 1)  # no orders: it raises after the query
    (resolving,) = [q["sql"] for q in ctx.captured_queries if 'FROM "pretixbase_order" ' in q["sql"]]
    assert "organizer_id" in resolving
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + resolving)
        plan = [row[-1] for row in cursor.fetchall()]
    assert not [step for step in plan if "CORRELATED" in step], plan
