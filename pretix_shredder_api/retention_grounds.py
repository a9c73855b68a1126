"""Why personal data of an event is still stored, and until when (issue 21 item 5): the ground and the end date the
residual page shows for each location the residual scan found.

* a table a **legal hold** keeps (``retention_hold``): "kept N years for tax law", until its stage two is due (its
  schedule's date, else the end of the period once the event is over);
* anything else under an active **retention policy**: until the event's active schedule is due (None while none is
  planned: the event is not over, or in the dates mode no order is due yet);
* **no policy**: kept until a person shreds it (None).
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext_lazy as _

from . import retention, retention_hold
from .models import ACTIVE_SCHEDULE_STATES, ScheduledShred

# The tables a tax-relevant shredder clears (what a hold of it keeps).
HELD_TABLES = {
    "invoices": {"pretixbase_invoice", "pretixbase_invoiceline"},
    "invoice_addresses": {"pretixbase_invoiceaddress"},
    "payment_info": {"pretixbase_orderpayment", "pretixbase_orderrefund"},
    "payment_details": {"pretixbase_orderpayment", "pretixbase_orderrefund", "banktransfer_banktransaction"},
}

GROUND_HOLD = _("Legal hold: kept {years} years for tax law ({shredders})")
GROUND_POLICY = _("Retention policy")
GROUND_NONE = _("No retention policy: kept until someone shreds it")


@dataclass(frozen=True)
class Ground:
    text: str
    until: datetime | None


def grounds(event, locations) -> list:
    """``[(location, Ground)]`` for the residual scan's locations (``{"table", "column", "action_type", "count"}``)."""
    policy = retention.policy_of(event)
    active = ScheduledShred.objects.filter(event=event, state__in=ACTIVE_SCHEDULE_STATES).first()
    stage_two = {
        s.hold_years: s.due
        for s in ScheduledShred.objects.filter(event=event, hold_years__isnull=False, state__in=ACTIVE_SCHEDULE_STATES)
    }
    over = retention.is_over(event)
    out = []
    for loc in locations:
        held = [s for s, tables in HELD_TABLES.items() if s in policy.hold and loc.get("table") in tables]
        if policy.enabled and held:
            years = max(policy.hold[s] for s in held)
            until = stage_two.get(years) or (
                retention_hold.period_end(event, retention.event_end(event), years) if over else None
            )
            text = str(GROUND_HOLD).format(years=years, shredders=", ".join(held))
            out.append((loc, Ground(text, until)))
        elif policy.enabled:
            until = active.due if active is not None and active.hold_years is None else None
            out.append((loc, Ground(str(GROUND_POLICY), until)))
        else:
            out.append((loc, Ground(str(GROUND_NONE), None)))
    return out
