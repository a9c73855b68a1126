"""Django ORM helpers run inside ``orm_server.py`` (pretix.settings, scopes disabled). Return JSON-able values."""

import json
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.timezone import now
from pretix.base.models import (
    Event,
    InvoiceAddress,
    Item,
    Order,
    OrderPosition,
    Organizer,
    Question,
    QuestionAnswer,
    Team,
)

TEST_PLUGIN = "pretix_shredder_testplugin"


def _slug(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _event(organizer: str, event: str) -> Event:
    return Event.objects.select_related("organizer").get(organizer__slug=organizer, slug=event)


def create_organizer(slug: str | None = None) -> dict:
    slug = slug or _slug("org")
    organizer, _ = Organizer.objects.get_or_create(slug=slug, defaults={"name": f"Organizer {slug}"})
    return {"organizer": organizer.slug, "organizer_id": organizer.pk}


def create_token(
    organizer: str, *, all_events: bool = True, event_permissions="all", events=(), name: str | None = None
) -> dict:
    """A team with an API token. ``event_permissions``: "all" or a list like ``["event.orders:read"]``."""
    org = Organizer.objects.get(slug=organizer)
    team = Team.objects.create(
        organizer=org,
        name=name or _slug("api-team"),
        all_events=all_events,
        all_event_permissions=event_permissions == "all",
        limit_event_permissions={} if event_permissions == "all" else {p: True for p in event_permissions},
    )
    if events:
        team.limit_events.set(Event.objects.filter(organizer=org, slug__in=events))
    token = team.tokens.create(name="integration tests")
    return {"token": token.token, "team_id": team.pk, "token_id": token.pk}


def seed_event(
    organizer: str | None = None,
    event: str | None = None,
    *,
    orders: int = 3,
    test_plugin: bool = True,
    event_settings: dict | None = None,
    live: bool = False,
    days_ago: int = 30,
    token: bool = True,
) -> dict:
    """An event that is over (by ``days_ago`` days) and offline, with paid orders carrying personal data
    (e-mails, attendee names, question answers, invoice addresses), and a team API token with all permissions."""
    with transaction.atomic():
        return _seed_event(organizer, event, orders, test_plugin, event_settings, live, days_ago, token)


def _seed_event(organizer, event, orders, test_plugin, event_settings, live, days_ago, token) -> dict:
    org = Organizer.objects.get_or_create(slug=organizer or _slug("org"), defaults={"name": "Integration"})[0]
    date_from = now() - timedelta(days=days_ago)
    ev = Event.objects.create(
        organizer=org,
        name={"en": "Integration test event"},
        slug=event or _slug("event"),
        date_from=date_from,
        date_to=date_from + timedelta(hours=8),
        currency="EUR",
        live=live,
        plugins=settings.PRETIX_PLUGINS_DEFAULT,
    )
    if test_plugin:
        ev.enable_plugin(TEST_PLUGIN)
        ev.save()
    for key, value in (event_settings or {}).items():
        ev.settings.set(key, value)

    item = Item.objects.create(event=ev, name="Ticket", default_price=Decimal("23.00"), admission=True)
    question = Question.objects.create(event=ev, question="Favourite colour", type=Question.TYPE_STRING)
    question.items.add(item)
    channel = org.sales_channels.get(identifier="web")
    codes, emails = [], []
    for i in range(orders):
        order = Order.objects.create(
            event=ev,
            email=f"buyer{i}@example.org",
            status=Order.STATUS_PAID,
            datetime=date_from - timedelta(days=10),
            expires=date_from - timedelta(days=5),
            total=Decimal("23.00"),
            locale="en",
            sales_channel=channel,
        )
        position = OrderPosition.objects.create(
            order=order,
            item=item,
            price=Decimal("23.00"),
            positionid=1,
            attendee_name_parts={"_scheme": "full", "full_name": f"Attendee {i}"},
            attendee_email=f"attendee{i}@example.org",
        )
        QuestionAnswer.objects.create(orderposition=position, question=question, answer=f"blue {i}")
        InvoiceAddress.objects.create(
            order=order,
            name_parts={"_scheme": "full", "full_name": f"Buyer {i}"},
            street=f"Street {i}",
            zipcode="12345",
            city="Berlin",
            country="DE",
        )
        order.create_transactions(is_new=True, dt_now=order.datetime)
        codes.append(order.code)
        emails.append(order.email)

    result = {
        "organizer": org.slug,
        "organizer_id": org.pk,
        "event": ev.slug,
        "event_id": ev.pk,
        "order_codes": codes,
        "emails": emails,
    }
    if token:
        result.update(create_token(org.slug))
    return result


def set_event_settings(organizer: str, event: str, values: dict) -> dict:
    ev = _event(organizer, event)
    for key, value in values.items():
        if value is None:
            ev.settings.delete(key)
        else:
            ev.settings.set(key, value)
    return {key: ev.settings.get(key) for key in values}


def get_event_settings(organizer: str, event: str, keys: list) -> dict:
    ev = _event(organizer, event)
    return {key: ev.settings.get(key) for key in keys}


def update_event(organizer: str, event: str, **fields) -> dict:
    """Changes event fields, e.g. ``live=True`` or ``date_to="2099-01-01T00:00:00+00:00"`` (ISO strings)."""
    ev = _event(organizer, event)
    for key, value in fields.items():
        if key in ("date_from", "date_to") and isinstance(value, str):
            value = parse_datetime(value)
        setattr(ev, key, value)
    ev.save()
    return {"live": ev.live, "date_from": ev.date_from, "date_to": ev.date_to}


def enable_plugin(organizer: str, event: str, module: str, enabled: bool = True) -> list:
    ev = _event(organizer, event)
    if enabled:
        ev.enable_plugin(module)
    else:
        ev.disable_plugin(module)
    ev.save()
    return ev.get_plugins()


def log_action(organizer: str, event: str, action: str = "pretix.event.changed", data: dict | None = None) -> int:
    """Writes an event log entry, e.g. to simulate "something happened in your event after the export"."""
    return _event(organizer, event).log_action(action, data=data or {}).pk


def event_snapshot(organizer: str, event: str) -> dict:
    """The personal data still stored for the event and its log, to check what a shred removed."""
    ev = _event(organizer, event)
    orders = []
    for order in ev.orders.order_by("code").prefetch_related("positions__answers"):
        address = InvoiceAddress.objects.filter(order=order).first()
        orders.append(
            {
                "code": order.code,
                "email": order.email,
                "invoice_name": address.name if address else None,
                "positions": [
                    {
                        "attendee_name": p.attendee_name,
                        "attendee_email": p.attendee_email,
                        "answers": [a.answer for a in p.answers.all()],
                    }
                    for p in order.positions.all()
                ],
            }
        )
    logs = [
        {"action_type": e.action_type, "datetime": e.datetime, "shredded": e.shredded, "data": e.parsed_data}
        for e in ev.logentry_set.order_by("datetime", "pk")
    ]
    return {"orders": orders, "log": logs}


def shredder_job(public_id: str) -> dict:
    """The plugin's job record for a download/shred/status URL id, with the count of its log entries by action type.

    Imported here, not at the top: with ``SHREDDER_IT_EXCLUDE_PLUGINS`` the plugin's models are not installed.
    """
    from collections import Counter

    from django.contrib.contenttypes.models import ContentType
    from pretix.base.models import LogEntry

    from pretix_shredder_api.models import ShredderJob

    job = ShredderJob.objects.get(public_id=public_id)
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(ShredderJob), object_id=job.pk)
    return {
        "id": job.pk,
        "export_state": job.export_state,
        "shred_state": job.shred_state,
        "shred_attempt": job.shred_attempt,
        "file_id": job.file_id,
        "log": dict(Counter(entries.values_list("action_type", flat=True))),
    }


