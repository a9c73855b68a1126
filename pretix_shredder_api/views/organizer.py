"""The organizer page "Personal data by event" and its CSV download: the same rows from ``overview``.

Needs access to the organizer (any team of it); lists only the events whose orders the user may view. The CSV's cells
are neutralised against formulas (``csvcells``); it starts with a UTF-8 byte order mark (so that Excel reads the
umlauts) and comes, as pretix's exporters offer, with commas or with semicolons (``?format=semicolon``: what
Excel expects where the comma is the decimal separator, as in German)."""

from django.http import HttpResponse
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import ListView
from pretix.control.permissions import OrganizerPermissionRequiredMixin
from pretix.control.views import PaginationMixin
from pretix.control.views.organizer import OrganizerDetailViewMixin

from .. import csvcells, overview, reasons

STATUS_WORDS = {
    overview.STATUS_NOT_OVER: _("Not over yet"),
    overview.STATUS_NEVER: _("Over, never shredded"),
    overview.STATUS_PARTIAL: _("Over, shredded only partly"),
    overview.STATUS_DONE: _("Shredded"),
    overview.STATUS_SCHEDULED: _("Over, shred scheduled"),
    overview.STATUS_SCHEDULE_FAILED: _("Over, scheduled shred failed"),
}
CSV_FORMATS = {
    "default": (",", _("CSV (with commas)")),
    "semicolon": (";", _("CSV (with semicolons)")),
}
BOM = "\ufeff"


class OverviewMixin:
    def query_options(self) -> dict:
        only = self.request.GET.get("filter")
        ordering = self.request.GET.get("ordering")
        return {
            "only": only if only in overview.FILTERS else None,
            "ordering": ordering if ordering in overview.ORDERINGS else overview.DEFAULT_ORDERING,
        }

    def events(self):
        return overview.events_for(self.request.user, self.request.organizer, self.request, **self.query_options())


class OverviewView(
    OverviewMixin, OrganizerDetailViewMixin, OrganizerPermissionRequiredMixin, PaginationMixin, ListView
):
    permission = None
    template_name = "pretix_shredder_api/overview.html"
    context_object_name = "events"
    paginate_by = 50

    def get_queryset(self):
        return self.events()

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["rows"] = [
            {
                "row": row,
                "status_word": STATUS_WORDS[row.status],
                "missing": ", ".join(row.missing),
                "kept": ", ".join(row.kept),
                # stored as a key: in the reader's language, with its next step
                "schedule_reason": reasons.render(row.schedule.last_error, row.event) if row.schedule else None,
                "retention_url": reverse(
                    "plugins:pretix_shredder_api:retention",
                    kwargs={"organizer": row.event.organizer.slug, "event": row.event.slug},
                ),
            }
            for row in overview.rows(ctx["events"])
        ]
        ctx.update(self.query_options())
        ctx["filter_unshredded"] = overview.FILTER_UNSHREDDED
        ctx["filter_due_soon"] = overview.FILTER_DUE_SOON
        ctx["due_soon_days"] = overview.DUE_SOON.days
        ctx["csv_formats"] = [(key, label) for key, (_sep, label) in CSV_FORMATS.items()]
        return ctx


def _when(value) -> str:
    return localtime(value).isoformat() if value else ""


class OverviewCSVView(OverviewMixin, OrganizerPermissionRequiredMixin, View):
    permission = None

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("format")
        delimiter, _label = CSV_FORMATS.get(fmt, CSV_FORMATS["default"])
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="personal-data-{request.organizer.slug}.csv"'
        response.write(BOM)
        writer = csvcells.writer(response, delimiter=delimiter)
        writer.writerow(
            [
                str(_("Event")),
                str(_("Event name")),
                str(_("End date")),
                str(_("Shop")),
                str(_("Over")),
                str(_("Status")),
                str(_("Last shred")),
                str(_("Shredded by")),
                str(_("Data shredders")),
                str(_("Through")),
                str(_("Never shredded with")),
                str(_("Kept as pretix advises (tax-relevant)")),
                str(_("Scheduled shred")),
                str(_("Schedule state")),
            ]
        )
        for row in overview.rows(self.events()):
            last = row.last_shred
            writer.writerow(
                [
                    row.event.slug,
                    str(row.event.name),
                    _when(row.end),
                    str(_("online") if row.live else _("offline")),
                    str(_("yes") if row.over else _("no")),
                    str(STATUS_WORDS[row.status]),
                    _when(last.when) if last else "",
                    last.who if last else "",
                    "; ".join(last.shredders) if last else "",
                    (str(_("API")) if last.source == "api" else str(_("control panel"))) if last else "",
                    "; ".join(row.missing) if row.over else "",
                    "; ".join(row.kept) if row.over else "",
                    _when(row.schedule.due) if row.schedule_active else "",
                    str(row.schedule.get_state_display()) if row.schedule else "",
                ]
            )
        return response
