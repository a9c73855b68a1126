"""The event page "Data shredder jobs": what happened to the personal data of this event - the retention schedule,
every export and shred of the data shredder API (newest first, paginated) with its downloads and the next action,
and the shreds that have no job record here (pretix's own control panel, and API jobs pruned after the retention
period), read from the event log.

Served for every event (the API acts on every event), for users who may view the event's orders."""

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.generic import ListView
from pretix.base.models import LogEntry
from pretix.control.permissions import EventPermissionRequiredMixin
from pretix.control.views import PaginationMixin

from .. import jobs, labels, overview, permissions, reasons, retention
from ..models import ACTIVE_SCHEDULE_STATES, JobState, ScheduleState, ShredderJob

LOGGED_SHREDS = 50  # shreds without a job record shown from the event log, newest first

EXPIRED = "expired"
EXPIRED_WORD = pgettext_lazy("shredder_state", "expired")

# The next action of a row (what the viewer can do about this export now)
NEXT_WAIT = "wait"
NEXT_DOWNLOAD = "download"  # a link: the viewer's own API export, or the scheduled shred's export on the page
NEXT_API = "api"  # downloadable and shreddable, but only with the credential that started it
NEXT_NEW_EXPORT = "new_export"
NEXT_NONE = "none"
NEXT_WORDS = {
    NEXT_WAIT: _("Wait for the export to finish."),
    NEXT_DOWNLOAD: _("Download the export"),
    NEXT_API: _("Download and shred it through the API, with the credential that started it."),
    NEXT_NEW_EXPORT: _("Nothing: this export can no longer be shredded. Start a new export to shred the data."),
    NEXT_NONE: "",
}


def file_size(job):
    """The export's size in bytes while it is stored, else None."""
    cf = job.file
    if cf is None or not cf.file:
        return None
    try:
        return cf.file.size
    except OSError:
        return None


def export_gone(job) -> bool:
    """The finished, unshredded export is no longer downloadable: expired, or its file deleted."""
    cf = job.file
    return cf is None or not cf.file or (cf.expires is not None and cf.expires < now())


def phase(view, expired=False) -> dict:
    if expired:
        return {"state": EXPIRED, "word": str(EXPIRED_WORD), "percentage": None, "message": ""}
    return {
        "state": view.state,
        "word": labels.state_word(view.state),
        "percentage": view.percentage if view.active else None,
        "message": view.message if view.state == JobState.FAILED else "",
    }


def next_action(job, export, shred, expired, *, own: bool, may_download_schedule: bool, schedule_job_id) -> str:
    if shred.state == JobState.SUCCEEDED:
        return NEXT_NONE
    if shred.active:
        return NEXT_WAIT
    if export.active:
        return NEXT_WAIT
    if export.state == JobState.FAILED or expired:
        return NEXT_NEW_EXPORT
    if job.owner.startswith(jobs.POLICY_PREFIX):
        return NEXT_DOWNLOAD if (may_download_schedule and job.pk == schedule_job_id) else NEXT_NONE
    return NEXT_DOWNLOAD if own else NEXT_API


def job_row(job, known, *, downloads=(), own_key=None, may_write=False, **schedule) -> dict:
    export, shred = jobs.export_view(job), jobs.shred_view(job)
    expired = export.state == JobState.SUCCEEDED and shred.state != JobState.SUCCEEDED and export_gone(job)
    action = next_action(job, export, shred, expired, own=may_write and job.owner == own_key, **schedule)
    download_url = ""
    if action == NEXT_DOWNLOAD:
        if job.owner.startswith(jobs.POLICY_PREFIX):
            download_url = reverse("plugins:pretix_shredder_api:retention-download", kwargs=_event_kwargs(job.event))
        else:
            download_url = reverse(
                "api-v1:shredders-download",
                kwargs={**_event_kwargs(job.event), "asyncid": str(job.public_id), "cfid": str(job.secret)},
            )
    return {
        "job": job,
        "credential": labels.job_credential(job),
        "shredders": labels.shredder_names(job.event, job.shredders, known),
        "phases": [phase(export, expired=expired), phase(shred)],  # export, shred
        "finished": job.shred_finished if shred.state in (JobState.SUCCEEDED, JobState.FAILED) else None,
        "size": None if expired else file_size(job),
        "until": job.file.expires if (job.file and not expired and shred.state != JobState.SUCCEEDED) else None,
        "held": bool(job.file and job.file.expires is None and shred.state != JobState.SUCCEEDED),
        "downloads": list(downloads),
        "next": action,
        "next_word": NEXT_WORDS[action],
        "download_url": download_url,
    }


def _event_kwargs(event) -> dict:
    return {"organizer": event.organizer.slug, "event": event.slug}


