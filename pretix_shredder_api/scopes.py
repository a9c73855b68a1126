"""What a job shreds: the whole event, or a scope below it - the orders of some dates (sub-events) of a series, or the
orders whose products' validity ended. One representation, taken by the export, the shred, the "changed after the
export" guard and the residual scan alike.

A scope below the event is resolved once, when its export starts, into the set of its orders; that set is stored on
the job (``ShredderJob.scope``) and is what the export contains and the shred deletes, however the shop changes in
between. An order belongs to a scope only if *every* one of its positions (cancelled ones included) is over: an order
with one position on a past and one on a coming date waits until all of its dates are over.

- ``dates``: positions on sub-events that ended (``date_to``, else ``date_from``) at least N days ago, or on named
  sub-events that are all over.
- ``validity``: positions whose validity ended at least N days ago: the position's ``valid_until``, else its product's
  fixed end of validity. A position without an end of validity holds its order back.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from pretix.base.i18n import LazyLocaleException
from pretix.base.models import (
    Invoice,
    Order,
    OrderPayment,
    OrderPosition,
    OrderRefund,
    QuestionAnswer,
    SubEvent,
    WaitingListEntry,
)

EVENT = "event"
DATES = "dates"
VALIDITY = "validity"
MAX_DAYS = 36500
# The models whose log entries belong to an order (pretix logs most order changes on the order itself).
ORDER_LOG_MODELS = (Order, OrderPosition, OrderPayment, OrderRefund, Invoice, QuestionAnswer)


class ScopeError(LazyLocaleException):
    """A scope that cannot be shredded (now); ``str()`` gives the translated message. ``jobs`` makes it a
    ``ConstraintError`` (400 in the API)."""


MSG_NO_ORDERS = _("No order of this event is completely over in this scope: there is nothing to shred.")
MSG_NOT_OVER = _("These dates are not over yet: %(list)s")
MSG_UNKNOWN_DATES = _("These dates do not belong to this event: %(list)s")
MSG_NOT_A_SERIES = _("This event has no dates; name dates only for an event series.")
MSG_ORDERS_NOT_OVER = _(
    "Some orders of this scope now have positions that are not over (an order waits until all of its dates or "
    "validities are over), please start a new export."
)


@dataclass(frozen=True)
class Scope:
    kind: str = EVENT  # event | dates | validity
    subevents: tuple = ()  # dates: the sub-events whose orders may be in it (named, or ended by then)
    orders: tuple = ()  # the order ids, fixed when the export started
    codes: tuple = ()  # their order codes (what the export's index and the API show; no personal data)
    ended_days_ago: int | None = None

    @property
    def is_event(self) -> bool:
        return self.kind == EVENT

    # -- stored on the job --------------------------------------------------------------------------------------------

    def as_json(self) -> dict:
        if self.is_event:
            return {}
        return {
            "kind": self.kind,
            "subevents": list(self.subevents),
            "orders": list(self.orders),
            "codes": list(self.codes),
            "ended_days_ago": self.ended_days_ago,
        }

    @classmethod
    def from_json(cls, data) -> "Scope":
        if not data or not isinstance(data, dict) or data.get("kind", EVENT) == EVENT:
            return WHOLE_EVENT
        return cls(
            kind=data["kind"],
            subevents=tuple(data.get("subevents") or ()),
            orders=tuple(data.get("orders") or ()),
            codes=tuple(data.get("codes") or ()),
            ended_days_ago=data.get("ended_days_ago"),
        )

    def summary(self) -> dict:
        """What the export's index.json and the shred's log entries say about the scope (no personal data)."""
        if self.is_event:
            return {}
        return {
            "kind": self.kind,
            "subevents": list(self.subevents),
            "orders": len(self.orders),
            "ended_days_ago": self.ended_days_ago,
        }

    # -- the rows in the scope ----------------------------------------------------------------------------------------

    def order_q(self, event, path: str = "order") -> Q:
        """The rows (reached through ``path`` to ``Order``) of the scope's orders."""
        if self.is_event:
            return Q(**{f"{path}__event": event})
        return Q(**{f"{path}__event": event, f"{path}__pk__in": self.orders})

    def restrict(self, queryset, path: str | None = "order"):
        """``queryset`` (of the event's rows, reached through ``path`` to ``Order``; ``None``: of orders) cut down to
        the scope's orders: unchanged for the whole event, else one ``IN`` of the stored order ids - the same
        queries whatever the size of the event around the scope."""
        if self.is_event:
            return queryset
        return queryset.filter(**{f"{path}__in" if path else "pk__in": self.orders})

    def orders_of(self, event):
        return event.orders.filter(pk__in=self.orders) if not self.is_event else event.orders.all()

    def positions_of(self, event):
        return OrderPosition.all.filter(self.order_q(event))

    def answers_of(self, event):
        """Answers of the positions and of the orders (order-level questions)."""
        return QuestionAnswer.objects.filter(self.order_q(event, "orderposition__order") | self.order_q(event))

    def waiting_list_of(self, event):
        """The event's waiting list; in a scope of dates, the entries for those dates; none for a validity scope."""
        if self.is_event:
            return event.waitinglistentries.all()
        if self.kind == DATES and self.subevents:
            return WaitingListEntry.objects.filter(event=event, subevent_id__in=self.subevents)
        return WaitingListEntry.objects.none()

    def log_entries_of(self, event):
        """The event's log entries; in a scope, those about its orders (and their positions, payments, refunds,
        invoices, answers) and its waiting-list entries."""
        if self.is_event:
            return event.logentry_set.all()
        types = ContentType.objects.get_for_models(*ORDER_LOG_MODELS)
        q = Q(content_type=types[Order], object_id__in=self.orders)
        for model, path in (
            (OrderPosition, "order"),
            (OrderPayment, "order"),
            (OrderRefund, "order"),
            (Invoice, "order"),
            (QuestionAnswer, None),
        ):
            if path is None:
                ids = self.answers_of(event).values("pk")
            else:
                ids = model.objects.filter(self.order_q(event, path)).values("pk")
            q |= Q(content_type=types[model], object_id__in=ids)
        wl = self.waiting_list_of(event)
        if self.kind == DATES and self.subevents:
            q |= Q(content_type=ContentType.objects.get_for_model(WaitingListEntry), object_id__in=wl.values("pk"))
        return event.logentry_set.filter(q)


