"""GET P and GET P<identifier>/: the shredders of pretix's registry."""

import pytest

pytestmark = pytest.mark.django_db

CORE = {
    "attendee_info": "Attendee info",
    "cachedtickets": "Cached ticket files",
    "order_emails": "Emails",
    "invoice_addresses": "Invoice addresses",
    "invoices": "Invoices",
    "payment_info": "Payment information",
    "phone_numbers": "Phone numbers",
    "question_answers": "Question answers",
    "waiting_list": "Waiting list",
    # this plugin's completing shredders, offered for every event (also where the plugin is not active)
    "log_personal_data": "Personal data in log entries",
    "order_question_answers": "Answers to order-level questions",
    "order_notes": "Order comments, check-in texts and client metadata",
    "payment_details": "Payment details",
}


def test_list_is_the_registry_ordered_by_verbose_name(client, base_url, event):
    resp = client.get(base_url)
    assert resp.status_code == 200
    expected = [{"identifier": k, "verbose_name": v} for k, v in sorted(CORE.items(), key=lambda kv: kv[1])]
    assert resp.data["results"] == expected
    assert resp.data["count"] == len(CORE)
    assert resp.data["next"] is None and resp.data["previous"] is None
    assert set(resp.data) == {"count", "next", "previous", "results"}


def test_list_honours_pretix_pagination(client, base_url):
    first = client.get(base_url + "?page_size=4")
    assert first.status_code == 200
    assert len(first.data["results"]) == 4
    assert first.data["next"].endswith("?page=2&page_size=4")
    last = client.get(base_url + "?page=4&page_size=4")
    assert [r["identifier"] for r in last.data["results"]] == ["waiting_list"]
    assert last.data["next"] is None


@pytest.mark.parametrize("page", ["2", "0", "abc", "-1"])
def test_out_of_range_page_is_404(client, base_url, page):
    resp = client.get(base_url + f"?page={page}")
    assert resp.status_code == 404
    assert "detail" in resp.data


def test_detail(client, base_url):
    resp = client.get(base_url + "question_answers/")
    assert resp.status_code == 200
    assert resp.data == {"identifier": "question_answers", "verbose_name": "Question answers"}


@pytest.mark.parametrize("identifier", ["nope", "ORDER_EMAILS", "%C3%A4", "a" * 300])
def test_unknown_detail_is_404(client, base_url, identifier):
    resp = client.get(base_url + f"{identifier}/")
    assert resp.status_code == 404
    assert resp.json()["detail"]
