"""The domain rules of shredder jobs: ownership, lookups, transitions, guards and staleness.

Used by the API views, the tasks and the periodic cleanup alike; nothing here knows about HTTP.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.timezone import now
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from pretix.base.i18n import LazyLocaleException
from pretix.base.models import CachedFile, TeamAPIToken
from pretix.base.shredder import ShredError, shred_constraints

from . import scopes
from .models import JobState, ScheduledShred, ShredderJob

logger = logging.getLogger(__name__)

CONFIG_SECTION = "shredder_api"
PLUGIN = "pretix_shredder_api"
# Log action types of this plugin start with this; such entries never mean "the event changed after the export".
OWN_ACTION_PREFIX = "pretix_shredder_api."
ACTION_SHRED_FAILED = "pretix_shredder_api.shred.failed"
ACTION_DOWNLOADED = "pretix_shredder_api.export.downloaded"
# Where an export was downloaded (the log text names it)
VIA_API = "api"  # GET …/shredders/download/<job>/
VIA_SCHEDULE_API = "schedule_api"  # GET …/shredders/schedule/download/
VIA_RETENTION_PAGE = "retention_page"  # the event's data retention page
# A ranged download (206) is logged once per job and credential within this window; a whole file (200) always.
DOWNLOAD_LOG_WINDOW = timedelta(minutes=30)
ACTIVE = (JobState.WAITING, JobState.RUNNING)

MSG_CHANGED = _("Something happened in your event after the export, please try again.")
MSG_INTERNAL = _("Internal error")
MSG_EXPORT_STALE = _(
    "The export stopped unexpectedly because the process working on it ended. Please start a new export."
)
MSG_SHRED_STALE = _(
    "The data shredding stopped unexpectedly because the process working on it ended. "
    "The export is still available: start the shred again to finish it."
)
MSG_NOT_QUEUED = _("The job could not be queued for processing. Please try again.")
MSG_EXPORT_QUEUED_TOO_LONG = _(
    "The export waited too long for a worker to pick it up and was not started. Please start a new export."
)
MSG_SHRED_QUEUED_TOO_LONG = _(
    "The data shredding waited too long for a worker to pick it up and was not started. "
    "The export is still available: start the shred again."
)
MSG_STORAGE = _(
    "The export file could not be stored on the server (its storage is full or not writable). "
    "Please ask the administrator of this pretix instance and start a new export."
)
MSG_EXPORT_DB_LOST = _(
    "The export stopped because the server lost its connection to the database. Please start a new export."
)
MSG_SHRED_DB_LOST = _(
    "The data shredding stopped because the server lost its connection to the database. "
    "The export is still available: start the shred again to finish it."
)
MSG_FILE_GONE = _("The download file could no longer be found on the server, please try to start again.")


def config_int(option: str, default: int) -> int:
    """A setting from pretix.cfg's ``[shredder_api]`` section (or ``PRETIX_SHREDDER_API_<OPTION>`` in the env)."""
    return settings.CONFIG_FILE.getint(CONFIG_SECTION, option, fallback=default)


def stale_after() -> timedelta:
    return timedelta(seconds=config_int("stale_after_seconds", 600))


def queue_timeout() -> timedelta:
    return timedelta(seconds=config_int("queue_timeout_seconds", 3600))


def heartbeat_interval() -> float:
    return float(config_int("heartbeat_seconds", 15))


def export_expiry(event) -> timedelta:
    """How long an unshredded export stays downloadable: the event's setting where the plugin is switched on for it,
    else ``[shredder_api] export_expiry_seconds`` from pretix.cfg (2 hours)."""
    if plugin_enabled(event):
        minutes = event.settings.get("shredder_api_export_lifetime_minutes", as_type=int)
        if minutes:
            return timedelta(minutes=minutes)
    return config_export_expiry()


def config_export_expiry() -> timedelta:
    return timedelta(seconds=config_int("export_expiry_seconds", 2 * 3600))


