"""Retention: shredding that happens by itself some days after an event ended, with notice and a cancel window.

* **Policy** - per organizer in ``organizer.settings``, overridable per event in ``event.settings`` (pretix's
  settings hierarchy): on/off, which shredders, days after the event's end, days of notice. Default: off.
* **Schedule** - one ``ScheduledShred`` per event and run. The periodic task calls :func:`run_schedule`, which
  creates schedules for events that ended and moves each active one a step on:

  ``scheduled`` ─(notice time: due − notice days)─▶ ``exporting`` ─(export done, admins mailed)─▶ ``noticed``
  ─(due)─▶ ``shredding`` ─▶ ``done``; any step may end in ``failed`` (reported: state, log entry, mail), which the
  next run retries from where it failed. ``cancelled`` (by a person; its export is deleted) and ``dropped`` (the
  event is not over any more, or its policy was switched off before the shred started) are final.

  The export is made at notice time, so admins can download it during the whole notice period; the shred at the
  due date shreds exactly that export - if the event changed after it, the run fails (reported) and the next one
  makes a new export. Nothing is shredded that was not exported first.
* **Notice** - at least ``min_notice_days`` (one day, pretix.cfg may raise it). The shred always comes at least the
  notice period after the notice mail that announced it, so in a later run. Every export is announced; after a
  failure, or a policy change after the notice, the shred is announced again with the full notice
  (``_announce``, ``_notice_holds``).
* All work goes through ``flows.start_export`` / ``flows.request_shred`` with the identity ``policy:<organizer>``,
  so every guard (event over, shop offline, nothing changed since the export) holds as for a person.
* Two periodic runs at once (two cron hosts): a partial unique constraint allows one active schedule per event,
  and every step is a compare-and-set on the schedule's ``version``; only the run that wins a step does it.
"""

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_scopes import scopes_disabled
from pretix.base.i18n import language
from pretix.base.models import Event, Team, User
from pretix.base.settings import settings_hierarkey
from pretix.base.shredder import ShredError

from . import flows, jobs, labels, reasons, retention_dates, retention_hold
from .models import ACTIVE_SCHEDULE_STATES, JobState, ScheduledShred, ScheduleState

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------------------------
# The policy: four settings in pretix's hierarchy (event → organizer → default)

SETTINGS = {
    "enabled": ("shredder_retention_enabled", bool, "False"),
    "shredders": ("shredder_retention_shredders", list, "[]"),
    "days_after_event": ("shredder_retention_days", int, "30"),
    "notice_days": ("shredder_retention_notice_days", int, "7"),
    # issue 21: "event" (the whole event after its end) or "dates" (the orders of each date; retention_dates)
    "mode": (retention_dates.MODE_SETTING, str, retention_dates.EVENT_MODE),
    # issue 21: the legal hold, {tax-relevant shredder: years} (retention_hold)
    "hold": ("shredder_retention_hold", dict, "{}"),
}
for _key, _type, _default in SETTINGS.values():
    settings_hierarkey.add_default(_key, _default, _type)

MAX_DAYS = 3650
MIN_NOTICE_DAYS = 1  # the shortest notice there is; pretix.cfg's [shredder_api] min_notice_days may only raise it
MAX_POSTPONE = timedelta(days=365)  # a postponement goes at most this far beyond the current due date
LOG_PREFIX = "pretix_shredder_api.schedule."
LOG_POLICY_CHANGED = "pretix_shredder_api.policy.changed"
STEP_STALE = timedelta(minutes=10)  # a step claimed by a run that died before doing it is retried after this

MSG_NO_SCHEDULE = _("No shred is scheduled for this event.")
MSG_NOT_CANCELLABLE = _("This scheduled shred can no longer be cancelled (it is {state}).")
MSG_NOT_POSTPONABLE = _("This scheduled shred can no longer be postponed (it is {state}).")
MSG_CANCELLED_EXPORT = _("This scheduled shred was cancelled; its export has been deleted.")
MSG_NO_EXPORT_YET = _("No export has been made for this schedule yet.")
MSG_POSTPONE_TOO_FAR = ngettext_lazy(
    "Please choose a date at most %(days)s day after the current due date (at the latest %(date)s).",
    "Please choose a date at most %(days)s days after the current due date (at the latest %(date)s).",
    "days",
)
MSG_MIN_NOTICE = ngettext_lazy(
    "The notice period must be at least %(days)s day.", "The notice period must be at least %(days)s days.", "days"
)


@dataclass(frozen=True)
class Policy:
    enabled: bool = False
    shredders: tuple = ()
    days_after_event: int = 30
    notice_days: int = 7
    mode: str = retention_dates.EVENT_MODE  # issue 21: or retention_dates.DATES_MODE
    hold: dict = field(default_factory=dict)  # issue 21: {tax-relevant shredder: years kept}, retention_hold

    def as_dict(self) -> dict:
        d = asdict(self)
        d["shredders"] = list(self.shredders)
        d["hold"] = dict(self.hold)
        return d


