"""Requests of one person: find, export and erase everything an organizer holds about one e-mail address.

**Whose data is it.** The person's own data is what is keyed to their address:

- orders whose e-mail address is theirs (or that are linked to their customer account): the order's contact data,
  comment, invoice address, order-level answers, payments' personal details, mails and log entries, and every
  position of the order *without an attendee address of its own* (or with theirs);
- positions anywhere whose attendee address is theirs (the attendee data and answers of that position - the order
  around it belongs to its buyer);
- their customer account (with its SSO link), waiting-list entries and the vouchers mailed to them, mails sent to
  them, and log entries that carry their address (also an address since changed: the old value in the log counts).

An attendee with *another* address on the person's order is the attendee's data: it is neither exported nor erased.

**Matching** is an exact, case-insensitive comparison of the whole address (``iexact``: Django escapes ``%`` and
``_``, so they are literal); never a pattern. Mails and log entries, whose addresses sit inside lists and JSON, are
narrowed in the database by a substring and then confirmed here, row by row, by ``address_matcher``: the whole
address, bounded (``joann@x.org`` or ``ann@x.org.uk`` is not ``ann@x.org``).

**Within the checked events.** The finding records the events it found data in (``event_ids``); the permissions are
checked against them. Export and erasure find the rows again, but only in those events and at organizer level; data
found in any other event since is left unchanged and named in the request's message ("start a new request").

**Dispositions** (what the erasure does with an item): ``erased``; ``retained`` (invoices, under tax law, until
``[shredder_api] person_invoice_retention_years`` after the invoice date, default 10); ``blocked`` (a valid order of
an event that is not over: the person still has a ticket. Blocked until the event is over - ask again then).

Nothing here stores a value: findings and proof hold references (event slugs, order codes, ids), counts and locations.
"""

import hashlib
import hmac
import io
import json
import logging
import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.validators import validate_email as django_validate_email
from django.db import transaction
from django.db.models import Max, Q, TextField
from django.db.models.functions import Cast
from django.utils import translation
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from pretix.base.i18n import LazyLocaleException
from pretix.helpers.json import CustomJSONEncoder

from . import archive, jobs, residual
from .models import PersonKind, PersonRequest, PersonState
from .shredders import blank_personal

logger = logging.getLogger(__name__)

MAX_EMAIL_LENGTH = 254
WILDCARDS = "%*"  # look like patterns; `_` is common in real addresses and is matched literally
LOG_PREFIX = "pretix_shredder_api.person."

ERASED, RETAINED, BLOCKED, SKIPPED = "erased", "retained", "blocked", "skipped"
DISPOSITIONS = (ERASED, RETAINED, BLOCKED, SKIPPED)

# Stored as keys, rendered in the reader's language.
MESSAGES = {
    "internal": _("Internal error"),
    "not_queued": _("The step could not be queued for processing. Please try again."),
    "no_data": _("No data of this person is held."),
    "erased_elsewhere": _("The data of this address had already been erased by another request."),
    "new_events": _(
        "New data of this address was found in events that were not part of the finding (%(events)s): it was left "
        "unchanged. Please start a new request for it."
    ),
}
GROUNDS = {
    "tax_law": _("Invoices are kept under tax law."),
}
BLOCKS = {
    "event_not_over": _(
        "A valid ticket of an event that is not over yet: kept until the event is over, then erased automatically."
    ),
}
SKIPS = {
    "not_theirs_any_more": _(
        "When its event was over, this order no longer had this person's address: it was left unchanged."
    ),
}
TYPES = {
    "order": _("Order (contact data, comment, contact form)"),
    "position": _("Ticket (attendee data)"),
    "answer": _("Answer to a question"),
    "file": _("Uploaded file"),
    "invoice_address": _("Invoice address"),
    "invoice": _("Invoice"),
    "payment": _("Payment details"),
    "waiting_list": _("Waiting-list entry"),
    "voucher": _("Voucher sent from the waiting list"),
    "customer": _("Customer account"),
    "sso": _("Login through an external identity provider"),
    "mail": _("E-mail sent"),
    "log": _("Log entries"),
}


class PersonError(LazyLocaleException):
    pass


class InvalidEmail(PersonError):
    pass


class InvalidKind(PersonError):
    pass


class Conflict(PersonError):
    """The step does not fit the request's state or kind."""


class NotErasure(Conflict):
    pass


class NoExport(PersonError):
    pass


class ExportFirst(Conflict):
    """Nothing is erased that was not exported first."""


# ---------------------------------------------------------------------------------------------------------------------
# The address


def normalise(raw) -> str:
    return str(raw or "").strip().casefold()


def email_hash(normalised: str) -> str:
    """A keyed hash (HMAC-SHA256 with the instance's secret key): recognises a repeat request, reveals nothing."""
    return hmac.new(settings.SECRET_KEY.encode(), normalised.encode(), hashlib.sha256).hexdigest()


