"""The organizer page "Personal data by event": one queryset per organizer and the rows built from it, used by
the page and its CSV alike.

A shred counts wherever it was made: every successful shred writes a ``pretix.event.shredder.completed`` log entry,
pretix's control panel on the event and this plugin on its job (kept after the job record's retention). The rows
read those entries - one query per page, whatever the number of events or shreds.
"""

from dataclasses import dataclass, field

from django.db.models import Case, DateTimeField, Exists, Max, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce
from django.utils.timezone import now
from pretix.base.models import LogEntry, SubEvent

from . import jobs, labels

ACTION_COMPLETED = "pretix.event.shredder.completed"
VIEW_PERMISSION = "event.orders:read"

FILTER_UNSHREDDED = "unshredded"  # over and never shredded
ORDERINGS = {"end": ("end_date", "pk"), "-end": ("-end_date", "-pk")}
DEFAULT_ORDERING = "-end"

STATUS_NOT_OVER = "not_over"
STATUS_NEVER = "never"
STATUS_PARTIAL = "partial"
STATUS_DONE = "done"


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
    )


def events_for(user, organizer, request=None, *, only=None, ordering=DEFAULT_ORDERING):
    qs = annotated(visible_events(user, organizer, request))
    if only == FILTER_UNSHREDDED:
        qs = qs.filter(Q(end_date__lt=now()) & Q(shredded=False))
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
    missing: list = field(default_factory=list)  # verbose names of registered shredders never run

    @property
    def status(self) -> str:
        if not self.over:
            return STATUS_NOT_OVER
        if self.last_shred is None:
            return STATUS_NEVER
        if self.missing:
            return STATUS_PARTIAL
        return STATUS_DONE

    @property
    def needs_attention(self) -> bool:
        return self.status in (STATUS_NEVER, STATUS_PARTIAL)


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
        result.append(
            Row(
                event=event,
                end=event.end_date,
                live=event.live,
                over=event.end_date < current,
                last_shred=last,
                shredded=done,
                missing=sorted(str(s.verbose_name) for ident, s in known.items() if ident not in done),
            )
        )
    return result
