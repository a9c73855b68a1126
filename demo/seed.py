"""Fast, re-runnable demo data for pretix-shredder-api: a finished, offline event full of personal data.

Use it from Python (Django set up, e.g. in tests or benchmarks)::

    from demo.seed import seed_event
    info = seed_event("demo", "shredder-demo", orders=20_000)   # -> {"organizer", "event", "token", ...}

or from the shell (prints the same dict as JSON on stdout)::

    PRETIX_CONFIG_FILE=.demo/pretix.cfg python demo/seed.py --organizer demo --event shredder-demo --orders 300

What it creates: the organizer (reused if it exists), an event that ended 30 days ago and is offline (so pretix's
``shred_constraints`` allow shredding), two items with a 19 % tax rule, a text and a choice question, ``orders``
orders (one to three tickets each) with e-mails, attendee names and e-mails, question answers, payments with payer
data, invoice addresses, log entries dated like their orders (order placed, order e-mail sent) and
``with_invoices`` real pretix invoices (``pretix.base.services.invoices.generate_invoice``, with PDF).
It also creates the team "Shredder demo" (all events, all event permissions) with an API token, both reused later.

Re-running: the event is **recreated** (``if_exists="recreate"``, the default): the old one and everything in it
are deleted first, so each run starts from unshredded data. Only events this seeder made are ever deleted (they
carry a marker setting); any other event with the same slug makes it stop with ``SeedError``. ``if_exists="reuse"``
returns the existing seeded event untouched; ``if_exists="error"`` refuses.

Speed: orders, positions, answers, payments, transactions and log entries are written with ``bulk_create`` in one
database transaction, so model ``save()`` hooks do not run; the seeder fills in what they would (order codes,
ticket secrets, pseudonymization ids, cached attendee names, totals, ``Transaction`` rows). 20,000 orders (29,500
tickets, 44,000 answers) take about 25 s on SQLite or PostgreSQL; deleting them again 3 s (SQLite) to 10 s (PostgreSQL).
"""

import argparse
import base64
import json
import os
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal

SEED_MARKER = "pretix_shredder_api_demo_seed"  # event setting set on every event this module creates
TEAM_NAME = "Shredder demo"
TOKEN_NAME = "pretix-shredder CLI (demo)"
BATCH_SIZE = 2000
DEFAULT_PLUGINS = "pretix.plugins.banktransfer,pretix.plugins.ticketoutputpdf,pretix.plugins.sendmail"
PLUGIN_MODULE = "pretix_shredder_api"

ORDER_CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ379"  # the alphabet of pretix's Order.assign_code
PSEUDONYM_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ3789"  # ... and of OrderPosition.assign_pseudonymization_id
GIVEN_NAMES = (
    "Anna Ben Clara David Emma Felix Greta Hannah Ivan Julia Karl Lena Mia Noah Olga Paul Quinn Rosa Sam Tara "
    "Umar Vera Wim Xenia Yusuf Zoe"
).split()
FAMILY_NAMES = (
    "Schmidt Müller Meyer Weber Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf Neumann Schwarz Braun "
    "Zimmermann Krüger Hartmann Lange Werner Krause Lehmann Köhler Maier Fuchs Peters"
).split()
DIETS = ("vegetarian", "vegan", "no nuts, please", "gluten-free", "lactose intolerant", "halal", "kosher")
SHIRT_SIZES = ("S", "M", "L", "XL")
CITIES = (("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"), ("69117", "Heidelberg"))


class SeedError(Exception):
    """The seeder refuses to touch data it did not create, or the arguments make no sense."""


