"""The organizer page "Personal data by event": one queryset per organizer and the rows built from it, used by
the page and its CSV alike.

A shred counts wherever it was made: every successful shred writes a ``pretix.event.shredder.completed`` log entry,
pretix's control panel on the event and this plugin on its job (kept after the job record's retention). The rows
read those entries - one query per page, whatever the number of events or shreds - and the events' retention
schedules (one more query).

**Red means "act here"** (``Row.needs_attention``): the event is over and personal data is still stored that nothing
covers. Covered is data a shredder removed, data pretix advises keeping (a shredder pretix marks ``tax_relevant``:
invoices, invoice addresses, payment data - kept for a tax audit), and data an active retention schedule will remove
(a hold on the event until its due date). A failed schedule covers nothing: it needs someone to act.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Case, DateTimeField, Exists, Max, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce
from django.utils.timezone import now
from pretix.base.models import LogEntry, SubEvent

from . import jobs, labels
from .models import ACTIVE_SCHEDULE_STATES, ScheduledShred, ScheduleState

ACTION_COMPLETED = "pretix.event.shredder.completed"
VIEW_PERMISSION = "event.orders:read"

FILTER_UNSHREDDED = "unshredded"  # over and never shredded
FILTER_DUE_SOON = "due_soon"  # an active retention schedule due within DUE_SOON
FILTERS = (FILTER_UNSHREDDED, FILTER_DUE_SOON)
DUE_SOON = timedelta(days=14)
ORDERINGS = {"end": ("end_date", "pk"), "-end": ("-end_date", "-pk")}
DEFAULT_ORDERING = "-end"

STATUS_NOT_OVER = "not_over"
STATUS_NEVER = "never"
STATUS_PARTIAL = "partial"
STATUS_DONE = "done"
STATUS_SCHEDULED = "scheduled"  # over, and what is not shredded yet an active schedule will shred
STATUS_SCHEDULE_FAILED = "schedule_failed"  # the last attempt of the event's retention schedule failed
ATTENTION = (STATUS_NEVER, STATUS_PARTIAL, STATUS_SCHEDULE_FAILED)


def visible_events(user, organizer, request=None):
    """The organizer's events whose orders this user may view (all of them in an admin session)."""
    return user.get_events_with_permission(VIEW_PERMISSION, request).filter(organizer=organizer)


def annotated(events):
    """End date (a series: its last date), "over" and "shredded at least once" as columns, so that they can be
    filtered and sorted in the database."""
    own_end = Coalesce("date_to", "date_from")
    last_date = (
        SubEvent.objects.filter(event=OuterRef("pk"))
        .order_by()
        .values("event")
        .annotate(m=Max(Coalesce("date_to", "date_from")))
        .values("m")
    )
    return events.select_related("organizer").annotate(
        end_date=Case(
            When(has_subevents=True, then=Coalesce(Subquery(last_date), own_end)),
            default=own_end,
            output_field=DateTimeField(),
        ),
        shredded=Exists(LogEntry.objects.filter(event=OuterRef("pk"), action_type=ACTION_COMPLETED)),
        schedule_due=Subquery(
            ScheduledShred.objects.filter(event=OuterRef("pk"), state__in=ACTIVE_SCHEDULE_STATES).values("due")[:1]
        ),
    )


def events_for(user, organizer, request=None, *, only=None, ordering=DEFAULT_ORDERING):
    qs = annotated(visible_events(user, organizer, request))
    if only == FILTER_UNSHREDDED:
        qs = qs.filter(Q(end_date__lt=now()) & Q(shredded=False))
    elif only == FILTER_DUE_SOON:
        qs = qs.filter(schedule_due__isnull=False, schedule_due__lte=now() + DUE_SOON)
    return qs.order_by(*ORDERINGS.get(ordering, ORDERINGS[DEFAULT_ORDERING]))


@dataclass
class Shred:
    when: object
    who: str
    shredders: list
    source: str  # "api" or "control"
    job: str | None


@dataclass
class Row:
    event: object
    end: object
    live: bool
    over: bool
    last_shred: Shred | None
    shredded: set = field(default_factory=set)
    missing: list = field(default_factory=list)  # names of shredders never run that nothing covers (act here)
    kept: list = field(default_factory=list)  # names of tax-relevant shredders never run (kept, as pretix advises)
    schedule: ScheduledShred | None = None  # the active retention schedule, else the latest one
    schedule_shredders: list = field(default_factory=list)  # its shredders' names

    @property
    def schedule_active(self) -> bool:
        return self.schedule is not None and self.schedule.state in ACTIVE_SCHEDULE_STATES

    @property
    def status(self) -> str:
        if not self.over:
            return STATUS_NOT_OVER
        if self.schedule_active and self.schedule.state == ScheduleState.FAILED:
            return STATUS_SCHEDULE_FAILED
        if not self.missing and self.schedule_active:
            return STATUS_SCHEDULED
        if self.last_shred is None and (self.missing or not self.kept):
            return STATUS_NEVER
        if self.missing:
            return STATUS_PARTIAL
        return STATUS_DONE

    @property
    def needs_attention(self) -> bool:
        """Red: personal data still stored that no retention ground (tax-relevant) or hold (a schedule) covers."""
        return self.status in ATTENTION


def schedules_of(event_ids) -> dict:
    """Event id → its active schedule, else its most recent one (one query for all the events)."""
    found = {}
    for s in ScheduledShred.objects.filter(event_id__in=event_ids).order_by("event_id", "-created", "-id"):
        current = found.get(s.event_id)
        if current is None or (s.state in ACTIVE_SCHEDULE_STATES and current.state not in ACTIVE_SCHEDULE_STATES):
            found[s.event_id] = s
    return found


def rows(events) -> list[Row]:
    """Rows for these (annotated) events, reading all their completed shreds in one query."""
    events = list(events)
    entries = (
        LogEntry.objects.filter(event_id__in=[e.pk for e in events], action_type=ACTION_COMPLETED)
        .select_related("user", "api_token__team", "oauth_application")
        .order_by("-datetime", "-pk")
    )
    by_event = {}
    for entry in entries:
        by_event.setdefault(entry.event_id, []).append(entry)
    schedules = schedules_of([e.pk for e in events])

    current = now()
    result = []
    for event in events:
        known = event.get_data_shredders()
        shreds = by_event.get(event.pk, [])
        done = set()
        for entry in shreds:
            done.update(jobs.logged_shredders(entry))
        last = None
        if shreds:
            entry = shreds[0]
            job = jobs.logged_job_id(entry)
            last = Shred(
                when=entry.datetime,
                who=labels.logentry_credential(entry),
                shredders=labels.shredder_names(event, jobs.logged_shredders(entry), known),
                source="api" if job else "control",
                job=job,
            )
        schedule = schedules.get(event.pk)
        held = set()
        if schedule is not None and schedule.state in ACTIVE_SCHEDULE_STATES and schedule.state != ScheduleState.FAILED:
            held = set(schedule.shredders)
        open_ = {ident: s for ident, s in known.items() if ident not in done}
        result.append(
            Row(
                event=event,
                end=event.end_date,
                live=event.live,
                over=event.end_date is not None and event.end_date < current,
                last_shred=last,
                shredded=done,
                missing=sorted(str(s.verbose_name) for i, s in open_.items() if not s.tax_relevant and i not in held),
                kept=sorted(str(s.verbose_name) for i, s in open_.items() if s.tax_relevant and i not in held),
                schedule=schedule,
                schedule_shredders=labels.shredder_names(event, schedule.shredders, known) if schedule else [],
            )
        )
    return result
