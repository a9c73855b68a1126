"""REST resource of requests of one person: ``/api/v1/organizers/<o>/shredder-requests/`` (CONTRACT.md).

Parse, authorise, ask ``flows``/``persons``, answer. Who may do what:

* create, list: ``event.orders:read`` on every event of the organizer (the answer tells whether an address is held);
* read one, export, download: ``event.orders:read`` on every event the request touches;
* erase, cancel: ``event.orders:write`` on every event the request touches.

A credential lacking a permission for some event gets 403 ``{"detail", "events": [slugs]}`` and nothing changes.
"""

from django.utils.translation import gettext_lazy as _
from pretix.base.models import TeamAPIToken
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.reverse import reverse

from .. import flows, jobs, labels, persons
from ..downloads import DownloadNegotiation, file_response
from ..models import PersonRequest
from .shredders import NoSerializerMetadata, ShredderPermission, as_dict

READ = persons.READ
WRITE = persons.WRITE
MSG_MISSING = _("You lack the permission %(permission)s for these events of the request: %(events)s")
MSG_NOT_FOUND = _("This request does not exist.")


class CreateSerializer(serializers.Serializer):
    email = serializers.JSONField()
    kind = serializers.JSONField()

    def validate_email(self, value):
        try:
            return persons.validate_email(value)
        except persons.InvalidEmail as e:
            raise serializers.ValidationError(str(e)) from None

    def validate_kind(self, value):
        try:
            return persons.validate_kind(value)
        except persons.InvalidKind as e:
            raise serializers.ValidationError(str(e)) from None


def missing_events(request, event_ids, permission) -> list[str]:
    holder = request.auth if isinstance(request.auth, TeamAPIToken) else request.user
    return persons.missing_events(holder, event_ids, permission, request=request)


def item_body(item: dict) -> dict:
    return {**item, "text": persons.item_text(item)}


def request_body(req: PersonRequest, request, full=True) -> dict:
    kwargs = {"organizer": req.organizer.slug, "pk": req.pk}
    body = {
        "id": req.pk,
        "kind": req.kind,
        "state": req.state,
        "received": req.received.isoformat(),
        "respond_by": req.respond_by.isoformat(),
        "days_left": persons.days_left(req),
        "held": req.findings.get("held") if req.found_at else None,
        "message": persons.message_of(req) or None,
        "url": reverse("api-v1:shredder-requests-detail", kwargs=kwargs, request=request),
    }
    if not full:
        return body
    findings = req.findings or {}
    body.update(
        email=req.email or None,
        created_by=labels.credential_label(req.api_token, req.oauth_application, req.user),
        found_at=req.found_at.isoformat() if req.found_at else None,
        exported_at=req.exported_at.isoformat() if req.exported_at else None,
        erased_at=req.erased_at.isoformat() if req.erased_at else None,
        finished=req.finished.isoformat() if req.finished else None,
        counts=req.counts,
        events=[{**e, "items": [item_body(i) for i in e["items"]]} for e in findings.get("events", [])],
        organizer_items=[item_body(i) for i in findings.get("organizer", {}).get("items", [])],
        proof=req.proof or None,
        orders_affected=req.orders_affected,
        download=(
            reverse("api-v1:shredder-requests-download", kwargs=kwargs, request=request) if req.file_id else None
        ),
    )
    return body


def forbidden(permission, events) -> Response:
    detail = str(MSG_MISSING) % {"permission": permission, "events": ", ".join(events)}
    return Response({"detail": detail, "events": events}, status=http.HTTP_403_FORBIDDEN)


def conflict(exc, req) -> Response:
    return Response({"detail": str(exc), "state": req.state}, status=http.HTTP_409_CONFLICT)


class PersonRequestViewSet(viewsets.GenericViewSet):
    permission = None  # organizer access; the per-event permissions are checked below (they depend on the request)
    permission_classes = [ShredderPermission]
    metadata_class = NoSerializerMetadata
    lookup_value_regex = "[^/]+"

    def _identity(self) -> jobs.Identity:
        try:
            return jobs.Identity.of(self.request.auth, self.request.user)
        except jobs.UnsupportedCredential as e:
            raise PermissionDenied(str(e)) from None

    def _all_events(self):
        return persons.all_event_ids(self.request.organizer)

    def _request(self) -> PersonRequest:
        pk = self.kwargs["pk"]
        if not pk.isdigit() or len(pk) > 18:
            raise NotFound(MSG_NOT_FOUND)
        req = (
            PersonRequest.objects.filter(organizer=self.request.organizer, pk=int(pk))
            .select_related("organizer", "file", "api_token", "oauth_application", "user")
            .first()
        )
        if req is None:
            raise NotFound(MSG_NOT_FOUND)
        return req

    def _checked(self, permission):
        """The request, or a 403 answer naming the events it touches on which the caller lacks ``permission``."""
        self._identity()
        req = self._request()
        missing = missing_events(self.request, req.event_ids, permission)
        return req, (forbidden(permission, missing) if missing else None)

    def list(self, request, *args, **kwargs):
        self._identity()
        missing = missing_events(request, self._all_events(), READ)
        if missing:
            return forbidden(READ, missing)
        found = persons.requests_of(request.organizer, request.query_params.get("email", ""))
        page = self.paginate_queryset(found.select_related("organizer"))
        return self.get_paginated_response([request_body(r, request, full=False) for r in page])

    def create(self, request, *args, **kwargs):
        identity = self._identity()
        missing = missing_events(request, self._all_events(), READ)
        if missing:
            return forbidden(READ, missing)
        s = CreateSerializer(data=as_dict(request.data))
        s.is_valid(raise_exception=True)
        req = flows.start_person_request(
            request.organizer,
            identity,
            s.validated_data["email"],
            s.validated_data["kind"],
            getattr(request, "LANGUAGE_CODE", None) or "en",
        )
        return Response(request_body(req, request, full=False), status=http.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        req, refused = self._checked(READ)
        return refused or Response(request_body(req, request))

    @action(detail=True, methods=["POST"])
    def export(self, request, *args, **kwargs):
        req, refused = self._checked(READ)
        if refused:
            return refused
        try:
            req = flows.start_person_step(req, "export")
        except persons.Conflict as e:
            return conflict(e, req)
        return Response(request_body(req, request), status=http.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["GET"], content_negotiation_class=DownloadNegotiation)
    def download(self, request, *args, **kwargs):
        req, refused = self._checked(READ)
        if refused:
            return refused
        try:
            cf, fh = persons.open_export(req)
        except persons.Conflict as e:
            return conflict(e, req)
        except persons.NoExport as e:
            return Response({"detail": str(e)}, status=http.HTTP_404_NOT_FOUND)
        return file_response(request, cf, fh, req.file_sha256)

    @action(detail=True, methods=["POST"])
    def erase(self, request, *args, **kwargs):
        req, refused = self._checked(WRITE)
        if refused:
            return refused
        try:
            req = flows.start_person_step(req, "erase")
        except persons.NotErasure as e:
            return Response({"kind": [str(e)]}, status=http.HTTP_400_BAD_REQUEST)
        except persons.Conflict as e:
            return conflict(e, req)
        return Response(request_body(req, request), status=http.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["POST"])
    def cancel(self, request, *args, **kwargs):
        req, refused = self._checked(WRITE)
        if refused:
            return refused
        try:
            req = persons.cancel(req, self._identity())
        except persons.Conflict as e:
            return conflict(e, req)
        return Response(request_body(req, request), status=http.HTTP_200_OK)
