"""Control panel: the retention policy of an organizer and of an event, and the event's schedule (cancel, postpone,
download the export). Thin: every rule is asked of ``retention``, who may do what of ``permissions`` (the same
functions the REST API asks)."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from pretix.control.permissions import EventPermissionRequiredMixin, OrganizerPermissionRequiredMixin
from pretix.control.views.organizer import OrganizerDetailViewMixin

from .. import jobs, labels, permissions, reasons, retention
from ..downloads import served_export


def require(missing: str) -> None:
    """pretix's 403 page, saying what ``permissions`` found missing."""
    if missing:
        raise PermissionDenied(missing)


def shredder_choices(obj) -> list:
    """The shredders a policy of this event or organizer may name (the API validates against the same)."""
    return sorted(retention.known_shredders(obj).items(), key=lambda c: c[1])


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
    # issue 21: the whole event after its end, or the orders of each date (retention_dates)
    mode = forms.ChoiceField(
        label=_("Shred"),
        choices=list(retention.retention_dates.MODES.items()),
        initial=retention.retention_dates.EVENT_MODE,
        widget=forms.RadioSelect,
        required=False,
        help_text=_(
            "After each date, the shop stays online: date by date, the orders all of whose dates (or validities) "
            "ended the days below ago are shredded; an order with a coming date waits."
        ),
    )

    # issue 21: the legal hold (retention_hold); the API can give each shredder its own years, the form one period
    hold_shredders = forms.MultipleChoiceField(
        label=_("Keep for tax law"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "These tax-relevant data shredders of the policy do not run with the others: their data is kept until "
            "the end of the calendar year the given years after the event (or its last invoice), and shredded then, "
            "with notice."
        ),
    )
    hold_years = forms.IntegerField(
        label=_("Years to keep them"), min_value=1, max_value=retention.retention_hold.MAX_YEARS, required=False
    )

    def clean_mode(self):
        return self.cleaned_data.get("mode") or retention.retention_dates.EVENT_MODE

    def clean_hold_years(self):
        years, kept = self.cleaned_data.get("hold_years"), self.cleaned_data.get("hold_shredders") or []
        if kept and not years:
            raise forms.ValidationError(retention.retention_hold.MSG_YEARS)
        self.cleaned_data["hold"] = {k: years for k in kept}
        return years

    def __init__(self, *args, shredder_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shredders"].choices = shredder_choices
        relevant = retention.retention_hold.tax_relevant()
        self.fields["hold_shredders"].choices = [c for c in shredder_choices if c[0] in relevant]

    def policy_values(self) -> dict:
        return {k: self.cleaned_data[k] for k in retention.SETTINGS}

    def clean(self):
        data = super().clean()
        if not self.errors:
            problems = retention.policy_problems(
                retention.Policy(**{**self.policy_values(), "shredders": tuple(self.cleaned_data["shredders"])}),
                changed=retention.SETTINGS,  # the form sets every field
            )
            for field, msgs in problems.items():
                for m in msgs:
                    self.add_error("hold_shredders" if field == "hold" else field, m)
        return data

    def merged_policy(self, obj) -> retention.Policy:
        """The effective policy a save of this (valid) form would give ``obj``."""
        values = self.policy_values()
        values["shredders"] = tuple(values["shredders"])
        return retention.Policy(**values)


class EventPolicyForm(PolicyForm):
    inherit = forms.BooleanField(label=_("Use the organizer's retention policy"), required=False)

    field_order = ["inherit", "enabled", "mode", "shredders", "days_after_event", "notice_days"]
    OWN_FIELDS = ("enabled", "mode", "shredders", "days_after_event", "notice_days")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # pretix's inverse dependency: greyed out (disabled) while "use the organizer's policy" is ticked, enabled
        # as soon as it is unticked; without JavaScript they stay disabled until the page is saved unticked.
        inheriting = self.inheriting()
        for name in self.OWN_FIELDS:
            attrs = self.fields[name].widget.attrs
            attrs["data-inverse-dependency"] = "#id_policy-inherit"
            if inheriting:
                attrs["disabled"] = "disabled"

    def inheriting(self) -> bool:
        if self.is_bound:
            return bool(self.data.get(self.add_prefix("inherit")))
        return bool(self.initial.get("inherit"))

    def discarded(self) -> list:
        """The own values a save with "use the organizer's policy" ticked would not store (posted nonetheless,
        e.g. without JavaScript): their labels, so the page can say so."""
        names = []
        for name in self.OWN_FIELDS:
            key = self.add_prefix(name)
            if key not in self.data:
                continue
            posted = self.data.getlist(key) if name == "shredders" else self.data.get(key)
            initial = self.initial.get(name)
            if name == "enabled":
                posted, initial = bool(posted), bool(initial)
            elif name == "shredders":
                posted, initial = sorted(posted), sorted(initial or [])
            else:
                initial = str(initial)
            if posted != initial:
                names.append(str(self.fields[name].label))
        return names

    def merged_policy(self, obj) -> retention.Policy:
        if self.cleaned_data.get("inherit"):
            return retention.policy_of(obj.organizer)
        return super().merged_policy(obj)

    def clean(self):
        if self.data.get(self.add_prefix("inherit")):
            self.errors.clear()
            self.cleaned_data = {"inherit": True}
            return self.cleaned_data
        return super().clean()


class PostponeForm(forms.Form):
    date = forms.DateField(label=_("Postpone the shred to"), widget=forms.DateInput(attrs={"type": "date"}))


def policy_context(obj, form, preview=None) -> dict:
    """What the policy form's include needs: the shredders with pretix's descriptions and tax warnings, the
    selected ones, and a preview (``retention.Preview``) when one was asked for or a save needs confirming."""
    facts = sorted(retention.shredder_facts(obj).values(), key=lambda f: f.name)
    selected = form["shredders"].value() or []
    return {
        "shredder_facts": facts,
        "selected_shredders": [str(v) for v in selected],
        "preview": preview,
        "preview_listed": preview.planned[:10] if preview else [],
    }


def _initial(obj) -> dict:
    policy = retention.policy_of(obj)
    hold = {"hold_shredders": list(policy.hold), "hold_years": max(policy.hold.values(), default=None)}  # issue 21
    return {**policy.as_dict(), **hold}


class EventRetentionView(EventPermissionRequiredMixin, TemplateView):
    """Seen by who may change the event's settings or its orders (the admins the notice mails link here); the policy
    form and the schedule's buttons are shown to who ``permissions`` allows, and each POST asks it again."""

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
        return not permissions.change_schedule(self.request, self.request.event)

    def _policy_form(self, data=None):
        event = self.request.event
        initial = {**_initial(event), "inherit": not retention.overridden(event)}
        return EventPolicyForm(data=data, initial=initial, shredder_choices=shredder_choices(event), prefix="policy")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event = self.request.event
        schedule = retention.current_schedule(event)
        form = kwargs.get("form") or self._policy_form()
        policy = retention.policy_of(event)
        ctx.update(policy_context(event, form, kwargs.get("preview")))
        ctx.update(
            {
                "policy": policy,
                "organizer_policy": retention.policy_of(event.organizer),
                "form": form,
                "inheriting": form.inheriting(),
                "confirm_save": kwargs.get("confirm_save", False),
                "schedule_info": schedule_info(schedule) if schedule else None,
                "event_over": retention.is_over(event),
                "planned": retention.plan(event, policy) if policy.enabled and retention.is_over(event) else None,
                "postpone_form": kwargs.get("postpone_form") or PostponeForm(prefix="postpone"),
                "schedule": schedule,
                "schedule_shredders": labels.shredder_names(event, schedule.shredders) if schedule else [],
                "export_ready": bool(schedule and schedule.job and not _export_problem(schedule.job)),
                "may_change_orders": self._may_change_orders(),
                "may_change_settings": self._may_change_settings(),
                "policy_refused": permissions.change_event_policy(self.request, event),
                "history": [(h, reasons.text(h.last_error, event)) for h in event.shredder_api_schedules.all()[:20]],
            }
        )
        return ctx

    def post(self, request, *args, **kwargs):
        what = request.POST.get("action", "policy")
        if what == "policy":
            require(permissions.change_event_policy(request, request.event))
            return self._save_policy()
        require(permissions.change_schedule(request, request.event))
        schedule = retention.current_schedule(request.event)
        if schedule is None:
            messages.error(request, retention.MSG_NO_SCHEDULE)
            return redirect(self._url())
        try:
            if what == "cancel" and not request.POST.get("confirmed"):
                # A page of its own that asks (works without JavaScript); only its button cancels.
                return render(
                    request,
                    "pretix_shredder_api/retention_cancel.html",
                    {"schedule": schedule, "info": schedule_info(schedule), "back": self._url()},
                )
            if what == "cancel":
                retention.cancel(schedule, user=request.user)
                messages.success(
                    request,
                    _(
                        "The scheduled shred has been cancelled. Its export has been deleted: without a shred, this "
                        "copy of the personal data has no purpose left."
                    ),
                )
            elif what == "postpone":
                form = PostponeForm(data=request.POST, prefix="postpone")
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(postpone_form=form))
                until = retention.start_of_day(form.cleaned_data["date"], request.event)
                try:
                    retention.postpone(schedule, until, user=request.user)
                except retention.PostponeDateError as e:
                    form.add_error("date", str(e))
                    return self.render_to_response(self.get_context_data(postpone_form=form))
                messages.success(request, _("The scheduled shred has been postponed."))
        except jobs.JobError as e:
            messages.error(request, str(e))
        return redirect(self._url())

    def _save_policy(self):
        event = self.request.event
        form = self._policy_form(self.request.POST)
        if not form.is_valid():
            messages.error(self.request, _("We could not save your changes. See below for details."))
            return self.render_to_response(self.get_context_data(form=form))
        held = preview_or_confirm(self.request, form, event)
        if held is not None:
            return self.render_to_response(self.get_context_data(form=form, **held))
        if form.cleaned_data.get("inherit"):
            discarded = form.discarded()
            changes = {k: None for k in retention.SETTINGS}
        else:
            discarded, changes = [], form.policy_values()
        retention.update_policy(event, changes, user=self.request.user)
        messages.success(self.request, _("Your changes have been saved."))
        if discarded:
            messages.warning(
                self.request,
                _(
                    "The event now uses the organizer's retention policy, so the values you entered for it were not "
                    "saved: {fields}. Untick “Use the organizer's retention policy” to give the event its own."
                ).format(fields=", ".join(discarded)),
            )
        return redirect(self._url())


