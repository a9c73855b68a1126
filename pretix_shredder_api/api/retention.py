"""REST endpoints of the retention policy and its schedule: thin views over ``retention``.

* ``GET|PATCH /api/v1/organizers/<o>/shredder-policy/`` - the organizer's policy (read: any credential of the
  organizer, as pretix's organizer settings); ``POST …/shredder-policy/preview/`` - what a PATCH with the same body
  would do, saving nothing (asked of ``permissions`` like the PATCH).
* ``GET|PATCH P policy/`` - the event's effective policy and its overrides (read: ``event.orders:read``);
  ``POST P policy/preview/`` likewise.
* ``GET P schedule/``, ``GET P schedule/download/``, ``POST P schedule/cancel/``, ``POST P schedule/postpone/``
  (read: ``event.orders:read``).

Who may change a policy, cancel, postpone or download is decided by ``permissions`` (one function per action, the
same the pages ask); a refusal is ``403 {"detail": <what is missing>}``.
"""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from pretix.base.models import Event
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import jobs, labels, permissions, reasons, retention
from ..downloads import served_export
from .shredders import NoSerializerMetadata, ShredderPermission, as_dict, refusal

MSG_NO_SCHEDULE = retention.MSG_NO_SCHEDULE


class PolicySerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    shredders = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, allow_empty=True, max_length=100
    )
    days_after_event = serializers.IntegerField(required=False, min_value=0, max_value=retention.MAX_DAYS)
    notice_days = serializers.IntegerField(required=False, min_value=0, max_value=retention.MAX_DAYS)
    mode = serializers.ChoiceField(required=False, choices=list(retention.retention_dates.MODES))  # issue 21
    hold = serializers.DictField(  # issue 21: the legal hold, {tax-relevant shredder: years}; checked by retention
        child=serializers.IntegerField(min_value=1, max_value=retention.retention_hold.MAX_YEARS),
        required=False,
    )

    def __init__(self, *args, known, unknown_message, allow_null=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.known, self.unknown_message = known, unknown_message
        for f in self.fields.values():
            f.allow_null = allow_null  # on an event, null removes the override (the organizer's value applies)

    def validate_shredders(self, value):
        if value is None:
            return value
        unknown = [v for v in value if v not in self.known]
        if unknown:
            raise serializers.ValidationError([self.unknown_message.format(identifier=u[:100]) for u in unknown])
        return list(dict.fromkeys(value))


MSG_UNKNOWN_EVENT_SHREDDER = _('"{identifier}" is not a known data shredder for this event.')
MSG_UNKNOWN_ORGANIZER_SHREDDER = _('"{identifier}" is not a known data shredder for the events of this organizer.')


def validate_policy(request, obj, *, allow_null=False, current=None):
    """``(changes, merged policy, None)`` of a PATCH body, or ``(None, None, 400 answer)``. The one validation of
    both levels, for the PATCH and its preview: a body that is not a JSON object (DRF's ``non_field_errors``),
    unknown shredders (``retention.known_shredders``), and ``retention.policy_problems``."""
    s = PolicySerializer(
        data=request.data,
        known=retention.known_shredders(obj),
        unknown_message=MSG_UNKNOWN_EVENT_SHREDDER if isinstance(obj, Event) else MSG_UNKNOWN_ORGANIZER_SHREDDER,
        allow_null=allow_null,
        partial=True,
    )
    s.is_valid(raise_exception=True)
    changes = dict(s.validated_data)
    merged = current(changes)
    problems = retention.policy_problems(merged, changed=changes)
    if problems:
        answer = Response({k: [str(m) for m in v] for k, v in problems.items()}, status=http.HTTP_400_BAD_REQUEST)
        return None, None, answer
    return changes, merged, None


def save_policy(request, obj, *, allow_null=False, current=None) -> Response | None:
    """Validate a PATCH of an event's or organizer's policy (``validate_policy``), store it and log it; a 400 answer
    or None."""
    changes, _merged_policy, refused = validate_policy(request, obj, allow_null=allow_null, current=current)
    if refused is not None:
        return refused
    if changes:
        retention.update_policy(obj, changes, user=request.user, auth=request.auth)
    return None


PREVIEW_LISTED = 10  # the soonest planned shreds a preview lists


def preview_body(obj, policy: retention.Policy) -> dict:
    """What storing ``policy`` would do at the next scheduler run (``retention.preview``)."""
    p = retention.preview(obj, policy)
    return {
        "policy": policy.as_dict(),
        "schedules": len(p.planned),
        "first_due": p.first_due.isoformat() if p.first_due else None,
        "mails": p.mails,
        "events": [
            {
                "event": planned.event.slug,
                "notice_at": planned.notice_at.isoformat(),
                "due": planned.due.isoformat(),
                "mails": planned.mails,
            }
            for planned in p.planned[:PREVIEW_LISTED]
        ],
        "later": p.later,
        "active": p.active,
        "dropped": p.dropped,
        "tax_relevant": [{"identifier": f.identifier, "name": f.name} for f in p.tax_relevant],
    }


def preview_policy(request, obj, *, allow_null=False, current=None) -> Response:
    changes, merged, refused = validate_policy(request, obj, allow_null=allow_null, current=current)
    return refused or Response(preview_body(obj, merged))


def _merged(obj, changes: dict, parent=None) -> retention.Policy:
    """The policy ``obj`` would have after ``changes`` (``None`` = the parent's value)."""
    values = retention.policy_of(obj).as_dict()
    parent_values = retention.policy_of(parent).as_dict() if parent is not None else {}
    for k, v in changes.items():
        values[k] = parent_values.get(k) if v is None else v
    values["shredders"] = tuple(values["shredders"])
    return retention.Policy(**values)


def require(missing: str) -> None:
    """403 with what ``permissions`` says is missing."""
    if missing:
        raise PermissionDenied(missing)


class OrganizerPolicyView(APIView):
    permission = None  # any credential of the organizer may read it, as pretix's organizer settings
    permission_classes = [ShredderPermission]
    metadata_class = NoSerializerMetadata

    def get(self, request, *args, **kwargs):
        return Response(retention.policy_of(request.organizer).as_dict())

    def patch(self, request, *args, **kwargs):
        organizer = request.organizer
        require(permissions.change_organizer_policy(request, organizer))
        refused = save_policy(request, organizer, current=lambda changes: _merged(organizer, changes))
        if refused is not None:
            return refused
        organizer.settings.flush()
        return Response(retention.policy_of(organizer).as_dict())


class OrganizerPolicyPreviewView(APIView):
    """``POST …/shredder-policy/preview/``: what the PATCH with this body would do; nothing is saved."""

    permission = None  # asked of ``permissions`` like the PATCH
    permission_classes = [ShredderPermission]
    metadata_class = NoSerializerMetadata

    def post(self, request, *args, **kwargs):
        organizer = request.organizer
        require(permissions.change_organizer_policy(request, organizer))
        return preview_policy(request, organizer, current=lambda changes: _merged(organizer, changes))


def schedule_body(s) -> dict:
    job = s.job
    return {
        "state": s.state,
        "due": s.due.isoformat(),
        "notice_at": s.notice_at.isoformat(),
        "notice_sent": s.notice_sent.isoformat() if s.notice_sent else None,
        "postponed": s.postponed_at is not None,
        "shredders": s.shredders,
        "attempts": s.attempts,
        "last_error": reasons.text(s.last_error, s.event),
        "last_error_code": reasons.code(s.last_error),
        "scheduled_by": labels.policy_payload(s.policy_attribution) if s.policy_attribution else None,
        "export": jobs.export_view(job).state if job else None,
        "shred": (jobs.shred_view(job).state or None) if job else None,
    }


class PostponeSerializer(serializers.Serializer):
    date = serializers.CharField()

    def validate_date(self, value):
        """A date (its start in the event's time zone) or an ISO datetime with its offset."""
        event = self.context["event"]
        try:
            if len(value) == 10:
                return retention.start_of_day(datetime.strptime(value, "%Y-%m-%d").date(), event)
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise serializers.ValidationError(_("Please give a date as YYYY-MM-DD or an ISO 8601 datetime.")) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=event.timezone)
        return parsed


