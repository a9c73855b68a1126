"""Who may set deletion in motion: one function per action, asked by the REST API and the control-panel pages alike.

The rule (CONTRACT.md): whoever starts, cancels, postpones or changes the deletion of an event's personal data must
hold what shredding that data needs, pretix's "change orders" (``event.orders:write``) on **every event it can
reach**. Settings permissions alone never suffice.

* an event's retention policy reaches that event: ``event.settings.general:write`` (it is a setting) and
  ``event.orders:write`` on the event;
* the organizer's retention policy reaches every event of the organizer, today's and future ones: a team with
  access to all events (``all_events``) and ``event.orders:write``, and ``organizer.settings.general:write`` to store
  it. For a team API token both come from its one team; a user (in a session, or through an OAuth application)
  may hold them through different teams of the organizer;
* cancelling or postponing a scheduled shred, and downloading its export (a copy of the personal data):
  ``event.orders:write`` on the event;
* running a tax-relevant shredder (pretix's ``tax_relevant``: invoices, invoice addresses, payment information; this
  plugin's payment details) outside the retention policy - an export for a shred through the API, of the event or a
  scope: also ``event.settings.invoicing:write`` on the event, who answers for its invoices (pretix PR #1801 asked
  for such a permission). The policy's legal hold (``retention_hold``) is the way to delete them on time.

Who acts: the team API token, else the user (a session or an OAuth access token; pretix's API permission class has
already checked the OAuth scopes and organizers). A user in pretix's admin mode (staff session) may do everything,
as everywhere in pretix. Devices never get here (refused before).

Each function returns ``""`` when the action is allowed, else the translated sentence that says what is missing; the
API answers it as ``403 {"detail": …}``, the pages as pretix's 403 page (or a note in place of the form).
"""

from django.utils.translation import gettext_lazy as _
from pretix.base.models import Team, TeamAPIToken

ORDERS = "event.orders:write"
EVENT_SETTINGS = "event.settings.general:write"
ORGANIZER_SETTINGS = "organizer.settings.general:write"
TAX_RECORDS = "event.settings.invoicing:write"

MSG_EVENT_POLICY = _("You may not change the data retention policy of this event: {missing}.")
MSG_ORGANIZER_POLICY = _(
    "You may not change the organizer's data retention policy: {missing}. It reaches every event of the "
    "organizer, so it needs a team with access to all events and the permission to change their orders, and the "
    "permission to change the organizer's settings."
)
MSG_SCHEDULE = _("You may not cancel or postpone the scheduled shred of this event: {missing}.")
MSG_DOWNLOAD = _("You may not download the export of the scheduled shred of this event: {missing}.")

MSG_TAX_RELEVANT = _(
    "You may not run these tax-relevant data shredders outside the retention policy: {shredders}; {missing}. "
    "Use the policy's legal hold to delete tax records when their retention period ends."
)
MISSING_TAX_RECORDS = _(
    "the permission to change the invoicing settings of this event (event.settings.invoicing:write) is missing"
)
MISSING_ORDERS = _("the permission to change the orders of this event (event.orders:write) is missing")
MISSING_EVENT_SETTINGS = _(
    "the permission to change the settings of this event (event.settings.general:write) is missing"
)
MISSING_ORGANIZER_SETTINGS = _(
    "the permission to change the organizer's settings (organizer.settings.general:write) is missing"
)
MISSING_ALL_EVENTS_ORDERS = _(
    "a team with access to all events and the permission to change their orders (event.orders:write) is missing"
)


def holder(request):
    """The credential whose permissions count: the team API token, else the user."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, TeamAPIToken) else request.user


def _staff(request) -> bool:
    user = request.user
    session = getattr(request, "session", None)
    return bool(
        user is not None
        and user.is_authenticated
        and not isinstance(getattr(request, "auth", None), TeamAPIToken)
        and session is not None
        and user.has_active_staff_session(session.session_key)
    )


def _has_event(request, event, permission) -> bool:
    return holder(request).has_event_permission(event.organizer, event, permission, request=request)


def _has_organizer(request, organizer, permission) -> bool:
    return holder(request).has_organizer_permission(organizer, permission, request=request)


def _all_events_orders(request, organizer) -> bool:
    """A team of this organizer with access to all its events (future ones included) and "change orders"."""
    h = holder(request)
    if isinstance(h, TeamAPIToken):
        team = h.team
        return team.organizer_id == organizer.pk and team.all_events and team.has_event_permission(ORDERS)
    if not h.is_authenticated:
        return False
    return Team.objects.filter(organizer=organizer, members=h, all_events=True).with_event_permission(ORDERS).exists()


def _answer(message, missing: list) -> str:
    return str(message).format(missing="; ".join(str(m) for m in missing)) if missing else ""


def change_event_policy(request, event) -> str:
    """Changing an event's retention policy (or making it inherit the organizer's)."""
    if _staff(request):
        return ""
    missing = []
    if not _has_event(request, event, EVENT_SETTINGS):
        missing.append(MISSING_EVENT_SETTINGS)
    if not _has_event(request, event, ORDERS):
        missing.append(MISSING_ORDERS)
    return _answer(MSG_EVENT_POLICY, missing)


def change_organizer_policy(request, organizer) -> str:
    """Changing the organizer's retention policy: it reaches every event of the organizer."""
    if _staff(request):
        return ""
    missing = []
    if not _has_organizer(request, organizer, ORGANIZER_SETTINGS):
        missing.append(MISSING_ORGANIZER_SETTINGS)
    if not _all_events_orders(request, organizer):
        missing.append(MISSING_ALL_EVENTS_ORDERS)
    return _answer(MSG_ORGANIZER_POLICY, missing)


def change_schedule(request, event) -> str:
    """Cancelling or postponing an event's scheduled shred."""
    if _staff(request) or _has_event(request, event, ORDERS):
        return ""
    return _answer(MSG_SCHEDULE, [MISSING_ORDERS])


def download_schedule_export(request, event) -> str:
    """Downloading the export of an event's scheduled shred: a copy of the personal data it will shred."""
    if _staff(request) or _has_event(request, event, ORDERS):
        return ""
    return _answer(MSG_DOWNLOAD, [MISSING_ORDERS])


def run_tax_relevant(request, event, shredders: dict, identifiers) -> str:
    """Running tax-relevant shredders outside the retention policy: ``shredders`` the offered instances by
    identifier, ``identifiers`` those asked for. Allowed when none of them is tax-relevant."""
    relevant = [i for i in identifiers if i in shredders and bool(shredders[i].tax_relevant)]
    if not relevant or _staff(request) or _has_event(request, event, TAX_RECORDS):
        return ""
    return str(MSG_TAX_RELEVANT).format(shredders=", ".join(relevant), missing=MISSING_TAX_RECORDS)