def preview_or_confirm(request, form, obj) -> dict | None:
    """The preview button shows what the policy would do, without saving; a save that would schedule shreds (or
    drop scheduled ones) shows the same and asks to confirm first. None: save now."""
    asked = bool(request.POST.get("preview"))
    preview = retention.preview(obj, form.merged_policy(obj))
    if asked:
        return {"preview": preview}
    if preview.takes_effect and not request.POST.get("confirmed"):
        messages.warning(request, _("Please look at what this policy will do, and confirm to save it."))
        return {"preview": preview, "confirm_save": True}
    return None


@dataclass(frozen=True)
class ScheduleInfo:
    """What the page says about a schedule, so no text states a date that is not what will happen."""

    state_word: str
    when: str  # "due" (on ``due``), "after_notice" (not before a new notice, at the earliest ``due``), "shredding",
    # "done" (on ``due``), "cancelled", "dropped"
    due: object
    shredders: list
    reason: object  # reasons.Rendered or None
    scheduled_by: str


def schedule_info(s) -> ScheduleInfo:
    when, due = retention.expected_due(s)
    return ScheduleInfo(
        state_word=s.get_state_display(),
        when=when,
        due=due,
        shredders=labels.shredder_names(s.event, s.shredders),
        reason=reasons.render(s.last_error, s.event),
        scheduled_by=labels.policy_label(s.policy_attribution) if s.policy_attribution else "",
    )


