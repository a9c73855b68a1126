"""The event's data shredder settings: the confirm-code policy and the export lifetime.

They exist where the plugin is switched on for the event (the policies apply only there) and need the permission to
change the event's settings. A change is logged as ``pretix_shredder_api.settings.changed`` on the event: one of
this plugin's action types, so a settings change after an export does not block that export's shred (it changes
nothing in the exported data)."""

from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from pretix.base.forms import SettingsForm
from pretix.base.models import Event
from pretix.control.views.event import EventSettingsFormView, EventSettingsViewMixin

from .. import jobs
from ..webhooks import ACTION_SETTINGS_CHANGED
from .mixins import PluginEnabledMixin

MAX_LIFETIME_MINUTES = 7 * 24 * 60


class ShredderSettingsForm(SettingsForm):
    shredder_api_require_confirm_code = forms.BooleanField(
        label=_("Require the confirm code"),
        help_text=_(
            "A shred through the API must send the confirm code written in the export (the file CONFIRM_CODE.txt "
            "in the downloaded zip file) - proof that the export was downloaded and opened. The API documentation "
            "says how a client sends it."
        ),
        required=False,
    )
    shredder_api_export_lifetime_minutes = forms.IntegerField(
        label=_("Export lifetime"),
        help_text=_(
            "Minutes an export made through the API stays downloadable if it is not shredded. Leave empty for the "
            "default of this pretix installation. An export whose shred has been requested is kept until the shred "
            "succeeded; the export of a scheduled removal (retention policy) is kept until its removal."
        ),
        min_value=1,
        max_value=MAX_LIFETIME_MINUTES,
        required=False,
    )


def current_values(event, form) -> dict:
    """The stored values of the form's settings, typed as the form cleans them (pretix keeps them as strings)."""
    types = {forms.BooleanField: bool, forms.IntegerField: int}
    return {name: event.settings.get(name, as_type=types.get(type(field), str)) for name, field in form.fields.items()}


class ShredderSettingsView(PluginEnabledMixin, EventSettingsViewMixin, EventSettingsFormView):
    model = Event
    form_class = ShredderSettingsForm
    template_name = "pretix_shredder_api/settings.html"
    permission = "event.settings.general:write"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["default_lifetime_minutes"] = int(jobs.config_export_expiry().total_seconds() // 60)
        ctx["event_page_url"] = reverse(
            "plugins:pretix_shredder_api:event",
            kwargs={"organizer": self.request.event.organizer.slug, "event": self.request.event.slug},
        )
        return ctx

    @transaction.atomic
    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            messages.error(request, _("We could not save your changes. See below for details."))
            return self.render_to_response(self.get_context_data(form=form))
        before = current_values(request.event, form)
        form.save()
        changed = {k: v for k, v in form.cleaned_data.items() if before.get(k) != v}
        if changed:
            request.event.log_action(ACTION_SETTINGS_CHANGED, user=request.user, data=changed)
        messages.success(request, _("Your changes have been saved."))
        return redirect(self.get_success_url())

    def get_success_url(self) -> str:
        return reverse(
            "plugins:pretix_shredder_api:settings",
            kwargs={"organizer": self.request.event.organizer.slug, "event": self.request.event.slug},
        )
