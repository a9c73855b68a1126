"""The control-panel navigation entries of the plugin. Each list names a page, the permission that shows it and its
URL name; other pages (a residual scan, retention policies) are added by appending to these lists."""

from dataclasses import dataclass

from django.urls import resolve, reverse
from django.utils.translation import gettext_lazy as _

NAMESPACE = "plugins:pretix_shredder_api"


@dataclass(frozen=True)
class Page:
    url_name: str
    label: object
    permission: str | None  # checked against request.eventpermset / request.orgapermset; None: any access
    icon: str = ""


# Event navigation (pretix asks only plugins enabled for the event). The event page itself is served for every event.
EVENT_PAGES = [
    Page("event", _("Data shredder"), "event.orders:read", icon="eraser"),
    Page("residual", _("Personal data left"), "event.orders:read", icon="search"),
]
# Event settings navigation (the policies exist where the plugin is enabled).
EVENT_SETTINGS_PAGES = [
    Page("settings", _("Data shredder"), "event.settings.general:write"),
    Page("retention", _("Data retention"), "event.settings.general:write"),
]
# Organizer navigation.
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