def migration_state(app_label: str) -> dict:
    """What the database says about an app's migrations: the database vendor, the migrations recorded as applied,
    the ones still to apply (as ``migrate --check`` sees them) and whether the app's tables exist."""
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    applied = sorted(name for app, name in executor.loader.applied_migrations if app == app_label)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes(app_label))
    tables = set(connection.introspection.table_names())
    models = apps.get_app_config(app_label).get_models()
    return {
        "vendor": connection.vendor,
        "database": connection.settings_dict["NAME"],
        "applied": applied,
        "unapplied": [f"{m.app_label}.{m.name}" for m, _backwards in plan],
        "missing_tables": sorted(m._meta.db_table for m in models if m._meta.db_table not in tables),
    }


def add_orders(organizer: str, event: str, count: int, *, phone_every: int = 10) -> int:
    """Adds ``count`` bare paid orders (no positions) in bulk, every ``phone_every``-th with a phone number: a big
    event for the shredders that walk all orders. Returns the event's order count."""
    ev = _event(organizer, event)
    channel = ev.organizer.sales_channels.get(identifier="web")
    prefix = secrets.token_hex(2).upper()
    orders = [
        Order(
            organizer=ev.organizer,
            event=ev,
            code=f"B{prefix}{i:05d}",
            email=f"bulk{i}@example.org",
            phone="+493012345678" if i % phone_every == 0 else None,
            status=Order.STATUS_PAID,
            datetime=ev.date_from - timedelta(days=10),
            expires=ev.date_from - timedelta(days=5),
            total=Decimal("0.00"),
            locale="en",
            sales_channel=channel,
        )
        for i in range(count)
    ]
    Order.objects.bulk_create(orders, batch_size=500)
    return ev.orders.count()