class RetentionViewSet(viewsets.ViewSet):
    """The event's policy and schedule, on the ``shredders`` prefix of pretix's event router."""

    permission_classes = [ShredderPermission]
    metadata_class = NoSerializerMetadata

    def _get_permission_name(self, request):
        """Reads need the permission to view the event's orders; what may change deletion (or download its export)
        is asked of ``permissions`` in the action itself, which says what is missing."""
        if request.method in SAFE_METHODS and getattr(self, "action", None) != "schedule_download":
            return "event.orders:read"
        return None

    def _schedule(self):
        s = retention.current_schedule(self.request.event)
        if s is None:
            return None, Response({"detail": str(MSG_NO_SCHEDULE)}, status=http.HTTP_404_NOT_FOUND)
        return s, None

    def _policy_body(self):
        event = self.request.event
        return {**retention.policy_of(event).as_dict(), "overridden": retention.overridden(event)}

    @action(detail=False, methods=["GET", "PATCH"], url_path="policy", url_name="policy")
    def policy(self, request, *args, **kwargs):
        event = request.event
        if request.method == "PATCH":
            require(permissions.change_event_policy(request, event))
            refused = save_policy(
                request,
                event,
                allow_null=True,
                current=lambda changes: _merged(event, changes, parent=event.organizer),
            )
            if refused is not None:
                return refused
            event.settings.flush()
        return Response(self._policy_body())

    @action(detail=False, methods=["POST"], url_path="policy/preview", url_name="policy-preview")
    def policy_preview(self, request, *args, **kwargs):
        event = request.event
        require(permissions.change_event_policy(request, event))
        return preview_policy(
            request, event, allow_null=True, current=lambda changes: _merged(event, changes, parent=event.organizer)
        )

    @action(detail=False, methods=["GET"], url_path="schedule", url_name="schedule")
    def schedule(self, request, *args, **kwargs):
        s, missing = self._schedule()
        return missing or Response(schedule_body(s))

    @action(detail=False, methods=["GET"], url_path="schedule/download", url_name="schedule-download")
    def schedule_download(self, request, *args, **kwargs):
        require(permissions.download_schedule_export(request, request.event))
        s = retention.current_schedule(request.event)
        try:
            cf, fh = retention.schedule_export(s)
        except jobs.JobError as e:
            return refusal(e)
        identity = jobs.Identity.of(request.auth, request.user)  # who downloads (the permission class knows them)
        return served_export(request, s.job, cf, fh, identity, jobs.VIA_SCHEDULE_API)

    @action(detail=False, methods=["POST"], url_path="schedule/cancel", url_name="schedule-cancel")
    def schedule_cancel(self, request, *args, **kwargs):
        require(permissions.change_schedule(request, request.event))
        s, missing = self._schedule()
        if missing:
            return missing
        try:
            s = retention.cancel(s, user=request.user, auth=request.auth)
        except retention.ScheduleError as e:
            return Response({"detail": str(e)}, status=http.HTTP_409_CONFLICT)
        return Response(schedule_body(s))

    @action(detail=False, methods=["POST"], url_path="schedule/postpone", url_name="schedule-postpone")
    def schedule_postpone(self, request, *args, **kwargs):
        require(permissions.change_schedule(request, request.event))
        s, missing = self._schedule()
        if missing:
            return missing
        serializer = PostponeSerializer(data=as_dict(request.data), context={"event": request.event})
        serializer.is_valid(raise_exception=True)
        try:
            s = retention.postpone(s, serializer.validated_data["date"], user=request.user, auth=request.auth)
        except retention.PostponeDateError as e:
            return Response({"date": [str(e)]}, status=http.HTTP_400_BAD_REQUEST)
        except retention.ScheduleError as e:
            return Response({"detail": str(e)}, status=http.HTTP_409_CONFLICT)
        return Response(schedule_body(s))
