"""The on-demand residual scan, bounded: ``GET P residual/`` and the control page *Personal data left* ask here.

A scan reads every row, log entry and file of the event (seconds on a big event), so it is never run once per
request. One result per event is stored (``ResidualScan``: counts and locations, never values) and served to every
caller that may read it, as long as

* the event looks as it did when that scan started - the *fingerprint*: its newest log entry, its most recent order
  change and its number of orders (pretix logs every change of personal data; a shred logs too), and
* it is younger than ``[shredder_api] residual_cache_seconds`` (600 by default), for changes that leave no trace.

Only one scan of an event runs at a time (a claim on the row, given up after ``stale_after_seconds`` if the process
died); a request that finds one running gets ``ScanRunning`` (the API's 429 with ``Retry-After``). So a credential
that may only read - it cannot change the event - makes the server scan an event at most once per
``residual_cache_seconds``, however often and however many at once it asks.
"""

import math
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from pretix.base.models import LogEntry, Order

from . import jobs, residual
from .models import ResidualScan

DEFAULT_CACHE_SECONDS = 600
RETRY_AFTER_MIN, RETRY_AFTER_MAX = 2, 60
DEFAULT_SCAN_SECONDS = 5  # the guess for an event never scanned before


def cache_seconds() -> int:
    return max(0, jobs.config_int("residual_cache_seconds", DEFAULT_CACHE_SECONDS))


class ScanRunning(jobs.JobError):
    """Another request is scanning this event right now."""

    def __init__(self, retry_after: int):
        super().__init__(
            _("A scan of this event is running right now. Please try again in {seconds} seconds.").format(
                seconds=retry_after
            )
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Result:
    report: residual.Report
    checked_at: object  # when the scan started
    fresh: bool  # scanned for this request (else: the stored result of an earlier one)


def fingerprint(event) -> str:
    """What changes when the event's personal data may have changed: three indexed aggregates, no scan."""
    log = LogEntry.all.filter(event=event).aggregate(m=Max("pk"))["m"]
    orders = Order.objects.filter(event=event).aggregate(m=Max("last_modified"), n=Count("pk"))
    changed = orders["m"].isoformat() if orders["m"] else "-"
    return f"log:{log or 0}|orders:{orders['n']}@{changed}"


def _row(event) -> ResidualScan:
    try:
        with transaction.atomic():
            return ResidualScan.objects.get_or_create(event=event)[0]
    except IntegrityError:  # created by a concurrent request meanwhile
        return ResidualScan.objects.get(event=event)


def _usable(row: ResidualScan, print_: str) -> bool:
    if row.checked_at is None or row.found is None or row.fingerprint != print_:
        return False
    limit = cache_seconds()
    return limit > 0 and (now() - row.checked_at).total_seconds() < limit


def _retry_after(row: ResidualScan) -> int:
    """When the running scan should be done: the last scan's duration minus the time it has run (2-60 s)."""
    row.refresh_from_db(fields=["running_since", "seconds"])
    elapsed = (now() - row.running_since).total_seconds() if row.running_since else 0
    remaining = (row.seconds if row.seconds is not None else DEFAULT_SCAN_SECONDS) - elapsed
    return int(min(RETRY_AFTER_MAX, max(RETRY_AFTER_MIN, math.ceil(remaining))))


def check(event) -> Result:
    """The event's residual report: the stored one if still valid, else a new scan (one at a time per event)."""
    current = fingerprint(event)
    row = _row(event)
    if _usable(row, current):
        stored = residual.Report(values=row.values, found=row.found, locations=list(row.locations))
        return Result(stored, row.checked_at, fresh=False)
    free = Q(running_since__isnull=True) | Q(running_since__lt=now() - jobs.stale_after())
    if not ResidualScan.objects.filter(free, pk=row.pk).update(running_since=now()):
        raise ScanRunning(_retry_after(row))
    started, clock = now(), time.monotonic()
    try:
        report = residual.check(event)
    except BaseException:
        ResidualScan.objects.filter(pk=row.pk).update(running_since=None)
        raise
    ResidualScan.objects.filter(pk=row.pk).update(
        fingerprint=current,  # as it was when the scan started: a change during the scan makes the next one fresh
        checked_at=started,
        values=report.values,
        found=report.found,
        locations=report.locations,
        seconds=round(time.monotonic() - clock, 3),
        running_since=None,
    )
    return Result(report, started, fresh=True)
