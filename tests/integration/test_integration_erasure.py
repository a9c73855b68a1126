"""Complete erasure on PostgreSQL with Celery workers: personal data put in through pretix's REST API over HTTP
(mails delivered by pretix's own mail machinery to a local SMTP sink), shredded with every shredder, and the job's
residual report says nothing is left."""

import pytest

from .api import describe
from .conftest import builtin_api_only

pytestmark = pytest.mark.integration

BUYER = "grace.hopper@example.net"
BUYER_NEW = "grace.murray@example.net"
NOTES = {"comment": "Asked for the COBOL workshop recording", "checkin_text": "Badge with rear admiral title"}
IBAN = "DE89370400440532013000"

SETUP = """
from pretix.base.models import Event, Question
ev = Event.objects.get(organizer__slug=organizer, slug=event)
ev.organizer.enable_plugin("pretix.plugins.banktransfer")
ev.organizer.save()
ev.enable_plugin("pretix.plugins.banktransfer")
ev.save()
ev.settings.set("payment_banktransfer__enabled", True)
ev.settings.set("invoice_generate", "True")
item = ev.items.create(name="Erasure ticket", default_price=23)
quota = ev.quotas.create(name="Erasure", size=None)
quota.items.add(item)
q = ev.questions.create(question="Needs?", type=Question.TYPE_TEXT, required=False)
q.items.add(item)
qo = ev.questions.create(question="PO?", type=Question.TYPE_STRING, container_type=Question.ContainerType.ORDER)
cl = ev.checkin_lists.create(name="Door", all_products=True)
result = {"item": item.pk, "q": q.pk, "qo": qo.pk, "list": cl.pk}
"""

AFTER_ORDER = """
from pretix.base.models import Event, QuestionAnswer
ev = Event.objects.get(organizer__slug=organizer, slug=event)
order = ev.orders.get(code=code)
QuestionAnswer.objects.create(order=order, question_id=qo, answer="Purchase order Harvard Mark One")
payment = order.payments.get()
payment.info_data = {"payer": "Vincent Foster Hopper", "iban": iban, "bic": "COBADEFFXXX", "reference": code}
payment.save(update_fields=["info"])
result = {"payment": payment.local_id, "secret": order.positions.get().secret}
"""


def test_every_shredder_leaves_nothing_on_postgresql(pretix, orm, seeded_event, api_client, shredder_api, smtp_sink):
    if builtin_api_only():
        pytest.skip("the residual report is this plugin's")
    org, ev = seeded_event["organizer"], seeded_event["event"]
    base = f"{pretix.url}/api/v1/organizers/{org}/events/{ev}/"
    ids = orm.run(SETUP, organizer=org, event=ev)

    resp = api_client.post(
        base + "orders/",
        json={
            "email": BUYER,
            "phone": "+4930555099887",
            "locale": "en",
            "sales_channel": "web",
            "payment_provider": "banktransfer",
            "send_email": True,
            "comment": "First call",
            "invoice_address": {"name_parts": {"full_name": "Grace Brewster Hopper"}, "street": "Navy Yard 1",
                                "zipcode": "10001", "city": "Arlington", "country": "US"},
            "positions": [{"item": ids["item"], "price": "23.00",
                           "attendee_name_parts": {"full_name": "Grace Brewster Murray"},
                           "answers": [{"question": ids["q"], "answer": "Needs a compiler", "options": []}]}],
        },
    )  # fmt: skip
    assert resp.status_code == 201, describe(resp)
    code = resp.json()["code"]
    more = orm.run(AFTER_ORDER, organizer=org, event=ev, code=code, qo=ids["qo"], iban=IBAN)
    resp = api_client.request("PATCH", base + f"orders/{code}/", json={"email": BUYER_NEW, **NOTES})
    assert resp.status_code == 200, describe(resp)
    resp = api_client.post(base + f"orders/{code}/payments/{more['payment']}/confirm/", json={"force": True})
    assert resp.status_code == 200, describe(resp)
    resp = api_client.post(
        f"{pretix.url}/api/v1/organizers/{org}/checkinrpc/redeem/",
        json={"secret": more["secret"], "lists": [ids["list"]], "force": True},
    )
    assert resp.status_code == 201, describe(resp)

    before = shredder_api.client.get(shredder_api.base_url + "residual/")
    assert before.status_code == 200, describe(before)
    assert before.json()["values_found"] > 10

    listed = [r["identifier"] for r in shredder_api.list(page_size=100).json()["results"]]
    listed.remove("slow_test_shredder")  # the test plugin's, not pretix's
    urls = shredder_api.start_export(listed)
    shredder_api.wait_download(urls["download"], timeout=120)
    status_url = shredder_api.start_shred(urls["shred"])
    status, _ = shredder_api.wait_status(status_url, timeout=600)
    assert status.json() == {"status": "ok", "message": "OK"}, describe(status)

    report = shredder_api.client.get(status_url.replace("/status/", "/report/"))
    assert report.status_code == 200, describe(report)
    body = report.json()
    assert body["shred"] == "ok" and body["values_before"] > 10
    assert (body["values_found"], body["locations"]) == (0, [])
    assert shredder_api.client.get(shredder_api.base_url + "residual/").json()["values_found"] == 0
    # pretix really delivered its mails (to the sink, outside pretix): the order confirmation went to the buyer
    assert any(BUYER in m["to"] for m in smtp_sink.messages), [m["to"] for m in smtp_sink.messages]