def downloads_by_job(job_ids) -> dict:
    """Job id → [(when, who)] of its logged downloads, newest first (one query for the page)."""
    found = {}
    entries = (
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(ShredderJob),
            object_id__in=list(job_ids),
            action_type=jobs.ACTION_DOWNLOADED,
        )
        .select_related("user", "api_token__team", "oauth_application")
        .order_by("-datetime", "-pk")
    )
    for entry in entries:
        found.setdefault(entry.object_id, []).append((entry.datetime, labels.logentry_credential(entry)))
    return found


def logged_shreds(event, known) -> list[dict]:
    """Completed shreds of the event that have no job record here: pretix's control panel (logged on the event)
    and API jobs pruned after the retention period (their log entries stay, with job id, shredders and who)."""
    entries = list(
        LogEntry.objects.filter(event=event, action_type=overview.ACTION_COMPLETED)
        .select_related("user", "api_token__team", "oauth_application")
        .order_by("-datetime", "-pk")[: LOGGED_SHREDS * 2]
    )
    ids = {jobs.logged_job_id(e) for e in entries} - {None}
    existing = {
        str(u) for u in ShredderJob.objects.filter(event=event, public_id__in=ids).values_list("public_id", flat=True)
    }
    rows = []
    for entry in entries:
        job_id = jobs.logged_job_id(entry)
        if job_id in existing:
            continue
        who = labels.logentry_credential(entry)
        rows.append(
            {
                "when": entry.datetime,
                "who": who,
                "shredders": labels.shredder_names(event, jobs.logged_shredders(entry), known),
                "source": "api" if job_id else "control",
                "job": job_id,
            }
        )
    return rows[:LOGGED_SHREDS]


def schedule_summary(event, known) -> dict | None:
    s = retention.current_schedule(event)
    if s is None:
        return None
    return {
        "schedule": s,
        "active": s.state in ACTIVE_SCHEDULE_STATES,
        "failed": s.state == ScheduleState.FAILED,
        "shredders": labels.shredder_names(event, s.shredders, known),
        "reason": reasons.render(s.last_error, event),  # stored as a key: in the reader's language
    }


class EventJobsView(EventPermissionRequiredMixin, PaginationMixin, ListView):
    permission = "event.orders:read"
    template_name = "pretix_shredder_api/event.html"
    context_object_name = "jobs"
    paginate_by = 50

    def get_queryset(self):
        return (
            ShredderJob.objects.filter(event=self.request.event)
            .select_related("api_token__team", "oauth_application", "user", "file")
            .order_by("-created", "-id")
        )

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        request, event = self.request, self.request.event
        known = event.get_data_shredders()
        for job in ctx["jobs"]:
            job.event = event
        schedule = schedule_summary(event, known)
        may_download_schedule = not permissions.download_schedule_export(request, event)
        downloads = downloads_by_job(j.pk for j in ctx["jobs"])
        own_key = jobs.Identity(user=request.user).key if request.user.is_authenticated else None
        ctx["rows"] = [
            job_row(
                job,
                known,
                downloads=downloads.get(job.pk, ()),
                own_key=own_key,
                may_write="event.orders:write" in request.eventpermset,
                may_download_schedule=may_download_schedule,
                schedule_job_id=schedule["schedule"].job_id if schedule else None,
            )
            for job in ctx["jobs"]
        ]
        ctx["schedule"] = schedule
        ctx["policy"] = retention.policy_of(event)
        ctx["logged_shreds"] = logged_shreds(event, known) if ctx["page_obj"].number == 1 else []
        ctx["plugin_enabled"] = jobs.plugin_enabled(event)
        ctx["can_change_settings"] = "event.settings.general:write" in request.eventpermset
        ctx["can_see_retention"] = ctx["can_change_settings"] or "event.orders:write" in request.eventpermset
        kwargs = _event_kwargs(event)
        ctx["plugins_url"] = reverse("control:event.settings.plugins", kwargs=kwargs)
        ctx["settings_url"] = reverse("plugins:pretix_shredder_api:settings", kwargs=kwargs)
        ctx["retention_url"] = reverse("plugins:pretix_shredder_api:retention", kwargs=kwargs)
        ctx["residual_url"] = reverse("plugins:pretix_shredder_api:residual", kwargs=kwargs)
        ctx["pretix_shredder_url"] = reverse("control:event.shredder.start", kwargs=kwargs)
        ctx["confirm_code_required"] = jobs.confirm_code_required(event)
        ctx["export_lifetime_minutes"] = int(jobs.export_expiry(event).total_seconds() // 60)
        ctx["retention_days"] = jobs.retention().days
        return ctx
