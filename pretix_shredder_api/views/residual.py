"""Control panel: "what personal data does this event still hold?" - the on-demand residual scan (bounded, as the
API's: a stored result while the event is unchanged, one scan at a time), the outcome of the last shreds through the
API, and what stays by design."""

from django.urls import reverse
from django.views.generic import TemplateView
from pretix.control.permissions import EventPermissionRequiredMixin

from .. import labels, locations, residual_cache, retention_grounds
from ..models import JobState, ShredderJob
from .mixins import PluginEnabledMixin

RECENT_SHREDS = 10


class ResidualView(PluginEnabledMixin, EventPermissionRequiredMixin, TemplateView):
    template_name = "pretix_shredder_api/residual.html"
    permission = "event.orders:read"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event = self.request.event
        known = event.get_data_shredders()
        try:
            result = residual_cache.check(event)  # bounded like the API's: see residual_cache
            ctx["report"], ctx["checked_at"] = result.report, result.checked_at
            # in words (locations), and why each is still stored and until when (retention_grounds)
            ctx["locations"] = [
                (locations.describe(loc, known), ground)
                for loc, ground in retention_grounds.grounds(self.request.event, result.report.locations)
            ]
        except residual_cache.ScanRunning as e:
            ctx["scan_running"] = str(e)
        ctx["cache_minutes"] = max(1, residual_cache.cache_seconds() // 60)
        shreds = ShredderJob.objects.filter(
            event=self.request.event, shred_state=JobState.SUCCEEDED, residual_checked_at__isnull=False
        ).order_by("-shred_finished")[:RECENT_SHREDS]
        kwargs = {"organizer": event.organizer.slug, "event": event.slug}
        ctx["shredder_url"] = reverse("control:event.shredder.start", kwargs=kwargs)
        ctx["retention_url"] = reverse("plugins:pretix_shredder_api:retention", kwargs=kwargs)
        ctx["shreds"] = [(job, labels.shredder_names(self.request.event, job.shredders, known)) for job in shreds]
        return ctx
