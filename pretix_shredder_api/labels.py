"""How jobs, credentials, shredders and states are named for people: the pages, the CSV and the log texts share
these words. No rules here (``jobs`` has them), no queries beyond what the objects passed in already hold."""

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import JobState

POLICY_OWNER_PREFIX = "policy:"  # the owner key of a job the retention scheduler started (``jobs.Identity``)

STATE_WORDS = {
    "": pgettext_lazy("shredder_state", "not started"),
    JobState.WAITING: pgettext_lazy("shredder_state", "waiting for a worker"),
    JobState.RUNNING: pgettext_lazy("shredder_state", "running"),
    JobState.SUCCEEDED: pgettext_lazy("shredder_state", "done"),
    JobState.FAILED: pgettext_lazy("shredder_state", "failed"),
}


def state_word(state: str) -> str:
    return str(STATE_WORDS.get(state, state))


def credential_label(api_token=None, oauth_application=None, user=None, *, credential_deleted=False) -> str:
    """Who acted: "API token “x” of team “y”", "Application “x” for user@…", a user's email."""
    if api_token is not None:
        return str(_("API token “{name}” of team “{team}”")).format(name=api_token.name, team=api_token.team.name)
    if oauth_application is not None:
        return str(_("Application “{app}” for {user}")).format(
            app=oauth_application.name, user=user.email if user else "?"
        )
    if user is not None:
        return user.email
    if credential_deleted:
        return str(_("(credential deleted)"))
    return str(_("(unknown)"))


def set_by_label(set_by: dict) -> str:
    """Who set a retention policy, as recorded (``retention.policy_source``): no e-mail address, a user by id."""
    kind = (set_by or {}).get("type")
    if kind == "token":
        return str(_("API token “{name}” of team “{team}”")).format(name=set_by.get("name"), team=set_by.get("team"))
    if kind == "application":
        return str(_("application “{app}” for user #{user}")).format(app=set_by.get("name"), user=set_by.get("user"))
    if kind == "user":
        return str(_("user #{user}")).format(user=set_by.get("user"))
    return ""


def policy_label(attribution: dict) -> str:
    """The words for an automatic action: whose retention policy did it, and who set that policy. One function for
    every page, the CSV, the log texts and the mails."""
    attribution = attribution or {}
    organizer = attribution.get("organizer_name") or attribution.get("organizer") or "?"
    if attribution.get("level") == "event":
        whose = str(_("Retention policy of this event"))
    else:
        whose = str(_("Retention policy of organizer “{organizer}”")).format(organizer=organizer)
    who = set_by_label(attribution.get("set_by"))
    if who:
        return str(_("{policy} (set by {who})")).format(policy=whose, who=who)
    return whose


def _policy_of_job(job) -> dict | None:
    if not job.owner.startswith(POLICY_OWNER_PREFIX):
        return None
    return job.policy_attribution or {"organizer": job.owner[len(POLICY_OWNER_PREFIX) :]}


def _policy_of_logentry(logentry) -> dict | None:
    """A log entry written for a policy (no user, no credential; its data names the policy), else None."""
    if logentry.user_id or logentry.api_token_id or logentry.oauth_application_id:
        return None
    data = logentry.parsed_data if isinstance(logentry.parsed_data, dict) else {}
    if "policy" not in data:
        return None
    return data.get("attribution") or {"organizer": data["policy"]}


def job_credential(job) -> str:
    policy = _policy_of_job(job)
    if policy is not None:
        return policy_label(policy)
    return credential_label(job.api_token, job.oauth_application, job.user, credential_deleted=True)


def logentry_credential(logentry) -> str:
    policy = _policy_of_logentry(logentry)
    if policy is not None:
        return policy_label(policy)
    return credential_label(logentry.api_token, logentry.oauth_application, logentry.user)


def policy_payload(attribution: dict | None) -> dict | None:
    """The attribution of an automatic action in a webhook payload: no words, no personal values beyond a user id."""
    if attribution is None:
        return None
    set_by = {k: v for k, v in (attribution.get("set_by") or {}).items() if k in ("type", "name", "team", "user", "at")}
    return {
        "level": attribution.get("level") or "organizer",
        "organizer": attribution.get("organizer"),
        "event": attribution.get("event"),
        "set_by": set_by or None,
    }


def logentry_policy(logentry) -> dict | None:
    """``policy_payload`` of a log entry."""
    policy = _policy_of_logentry(logentry)
    return policy_payload(policy) if policy is not None else None


def datetime_text(value, tz) -> str:
    """A date and time for people: in ``tz`` (the event's time zone), with the zone's name."""
    local = value.astimezone(tz)
    return f"{date_format(local, 'SHORT_DATETIME_FORMAT')} {local.tzname()}"


def shredder_names(event, identifiers, known=None) -> list[str]:
    """The shredders' verbose names in the registry of the event (the identifier for one no longer registered)."""
    if known is None:
        known = event.get_data_shredders()
    return [str(known[i].verbose_name) if i in known else i for i in identifiers]
