"""The control-panel navigation entries of the plugin. Each list names a page, the permission that shows it and its
URL name; other pages (a residual scan, retention policies) are added by appending to these lists.

The plugin is an event-and-organizer plugin: pretix sends ``nav_organizer`` to it where it is switched on for the
organizer, ``nav_event`` / ``nav_event_settings`` where it is switched on for the event and its organizer. The pages
themselves are served as the README's table says (the job page and the organizer pages everywhere).

Where the plugin is off for an event, pretix sends it neither ``nav_event`` nor ``event_dashboard_widgets`` (both
are event plugin signals), yet a retention policy of the organizer still shreds the event. So the top bar
(``nav_topbar``, sent whatever the plugin's state) shows a scheduled shred on that event's pages: "Scheduled shred:
<date>", linking the event's retention page, for who may see that page (:func:`scheduled_shred_entry`)."""

from dataclasses import dataclass

from django.urls import resolve, reverse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

NAMESPACE = "plugins:pretix_shredder_api"


@dataclass(frozen=True)
class Page:
    url_name: str
    label: object
    permission: str | None  # checked against request.eventpermset / request.orgapermset; None: any access
    icon: str = ""


# Event navigation (pretix asks only where the plugin is on for event and organizer). The job page is served for every
# event, the residual page only there.
EVENT_PAGES = [
    Page("event", _("Data shredder jobs"), "event.orders:read", icon="eraser"),
    Page("residual", _("Personal data left"), "event.orders:read", icon="search"),
]
# Event settings navigation (the policies exist where the plugin is enabled).
EVENT_SETTINGS_PAGES = [
    Page("settings", _("Data shredder API settings"), "event.settings.general:write"),
    Page("retention", _("Data retention"), "event.settings.general:write"),
]
# Organizer navigation (pretix asks only where the plugin is on for the organizer); served for every organizer.
ORGANIZER_PAGES = [
    Page("overview", _("Personal data by event"), None, icon="eraser"),
    Page("organizer-retention", _("Data retention"), "organizer.settings.general:write", icon="clock-o"),
    # the page itself checks the per-event permissions (persons.missing_events)
    Page("persons", _("Requests of persons"), None, icon="user-times"),
]


def _current(request) -> str:
    match = resolve(request.path_info)
    return f"{match.namespace}:{match.url_name}"


def _entries(request, pages, permset, kwargs):
    current = _current(request)
    entries = []
    for page in pages:
        if page.permission is not None and page.permission not in permset:
            continue
        name = f"{NAMESPACE}:{page.url_name}"
        entry = {"label": page.label, "url": reverse(name, kwargs=kwargs), "active": current == name}
        if page.icon:
            entry["icon"] = page.icon
        entries.append(entry)
    return entries


def event_kwargs(event) -> dict:
    return {"organizer": event.organizer.slug, "event": event.slug}


def event_entries(request):
    return _entries(request, EVENT_PAGES, request.eventpermset, event_kwargs(request.event))


def event_settings_entries(request):
    return _entries(request, EVENT_SETTINGS_PAGES, request.eventpermset, event_kwargs(request.event))


def organizer_entries(request):
    return _entries(request, ORGANIZER_PAGES, request.orgapermset, {"organizer": request.organizer.slug})


RETENTION_PERMISSIONS = ("event.settings.general:write", "event.orders:write")  # who sees the retention page


def scheduled_shred_entry(request) -> list:
    """The top-bar entry for an active scheduled shred of the event being viewed where the plugin is off for it
    (with the plugin on, the event navigation has the pages): one query on such events' pages, none elsewhere."""
    from .. import jobs
    from ..models import ACTIVE_SCHEDULE_STATES, ScheduledShred, ScheduleState

    event = getattr(request, "event", None)
    if event is None or not getattr(request, "user", None) or not request.user.is_authenticated:
        return []
    if jobs.plugin_enabled(event):
        return []
    permset = getattr(request, "eventpermset", None)
    if permset is None or not any(p in permset for p in RETENTION_PERMISSIONS):
        return []
    schedule = ScheduledShred.objects.filter(event=event, state__in=ACTIVE_SCHEDULE_STATES).only("due", "state").first()
    if schedule is None:
        return []
    when = date_format(schedule.due.astimezone(event.timezone), "SHORT_DATE_FORMAT")
    if schedule.state == ScheduleState.FAILED:
        label = str(_("Scheduled shred failed (due {date})")).format(date=when)
    else:
        label = str(_("Scheduled shred: {date}")).format(date=when)
    url = reverse(f"{NAMESPACE}:retention", kwargs=event_kwargs(event))
    return [{"label": label, "url": url, "icon": "clock-o", "title": label, "active": request.path == url}]