def validate_email(raw) -> str:
    """The normalised address, or ``InvalidEmail`` for a missing, malformed, overlong or wildcard-looking one."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidEmail(_("Please give the person's e-mail address."))
    value = normalise(raw)
    if len(value) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(_("An e-mail address has at most 254 characters."))
    if any(c in value for c in WILDCARDS):
        raise InvalidEmail(_("Please give one exact e-mail address, not a pattern with wildcards."))
    try:
        django_validate_email(value)
    except Exception:
        raise InvalidEmail(_("This is not a valid e-mail address.")) from None
    return value


def validate_kind(raw) -> str:
    if raw not in PersonKind.values:
        raise InvalidKind(_('The kind must be "access" or "erasure".'))
    return raw


def address_matcher(addresses):
    """``match(text)``: whether ``text`` holds one of ``addresses`` as a whole address (case-insensitive, not as part
    of a longer one: nothing of an address may precede it, and no address character, nor a dot followed by one,
    may follow it)."""
    parts = [re.escape(normalise(a)) for a in addresses if a and normalise(a)]
    if not parts:
        return lambda text: False
    pattern = re.compile(r"(?<![\w.+-])(?:" + "|".join(parts) + r")(?![\w-]|\.[\w-])", re.IGNORECASE)
    return lambda text: bool(text) and pattern.search(str(text)) is not None


def invoice_retention_years() -> int:
    return jobs.config_int("person_invoice_retention_years", 10)


# ---------------------------------------------------------------------------------------------------------------------
# Who may: reading a request (and its export) needs the right to view the orders of every event it touches, erasing
# and cancelling the right to change them; creating and listing the right to view the orders of every event of the
# organizer (the answer says whether an address is held). The API and the pages ask this one function.

READ = "event.orders:read"
WRITE = "event.orders:write"


def missing_events(holder, event_ids, permission: str, request=None) -> list[str]:
    """Slugs of the events among ``event_ids`` on which ``holder`` (a team API token or a user) lacks
    ``permission``."""
    from pretix.base.models import Event

    if not event_ids:
        return []
    allowed = set(holder.get_events_with_permission(permission, request=request).values_list("pk", flat=True))
    missing = [pk for pk in event_ids if pk not in allowed]
    return sorted(Event.objects.filter(pk__in=missing).values_list("slug", flat=True))


def all_event_ids(organizer) -> list[int]:
    return list(organizer.events.values_list("pk", flat=True))


# ---------------------------------------------------------------------------------------------------------------------
# Creating and reading requests


def create_request(organizer, identity: jobs.Identity, email: str, kind: str, locale: str) -> PersonRequest:
    received = now()
    req = PersonRequest.objects.create(
        organizer=organizer,
        kind=kind,
        email=email,
        email_hash=email_hash(email),
        received=received,
        respond_by=received + relativedelta(months=1),
        locale=locale,
        **identity.credential_fields(),
    )
    log(req, "created", identity, {"kind": kind})
    return req


def identity_of(req: PersonRequest) -> jobs.Identity:
    return jobs.Identity(api_token=req.api_token, oauth_application=req.oauth_application, user=req.user)


def log(req: PersonRequest, what: str, identity: jobs.Identity = None, data=None) -> None:
    """An organizer-level log entry on the request (no values: the request's id, kind, counts)."""
    identity = identity or identity_of(req)
    req.log_action(LOG_PREFIX + what, data={"request": req.pk, **(data or {})}, **identity.log_kwargs())


def requests_of(organizer, email: str = ""):
    """Open requests first (oldest due date first), then the others (newest first); ``email``: only the requests of
    that address (matched by the keyed hash, so closed requests are found too)."""
    from django.db.models import Case, IntegerField, Value, When

    from .models import OPEN_PERSON_STATES

    return (
        PersonRequest.objects.filter(organizer=organizer)
        .annotate(
            closed=Case(
                When(state__in=OPEN_PERSON_STATES, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("closed", "respond_by", "-id")
        .filter(**({"email_hash": email_hash(normalise(email))} if email and email.strip() else {}))
    )


def message_of(req: PersonRequest) -> str:
    msg = MESSAGES.get(req.message)
    return str(msg) % req.message_args if msg is not None and req.message_args else (str(msg) if msg else "")


def days_left(req: PersonRequest) -> int:
    return (req.respond_by - now()).days


# ---------------------------------------------------------------------------------------------------------------------
# Finding


@dataclass
class Holdings:
    """What the organizer holds about one address, as rows (in memory, for one step)."""

    email: str
    orders: list = field(default_factory=list)
    positions: list = field(default_factory=list)  # the person's own positions (see the module's rule)
    others_positions: int = 0  # positions on the person's orders that belong to another attendee
    answers: list = field(default_factory=list)
    invoices: list = field(default_factory=list)
    payments: list = field(default_factory=list)
    refunds: list = field(default_factory=list)
    bank: list = field(default_factory=list)  # bank transactions imported for the person's orders (payer, IBAN)
    waiting: list = field(default_factory=list)
    customer: object = None
    mails: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    events: dict = field(default_factory=dict)  # pk -> Event (with .shredder_over, .shredder_ends)
    outside: set = field(default_factory=set)  # pks of events holding data that were not part of the finding

    @property
    def order_pks(self):
        return [o.pk for o in self.orders]

    @property
    def empty(self) -> bool:
        return not (self.orders or self.positions or self.waiting or self.customer or self.mails or self.logs)


def _event_end(event):
    ends = [d for d in (event.date_to, event.date_from, event.last_sub_to, event.last_sub_from) if d]
    return max(ends)


def _valid(order) -> bool:
    from pretix.base.models import Order

    return order.status in (Order.STATUS_PAID, Order.STATUS_PENDING)


def find_holdings(organizer, email: str, within=None) -> Holdings:
    """Every row of the organizer keyed to ``email``, in a fixed number of queries (independent of how many orders
    of other people the organizer has). ``within``: only in these events (pks) and at organizer level; the events
    holding data beyond them are in ``outside``, and a customer account with orders there is left out too."""
    from pretix.base.models import Customer, Order, OrderPosition, WaitingListEntry

    h = Holdings(email=email)

    def inside(event_pk):
        if within is None or event_pk in within:
            return True
        h.outside.add(event_pk)
        return False

    h.customer = Customer.objects.filter(organizer=organizer, email__iexact=email).first()
    mine = Q(email__iexact=email)
    if h.customer is not None:
        mine |= Q(customer=h.customer)
    orders = Order.objects.filter(mine, event__organizer=organizer).select_related("invoice_address").order_by("pk")
    h.orders = [o for o in orders if inside(o.event_id)]
    if h.customer is not None and within is not None and h.outside:
        if Order.objects.filter(customer=h.customer, event_id__in=h.outside).exists():
            h.customer = None  # anonymising it would change its orders in the events not checked
    order_pks = h.order_pks
    positions = OrderPosition.all.filter(
        Q(order_id__in=order_pks) | Q(order__event__organizer=organizer, attendee_email__iexact=email)
    ).select_related("order", "item")
    for p in positions.order_by("order_id", "positionid"):
        own = not p.attendee_email or normalise(p.attendee_email) == email
        if own and inside(p.order.event_id):
            h.positions.append(p)
        elif not own and p.order_id in order_pks:
            h.others_positions += 1
    waiting = WaitingListEntry.objects.filter(event__organizer=organizer, email__iexact=email)
    h.waiting = [w for w in waiting.select_related("voucher").order_by("pk") if inside(w.event_id)]
    _attach(h, organizer, [email], inside)
    return h


def holdings_of_orders(organizer, order_pks, hashed: str) -> Holdings:
    """The rows of these orders that are still keyed to the address with the keyed hash ``hashed`` - for the
    follow-up of a blocked erasure, when the request no longer knows the address (the same rule of whose data it
    is, decided by comparing hashes)."""
    from pretix.base.models import Order, OrderPosition

    def is_theirs(address):
        return bool(address) and email_hash(normalise(address)) == hashed

    h = Holdings(email="")
    orders = Order.objects.filter(pk__in=order_pks, event__organizer=organizer).select_related("invoice_address")
    h.orders = [o for o in orders.order_by("pk") if is_theirs(o.email)]
    own = set(h.order_pks)
    positions = OrderPosition.all.filter(order_id__in=order_pks).select_related("order", "item")
    for p in positions.order_by("order_id", "positionid"):
        if is_theirs(p.attendee_email) or (p.order_id in own and not p.attendee_email):
            h.positions.append(p)
    _attach(h, organizer, sorted({normalise(o.email) for o in h.orders}))
    return h


def _attach(h: Holdings, organizer, addresses: list, inside=lambda event_pk: True) -> None:
    """What hangs on the person's orders and positions (answers, invoices, payments, mails, log entries) and the
    events it is all in. ``addresses``: mails and log entries that carry one of them as a whole address count too
    (the database narrows by substring, ``address_matcher`` decides). ``inside(event_pk)``: whether an event's
    mails and log entries may be taken (organizer-level ones always are)."""
    from pretix.base.models import (
        Customer,
        Event,
        Invoice,
        LogEntry,
        Order,
        OrderPayment,
        OrderRefund,
        OutgoingMail,
        QuestionAnswer,
        Voucher,
        WaitingListEntry,
    )

    order_pks = h.order_pks
    position_pks = [p.pk for p in h.positions]
    h.answers = list(
        QuestionAnswer.objects.filter(
            Q(orderposition_id__in=position_pks) | Q(order_id__in=order_pks, orderposition__isnull=True)
        )
        .select_related("question")
        .prefetch_related("options")
        .order_by("pk")
    )
    h.invoices = list(Invoice.objects.filter(order_id__in=order_pks).order_by("pk"))
    h.payments = list(OrderPayment.objects.filter(order_id__in=order_pks).order_by("pk"))
    h.refunds = list(OrderRefund.objects.filter(order_id__in=order_pks).order_by("pk"))
    h.bank = list(_bank_model().objects.filter(order_id__in=order_pks).order_by("pk"))
    mail_q = Q(order_id__in=order_pks) | Q(orderposition_id__in=position_pks)
    log_q = Q(content_type=ContentType.objects.get_for_model(Order), object_id__in=order_pks)
    for address in addresses:
        mail_q |= Q(to_text__icontains=address)
        log_q |= Q(data__icontains=address)
    if h.customer is not None:
        mail_q |= Q(customer=h.customer)
    match = address_matcher(addresses)
    candidates = (
        OutgoingMail.objects.filter(organizer=organizer)
        .annotate(to_text=Cast("to", TextField()))
        .filter(mail_q)
        .defer("body_plain", "body_html")
        .order_by("pk")
    )
    order_set, position_set = set(order_pks), set(position_pks)
    customer_pk = h.customer.pk if h.customer is not None else None

    def mail_is_theirs(m):
        if m.order_id in order_set or m.orderposition_id in position_set:
            return True
        if customer_pk is not None and m.customer_id == customer_pk:
            return True
        return any(match(to) for to in (m.to if isinstance(m.to, list) else [m.to]))

    h.mails = [m for m in candidates if mail_is_theirs(m) and (m.event_id is None or inside(m.event_id))]
    cts = ContentType.objects.get_for_models(Customer, WaitingListEntry, Voucher)
    voucher_pks = [w.voucher_id for w in h.waiting if w.voucher_id]
    log_q |= Q(content_type=cts[WaitingListEntry], object_id__in=[w.pk for w in h.waiting])
    log_q |= Q(content_type=cts[Voucher], object_id__in=voucher_pks)
    order_ct = _order_ct()
    objects = {(order_ct, pk) for pk in order_pks}
    objects |= {(cts[WaitingListEntry].pk, w.pk) for w in h.waiting}
    objects |= {(cts[Voucher].pk, pk) for pk in voucher_pks}
    if h.customer is not None:
        log_q |= Q(content_type=cts[Customer], object_id=h.customer.pk)
        objects.add((cts[Customer].pk, h.customer.pk))

    def log_is_theirs(le):
        if (le.content_type_id, le.object_id) in objects:
            return True
        data = residual.parse_json(le.data)
        if isinstance(data, str):
            return match(data)
        return any(match(text) for _key, text, _below in residual.leaves(data))

    logs = LogEntry.objects.filter(log_q, organizer=organizer).exclude(data="").order_by("pk")
    h.logs = [le for le in logs if log_is_theirs(le) and (le.event_id is None or inside(le.event_id))]

    event_pks = (
        {o.event_id for o in h.orders}
        | {p.order.event_id for p in h.positions}
        | {w.event_id for w in h.waiting}
        | {m.event_id for m in h.mails if m.event_id}
        | {le.event_id for le in h.logs if le.event_id}
    )
    events = Event.objects.filter(pk__in=event_pks).annotate(
        last_sub_to=Max("subevents__date_to"), last_sub_from=Max("subevents__date_from")
    )
    for e in events:
        e.shredder_ends = _event_end(e)
        e.shredder_over = e.shredder_ends < now()
        h.events[e.pk] = e


def _bank_model():
    from django.apps import apps

    return apps.get_model("banktransfer", "BankTransaction")


def _blocked_orders(h: Holdings) -> set:
    """Order pks whose data must stay for now: valid orders of events not over."""
    return {o.pk for o in h.orders if not h.events[o.event_id].shredder_over and _valid(o)} | {
        p.order_id for p in h.positions if not h.events[p.order.event_id].shredder_over and _valid(p.order)
    }


def dispositions(h: Holdings) -> dict:
    """The findings: per event what was found and what erasure will do with each item; organizer-level items."""
    blocked = _blocked_orders(h)
    per_event = {pk: [] for pk in h.events}
    organizer_items = []
    codes = {p.order_id: p.order.code for p in h.positions} | {o.pk: o.code for o in h.orders}

    def item(event_pk, type_, ref, order_pk=None, **extra):
        entry = {"type": type_, "ref": str(ref), "disposition": ERASED}
        if order_pk in codes:
            entry["order"] = codes[order_pk]
        if order_pk in blocked:
            ends = h.events[event_pk].shredder_ends
            entry.update(disposition=BLOCKED, why="event_not_over", when=ends.isoformat())
        entry.update(extra)
        (per_event[event_pk] if event_pk else organizer_items).append(entry)

    orders = {o.pk: o for o in h.orders}
    for o in h.orders:
        item(o.event_id, "order", o.code, o.pk)
        if getattr(o, "invoice_address", None) is not None:
            item(o.event_id, "invoice_address", o.code, o.pk)
    for p in h.positions:
        item(p.order.event_id, "position", f"{p.order.code}-{p.positionid}", p.order_id)
    for a in h.answers:
        order_pk = a.order_id or next(p.order_id for p in h.positions if p.pk == a.orderposition_id)
        event_pk = a.question.event_id
        ref = f"{a.pk}:{a.question.identifier}"
        item(event_pk, "file" if a.file else "answer", ref, order_pk)
    years = invoice_retention_years()
    for inv in h.invoices:
        until = inv.date + relativedelta(years=years)
        per_event[inv.event_id].append(
            {"type": "invoice", "ref": inv.full_invoice_no, "disposition": RETAINED, "ground": "tax_law",
             "until": until.isoformat()}
        )  # fmt: skip
    for pay in h.payments + h.refunds:
        if pay.info or getattr(pay, "comment", ""):
            o = orders[pay.order_id]
            item(o.event_id, "payment", f"{o.code}-{pay.local_id}", o.pk)
    for bt in h.bank:
        o = orders[bt.order_id]
        item(o.event_id, "payment", f"{o.code}-bank-{bt.pk}", o.pk)
    for w in h.waiting:
        item(w.event_id, "waiting_list", w.pk)
        if w.voucher_id and "@" in (w.voucher.comment or ""):
            item(w.event_id, "voucher", w.voucher.code)
    if h.customer is not None:
        item(None, "customer", h.customer.identifier)
        if h.customer.provider_id or h.customer.external_identifier:
            item(None, "sso", h.customer.provider_id or "-")
    for m in h.mails:
        item(m.event_id, "mail", m.pk, m.order_id)
    logs_by_event = {}  # (event, blocked order or None) -> count: a blocked order's log entries on their own
    order_ct = _order_ct()
    for le in h.logs:
        order_pk = le.object_id if le.object_id in orders and le.content_type_id == order_ct else None
        key = (le.event_id, order_pk if order_pk in blocked else None)
        logs_by_event[key] = logs_by_event.get(key, 0) + 1
    for (event_pk, blocked_pk), n in logs_by_event.items():
        entry = {"type": "log", "ref": str(n), "disposition": ERASED}
        if blocked_pk is not None:
            entry.update(order=codes[blocked_pk], disposition=BLOCKED, why="event_not_over",
                         when=h.events[event_pk].shredder_ends.isoformat())  # fmt: skip
        (per_event[event_pk] if event_pk else organizer_items).append(entry)

    events = [
        {
            "event": h.events[pk].slug,
            "name": str(h.events[pk].name),
            "over": h.events[pk].shredder_over,
            "ends": h.events[pk].shredder_ends.isoformat(),
            "items": items,
        }
        for pk, items in sorted(per_event.items(), key=lambda kv: h.events[kv[0]].slug)
        if items
    ]
    findings = {"events": events, "organizer": {"items": organizer_items}}
    counts = count_dispositions(findings)
    counts["orders"] = len(h.orders)
    counts["positions"] = len(h.positions)
    counts["others_positions"] = h.others_positions
    findings["held"] = bool(sum(counts.get(d, 0) for d in DISPOSITIONS))
    return findings, counts


def count_dispositions(findings: dict) -> dict:
    all_items = [i for e in findings.get("events", []) for i in e["items"]]
    all_items += findings.get("organizer", {}).get("items", [])
    counts = {d: sum(1 for i in all_items if i["disposition"] == d) for d in (ERASED, RETAINED, BLOCKED)}
    if any(i["disposition"] == SKIPPED for i in all_items):
        counts[SKIPPED] = sum(1 for i in all_items if i["disposition"] == SKIPPED)
    return counts


def _order_ct():
    from pretix.base.models import Order

    return ContentType.objects.get_for_model(Order).pk


def find(req: PersonRequest) -> PersonRequest:
    """finding → found: what is held, with dispositions (nothing is changed)."""
    if req.state != PersonState.FINDING:
        return req
    h = find_holdings(req.organizer, req.email)
    findings, counts = dispositions(h)
    message = "" if findings["held"] else "no_data"
    won = PersonRequest.objects.filter(pk=req.pk, state=PersonState.FINDING).update(
        state=PersonState.FOUND, findings=findings, counts=counts, event_ids=sorted(h.events), found_at=now(),
        message=message,
    )  # fmt: skip
    req.refresh_from_db()
    if not won:  # cancelled (or failed) meanwhile: it stays so
        return req
    if not findings["held"]:
        finish(req, PersonState.DONE, "no_data", expected=PersonState.FOUND)
    log(req, "found", data={"counts": counts})
    return req


def finish(req: PersonRequest, state: str, message: str = "", args=None, expected: str = None) -> bool:
    """A final state: the clear-text address goes, the keyed hash stays. ``expected``: only from this state
    (compare-and-set: a cancel that landed meanwhile stays); whether it was written."""
    qs = PersonRequest.objects.filter(pk=req.pk)
    if expected is not None:
        qs = qs.filter(state=expected)
    won = qs.update(state=state, email="", message=message, message_args=args or {}, finished=now())
    req.refresh_from_db()
    return bool(won)


def checked_events(req: PersonRequest) -> set:
    """The events whose permissions were checked for this request: those of its finding."""
    return set(req.event_ids or [])


def outside_message(h: Holdings) -> tuple:
    """``(message key, args)`` naming the events beyond the finding that hold data of the address, or ``("", {})``."""
    if not h.outside:
        return "", {}
    from pretix.base.models import Event

    slugs = sorted(Event.objects.filter(pk__in=h.outside).values_list("slug", flat=True))
    return "new_events", {"events": ", ".join(slugs)}


def fail(req_id: int, message: str) -> None:
    PersonRequest.objects.filter(pk=req_id).exclude(state__in=(PersonState.DONE, PersonState.CANCELLED)).update(
        state=PersonState.FAILED, email="", message=message, finished=now()
    )


# ---------------------------------------------------------------------------------------------------------------------
# The person's values (in memory only: for the log blanking and the proof)


def _name_parts(parts) -> dict:
    """Name parts without pretix's ``_scheme`` (``"full"`` is no one's name)."""
    return {k: v for k, v in (parts or {}).items() if k != "_scheme"} if isinstance(parts, dict) else {}


def values_of(h: Holdings, public=frozenset()) -> residual.PersonalValues:
    """The values that identify the person: the address, phone numbers, names, street, VAT id, free-text answers,
    payment details, customer name and identifier. Not city, zip code or company: those are shared with others."""
    values = residual.PersonalValues(public=set(public))
    add = values.add
    add(h.email)
    for o in h.orders:
        add(o.email)
        add(o.phone)
        ia = getattr(o, "invoice_address", None)
        if ia is not None:
            for v in (ia.name_cached, ia.street, ia.vat_id, ia.internal_reference):
                add(v)
            values.add_data(_name_parts(ia.name_parts), personal=True)
    for p in h.positions:
        add(p.attendee_name_cached)
        add(p.attendee_email)
        add(p.street)
        values.add_data(_name_parts(p.attendee_name_parts), personal=True)
    for a in h.answers:
        if a.question.type in residual.FREE_TEXT_QUESTION_TYPES:
            add(a.answer)
        if a.file:
            values.files.append((a.file.name, "pretixbase_questionanswer", "file"))
    for pay in h.payments + h.refunds:
        info = residual.parse_json(pay.info or "{}")
        if isinstance(info, dict):
            for key, text, _below in residual.leaves(info):
                if key in ("payer", "iban", "account_holder", "holder", "owner", "bic"):
                    add(text)
    for bt in h.bank:
        add(bt.payer)
        add(bt.iban)
    for w in h.waiting:
        add(w.name_cached)
        add(w.phone)
        add(w.email)
    if h.customer is not None:
        c = h.customer
        for v in (c.email, c.name_cached, c.phone, c.external_identifier):
            add(v)
    return values


# ---------------------------------------------------------------------------------------------------------------------
# The access export


def _answer(a) -> dict:
    return {
        "question": str(a.question.question),
        "identifier": a.question.identifier,
        "answer": a.answer if not a.file else None,
        "file": os.path.basename(a.file.name) if a.file else None,
        "options": [str(o.answer) for o in a.options.all()],
    }


def _position(p, answers) -> dict:
    return {
        "order": p.order.code,
        "positionid": p.positionid,
        "product": str(p.item.name),
        "attendee_name": p.attendee_name_cached,
        "attendee_name_parts": p.attendee_name_parts,
        "attendee_email": p.attendee_email,
        "company": p.company,
        "street": p.street,
        "zipcode": p.zipcode,
        "city": p.city,
        "country": str(p.country) if p.country else None,
        "canceled": p.canceled,
        "answers": [_answer(a) for a in answers.get(("pos", p.pk), [])],
    }


def _invoice_address(ia) -> dict | None:
    if ia is None:
        return None
    return {
        "company": ia.company, "name": ia.name_cached, "name_parts": ia.name_parts, "street": ia.street,
        "zipcode": ia.zipcode, "city": ia.city, "country": str(ia.country) if ia.country else None,
        "vat_id": ia.vat_id, "internal_reference": ia.internal_reference,
    }  # fmt: skip


def person_data(req: PersonRequest, h: Holdings) -> dict:
    """``person.json``: per event the orders (with their positions, answers, invoice address, payments' personal
    details, invoices), the tickets where the person is the attendee on someone else's order, waiting-list entries
    and mails; the organizer-level customer account. Never another attendee's data."""
    answers = {}
    for a in h.answers:
        key = ("pos", a.orderposition_id) if a.orderposition_id else ("order", a.order_id)
        answers.setdefault(key, []).append(a)
    order_pks = set(h.order_pks)
    events = {pk: {"event": e.slug, "name": str(e.name), "orders": [], "tickets_on_other_orders": [],
                   "waiting_list": [], "mails": []} for pk, e in h.events.items()}  # fmt: skip
    invoices = {}
    for inv in h.invoices:
        invoices.setdefault(inv.order_id, []).append({"number": inv.full_invoice_no, "date": inv.date.isoformat()})
    payments = {}
    for pay in h.payments + h.refunds:
        info = residual.parse_json(pay.info or "{}")
        entry = {"kind": "refund" if hasattr(pay, "comment") else "payment", "provider": pay.provider,
                 "amount": str(pay.amount), "state": pay.state, "info": info}  # fmt: skip
        if getattr(pay, "comment", ""):
            entry["comment"] = pay.comment
        payments.setdefault(pay.order_id, []).append(entry)
    for bt in h.bank:
        payments.setdefault(bt.order_id, []).append(
            {"kind": "bank_transaction", "payer": bt.payer, "iban": bt.iban, "bic": bt.bic,
             "reference": bt.reference, "amount": str(bt.amount), "date": bt.date}
        )  # fmt: skip
    for o in h.orders:
        events[o.event_id]["orders"].append(
            {
                "code": o.code, "status": o.status, "datetime": o.datetime.isoformat(), "email": o.email,
                "phone": str(o.phone) if o.phone else None, "locale": o.locale, "total": str(o.total),
                "comment": o.comment or None,
                "invoice_address": _invoice_address(getattr(o, "invoice_address", None)),
                "answers": [_answer(a) for a in answers.get(("order", o.pk), [])],
                "positions": [_position(p, answers) for p in h.positions if p.order_id == o.pk],
                "payments": payments.get(o.pk, []),
                "invoices": invoices.get(o.pk, []),
            }
        )  # fmt: skip
    for p in h.positions:
        if p.order_id not in order_pks:
            events[p.order.event_id]["tickets_on_other_orders"].append(_position(p, answers))
    for w in h.waiting:
        events[w.event_id]["waiting_list"].append(
            {"created": w.created.isoformat(), "name": w.name_cached, "email": w.email,
             "phone": str(w.phone) if w.phone else None, "voucher": w.voucher.code if w.voucher_id else None}
        )  # fmt: skip
    organizer_mails = []
    for m in h.mails:
        entry = {"subject": m.subject, "created": m.created.isoformat(), "status": m.status, "to": m.to}
        (events[m.event_id]["mails"] if m.event_id in events else organizer_mails).append(entry)
    customer = None
    if h.customer is not None:
        c = h.customer
        customer = {
            "identifier": c.identifier, "email": c.email, "name": c.name_cached, "name_parts": c.name_parts,
            "phone": str(c.phone) if c.phone else None, "locale": c.locale, "date_joined": c.date_joined.isoformat(),
            "last_login": c.last_login.isoformat() if c.last_login else None,
            "external_identifier": c.external_identifier,
            "login_provider": str(c.provider.name) if c.provider else None,
            "notes": c.notes,
        }  # fmt: skip
    return {
        "request": {
            "id": req.pk,
            "kind": req.kind,
            "received": req.received.isoformat(),
            "respond_by": req.respond_by.isoformat(),
            "email": h.email,
        },  # fmt: skip
        "organizer": {
            "slug": req.organizer.slug,
            "name": req.organizer.name,
            "customer": customer,
            "mails": organizer_mails,
        },  # fmt: skip
        "events": sorted(events.values(), key=lambda e: e["event"]),
        "log_entries": len(h.logs),
    }


def summary_text(req: PersonRequest, findings: dict, counts: dict) -> str:
    """``summary.txt`` in the request's language: what is held, per event, and what an erasure does with it."""
    with translation.override(req.locale):
        lines = [
            str(_("Data held by %(organizer)s about the e-mail address of this request"))
            % {"organizer": req.organizer.name},
            str(_("Request received: %(date)s, answer due: %(due)s"))
            % {"date": req.received.date().isoformat(), "due": req.respond_by.date().isoformat()},
            "",
        ]
        if not findings.get("held"):
            lines.append(str(MESSAGES["no_data"]))
        for ev in findings.get("events", []):
            lines.append(f"{ev['name']} ({ev['event']})")
            lines.extend("  - " + item_text(i) for i in ev["items"])
        if findings.get("organizer", {}).get("items"):
            lines.append(str(_("Organizer account")))
            lines.extend("  - " + item_text(i) for i in findings["organizer"]["items"])
        lines.append("")
        lines.append(str(_("The file person.json holds the data itself.")))
        return "\n".join(lines) + "\n"


def item_text(i: dict) -> str:
    text = f"{TYPES.get(i['type'], i['type'])} {i['ref'] if i['type'] != 'log' else '(' + i['ref'] + ')'}: "
    if i["disposition"] == RETAINED:
        text += str(_("retained until %(until)s")) % {"until": i["until"]} + " - " + str(GROUNDS[i["ground"]])
    elif i["disposition"] == BLOCKED:
        text += str(_("blocked")) + " - " + str(BLOCKS[i["why"]])
    elif i["disposition"] == SKIPPED:
        text += str(_("left unchanged")) + " - " + str(SKIPS[i["why"]])
    elif i.get("erased"):
        text += str(_("erased"))
    else:
        text += str(_("erased on erasure"))
    return text


def check_export(req: PersonRequest) -> bool:
    """False while an export is being made (nothing to start); ``Conflict`` in a state without data to export."""
    if req.state == PersonState.EXPORTING:
        return req.updated < now() - jobs.stale_after()
    if req.state not in (PersonState.FOUND, PersonState.EXPORTED):
        raise Conflict(_("This request has no data to export in its current state."))
    return True


def _stalled(state) -> Q:
    """A step whose worker stopped: still in ``state`` after the stale limit (the steps are idempotent: they find
    the rows again, so running one again is safe)."""
    return Q(state=state, updated__lt=now() - jobs.stale_after())


def claim_export(req: PersonRequest) -> bool:
    """found/exported (or a stalled export) → exporting; of concurrent calls exactly one wins."""
    won = (
        PersonRequest.objects.filter(pk=req.pk)
        .filter(Q(state__in=(PersonState.FOUND, PersonState.EXPORTED)) | _stalled(PersonState.EXPORTING))
        .update(state=PersonState.EXPORTING, updated=now())
    )
    req.refresh_from_db()
    return bool(won)


def export(req: PersonRequest) -> PersonRequest:
    """exporting → exported: the zip with person.json, summary.txt and the person's uploaded files, in a CachedFile
    only this plugin hands out."""
    from pretix.base.models import CachedFile

    if req.state != PersonState.EXPORTING:
        return req
    h = find_holdings(req.organizer, req.email, within=checked_events(req))
    findings, counts = dispositions(h)
    message, args = outside_message(h)
    data = person_data(req, h)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("person.json", json.dumps(data, indent=2, cls=CustomJSONEncoder, ensure_ascii=False))
        zf.writestr("summary.txt", summary_text(req, findings, counts))
        for a in h.answers:
            if a.file:
                try:
                    with a.file.open("rb") as f:
                        zf.writestr(f"files/{a.pk}-{os.path.basename(a.file.name)}", f.read())
                except OSError:
                    logger.warning("Could not read an uploaded file for person request %s", req.pk)
    content = buf.getvalue()
    old = req.file_id
    cf = CachedFile.objects.create(
        date=now(), expires=req.respond_by + timedelta(days=30), web_download=False,
        filename=f"person-request-{req.pk}.zip", type="application/zip",
        session_key=f"pretix_shredder_api:person:{req.pk}",
    )  # fmt: skip
    archive.store(cf.file, f"person-request-{req.pk}.zip", ContentFile(content))
    cf.save(update_fields=["file"])
    won = PersonRequest.objects.filter(pk=req.pk, state=PersonState.EXPORTING).update(
        state=PersonState.EXPORTED, file=cf, file_sha256=hashlib.sha256(content).hexdigest(), exported_at=now(),
        findings=findings, counts=counts, message=message, message_args=args,
    )  # fmt: skip
    req.refresh_from_db()
    if not won:  # cancelled meanwhile: it stays cancelled, and the copy just made goes
        CachedFile.objects.filter(pk=cf.pk).delete()
        return req
    if old:
        CachedFile.objects.filter(pk=old).delete()
    log(req, "exported")
    if req.kind == PersonKind.ACCESS:
        # answered: the copy is made (and stays downloadable until it expires)
        finish(req, PersonState.DONE, message, args, expected=PersonState.EXPORTED)
    return req


def open_export(req: PersonRequest):
    """``(CachedFile, handle)`` of the finished export; ``Conflict`` while it is made, ``NoExport`` if none was."""
    if req.state == PersonState.EXPORTING:
        raise Conflict(_("The export is still being made."))
    cf = req.file
    if cf is None or not cf.file or not cf.file.storage.exists(cf.file.name):
        raise NoExport(_("No export has been made for this request (POST …/export/ first)."))
    return cf, cf.file.storage.open(cf.file.name, "rb")


# ---------------------------------------------------------------------------------------------------------------------
# The erasure


def check_erase(req: PersonRequest) -> bool:
    """False if the erasure is already under way or done (nothing to start); ``NotErasure``/``Conflict`` when it
    may not start."""
    if req.kind != PersonKind.ERASURE:
        raise NotErasure(_("Only erasure requests can be erased."))
    if req.state == PersonState.ERASING:
        return req.updated < now() - jobs.stale_after()
    if req.state == PersonState.DONE:
        return False
    if req.state == PersonState.FOUND:  # a found request holds data (one that holds none is done)
        raise ExportFirst(_("Export this person's data first (POST …/export/), then erase it."))
    if req.state != PersonState.EXPORTED or req.exported_at is None:
        raise Conflict(_("This request cannot be erased in its current state."))
    return True


def claim_erase(req: PersonRequest) -> bool:
    """exported (or a stalled erasure) → erasing; of concurrent calls exactly one wins (compare-and-set on the
    state). Nothing is erased that was not exported first: a request that was only found is not claimed."""
    won = (
        PersonRequest.objects.filter(pk=req.pk, kind=PersonKind.ERASURE)
        .filter(Q(state=PersonState.EXPORTED, exported_at__isnull=False) | _stalled(PersonState.ERASING))
        .update(state=PersonState.ERASING, updated=now())
    )
    req.refresh_from_db()
    return bool(won)


def cancel(req: PersonRequest, identity: jobs.Identity) -> PersonRequest:
    """Before anything was erased; ``Conflict`` after."""
    won = PersonRequest.objects.filter(
        pk=req.pk, state__in=(PersonState.FINDING, PersonState.FOUND, PersonState.EXPORTED, PersonState.EXPORTING)
    ).update(state=PersonState.CANCELLED, email="", finished=now())
    req.refresh_from_db()
    if not won:
        if req.state == PersonState.CANCELLED:
            return req
        raise Conflict(_("This request can no longer be cancelled: its erasure has started or it is finished."))
    log(req, "cancelled", identity)
    return req


def _blank_logs(h: Holdings, values, blocked: set) -> int:
    from pretix.base.models import LogEntry

    order_ct = _order_ct()
    changed = 0
    for le in h.logs:
        if le.content_type_id == order_ct and le.object_id in blocked:
            continue
        data = residual.parse_json(le.data)
        if isinstance(data, str):
            continue
        new, did = blank_personal(data, values, by_key=False)
        if did:
            LogEntry.objects.filter(pk=le.pk).update(data=json.dumps(new), shredded=True)
            changed += 1
    return changed


def _clean_meta(meta_info: str | None) -> str | None:
    meta = residual.parse_json(meta_info or "{}")
    if not isinstance(meta, dict):
        return meta_info
    meta.pop("contact_form_data", None)
    meta.pop("question_form_data", None)
    return json.dumps(meta)


def erase_holdings(h: Holdings, values) -> list:
    """Anonymise the rows in place as pretix's shredders do; returns the order codes whose rows changed."""
    from pretix.base.models import (
        CachedCombinedTicket,
        CachedTicket,
        InvoiceAddress,
        Order,
        OrderPayment,
        OrderPosition,
        OrderRefund,
        OutgoingMail,
        QuestionAnswer,
        Voucher,
        WaitingListEntry,
    )

    blocked = _blocked_orders(h)
    affected = set()
    orders = [o for o in h.orders if o.pk not in blocked]
    for o in orders:
        Order.objects.filter(pk=o.pk).update(
            email=None, phone=None, customer=None, comment="", checkin_text=None, api_meta={},
            meta_info=_clean_meta(o.meta_info),
        )  # fmt: skip
        affected.add(o.code)
    order_pks = [o.pk for o in orders]
    InvoiceAddress.objects.filter(order_id__in=order_pks).delete()
    positions = [p for p in h.positions if p.order_id not in blocked]
    position_pks = [p.pk for p in positions]
    OrderPosition.all.filter(pk__in=position_pks).update(
        attendee_name_cached=None, attendee_name_parts={"_shredded": True}, attendee_email=None, company=None,
        street=None, zipcode=None, city=None,
    )  # fmt: skip
    affected |= {p.order.code for p in positions}
    # post_delete receivers of pretix remove the stored files of answers and cached tickets
    QuestionAnswer.objects.filter(
        Q(orderposition_id__in=position_pks) | Q(order_id__in=order_pks, orderposition__isnull=True)
    ).delete()
    CachedTicket.objects.filter(order_position_id__in=position_pks).delete()
    CachedCombinedTicket.objects.filter(order_id__in={p.order_id for p in positions}).delete()
    for model, rows in ((OrderPayment, h.payments), (OrderRefund, h.refunds)):
        for pay in rows:
            if pay.order_id in blocked:
                continue
            info = residual.parse_json(pay.info or "{}")
            update = {}
            if isinstance(info, dict) and info:
                new, did = blank_personal(info, values)
                if did:
                    update["info"] = json.dumps(new)
            if getattr(pay, "comment", ""):
                update["comment"] = ""
            if update:
                model.objects.filter(pk=pay.pk).update(**update)
    _bank_model().objects.filter(pk__in=[bt.pk for bt in h.bank if bt.order_id not in blocked]).update(
        payer="█", iban="█", bic="█", reference="█"
    )  # as the payment details shredder does
    WaitingListEntry.objects.filter(pk__in=[w.pk for w in h.waiting]).update(
        name_cached=None, name_parts={"_shredded": True}, email="█", phone="█"
    )
    Voucher.objects.filter(pk__in=[w.voucher_id for w in h.waiting if w.voucher_id], comment__contains="@").update(
        comment="█"
    )
    if h.customer is not None:
        h.customer.sso_grants.all().delete()
        h.customer.sso_access_tokens.all().delete()
        h.customer.anonymize()  # also the external identifier: the person can sign up again
    OutgoingMail.objects.filter(pk__in=[m.pk for m in h.mails if m.order_id not in blocked]).delete()
    _blank_logs(h, values, blocked)
    return sorted(affected)


RETAINED_TABLES = frozenset({"pretixbase_invoice", "pretixbase_invoiceline"})


def proof(organizer, h: Holdings, values_by_event: dict, organizer_values) -> dict:
    """Search every event the request touched, the organizer-level tables and logs for the person's values (and
    their uploaded files): counts and locations, never values. Hits in invoices are ``retained``; hits in events
    with blocked items are listed under ``blocked``."""
    started = time.monotonic()
    blocked_events = {h.events[o.event_id].slug for o in h.orders if o.pk in _blocked_orders(h)}
    found, locations, retained, blocked = 0, [], [], []
    for event_pk, values in values_by_event.items():
        event = h.events[event_pk]
        report = residual.scan(event, values, retained_tables=RETAINED_TABLES)
        tagged = [{**loc, "event": event.slug} for loc in report.locations]
        retained += [{**loc, "event": event.slug} for loc in report.retained]
        if event.slug in blocked_events:
            blocked += tagged
        else:
            found += report.found
            locations += tagged
    report = residual.scan_organizer(organizer, organizer_values)
    found += report.found
    locations += [{**loc, "event": None} for loc in report.locations]
    return {
        "values": len(organizer_values),
        "found": found,
        "locations": locations,
        "retained": retained,
        "blocked": blocked,
        "seconds": round(time.monotonic() - started, 3),
    }


def erase(req: PersonRequest) -> PersonRequest:
    """erasing → done: find again (the rows as they are now), anonymise, prove, drop the clear-text address.

    Two requests for the same address: the address's rows are erased once; the second finds nothing left."""
    if req.state != PersonState.ERASING:
        return req
    organizer = req.organizer
    with transaction.atomic():
        # one erasure per address at a time: lock the requests of this address (PostgreSQL; SQLite serialises)
        locked = PersonRequest.objects.select_for_update().filter(organizer=organizer, email_hash=req.email_hash)
        if not any(r.pk == req.pk and r.state == PersonState.ERASING for r in locked):
            req.refresh_from_db()
            return req
        h = find_holdings(organizer, req.email, within=checked_events(req))
        findings, counts = dispositions(h)
        values = values_of(h)
        values_by_event = {pk: values_of(h, residual.public_values(e)) for pk, e in h.events.items()}
        affected = erase_holdings(h, values) if not h.empty else []
        # before the lock is released: a request for the same address waiting for it sees that this one erased
        PersonRequest.objects.filter(pk=req.pk, state=PersonState.ERASING).update(
            erased_at=now(), orders_affected=affected
        )
    report = proof(organizer, h, values_by_event, values)
    blocked = _blocked_orders(h)
    PersonRequest.objects.filter(pk=req.pk, state=PersonState.ERASING).update(
        findings=findings if findings["held"] else req.findings,
        counts=counts if findings["held"] else req.counts,
        proof=report, orders_affected=affected, erased_at=now(),
        blocked_orders=sorted(blocked), blocked_until=_blocked_until(h, blocked),
    )  # fmt: skip
    req.refresh_from_db()
    earlier = PersonRequest.objects.filter(organizer=organizer, email_hash=req.email_hash, erased_at__isnull=False)
    message, args = outside_message(h)
    if message:
        pass
    elif not affected and earlier.exclude(pk=req.pk).exists():
        message = "erased_elsewhere"
    else:
        message = "" if findings["held"] else "no_data"
    if not finish(req, PersonState.DONE, message, args, expected=PersonState.ERASING):
        return req
    if req.file_id:  # the export of an erased person is personal data too: it goes with the data
        from pretix.base.models import CachedFile

        CachedFile.objects.filter(pk=req.file_id).delete()
        PersonRequest.objects.filter(pk=req.pk).update(file=None, file_sha256="")
        req.refresh_from_db()
    log(req, "erased", data={"orders": affected, "counts": counts, "proof_found": report["found"]})
    return req


# ---------------------------------------------------------------------------------------------------------------------
# The follow-up: what an erasure had to leave (blocked) is erased once its event is over, by the periodic task


FOLLOW_UP_RETRY = timedelta(hours=1)


def _blocked_until(h: Holdings, blocked: set):
    ends = [h.events[o.event_id].shredder_ends for o in h.orders if o.pk in blocked]
    ends += [h.events[p.order.event_id].shredder_ends for p in h.positions if p.order_id in blocked]
    return max(ends) if ends else None


def due_follow_ups(organizer=None):
    qs = PersonRequest.objects.filter(state=PersonState.DONE, blocked_until__lte=now())
    return qs.filter(organizer=organizer) if organizer is not None else qs


def claim_follow_up(req: PersonRequest) -> bool:
    """Of concurrent periodic runs exactly one takes a due follow-up; a failed one is tried again an hour later."""
    won = PersonRequest.objects.filter(pk=req.pk, state=PersonState.DONE, blocked_until=req.blocked_until).update(
        blocked_until=now() + FOLLOW_UP_RETRY
    )
    req.refresh_from_db()
    return bool(won) and req.blocked_until is not None


def erase_blocked(req: PersonRequest) -> PersonRequest:
    """Erase what the request's erasure left because its event was not over, if it is over now (else wait for the
    new end); the rows are recognised by the keyed hash of the address. Adds ``proof["follow_up"]`` and logs
    ``erased`` again with the order codes (the webhook follows)."""
    if req.state != PersonState.DONE or not req.blocked_orders:
        return req
    organizer = req.organizer
    with transaction.atomic():
        h = holdings_of_orders(organizer, req.blocked_orders, req.email_hash)
        still = _blocked_orders(h)
        if still:  # the event moved: wait for its new end
            PersonRequest.objects.filter(pk=req.pk).update(
                blocked_orders=sorted(still), blocked_until=_blocked_until(h, still)
            )
            req.refresh_from_db()
            return req
        findings, counts = dispositions(h)
        values = values_of(h)
        values_by_event = {pk: values_of(h, residual.public_values(e)) for pk, e in h.events.items()}
        affected = erase_holdings(h, values) if not h.empty else []
    report = proof(organizer, h, values_by_event, values)
    done_at = now().isoformat()
    erased_items = {
        (i["type"], i["ref"])
        for e in findings["events"]
        for i in e["items"]
        if i["disposition"] == ERASED and i["type"] != "log"
    }
    erased_orders = {o.code for o in h.orders} | {p.order.code for p in h.positions}
    old = req.findings or {}
    for event in old.get("events", []):
        for item in event["items"]:
            if item.get("disposition") != BLOCKED:
                continue
            if item["type"] == "log":
                done = item.get("order") in erased_orders
            else:
                done = (item["type"], item["ref"]) in erased_items
            item.pop("why", None), item.pop("when", None)
            if done:
                item.update(disposition=ERASED, erased=done_at)
            else:  # the follow-up left it: its order is not this person's any more
                item.update(disposition=SKIPPED, why="not_theirs_any_more", skipped=done_at)
    old_counts = {**(req.counts or {}), **count_dispositions(old)}
    PersonRequest.objects.filter(pk=req.pk, state=PersonState.DONE).update(
        findings=old, counts=old_counts, proof={**(req.proof or {}), "follow_up": report},
        orders_affected=sorted(set(req.orders_affected) | set(affected)), blocked_orders=[], blocked_until=None,
    )  # fmt: skip
    req.refresh_from_db()
    log(req, "erased", data={"orders": affected, "counts": counts, "proof_found": report["found"], "follow_up": True})
    return req