WHOLE_EVENT = Scope()


# ---------------------------------------------------------------------------------------------------------------------
# Resolving a request into a scope


def _end(prefix: str = "") -> tuple:
    return f"{prefix}date_to", f"{prefix}date_from"


def subevent_over_q(cutoff, prefix: str = "subevent__") -> Q:
    """Sub-events that ended by ``cutoff`` (``date_to``, else ``date_from``)."""
    to, frm = _end(prefix)
    return Q(**{f"{to}__lte": cutoff}) | Q(**{f"{to}__isnull": True, f"{frm}__lte": cutoff})


def ended_subevents(event, cutoff) -> set:
    """Ids of the event's dates that ended by ``cutoff``."""
    return set(SubEvent.objects.filter(subevent_over_q(cutoff, prefix=""), event=event).values_list("pk", flat=True))


def dates_over_q(subevent_ids) -> Q:
    """Positions on these dates (read first, so that the positions are compared by their own column)."""
    return Q(subevent_id__in=sorted(subevent_ids))


def validity_over_q(event, cutoff) -> Q:
    """Positions whose validity ended by ``cutoff``: their own ``valid_until``, else their product's fixed end (the
    products read first, as for the dates)."""
    from pretix.base.models import Item

    items = Item.objects.filter(event=event, validity_mode=Item.VALIDITY_MODE_FIXED, validity_fixed_until__lte=cutoff)
    ended_items = sorted(items.values_list("pk", flat=True))
    return Q(valid_until__lte=cutoff) | Q(valid_until__isnull=True, item_id__in=ended_items)


