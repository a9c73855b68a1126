"""At the documented paths, this plugin's viewset answers - not pretix's built-in one."""

import pytest
from django.urls import resolve, reverse
from pretix.api.urls import event_router
from pretix.api.views.shredders import EventShreddersViewSet

from pretix_shredder_api.api.retention import RetentionViewSet
from pretix_shredder_api.api.scopes import ScopeViewSet
from pretix_shredder_api.api.shredders import ShredderViewSet

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
    # the retention and scope viewsets' fixed paths (policy/, schedule/…, scopes/…) go first, so the shredder detail
    # route cannot take them
    assert registered == [("shredders", RetentionViewSet), ("shredders", ScopeViewSet), ("shredders", ShredderViewSet)]
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


def csrf_checking(client):
    """The test client with Django's CSRF checks on, as pretix's real server has them."""
    client.handler.enforce_csrf_checks = True
    return client


UNMATCHED = [
    ("export", 404),  # the trailing slash missing
    ("shred/a/b", 404),
    ("download/..%2F..%2F/b/", 404),  # an id with ../ in it
    ("order_emails/more/", 404),
    ("status/a/", 410),
    ("status/..%2Fb/c/", 410),
]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("tail,code", UNMATCHED)
def test_every_method_on_an_unmatched_path_gets_the_json_a_get_gets(client, base_url, orders, method, tail, code):
    client = csrf_checking(client)
    expected = client.get(base_url + tail)
    resp = getattr(client, method)(base_url + tail, {"shredders": ["order_emails"]}, format="json")
    assert (resp.status_code, resp["Content-Type"]) == (code, "application/json")
    assert resp.json() == expected.json()


def test_a_session_post_to_an_unmatched_path_is_json_too(session_client, base_url, orders):
    resp = csrf_checking(session_client).post(base_url + "export", {}, format="json")
    assert (resp.status_code, resp.json()) == (404, {"detail": "Not found."})


def test_a_post_to_a_route_that_only_answers_get_is_a_json_405(client, base_url, orders):
    resp = csrf_checking(client).post(base_url + "status/a/b/")
    assert (resp.status_code, resp["Content-Type"]) == (405, "application/json")
    assert resp.json() == {"detail": 'Method "POST" not allowed.'}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_the_prefix_without_its_slash_is_json_for_every_method_but_get(client, base_url, orders, method):
    resp = getattr(csrf_checking(client), method)(base_url.rstrip("/"), {"shredders": ["order_emails"]}, format="json")
    assert (resp.status_code, resp["Content-Type"]) == (404, "application/json")
    assert resp.json() == {"detail": "Not found."}


def test_a_get_of_the_prefix_without_its_slash_is_redirected_to_it(client, base_url, orders):
    resp = client.get(base_url.rstrip("/") + "?page=1")
    assert (resp.status_code, resp["Location"]) == (301, base_url + "?page=1")
    assert client.get(resp["Location"]).status_code == 200
