"""How jobs, credentials, shredders and states are named for people: the pages, the CSV and the log texts share
these words. No rules here (``jobs`` has them), no queries beyond what the objects passed in already hold."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import JobState

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


def job_credential(job) -> str:
    return credential_label(job.api_token, job.oauth_application, job.user, credential_deleted=True)


def logentry_credential(logentry) -> str:
    return credential_label(logentry.api_token, logentry.oauth_application, logentry.user)


def shredder_names(event, identifiers, known=None) -> list[str]:
    """The shredders' verbose names in the registry of the event (the identifier for one no longer registered)."""
    if known is None:
        known = event.get_data_shredders()
    return [str(known[i].verbose_name) if i in known else i for i in identifiers]


def logged_who(logentry) -> str:
    """Who a log entry of a shred names: the person or credential, or the retention policy for a scheduled shred
    (its entry carries the policy's organizer, ``jobs.Identity.log_data``, and no user or credential)."""
    data = logentry.parsed_data if isinstance(logentry.parsed_data, dict) else {}
    if data.get("policy") is not None and logentry.user_id is None and logentry.api_token_id is None:
        return str(_("The retention policy"))
    return logentry_credential(logentry)
