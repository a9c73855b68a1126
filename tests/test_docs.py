"""The REST reference in docs/api/ documents exactly the routes the plugin serves: every route, with each method it
takes, has its ``.. http:<method>::`` directive, and every directive names a route that is served. (That the pages
build without a warning is ``make docs``' job, in CI.)"""

import re
from pathlib import Path

from django.urls import URLResolver, get_resolver

API_DOCS = Path(__file__).resolve().parent.parent / "docs" / "api"
DIRECTIVE = re.compile(r"^\.\. http:(get|post|put|patch|delete):: (\S+)\s*$", re.MULTILINE)
DOC_PARAM = re.compile(r"\([^)/]*\)")  # (organizer), (id1) in a documented path
URL_GROUP = re.compile(r"\(\?P<\w+>[^)]*\)")  # (?P<organizer>[^/]+) in a route's regex
METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p.callback


def served() -> set[tuple[str, str]]:
    """(METHOD, path) of every REST route of this plugin's API views, parameters as ``{}``."""
    routes = set()
    for regex, callback in _walk(get_resolver().url_patterns):
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view is None or not view.__module__.startswith("pretix_shredder_api."):
            continue  # pretix's own routes; and the JSON catch-all for unmatched paths (a function, in prose)
        if "(?P<format>" in regex:
            continue  # DRF's format-suffix twins (``policy.json``) of each route
        path = "/" + URL_GROUP.sub("{}", regex).replace("^", "").removesuffix("$")
        # A viewset: the methods its router mapped (DRF adds "head" for "get" once the route was called). A view:
        # the methods it has. HEAD and OPTIONS come with every route and are not documented one by one.
        actions = getattr(callback, "actions", None)
        methods = [m for m in METHODS if (m in actions if actions else hasattr(view, m))]
        routes |= {(m.upper(), path) for m in methods}
    return routes


def documented() -> dict[tuple[str, str], str]:
    routes = {}
    for page in sorted(API_DOCS.glob("*.rst")):
        for method, path in DIRECTIVE.findall(page.read_text()):
            routes[(method.upper(), DOC_PARAM.sub("{}", path))] = page.name
    return routes


def test_the_route_walk_finds_the_api():
    """The walk itself works: it finds the documented routes of pretix's page and ours (so the next test can fail)."""
    routes = served()
    assert ("GET", "/api/v1/organizers/{}/events/{}/shredders/") in routes
    assert ("POST", "/api/v1/organizers/{}/events/{}/shredders/shred/{}/{}/") in routes
    assert ("PATCH", "/api/v1/organizers/{}/shredder-policy/") in routes
    assert len(routes) >= 16


def test_every_served_route_is_documented():
    missing = sorted(served() - set(documented()))
    assert not missing, f"REST routes without an .. http:<method>:: directive in docs/api/: {missing}"


def test_every_documented_route_is_served():
    docs = documented()
    unknown = sorted(f"{m} {p} ({docs[(m, p)]})" for m, p in set(docs) - served())
    assert not unknown, f"docs/api/ documents routes that are not served: {unknown}"