def orders_over(event, position_over: Q):
    """Orders of the event that have positions and all of whose positions (cancelled ones too) match
    ``position_over`` (a condition on the position's own columns).

    Two uncorrelated subqueries (the orders with positions, the orders with a position not over), each read once: a
    correlated ``EXISTS`` per order let SQLite search each order's positions through the organizer index (the
    organizer condition pretix's scoped managers add in a request) - 35 s for 10,000 orders."""
    positions = OrderPosition.all.filter(order__event=event)
    held_back = positions.exclude(position_over).values("order_id")
    return event.orders.filter(pk__in=positions.values("order_id")).exclude(pk__in=held_back)


def _freeze(event, kind, queryset, subevents=(), days=None) -> Scope:
    rows = list(queryset.order_by("code").values_list("pk", "code"))
    if not rows:
        raise ScopeError(MSG_NO_ORDERS)
    return Scope(
        kind=kind,
        subevents=tuple(sorted(subevents)),
        orders=tuple(pk for pk, _c in rows),
        codes=tuple(c for _p, c in rows),
        ended_days_ago=days,
    )


def for_subevents(event, subevent_ids) -> Scope:
    """The orders all of whose positions are on these dates, which must all be over."""
    if not event.has_subevents:
        raise ScopeError(MSG_NOT_A_SERIES)
    ids = sorted(set(subevent_ids))
    found = {se.pk: se for se in SubEvent.objects.filter(event=event, pk__in=ids)}
    unknown = [str(i) for i in ids if i not in found]
    if unknown:
        raise ScopeError(MSG_UNKNOWN_DATES, {"list": ", ".join(unknown[:10])})
    ended = set(SubEvent.objects.filter(subevent_over_q(now(), prefix=""), pk__in=ids).values_list("pk", flat=True))
    coming = [str(i) for i in ids if i not in ended]
    if coming:
        raise ScopeError(MSG_NOT_OVER, {"list": ", ".join(coming[:10])})
    orders = orders_over(event, dates_over_q(ids))
    return _freeze(event, DATES, orders, ids)


def position_over_q(event, cutoff) -> Q:
    """Positions that are over by ``cutoff``: on a date that ended (a series), else whose validity ended."""
    return dates_over_q(ended_subevents(event, cutoff)) if event.has_subevents else validity_over_q(event, cutoff)


def for_ended(event, days: int, at=None, exclude_orders=()) -> Scope:
    """A series: the orders all of whose dates ended at least ``days`` ago. Without dates: the orders all of whose
    positions' validity ended at least ``days`` ago. ``at``: counted back from then (default now);
    ``exclude_orders``: order ids left out (the retention scheduler's orders already shredded)."""
    cutoff = (at or now()) - timedelta(days=days)
    if event.has_subevents:
        ids = ended_subevents(event, cutoff)
        orders = orders_over(event, dates_over_q(ids)).exclude(pk__in=list(exclude_orders))
        return _freeze(event, DATES, orders, ids, days)
    orders = orders_over(event, validity_over_q(event, cutoff)).exclude(pk__in=list(exclude_orders))
    return _freeze(event, VALIDITY, orders, (), days)


def check_over(event, scope: Scope) -> None:
    """Before a scope's shred: every order of it must still be completely over (an order changed since - a position
    on a coming date added - waits for a new export). The shop may stay online."""
    if scope.is_event:
        return
    if scope.kind == DATES:
        ended = ended_subevents(event, now())
        if scope.ended_days_ago is None:
            ended &= set(scope.subevents)
        over = dates_over_q(ended)
    else:
        over = validity_over_q(event, now())
    held_back = OrderPosition.all.filter(order__event=event, order_id__in=scope.orders).exclude(over)
    if held_back.exists():
        raise ScopeError(MSG_ORDERS_NOT_OVER)