def policy_of(obj) -> Policy:
    """The effective policy of an organizer or event (an event falls back to its organizer, then the default)."""
    values = {name: obj.settings.get(key, as_type=t) for name, (key, t, _d) in SETTINGS.items()}
    values["shredders"] = tuple(values["shredders"] or ())
    values["hold"] = dict(values["hold"] or {})
    return Policy(**values)


def overridden(event) -> list[str]:
    """The policy fields the event sets itself (the others come from the organizer)."""
    own = event.settings._cache()
    return [name for name, (key, _t, _d) in SETTINGS.items() if key in own]


def min_notice_days() -> int:
    """The shortest notice period of this installation: ``[shredder_api] min_notice_days`` in pretix.cfg, which may
    raise it but never lower it below one day."""
    return max(MIN_NOTICE_DAYS, jobs.config_int("min_notice_days", MIN_NOTICE_DAYS))


def notice_period(policy: Policy) -> timedelta:
    """The notice a shred under this policy gets: its days of notice, never fewer than the minimum (a policy stored
    before the minimum existed, or before pretix.cfg raised it, gets the minimum)."""
    return timedelta(days=max(policy.notice_days, min_notice_days()))


def policy_problems(policy: Policy, changed=()) -> dict:
    """Field → messages for a policy that cannot be stored (checked on the merged, effective values).

    The minimum notice is checked for an active policy and wherever ``notice_days`` is being set, so switching a
    policy off is never refused."""
    problems = {}
    if policy.enabled and not policy.shredders:
        problems["shredders"] = [_("Please name at least one data shredder for an active policy.")]
    notice = []
    minimum = min_notice_days()
    if policy.notice_days < minimum and (policy.enabled or "notice_days" in changed):
        notice.append(MSG_MIN_NOTICE % {"days": minimum})
    if policy.notice_days > policy.days_after_event:
        notice.append(_("The notice period cannot be longer than the days after the event."))
    if notice:
        problems["notice_days"] = notice
    if policy.mode not in retention_dates.MODES:  # issue 21
        problems["mode"] = [retention_dates.MSG_UNKNOWN_MODE]
    hold = retention_hold.problems(policy.hold, policy.shredders, policy.mode, retention_dates.EVENT_MODE)
    if hold:
        problems["hold"] = hold
    return problems


@dataclass(frozen=True)
class ShredderFacts:
    """What a policy form and its preview say about a data shredder: pretix's words and its tax warning."""

    identifier: str
    name: str
    description: str
    tax_relevant: bool


def shredder_facts(obj) -> dict:
    """Identifier → ``ShredderFacts`` of the data shredders a policy of this event or organizer may name.

    An event: the shredders it offers. An organizer: those any of its events offers (one event per distinct set of
    plugins), and those every event offers (pretix's own and this plugin's), so an organizer without events can set
    its policy. The API and the pages validate against this, on both levels."""
    from pretix.base.shredder import register_core_shredders

    from .shredders import COMPLETING, offered

    if isinstance(obj, Event):
        events, instances = [obj], []
    else:
        one_per_plugin_set = obj.events.order_by().values("plugins").annotate(first=Min("pk")).values("first")
        events = Event.objects.filter(pk__in=one_per_plugin_set)
        instances = [cls(None) for cls in [*register_core_shredders(None), *COMPLETING]]
    for event in events:
        instances.extend(offered(event).values())
    return {
        sh.identifier: ShredderFacts(
            sh.identifier, str(sh.verbose_name), str(getattr(sh, "description", "") or ""), bool(sh.tax_relevant)
        )
        for sh in instances
    }


def known_shredders(obj) -> dict:
    """Identifier → name of the data shredders a policy of this event or organizer may name (``shredder_facts``)."""
    return {k: f.name for k, f in shredder_facts(obj).items()}


def update_policy(obj, changes: dict, *, user=None, auth=None) -> None:
    """Store changed fields on an organizer or event; ``None`` on an event removes its override (inherit).

    Logged as ``pretix_shredder_api.policy.changed`` - on the organizer, or on the event with this plugin's action
    type, which does not count as a change of the event's data (see ``jobs.check_unchanged_since_export``).
    Who may call this is ``permissions``' to decide; the scheduler re-plans affected schedules at its next run (never
    sooner than a full notice period from then, see ``_replan`` and ``_notice_holds``).
    """
    with transaction.atomic():  # all fields and the log entry, or nothing
        for name, value in changes.items():
            key = SETTINGS[name][0]
            if value is None:
                obj.settings.delete(key)
            else:
                obj.settings.set(key, list(value) if name == "shredders" else value)
        obj.log_action(LOG_POLICY_CHANGED, data={"policy": changes}, user=user, auth=auth)