def _export_problem(job) -> str:
    try:
        jobs.downloadable_file(job)
    except jobs.JobError as e:
        return str(e)
    return ""


class EventRetentionDownloadView(EventPermissionRequiredMixin, TemplateView):
    """The export of the event's scheduled shred, for its admins during the notice period. Nothing to download (no
    schedule or export, a cancelled schedule, an expired or shredded export): pretix's 404 page saying why."""

    permission = None  # asked of ``permissions``

    def get(self, request, *args, **kwargs):
        require(permissions.download_schedule_export(request, request.event))
        schedule = retention.current_schedule(request.event)
        try:
            cf, fh = retention.schedule_export(schedule)
        except jobs.JobError as e:
            raise Http404(str(e)) from None
        identity = jobs.Identity(user=request.user)
        return served_export(request, schedule.job, cf, fh, identity, jobs.VIA_RETENTION_PAGE)


class OrganizerRetentionView(OrganizerDetailViewMixin, OrganizerPermissionRequiredMixin, TemplateView):
    """Seen by who may change the organizer's settings; the form is shown to (and saved by) who ``permissions``
    allows to change a policy that reaches every event."""

    template_name = "pretix_shredder_api/retention_organizer.html"
    permission = "organizer.settings.general:write"

    def _form(self, data=None):
        organizer = self.request.organizer
        return PolicyForm(
            data=data, initial=_initial(organizer), shredder_choices=shredder_choices(organizer), prefix="policy"
        )

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["form"] = form = kwargs.get("form") or self._form()
        ctx.update(policy_context(self.request.organizer, form, kwargs.get("preview")))
        ctx["confirm_save"] = kwargs.get("confirm_save", False)
        ctx["policy"] = retention.policy_of(self.request.organizer)
        ctx["policy_refused"] = permissions.change_organizer_policy(self.request, self.request.organizer)
        return ctx

    def post(self, request, *args, **kwargs):
        require(permissions.change_organizer_policy(request, request.organizer))
        form = self._form(request.POST)
        if not form.is_valid():
            messages.error(request, _("We could not save your changes. See below for details."))
            return self.render_to_response(self.get_context_data(form=form))
        held = preview_or_confirm(request, form, request.organizer)
        if held is not None:
            return self.render_to_response(self.get_context_data(form=form, **held))
        retention.update_policy(request.organizer, form.policy_values(), user=request.user)
        messages.success(request, _("Your changes have been saved."))
        return redirect("plugins:pretix_shredder_api:organizer-retention", organizer=request.organizer.slug)
