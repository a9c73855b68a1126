"""The shredder API viewset: parse, authorise, ask ``jobs``, and turn a job's state into the documented answer."""

from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.utils.http import http_date
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from pretix.api.auth.permission import EventPermission
from pretix.base.models import Device
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.metadata import SimpleMetadata
from rest_framework.response import Response
from rest_framework.reverse import reverse

from .. import flows, jobs, permissions, residual_cache
from ..downloads import DownloadNegotiation, served_export
from ..models import JobState
from ..shredders import offered
from .serializers import (
    ExportRequestSerializer,
    ShredderSerializer,
    ShredRequestSerializer,
    failed_body,
    gone_body,
    ok_body,
    progress_body,
    report_body,
    residual_body,
)

JOB_URL = r"(?P<asyncid>[^/]+)/(?P<cfid>[^/]+)"


MSG_UNKNOWN_PROCESS = _("We do not know about this process.")


class NoSerializerMetadata(SimpleMetadata):
    """OPTIONS answers name and description; the request bodies are documented, not introspected."""

    def determine_actions(self, request, view):
        return {}


def as_dict(data) -> dict:
    """Request data as a mapping: a JSON body that is not an object counts as an empty one."""
    return data if isinstance(data, dict) else {}


class ShredderPermission(EventPermission):
    """pretix's event permission check, and no devices: scanning and POS hardware never shreds."""

    def has_permission(self, request, view):
        if isinstance(request.auth, Device):
            raise PermissionDenied(_("Devices may not use the data shredder."))
        return super().has_permission(request, view)


def refusal(exc: jobs.JobError) -> Response:
    """The one place that turns a refusal of ``jobs`` into its documented answer."""
    if isinstance(exc, jobs.ExportNotReady):
        return Response(progress_body(exc.view), status=http.HTTP_409_CONFLICT)
    if isinstance(exc, jobs.ExportFailed):
        return Response(failed_body(exc.view.message), status=http.HTTP_410_GONE)
    if isinstance(exc, jobs.ConstraintError):
        return Response([str(exc)], status=http.HTTP_400_BAD_REQUEST)
    if isinstance(exc, jobs.ConfirmCodeError):
        return Response({"confirm_code": [str(exc)]}, status=http.HTTP_400_BAD_REQUEST)
    return Response({"detail": str(exc)}, status=http.HTTP_404_NOT_FOUND)  # unknown, foreign, expired, shredded