def seed_event(
    organizer_slug="demo",
    event_slug="shredder-demo",
    orders=300,
    with_invoices=2,
    invoice_pdfs=True,
    log_entries=True,
    if_exists="recreate",
    member_emails=(),
    random_seed=None,
):
    """Create (or recreate) a finished, offline event with ``orders`` orders; return slugs, token and counts.

    ``with_invoices``: how many orders get a real pretix invoice (``generate_invoice``); ``invoice_pdfs`` renders
    their PDFs right away (else pretix's invoice shredder renders them during the export). ``member_emails``:
    existing users to add to the team, e.g. ``("admin@localhost",)`` to see the event in the control panel.
    ``random_seed`` makes names and answers repeatable (order codes and secrets are always random).
    """
    from django.db import transaction
    from django_scopes import scopes_disabled

    _check_args(orders, with_invoices, if_exists)
    started = time.monotonic()
    with scopes_disabled():
        organizer = _get_or_create_organizer(organizer_slug)
        token = _ensure_team_and_token(organizer, member_emails)
        event = organizer.events.filter(slug__iexact=event_slug).first()
        if event is not None and if_exists == "reuse" and _is_seeded(event):
            return _summary(event, token, started, reused=True)
        if event is not None:
            _remove_existing_event(event, if_exists)
        with transaction.atomic():
            event = _create_event(organizer, event_slug)
            _fill_event(event, orders, with_invoices, log_entries, random.Random(random_seed))
        if invoice_pdfs:
            _render_invoice_pdfs(event)
        return _summary(event, token, started, reused=False)


def _check_args(orders, with_invoices, if_exists):
    if if_exists not in ("recreate", "reuse", "error"):
        raise SeedError(f"if_exists must be 'recreate', 'reuse' or 'error', not {if_exists!r}")
    if orders < 0 or with_invoices < 0:
        raise SeedError("orders and with_invoices must not be negative")
    if with_invoices > orders:
        raise SeedError(f"cannot make {with_invoices} invoices from {orders} orders")


# --- organizer, team, token -------------------------------------------------------------------------------------


def _get_or_create_organizer(slug):
    from pretix.base.models import Organizer

    organizer = Organizer.objects.filter(slug__iexact=slug).first()
    if organizer is None:
        organizer = Organizer.objects.create(slug=slug, name=f"{slug.title()} (demo organizer)")
    return organizer


def _ensure_team_and_token(organizer, member_emails):
    """The demo team (all events, all event permissions) and its active API token, created once, then reused."""
    from pretix.base.models import User

    team = organizer.teams.filter(name=TEAM_NAME).first()
    if team is None:
        team = organizer.teams.create(name=TEAM_NAME, all_events=True, all_event_permissions=True)
    if not team.all_organizer_permissions:  # the organizer's Data retention page needs its settings permission
        team.all_organizer_permissions = True
        team.save(update_fields=["all_organizer_permissions"])
    for user in User.objects.filter(email__in=list(member_emails)):
        team.members.add(user)
    token = team.tokens.filter(name=TOKEN_NAME, active=True).first() or team.tokens.create(name=TOKEN_NAME)
    return token


# --- the event --------------------------------------------------------------------------------------------------


def _is_seeded(event):
    return event.settings.get(SEED_MARKER, as_type=bool, default=False)


def _remove_existing_event(event, if_exists):
    if not _is_seeded(event):
        raise SeedError(
            f"Event {event.organizer.slug}/{event.slug} exists and was not created by this seeder; "
            "refusing to delete it. Pick another event slug."
        )
    if if_exists == "error":
        raise SeedError(f"Event {event.organizer.slug}/{event.slug} exists already (if_exists='error').")
    delete_seeded_event(event)


