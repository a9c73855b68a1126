"""URL registration: this plugin takes over the ``shredders`` route of pretix's event API router.

pretix imports every plugin's ``urls`` module while building its API URLs, after registering its own viewsets and
before asking the router for its URL patterns. Here the built-in registration (same prefix, same basename) is removed
from the router and this plugin's viewset registered in its place, so the documented paths and the URL names
``api-v1:shredders-list|detail|export|download|shred|status`` are served by :class:`ShredderViewSet`.
"""

from django.urls import re_path
from pretix.api.urls import event_router

from .api import ShredderViewSet, unmatched
from .views import EventJobsView, OverviewCSVView, OverviewView, ShredderSettingsView
from .views_residual import ResidualView

PREFIX = "shredders"
BASENAME = "shredders"


def take_over_route(router, prefix: str, viewset, basename: str) -> None:
    router.registry[:] = [(p, v, b) for (p, v, b) in router.registry if p != prefix and b != basename]
    if hasattr(router, "_urls"):
        del router._urls
    router.register(prefix, viewset, basename=basename)


take_over_route(event_router, PREFIX, ShredderViewSet, BASENAME)

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
    # pretix puts plugin URLs after its own, so this sees only the paths the router above did not match
    re_path(r"^api/v1/organizers/[^/]+/events/[^/]+/shredders/(?P<rest>.*)$", unmatched, name="api-unmatched"),
    re_path(r"^api/v1/organizers/[^/]+/events/[^/]+/shredders$", unmatched, {"rest": None}, name="api-unmatched-root"),
]
