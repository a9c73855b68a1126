"""Complete erasure, with proof: personal data put in through pretix's REST API, shredded with every shredder, and
searched for afterwards - by the residual scan (the job's report) and, independently, by a search of every text
column of the whole database and every stored file."""

import io
import json
import os
import zipfile

import pytest
from django.db import connection
from pretix.base.models import LogEntry

from pretix_shredder_api import residual
from pretix_shredder_api.models import ShredderJob

from .erasure_data import VALUES, seed_through_api

pytestmark = pytest.mark.django_db

CORE = [
    "attendee_info",
    "cachedtickets",
    "invoice_addresses",
    "invoices",
    "order_emails",
    "payment_info",
    "phone_numbers",
    "question_answers",
    "waiting_list",
]
OURS = ["log_personal_data", "order_notes", "order_question_answers", "payment_details"]
# Tables that are not the event's by design (docs/erasure.rst, "What is erased, what is kept"): API upload caches are
# organizer-wide and expire on their own; pretix's own mail queue is deleted by the e-mail shredder.
NOT_EVENT_DATA = {"pretixbase_cachedfile"}


def database_hits(values=VALUES) -> dict:
    """``{value name: {"table.column", …}}`` for every text column of every table of the database."""
    hits = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cols = [
                c.name
                for c in connection.introspection.get_table_description(cursor, table)
                if "char" in str(c.type_code).lower() or "text" in str(c.type_code).lower() or c.type_code in (str,)
            ]
            if not cols:
                continue
            quoted = ", ".join(connection.ops.quote_name(c) for c in cols)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for col, cell in zip(cols, row, strict=True):
                    if not isinstance(cell, str):
                        continue
                    text = cell.casefold()
                    for name, value in values.items():
                        if value.casefold() in text:
                            hits.setdefault(name, set()).add(f"{table}.{col}")
    return hits


def file_hits(values=VALUES) -> dict:
    """``{value name: {path, …}}`` for every stored file under MEDIA_ROOT (PDF text included)."""
    from django.conf import settings
    from django.core.files.storage import default_storage

    hits = {}
    for root, _dirs, files in os.walk(settings.MEDIA_ROOT):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), settings.MEDIA_ROOT)
            text = residual.file_text(default_storage, rel).casefold()
            for key, value in values.items():
                if value.casefold() in text:
                    hits.setdefault(key, set()).add(rel)
    return hits


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    """Files of this test only: other tests leave theirs behind (their database rows are rolled back, not files)."""
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def seeded(client, event, item):
    return seed_through_api(client, event, item)


def shred_with(client, base_url, shredders):
    resp = client.post(base_url + "export/", {"shredders": shredders}, format="json")
    assert resp.status_code == 202, resp.content
    urls = resp.json()
    body = b"".join(client.get(urls["download"]).streaming_content)
    status = client.post(urls["shred"], format="json").json()["status"]
    assert client.get(status).json() == {"status": "ok", "message": "OK"}
    return status.replace("/status/", "/report/"), body


def test_seeded_values_are_where_the_issue_found_them(seeded):
    hits = database_hits()
    # every value is stored; only the first comment was overwritten by the PATCH (pretix logs the new one)
    assert set(hits) == set(VALUES) - {"upload_content", "comment"}
    assert file_hits()["upload_content"]


def test_every_shredder_leaves_no_personal_value_of_the_event(client, base_url, seeded, event):
    before = client.get(base_url + "residual/")
    assert before.status_code == 200
    assert before.json()["values_found"] > 20 and before.json()["complete"] is False

    listed = [r["identifier"] for r in client.get(base_url + "?page_size=50").json()["results"]]
    assert sorted(listed) == sorted(CORE + OURS)
    report_url, _zip = shred_with(client, base_url, listed)

    report = client.get(report_url)
    assert report.status_code == 200
    body = report.json()
    assert body["shred"] == "ok"
    assert body["values_before"] > 20
    assert body["values_found"] == 0, body["locations"]
    assert body["complete"] is True and body["locations"] == []
    assert body["shredders"] == listed
    assert client.get(base_url + "residual/").json()["values_found"] == 0

    # The independent search: nothing of the event anywhere in the database or its files
    hits = {
        k: v - {f"{t}.{c}" for t in NOT_EVENT_DATA for c in ("file", "filename")} for k, v in database_hits().items()
    }
    assert {k: v for k, v in hits.items() if v} == {}
    leftover = {k: {p for p in v if not p.startswith("cachedfiles/")} for k, v in file_hits().items()}
    assert {k: v for k, v in leftover.items() if v} == {}


