"""Personal data put into an event the way organizers and their tools do: through pretix's REST API.

Used by the in-process erasure tests (DRF's APIClient against pretix's URLs). ``VALUES`` are the distinct personal
values put in; the tests search the database for them independently of the residual scan.
"""

import io
from datetime import timedelta
from decimal import Decimal

from django.utils.timezone import now
from pretix.base.models import Question, QuestionAnswer

VALUES = {
    "buyer_email": "ada.lovelace@example.net",
    "buyer_email_new": "ada.king@example.net",
    "buyer_phone": "+4930555012345",
    "buyer_phone_new": "+4930555067890",
    "attendee_name": "Augusta Byron",
    "attendee_name_new": "Augusta Lovelace",
    "attendee_email": "augusta.byron@example.net",
    "attendee_company": "Analytical Engines Ltd",
    "attendee_street": "Ockham Park 12",
    "attendee_city": "Surreyford",
    "ia_name": "Annabella Milbanke",
    "ia_company": "Difference Works plc",
    "ia_street": "Seaham Hall 7",
    "ia_city": "Kirkbyton",
    "ia_vat_id": "GB999999973",
    "ia_name_new": "Annabella Noel",
    "answer": "Needs a quiet room near the engine",
    "order_answer": "Invoice must quote project Babbage Seventeen",
    "comment": "Called us twice about the Jacquard loom",
    "comment_new": "Refund promised by Charles personally",
    "checkin_text": "Bring the punched cards to desk Quokka",
    "api_meta": "crm-contact-Zanzibar-4711",
    "iban": "DE02120300000000202051",
    "bic": "BYLADEM1001",
    "payer": "William King Noel",
    "refund_comment": "Refunded to the account of Ralph Gordon",
    "wl_name": "Mary Somerville",
    "wl_email": "mary.somerville@example.net",
    "wl_phone": "+4915123456789",
    "upload_content": "Scanned letter from Lord Byronsworth",
}