def retention() -> timedelta:
    return timedelta(days=config_int("retention_days", 30))


# ---------------------------------------------------------------------------------------------------------------------
# Errors the front ends turn into answers


class JobError(LazyLocaleException):
    """Base of the refusals of this module; ``str()`` gives the translated message."""


class UnsupportedCredential(JobError):
    pass


class ConstraintError(JobError):
    """The event does not meet pretix's constraints for shredding (not over, or shop online)."""


class ConfirmCodeError(JobError):
    pass


class JobNotFound(JobError):
    """Unknown, malformed, foreign, expired or already shredded."""


class ExportNotReady(JobError):
    def __init__(self, view):
        super().__init__(_("The export is still running."))
        self.view = view


class ExportFailed(JobError):
    def __init__(self, view):
        super().__init__(view.message)
        self.view = view


# ---------------------------------------------------------------------------------------------------------------------
# Who owns a job


@dataclass(frozen=True)
class Identity:
    """The credential a job belongs to: a team API token, an OAuth application with its user, a user, or the
    retention policy of an organizer (``policy``: the organizer; jobs the scheduler starts, see ``retention.py``).

    Devices never get here: the API's permission class refuses them first.
    """

    api_token: object = None
    oauth_application: object = None
    user: object = None
    policy: object = None
    # A policy's: whose policy it is and who set it (``retention.policy_source``); never part of the key.
    attribution: dict = field(default=None, compare=False, hash=False)

    @classmethod
    def for_policy(cls, organizer, attribution=None) -> "Identity":
        return cls(policy=organizer, attribution=attribution or {})

    @classmethod
    def of(cls, auth, user) -> "Identity":
        from pretix.api.models import OAuthAccessToken

        if isinstance(auth, TeamAPIToken):
            return cls(api_token=auth)
        if isinstance(auth, OAuthAccessToken):
            return cls(oauth_application=auth.application, user=auth.user)
        if auth is None and user is not None and user.is_authenticated:
            return cls(user=user)
        raise UnsupportedCredential(_("These credentials may not use the data shredder."))

    @property
    def key(self) -> str:
        if self.policy is not None:
            return f"{POLICY_PREFIX}{self.policy.slug}"
        if self.api_token is not None:
            return f"token:{self.api_token.pk}"
        if self.oauth_application is not None:
            return f"oauth:{self.oauth_application.pk}:{self.user.pk if self.user else '-'}"
        return f"user:{self.user.pk}"

    def credential_fields(self) -> dict:
        """Who acted, as the owner fields of a record (a job, a person's request)."""
        return {
            "owner": self.key,
            "api_token": self.api_token,
            "oauth_application": self.oauth_application,
            "user": self.user,
        }

    def as_fields(self) -> dict:
        """The owner fields of a job, with the attribution of a policy's job."""
        return {**self.credential_fields(), "policy_attribution": self.attribution or {}}

    def log_kwargs(self) -> dict:
        return {"user": self.user, "auth": self.api_token or self.oauth_application}

    def log_data(self) -> dict:
        """What a log entry's data says about who acted when no user or credential did (a policy)."""
        if self.policy is None:
            return {}
        return {"policy": self.policy.slug, "attribution": self.attribution or {}}


POLICY_PREFIX = "policy:"


def identity_of_job(job: ShredderJob) -> Identity:
    if job.owner.startswith(POLICY_PREFIX):
        return Identity.for_policy(job.event.organizer, job.policy_attribution)
    return Identity(api_token=job.api_token, oauth_application=job.oauth_application, user=job.user)


def _canonical_uuid(value) -> uuid.UUID:
    """The UUID only in the spelling we issue (lowercase, dashed); anything else is not one of our ids."""
    parsed = uuid.UUID(str(value))
    if str(parsed) != value:
        raise ValueError(value)
    return parsed