def policy_source(event) -> dict:
    """Whose retention policy acts on this event and who set it, for the attribution of every automatic action.

    The level: the event's own policy once the event overrides any field, else the organizer's. Who set it: the
    credential of the latest ``policy.changed`` entry on that level (a token's and team's names, an application's
    name, a user's id - no e-mail address), ``{}`` when no entry is there (set before, or outside the plugin).
    Recorded on the schedule and its job (``policy_attribution``) so nothing is looked up when it is shown."""
    from django.contrib.contenttypes.models import ContentType
    from pretix.base.models import LogEntry

    level = "event" if overridden(event) else "organizer"
    obj = event if level == "event" else event.organizer
    entry = (
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, action_type=LOG_POLICY_CHANGED
        )
        .select_related("api_token__team", "oauth_application")
        .order_by("-datetime", "-pk")
        .first()
    )
    set_by = {}
    if entry is not None:
        if entry.api_token_id and entry.api_token:
            set_by = {"type": "token", "name": entry.api_token.name, "team": entry.api_token.team.name}
        elif entry.oauth_application_id and entry.oauth_application:
            set_by = {"type": "application", "name": entry.oauth_application.name, "user": entry.user_id}
        elif entry.user_id:
            set_by = {"type": "user", "user": entry.user_id}
        if set_by:
            set_by["at"] = entry.datetime.isoformat()
    return {
        "level": level,
        "organizer": event.organizer.slug,
        "organizer_name": str(event.organizer.name),
        "event": event.slug if level == "event" else None,
        "set_by": set_by,
    }


# ---------------------------------------------------------------------------------------------------------------------
# What a policy would do, before it is saved


@dataclass(frozen=True)
class PlannedShred:
    event: object
    notice_at: datetime
    due: datetime
    mails: int  # notice mails the next run sends for it (its admins), 0 while its notice time has not come


@dataclass(frozen=True)
class Preview:
    """What saving a policy would do at the next scheduler run (nothing is saved to compute it)."""

    planned: list  # PlannedShred of the events it would schedule (over, no schedule yet), the soonest first
    later: int  # events under the policy that are not over yet: scheduled once they are
    active: int  # shreds already scheduled that go on (re-planned under the new values)
    dropped: int  # shreds already scheduled that the change would drop (the policy switched off)
    tax_relevant: list  # ShredderFacts of the policy's shredders that remove tax-relevant data

    @property
    def mails(self) -> int:
        return sum(p.mails for p in self.planned)

    @property
    def first_due(self):
        return self.planned[0].due if self.planned else None

    @property
    def takes_effect(self) -> bool:
        """A save would schedule shreds or mail people at the next run (the pages then ask to confirm)."""
        return bool(self.planned or self.dropped)


def _with_overrides(event, base: Policy) -> Policy:
    """The policy an event would have when its organizer's policy is ``base`` (the event's own fields win)."""
    own = policy_of(event).as_dict()
    values = {**base.as_dict(), **{k: own[k] for k in overridden(event)}}
    values["shredders"] = tuple(values["shredders"])
    return Policy(**values)


def preview(obj, policy: Policy) -> Preview:
    """What storing ``policy`` (the merged, effective values) on this organizer or event would do."""
    if isinstance(obj, Event):
        events, policies = [obj], {obj.pk: policy}
    else:
        events = list(obj.events.all())
        policies = {e.pk: _with_overrides(e, policy) for e in events}
    active = {
        s.event_id
        for s in ScheduledShred.objects.filter(event__in=[e.pk for e in events], state__in=ACTIVE_SCHEDULE_STATES)
    }
    blocked = set(
        ScheduledShred.objects.filter(event__in=[e.pk for e in events])
        .exclude(state=ScheduleState.DROPPED)
        .values_list("event_id", flat=True)
    )
    planned, later, going_on, dropped, tax = [], 0, 0, 0, {}
    facts = shredder_facts(obj)
    for event in events:
        p = policies[event.pk]
        if event.pk in active:
            going_on, dropped = (going_on + 1, dropped) if p.enabled else (going_on, dropped + 1)
            continue
        if not p.enabled:
            continue
        for ident in p.shredders:
            if ident in facts and facts[ident].tax_relevant:
                tax[ident] = facts[ident]
        if event.pk in blocked:
            continue
        if not is_over(event):
            later += 1
            continue
        notice_at, due = plan(event, p)
        mails = len(admins(event)) if notice_at <= now() else 0
        planned.append(PlannedShred(event, notice_at, due, mails))
    if isinstance(obj, Event) or policy.enabled:
        for ident in policy.shredders:
            if ident in facts and facts[ident].tax_relevant:
                tax[ident] = facts[ident]
    planned.sort(key=lambda p: (p.due, p.event.pk))
    return Preview(planned, later, going_on, dropped, sorted(tax.values(), key=lambda f: f.name))


def policy_organizers_events():
    """Events whose effective policy may be on (their own setting, or their organizer's), not yet scheduled."""
    enabled_key = SETTINGS["enabled"][0]
    blocking = ScheduledShred.objects.filter(event=OuterRef("pk"), mode=retention_dates.EVENT_MODE).exclude(
        state=ScheduleState.DROPPED
    )
    return (
        Event.objects.filter(
            Q(_settings_objects__key=enabled_key, _settings_objects__value="True")
            | Q(organizer___settings_objects__key=enabled_key, organizer___settings_objects__value="True")
        )
        .filter(Q(has_subevents=True) | Q(date_from__lt=now()))
        .exclude(Exists(blocking))
        .select_related("organizer")
        .distinct()
    )


# ---------------------------------------------------------------------------------------------------------------------
# When an event is due


