"""Retention per date (issue 21): the policy's ``dates`` mode, for event series and shops without dates.

In the ``event`` mode the scheduler shreds a whole event some days after it is over (``retention``). In the ``dates``
mode it shreds, ``days_after_event`` days after each date of a series (or after the end of an order's validity in a
shop without dates), the orders that are completely over by then (``scopes.for_ended``): the shop stays online, the
event need not be over. An order with a position on a coming date waits until all of its dates are over.

The schedule is the event mode's (``ScheduledShred`` and every step in ``retention``: the notice, the minimum notice,
cancel, postpone, the mails, the webhooks, failures and retries). What this module adds:

* **One schedule at a time per event** (the constraint of the event mode holds): it is planned when the first order
  that is not yet handled is over, due ``days_after_event`` after that order's end (never sooner than a full notice
  period from now), and covers every order over ``days_after_event`` before its due date. Its scope is resolved when
  it is planned and again when its export starts (at the notice time), and then fixed: the export, the guard
  "changed after the export" and the shred take exactly those orders. Orders that end later go to the next schedule,
  planned by the first run after this one has ended (done, cancelled, dropped).
* **Handled orders**: the orders of a schedule that is done (shredded) or cancelled (a person decided to keep them)
  are not planned again. A dropped schedule's orders are planned again.
* A dates schedule is dropped (not shredded) when the policy's mode changes, or before its shred when none of its
  orders is completely over any more.

Imports nothing of ``retention`` (which calls in here): everything it needs is given as arguments.
"""

from datetime import datetime, timedelta

from django.db.models import Exists, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from pretix.base.models import Event, OrderPosition

from . import scopes
from .models import ACTIVE_SCHEDULE_STATES, ScheduledShred, ScheduleState

EVENT_MODE = "event"
DATES_MODE = "dates"
MODES = {
    EVENT_MODE: _("After the end of the event (for a series: of its last date)"),
    DATES_MODE: _("After each date (a shop without dates: after the end of each order's validity)"),
}
MODE_SETTING = "shredder_retention_mode"

MSG_UNKNOWN_MODE = _('Please choose "event" or "dates".')
MSG_MODE_CHANGED = _("The mode of the retention policy was changed.")
MSG_NOTHING_DUE = _("None of the orders of this scheduled shred is completely over any more.")

# The states whose orders are not planned again.
HANDLED_STATES = (ScheduleState.DONE, ScheduleState.CANCELLED)


def is_dated(s: ScheduledShred) -> bool:
    return s.mode == DATES_MODE


def scope_of(s: ScheduledShred) -> scopes.Scope:
    """What the schedule shreds: the whole event, or the orders of its scope."""
    return scopes.Scope.from_json(s.scope) if is_dated(s) else scopes.WHOLE_EVENT


# ---------------------------------------------------------------------------------------------------------------------
# Which events to plan, which orders are due


def events_to_plan(enabled_key: str):
    """Events whose effective policy may be on and in the dates mode (their own setting or their organizer's) and
    that have no active schedule."""
    active = ScheduledShred.objects.filter(event=OuterRef("pk"), state__in=ACTIVE_SCHEDULE_STATES)
    return (
        Event.objects.filter(
            Q(_settings_objects__key=enabled_key, _settings_objects__value="True")
            | Q(organizer___settings_objects__key=enabled_key, organizer___settings_objects__value="True")
        )
        .filter(
            Q(_settings_objects__key=MODE_SETTING, _settings_objects__value=DATES_MODE)
            | Q(organizer___settings_objects__key=MODE_SETTING, organizer___settings_objects__value=DATES_MODE)
        )
        .exclude(Exists(active))
        .select_related("organizer")
        .distinct()
    )


def handled_orders(event) -> set:
    """Ids of the orders of this event's dates schedules that are done or cancelled."""
    handled = set()
    for scope in ScheduledShred.objects.filter(event=event, mode=DATES_MODE, state__in=HANDLED_STATES).values_list(
        "scope", flat=True
    ):
        handled.update((scope or {}).get("orders") or ())
    return handled


def _order_end(event):
    """A subquery: the end of an order - its last date's end (``date_to``, else ``date_from``), or the last end of
    its positions' validity."""
    if event.has_subevents:
        end = Coalesce("subevent__date_to", "subevent__date_from")
    else:
        end = Coalesce("valid_until", "item__validity_fixed_until")
    return Subquery(
        OrderPosition.all.filter(order=OuterRef("pk"))
        .annotate(end=end)
        .order_by()
        .values("order")
        .annotate(last=Max("end"))
        .values("last")[:1]
    )


def first_end(event, at: datetime, only=None, exclude=()) -> datetime | None:
    """The earliest end among the orders completely over at ``at`` (of ``only``, the ids of a scope; minus
    ``exclude``), or None."""
    orders = scopes.orders_over(event, scopes.position_over_q(event, at))
    if only is not None:
        orders = orders.filter(pk__in=list(only))
    if exclude:
        orders = orders.exclude(pk__in=list(exclude))
    return orders.annotate(end=_order_end(event)).aggregate(first=Min("end"))["first"]


# ---------------------------------------------------------------------------------------------------------------------
# Planning (``retention`` calls these with the policy's values)


def resolve(event, days: int, due: datetime) -> scopes.Scope | None:
    """The orders a schedule due at ``due`` shreds: completely over ``days`` before it, not yet handled; None if
    there is none."""
    try:
        return scopes.for_ended(event, days, at=due, exclude_orders=handled_orders(event))
    except scopes.ScopeError:
        return None


def plan(event, days: int, notice: timedelta, at: datetime) -> tuple | None:
    """(notice time, due time, scope) of the next dates schedule, or None when no order is due: due ``days`` after
    the end of the first order not yet handled, never sooner than the full notice from ``at`` (now)."""
    first = first_end(event, at, exclude=handled_orders(event))
    if first is None:
        return None
    due = max(first + timedelta(days=days), at + notice)
    scope = resolve(event, days, due)
    return None if scope is None else (due - notice, due, scope)


def target(s: ScheduledShred, event, days: int, at: datetime) -> datetime | None:
    """When a dates schedule's shred is wanted before any notice: ``days`` after the end of the first of its orders
    that is still over (None if none is)."""
    first = first_end(event, at, only=scope_of(s).orders)
    return None if first is None else first + timedelta(days=days)


def drop_reason(s: ScheduledShred, event, policy_mode: str, at: datetime):
    """Why a dates schedule is no longer due (None if it is): the mode changed, or none of its orders is over."""
    if policy_mode != s.mode:
        return MSG_MODE_CHANGED
    if is_dated(s) and target(s, event, 0, at) is None:
        return MSG_NOTHING_DUE
    return None


def available_shredders(event, wanted: list[str]) -> list[str]:
    """The policy's shredders a scope of this event offers (pretix's built-in ones restricted to the scope and this
    plugin's completing ones; a plugin's own shredder cannot be restricted to a scope), in the policy's order."""
    from .scope_shredders import offered_for_scopes

    kind = scopes.DATES if event.has_subevents else scopes.VALIDITY
    known = offered_for_scopes(event, kind)
    return [s for s in wanted if s in known]


def log_extra(s: ScheduledShred) -> dict:
    """What a dates schedule's log entries (and webhooks) add: the mode, and the number of orders and the dates."""
    if not is_dated(s):
        return {}
    scope = scope_of(s)
    return {"mode": DATES_MODE, "orders": len(scope.orders), "subevents": list(scope.subevents)}