def find_job(event, identity: Identity, public_id, secret) -> ShredderJob:
    """The job with these URL ids, if it belongs to this event and this caller; else ``JobNotFound``."""
    try:
        public_id, secret = _canonical_uuid(public_id), _canonical_uuid(secret)
    except ValueError:
        raise JobNotFound(_("This export does not exist.")) from None
    job = (
        ShredderJob.objects.filter(event=event, public_id=public_id, secret=secret, owner=identity.key)
        .select_related("file")
        .first()
    )
    if job is None:
        raise JobNotFound(_("This export does not exist."))
    job.event = event  # the caller's (same row): logging on the job needs no second query
    return job


# ---------------------------------------------------------------------------------------------------------------------
# What a job's state means right now (a pure function of the record and the clock)


@dataclass(frozen=True)
class PhaseView:
    state: str  # "", waiting, running, succeeded, failed
    percentage: int = 0
    message: str = ""
    steps: list = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def _too_old(heartbeat, limit: timedelta) -> bool:
    return heartbeat is None or heartbeat < now() - limit


def _stopped_message(state, heartbeat, queued_message, running_message):
    """Why an active phase is no longer alive, or "" while it is: queued too long, or its worker stopped."""
    if state == JobState.WAITING and _too_old(heartbeat, queue_timeout()):
        return str(queued_message)
    if state == JobState.RUNNING and _too_old(heartbeat, stale_after()):
        return str(running_message)
    return ""


def export_view(job: ShredderJob) -> PhaseView:
    stopped = _stopped_message(job.export_state, job.export_heartbeat, MSG_EXPORT_QUEUED_TOO_LONG, MSG_EXPORT_STALE)
    if stopped:
        return PhaseView(JobState.FAILED, job.export_progress, stopped)
    return PhaseView(job.export_state, job.export_progress, job.export_message)


def shred_view(job: ShredderJob) -> PhaseView:
    stopped = _stopped_message(job.shred_state, job.shred_heartbeat, MSG_SHRED_QUEUED_TOO_LONG, MSG_SHRED_STALE)
    if stopped:
        return PhaseView(JobState.FAILED, job.shred_progress, stopped, job.shred_steps)
    return PhaseView(job.shred_state, job.shred_progress, job.shred_message, job.shred_steps)


def _dead(prefix: str) -> Q:
    """Active rows whose phase is no longer alive (the query form of ``_stopped_message``)."""
    state, heartbeat = f"{prefix}_state", f"{prefix}_heartbeat"
    return (
        Q(**{state + "__in": ACTIVE, heartbeat + "__isnull": True})
        | Q(**{state: JobState.WAITING, heartbeat + "__lt": now() - queue_timeout()})
        | Q(**{state: JobState.RUNNING, heartbeat + "__lt": now() - stale_after()})
    )


MSG_FILE_UNAVAILABLE = _("This export is no longer available.")
MSG_EXPIRED = _("This export has expired.")


def downloadable_file(job: ShredderJob) -> CachedFile:
    """The finished export file; ``ExportNotReady``/``ExportFailed`` while it is not, ``JobNotFound`` once gone."""
    if job.shred_state == JobState.SUCCEEDED:
        raise JobNotFound(_("This export has been shredded."))
    view = export_view(job)
    if view.active:
        raise ExportNotReady(view)
    if view.state == JobState.FAILED:
        raise ExportFailed(view)
    cf = job.file
    if cf is None or not cf.file or (cf.expires is not None and cf.expires < now()):
        raise JobNotFound(MSG_EXPIRED)
    if not cf.file.storage.exists(cf.file.name):
        raise JobNotFound(MSG_FILE_UNAVAILABLE)
    return cf


def open_export(job: ShredderJob):
    """``(CachedFile, open binary handle)`` of a downloadable export. Served from the handle, the bytes survive a
    shred that deletes the file mid-download; a file deleted since the check gives what the job says now."""
    cf = downloadable_file(job)
    try:
        return cf, cf.file.storage.open(cf.file.name, "rb")
    except FileNotFoundError:
        job.refresh_from_db()
        downloadable_file(job)  # shredded, expired or no longer available
        raise JobNotFound(MSG_FILE_UNAVAILABLE) from None