def delete_seeded_event(event):
    """Delete an event made by this seeder with all its orders (pretix itself never deletes events with orders)."""
    from django.db import transaction
    from pretix.base.models import (
        Invoice,
        InvoiceAddress,
        LogEntry,
        Order,
        OrderFee,
        OrderPayment,
        OrderPosition,
        OrderRefund,
        QuestionAnswer,
        Transaction,
    )

    if not _is_seeded(event):
        raise SeedError(f"Event {event.organizer.slug}/{event.slug} was not created by this seeder.")
    answers = QuestionAnswer.objects.filter(orderposition__order__event=event)
    with transaction.atomic():
        _delete_files(Invoice.objects.filter(event=event), answers)
        _purge(LogEntry.all.filter(event=event))
        _purge(Invoice.objects.filter(event=event))
        _purge(QuestionAnswer.options.through.objects.filter(questionanswer__in=answers))
        _purge(answers, ignore_signals=True)  # pretix's receiver only deletes answer files: done above
        for model in (Transaction, OrderRefund, OrderPayment, InvoiceAddress):
            _purge(model.objects.filter(order__event=event))
        _purge(OrderFee.all.filter(order__event=event))
        _purge(OrderPosition.all.filter(order__event=event, addon_to__isnull=False))
        _purge(OrderPosition.all.filter(order__event=event))
        _purge(Order.objects.filter(event=event))
        event.delete_sub_objects()
        event.delete()


def _delete_files(*querysets):
    for queryset in querysets:
        for obj in queryset.exclude(file="").exclude(file__isnull=True):
            obj.file.delete(save=False)


def _purge(queryset, ignore_signals=False):
    """``queryset.delete()``, but as one plain DELETE when no other rows refer to these (and, unless
    ``ignore_signals``, no delete signal listens). Django's cascade collector loads every row first: 10+ seconds
    for 20,000 orders, against well under one this way."""
    from django.db.models import signals
    from django.db.models.deletion import get_candidate_relations_to_delete

    model = queryset.model
    listened = any(s.has_listeners(model) for s in (signals.pre_delete, signals.post_delete))
    referred = any(
        rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": queryset.values("pk")}).exists()
        for rel in get_candidate_relations_to_delete(model._meta)
    )
    if referred or (listened and not ignore_signals):
        return queryset.delete()[0]
    return queryset._raw_delete(queryset.db)


def _create_event(organizer, slug):
    from django.conf import settings
    from django.utils.timezone import now
    from pretix.base.models import Event

    begin = (now() - timedelta(days=30)).replace(hour=9, minute=0, second=0, microsecond=0)
    event = Event.objects.create(
        organizer=organizer,
        slug=slug,
        name=f"Shredder demo conference ({slug})",
        currency="EUR",
        date_from=begin,
        date_to=begin + timedelta(days=1, hours=9),
        presale_start=begin - timedelta(days=120),
        presale_end=begin - timedelta(days=1),
        location="Kongresshalle, Berlin",
        live=False,
        plugins=DEFAULT_PLUGINS,
    )
    if PLUGIN_MODULE in settings.INSTALLED_APPS:  # not when a benchmark runs pretix without it
        if PLUGIN_MODULE not in organizer.get_plugins():  # an event-and-organizer plugin: on for both
            organizer.enable_plugin(PLUGIN_MODULE)
            organizer.save(update_fields=["plugins"])
        event.enable_plugin(PLUGIN_MODULE)  # its "installed" hook runs, as in the control panel
        event.save(update_fields=["plugins"])
    event.set_defaults()
    for key, value in _event_settings().items():
        event.settings.set(key, value)
    return event


def _event_settings():
    return {
        SEED_MARKER: True,
        "attendee_names_asked": True,
        "attendee_emails_asked": True,
        "invoice_address_asked": True,
        "invoice_generate": "admin",
        "invoice_address_from_name": "Demo Events GmbH",
        "invoice_address_from": "Musterstraße 1",
        "invoice_address_from_zipcode": "10115",
        "invoice_address_from_city": "Berlin",
        "invoice_address_from_country": "DE",
        "invoice_address_from_vat_id": "DE123456789",
        "locales": ["en", "de"],
    }


