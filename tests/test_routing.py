"""At the documented paths, this plugin's viewset answers - not pretix's built-in one."""

import pytest
from django.urls import resolve, reverse
from pretix.api.urls import event_router
from pretix.api.views.shredders import EventShreddersViewSet

from pretix_shredder_api.api import ShredderViewSet
from pretix_shredder_api.retention_api import RetentionViewSet

pytestmark = pytest.mark.django_db

PATHS = [
    ("list", "/api/v1/organizers/bigevents/events/sampleconf/shredders/", {}),
    (
        "detail",
        "/api/v1/organizers/bigevents/events/sampleconf/shredders/order_emails/",
        {"identifier": "order_emails"},
    ),
    ("export", "/api/v1/organizers/bigevents/events/sampleconf/shredders/export/", {}),
    (
        "download",
        "/api/v1/organizers/bigevents/events/sampleconf/shredders/download/a/b/",
        {"asyncid": "a", "cfid": "b"},
    ),
    ("shred", "/api/v1/organizers/bigevents/events/sampleconf/shredders/shred/a/b/", {"asyncid": "a", "cfid": "b"}),
    ("status", "/api/v1/organizers/bigevents/events/sampleconf/shredders/status/a/b/", {"asyncid": "a", "cfid": "b"}),
]


@pytest.mark.parametrize("name,path,kwargs", PATHS)
def test_documented_paths_resolve_to_our_viewset(name, path, kwargs):
    match = resolve(path)
    assert match.func.cls is ShredderViewSet
    assert match.url_name == f"shredders-{name}"
    assert (
        reverse(f"api-v1:shredders-{name}", kwargs={"organizer": "bigevents", "event": "sampleconf", **kwargs}) == path
    )


def test_builtin_registration_was_replaced_not_added_to():
    registered = [(prefix, viewset) for prefix, viewset, _basename in event_router.registry if prefix == "shredders"]
    # the retention viewset's fixed paths (policy/, schedule/…) go first, so the shredder detail route cannot take them
    assert registered == [("shredders", RetentionViewSet), ("shredders", ShredderViewSet)]
    assert not any(viewset is EventShreddersViewSet for _p, viewset, _b in event_router.registry)


def test_a_request_is_answered_by_our_code(client, device_client, base_url, orders):
    """Behaviour only our viewset has: job records behind the URLs, and devices refused (the built-in lets them in)."""
    from pretix_shredder_api.models import ShredderJob

    resp = client.post(base_url + "export/", {"shredders": ["order_emails"]}, format="json")
    assert resp.status_code == 202
    job = ShredderJob.objects.get()
    assert resp.json()["download"].endswith(f"/download/{job.public_id}/{job.secret}/")
    assert device_client.get(base_url).status_code == 403


@pytest.mark.parametrize(
    "tail",
    [
        "download/a%2Fb/c/",  # decodes to an extra path segment
        "shred/a/",
        "order_emails/more/",
    ],
)
def test_paths_no_route_matches_get_a_json_404(client, base_url, orders, tail):
    resp = client.get(base_url + tail)
    assert resp.status_code == 404
    assert resp["Content-Type"] == "application/json"
    assert resp.json() == {"detail": "Not found."}


@pytest.mark.parametrize("tail", ["status/a%2Fb/c/", "status/a/b/c/", "status/a/"])
def test_status_paths_no_route_matches_are_gone_as_unknown_ids_are(client, base_url, orders, tail):
    resp = client.get(base_url + tail)
    assert resp.status_code == 410
    assert resp["Content-Type"] == "application/json"
    assert resp.json() == client.get(base_url + "status/unknown/ids/").json()
    assert resp.json()["status"] == "gone"


def test_the_catch_all_does_not_shadow_the_routes(client, base_url, orders):
    assert client.get(base_url).status_code == 200
    assert client.get(base_url + "order_emails/").status_code == 200
    assert client.post(base_url + "export/", {"shredders": ["order_emails"]}, format="json").status_code == 202
