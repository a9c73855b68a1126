"""What the plugin tells the outside about shreds: webhook event types with their payloads, and the texts pretix's
log views show for the entries this plugin writes.

Both are keyed by log action type. Shreds are logged with pretix's own ``pretix.event.shredder.started`` /
``.completed`` (on the job for API shreds, on the event for shreds from pretix's control panel), a failed API shred
with ``pretix_shredder_api.shred.failed`` (on the job), a settings change with
``pretix_shredder_api.settings.changed`` (on the event). Registered from ``signals`` (webhooks) and ``apps.ready``
(log texts).
"""

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import jobs, labels
from .jobs import ACTION_SHRED_FAILED
from .models import ShredderJob

ACTION_STARTED = "pretix.event.shredder.started"
ACTION_COMPLETED = "pretix.event.shredder.completed"
ACTION_SETTINGS_CHANGED = "pretix_shredder_api.settings.changed"


# ---------------------------------------------------------------------------------------------------------------------
# What a log entry of a shred says (shared by the payloads and the log texts)


def job_of(logentry):
    """The job an entry was logged on, or None (a control-panel shred is logged on the event)."""
    if logentry.content_type_id != ContentType.objects.get_for_model(ShredderJob).pk:
        return None
    return ShredderJob.objects.filter(pk=logentry.object_id).first()


def completed_extras(job) -> dict:
    """Fields the completed payload adds about the job's result. The residual scan (issue 15) puts its fields
    (personal values still found after the shred) here; nothing yet."""
    return {}


# ---------------------------------------------------------------------------------------------------------------------
# Webhooks


def build_shred_payload(logentry) -> dict | None:
    """The payload of a shred webhook: organizer, event, action, the job id (``null`` for a shred from pretix's
    control panel), the shredders' identifiers, who started it; ``message`` for a failure."""
    if logentry.event is None:
        return None
    job_id = jobs.logged_job_id(logentry)
    payload = {
        "notification_id": logentry.pk,
        "organizer": logentry.event.organizer.slug,
        "event": logentry.event.slug,
        "action": logentry.action_type,
        "job": job_id,
        "shredders": jobs.logged_shredders(logentry),
        "source": "api" if job_id else "control",
        "datetime": logentry.datetime.isoformat(),
    }
    if logentry.action_type == ACTION_SHRED_FAILED:
        payload["message"] = (logentry.parsed_data or {}).get("message", "")
    if logentry.action_type == ACTION_COMPLETED:
        payload.update(completed_extras(job_of(logentry) if job_id else None))
    return payload


def webhook_events():
    from pretix.api.webhooks import ParametrizedWebhookEvent

    class ShredWebhookEvent(ParametrizedWebhookEvent):
        def build_payload(self, logentry):
            return build_shred_payload(logentry)

    return [
        ShredWebhookEvent(
            ACTION_STARTED,
            _("Data shredding started"),
            _("Personal data of an event is being removed (through the data shredder API or the control panel)."),
        ),
        ShredWebhookEvent(
            ACTION_COMPLETED,
            _("Data shredding completed"),
            _("Personal data of an event has been removed (through the data shredder API or the control panel)."),
        ),
        ShredWebhookEvent(
            ACTION_SHRED_FAILED,
            _("Data shredding failed"),
            _("A removal of personal data through the data shredder API failed; its export is kept."),
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------------
# Log texts

SHRED_TEXTS = {
    ACTION_STARTED: _("{who} started removing personal data through the data shredder API ({shredders})."),
    ACTION_COMPLETED: _("{who} removed personal data through the data shredder API ({shredders})."),
    ACTION_SHRED_FAILED: _(
        "Removing personal data through the data shredder API ({shredders}), started by {who}, failed: {message}"
    ),
}
SETTINGS_TEXT = _("{who} changed the data shredder API settings of this event.")


def register_log_texts():
    """Register the texts in pretix's log entry type registry. pretix already has texts for the two
    ``pretix.event.shredder.*`` types; ours replace them, keep pretix's for entries logged on the event (a shred from
    the control panel) and say more for entries logged on a job (which shredders, by whom)."""
    from pretix.base.logentrytypes import EventLogEntryType, NoOpShredderMixin, log_entry_types

    class ShredLogEntryType(NoOpShredderMixin, EventLogEntryType):
        object_link_wrapper = _("Data shredder job {val}")

        def __init__(self, action_type, plain, fallback=None):
            super().__init__(action_type=action_type, plain=plain)
            self.fallback = fallback

        def display(self, logentry, data):
            if not jobs.logged_job_id(logentry):
                if self.fallback is not None:
                    return self.fallback.display(logentry, data)
            shredders = ", ".join(labels.shredder_names(logentry.event, jobs.logged_shredders(logentry)))
            return str(self.plain).format(
                who=labels.logentry_credential(logentry),
                shredders=shredders or "-",
                message=(data or {}).get("message", ""),
            )

        def get_object_link_info(self, logentry):
            job_id = jobs.logged_job_id(logentry)
            if not job_id or logentry.event is None:
                return None
            return {
                "href": reverse(
                    "plugins:pretix_shredder_api:event",
                    kwargs={"organizer": logentry.event.organizer.slug, "event": logentry.event.slug},
                ),
                "val": job_id[:8],
            }

    class SettingsLogEntryType(NoOpShredderMixin, EventLogEntryType):
        def display(self, logentry, data):
            return str(self.plain).format(who=labels.logentry_credential(logentry))

    for action_type, plain in SHRED_TEXTS.items():
        fallback, _meta = log_entry_types.get(action_type=action_type)
        log_entry_types.register(ShredLogEntryType(action_type, plain, fallback))
    log_entry_types.register(SettingsLogEntryType(action_type=ACTION_SETTINGS_CHANGED, plain=SETTINGS_TEXT))
