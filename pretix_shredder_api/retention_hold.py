"""The legal hold (issue 21 item 5): two-stage retention for tax records.

Tax law wants invoices, invoice addresses and payment records kept for years (Germany: 10, §147 AO, §14b UStG) and
then deleted. The policy's ``hold`` (``{"invoices": 10, "invoice_addresses": 10}``) names tax-relevant shredders of
the policy and the years they are kept:

* **Stage one** is the event mode's schedule: it runs the policy's shredders except the held ones, on the usual date.
* **Stage two**: once stage one is done, the scheduler plans a schedule per hold period (``ScheduledShred.hold_years``,
  one at a time, the shortest first) that runs the shredders held that long - with the notice, cancel, postpone,
  mails and webhooks of any scheduled shred. It is due at the end of the period: at the end of the calendar year N
  years after the year of the event's end or of its last invoice, whichever is later (the German rule counts from
  the end of the calendar year in which the invoice was issued).

A hold works with the policy's ``event`` mode only (the dates mode refuses it). Tax-relevant shredders are pretix's
(``tax_relevant``: invoices, invoice addresses, payment information) and this plugin's payment details; running one
outside the policy needs ``permissions.run_tax_relevant``.

Imports nothing of ``retention`` (which calls in here).
"""

from datetime import datetime, time

from django.db.models import Max
from django.utils.translation import gettext_lazy as _
from pretix.base.models import Invoice

from .models import ACTIVE_SCHEDULE_STATES, ScheduledShred, ScheduleState

MAX_YEARS = 100

MSG_NOT_TAX_RELEVANT = _('"{identifier}" is not a tax-relevant data shredder; only those can be kept longer.')
MSG_NOT_IN_POLICY = _('"{identifier}" is not one of the policy\'s data shredders.')
MSG_YEARS = _("Please give the years to keep as a whole number from 1 to 100.")
MSG_NOT_A_DICT = _('Please give the legal hold as an object like {"invoices": 10}.')
MSG_ONLY_EVENT_MODE = _('A legal hold works with the mode "event" only.')
MSG_HOLD_CHANGED = _(
    "The legal hold of the policy no longer keeps these data shredders this long; the kept data stays until a "
    "person shreds it or a new hold ends."
)


def tax_relevant() -> set:
    """Identifiers of the tax-relevant shredders: pretix's own with ``tax_relevant`` and this plugin's."""
    from pretix.base.shredder import register_core_shredders

    from .shredders import COMPLETING

    return {
        c.identifier for c in [*register_core_shredders(None), *COMPLETING] if c.__dict__.get("tax_relevant") is True
    }


def problems(hold, shredders, mode: str, event_mode: str) -> list:
    """Messages for a hold that cannot be stored (checked on the merged, effective policy)."""
    if not hold:
        return []
    if not isinstance(hold, dict):
        return [MSG_NOT_A_DICT]
    out = []
    if mode != event_mode:
        out.append(MSG_ONLY_EVENT_MODE)
    relevant = tax_relevant()
    for identifier, years in hold.items():
        if identifier not in relevant:
            out.append(MSG_NOT_TAX_RELEVANT.format(identifier=str(identifier)[:100]))
        elif identifier not in shredders:
            out.append(MSG_NOT_IN_POLICY.format(identifier=str(identifier)[:100]))
        if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= MAX_YEARS:
            out.append(MSG_YEARS)
    return list(dict.fromkeys(out))


def wanted(hold_years, shredders, hold: dict) -> list:
    """The shredders a schedule runs under the policy: stage one (``hold_years`` None) all but the held ones; a
    stage two those held ``hold_years`` years."""
    hold = hold or {}
    if hold_years is None:
        return [s for s in shredders if s not in hold]
    return [s for s in shredders if hold.get(s) == hold_years]


def next_stage(event, hold: dict) -> int | None:
    """The hold period (years) whose stage two is to be planned now, or None: stage one is done, no schedule is
    active, and this period has no stage two yet (dropped ones are planned again)."""
    if not hold:
        return None
    schedules = ScheduledShred.objects.filter(event=event, mode="event")
    if not schedules.filter(hold_years__isnull=True, state=ScheduleState.DONE).exists():
        return None
    if ScheduledShred.objects.filter(event=event, state__in=ACTIVE_SCHEDULE_STATES).exists():
        return None
    planned = set(
        schedules.filter(hold_years__isnull=False)
        .exclude(state=ScheduleState.DROPPED)
        .values_list("hold_years", flat=True)
    )
    for years in sorted(set(hold.values())):
        if years not in planned:
            return years
    return None


def events_with_stage_one_done():
    """Events whose stage one is done (candidates for a stage two)."""
    from pretix.base.models import Event

    done = ScheduledShred.objects.filter(mode="event", hold_years__isnull=True, state=ScheduleState.DONE)
    return Event.objects.filter(pk__in=done.values("event_id")).select_related("organizer")


def period_end(event, event_end: datetime, years: int) -> datetime:
    """The end of a hold: the start of the calendar year after the year (N years after the event's end or its last
    invoice, whichever is later), in the event's time zone."""
    last_invoice = Invoice.objects.filter(event=event).aggregate(last=Max("date"))["last"]
    year = event_end.astimezone(event.timezone).year
    if last_invoice is not None:
        year = max(year, last_invoice.year)
    return datetime.combine(datetime(year + years + 1, 1, 1).date(), time(0, 0), tzinfo=event.timezone)


def log_extra(s: ScheduledShred) -> dict:
    return {} if s.hold_years is None else {"hold_years": s.hold_years}