def require_export_file(job: ShredderJob) -> None:
    """A shred only runs from a finished export whose file still exists (it is deleted only by a successful shred)."""
    if job.file_id is None or not CachedFile.objects.filter(pk=job.file_id).exists():
        raise ShredError(MSG_FILE_GONE)


# ---------------------------------------------------------------------------------------------------------------------
# Guards


def check_event_constraints(event) -> None:
    problem = shred_constraints(event)
    if problem:
        raise ConstraintError(problem)


def scope_of(job: ShredderJob) -> scopes.Scope:
    return scopes.Scope.from_json(job.scope)


def check_constraints(event, scope: scopes.Scope) -> None:
    """pretix's constraints for the whole event (over, shop offline); for a scope below it, that all of the scope's
    orders are over - the shop stays online and keeps selling other dates."""
    if scope.is_event:
        check_event_constraints(event)
        return
    try:
        scopes.check_over(event, scope)
    except scopes.ScopeError as e:
        raise ConstraintError(e.msg, e.msgargs) from None


def plugin_enabled(event) -> bool:
    """Switched on for the event - which, for this event-and-organizer plugin, needs it on for the organizer as well
    (pretix's rule for the level, ``is_app_active``). The per-event pages and policies (confirm code, export
    lifetime) exist only there; the API serves every event."""
    return PLUGIN in event.get_plugins() and plugin_enabled_for_organizer(event.organizer)


def plugin_enabled_for_organizer(organizer) -> bool:
    """Switched on for the organizer: its pages are in the organizer's navigation."""
    return PLUGIN in organizer.get_plugins()


def confirm_code_required(event) -> bool:
    """The per-event policy; it applies where the plugin is switched on for the event."""
    return plugin_enabled(event) and event.settings.get("shredder_api_require_confirm_code", as_type=bool)


def check_confirm_code(job: ShredderJob, confirm_code) -> None:
    if not confirm_code_required(job.event):
        return
    if not confirm_code:
        raise ConfirmCodeError(_("This event requires the confirm code from the export file's CONFIRM_CODE.txt."))
    if str(confirm_code).strip() != job.confirm_code:
        raise ConfirmCodeError(_("The confirm code you entered was incorrect."))


def check_unchanged_since_export(job: ShredderJob) -> None:
    """Refuse when anything but this plugin's own log entries was written on the event since the export.

    This plugin's own: entries on its models (jobs, schedules) and its action types (``pretix_shredder_api.*``: a
    settings or policy change does not change the exported data).
    """
    own = Q(content_type__in=ContentType.objects.get_for_models(ShredderJob, ScheduledShred).values()) | Q(
        action_type__startswith=OWN_ACTION_PREFIX
    )
    # For a scope below the event, only entries about the scope's orders count: a new order for another date is no
    # change of what was exported.
    entries = scope_of(job).log_entries_of(job.event)
    changed = entries.filter(datetime__gte=job.exported_at).exclude(own).exists()
    if changed:
        raise ShredError(MSG_CHANGED)


def shredders_for(job: ShredderJob) -> list:
    """The offered shredder instances for the export's identifiers, in the order a shred runs them."""
    from .scope_shredders import offered_in
    from .shredders import run_order

    known = offered_in(job.event, scope_of(job))
    missing = [s for s in job.shredders if s not in known]
    if missing:
        raise ShredError(
            _("These data shredders are no longer available for this event: %(list)s"),
            {"list": ", ".join(missing)},
        )
    return run_order([known[s] for s in job.shredders])


# ---------------------------------------------------------------------------------------------------------------------
# Transitions requested by a caller (``flows`` checks, calls these and queues the work)


