"""REST endpoints of a shred scope below the event (``scopes``), on the ``shredders`` prefix of pretix's event router:

* ``POST P scopes/export/`` ``{"shredders": [...], "subevents": [ids]}`` or ``{"shredders": [...], "ended_days_ago":
  N}`` - 202 with the job's ``download`` and ``shred`` URLs (the same job URLs as an event export) and ``scope``.
* ``GET P scopes/<id>/<secret>/`` - which dates and orders the job covers (ids and order codes, no personal data).

The same permission and ownership as the event export: ``event.orders:write``, the job belongs to the credential.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from .. import flows, jobs, permissions, scopes
from ..scope_shredders import offered_for_scopes
from .serializers import ExportRequestSerializer
from .shredders import JOB_URL, NoSerializerMetadata, ShredderPermission, as_dict, refusal

MAX_SUBEVENTS = 1000
MSG_ONE_OF = _('Please give either "subevents" (a list of date ids) or "ended_days_ago" (a number of days).')


class ScopeRequestSerializer(ExportRequestSerializer):
    subevents = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, allow_empty=False, max_length=MAX_SUBEVENTS
    )
    ended_days_ago = serializers.IntegerField(required=False, min_value=0, max_value=scopes.MAX_DAYS)

    def validate(self, attrs):
        if ("subevents" in attrs) == ("ended_days_ago" in attrs):
            raise serializers.ValidationError({"scope": [MSG_ONE_OF]})
        return attrs


def scope_body(job) -> dict:
    scope = jobs.scope_of(job)
    return {
        "kind": scope.kind,
        "ended_days_ago": scope.ended_days_ago,
        "subevents": list(scope.subevents),
        "orders": list(scope.codes),
        "order_count": len(scope.orders),
        "shredders": list(job.shredders),
        "export": jobs.export_view(job).state,
        "shred": jobs.shred_view(job).state or None,
    }


class ScopeViewSet(viewsets.ViewSet):
    permission = "event.orders:write"
    permission_classes = [ShredderPermission]
    metadata_class = NoSerializerMetadata

    def _get_permission_name(self, request):
        return self.permission

    def _identity(self) -> jobs.Identity:
        from rest_framework.exceptions import PermissionDenied

        try:
            return jobs.Identity.of(self.request.auth, self.request.user)
        except jobs.UnsupportedCredential as e:
            raise PermissionDenied(str(e)) from None

    def _url(self, name: str, job) -> str:
        kwargs = {
            "organizer": self.request.event.organizer.slug,
            "event": self.request.event.slug,
            "asyncid": str(job.public_id),
            "cfid": str(job.secret),
        }
        return reverse(name, kwargs=kwargs, request=self.request)

    @action(detail=False, methods=["POST"], url_path="scopes/export", url_name="export")
    def scope_export(self, request, *args, **kwargs):
        event = request.event
        identity = self._identity()
        kind = scopes.DATES if event.has_subevents else scopes.VALIDITY
        known = offered_for_scopes(event, kind)
        serializer = ScopeRequestSerializer(data=as_dict(request.data), known=known)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        missing = permissions.run_tax_relevant(request, event, known, data["shredders"])
        if missing:
            from rest_framework.exceptions import PermissionDenied

            raise PermissionDenied(missing)
        try:
            if "subevents" in data:
                scope = scopes.for_subevents(event, data["subevents"])
            else:
                scope = scopes.for_ended(event, data["ended_days_ago"])
            job = flows.start_export(event, identity, data["shredders"], scope=scope)
        except scopes.ScopeError as e:
            return Response([str(e)], status=http.HTTP_400_BAD_REQUEST)
        except jobs.ConstraintError as e:
            return refusal(e)
        return Response(
            {
                "download": self._url("api-v1:shredders-download", job),
                "shred": self._url("api-v1:shredders-shred", job),
                "scope": self._url("api-v1:shredders-scopes-detail", job),
            },
            status=http.HTTP_202_ACCEPTED,
        )

    @action(detail=False, methods=["GET"], url_path=f"scopes/{JOB_URL}", url_name="detail")
    def scope_detail(self, request, *args, **kwargs):
        try:
            job = jobs.find_job(request.event, self._identity(), kwargs["asyncid"], kwargs["cfid"])
        except jobs.JobError as e:
            return refusal(e)
        return Response(scope_body(job), status=http.HTTP_200_OK)