def _create_catalog(event):
    """Tax rule, items, quota and questions; returns what the order builder needs."""
    rule = event.tax_rules.create(internal_name="VAT", name="VAT", rate=Decimal("19.00"), price_includes_tax=True)
    items = [
        event.items.create(name="Conference ticket", default_price=Decimal("149.00"), admission=True, tax_rule=rule),
        event.items.create(name="Workshop day", default_price=Decimal("89.00"), admission=True, tax_rule=rule),
    ]
    quota = event.quotas.create(name="Venue capacity", size=None)
    quota.items.set(items)
    diet = event.questions.create(question="Dietary requirements", type="T", identifier="DIET", required=False)
    shirt = event.questions.create(question="T-shirt size", type="C", identifier="SHIRT", required=False)
    diet.items.set(items)
    shirt.items.set(items)
    options = [shirt.options.create(answer=size, identifier=f"SHIRT-{size}") for size in SHIRT_SIZES]
    taxes = {item.pk: rule.tax(item.default_price, base_price_is="gross") for item in items}
    return {"rule": rule, "items": items, "taxes": taxes, "diet": diet, "shirt": shirt, "options": options}


# --- orders and everything hanging off them ---------------------------------------------------------------------


def _fill_event(event, n_orders, with_invoices, log_entries, rnd):
    catalog = _create_catalog(event)
    plan = _plan_orders(n_orders, catalog, rnd)
    orders = _bulk_orders(event, plan, rnd)
    positions = _bulk_positions(orders, plan, catalog, rnd)
    _bulk_answers(positions, catalog, rnd)
    _bulk_transactions(positions)
    _bulk_payments(orders, rnd)
    invoiced = orders[:with_invoices]
    _bulk_invoice_addresses([o for i, o in enumerate(orders) if i < with_invoices or i % 10 == 0], rnd)
    if log_entries:
        _bulk_log_entries(event, orders)
    _generate_invoices(invoiced)


def _plan_orders(n, catalog, rnd):
    """Per order: buyer name and the items of its positions (one to three)."""
    items = catalog["items"]
    plan = []
    for i in range(n):
        extra = (i % 3 == 0) + (i % 7 == 0)
        chosen = [items[0]] + [items[rnd.randrange(len(items))] for _ in range(extra)]
        plan.append({"name": (rnd.choice(GIVEN_NAMES), rnd.choice(FAMILY_NAMES)), "items": chosen})
    return plan


def _bulk_orders(event, plan, rnd):
    from pretix.base.models import Order

    channel = event.organizer.sales_channels.get(identifier="web")
    codes = _unique_order_codes(event.organizer, len(plan))
    span = (event.presale_end - event.presale_start).total_seconds()
    orders = []
    for i, (code, entry) in enumerate(zip(codes, plan, strict=True)):
        email = _email(*entry["name"], i)
        placed = event.presale_start + timedelta(seconds=int(span * i / len(plan)))
        order = Order(
            code=code,
            event=event,
            organizer=event.organizer,
            status=Order.STATUS_PENDING if i % 20 == 19 else Order.STATUS_PAID,
            email=email,
            phone=f"+4930{rnd.randrange(1000000, 9999999)}" if i % 4 == 0 else None,
            locale="en",
            datetime=placed,
            expires=placed + timedelta(days=14),
            total=sum((item.default_price for item in entry["items"]), Decimal("0.00")),
            sales_channel=channel,
            meta_info=json.dumps({"contact_form_data": {"email": email}}),
            secret=_random_secret(16),
            internal_secret=_random_secret(16),
        )
        order._seed_name = entry["name"]
        orders.append(order)
    Order.objects.bulk_create(orders, batch_size=BATCH_SIZE)
    return orders


def _unique_order_codes(organizer, n):
    from django.conf import settings
    from pretix.base.models import Order

    length = settings.ENTROPY["order_code"]
    taken = set(Order.objects.filter(organizer=organizer).values_list("code", flat=True))
    return _unique_strings(n, ORDER_CODE_CHARS, length, taken)


