"""HTTP as pretix's real server answers it: JSON for every method on paths no route matches (Django's CSRF middleware
is live there, unlike in the test client), and content negotiation on the download URL."""

from urllib.parse import urljoin

import pytest

from .api import describe
from .conftest import builtin_api_only

pytestmark = pytest.mark.integration

UNMATCHED = [
    ("export", 404, {"detail": "Not found."}),  # the trailing slash missing
    ("shred/a/b", 404, {"detail": "Not found."}),
    ("download/..%2F..%2F/b/", 404, {"detail": "Not found."}),
    ("status/..%2Fb/c/", 410, {"status": "gone", "message": "We do not know about this process."}),
]


@pytest.fixture(autouse=True)
def _plugin_only():
    if builtin_api_only():
        pytest.xfail(
            "pretix's built-in API answers unmatched paths with HTML pages and refuses Accept: application/zip"
        )


@pytest.mark.parametrize("tail,code,body", UNMATCHED)
def test_every_method_on_an_unmatched_path_gets_json(shredder_api, tail, code, body):
    url = shredder_api.base_url + tail
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        response = shredder_api.client.request(method, url, json={"shredders": ["question_answers"]})
        assert (response.status_code, response.headers["Content-Type"]) == (code, "application/json"), describe(
            response
        )
        assert response.json() == body


def test_the_prefix_without_its_slash(shredder_api):
    url = shredder_api.base_url.rstrip("/")
    posted = shredder_api.client.post(url, json={"shredders": ["question_answers"]})
    assert (posted.status_code, posted.json()) == (404, {"detail": "Not found."}), describe(posted)
    got = shredder_api.client.get(url, allow_redirects=False)
    assert (got.status_code, urljoin(url, got.headers["Location"])) == (301, shredder_api.base_url), describe(got)


def test_post_to_a_get_only_route_is_a_json_405(shredder_api):
    response = shredder_api.client.post(shredder_api.base_url + "status/a/b/")
    assert (response.status_code, response.json()) == (405, {"detail": 'Method "POST" not allowed.'}), describe(
        response
    )


def test_download_honours_accept(shredder_api):
    urls = shredder_api.start_export(["question_answers"])
    first, _ = shredder_api.wait_download(urls["download"], timeout=60)
    assert first.status_code == 200, describe(first)
    for accept in ("application/zip", "application/*", "*/*", "application/json", None):
        response = shredder_api.download(urls["download"], headers={"Accept": accept})
        assert (response.status_code, response.headers["Content-Type"]) == (200, "application/zip"), describe(response)
        assert response.content == first.content
    refused = shredder_api.download(urls["download"], headers={"Accept": "text/html"})
    assert (refused.status_code, refused.headers["Content-Type"]) == (406, "application/json"), describe(refused)
    assert refused.json() == {"detail": "Could not satisfy the request Accept header."}
