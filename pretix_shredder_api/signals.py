"""Signal receivers of the plugin. Heavy imports happen inside the receivers."""

import logging

from django.dispatch import receiver
from pretix.api.signals import register_webhook_events
from pretix.base.settings import settings_hierarkey
from pretix.base.signals import periodic_task, register_data_shredders
from pretix.control.signals import nav_event, nav_event_settings, nav_organizer, nav_topbar
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


@receiver(register_webhook_events, dispatch_uid="shredder_api_webhook_events")
def webhook_events(sender, **kwargs):
    from .webhooks import webhook_events

    return webhook_events()


@receiver(nav_event, dispatch_uid="shredder_api_nav_event")
def navigation_event(sender, request, **kwargs):
    from .views.navigation import event_entries

    return event_entries(request)


@receiver(nav_event_settings, dispatch_uid="shredder_api_nav_settings")
def navigation_settings(sender, request, **kwargs):
    from .views.navigation import event_settings_entries

    return event_settings_entries(request)


@receiver(nav_organizer, dispatch_uid="shredder_api_nav_organizer")
def navigation_organizer(sender, request, **kwargs):
    from .views.navigation import organizer_entries

    return organizer_entries(request)


@receiver(nav_topbar, dispatch_uid="shredder_api_nav_topbar")
def navigation_topbar(sender, request, **kwargs):
    from .views.navigation import scheduled_shred_entry

    return scheduled_shred_entry(request)


@receiver(register_data_shredders, dispatch_uid="shredder_api_completing_shredders")
def completing_shredders(sender, **kwargs):
    from .shredders import COMPLETING

    return list(COMPLETING)


@receiver(periodic_task, dispatch_uid="shredder_api_retention")
@minimum_interval(minutes_after_success=5, minutes_after_error=5)
def run_retention(sender, **kwargs):
    result = retention.run_schedule()
    if result["created"] or result["steps"]:
        logger.info("Retention: %(created)d shreds scheduled, %(steps)d steps taken", result)


@receiver(periodic_task, dispatch_uid="shredder_api_person_follow_ups")
@minimum_interval(minutes_after_success=60, minutes_after_error=15)
def run_person_follow_ups(sender, **kwargs):
    from .flows import run_person_follow_ups

    started = run_person_follow_ups()
    if started:
        logger.info("Requests of persons: %d blocked erasures followed up", started)