def create_export_job(
    event, identity: Identity, shredder_ids: list[str], *, expires_in: timedelta = None, scope=scopes.WHOLE_EVENT
):
    """A new job in "export waiting" with its (still empty) file. ``expires_in``: how long the finished export stays
    downloadable if not shredded (default ``export_expiry``); ``scope``: what it exports and shreds."""
    cf = CachedFile.objects.create(
        date=now(),
        expires=now() + (expires_in if expires_in is not None else export_expiry(event)),
        web_download=False,
        filename="",
        type="application/zip",
    )
    job = ShredderJob.objects.create(
        event=event,
        shredders=list(shredder_ids),
        scope=scope.as_json(),
        file=cf,
        locale=get_language() or settings.LANGUAGE_CODE,
        export_heartbeat=now(),
        **identity.as_fields(),
    )
    # Nobody but this plugin may hand the file out: pretix's own download views check this session key.
    cf.session_key = f"pretix_shredder_api:{job.public_id}"
    cf.save(update_fields=["session_key"])
    return job


def check_shred_request(job: ShredderJob, confirm_code=None) -> bool:
    """The guards of a shred request; False if this export's shred is already under way (nothing to start)."""
    downloadable_file(job)  # 404/409/410 for a missing, running or failed export
    if shred_view(job).active:
        return False
    check_constraints(job.event, scope_of(job))
    check_confirm_code(job, confirm_code)
    return True


def claim_shred_start(job: ShredderJob) -> bool:
    """Move the job to "shred waiting" with a new attempt id; of concurrent requests exactly one wins."""
    attempt = uuid.uuid4().hex
    may_start = Q(shred_state="") | Q(shred_state=JobState.FAILED) | _dead("shred")
    with transaction.atomic():
        won = ShredderJob.objects.filter(may_start, pk=job.pk, shred_attempt=job.shred_attempt).update(
            shred_state=JobState.WAITING,
            shred_attempt=attempt,
            shred_progress=0,
            shred_steps=[],
            shred_message="",
            shred_heartbeat=now(),
            shred_started=None,
            shred_finished=None,
            residual_values=None,
            residual_found=None,
            residual_locations=[],
            residual_seconds=None,
            residual_checked_at=None,
        )
        if won and not hold_export_file(job):
            raise JobNotFound(MSG_EXPIRED)  # expired or deleted since the check: the state change is rolled back
    job.refresh_from_db()
    return bool(won)


def not_queued(job: ShredderJob, phase: str) -> None:
    """The broker refused the job: fail the phase at once with a message, instead of leaving it waiting."""
    logger.exception("Could not queue the %s of shredder job %s", phase, job.pk)
    if phase == "export":
        ShredderJob.objects.filter(pk=job.pk, export_state=JobState.WAITING).update(
            export_state=JobState.FAILED, export_message=str(MSG_NOT_QUEUED), export_finished=now()
        )
    else:
        ShredderJob.objects.filter(pk=job.pk, shred_attempt=job.shred_attempt).update(
            shred_state=JobState.FAILED, shred_message=str(MSG_NOT_QUEUED), shred_finished=now()
        )


# ---------------------------------------------------------------------------------------------------------------------
# Transitions made by the worker


def claim_export(job_id: int) -> bool:
    """waiting → running, unless the job went stale in the queue (then it is failed for good)."""
    waiting = ShredderJob.objects.filter(pk=job_id, export_state=JobState.WAITING)
    if waiting.exclude(_dead("export")).update(export_state=JobState.RUNNING, export_heartbeat=now()):
        return True
    waiting.update(export_state=JobState.FAILED, export_message=str(MSG_EXPORT_QUEUED_TOO_LONG), export_finished=now())
    return False


def claim_shred(job_id: int, attempt: str) -> bool:
    """waiting → running for this attempt, unless another attempt replaced it or it went stale in the queue."""
    current = ShredderJob.objects.filter(pk=job_id, shred_attempt=attempt, shred_state=JobState.WAITING)
    if current.exclude(_dead("shred")).update(shred_state=JobState.RUNNING, shred_heartbeat=now(), shred_started=now()):
        return True
    current.update(shred_state=JobState.FAILED, shred_message=str(MSG_SHRED_QUEUED_TOO_LONG), shred_finished=now())
    return False


