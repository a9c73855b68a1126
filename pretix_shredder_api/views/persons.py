"""Control panel: the organizer page "Requests of persons" (list, create) and one request (what was found, export,
download, erase, cancel). Thin: the rules are ``persons``', the steps start through ``flows`` as in the API."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView, TemplateView
from pretix.control.permissions import OrganizerPermissionRequiredMixin
from pretix.control.views import PaginationMixin
from pretix.control.views.organizer import OrganizerDetailViewMixin

from .. import flows, jobs, labels, persons
from ..downloads import file_response
from ..models import PersonKind, PersonRequest

MSG_MISSING = _("You lack the permission to %(what)s of these events of the request: %(events)s")
WHAT = {persons.READ: _("view the orders"), persons.WRITE: _("change the orders")}


class CreateForm(forms.Form):
    email = forms.CharField(label=_("The person's e-mail address"), max_length=1000)
    kind = forms.ChoiceField(label=_("The person asks for"), choices=PersonKind.choices, widget=forms.RadioSelect)

    def clean_email(self):
        try:
            return persons.validate_email(self.cleaned_data["email"])
        except persons.InvalidEmail as e:
            raise forms.ValidationError(str(e)) from None


class PersonsMixin(OrganizerDetailViewMixin, OrganizerPermissionRequiredMixin):
    permission = None  # organizer access; the per-event permissions depend on the request (persons.missing_events)

    def require(self, event_ids, permission):
        missing = persons.missing_events(self.request.user, event_ids, permission, request=self.request)
        if missing:
            raise PermissionDenied(str(MSG_MISSING) % {"what": WHAT[permission], "events": ", ".join(missing)})

    def list_url(self):
        from django.urls import reverse

        return reverse("plugins:pretix_shredder_api:persons", kwargs={"organizer": self.request.organizer.slug})


def row(req) -> dict:
    return {"req": req, "days_left": persons.days_left(req), "message": persons.message_of(req)}


class PersonRequestListView(PersonsMixin, PaginationMixin, ListView):
    template_name = "pretix_shredder_api/persons.html"
    context_object_name = "requests"
    paginate_by = 50

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and getattr(request, "organizer", None) is not None:
            self.require(persons.all_event_ids(request.organizer), persons.READ)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return persons.requests_of(self.request.organizer, self.request.GET.get("email", ""))

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["rows"] = [row(r) for r in ctx["requests"]]
        ctx["form"] = getattr(self, "form", None) or CreateForm(initial={"kind": PersonKind.ERASURE})
        ctx["search"] = self.request.GET.get("email", "")
        return ctx

    def post(self, request, *args, **kwargs):
        self.form = CreateForm(data=request.POST)
        if not self.form.is_valid():
            messages.error(request, _("We could not create the request. See below for details."))
            self.object_list = self.get_queryset()
            return self.render_to_response(self.get_context_data())
        identity = jobs.Identity.of(None, request.user)
        req = flows.start_person_request(
            request.organizer, identity, self.form.cleaned_data["email"], self.form.cleaned_data["kind"],
            getattr(request, "LANGUAGE_CODE", None) or "en",
        )  # fmt: skip
        messages.success(request, _("The request has been registered."))
        return redirect("plugins:pretix_shredder_api:person", organizer=request.organizer.slug, pk=req.pk)


class PersonRequestMixin(PersonsMixin):
    def get_request(self) -> PersonRequest:
        req = (
            PersonRequest.objects.filter(organizer=self.request.organizer, pk=self.kwargs["pk"])
            .select_related("organizer", "file", "api_token", "oauth_application", "user")
            .first()
        )
        if req is None:
            raise Http404(_("This request does not exist."))
        return req


class PersonRequestDetailView(PersonRequestMixin, TemplateView):
    template_name = "pretix_shredder_api/person.html"
    ACTIONS = {"export": persons.READ, "erase": persons.WRITE, "cancel": persons.WRITE}

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        req = self.get_request()
        self.require(req.event_ids, persons.READ)
        findings = req.findings or {}
        ctx.update(
            row(req),
            created_by=labels.credential_label(req.api_token, req.oauth_application, req.user),
            events=[
                {**e, "items": [{**i, "text": persons.item_text(i)} for i in e["items"]]}
                for e in findings.get("events", [])
            ],
            organizer_items=[
                {**i, "text": persons.item_text(i)} for i in findings.get("organizer", {}).get("items", [])
            ],
            may_erase=req.kind == PersonKind.ERASURE and req.state == "exported" and req.exported_at is not None,
            may_export=req.state in ("found", "exported"),
            may_cancel=req.state in ("finding", "found", "exporting", "exported"),
        )
        return ctx

    def post(self, request, *args, **kwargs):
        req = self.get_request()
        action = request.POST.get("action")
        if action not in self.ACTIONS:
            messages.error(request, _("Unknown action."))
            return redirect(request.path)
        self.require(req.event_ids, self.ACTIONS[action])
        try:
            if action == "cancel":
                persons.cancel(req, jobs.Identity.of(None, request.user))
                messages.success(request, _("The request has been cancelled."))
            else:
                flows.start_person_step(req, action)
                messages.success(request, _("Done."))
        except persons.PersonError as e:
            messages.error(request, str(e))
        return redirect(request.path)


class PersonRequestDownloadView(PersonRequestMixin, TemplateView):
    def get(self, request, *args, **kwargs):
        req = self.get_request()
        self.require(req.event_ids, persons.READ)
        try:
            cf, fh = persons.open_export(req)
        except persons.PersonError as e:
            messages.error(request, str(e))
            return redirect("plugins:pretix_shredder_api:person", organizer=request.organizer.slug, pk=req.pk)
        return file_response(request, cf, fh, req.file_sha256)