def event_end(event) -> datetime | None:
    """The end of the event; of a series, of its last date (as pretix's ``shred_constraints`` judges "over")."""
    if event.has_subevents:
        return event.subevents.aggregate(
            end=Coalesce(Greatest(Max("date_to"), Max("date_from")), Max("date_to"), Max("date_from"))
        )["end"]
    return event.date_to or event.date_from


def is_over(event) -> bool:
    end = event_end(event)
    return end is not None and end < now()


def plan(event, policy: Policy) -> tuple[datetime, datetime]:
    """(notice time, due time): due N days after the end, but never sooner than a full notice period from now."""
    notice = notice_period(policy)
    due = max(event_end(event) + timedelta(days=policy.days_after_event), now() + notice)
    return due - notice, due


def _target(s: ScheduledShred, event, policy: Policy) -> datetime:
    """When the shred is wanted, before any notice is accounted for: the date a person postponed it to, else the
    policy's days after the event's end."""
    if s.postponed_at is not None:
        return s.due
    if s.hold_years is not None:  # issue 21: a legal hold's stage two, at the end of its period
        return retention_hold.period_end(event, event_end(event), s.hold_years)
    if retention_dates.is_dated(s):  # issue 21: after the end of the schedule's first order
        return retention_dates.target(s, event, policy.days_after_event, now()) or s.due
    return event_end(event) + timedelta(days=policy.days_after_event)


def shredders_available(event, policy: Policy) -> list[str]:
    """The policy's shredders this event has (in the policy's order); others are not active for it."""
    known = event.get_data_shredders()
    return [s for s in policy.shredders if s in known]


# ---------------------------------------------------------------------------------------------------------------------
# The scheduler the periodic task calls


def run_schedule() -> dict:
    """One periodic run: create schedules for ended events, then move every active schedule on. Returns counts.

    Runs across all organizers (pretix's ``runperiodic`` gives no scope), hence ``scopes_disabled``.
    """
    with scopes_disabled():
        created = advanced = 0
        for event in policy_organizers_events():
            try:
                created += create_schedule(event) is not None
            except Exception:  # one broken event must not stop the others; the next run tries it again
                logger.exception("Could not plan the scheduled shred of event %s", event.pk)
        for event in retention_dates.events_to_plan(SETTINGS["enabled"][0]):  # issue 21: the dates mode
            try:
                created += create_dates_schedule(event) is not None
            except Exception:  # one broken event must not stop the others; the next run tries it again
                logger.exception("Could not plan the scheduled shred of the dates of event %s", event.pk)
        for event in retention_hold.events_with_stage_one_done():  # issue 21: a legal hold's stage two
            try:
                created += create_hold_schedule(event) is not None
            except Exception:  # one broken event must not stop the others; the next run tries it again
                logger.exception("Could not plan the end of the legal hold of event %s", event.pk)
        for pk in ScheduledShred.objects.filter(state__in=ACTIVE_SCHEDULE_STATES).values_list("pk", flat=True):
            try:
                advanced += advance(pk)
            except Exception:  # one broken event must not stop the others; the next run tries it again
                logger.exception("Scheduled shred %s could not be advanced", pk)
        discard_cancelled_exports()
    return {"created": created, "steps": advanced}


def create_schedule(event) -> ScheduledShred | None:
    policy = policy_of(event)
    if not policy.enabled or policy.mode != retention_dates.EVENT_MODE or not is_over(event):
        return None
    notice_at, due = plan(event, policy)
    return _create(event, policy, notice_at, due)


def create_hold_schedule(event) -> ScheduledShred | None:
    """issue 21: stage two of a legal hold - the shredders kept for a period, due when it ends."""
    policy = policy_of(event)
    if not policy.enabled or policy.mode != retention_dates.EVENT_MODE:
        return None
    years = retention_hold.next_stage(event, policy.hold)
    if years is None:
        return None
    notice = notice_period(policy)
    due = max(retention_hold.period_end(event, event_end(event), years), now() + notice)
    return _create(event, policy, due - notice, due, hold_years=years)


def create_dates_schedule(event) -> ScheduledShred | None:
    """issue 21: the next schedule of an event in the dates mode, covering the orders due by its date."""
    policy = policy_of(event)
    if not policy.enabled or policy.mode != retention_dates.DATES_MODE:
        return None
    planned = retention_dates.plan(event, policy.days_after_event, notice_period(policy), now())
    if planned is None:
        return None
    notice_at, due, scope = planned
    return _create(event, policy, notice_at, due, mode=retention_dates.DATES_MODE, scope=scope.as_json())


def _create(event, policy: Policy, notice_at, due, **fields) -> ScheduledShred | None:
    shredders = retention_hold.wanted(fields.get("hold_years"), policy.shredders, policy.hold)
    try:
        with transaction.atomic():
            schedule = ScheduledShred.objects.create(
                event=event,
                shredders=shredders,
                due=due,
                notice_at=notice_at,
                policy_attribution=policy_source(event),
                **fields,
            )
    except IntegrityError:  # another run created it a moment ago
        return None
    _log(schedule, "created", due=due.isoformat(), notice_at=notice_at.isoformat())
    return schedule


