"""What the plugin tells the outside about shreds: webhook event types with their payloads, and the texts pretix's
log views show for the entries this plugin writes.

Both are keyed by log action type. Shreds are logged with pretix's own ``pretix.event.shredder.started`` /
``.completed`` (on the job for API shreds, on the event for shreds from pretix's control panel), a failed API shred
with ``pretix_shredder_api.shred.failed`` (on the job), a settings change with
``pretix_shredder_api.settings.changed`` (on the event), a retention policy change with
``pretix_shredder_api.policy.changed`` (on the organizer - pretix's organizer log, so its type is organizer-level, a
plain ``LogEntryType`` - or on the event), the schedule's steps with ``pretix_shredder_api.schedule.*`` (on the
schedule), a download of an export with ``pretix_shredder_api.export.downloaded`` (on the job: who downloaded, which
export, where). Registered from ``signals`` (webhooks) and ``apps.ready`` (log texts).
"""

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from . import jobs, labels, reasons
from .jobs import ACTION_DOWNLOADED, ACTION_SHRED_FAILED
from .models import ShredderJob
from .persons import LOG_PREFIX as PERSON_PREFIX
from .retention import LOG_POLICY_CHANGED
from .retention import LOG_PREFIX as SCHEDULE_PREFIX

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
    """What the completed payload adds about an API shred's result: the residual scan's counts (never values), so a
    receiver learns at once whether personal data of the event is still stored. Nothing for control-panel shreds."""
    if job is None or job.residual_checked_at is None:
        return {}
    return {
        "residual": {
            "values_before": job.residual_values,
            "values_found": job.residual_found,
            "complete": job.residual_found == 0,
        }
    }


# ---------------------------------------------------------------------------------------------------------------------
# Webhooks


