"""An organizer holding one person's data in every place pretix keeps it, next to other people's data.

``PERSON`` is the address as the person writes it (mixed case). Their values are in ``VALUES``; ``OTHERS`` are
values of other people that must survive an erasure of the person.
"""

import json
from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils.timezone import now
from pretix.base.models import (
    Customer,
    InvoiceAddress,
    Order,
    OrderPosition,
    OutgoingMail,
    Question,
    QuestionAnswer,
)
from pretix.base.models.customers import CustomerSSOProvider
from pretix.base.services.invoices import generate_invoice

from .conftest import make_event

PERSON = "Ada.Lovelace@Example.NET"
EMAIL = "ada.lovelace@example.net"
VALUES = {
    "email": EMAIL,
    "phone": "+4930555012345",
    "name": "Augusta Ada King",
    "attendee_name": "Ada Byron Attendee",
    "ia_name": "Annabella Milbanke Lovelace",
    "ia_street": "Seaham Hall 7",
    "answer": "Needs a quiet room near the engine",
    "order_answer": "Purchase order Babbage Seventeen",
    "wl_name": "Ada Waiting Byron",
    "wl_phone": "+4915123456789",
    "customer_name": "Ada Account Holder",
    "external_id": "sso-subject-ada-4711",
    "upload": "letter-from-ada.txt",
    "payer": "Lady Augusta Payer",
    "iban": "DE02120300000000202051",
}
OTHERS = {
    "charles_email": "charles.babbage@example.net",
    "charles_name": "Charles Babbage",
    "mary_email": "mary.somerville@example.net",
    "mary_name": "Mary Somerville",
    "lookalike": "adaxlovelace@example.net",
}


def _order(event, code, email, status=Order.STATUS_PAID, phone=None, **kwargs):
    return Order.objects.create(
        code=code,
        event=event,
        email=email,
        phone=phone,
        status=status,
        datetime=now() - timedelta(days=40),
        expires=now() - timedelta(days=35),
        total=Decimal("23.00"),
        locale="en",
        sales_channel=event.organizer.sales_channels.get(identifier="web"),
        **kwargs,
    )


def _position(order, item, positionid, name, email=None):
    return OrderPosition.objects.create(
        order=order,
        item=item,
        price=Decimal("23.00"),
        attendee_name_parts={"full_name": name},
        attendee_email=email,
        positionid=positionid,
    )


def other_orders(event, item, n, start=0):
    """``n`` orders of other people (the query count must not depend on them)."""
    for i in range(start, start + n):
        o = _order(event, f"OTH{i:05d}", f"someone{i}@example.org")
        _position(o, item, 1, f"Someone Else {i}", f"guest{i}@example.org")


