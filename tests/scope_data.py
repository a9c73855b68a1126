"""A live event series with personal data on past and coming dates, put in through pretix's REST API, and a dump of
every row of a set of orders (to prove a scope shred changed nothing outside its scope)."""

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.utils.timezone import now
from pretix.base.models import LogEntry, Order, Question, QuestionAnswer

from pretix_shredder_api import residual


def values_for(tag: str) -> dict:
    """Distinct personal values of one order (``tag`` makes them unique)."""
    return {
        "email": f"buyer.{tag}@example.net",
        "email_new": f"changed.{tag}@example.net",
        "phone": "+49305550" + str(abs(hash(tag)) % 10**6).zfill(6),
        "comment": f"Called about seat Quokka{tag}",
        "attendee": f"Augusta Byron{tag}",
        "attendee_email": f"attendee.{tag}@example.net",
        "street": f"Ockham Park {tag}",
        "ia_name": f"Annabella Milbanke{tag}",
        "ia_city": f"Kirkbyton{tag}",
        "answer": f"Needs a quiet room {tag}",
        "order_answer": f"Purchase order Babbage{tag}",
        "payer": f"William King{tag}",
    }


def setup_series(event, item):
    """The shop settings the orders need: invoices, bank transfer, a position and an order question."""
    org = event.organizer
    event.settings.invoice_generate = "True"
    event.settings.invoice_address_asked = True
    event.settings.set("payment_banktransfer__enabled", True)
    org.enable_plugin("pretix.plugins.banktransfer")
    org.save()
    event.enable_plugin("pretix.plugins.banktransfer")
    event.save()
    q_pos = event.questions.create(question="Needs?", type=Question.TYPE_TEXT, required=False)
    q_pos.items.add(item)
    q_order = event.questions.create(
        question="Purchase order?", type=Question.TYPE_STRING, container_type=Question.ContainerType.ORDER
    )
    return q_pos, q_order


def add_subevent(event, item, name, days_from_now):
    se = event.subevents.create(
        name=name, date_from=now() + timedelta(days=days_from_now), active=True, presale_start=None
    )
    quota = event.quotas.create(name=f"{name} quota", size=100, subevent=se)
    quota.items.add(item)
    return se


def place_order(client, event, item, subevents, tag, questions):
    """An order with positions on ``subevents`` (or none) with the values of ``tag``; changed once afterwards, paid by
    bank transfer with the payer's details. Returns the order code."""
    q_pos, q_order = questions
    v = values_for(tag)
    base = f"/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/"
    positions = [
        {
            "item": item.pk,
            "price": "23.00",
            "subevent": se.pk if se is not None else None,
            "attendee_name_parts": {"full_name": v["attendee"]},
            "attendee_email": v["attendee_email"],
            "street": v["street"],
            "answers": [{"question": q_pos.pk, "answer": v["answer"], "options": []}],
        }
        for se in subevents
    ]
    for p in positions:
        if p["subevent"] is None:
            del p["subevent"]
    resp = client.post(
        base + "orders/",
        {
            "email": v["email"],
            "phone": v["phone"],
            "locale": "en",
            "sales_channel": "web",
            "payment_provider": "banktransfer",
            "send_email": True,
            "comment": v["comment"],
            "invoice_address": {
                "name_parts": {"full_name": v["ia_name"]},
                "street": "Seaham Hall 7",
                "zipcode": "HX1 1AA",
                "city": v["ia_city"],
                "country": "GB",
            },
            "positions": positions,
        },
        format="json",
    )
    assert resp.status_code == 201, resp.content
    code = resp.json()["code"]
    order = event.orders.get(code=code)
    QuestionAnswer.objects.create(order=order, question=q_order, answer=v["order_answer"])
    resp = client.patch(base + f"orders/{code}/", {"email": v["email_new"]}, format="json")
    assert resp.status_code == 200, resp.content
    payment = order.payments.get()
    resp = client.post(base + f"orders/{code}/payments/{payment.local_id}/confirm/", {"force": True}, format="json")
    assert resp.status_code == 200, resp.content
    payment.refresh_from_db()
    payment.info_data = {"payer": v["payer"], "iban": "DE02120300000000202051", "reference": code}
    payment.save(update_fields=["info"])
    return code


def end_subevent(se, days_ago):
    se.date_from = now() - timedelta(days=days_ago, hours=2)
    se.date_to = now() - timedelta(days=days_ago)
    se.save()


def dump_orders(event, codes) -> dict:
    """Every row of these orders in every table that reaches an order, their log entries and their mails."""
    ids = list(Order.objects.filter(event=event, code__in=codes).values_list("pk", flat=True))
    out = {}
    for model, _paths, _cols in residual.scope_tables():
        if model is Order:
            qs = Order.objects.filter(pk__in=ids)
        else:
            from django.db.models import Q

            q = Q()
            for path in residual.order_paths(model):
                q |= Q(**{f"{path}__in": ids})
            qs = model._base_manager.filter(q)
        out[model._meta.label] = [repr(sorted(r.items())) for r in qs.order_by("pk").values()]
    ct = ContentType.objects.get_for_model(Order)
    logs = LogEntry.objects.filter(content_type=ct, object_id__in=ids).order_by("pk")
    out["logs"] = [repr(sorted(r.items())) for r in logs.values()]
    return out