def advance(pk: int, max_steps: int = 6) -> int:
    """Take the steps that are due for one schedule (several in eager mode, where work finishes at once)."""
    steps = 0
    while steps < max_steps:
        schedule = ScheduledShred.objects.select_related("event__organizer", "job").filter(pk=pk).first()
        if schedule is None or schedule.state not in ACTIVE_SCHEDULE_STATES or not _step(schedule):
            break
        steps += 1
    return steps


def _claim(schedule: ScheduledShred, state: str, **fields) -> bool:
    """Compare-and-set: move the schedule from the state and version we read to ``state``; False if another run
    (or a person) moved it first."""
    won = ScheduledShred.objects.filter(pk=schedule.pk, version=schedule.version, state=schedule.state).update(
        state=state, version=F("version") + 1, updated=now(), **fields
    )
    if won:
        schedule.refresh_from_db()
    return bool(won)


def _step(s: ScheduledShred) -> bool:
    """One step; True if the schedule moved (so the next may be due as well)."""
    event, policy = s.event, policy_of(s.event)
    if s.state != ScheduleState.SHREDDING:
        if not policy.enabled:
            return _drop(s, reasons.key("policy_off"))
        reason = retention_dates.drop_reason(s, event, policy.mode, now())  # issue 21: mode changed, nothing due
        if reason:
            return _drop(s, reason)
        if not retention_dates.is_dated(s) and not is_over(event):
            return _drop(s, reasons.key("event_reopened"))
        if s.hold_years is not None and not _wanted(s, policy):  # issue 21: the hold was removed or changed
            return _drop(s, retention_hold.MSG_HOLD_CHANGED)
    if s.state == ScheduleState.SCHEDULED:
        _replan(s, event, policy)
        return now() >= s.notice_at and _start_export(s)
    if s.state == ScheduleState.EXPORTING:
        return _check_export(s, event, policy)
    if s.state == ScheduleState.NOTICED:
        if _shredders_changed(s, policy):
            return _renew(s, policy)
        if not _notice_holds(s, event, policy):
            return _announce(s, event, policy)
        return now() >= s.due and _start_shred(s)
    if s.state == ScheduleState.SHREDDING:
        return _check_shred(s)
    if s.state == ScheduleState.FAILED:
        return _retry(s, event, policy)
    return False


def _replan(s: ScheduledShred, event, policy: Policy) -> None:
    """Before the notice, the plan follows the policy and the event's dates (or the date a person postponed it to),
    never sooner than a full notice period from now."""
    notice = notice_period(policy)
    due = max(_target(s, event, policy), now() + notice)
    notice_at, shredders = due - notice, _wanted(s, policy)
    if (notice_at, due, shredders) != (s.notice_at, s.due, s.shredders):
        ScheduledShred.objects.filter(pk=s.pk, version=s.version).update(
            notice_at=notice_at, due=due, shredders=shredders
        )
        s.notice_at, s.due, s.shredders = notice_at, due, shredders


def _wanted(s: ScheduledShred, policy: Policy) -> list:
    """The shredders the schedule runs under the policy (issue 21: a legal hold's stages take their part)."""
    return retention_hold.wanted(s.hold_years, policy.shredders, policy.hold)


def _shredders_changed(s: ScheduledShred, policy: Policy) -> bool:
    return _wanted(s, policy) != s.shredders


def _notice_holds(s: ScheduledShred, event, policy: Policy) -> bool:
    """The notice that went out still announces the plan: the due date is what the policy (or the postponement)
    wants, and at least a full notice period after the notice. A policy change after the notice (other days, a
    longer notice), or an event that ended earlier, makes it false: the shred is planned and announced again."""
    if s.notice_sent is None:
        return False
    return s.due == max(_target(s, event, policy), s.notice_sent + notice_period(policy))


def _announce(s: ScheduledShred, event, policy: Policy) -> bool:
    """Mail the notice of the shred of the schedule's export and plan the shred at least a full notice period after
    it, so it always comes in a later run than the notice. Every export the policy shreds is announced like this:
    the first one, one made again after a failure, and the same one again after a failure or a policy change."""
    sent = now()
    due = max(_target(s, event, policy), sent + notice_period(policy))
    if not _claim(s, ScheduleState.NOTICED, notice_sent=sent, due=due, reported_error=""):
        return False
    jobs.keep_export_until(s.job, due + jobs.export_expiry(event))  # downloadable during the whole notice period
    recipients = notify(s, "notice")
    _log(s, "notice_sent", due=s.due.isoformat(), recipients=len(recipients))
    return True


def _renew(s: ScheduledShred, policy: Policy) -> bool:
    """The policy names other shredders than the export holds: plan a new export (and notice) under the policy.
    The old export keeps the usual lifetime from now."""
    old = s.job
    if not _claim(s, ScheduleState.SCHEDULED, job=None, notice_sent=None, shredders=_wanted(s, policy)):
        return False
    if old is not None:
        jobs.keep_export_until(old, now() + jobs.export_expiry(s.event))
    return True


