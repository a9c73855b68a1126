"""Signal receivers of the plugin. Heavy imports happen inside the receivers."""

import logging

from django.dispatch import receiver
from django.urls import resolve, reverse
from django.utils.translation import gettext_lazy as _
from pretix.base.settings import settings_hierarkey
from pretix.base.signals import periodic_task, register_data_shredders
from pretix.control.signals import nav_event_settings
from pretix.helpers.periodic import minimum_interval

logger = logging.getLogger(__name__)

settings_hierarkey.add_default("shredder_api_require_confirm_code", "False", bool)


@receiver(periodic_task, dispatch_uid="shredder_api_cleanup")
@minimum_interval(minutes_after_success=60)
def cleanup_jobs(sender, **kwargs):
    from .jobs import cleanup

    removed = cleanup()
    if removed:
        logger.info("Removed %d shredder job records past their retention period", removed)


@receiver(nav_event_settings, dispatch_uid="shredder_api_nav_settings")
def navigation_settings(sender, request, **kwargs):
    if not request.user.has_event_permission(
        request.organizer, request.event, "event.settings.general:write", request=request
    ):
        return []
    return [
        {
            "label": _("Data shredder API"),
            "url": reverse(
                "plugins:pretix_shredder_api:settings",
                kwargs={"organizer": request.organizer.slug, "event": request.event.slug},
            ),
            "active": resolve(request.path_info).namespace == "plugins:pretix_shredder_api",
        }
    ]


@receiver(register_data_shredders, dispatch_uid="shredder_api_completing_shredders")
def completing_shredders(sender, **kwargs):
    from .shredders import COMPLETING

    return list(COMPLETING)