def _unique_strings(n, chars, length, taken=()):
    """``n`` distinct random strings over ``chars`` not in ``taken``, from os.urandom (the modulo bias is harmless)."""
    values, taken = [], set(taken)
    while len(values) < n:
        value = "".join(chars[byte % len(chars)] for byte in os.urandom(length))
        if value not in taken:
            taken.add(value)
            values.append(value)
    return values


def _random_secret(length):
    """A random ``[a-z2-7]`` string like pretix's secrets; ``length`` a multiple of 8 (base32 of urandom, fast)."""
    return base64.b32encode(os.urandom(length * 5 // 8)).decode().lower()


def _email(given, family, i):
    return f"{given}.{family}.{i}@example.org".lower().replace("ü", "ue").replace("ö", "oe")


def _bulk_positions(orders, plan, catalog, rnd):
    from pretix.base.models import OrderPosition

    pseudonyms = _unique_strings(sum(len(entry["items"]) for entry in plan), PSEUDONYM_CHARS, 10)
    positions = []
    for order, entry in zip(orders, plan, strict=True):
        for positionid, item in enumerate(entry["items"], start=1):
            positions.append(_position(order, positionid, item, catalog, pseudonyms.pop(), rnd))
    OrderPosition.all.bulk_create(positions, batch_size=BATCH_SIZE)
    return positions


def _position(order, positionid, item, catalog, pseudonym, rnd):
    from pretix.base.models import OrderPosition

    taxed = catalog["taxes"][item.pk]
    given, family = order._seed_name if positionid == 1 else (rnd.choice(GIVEN_NAMES), rnd.choice(FAMILY_NAMES))
    zipcode, city = rnd.choice(CITIES) if positionid == 1 else (None, None)
    return OrderPosition(
        order=order,
        organizer_id=order.organizer_id,
        positionid=positionid,
        item=item,
        price=item.default_price,
        tax_rate=taxed.rate,
        tax_rule=catalog["rule"],
        tax_value=taxed.tax,
        tax_code=taxed.code,
        attendee_name_parts={"_scheme": "given_family", "given_name": given, "family_name": family},
        attendee_name_cached=f"{given} {family}",
        attendee_email=_email(given, family, order.pk * 10 + positionid),
        company="ACME Research" if order.pk % 5 == 0 else None,
        zipcode=zipcode,
        city=city,
        secret=_random_secret(32),
        web_secret=_random_secret(32),
        pseudonymization_id=pseudonym,
    )


def _bulk_answers(positions, catalog, rnd):
    from pretix.base.models import QuestionAnswer

    answers, chosen = [], []
    for i, position in enumerate(positions):
        option = catalog["options"][rnd.randrange(len(catalog["options"]))]
        answers.append(QuestionAnswer(orderposition=position, question=catalog["shirt"], answer=option.answer))
        chosen.append(option)
        if i % 2 == 0:
            answers.append(QuestionAnswer(orderposition=position, question=catalog["diet"], answer=rnd.choice(DIETS)))
            chosen.append(None)
    QuestionAnswer.objects.bulk_create(answers, batch_size=BATCH_SIZE)
    through = QuestionAnswer.options.through
    links = [
        through(questionanswer_id=answer.pk, questionoption_id=option.pk)
        for answer, option in zip(answers, chosen, strict=True)
        if option is not None
    ]
    through.objects.bulk_create(links, batch_size=BATCH_SIZE)


def _bulk_transactions(positions):
    """What ``Order.create_transactions()`` would write for new paid or pending orders."""
    from pretix.base.models import Transaction

    Transaction.objects.bulk_create(
        [
            Transaction(
                order=p.order,
                datetime=p.order.datetime,
                positionid=p.positionid,
                count=1,
                item=p.item,
                price=p.price,
                tax_rate=p.tax_rate,
                tax_rule=p.tax_rule,
                tax_value=p.tax_value,
                tax_code=p.tax_code,
            )
            for p in positions
        ],
        batch_size=BATCH_SIZE,
    )


def _bulk_payments(orders, rnd):
    from pretix.base.models import Order, OrderPayment

    payments = []
    for order in orders:
        if order.status != Order.STATUS_PAID:
            continue
        given, family = order._seed_name
        info = {"reference": order.code, "payer": f"{given} {family}", "iban": f"DE{rnd.randrange(10**19, 10**20)}"}
        payments.append(
            OrderPayment(
                order=order,
                local_id=1,
                state=OrderPayment.PAYMENT_STATE_CONFIRMED,
                amount=order.total,
                provider="banktransfer",
                payment_date=order.datetime + timedelta(days=2),
                info=json.dumps(info),
            )
        )
    OrderPayment.objects.bulk_create(payments, batch_size=BATCH_SIZE)


def _bulk_invoice_addresses(orders, rnd):
    from pretix.base.models import InvoiceAddress

    addresses = []
    for order in orders:
        given, family = order._seed_name
        zipcode, city = rnd.choice(CITIES)
        addresses.append(
            InvoiceAddress(
                order=order,
                name_parts={"_scheme": "given_family", "given_name": given, "family_name": family},
                name_cached=f"{given} {family}",
                company="ACME Research GmbH" if order.pk % 2 else "",
                is_business=bool(order.pk % 2),
                street=f"Beispielweg {rnd.randrange(1, 200)}",
                zipcode=zipcode,
                city=city,
                country="DE",
            )
        )
    InvoiceAddress.objects.bulk_create(addresses, batch_size=BATCH_SIZE)


def _bulk_log_entries(event, orders):
    """Two log entries per order, as a real checkout writes: placed, and the confirmation e-mail."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import OuterRef, Subquery
    from pretix.base.models import LogEntry, Order

    content_type = ContentType.objects.get_for_model(Order)
    entries = []
    for order in orders:
        common = {"content_type": content_type, "object_id": order.pk, "event": event, "organizer": event.organizer}
        entries.append(LogEntry(action_type="pretix.event.order.placed", data="{}", **common))
        mail = {"recipient": order.email, "subject": f"Your order: {order.code}", "message": "Hello, thank you!"}
        entries.append(LogEntry(action_type="pretix.event.order.email.order_placed", data=json.dumps(mail), **common))
    LogEntry.all.bulk_create(entries, batch_size=BATCH_SIZE)
    # LogEntry.datetime is auto_now_add, which bulk_create fills with "now": date them like their orders instead
    placed = Order.objects.filter(pk=OuterRef("object_id")).values("datetime")[:1]
    LogEntry.all.filter(event=event, content_type=content_type).update(datetime=Subquery(placed))


def _generate_invoices(orders):
    from pretix.base.services.invoices import generate_invoice

    for order in orders:
        generate_invoice(order, trigger_pdf=False)


def _render_invoice_pdfs(event):
    """Outside the seeding transaction: pretix's PDF task is transaction-aware and renders on commit."""
    from pretix.base.services.invoices import invoice_pdf_task

    for invoice in event.invoices.filter(file=""):
        invoice_pdf_task.apply(args=(invoice.pk,))


# --- result -----------------------------------------------------------------------------------------------------


def _summary(event, token, started, reused):
    from pretix.base.models import OrderPosition, QuestionAnswer

    orders = event.orders.all()
    return {
        "organizer": event.organizer.slug,
        "event": event.slug,
        "token": token.token,
        "team": token.team.name,
        "reused": reused,
        "orders": orders.count(),
        "orders_with_email": orders.exclude(email__isnull=True).exclude(email="").count(),
        "positions": OrderPosition.all.filter(order__event=event).count(),
        "answers": QuestionAnswer.objects.filter(orderposition__order__event=event).count(),
        "invoices": event.invoices.count(),
        "seconds": round(time.monotonic() - started, 2),
    }


# --- command line -----------------------------------------------------------------------------------------------


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Seed a finished, offline pretix event with personal data to shred. Prints JSON.",
        epilog="Needs PRETIX_CONFIG_FILE (or --config) pointing at the instance's pretix.cfg.",
    )
    parser.add_argument("--config", help="pretix.cfg to use (sets PRETIX_CONFIG_FILE)")
    parser.add_argument("--organizer", default="demo", help="organizer slug (created if missing; default: demo)")
    parser.add_argument("--event", default="shredder-demo", help="event slug (default: shredder-demo)")
    parser.add_argument("--orders", type=int, default=300, help="number of orders (default: 300)")
    parser.add_argument("--invoices", type=int, default=2, help="orders that get a real invoice (default: 2)")
    parser.add_argument("--no-invoice-pdfs", action="store_true", help="do not render invoice PDFs now")
    parser.add_argument("--no-log-entries", action="store_true", help="do not write order log entries")
    parser.add_argument("--if-exists", choices=("recreate", "reuse", "error"), default="recreate")
    parser.add_argument("--member", action="append", default=[], help="e-mail of a user to add to the team")
    parser.add_argument(
        "--members-keep-password",
        action="store_true",
        help="the --member users may log in without changing their password first (the demo's admin / admin)",
    )
    parser.add_argument("--random-seed", type=int, default=None, help="repeatable names and answers")
    parser.add_argument(
        "--retention-policy",
        action="store_true",
        help="give the event its own retention policy, set by the first --member (the next periodic run schedules it)",
    )
    return parser.parse_args(argv)


RETENTION_POLICY = {
    "enabled": True,
    "shredders": ["order_emails", "attendee_info", "question_answers"],
    "days_after_event": 14,
    "notice_days": 7,
}


def set_retention_policy(organizer_slug, event_slug, member_emails=()):
    """The event's own retention policy (``RETENTION_POLICY``), logged as set by the first member, so the demo shows
    a scheduled shred with its attribution: the event ended 30 days ago, so the next periodic run schedules it,
    exports the data and mails the notice; the shred is due a notice period later."""
    from django_scopes import scopes_disabled
    from pretix.base.models import User

    from pretix_shredder_api import retention

    with scopes_disabled():
        event = _seeded_event(organizer_slug, event_slug)
        user = User.objects.filter(email__in=list(member_emails)).first()
        retention.update_policy(event, RETENTION_POLICY, user=user)
    return RETENTION_POLICY


def _seeded_event(organizer_slug, event_slug):
    from pretix.base.models import Event

    return Event.objects.get(organizer__slug__iexact=organizer_slug, slug__iexact=event_slug)


def setup_django(config_file=None):
    """Configure Django for pretix from ``config_file`` or ``PRETIX_CONFIG_FILE``."""
    if config_file:
        os.environ["PRETIX_CONFIG_FILE"] = os.path.abspath(config_file)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pretix.settings")
    import django

    django.setup()


def main(argv=None):
    args = _parse_args(argv)
    if not args.config and "PRETIX_CONFIG_FILE" not in os.environ:
        print("warning: PRETIX_CONFIG_FILE is not set; pretix falls back to ./pretix.cfg", file=sys.stderr)
    setup_django(args.config)
    try:
        info = seed_event(
            args.organizer,
            args.event,
            orders=args.orders,
            with_invoices=args.invoices,
            invoice_pdfs=not args.no_invoice_pdfs,
            log_entries=not args.no_log_entries,
            if_exists=args.if_exists,
            member_emails=tuple(args.member),
            random_seed=args.random_seed,
        )
    except SeedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.members_keep_password:
        from pretix.base.models import User

        User.objects.filter(email__in=args.member).update(needs_password_change=False)
    if args.retention_policy:
        info["retention_policy"] = set_retention_policy(args.organizer, args.event, args.member[:1])
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
