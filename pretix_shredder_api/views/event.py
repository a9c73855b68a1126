"""The event page "Data shredder": every export and shred of the event, newest first, paginated.

Served for every event (the API acts on every event), for users who may view the event's orders."""

from django.urls import reverse
from django.views.generic import ListView
from pretix.control.permissions import EventPermissionRequiredMixin
from pretix.control.views import PaginationMixin

from .. import jobs, labels
from ..models import JobState, ShredderJob


def file_size(job):
    """The export's size in bytes while it is stored, else None."""
    cf = job.file
    if cf is None or not cf.file:
        return None
    try:
        return cf.file.size
    except OSError:
        return None


def phase(view) -> dict:
    return {
        "state": view.state,
        "word": labels.state_word(view.state),
        "percentage": view.percentage if view.active else None,
        "message": view.message if view.state == JobState.FAILED else "",
    }


def job_row(job, known) -> dict:
    shred = jobs.shred_view(job)
    return {
        "job": job,
        "credential": labels.job_credential(job),
        "shredders": labels.shredder_names(job.event, job.shredders, known),
        "phases": [phase(jobs.export_view(job)), phase(shred)],  # export, shred
        "finished": job.shred_finished if shred.state in (JobState.SUCCEEDED, JobState.FAILED) else None,
        "size": file_size(job),
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
        event = self.request.event
        known = event.get_data_shredders()
        for job in ctx["jobs"]:
            job.event = event
        ctx["rows"] = [job_row(job, known) for job in ctx["jobs"]]
        ctx["plugin_enabled"] = jobs.plugin_enabled(event)
        ctx["can_change_settings"] = "event.settings.general:write" in self.request.eventpermset
        kwargs = {"organizer": event.organizer.slug, "event": event.slug}
        ctx["plugins_url"] = reverse("control:event.settings.plugins", kwargs=kwargs)
        ctx["settings_url"] = reverse("plugins:pretix_shredder_api:settings", kwargs=kwargs)
        ctx["confirm_code_required"] = jobs.confirm_code_required(event)
        ctx["export_lifetime_minutes"] = int(jobs.export_expiry(event).total_seconds() // 60)
        return ctx