def _start_export(s: ScheduledShred) -> bool:
    if not _claim(s, ScheduleState.EXPORTING, job=None):
        return False
    shredders = shredders_available(s.event, Policy(shredders=tuple(s.shredders)))
    scope = None
    if retention_dates.is_dated(s):  # issue 21: the orders due by the due date, fixed now; scope shredders only
        shredders = retention_dates.available_shredders(s.event, list(s.shredders))
        scope = retention_dates.resolve(s.event, policy_of(s.event).days_after_event, s.due)
        if scope is None:
            return _drop(s, retention_dates.MSG_NOTHING_DUE)
        ScheduledShred.objects.filter(pk=s.pk).update(scope=scope.as_json())
        s.scope = scope.as_json()
    if not shredders:
        return _fail(s, reasons.key("no_shredders"))
    attribution = policy_source(s.event)  # the policy in force now is the one whose export this is
    try:
        with language(s.event.settings.locale):
            # Downloadable until the due date (moved on when the notice is sent) and the usual time after it.
            job = flows.start_export(
                s.event,
                jobs.Identity.for_policy(s.event.organizer, attribution),
                shredders,
                expires_in=max(s.due - now(), timedelta(0)) + jobs.export_expiry(s.event),
                scope=scope,
            )
    except jobs.JobError as e:
        return _fail(s, _reason_of(e, s.event))
    ScheduledShred.objects.filter(pk=s.pk).update(job=job, policy_attribution=attribution)
    s.policy_attribution = attribution
    _log(s, "export_started", job=str(job.public_id), shredders=shredders)
    return True


def _check_export(s: ScheduledShred, event, policy: Policy) -> bool:
    if s.job is None:
        return s.updated < now() - STEP_STALE and _fail(s, reasons.key("interrupted"))
    view = jobs.export_view(s.job)
    if view.active:
        return False
    if view.state == JobState.FAILED:
        return _fail(s, reasons.key("export_failed", reasons.msgid_of(view.message, s.job.locale)))
    if _shredders_changed(s, policy):
        return _renew(s, policy)
    return _announce(s, event, policy)


def _usable_export(s: ScheduledShred) -> str:
    """ "" if the schedule's export can be shredded now, else why not (a reason key)."""
    if s.job is None:
        return reasons.key("export_gone")
    try:
        jobs.downloadable_file(s.job)
    except jobs.ExportFailed:
        return reasons.key("export_failed")
    except jobs.JobError:
        return reasons.key("export_gone")
    try:
        jobs.check_unchanged_since_export(s.job)
    except ShredError:
        return reasons.key("changed_after_export")
    return ""


def _reason_of(error, event) -> str:
    """The reason key of a refusal from ``jobs``/``flows``: pretix's constraints (shop online, event not over)
    by the event's state, anything else as a failure of the step with the message as its detail."""
    if isinstance(error, jobs.ConstraintError):
        return reasons.key("shop_online" if event.live else "event_not_over")
    if isinstance(error, jobs.JobNotFound):
        return reasons.key("export_gone")
    return reasons.key("export_failed", reasons.msgid_of(str(error), "en"))


def _start_shred(s: ScheduledShred) -> bool:
    try:
        jobs.check_constraints(s.event, retention_dates.scope_of(s))  # never for a live shop, an event not over
    except jobs.ConstraintError as e:
        return _fail(s, _reason_of(e, s.event))
    problem = _usable_export(s)
    if problem:
        return _fail(s, problem)
    if not _claim(s, ScheduleState.SHREDDING):
        return False
    try:
        job = flows.request_shred(s.job, s.job.confirm_code)  # the policy holds the export, so it knows the code
    except jobs.JobError as e:
        return _fail(s, _reason_of(e, s.event))
    _log(s, "shred_started", job=str(job.public_id))
    return True


def _check_shred(s: ScheduledShred) -> bool:
    if s.job is None:
        return _fail(s, reasons.key("export_gone"))
    view = jobs.shred_view(s.job)
    if view.state == "":
        return s.updated < now() - STEP_STALE and _fail(s, reasons.key("interrupted"))
    if view.active:
        return False
    if view.state == JobState.FAILED:
        return _fail(s, reasons.key("shred_failed", reasons.msgid_of(view.message, s.job.locale)))
    if not _claim(s, ScheduleState.DONE, last_error=""):
        return False
    _log(s, "done", job=str(s.job.public_id))
    notify(s, "done")
    return True


def _retry(s: ScheduledShred, event, policy: Policy) -> bool:
    """A failed schedule goes on from where it failed, and gives the full notice again before any shred.

    A still usable export: once the event allows a shred again (over, shop offline), its shred is announced again
    and planned a full notice period later. Otherwise a new export is made at the notice time of the current plan
    (re-planned like a new schedule), and announced when it is ready."""
    if _shredders_changed(s, policy):
        return _renew(s, policy)
    if s.job is not None and jobs.export_view(s.job).state == JobState.SUCCEEDED and not _usable_export(s):
        try:
            jobs.check_constraints(event, retention_dates.scope_of(s))  # issue 21: a scope's orders, not the event
        except jobs.ConstraintError as e:
            return _fail(s, _reason_of(e, event))
        return _announce(s, event, policy)
    _replan(s, event, policy)
    return now() >= s.notice_at and _start_export(s)