def seed(organizer):
    """Returns a dict of the objects the tests look at."""
    past = make_event(organizer, slug="past", name="Past Conference")
    future = make_event(organizer, slug="future", name="Future Conference", date_from=now() + timedelta(days=30))
    for e in (past, future):
        e.settings.invoice_generate = "True"
    item = past.items.create(name="Ticket", default_price=Decimal("23.00"))
    item_f = future.items.create(name="Ticket", default_price=Decimal("23.00"))
    q_text = past.questions.create(question="Needs?", type=Question.TYPE_TEXT, required=False, identifier="NEEDS")
    q_file = past.questions.create(question="Letter", type=Question.TYPE_FILE, required=False, identifier="LETTER")
    q_order = past.questions.create(
        question="PO?", type=Question.TYPE_STRING, identifier="PO", container_type=Question.ContainerType.ORDER
    )

    provider = CustomerSSOProvider.objects.create(
        organizer=organizer, name="Company login", method="oidc", configuration={}
    )
    customer = Customer.objects.create(
        organizer=organizer,
        email=EMAIL,
        name_parts={"_legacy": VALUES["customer_name"]},
        provider=provider,
        external_identifier=VALUES["external_id"],
    )

    # The person's order in a past event, shared with Charles (his own address on his ticket)
    a1 = _order(
        past,
        "ADA01",
        PERSON,
        phone=VALUES["phone"],
        customer=customer,
        comment="Called about the engine",
        meta_info=json.dumps({"contact_form_data": {"email": PERSON, "email_repeat": PERSON}}),
    )
    InvoiceAddress.objects.create(
        order=a1, name_parts={"full_name": VALUES["ia_name"]}, street=VALUES["ia_street"], city="Seaham"
    )
    own = _position(a1, item, 1, VALUES["name"])
    charles = _position(a1, item, 2, OTHERS["charles_name"], OTHERS["charles_email"])
    QuestionAnswer.objects.create(orderposition=own, question=q_text, answer=VALUES["answer"])
    upload = QuestionAnswer.objects.create(orderposition=own, question=q_file, answer="file://letter")
    upload.file.save(VALUES["upload"], ContentFile(b"Dear organizer, " + VALUES["answer"].encode()), save=True)
    QuestionAnswer.objects.create(orderposition=charles, question=q_text, answer="Charles needs coffee")
    QuestionAnswer.objects.create(order=a1, question=q_order, answer=VALUES["order_answer"])
    invoice = generate_invoice(a1, trigger_pdf=False)
    from django.apps import apps

    job = apps.get_model("banktransfer", "BankImportJob").objects.create(organizer=organizer)
    apps.get_model("banktransfer", "BankTransaction").objects.create(
        import_job=job, event=past, order=a1, payer=VALUES["payer"], iban=VALUES["iban"], reference="ADA01",
        amount=Decimal("23.00"), date="2026-01-05", checksum="ada", state="valid",
    )  # fmt: skip
    a1.log_action("pretix.event.order.placed", data={"email": PERSON})
    OutgoingMail.objects.create(
        organizer=organizer, event=past, order=a1, subject="Your order ADA01", body_plain="Hello",
        sender="shop@example.org", to=[PERSON], recipient_count=1,
    )  # fmt: skip

    # The person is the attendee on Mary's order
    b1 = _order(past, "MARY1", OTHERS["mary_email"])
    on_mary = _position(b1, item, 1, VALUES["attendee_name"], EMAIL.upper())
    QuestionAnswer.objects.create(orderposition=on_mary, question=q_text, answer="Ada as a guest")
    _position(b1, item, 2, OTHERS["mary_name"])  # Mary's own ticket (no address of its own: the buyer's)

    # An order whose address was the person's once (its log keeps the old value); it is someone else's now
    c1 = _order(past, "MOVED", "ada.king@elsewhere.example")
    _position(c1, item, 1, "Countess Someone")
    c1.log_action("pretix.event.order.email.changed", data={"old_email": PERSON, "new_email": c1.email})

    # A look-alike address: `_` and `x` are not wildcards
    d1 = _order(past, "LOOK1", OTHERS["lookalike"])
    _position(d1, item, 1, "Look Alike")

    # A valid ticket of an event not over yet: blocked
    f1 = _order(future, "FUT01", EMAIL)
    _position(f1, item_f, 1, VALUES["name"])

    # Waiting list with the voucher mailed to them
    wle = past.waitinglistentries.create(
        item=item, email=PERSON, name_parts={"full_name": VALUES["wl_name"]}, phone=VALUES["wl_phone"]
    )
    voucher = past.vouchers.create(item=item, comment=f"Waiting list: {EMAIL}", max_usages=1)
    wle.voucher = voucher
    wle.save()
    past.waitinglistentries.create(item=item, email=OTHERS["mary_email"], name_parts={"full_name": "Mary W"})

    # Another customer, and other people's orders
    Customer.objects.create(organizer=organizer, email=OTHERS["mary_email"], name_parts={"_legacy": "Mary C"})
    other_orders(past, item, 3)
    past.date_from = now() - timedelta(days=3)
    past.live = False
    past.save()
    return {
        "past": past, "future": future, "item": item, "customer": customer, "a1": a1, "b1": b1, "c1": c1,
        "d1": d1, "f1": f1, "own": own, "charles": charles, "on_mary": on_mary, "invoice": invoice, "wle": wle,
        "voucher": voucher, "upload": upload,
    }  # fmt: skip