def pdf_with_text(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    return buf.getvalue()


def api(org, event) -> str:
    return f"/api/v1/organizers/{org.slug}/events/{event.slug}/"


def seed_through_api(client, event, item):
    """Put ``VALUES`` into ``event`` through pretix's REST API; returns the order code."""
    org = event.organizer
    base = api(org, event)
    event.settings.invoice_generate = "True"
    event.settings.invoice_address_asked = True
    event.settings.set("payment_banktransfer__enabled", True)
    org.enable_plugin("pretix.plugins.banktransfer")  # an organizer-and-event plugin in 2026.8
    org.save()
    event.enable_plugin("pretix.plugins.banktransfer")
    event.save()
    quota = event.quotas.create(name="All", size=1)  # sold out after the order: a waiting list
    quota.items.add(item)
    q_pos = event.questions.create(question="Needs?", type=Question.TYPE_TEXT, required=False)
    q_pos.items.add(item)
    q_file = event.questions.create(question="Letter", type=Question.TYPE_FILE, required=False)
    q_file.items.add(item)
    q_order = event.questions.create(
        question="Purchase order?", type=Question.TYPE_STRING, container_type=Question.ContainerType.ORDER
    )
    checkin_list = event.checkin_lists.create(name="Entry", all_products=True)

    upload = client.generic(
        "POST",
        "/api/v1/upload",
        pdf_with_text(VALUES["upload_content"]),
        content_type="application/pdf",
        HTTP_CONTENT_DISPOSITION='attachment; filename="letter.pdf"',
    )
    assert upload.status_code == 201, upload.content
    file_id = upload.json()["id"]

    resp = client.post(
        base + "orders/",
        {
            "email": VALUES["buyer_email"],
            "phone": VALUES["buyer_phone"],
            "locale": "en",
            "sales_channel": "web",
            "payment_provider": "banktransfer",
            "send_email": True,
            "comment": VALUES["comment"],
            "api_meta": {"crm": VALUES["api_meta"]},
            "invoice_address": {
                "name_parts": {"full_name": VALUES["ia_name"]},
                "company": VALUES["ia_company"],
                "street": VALUES["ia_street"],
                "zipcode": "HX1 1AA",
                "city": VALUES["ia_city"],
                "country": "GB",
                "vat_id": VALUES["ia_vat_id"],
                "is_business": True,
            },
            "positions": [
                {
                    "item": item.pk,
                    "price": "23.00",
                    "attendee_name_parts": {"full_name": VALUES["attendee_name"]},
                    "attendee_email": VALUES["attendee_email"],
                    "company": VALUES["attendee_company"],
                    "street": VALUES["attendee_street"],
                    "zipcode": "GU23 6",
                    "city": VALUES["attendee_city"],
                    "country": "GB",
                    "answers": [
                        {"question": q_pos.pk, "answer": VALUES["answer"], "options": []},
                        {"question": q_file.pk, "answer": file_id, "options": []},
                    ],
                }
            ],
        },
        format="json",
    )
    assert resp.status_code == 201, resp.content
    code = resp.json()["code"]
    order = event.orders.get(code=code)
    # pretix 2026.8's order API takes no answers to order-level questions: they come from the shop's checkout.
    QuestionAnswer.objects.create(order=order, question=q_order, answer=VALUES["order_answer"])

    # Changes afterwards, as a support desk makes them
    patch = client.patch(
        base + f"orders/{code}/",
        {
            "email": VALUES["buyer_email_new"],
            "phone": VALUES["buyer_phone_new"],
            "comment": VALUES["comment_new"],
            "checkin_text": VALUES["checkin_text"],
            "invoice_address": {
                "name_parts": {"full_name": VALUES["ia_name_new"]},
                "company": VALUES["ia_company"],
                "street": VALUES["ia_street"],
                "zipcode": "HX1 1AA",
                "city": VALUES["ia_city"],
                "country": "GB",
                "vat_id": VALUES["ia_vat_id"],
                "is_business": True,
            },
        },
        format="json",
    )
    assert patch.status_code == 200, patch.content
    position = order.positions.get()
    patch = client.patch(
        base + f"orderpositions/{position.pk}/",
        {"attendee_name_parts": {"full_name": VALUES["attendee_name_new"]}},
        format="json",
    )
    assert patch.status_code == 200, patch.content

    # Paid by bank transfer with the payer's bank details, then partly refunded to the account
    payment = order.payments.get()
    resp = client.post(
        base + f"orders/{code}/payments/{payment.local_id}/confirm/",
        {"force": True},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    payment.refresh_from_db()
    payment.info_data = {
        "reference": f"{code} {VALUES['payer']}",
        "payer": VALUES["payer"],
        "iban": VALUES["iban"],
        "bic": VALUES["bic"],
        "date": "2026-01-05",
    }
    payment.save(update_fields=["info"])
    resp = client.post(
        base + f"orders/{code}/refunds/",
        {
            "state": "done",
            "source": "admin",
            "amount": "1.00",
            "payment": payment.local_id,
            "provider": "banktransfer",
            "comment": VALUES["refund_comment"],
            "info": {"payer": VALUES["payer"], "iban": VALUES["iban"], "bic": VALUES["bic"]},
        },
        format="json",
    )
    assert resp.status_code == 201, resp.content

    # pretix generated an invoice (and its PDF) when the order was placed
    assert order.invoices.filter(file__gt="").count() == 1

    # Waiting list, with a voucher sent
    resp = client.post(
        base + "waitinglistentries/",
        {
            "item": item.pk,
            "email": VALUES["wl_email"],
            "name_parts": {"full_name": VALUES["wl_name"]},
            "phone": VALUES["wl_phone"],
            "locale": "en",
        },
        format="json",
    )
    assert resp.status_code == 201, resp.content
    quota.size = 2  # a ticket became available: the entry gets a voucher
    quota.save()
    resp = client.post(base + f"waitinglistentries/{resp.json()['id']}/send_voucher/", format="json")
    assert resp.status_code == 204, resp.content

    # A check-in at the door
    resp = client.post(
        f"/api/v1/organizers/{org.slug}/checkinrpc/redeem/",
        {"secret": position.secret, "lists": [checkin_list.pk], "force": True},
        format="json",
    )
    assert resp.status_code == 201, resp.content

    # The event is over and the shop offline: time to shred
    event.date_from = now() - timedelta(days=3)
    event.live = False
    event.save()
    assert order.total == Decimal("23.00")
    return code