def _fail(s: ScheduledShred, message: str) -> bool:
    """Record and report a failure (``message``: a reason key, see ``reasons``). Returns False: the schedule rests
    until the next periodic run retries it."""
    if not ScheduledShred.objects.filter(pk=s.pk, version=s.version).update(
        state=ScheduleState.FAILED,
        version=F("version") + 1,
        attempts=F("attempts") + 1,
        last_error=message,
        updated=now(),
    ):
        return False
    s.refresh_from_db()
    _log(s, "failed", error=message, attempt=s.attempts)
    if message != s.reported_error:
        ScheduledShred.objects.filter(pk=s.pk).update(reported_error=message)
        notify(s, "failed")
    return False


def _drop(s: ScheduledShred, reason: str) -> bool:
    """No longer due: final. Its export (if one was made) has no purpose left and is deleted, as a cancelled one's."""
    if not _claim(s, ScheduleState.DROPPED, last_error=reason):
        return False
    _log(s, "dropped", reason=reason)
    if s.job is not None:
        jobs.discard_export(s.job)  # one still being made is deleted by a later run (discard_cancelled_exports)
    return True


# ---------------------------------------------------------------------------------------------------------------------
# What people do: cancel and postpone


class ScheduleError(jobs.JobError):
    """A person asked for something the schedule's state does not allow."""


class PostponeDateError(jobs.JobError):
    """The date to postpone to is not after the current due date, too far beyond it, or out of range."""


PERSON_ALLOWED = (ScheduleState.SCHEDULED, ScheduleState.EXPORTING, ScheduleState.NOTICED, ScheduleState.FAILED)


def current_schedule(event) -> ScheduledShred | None:
    """The event's active schedule, else its most recent one."""
    qs = ScheduledShred.objects.filter(event=event).select_related("job")
    return qs.filter(state__in=ACTIVE_SCHEDULE_STATES).first() or qs.first()


def expected_due(s: ScheduledShred) -> tuple[str, datetime | None]:
    """What a page may say about when a schedule shreds: ``(when, date)``.

    ``due``: on that date - for a schedule before its notice, the date the next run plans (never sooner than a
    full notice period from now, so a page never shows a past date the scheduler would move); ``after_notice``: a
    failed one shreds only after a new notice, at the earliest that date; ``shredding``; ``done`` (on the date it
    ended); ``cancelled`` and ``dropped``: no date at all."""
    if s.state == ScheduleState.SCHEDULED:
        policy = policy_of(s.event)
        return "due", max(_target(s, s.event, policy), now() + notice_period(policy))
    if s.state in (ScheduleState.EXPORTING, ScheduleState.NOTICED):
        return "due", s.due
    if s.state == ScheduleState.FAILED:
        policy = policy_of(s.event)
        return "after_notice", max(_target(s, s.event, policy), now() + notice_period(policy))
    if s.state == ScheduleState.SHREDDING:
        return "shredding", s.due
    if s.state == ScheduleState.DONE:
        return "done", s.updated
    return str(s.state), None


def schedule_export(s: ScheduledShred | None):
    """``(CachedFile, open handle)`` of the export a schedule's admins may download; ``JobError`` saying why not."""
    if s is None:
        raise jobs.JobNotFound(MSG_NO_SCHEDULE)
    if s.state == ScheduleState.CANCELLED:
        raise jobs.JobNotFound(MSG_CANCELLED_EXPORT)
    if s.job is None:
        raise jobs.JobNotFound(MSG_NO_EXPORT_YET)
    return jobs.open_export(s.job)


def cancel(s: ScheduledShred, *, user=None, auth=None) -> ScheduledShred:
    """A cancelled shred never runs: allowed until the shred has started. Its export has no purpose left and is
    deleted at once (one whose export was still running is deleted by the next periodic run)."""
    with transaction.atomic():
        won = ScheduledShred.objects.filter(pk=s.pk, state__in=PERSON_ALLOWED).update(
            state=ScheduleState.CANCELLED, version=F("version") + 1, updated=now()
        )
        s.refresh_from_db()
        if not won:
            raise ScheduleError(MSG_NOT_CANCELLABLE.format(state=s.get_state_display()))
        s.log_action(LOG_PREFIX + "cancelled", data=_log_data(s), user=user, auth=auth)
        if s.job is not None:
            jobs.discard_export(s.job)
    return s


def discard_cancelled_exports() -> None:
    """Delete the exports of cancelled and dropped schedules that were still being made when the schedule ended
    (each periodic run, once the export has ended)."""
    ended = (ScheduleState.CANCELLED, ScheduleState.DROPPED)
    for s in ScheduledShred.objects.filter(state__in=ended, job__file__isnull=False).select_related("job"):
        jobs.discard_export(s.job)


def latest_postpone(s: ScheduledShred) -> datetime:
    """The latest date a schedule may be postponed to: ``MAX_POSTPONE`` beyond its due date (or beyond now, if the
    due date has passed)."""
    return max(s.due, now()) + MAX_POSTPONE


