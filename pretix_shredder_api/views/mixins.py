"""What several control-panel pages share."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from .. import jobs


class PluginEnabledMixin:
    """A page that exists only where the plugin is switched on for the event (and its organizer): else pretix's
    404 page saying so."""

    def dispatch(self, request, *args, **kwargs):
        if not jobs.plugin_enabled(request.event):
            raise Http404(_("The data shredder API plugin is not enabled for this event."))
        return super().dispatch(request, *args, **kwargs)
