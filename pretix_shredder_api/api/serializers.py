"""Request validation and response shapes of the shredder API."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from ..jobs import PhaseView

MAX_REPORTED = 10  # unknown identifiers named in an error


class ShredderSerializer(serializers.Serializer):
    identifier = serializers.CharField()
    verbose_name = serializers.CharField()


class IdentifierListField(serializers.Field):
    """A JSON list, or - as pretix's built-in API accepted - a repeated form field; checked by the serializer."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary):
            return dictionary.getlist(self.field_name) if self.field_name in dictionary else empty
        return dictionary.get(self.field_name, empty)

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class ExportRequestSerializer(serializers.Serializer):
    # Validated by hand so that every error is a flat list of messages under "shredders".
    shredders = IdentifierListField()

    def __init__(self, *args, known: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.known = known

    def validate_shredders(self, value):
        if not isinstance(value, list) or not value:
            raise serializers.ValidationError(_("Please name at least one data shredder as a list of identifiers."))
        if not all(isinstance(v, str) for v in value):
            raise serializers.ValidationError(_("Data shredders are named by their identifiers (strings)."))
        unknown = list(dict.fromkeys(v for v in value if v not in self.known))
        if unknown:
            raise serializers.ValidationError(
                [
                    _('"{identifier}" is not a known data shredder for this event.').format(identifier=u[:100])
                    for u in unknown[:MAX_REPORTED]
                ]
            )
        return list(dict.fromkeys(value))  # duplicates merged, order kept


class ShredRequestSerializer(serializers.Serializer):
    confirm_code = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=64)


def progress_body(view: PhaseView, with_steps: bool = False) -> dict:
    body = {"status": view.state, "percentage": view.percentage}
    if with_steps:
        body["steps"] = [{"label": s.get("label", ""), "done": bool(s.get("done"))} for s in view.steps]
    return body


def failed_body(message) -> dict:
    return {"status": "failed", "message": str(message)}


def gone_body(message) -> dict:
    return {"status": "gone", "message": str(message)}


def ok_body() -> dict:
    return {"status": "ok", "message": "OK"}


# -- the residual scan (counts and locations, never values) ---------------------------------------------------------

SHRED_STATE_NAMES = {"": "not_started", "waiting": "waiting", "running": "running", "failed": "failed"}


def _locations(locations) -> list:
    return [
        {
            "table": loc.get("table"),
            "column": loc.get("column"),
            "action_type": loc.get("action_type"),
            "count": int(loc.get("count") or 0),
        }
        for loc in locations or []
    ]


def report_body(job, view: PhaseView) -> dict:
    """A job's residual report: what its shred left behind, as checked right after the shredders ran."""
    checked = job.residual_checked_at is not None and view.state == "succeeded"
    return {
        "shred": "ok" if view.state == "succeeded" else SHRED_STATE_NAMES.get(view.state, view.state),
        "shredders": list(job.shredders),
        "checked_at": job.residual_checked_at.isoformat().replace("+00:00", "Z") if checked else None,
        "values_before": job.residual_values if checked else None,
        "values_found": job.residual_found if checked else None,
        "complete": (job.residual_found == 0) if checked else None,
        "locations": _locations(job.residual_locations) if checked else [],
    }


def residual_body(report, checked_at) -> dict:
    """The on-demand scan of an event: which of its personal values it still holds, and where."""
    return {
        "checked_at": checked_at.isoformat().replace("+00:00", "Z"),
        "values_found": report.found,
        "complete": report.found == 0,
        "locations": _locations(report.locations),
    }