def check_postpone_date(s: ScheduledShred, until: datetime) -> None:
    """``PostponeDateError`` unless ``until`` is after the current due date and no later than ``latest_postpone``.
    Checked before anything is saved."""
    try:
        until.astimezone(UTC) + jobs.export_expiry(s.event)  # the export is kept that long after the date
    except (OverflowError, ValueError):
        raise PostponeDateError(_("This date is out of range.")) from None
    if until <= max(s.due, now()):
        raise PostponeDateError(_("Please choose a date after the current due date."))
    latest = latest_postpone(s)
    if until > latest:
        raise PostponeDateError(
            MSG_POSTPONE_TOO_FAR % {"days": MAX_POSTPONE.days, "date": labels.datetime_text(latest, s.event.timezone)}
        )


def postpone(s: ScheduledShred, until: datetime, *, user=None, auth=None) -> ScheduledShred:
    """Move the due date later; the export (if made) stays downloadable until then. All or nothing: the date is
    checked first, and the new date, the export's expiry and the log entry are saved in one transaction."""
    notice = notice_period(policy_of(s.event))
    with transaction.atomic():
        for _attempt in range(5):  # a periodic run may move the schedule on meanwhile: read it again and retry
            if s.state not in PERSON_ALLOWED:
                raise ScheduleError(MSG_NOT_POSTPONABLE.format(state=s.get_state_display()))
            check_postpone_date(s, until)
            won = ScheduledShred.objects.filter(pk=s.pk, version=s.version, state=s.state).update(
                due=until,
                # Not sent yet: the notice moves with the date (the scheduler never gives less than the full notice);
                # already sent: the admins know, the new date is logged.
                notice_at=max(until - notice, now()) if s.notice_sent is None else s.notice_at,
                postponed_at=now(),
                version=F("version") + 1,
                updated=now(),
            )
            s.refresh_from_db()
            if won:
                break
        else:
            raise ScheduleError(MSG_NOT_POSTPONABLE.format(state=s.get_state_display()))
        if s.job is not None:
            jobs.keep_export_until(s.job, until + jobs.export_expiry(s.event))
        s.log_action(LOG_PREFIX + "postponed", data=_log_data(s), user=user, auth=auth)
    return s


def start_of_day(day, event) -> datetime:
    """A date means its start in the event's time zone."""
    return datetime.combine(day, time(0, 0), tzinfo=event.timezone)


# ---------------------------------------------------------------------------------------------------------------------
# Log entries and mails


def _log_data(s: ScheduledShred, **extra) -> dict:
    return {
        "policy": s.event.organizer.slug,
        "attribution": s.policy_attribution,
        "due": s.due.isoformat(),
        "state": s.state,
        "shredders": s.shredders,
        **retention_dates.log_extra(s),  # issue 21
        **retention_hold.log_extra(s),
        **extra,
    }


def _log(s: ScheduledShred, what: str, **extra) -> None:
    """Logged on the schedule (with ``"policy": <organizer>`` in the data): this plugin's own entry, so it never
    makes the event look changed after the export."""
    s.log_action(LOG_PREFIX + what, data=_log_data(s, **extra))


def admins(event) -> list:
    """The people who may cancel or postpone: active members of teams that may change this event's orders."""
    teams = (
        Team.objects.filter(organizer=event.organizer)
        .with_event_permission("event.orders:write")
        .filter(Q(all_events=True) | Q(limit_events=event))
    )
    return list(User.objects.filter(teams__in=teams, is_active=True).distinct().order_by("pk"))


SUBJECTS = {
    "notice": _("Personal data of {event} will be shredded on {date}"),
    "failed": _("The scheduled data shred of {event} failed"),
    "done": _("The personal data of {event} has been shredded"),
}


def notify(s: ScheduledShred, kind: str) -> list:
    """Mail the event's admins through pretix's mail machinery; returns the recipients."""
    from pretix.base.services.mail import mail
    from pretix.helpers.urls import mainreverse_absolute

    event = s.event
    recipients = admins(event)
    url = mainreverse_absolute(
        "plugins:pretix_shredder_api:retention", kwargs={"organizer": event.organizer.slug, "event": event.slug}
    )
    from .labels import datetime_text, policy_label

    for user in recipients:
        with language(user.locale):
            due = datetime_text(s.due, event.timezone)  # the date as planned now (re-planned before the notice)
            reason = reasons.render(s.last_error, event, absolute=True)
            context = {
                "event": str(event.name),
                "organizer": str(event.organizer.name),
                "policy": policy_label(s.policy_attribution or {"organizer_name": str(event.organizer.name)}),
                "due": due,
                "shredders": ", ".join(
                    str(sh.verbose_name) for k, sh in event.get_data_shredders().items() if k in s.shredders
                ),
                "error": reason.text if reason else "",
                "next_step": reason.next_step if reason else "",
                "next_link": reason.link if reason else "",
                "notice_days": notice_period(policy_of(event)).days,
                "url": url,
            }
            subject = SUBJECTS[kind].format(event=context["event"], date=due)
        try:
            mail(
                user.email,
                subject,
                f"pretix_shredder_api/email/retention_{kind}.txt",
                context,
                event=None,
                user=user,
                locale=user.locale,
            )
        except Exception:  # a mail that cannot be queued must not stop the schedule; it is logged
            logger.exception("Could not mail %s about scheduled shred %s", user.pk, s.pk)
    return recipients