def shredder_jobs(organizer: str, event: str) -> list[dict]:
    """The plugin's job records of an event, oldest first: public id, states, shred attempt, the export file's id
    and expiry (``None``: kept for a shred, or no file)."""
    from pretix_shredder_api.models import ShredderJob

    jobs = ShredderJob.objects.filter(event=_event(organizer, event)).select_related("file").order_by("pk")
    return [
        {
            "public_id": str(job.public_id),
            "export_state": job.export_state,
            "shred_state": job.shred_state,
            "shred_attempt": job.shred_attempt,
            "file_id": str(job.file_id) if job.file_id else None,
            "file_expires": job.file.expires if job.file else None,
        }
        for job in jobs
    ]


def expire_export_in(public_id: str, seconds: float) -> str:
    """Give a finished, not yet shredded export a short lifetime: it expires ``seconds`` from now (the plugin's own
    ``jobs.keep_export_until``, so a file held for a shred stays held). Returns the new expiry."""
    from pretix.base.models import CachedFile

    from pretix_shredder_api import jobs
    from pretix_shredder_api.models import ShredderJob

    job = ShredderJob.objects.get(public_id=public_id)
    jobs.keep_export_until(job, now() + timedelta(seconds=seconds))
    return CachedFile.objects.get(pk=job.file_id).expires


def clean_cached_files() -> dict:
    """Runs pretix's own periodic cleanup of expired cached files once (the ``periodic_task`` receiver
    ``pretix.base.services.cleanup.clean_cached_files``); returns how many cached files it deleted."""
    from pretix.base.models import CachedFile
    from pretix.base.services.cleanup import clean_cached_files as pretix_clean_cached_files

    before = CachedFile.objects.count()
    pretix_clean_cached_files(sender=None)
    return {"deleted": before - CachedFile.objects.count()}


