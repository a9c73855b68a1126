"""The job record: one row per export, with the state of the shred of that export on the same row.

Rules about these rows (who owns one, which transitions are allowed, when a job is stale) live in ``jobs.py``.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from pretix.base.models.base import LoggingMixin


class JobState(models.TextChoices):
    WAITING = "waiting", _("waiting")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")


class ShredderJob(LoggingMixin, models.Model):
    # Integer primary key so that log entries can point at the job (LogEntry.object_id is an integer).
    id = models.BigAutoField(primary_key=True)
    # The two opaque values of the download/shred/status URLs.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    secret = models.UUIDField(default=uuid.uuid4, editable=False)

    event = models.ForeignKey("pretixbase.Event", on_delete=models.CASCADE, related_name="shredder_api_jobs")

    # The credential that started the job, as an immutable key ("token:<id>", "oauth:<application>:<user>" or
    # "user:<id>"); lookups filter on it. The foreign keys below are for attribution and display only: they become
    # NULL when the credential is deleted, which must never make the job look like someone else's.
    owner = models.CharField(max_length=100, db_index=True)
    api_token = models.ForeignKey(
        "pretixbase.TeamAPIToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    oauth_application = models.ForeignKey(
        "pretixapi.OAuthApplication", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey("pretixbase.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A job the retention scheduler started: whose policy it was and who set that policy, as recorded when the
    # export started (``retention.policy_source``; no e-mail, no lookup when it is shown). Empty for other jobs.
    policy_attribution = models.JSONField(default=dict, blank=True)

    shredders = models.JSONField(default=list)
    # What the job shreds (``scopes.Scope.as_json``): empty for the whole event, else the dates or validity scope
    # with the ids and codes of its orders, fixed when the export started.
    scope = models.JSONField(default=dict, blank=True)
    file = models.ForeignKey(
        "pretixbase.CachedFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_sha256 = models.CharField(max_length=64, blank=True)
    confirm_code = models.CharField(max_length=32, blank=True)
    # The time written into index.json; log entries from this moment on mean "the event changed after the export".
    exported_at = models.DateTimeField(null=True, blank=True)

    # Language of the request that started the job: failure messages and step labels are stored in it.
    locale = models.CharField(max_length=32, default="en")
    created = models.DateTimeField(auto_now_add=True)

    export_state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.WAITING)
    export_progress = models.PositiveSmallIntegerField(default=0)
    export_message = models.TextField(blank=True)
    export_heartbeat = models.DateTimeField(null=True, blank=True)
    export_finished = models.DateTimeField(null=True, blank=True)

    # Blank until a shred has been requested.
    shred_state = models.CharField(max_length=16, choices=JobState.choices, blank=True)
    # Changes with every shred attempt; a task only works on the attempt it was queued for.
    shred_attempt = models.CharField(max_length=36, blank=True)
    shred_progress = models.PositiveSmallIntegerField(default=0)
    shred_steps = models.JSONField(default=list)
    shred_message = models.TextField(blank=True)
    shred_heartbeat = models.DateTimeField(null=True, blank=True)
    shred_started = models.DateTimeField(null=True, blank=True)
    shred_finished = models.DateTimeField(null=True, blank=True)

    # The residual scan of the shred (residual.py): counts and locations, never the values themselves.
    # residual_values: distinct personal values the event held before the shred; residual_found: how many of them
    # are still stored after it; residual_locations: [{"table", "column", "action_type", "count"}].
    residual_values = models.PositiveIntegerField(null=True, blank=True)
    residual_found = models.PositiveIntegerField(null=True, blank=True)
    residual_locations = models.JSONField(default=list)
    residual_seconds = models.FloatField(null=True, blank=True)
    residual_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created", "-id")
        indexes = [models.Index(fields=["event", "created"], name="shredder_api_job_evt_created")]

    def __str__(self):
        return str(self.public_id)


class ScheduleState(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")  # waiting for the notice time
    EXPORTING = "exporting", _("exporting")  # the export admins may download during the notice period is being made
    NOTICED = "noticed", _("notice sent")  # export ready, admins told; waiting for the due date
    SHREDDING = "shredding", _("shredding")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")  # the last attempt failed; the next periodic run tries again
    CANCELLED = "cancelled", _("cancelled")
    DROPPED = "dropped", _("no longer due")  # the event is not over any more, or its policy was switched off


ACTIVE_SCHEDULE_STATES = (
    ScheduleState.SCHEDULED,
    ScheduleState.EXPORTING,
    ScheduleState.NOTICED,
    ScheduleState.SHREDDING,
    ScheduleState.FAILED,
)


class ScheduledShred(LoggingMixin, models.Model):
    """A shred the retention policy planned for an event; at most one active per event (a database constraint), in
    either mode: in the dates mode one schedule at a time covers every order due by its date, the next is planned
    once it has ended.

    Its work is done by an ordinary ``ShredderJob`` owned by ``policy:<organizer>``. Rules live in ``retention.py``.
    """

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey("pretixbase.Event", on_delete=models.CASCADE, related_name="shredder_api_schedules")
    state = models.CharField(max_length=16, choices=ScheduleState.choices, default=ScheduleState.SCHEDULED)
    shredders = models.JSONField(default=list)
    due = models.DateTimeField()
    notice_at = models.DateTimeField()
    notice_sent = models.DateTimeField(null=True, blank=True)
    postponed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # A reason key (``reasons.py``), rendered in the reader's language; older rows hold an English text.
    last_error = models.TextField(blank=True)
    # Whose policy planned this shred and who set it (``retention.policy_source``): recorded when the schedule is
    # created, again when its export starts (the policy then in force is the one that shreds).
    policy_attribution = models.JSONField(default=dict, blank=True)
    # The last error the admins were mailed about: the same error on the next retry is not mailed again.
    reported_error = models.TextField(blank=True)
    job = models.ForeignKey(ShredderJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The policy's mode when it was planned (``retention_dates``): "event" shreds the whole event once it is over;
    # "dates" shreds ``scope`` (``scopes.Scope.as_json``: the orders whose dates or validity ended, planned when the
    # schedule was created and fixed again when its export starts), the shop stays online.
    mode = models.CharField(max_length=16, default="event")
    scope = models.JSONField(default=dict, blank=True)
    # A legal hold's stage two (``retention_hold``): the years its shredders were kept; None for every other schedule.
    hold_years = models.PositiveSmallIntegerField(null=True, blank=True)
    # Compare-and-set counter: every step moves it, so two periodic runs at once never take the same step twice.
    version = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["event"],
                condition=models.Q(state__in=[s.value for s in ACTIVE_SCHEDULE_STATES]),
                name="shredder_api_one_active_schedule",
            )
        ]

    def __str__(self):
        return f"{self.event_id}:{self.due:%Y-%m-%d}"


class ResidualScan(models.Model):
    """The last on-demand residual scan of an event (counts and locations, never values) and the claim of a scan
    running now. Reused while the event is unchanged and the result is young; the rules are in ``residual_cache``."""

    event = models.OneToOneField(
        "pretixbase.Event", on_delete=models.CASCADE, related_name="shredder_api_residual_scan"
    )
    fingerprint = models.CharField(max_length=200, blank=True)  # what the event looked like when the scan started
    checked_at = models.DateTimeField(null=True, blank=True)  # when the scan started
    values = models.PositiveIntegerField(null=True, blank=True)
    found = models.PositiveIntegerField(null=True, blank=True)
    locations = models.JSONField(default=list)
    seconds = models.FloatField(null=True, blank=True)  # how long it took
    running_since = models.DateTimeField(null=True, blank=True)  # a scan of this event is running (one at a time)

    def __str__(self):
        return f"{self.event_id}:{self.checked_at}"


class PersonKind(models.TextChoices):
    ACCESS = "access", _("access (a copy of the data)")
    ERASURE = "erasure", _("erasure")


class PersonState(models.TextChoices):
    FINDING = "finding", _("finding the data")
    FOUND = "found", _("data found")
    EXPORTING = "exporting", _("exporting")
    EXPORTED = "exported", _("exported")
    ERASING = "erasing", _("erasing")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


OPEN_PERSON_STATES = (
    PersonState.FINDING,
    PersonState.FOUND,
    PersonState.EXPORTING,
    PersonState.EXPORTED,
    PersonState.ERASING,
)


class PersonRequest(LoggingMixin, models.Model):
    """A person's request (GDPR Art. 15/17) for a copy or the erasure of everything the organizer holds about one
    e-mail address. Rules live in ``persons.py``.

    ``email`` is the normalised address (stripped, case-folded) while the request is open; it is blanked once the
    request is done, failed or cancelled, and ``email_hash`` (an HMAC with the instance's secret key) is what stays to
    recognise a repeat request. ``findings`` and ``proof`` hold references (event slugs, order codes, ids), counts and
    locations, never values.
    """

    id = models.BigAutoField(primary_key=True)
    organizer = models.ForeignKey(
        "pretixbase.Organizer", on_delete=models.CASCADE, related_name="shredder_api_person_requests"
    )
    kind = models.CharField(max_length=16, choices=PersonKind.choices)
    state = models.CharField(max_length=16, choices=PersonState.choices, default=PersonState.FINDING)
    email = models.CharField(max_length=254, blank=True)
    email_hash = models.CharField(max_length=64, db_index=True)
    received = models.DateTimeField()
    respond_by = models.DateTimeField()
    locale = models.CharField(max_length=32, default="en")

    # {"events": [{"event", "name", "over", "items": [{"type", "ref", "disposition", ...}]}], "organizer": {...}}
    findings = models.JSONField(default=dict)
    # the ids of the events the request touches (the permission checks ask for every one of them)
    event_ids = models.JSONField(default=list)
    counts = models.JSONField(default=dict)
    # the proof scan after the erasure: {"values", "found", "retained", "locations": [...], "seconds"}
    proof = models.JSONField(default=dict)
    # order codes whose rows the erasure changed (the webhook names them)
    orders_affected = models.JSONField(default=list)
    # after the erasure: the orders it had to leave (a valid ticket of an event not over), erased by the periodic
    # follow-up once ``blocked_until`` (the end of their events) has passed; recognised by ``email_hash``
    blocked_orders = models.JSONField(default=list)
    blocked_until = models.DateTimeField(null=True, blank=True, db_index=True)

    file = models.ForeignKey(
        "pretixbase.CachedFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_sha256 = models.CharField(max_length=64, blank=True)

    # a key of persons.MESSAGES (rendered in the reader's language), with its parameters
    message = models.CharField(max_length=64, blank=True)
    message_args = models.JSONField(default=dict)

    # who created it (as ShredderJob: an immutable key, and links for attribution)
    owner = models.CharField(max_length=100)
    api_token = models.ForeignKey(
        "pretixbase.TeamAPIToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    oauth_application = models.ForeignKey(
        "pretixapi.OAuthApplication", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey("pretixbase.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    found_at = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-received", "-id")
        indexes = [models.Index(fields=["organizer", "state"], name="shredder_api_person_org_state")]

    def __str__(self):
        return f"{self.kind}:{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_PERSON_STATES
