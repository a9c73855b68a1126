"""Signal receivers of the plugin. Heavy imports happen inside the receivers."""

import logging

from django.dispatch import receiver
from django.urls import resolve, reverse
from django.utils.translation import gettext_lazy as _
from pretix.base.settings import settings_hierarkey
from pretix.base.signals import periodic_task
from pretix.control.signals import nav_event_settings, nav_organizer
from pretix.helpers.periodic import minimum_interval

logger = logging.getLogger(__name__)

settings_hierarkey.add_default("shredder_api_require_confirm_code", "False", bool)

from . import retention  # noqa: E402  (registers the retention policy's settings defaults)


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


@receiver(periodic_task, dispatch_uid="shredder_api_retention")
@minimum_interval(minutes_after_success=5, minutes_after_error=5)
def run_retention(sender, **kwargs):
    result = retention.run_schedule()
    if result["created"] or result["steps"]:
        logger.info("Retention: %(created)d shreds scheduled, %(steps)d steps taken", result)


@receiver(nav_event_settings, dispatch_uid="shredder_api_nav_retention")
def navigation_retention(sender, request, **kwargs):
    if not request.user.has_event_permission(
        request.organizer, request.event, "event.settings.general:write", request=request
    ):
        return []
    url = reverse(
        "plugins:pretix_shredder_api:retention",
        kwargs={"organizer": request.organizer.slug, "event": request.event.slug},
    )
    return [{"label": _("Data retention"), "url": url, "active": request.path_info == url}]


@receiver(nav_organizer, dispatch_uid="shredder_api_nav_organizer_retention")
def navigation_organizer_retention(sender, request, organizer, **kwargs):
    if not request.user.has_organizer_permission(organizer, "organizer.settings.general:write", request=request):
        return []
    url = reverse("plugins:pretix_shredder_api:organizer-retention", kwargs={"organizer": organizer.slug})
    return [{"label": _("Data retention"), "url": url, "active": request.path_info == url}]