class ShredderViewSet(viewsets.GenericViewSet):
    permission = "event.orders:write"
    read_actions = ("report", "residual")  # reports: the permission to view the event's orders is enough
    permission_classes = [ShredderPermission]
    metadata_class = NoSerializerMetadata
    lookup_field = "identifier"
    lookup_value_regex = "[^/]+"

    # -- helpers ------------------------------------------------------------------------------------------------------

    def _get_permission_name(self, request):
        """Asked by pretix's ``EventPermission``: reading a report needs less than starting a deletion."""
        return "event.orders:read" if self.action in self.read_actions else self.permission

    def _shredders(self) -> dict:
        return offered(self.request.event)

    def _identity(self) -> jobs.Identity:
        try:
            return jobs.Identity.of(self.request.auth, self.request.user)
        except jobs.UnsupportedCredential as e:
            raise PermissionDenied(str(e)) from None

    def _job(self):
        return jobs.find_job(self.request.event, self._identity(), self.kwargs["asyncid"], self.kwargs["cfid"])

    def _url(self, name: str, job) -> str:
        kwargs = {
            "organizer": self.request.event.organizer.slug,
            "event": self.request.event.slug,
            "asyncid": str(job.public_id),
            "cfid": str(job.secret),
        }
        return reverse(f"api-v1:shredders-{name}", kwargs=kwargs, request=self.request)

    # -- the registry -------------------------------------------------------------------------------------------------

    def list(self, request, *args, **kwargs):
        shredders = sorted(self._shredders().values(), key=lambda s: str(s.verbose_name))
        page = self.paginate_queryset(shredders)
        return self.get_paginated_response(ShredderSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        shredder = self._shredders().get(kwargs["identifier"])
        if shredder is None:
            raise Http404(_("Unknown data shredder."))
        return Response(ShredderSerializer(shredder).data)

    # -- jobs ---------------------------------------------------------------------------------------------------------

    @action(detail=False, methods=["POST"])
    def export(self, request, *args, **kwargs):
        known = self._shredders()
        serializer = ExportRequestSerializer(data=as_dict(request.data), known=known)
        serializer.is_valid(raise_exception=True)
        missing = permissions.run_tax_relevant(request, request.event, known, serializer.validated_data["shredders"])
        if missing:
            raise PermissionDenied(missing)
        try:
            job = flows.start_export(request.event, self._identity(), serializer.validated_data["shredders"])
        except jobs.ConstraintError as e:
            return refusal(e)
        return Response(
            {"download": self._url("download", job), "shred": self._url("shred", job)},
            status=http.HTTP_202_ACCEPTED,
        )

    @action(
        detail=False,
        methods=["GET"],
        url_path=f"download/{JOB_URL}",
        url_name="download",
        content_negotiation_class=DownloadNegotiation,
    )
    def download(self, request, *args, **kwargs):
        try:
            job = self._job()
            cf, fh = jobs.open_export(job)
        except jobs.JobError as e:
            return refusal(e)
        return served_export(request, job, cf, fh, self._identity(), jobs.VIA_API)

    @action(detail=False, methods=["POST"], url_path=f"shred/{JOB_URL}", url_name="shred")
    def shred(self, request, *args, **kwargs):
        try:
            job = self._job()
        except jobs.JobError as e:
            return refusal(e)
        serializer = ShredRequestSerializer(data=as_dict(request.data))
        serializer.is_valid(raise_exception=True)
        try:
            job = flows.request_shred(job, serializer.validated_data.get("confirm_code"))
        except jobs.JobError as e:
            return refusal(e)
        return Response({"status": self._url("status", job)}, status=http.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["GET"], url_path=f"status/{JOB_URL}", url_name="status")
    def status(self, request, *args, **kwargs):
        try:
            job = self._job()
        except jobs.JobNotFound:
            return Response(gone_body(MSG_UNKNOWN_PROCESS), status=http.HTTP_410_GONE)
        view = jobs.shred_view(job)
        if view.state == "":
            return Response(gone_body(_("No shred was started for this export.")), status=http.HTTP_410_GONE)
        if view.active:
            return Response(progress_body(view, with_steps=True), status=http.HTTP_409_CONFLICT)
        if view.state == JobState.FAILED:
            return Response(failed_body(view.message), status=http.HTTP_417_EXPECTATION_FAILED)
        response = Response(ok_body(), status=http.HTTP_200_OK)
        if job.shred_finished:  # when the data went: clients can say "shredded (2026-12-03 06:39)"
            response["Last-Modified"] = http_date(job.shred_finished.timestamp())
        return response

    # -- the residual scan --------------------------------------------------------------------------------------------

    @action(detail=False, methods=["GET"], url_path=f"report/{JOB_URL}", url_name="report")
    def report(self, request, *args, **kwargs):
        try:
            job = self._job()
        except jobs.JobError as e:
            return refusal(e)
        return Response(report_body(job, jobs.shred_view(job)), status=http.HTTP_200_OK)

    @action(detail=False, methods=["GET"], url_path="residual", url_name="residual")
    def residual(self, request, *args, **kwargs):
        self._identity()  # the same credentials as every other endpoint
        try:
            result = residual_cache.check(request.event)  # bounded: a stored result while the event is unchanged
        except residual_cache.ScanRunning as e:
            return Response(
                {"detail": str(e)},
                status=http.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(e.retry_after)},
            )
        return Response(residual_body(result.report, result.checked_at), status=http.HTTP_200_OK)


@csrf_exempt
def unmatched(request, rest: str | None = "", **kwargs) -> HttpResponse:
    """Paths under ``…/shredders/`` that no route matches (an id with ``%2F``, a missing or extra segment) answer
    the API's JSON instead of pretix's HTML 404: 410 gone under ``status/`` (as the status URL answers an id it does
    not know), 404 elsewhere. Routed after pretix's API, so it only sees what the router refused.

    The same answer for every method: like DRF's views it is exempt from Django's CSRF check (which would answer a
    POST with pretix's HTML "Verification failed" page). It changes nothing and reads no credentials, so there is
    nothing to protect. ``…/shredders`` itself (``rest`` None) is redirected to ``…/shredders/`` for GET and HEAD,
    as Django's ``APPEND_SLASH`` does for every API path; other methods get the JSON 404."""
    if rest is None:
        if request.method in ("GET", "HEAD"):
            path = request.get_full_path()
            base, sep, query = path.partition("?")
            return HttpResponsePermanentRedirect(base + "/" + sep + query)
        rest = ""
    if rest.startswith("status/"):
        return JsonResponse(gone_body(MSG_UNKNOWN_PROCESS), status=http.HTTP_410_GONE)
    return JsonResponse({"detail": str(NotFound.default_detail)}, status=http.HTTP_404_NOT_FOUND)
