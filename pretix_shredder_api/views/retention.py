"""Control panel: the retention policy of an organizer and of an event, and the event's schedule (cancel, postpone,
download the export). Thin: every rule is asked of ``retention``."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from pretix.control.permissions import EventPermissionRequiredMixin, OrganizerPermissionRequiredMixin
from pretix.control.views.organizer import OrganizerDetailViewMixin

from .. import jobs, retention
from ..downloads import file_response

SHREDDER_CHOICES_FROM_EVENTS = 50  # the organizer page offers the shredders of its most recent events


class PolicyForm(forms.Form):
    enabled = forms.BooleanField(label=_("Shred personal data automatically"), required=False)
    shredders = forms.MultipleChoiceField(
        label=_("Data shredders"), widget=forms.CheckboxSelectMultiple, required=False
    )
    days_after_event = forms.IntegerField(
        label=_("Days after the end of the event"),
        help_text=_("For an event series: after its last date."),
        min_value=0,
        max_value=retention.MAX_DAYS,
    )
    notice_days = forms.IntegerField(
        label=_("Days of notice"),
        help_text=_(
            "This many days before the shred, the data is exported and the event's admins get an e-mail with a "
            "link to download the export, cancel or postpone the shred."
        ),
        min_value=0,
        max_value=retention.MAX_DAYS,
    )

    def __init__(self, *args, shredder_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shredders"].choices = shredder_choices

    def policy_values(self) -> dict:
        return {k: self.cleaned_data[k] for k in retention.SETTINGS}

    def clean(self):
        data = super().clean()
        if not self.errors:
            problems = retention.policy_problems(
                retention.Policy(**{**self.policy_values(), "shredders": tuple(self.cleaned_data["shredders"])})
            )
            for field, msgs in problems.items():
                for m in msgs:
                    self.add_error(field, m)
        return data


class EventPolicyForm(PolicyForm):
    inherit = forms.BooleanField(label=_("Use the organizer's retention policy"), required=False)

    field_order = ["inherit", "enabled", "shredders", "days_after_event", "notice_days"]

    def clean(self):
        if self.data.get(self.add_prefix("inherit")):
            self.errors.clear()
            self.cleaned_data = {"inherit": True}
            return self.cleaned_data
        return super().clean()


class PostponeForm(forms.Form):
    date = forms.DateField(label=_("New date"), widget=forms.DateInput(attrs={"type": "date"}))


def _initial(obj) -> dict:
    return retention.policy_of(obj).as_dict()


class EventRetentionView(EventPermissionRequiredMixin, TemplateView):
    """Seen by who may change the event's settings (the policy) or its orders (the schedule: the admins the notice
    mails link here); each form checks its own permission."""

    template_name = "pretix_shredder_api/retention_event.html"
    permission = None  # any access to the event; get and post check what they need

    def _may_change_settings(self) -> bool:
        r = self.request
        return r.user.has_event_permission(r.organizer, r.event, "event.settings.general:write", request=r)

    def get(self, request, *args, **kwargs):
        if not (self._may_change_settings() or self._may_change_orders()):
            raise PermissionDenied()
        return super().get(request, *args, **kwargs)

    def _url(self):
        event = self.request.event
        return reverse(
            "plugins:pretix_shredder_api:retention", kwargs={"organizer": event.organizer.slug, "event": event.slug}
        )

    def _may_change_orders(self) -> bool:
        r = self.request
        return r.user.has_event_permission(r.organizer, r.event, "event.orders:write", request=r)

    def _policy_form(self, data=None):
        event = self.request.event
        choices = sorted(((k, str(s.verbose_name)) for k, s in event.get_data_shredders().items()), key=lambda c: c[1])
        initial = {**_initial(event), "inherit": not retention.overridden(event)}
        return EventPolicyForm(data=data, initial=initial, shredder_choices=choices, prefix="policy")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event = self.request.event
        schedule = retention.current_schedule(event)
        ctx.update(
            {
                "policy": retention.policy_of(event),
                "organizer_policy": retention.policy_of(event.organizer),
                "form": kwargs.get("form") or self._policy_form(),
                "postpone_form": kwargs.get("postpone_form") or PostponeForm(prefix="postpone"),
                "schedule": schedule,
                "export_ready": bool(schedule and schedule.job and not _export_problem(schedule.job)),
                "may_change_orders": self._may_change_orders(),
                "may_change_settings": self._may_change_settings(),
                "history": event.shredder_api_schedules.all()[:20],
            }
        )
        return ctx

    def post(self, request, *args, **kwargs):
        what = request.POST.get("action", "policy")
        if what == "policy":
            if not self._may_change_settings():
                raise PermissionDenied()
            return self._save_policy()
        if not self._may_change_orders():
            raise PermissionDenied()
        schedule = retention.current_schedule(request.event)
        if schedule is None:
            messages.error(request, retention.MSG_NO_SCHEDULE)
            return redirect(self._url())
        try:
            if what == "cancel":
                retention.cancel(schedule, user=request.user)
                messages.success(request, _("The scheduled shred has been cancelled."))
            elif what == "postpone":
                form = PostponeForm(data=request.POST, prefix="postpone")
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(postpone_form=form))
                until = retention.start_of_day(form.cleaned_data["date"], request.event)
                retention.postpone(schedule, until, user=request.user)
                messages.success(request, _("The scheduled shred has been postponed."))
        except jobs.JobError as e:
            messages.error(request, str(e))
        return redirect(self._url())

    def _save_policy(self):
        form = self._policy_form(self.request.POST)
        if not form.is_valid():
            messages.error(self.request, _("We could not save your changes. See below for details."))
            return self.render_to_response(self.get_context_data(form=form))
        if form.cleaned_data.get("inherit"):
            changes = {k: None for k in retention.SETTINGS}
        else:
            changes = form.policy_values()
        retention.update_policy(self.request.event, changes, user=self.request.user)
        messages.success(self.request, _("Your changes have been saved."))
        return redirect(self._url())


def _export_problem(job) -> str:
    try:
        jobs.downloadable_file(job)
    except jobs.JobError as e:
        return str(e)
    return ""


class EventRetentionDownloadView(EventPermissionRequiredMixin, TemplateView):
    """The export of the event's scheduled shred, for its admins during the notice period."""

    permission = "event.orders:write"

    def get(self, request, *args, **kwargs):
        schedule = retention.current_schedule(request.event)
        if not (schedule and schedule.job):
            return self._back(request, retention.MSG_NO_SCHEDULE)
        try:
            cf, fh = jobs.open_export(schedule.job)
        except jobs.JobError as e:
            return self._back(request, e)
        return file_response(request, cf, fh, schedule.job.file_sha256)

    def _back(self, request, problem):
        """To the retention page, saying why there is nothing to download."""
        messages.error(request, str(problem))
        return redirect(
            "plugins:pretix_shredder_api:retention", organizer=request.event.organizer.slug, event=request.event.slug
        )