def export_succeeded(job_id: int, *, checksum: str, confirm_code: str, exported_at) -> None:
    ShredderJob.objects.filter(pk=job_id).update(
        export_state=JobState.SUCCEEDED,
        export_progress=100,
        export_finished=now(),
        file_sha256=checksum,
        confirm_code=confirm_code,
        exported_at=exported_at,
    )


def export_failed(job_id: int, message: str) -> None:
    ShredderJob.objects.filter(pk=job_id).update(
        export_state=JobState.FAILED, export_message=message, export_finished=now()
    )


def log_shred(job: ShredderJob, action: str) -> None:
    """Log on the event with pretix's own action types, attributed to the credential that started the job."""
    from .archive import index_data

    index = index_data(job.event, job.shredders, job.exported_at, confirm_code=None, scope=scope_of(job))
    del index["confirm_code"]  # the log is readable by more people than the export
    # The job is the logged object, so that "changed after the export" can tell this plugin's entries apart.
    identity = identity_of_job(job)
    data = {"indexdata": index, "job": str(job.public_id), **identity.log_data()}
    job.log_action(action, data=data, **identity.log_kwargs())


def log_download(job: ShredderJob, identity: Identity, *, status: int, via: str, content_range: str = "") -> bool:
    """Log a download of the job's export on the event: who (the downloading credential, not the job's owner), when,
    which export (the job's public id and shredders) and where - never the secret, the confirm code or a value.

    Only answers that send bytes count: a whole file (200) is logged every time, a part (206) only when this
    credential has no download of this job logged within ``DOWNLOAD_LOG_WINDOW`` - a resumed or parallel ranged
    download is one entry, not one per chunk. A 304 (the client has the file already), 412 or 416 sends no export
    and is not logged. Returns whether an entry was written."""
    if status not in (200, 206):
        return False
    kwargs = identity.log_kwargs()
    if status == 206:
        auth = kwargs["auth"]
        from pretix.base.models import LogEntry

        recent = LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(ShredderJob),
            object_id=job.pk,
            action_type=ACTION_DOWNLOADED,
            datetime__gte=now() - DOWNLOAD_LOG_WINDOW,
            user=kwargs["user"],
            api_token=auth if isinstance(auth, TeamAPIToken) else None,
            oauth_application=None if isinstance(auth, TeamAPIToken) else auth,
        )
        if recent.exists():
            return False
    data = {"job": str(job.public_id), "shredders": list(job.shredders), "via": via}
    if content_range:
        data["range"] = content_range
    job.log_action(ACTION_DOWNLOADED, data=data, **kwargs)
    return True


def logged_shredders(logentry) -> list[str]:
    """The shredder identifiers a shred log entry names (ours: ``shredders`` or ``indexdata``; pretix's:
    ``indexdata``)."""
    data = logentry.parsed_data if isinstance(logentry.parsed_data, dict) else {}
    if "shredders" in data:
        return list(data["shredders"])
    return list((data.get("indexdata") or {}).get("shredders") or [])


def logged_job_id(logentry):
    """The job id (``public_id``) a log entry of this plugin names; None for pretix's own entries."""
    data = logentry.parsed_data if isinstance(logentry.parsed_data, dict) else {}
    return data.get("job")


def shred_succeeded(job: ShredderJob, attempt: str, steps: list) -> None:
    """Mark the shred done, log it and delete the export file: the data is gone, so its download must be too."""
    with transaction.atomic():
        done = ShredderJob.objects.filter(pk=job.pk, shred_attempt=attempt).update(
            shred_state=JobState.SUCCEEDED, shred_progress=100, shred_finished=now(), shred_steps=steps
        )
        if done:
            log_shred(job, "pretix.event.shredder.completed")
            # pretix's post_delete receiver removes the stored file as well.
            CachedFile.objects.filter(pk=job.file_id).delete()


