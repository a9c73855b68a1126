"""Why a scheduled shred failed or was dropped, stored as a key and rendered in the reader's language.

The scheduler runs in a process with no reader: what it stores on the schedule (``last_error``) and in its log
entries is a key, ``reason:<key>`` or ``reason:<key>:<detail>``; the pages, the mails, the API and the log texts
render it with the language of whoever reads it, with the next step and, where there is one, a link to where to act.
``<detail>`` is the message of the job that failed, as its msgid (English source) when it is one of ours, so it is
translated as well; else as the job stored it.

A stored text without the prefix (stored before keys, in English) is shown as it is: translated if it is a msgid of
the catalogue, else unchanged.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

PREFIX = "reason:"

# Where a next step links to: a url name and how its kwargs are built from the event.
LINK_LIVE = "control:event.live"  # pretix's "Shop status" page, where the shop is taken offline
LINK_RETENTION = "plugins:pretix_shredder_api:retention"  # the event's Data retention page


@dataclass(frozen=True)
class Reason:
    text: object
    next_step: object
    link: str = ""
    link_text: object = ""


REASONS = {
    "shop_online": Reason(
        _("The ticket shop of this event is online; pretix shreds personal data only while the shop is offline."),
        _("Take the shop offline. The shred is then announced again, with the full notice."),
        LINK_LIVE,
        _("Shop status"),
    ),
    "event_not_over": Reason(
        _("The event is not over."),
        _("Nothing to do: once the event is over, the shred is announced again with the full notice."),
    ),
    "changed_after_export": Reason(
        _(
            "Something happened in the event after the export (an order, a change), so the export no longer holds "
            "all of its data."
        ),
        _("Nothing to do: a new export will be made and announced, the shred comes a full notice period after it."),
        LINK_RETENTION,
        _("Data retention"),
    ),
    "export_gone": Reason(
        _("The export of this scheduled shred is no longer available."),
        _("Nothing to do: a new export will be made and announced, the shred comes a full notice period after it."),
        LINK_RETENTION,
        _("Data retention"),
    ),
    "export_failed": Reason(
        _("The export of the personal data failed."),
        _(
            "Nothing to do: the next scheduled run makes a new export and announces it. If it fails again, ask the "
            "administrator of this pretix instance."
        ),
    ),
    "shred_failed": Reason(
        _("The shred of the personal data failed; the export is kept."),
        _(
            "Nothing to do: the shred is announced again and tried a full notice period later. If it fails again, "
            "ask the administrator of this pretix instance."
        ),
    ),
    "no_shredders": Reason(
        _("None of the policy's data shredders is available for this event."),
        _("Choose data shredders this event offers in its retention policy, or let it use the organizer's."),
        LINK_RETENTION,
        _("Data retention"),
    ),
    "interrupted": Reason(
        _("The scheduled run was interrupted before it could start its work."),
        _("Nothing to do: the next scheduled run tries again."),
    ),
    "policy_off": Reason(
        _("The retention policy was switched off."),
        _("Nothing to do: no shred is planned while the policy is off."),
    ),
    "event_reopened": Reason(
        _("The event is not over any more."),
        _("Nothing to do: once the event is over again, a new shred is planned."),
    ),
}


def key(name: str, detail: str = "") -> str:
    """The stored form of a reason."""
    if name not in REASONS:
        raise KeyError(name)
    return f"{PREFIX}{name}:{detail}" if detail else f"{PREFIX}{name}"


def parse(stored: str) -> tuple[str, str]:
    """(key, detail) of a stored reason; ("", stored) for a text stored before keys."""
    if not stored or not stored.startswith(PREFIX):
        return "", stored or ""
    name, _sep, detail = stored[len(PREFIX) :].partition(":")
    if name not in REASONS:
        return "", stored
    return name, detail


def code(stored: str) -> str | None:
    """The key alone (for the API and webhooks), None for a text stored before keys or no reason."""
    return parse(stored)[0] or None


def msgid_of(message, locale: str) -> str:
    """The msgid of a job message of this plugin stored in ``locale``, so it renders in every language; the message
    itself when it is not one of ours."""
    from . import jobs

    for candidate in (getattr(jobs, name) for name in dir(jobs) if name.startswith("MSG_")):
        with translation.override(locale):
            if str(candidate) == message:
                return candidate._args[0]
    return str(message)


@dataclass(frozen=True)
class Rendered:
    text: str
    next_step: str = ""
    link: str = ""  # a path (pages) or an absolute URL (mails)
    link_text: str = ""

    def __str__(self):
        return " ".join(p for p in (self.text, self.next_step) if p)


def render(stored: str, event=None, *, absolute=False) -> Rendered | None:
    """A stored reason in the active language: its text (with the job's message), the next step and its link."""
    if not stored:
        return None
    name, detail = parse(stored)
    if not name:
        return Rendered(gettext(detail))  # stored before keys: the English text, translated if it is a msgid
    reason = REASONS[name]
    text = str(reason.text)
    if detail:
        text = f"{text} {gettext(detail)}"
    link = ""
    if reason.link and event is not None:
        kwargs = {"organizer": event.organizer.slug, "event": event.slug}
        if absolute:
            from pretix.helpers.urls import mainreverse_absolute

            link = mainreverse_absolute(reason.link, kwargs=kwargs)
        else:
            link = reverse(reason.link, kwargs=kwargs)
    return Rendered(text, str(reason.next_step), link, str(reason.link_text) if link else "")


def text(stored: str, event=None) -> str:
    """One line: the reason and its next step, in the active language ("" for none)."""
    rendered = render(stored, event)
    return str(rendered) if rendered else ""