def seed_series(dates: int = 10, over: int = 5, orders_per_date: int = 2) -> dict:
    """A live event series: ``dates`` dates, the first ``over`` of them ended 40 days ago, the rest coming; each date
    with ``orders_per_date`` paid orders full of personal data (e-mail, phone, attendee, answer, invoice address, a
    logged change of the e-mail address). Returns slugs, the token, the order codes per date and the coming dates."""
    with transaction.atomic():
        org = Organizer.objects.create(slug=_slug("org"), name="Series")
        ev = Event.objects.create(
            organizer=org,
            name={"en": "A season"},
            slug=_slug("season"),
            date_from=now() - timedelta(days=100),
            currency="EUR",
            live=True,
            has_subevents=True,
            plugins=settings.PRETIX_PLUGINS_DEFAULT,
        )
        item = Item.objects.create(event=ev, name="Seat", default_price=Decimal("23.00"), admission=True)
        question = Question.objects.create(event=ev, question="Needs", type=Question.TYPE_STRING)
        question.items.add(item)
        channel = org.sales_channels.get(identifier="web")
        past, coming = {}, []
        for d in range(dates):
            start = now() - timedelta(days=40, hours=2) if d < over else now() + timedelta(days=10 + d)
            se = ev.subevents.create(name=f"Date {d}", date_from=start, date_to=start + timedelta(hours=2), active=True)
            quota = ev.quotas.create(name=f"Q{d}", size=10000, subevent=se)
            quota.items.add(item)
            codes = []
            for i in range(orders_per_date):
                tag = f"d{d}o{i}{secrets.token_hex(3)}"
                order = Order.objects.create(
                    event=ev,
                    email=f"buyer.{tag}@example.net",
                    phone="+4930" + str(5550000 + d * 100 + i),
                    status=Order.STATUS_PAID,
                    datetime=now() - timedelta(days=60),
                    expires=now() - timedelta(days=50),
                    total=Decimal("23.00"),
                    locale="en",
                    sales_channel=channel,
                    comment=f"Called about seat Quokka {tag}",
                )
                position = OrderPosition.objects.create(
                    order=order,
                    item=item,
                    subevent=se,
                    price=Decimal("23.00"),
                    positionid=1,
                    attendee_name_parts={"_scheme": "full", "full_name": f"Attendee {tag}"},
                    attendee_email=f"attendee.{tag}@example.net",
                )
                QuestionAnswer.objects.create(orderposition=position, question=question, answer=f"quiet room {tag}")
                InvoiceAddress.objects.create(
                    order=order,
                    name_parts={"_scheme": "full", "full_name": f"Buyer {tag}"},
                    street=f"Street {tag}",
                    zipcode="12345",
                    city="Berlin",
                    country="DE",
                )
                order.log_action(
                    "pretix.event.order.contact.changed",
                    data={"old_email": f"old.{tag}@example.net", "new_email": order.email},
                )
                order.create_transactions(is_new=True, dt_now=order.datetime)
                codes.append(order.code)
            if d < over:
                past[str(se.pk)] = codes
            else:
                coming.append({"subevent": se.pk, "codes": codes})
        result = {"organizer": org.slug, "event": ev.slug, "item": item.pk, "past": past, "coming": coming}
        result.update(create_token(org.slug))
        return result


def dump_orders(organizer: str, event: str, codes: list) -> dict:
    """Every row of these orders in every table that reaches an order, and their log entries, as text."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Q
    from pretix.base.models import LogEntry

    from pretix_shredder_api import residual

    ev = _event(organizer, event)
    ids = list(Order.objects.filter(event=ev, code__in=codes).values_list("pk", flat=True))
    out = {}
    for model, _paths, _cols in residual.scope_tables():
        if model is Order:
            qs = Order.objects.filter(pk__in=ids)
        else:
            q = Q()
            for path in residual.order_paths(model):
                q |= Q(**{f"{path}__in": ids})
            qs = model._base_manager.filter(q)
        out[model._meta.label] = [repr(sorted(r.items())) for r in qs.order_by("pk").values()]
    logs = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Order), object_id__in=ids)
    out["logs"] = [repr(sorted(r.items())) for r in logs.order_by("pk").values()]
    return out


def personal_values_of(organizer: str, event: str, codes: list) -> int:
    """How many of these orders' rows and log entries still hold a personal value of theirs (an independent count
    by substring search of the tags the seed put into every value)."""
    from django.contrib.contenttypes.models import ContentType
    from pretix.base.models import LogEntry

    ev = _event(organizer, event)
    orders = Order.objects.filter(event=ev, code__in=codes)
    ids = list(orders.values_list("pk", flat=True))
    texts = []
    for o in orders:
        texts += [o.email or "", str(o.phone or ""), o.comment or ""]
    for p in OrderPosition.all.filter(order_id__in=ids):
        texts += [p.attendee_name_cached or "", json.dumps(p.attendee_name_parts or {}), p.attendee_email or ""]
    texts += list(QuestionAnswer.objects.filter(orderposition__order_id__in=ids).values_list("answer", flat=True))
    for ia in InvoiceAddress.objects.filter(order_id__in=ids):
        texts += [ia.street or "", json.dumps(ia.name_parts or {})]
    logs = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Order), object_id__in=ids)
    texts += list(logs.values_list("data", flat=True))
    return sum(1 for t in texts if "example.net" in t or "Quokka" in t or "quiet room" in t or "Street d" in t
               or "Attendee d" in t or "Buyer d" in t or "+4930" in t)  # fmt: skip


def queued_tasks() -> int:
    """How many Celery tasks wait in pretix's queues (the Redis lists kombu keeps them in, every priority)."""
    from pretix.celery_app import app

    with app.connection_for_read() as conn:
        channel = conn.default_channel
        return sum(channel._size(queue.name) for queue in settings.CELERY_TASK_QUEUES)