def record_residual(job_id: int, attempt: str, report, seconds: float) -> None:
    """Store the residual scan of this shred attempt on the job (counts and locations only)."""
    ShredderJob.objects.filter(pk=job_id, shred_attempt=attempt).update(
        residual_values=report.values,
        residual_found=report.found,
        residual_locations=report.locations,
        residual_seconds=round(seconds, 3),
        residual_checked_at=now(),
    )


def shred_failed(job_id: int, attempt: str, message: str) -> None:
    """Record the failure of this attempt (and log it on the job); the export stays downloadable for another
    ``export_expiry``."""
    with transaction.atomic():
        if ShredderJob.objects.filter(pk=job_id, shred_attempt=attempt).update(
            shred_state=JobState.FAILED, shred_message=message, shred_finished=now()
        ):
            job = ShredderJob.objects.select_related("event", "api_token", "oauth_application", "user").get(pk=job_id)
            identity = identity_of_job(job)
            job.log_action(
                ACTION_SHRED_FAILED,
                data={"job": str(job.public_id), "shredders": job.shredders, "message": message, **identity.log_data()},
                **identity.log_kwargs(),
            )
            release_file(ShredderJob.objects.filter(pk=job_id))


def hold_export_file(job: ShredderJob) -> bool:
    """From now on the export must outlive the shred, however long it queues or runs: clear the file's expiry - in
    one conditional UPDATE, only if the file still exists and has not expired (or is held already). False when it
    expired or was deleted since it was checked; the caller then changes nothing."""
    alive = Q(expires__isnull=True) | Q(expires__gte=now())
    return CachedFile.objects.filter(alive, pk=job.file_id).update(expires=None) == 1


def keep_export_until(job: ShredderJob, until) -> None:
    """Keep a finished, not yet shredded export downloadable until ``until`` (a file held for a shred stays held)."""
    CachedFile.objects.filter(pk=job.file_id, expires__isnull=False).update(expires=until)


def discard_export(job: ShredderJob) -> bool:
    """Delete an export nobody will shred (its scheduled shred was cancelled): the file and its record go at once.

    Not while the export is still being made (the task would store its file after the record is gone): False, and
    the caller tries again later. A shred under way holds its file; a succeeded one has deleted it already."""
    if export_view(job).active or job.shred_state in ACTIVE:
        return False
    CachedFile.objects.filter(pk=job.file_id).delete()  # pretix deletes the stored file with the record
    job.file = None
    return True


def release_file(jobs_queryset) -> None:
    """Give the held export files of these jobs an expiry again (each its event's export lifetime)."""
    held = jobs_queryset.filter(file__isnull=False, file__expires__isnull=True).select_related("event__organizer")
    for job in held:
        CachedFile.objects.filter(pk=job.file_id, expires__isnull=True).update(expires=now() + export_expiry(job.event))


# ---------------------------------------------------------------------------------------------------------------------
# Housekeeping


def fail_dead_shreds() -> None:
    """Record shreds whose worker stopped (or that queued too long) as failed, with the message the status URL
    already reports - logged once like any failed shred - and give their files an expiry again."""
    for job in ShredderJob.objects.filter(_dead("shred")):
        with translation.override(job.locale):
            shred_failed(job.pk, job.shred_attempt, str(shred_view(job).message))


def cleanup() -> int:
    """Fail shreds that went stale, and delete job records (and files) past the retention period."""
    fail_dead_shreds()

    cutoff = now() - retention()
    alive_shreds = Q(shred_state__in=ACTIVE) & ~_dead("shred")
    old = (
        ShredderJob.objects.filter(created__lt=cutoff)
        .exclude(shred_finished__gte=cutoff)
        .exclude(alive_shreds)
        .exclude(file__expires__gt=now())  # an export kept for a long notice period outlives the retention period
    )
    CachedFile.objects.filter(pk__in=old.values("file_id")).delete()
    _total, deleted = old.delete()
    return deleted.get(ShredderJob._meta.label, 0)