def test_builtin_shredders_alone_leave_values_and_the_report_says_where(client, base_url, seeded):
    report_url, _zip = shred_with(client, base_url, CORE)
    body = client.get(report_url).json()
    assert body["shred"] == "ok"  # the data the chosen shredders cover is gone ...
    assert body["values_found"] > 0 and body["complete"] is False  # ... but not all of it
    tables = {(loc["table"], loc["column"]) for loc in body["locations"]}
    assert ("pretixbase_logentry", "data") in tables
    assert ("pretixbase_order", "comment") in tables
    assert ("pretixbase_questionanswer", "answer") in tables  # the order-level answer
    mail_logs = {loc["action_type"] for loc in body["locations"] if loc["table"] == "pretixbase_logentry"}
    assert any(".email." in (a or "") for a in mail_logs)
    assert all(set(loc) == {"table", "column", "action_type", "count"} for loc in body["locations"])
    # a report never contains the data it is about
    text = json.dumps(body).casefold()
    assert not [k for k, v in VALUES.items() if v.casefold() in text]
    job = ShredderJob.objects.get()
    assert job.residual_found == body["values_found"] and job.residual_seconds is not None


def test_the_export_contains_what_the_completing_shredders_delete(client, base_url, seeded, event):
    logs_before = {le.pk: le.parsed_data for le in LogEntry.objects.filter(event=event)}
    _report, body = shred_with(client, base_url, OURS)
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        exported_logs = json.loads(zf.read("log-entries.json"))
        notes = json.loads(zf.read("order-notes.json"))
        answers = json.loads(zf.read("order-question-answers.json"))
        payments = json.loads(zf.read("payment-details.json"))
    logs_after = {le.pk: le.parsed_data for le in LogEntry.objects.filter(event=event, pk__in=logs_before)}
    changed = {pk for pk in logs_before if logs_before[pk] != logs_after[pk]}
    assert {int(pk) for pk in exported_logs} == changed
    assert all(exported_logs[str(pk)]["data"] == logs_before[pk] for pk in changed)
    assert all(LogEntry.objects.get(pk=pk).shredded for pk in changed)

    order = event.orders.get()
    assert notes == {
        order.code: {
            "comment": VALUES["comment_new"],
            "checkin_text": VALUES["checkin_text"],
            "api_meta": {"crm": VALUES["api_meta"]},
        }
    }
    assert (order.comment, order.checkin_text, order.api_meta) == ("", None, {})
    assert [a["answer"] for a in answers[order.code]] == [VALUES["order_answer"]]
    assert not order.answers.filter(orderposition__isnull=True).exists()
    (payment,) = payments["payments"].values()
    assert payment["info"]["iban"] == VALUES["iban"] and payment["provider"] == "banktransfer"
    (refund,) = payments["refunds"].values()
    assert refund["comment"] == VALUES["refund_comment"] and refund["info"]["bic"] == VALUES["bic"]
    p = order.payments.get()
    assert p.info_data["iban"] == residual.BLANK and p.info_data["date"] == "2026-01-05"  # dates are kept
    assert order.refunds.get().comment == ""


def test_completing_shredders_are_in_pretix_registry_where_the_plugin_is_active(event):
    assert not set(OURS) & set(event.get_data_shredders())
    event.enable_plugin("pretix_shredder_api")
    event.save()
    assert set(OURS) <= set(event.get_data_shredders())


def test_residual_values_are_words_not_substrings():
    values = residual.PersonalValues()
    values.add("Ada Lovelace")
    values.add("x")  # too short to mean anything
    assert len(values) == 1
    assert values.find("Dear ADA lovelace, welcome") == {0}
    assert values.find("Adam Lovelaceson") == set()
    assert values.is_personal("write to someone@example.org")
    values.public.add(residual.tokens("info@organizer.example"))
    assert not values.is_personal("contact info@organizer.example")