class OrganizerRetentionView(OrganizerDetailViewMixin, OrganizerPermissionRequiredMixin, TemplateView):
    template_name = "pretix_shredder_api/retention_organizer.html"
    permission = "organizer.settings.general:write"

    def _form(self, data=None):
        organizer = self.request.organizer
        known = {}
        for event in organizer.events.order_by("-date_from")[:SHREDDER_CHOICES_FROM_EVENTS]:
            known.update({k: str(s.verbose_name) for k, s in event.get_data_shredders().items()})
        current = _initial(organizer)
        known.update({k: k for k in current["shredders"] if k not in known})
        choices = sorted(known.items(), key=lambda c: c[1])
        return PolicyForm(data=data, initial=current, shredder_choices=choices, prefix="policy")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["form"] = kwargs.get("form") or self._form()
        return ctx

    def post(self, request, *args, **kwargs):
        form = self._form(request.POST)
        if not form.is_valid():
            messages.error(request, _("We could not save your changes. See below for details."))
            return self.render_to_response(self.get_context_data(form=form))
        retention.update_policy(request.organizer, form.policy_values(), user=request.user)
        messages.success(request, _("Your changes have been saved."))
        return redirect("plugins:pretix_shredder_api:organizer-retention", organizer=request.organizer.slug)
