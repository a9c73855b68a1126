"""Signal receivers of the plugin. Heavy imports happen inside the receivers."""

import logging

from django.dispatch import receiver
from pretix.base.settings import settings_hierarkey
from pretix.base.signals import periodic_task
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