def build_shred_payload(logentry) -> dict | None:
    """The payload of a shred webhook: organizer, event, action, the job id (``null`` for a shred from pretix's
    control panel), the shredders' identifiers, the retention policy that started it (``retention_policy``, null for
    a person's shred); ``message`` for a failure."""
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
        "retention_policy": labels.logentry_policy(logentry),
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

    return (
        retention_webhook_events()
        + person_webhook_events()
        + [
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
    )


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
DOWNLOAD_TEXTS = {
    jobs.VIA_API: _("{who} downloaded an export of personal data through the data shredder API ({shredders})."),
    jobs.VIA_SCHEDULE_API: _(
        "{who} downloaded the export of the scheduled removal of personal data through the API ({shredders})."
    ),
    jobs.VIA_RETENTION_PAGE: _(
        "{who} downloaded the export of the scheduled removal of personal data on the data retention page "
        "({shredders})."
    ),
}


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

    class DownloadLogEntryType(ShredLogEntryType):
        def display(self, logentry, data):
            data = data if isinstance(data, dict) else {}
            text = DOWNLOAD_TEXTS.get(data.get("via"), DOWNLOAD_TEXTS[jobs.VIA_API])
            shredders = ", ".join(labels.shredder_names(logentry.event, jobs.logged_shredders(logentry)))
            return str(text).format(who=labels.logentry_credential(logentry), shredders=shredders or "-")

    for action_type, plain in SHRED_TEXTS.items():
        fallback, _meta = log_entry_types.get(action_type=action_type)
        log_entry_types.register(ShredLogEntryType(action_type, plain, fallback))
    log_entry_types.register(SettingsLogEntryType(action_type=ACTION_SETTINGS_CHANGED, plain=SETTINGS_TEXT))
    log_entry_types.register(DownloadLogEntryType(ACTION_DOWNLOADED, DOWNLOAD_TEXTS[jobs.VIA_API]))
    register_retention_log_texts()
    register_person_log_texts()


# ---------------------------------------------------------------------------------------------------------------------
# Retention policy: log texts for the schedule's entries, and webhooks for what an admin must hear about

POLICY_TEXT = _("{who} changed the data retention policy.")
RETENTION_TEXTS = {
    SCHEDULE_PREFIX + "created": _("{who} scheduled the removal of personal data for {due}."),
    SCHEDULE_PREFIX + "export_started": _("{who} started the export of the personal data."),
    SCHEDULE_PREFIX + "notice_sent": _("{who} sent the notice of the removal on {due}."),
    SCHEDULE_PREFIX + "shred_started": _("{who} started removing the personal data."),
    SCHEDULE_PREFIX + "done": _("{who} removed the personal data."),
    SCHEDULE_PREFIX + "failed": _(
        "The removal of personal data scheduled by {who} failed (attempt {attempt}): {error}"
    ),
    SCHEDULE_PREFIX + "dropped": _(
        "The removal of personal data scheduled by {who} is no longer due and was dropped: {error}"
    ),
    SCHEDULE_PREFIX + "cancelled": _("{who} cancelled the scheduled removal of personal data."),
    SCHEDULE_PREFIX + "postponed": _("{who} postponed the scheduled removal of personal data to {due}."),
}
RETENTION_WEBHOOKS = {
    SCHEDULE_PREFIX + "notice_sent": (
        _("Scheduled data shredding announced"),
        _("A retention policy will remove personal data of an event; its admins were notified."),
    ),
    SCHEDULE_PREFIX + "failed": (
        _("Scheduled data shredding failed"),
        _("A shred scheduled by a retention policy failed; it is tried again at the next run."),
    ),
    SCHEDULE_PREFIX + "cancelled": (
        _("Scheduled data shredding cancelled"),
        _("A shred scheduled by a retention policy was cancelled."),
    ),
    SCHEDULE_PREFIX + "postponed": (
        _("Scheduled data shredding postponed"),
        _("A shred scheduled by a retention policy was moved to a later date."),
    ),
}


def who_of(logentry) -> str:
    """The person or credential of a retention entry; where nobody acted, the policy and who set it."""
    if logentry.user_id is None and logentry.api_token_id is None and logentry.oauth_application_id is None:
        data = logentry.parsed_data if isinstance(logentry.parsed_data, dict) else {}
        if "policy" not in data:
            return str(_("The retention policy"))
    return labels.logentry_credential(logentry)


def build_schedule_payload(logentry) -> dict | None:
    """Organizer, event, action, the due date, the shredders, and for a failure the error and the attempt."""
    if logentry.event is None:
        return None
    data = logentry.parsed_data if isinstance(logentry.parsed_data, dict) else {}
    payload = {
        "notification_id": logentry.pk,
        "organizer": logentry.event.organizer.slug,
        "event": logentry.event.slug,
        "action": logentry.action_type,
        "due": data.get("due"),
        "shredders": list(data.get("shredders") or []),
        "datetime": logentry.datetime.isoformat(),
    }
    payload["retention_policy"] = labels.logentry_policy(logentry)
    if logentry.action_type == SCHEDULE_PREFIX + "failed":
        stored = data.get("error", "")
        with translation.override("en"):  # a receiver has no language: the English text, and the key
            message = reasons.text(stored, logentry.event)
        payload.update(message=message, reason=reasons.code(stored), attempt=data.get("attempt"))
    return payload


def retention_webhook_events():
    from pretix.api.webhooks import ParametrizedWebhookEvent

    class ScheduleWebhookEvent(ParametrizedWebhookEvent):
        def build_payload(self, logentry):
            return build_schedule_payload(logentry)

    return [ScheduleWebhookEvent(action, name, help) for action, (name, help) in RETENTION_WEBHOOKS.items()]


def policy_page_link(logentry) -> dict | None:
    """The retention page of the organizer or the event the policy entry was logged on."""
    organizer = logentry.organizer or (logentry.event.organizer if logentry.event else None)
    if organizer is None:
        return None
    if logentry.event is None:
        name, kwargs = "organizer-retention", {"organizer": organizer.slug}
    else:
        name, kwargs = "retention", {"organizer": organizer.slug, "event": logentry.event.slug}
    return {"href": reverse(f"plugins:pretix_shredder_api:{name}", kwargs=kwargs), "val": str(_("Data retention"))}


def register_retention_log_texts():
    from pretix.base.logentrytypes import EventLogEntryType, LogEntryType, NoOpShredderMixin, log_entry_types

    class RetentionLogEntryType(NoOpShredderMixin, EventLogEntryType):
        def display(self, logentry, data):
            values = {"due": "?", "attempt": "?", "error": "", **(data if isinstance(data, dict) else {})}
            values["due"] = str(values["due"])[:10]
            values["error"] = reasons.text(values.get("error") or values.get("reason") or "", logentry.event)
            return str(self.plain).format(who=who_of(logentry), **{k: values[k] for k in ("due", "attempt", "error")})

    class PolicyLogEntryType(NoOpShredderMixin, LogEntryType):
        """Organizer level as well as event level: the organizer's policy is logged on the organizer (pretix's
        organizer log), an event's own on the event. A plain ``LogEntryType``, as pretix's organizer types are."""

        def display(self, logentry, data):
            return str(self.plain).format(who=who_of(logentry))

        def get_object_link_info(self, logentry):
            return policy_page_link(logentry)

    for action_type, plain in RETENTION_TEXTS.items():
        log_entry_types.register(RetentionLogEntryType(action_type=action_type, plain=plain))
    log_entry_types.register(PolicyLogEntryType(action_type=LOG_POLICY_CHANGED, plain=POLICY_TEXT))


# ---------------------------------------------------------------------------------------------------------------------
# Requests of one person: organizer-level log entries (on the request, no event) and the "erased" webhook

ACTION_PERSON_ERASED = PERSON_PREFIX + "erased"
PERSON_TEXTS = {
    PERSON_PREFIX + "created": _("{who} registered request #{request} of a person ({kind})."),
    PERSON_PREFIX + "found": _("The data of the person of request #{request} was found: {erased} items to erase, "
                               "{retained} retained, {blocked} blocked."),
    PERSON_PREFIX + "exported": _("The data of the person of request #{request} was exported."),
    ACTION_PERSON_ERASED: _("{who} erased the data of the person of request #{request} (orders: {orders}); "
                            "the check afterwards found {proof_found} values left."),
    PERSON_PREFIX + "cancelled": _("{who} cancelled request #{request} of a person."),
}  # fmt: skip


def build_person_payload(logentry) -> dict | None:
    """Organizer, the request's id, the order codes whose rows changed, the counts - no personal values."""
    if logentry.organizer is None:
        return None
    data = logentry.parsed_data if isinstance(logentry.parsed_data, dict) else {}
    return {
        "notification_id": logentry.pk,
        "organizer": logentry.organizer.slug,
        "action": logentry.action_type,
        "request": data.get("request"),
        "orders": list(data.get("orders") or []),
        "counts": data.get("counts") or {},
        "proof_found": data.get("proof_found"),
        "datetime": logentry.datetime.isoformat(),
    }


def person_webhook_events():
    from pretix.api.webhooks import ParametrizedWebhookEvent

    class PersonWebhookEvent(ParametrizedWebhookEvent):
        def build_payload(self, logentry):
            return build_person_payload(logentry)

    return [
        PersonWebhookEvent(
            ACTION_PERSON_ERASED,
            _("Data of a person erased"),
            _("The data an organizer held about one person was erased on their request (order codes, no values)."),
        )
    ]


def register_person_log_texts():
    from pretix.base.logentrytypes import LogEntryType, NoOpShredderMixin, log_entry_types

    class PersonLogEntryType(NoOpShredderMixin, LogEntryType):
        """Organizer-level: logged on the request, which belongs to the organizer and no event."""

        def display(self, logentry, data):
            data = data if isinstance(data, dict) else {}
            counts = data.get("counts") or {}
            values = {
                "who": labels.logentry_credential(logentry),
                "request": data.get("request", "?"),
                "kind": data.get("kind", "?"),
                "orders": ", ".join(data.get("orders") or []) or "-",
                "proof_found": data.get("proof_found", "?"),
                **{k: counts.get(k, 0) for k in ("erased", "retained", "blocked")},
            }
            return str(self.plain).format(**values)

    for action_type, plain in PERSON_TEXTS.items():
        log_entry_types.register(PersonLogEntryType(action_type=action_type, plain=plain))
