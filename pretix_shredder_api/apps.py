from django.utils.translation import gettext_lazy as _

from pretix_shredder_api import __version__

try:
    from pretix.base.plugins import PLUGIN_LEVEL_EVENT_ORGANIZER_HYBRID, PluginConfig
except ImportError:  # pragma: no cover - only without pretix, e.g. when just the CLI is installed
    raise RuntimeError("Please use pretix 2026.8 or above to run this plugin!") from None


class PluginApp(PluginConfig):
    default = True
    name = "pretix_shredder_api"
    verbose_name = _("Data shredder API")

    class PretixPluginMeta:
        name = _("Data shredder API")
        author = _("pretix-shredder-api developers")
        description = _(
            "Removing personal data with care: the data shredder REST API (export, download, then shred, with job "
            "records that say what was shredded, when and by whom), retention policies that shred automatically "
            "after an event with notice and a cancel window, reports of what personal data is still stored, and an "
            "overview of all events of an organizer."
        )
        visible = True
        version = __version__
        category = "API"
        compatibility = "pretix>=2026.8"
        # Organizer pages and organizer log entries, and pages and policies per event: switched on for the organizer
        # (its pages), and then for each event that wants its pages and policies. The API serves every event.
        level = PLUGIN_LEVEL_EVENT_ORGANIZER_HYBRID

    def ready(self):
        from . import signals  # NOQA
        from .webhooks import register_log_texts

        register_log_texts()
