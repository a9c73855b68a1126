"""Control panel: the event's policy setting and the record of exports and shreds (what, when, by whom)."""

from django import forms
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from pretix.base.forms import SettingsForm
from pretix.base.models import Event
from pretix.control.views.event import EventSettingsFormView, EventSettingsViewMixin

from . import jobs
from .models import ShredderJob

HISTORY_LENGTH = 50


class ShredderSettingsForm(SettingsForm):
    shredder_api_require_confirm_code = forms.BooleanField(
        label=_("Require the confirm code"),
        help_text=_(
            "A shred through the API must send the content of the export's CONFIRM_CODE.txt as "
            '{"confirm_code": "…"} - proof that the export was downloaded and opened.'
        ),
        required=False,
    )


def credential_label(job: ShredderJob) -> str:
    identity = jobs.identity_of_job(job)
    if identity.api_token:
        return _("API token “{name}” of team “{team}”").format(
            name=identity.api_token.name, team=identity.api_token.team.name
        )
    if identity.oauth_application:
        return _("Application “{app}” for {user}").format(
            app=identity.oauth_application.name, user=identity.user.email if identity.user else "?"
        )
    if identity.user:
        return identity.user.email
    return _("(credential deleted)")


class ShredderSettingsView(EventSettingsViewMixin, EventSettingsFormView):
    model = Event
    form_class = ShredderSettingsForm
    template_name = "pretix_shredder_api/settings.html"
    permission = "event.settings.general:write"

    def dispatch(self, request, *args, **kwargs):
        if "pretix_shredder_api" not in request.event.get_plugins():
            raise Http404(_("The data shredder API plugin is not enabled for this event."))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        history = ShredderJob.objects.filter(event=self.request.event).select_related(
            "api_token__team", "oauth_application", "user"
        )[:HISTORY_LENGTH]
        ctx["jobs"] = [
            {
                "job": job,
                "credential": credential_label(job),
                "export": jobs.export_view(job),
                "shred": jobs.shred_view(job),
            }
            for job in history
        ]
        return ctx

    def get_success_url(self) -> str:
        return reverse(
            "plugins:pretix_shredder_api:settings",
            kwargs={"organizer": self.request.event.organizer.slug, "event": self.request.event.slug},
        )
