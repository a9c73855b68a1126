"""URL registration: this plugin takes over the ``shredders`` route of pretix's event API router.

pretix imports every plugin's ``urls`` module while building its API URLs, after registering its own viewsets and
before asking the router for its URL patterns. Here the built-in registration (same prefix, same basename) is removed
from the router and this plugin's viewset registered in its place, so the documented paths and the URL names
``api-v1:shredders-list|detail|export|download|shred|status`` are served by :class:`ShredderViewSet`.
"""

from django.urls import re_path
from pretix.api.urls import event_router, orga_router

from .api.persons import PersonRequestViewSet
from .api.retention import OrganizerPolicyPreviewView, OrganizerPolicyView, RetentionViewSet
from .api.scopes import ScopeViewSet
from .api.shredders import ShredderViewSet, unmatched
from .views import EventJobsView, OverviewCSVView, OverviewView, ShredderSettingsView
from .views.persons import PersonRequestDetailView, PersonRequestDownloadView, PersonRequestListView
from .views.residual import ResidualView
from .views.retention import EventRetentionDownloadView, EventRetentionView, OrganizerRetentionView

PREFIX = "shredders"
BASENAME = "shredders"


def take_over_route(router, prefix: str, viewset, basename: str) -> None:
    router.registry[:] = [(p, v, b) for (p, v, b) in router.registry if p != prefix and b != basename]
    if hasattr(router, "_urls"):
        del router._urls
    router.register(prefix, viewset, basename=basename)


def register_before(router, prefix: str, viewset, basename: str, before_basename: str) -> None:
    """Register a viewset ahead of another one, so that its fixed paths win over the other's ``<identifier>/``."""
    index = next(i for i, (_p, _v, b) in enumerate(router.registry) if b == before_basename)
    router.registry.insert(index, (prefix, viewset, basename))
    if hasattr(router, "_urls"):
        del router._urls


take_over_route(event_router, PREFIX, ShredderViewSet, BASENAME)
# P policy/ and P schedule/…: the retention policy and schedule of the event (see api/retention.py)
register_before(event_router, PREFIX, RetentionViewSet, "shredders-retention", BASENAME)
# P scopes/…: exports and shreds of a scope below the event (see api/scopes.py)
register_before(event_router, PREFIX, ScopeViewSet, "shredders-scopes", BASENAME)
# /api/v1/organizers/<o>/shredder-requests/: requests of one person (see api/persons.py)
take_over_route(orga_router, "shredder-requests", PersonRequestViewSet, "shredder-requests")

urlpatterns = [
    re_path(
        r"^control/event/(?P<organizer>[^/]+)/(?P<event>[^/]+)/shredder-api/$",
        EventJobsView.as_view(),
        name="event",
    ),
    re_path(
        r"^control/event/(?P<organizer>[^/]+)/(?P<event>[^/]+)/shredder-api/settings/$",
        ShredderSettingsView.as_view(),
        name="settings",
    ),
    re_path(r"^control/organizer/(?P<organizer>[^/]+)/shredder-api/$", OverviewView.as_view(), name="overview"),
    re_path(
        r"^control/organizer/(?P<organizer>[^/]+)/shredder-api/overview.csv$",
        OverviewCSVView.as_view(),
        name="overview.csv",
    ),
    re_path(
        r"^control/event/(?P<organizer>[^/]+)/(?P<event>[^/]+)/shredder-api/residual/$",
        ResidualView.as_view(),
        name="residual",
    ),
    re_path(
        r"^control/event/(?P<organizer>[^/]+)/(?P<event>[^/]+)/shredder-api/retention/$",
        EventRetentionView.as_view(),
        name="retention",
    ),
    re_path(
        r"^control/event/(?P<organizer>[^/]+)/(?P<event>[^/]+)/shredder-api/retention/download/$",
        EventRetentionDownloadView.as_view(),
        name="retention-download",
    ),
    re_path(
        r"^control/organizer/(?P<organizer>[^/]+)/shredder-retention/$",
        OrganizerRetentionView.as_view(),
        name="organizer-retention",
    ),
    re_path(
        r"^control/organizer/(?P<organizer>[^/]+)/shredder-requests/$", PersonRequestListView.as_view(), name="persons"
    ),
    re_path(
        r"^control/organizer/(?P<organizer>[^/]+)/shredder-requests/(?P<pk>\d+)/$",
        PersonRequestDetailView.as_view(),
        name="person",
    ),
    re_path(
        r"^control/organizer/(?P<organizer>[^/]+)/shredder-requests/(?P<pk>\d+)/download/$",
        PersonRequestDownloadView.as_view(),
        name="person-download",
    ),
    re_path(
        r"^api/v1/organizers/(?P<organizer>[^/]+)/shredder-policy/$",
        OrganizerPolicyView.as_view(),
        name="api-organizer-policy",
    ),
    re_path(
        r"^api/v1/organizers/(?P<organizer>[^/]+)/shredder-policy/preview/$",
        OrganizerPolicyPreviewView.as_view(),
        name="api-organizer-policy-preview",
    ),
    # pretix puts plugin URLs after its own, so this sees only the paths the router above did not match
    re_path(r"^api/v1/organizers/[^/]+/events/[^/]+/shredders/(?P<rest>.*)$", unmatched, name="api-unmatched"),
    re_path(r"^api/v1/organizers/[^/]+/events/[^/]+/shredders$", unmatched, {"rest": None}, name="api-unmatched-root"),
]
