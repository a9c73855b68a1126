"""Property-based fuzzing of every route under ``…/shredders/``: the endpoints, a world of jobs and callers, the
request strategies, and the properties every answer must have.

The endpoints come from Django's URL resolver, so routes added later under the same prefix are fuzzed without a
change here. Used by ``test_fuzz.py``; ``make fuzz`` runs the same tests with many more examples.
"""

import json
import math
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote, unquote, urlencode, urlparse

from django.core.files.storage import default_storage
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.utils.timezone import now
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from pretix.base.models import CachedFile, Device, Order, Organizer, User
from rest_framework.test import APIClient

from pretix_shredder_api.jobs import Identity
from pretix_shredder_api.models import JobState, ShredderJob

from .conftest import make_event, make_order, make_team, oauth_client, token_client

PREFIX_MARK = "shredders"
# The default run (make test) sends at least this many requests in all; make fuzz sets SHREDDER_FUZZ_REQUESTS.
TOTAL_REQUESTS = int(os.environ.get("SHREDDER_FUZZ_REQUESTS", "2100"))
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]
JOB_KWARGS = ("asyncid", "cfid")
OPTIONS_KEYS = {"name", "description", "renders", "parses"}
OUR_URL_NAMES: set = set()


# ---------------------------------------------------------------------------------------------------------------------
# The endpoints, from the URL resolver


@dataclass(frozen=True)
class Endpoint:
    name: str  # the URL name (or the pattern, for unnamed ones)
    template: str  # "/api/v1/organizers/{organizer}/events/{event}/shredders/download/{asyncid}/{cfid}/"
    groups: tuple  # the named groups, in order
    methods: tuple  # the methods the route is for (all of METHODS when unknown)

    def __str__(self):
        return self.template


def _walk(patterns, prefix=""):
    for p in patterns:
        regex = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, regex)
        elif isinstance(p, URLPattern):
            yield regex, p


def _unnamed_segment(match) -> str:
    """An unnamed ``[^/]+`` is named by the path segment before it (``organizers/[^/]+`` is the organizer)."""
    before = match.string[: match.start()].rstrip("/").rsplit("/", 1)[-1]
    return {"organizers": "{organizer}", "events": "{event}"}.get(before, "{segment}")


def _template(regex: str) -> str:
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", regex)
    path = re.sub(r"\[\^/\]\+", _unnamed_segment, path)
    path = path.replace("^", "").replace("/?$", "/").replace("$", "").replace("\\.", ".")
    return "/" + path


def shredder_endpoints() -> list[Endpoint]:
    """Every API route whose path has a ``shredders`` segment (control-panel pages are not the API's)."""
    found = {}
    for regex, pattern in _walk(get_resolver().url_patterns):
        template = _template(regex)
        if not template.startswith("/api/") or f"/{PREFIX_MARK}" not in template:
            continue
        actions = getattr(pattern.callback, "actions", None) or {}
        methods = tuple(m.upper() for m in actions) or tuple(METHODS)
        groups = tuple(re.findall(r"\{(\w+)\}", template))
        found.setdefault(template, Endpoint(pattern.name or regex, template, groups, methods))
    endpoints = sorted(found.values(), key=lambda e: e.template)
    OUR_URL_NAMES.update(e.name for e in endpoints)
    return endpoints


def examples_per_endpoint(endpoints) -> int:
    return math.ceil(TOTAL_REQUESTS / max(len(endpoints), 1))


def fuzz_settings(max_examples: int):
    phases = list(Phase)
    if os.environ.get("SHREDDER_FUZZ_NO_SHRINK"):
        phases.remove(Phase.shrink)
    return settings(
        phases=phases,
        max_examples=max_examples,
        deadline=None,
        derandomize=True,  # the same requests on every run: CI is reproducible
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )


# ---------------------------------------------------------------------------------------------------------------------
# The world: an organizer with two events, another organizer, callers of every kind and jobs in every state


@dataclass
class Caller:
    name: str
    client: APIClient
    key: str | None  # the owner key of the jobs this caller starts; None if it may start none
    home: str | None  # the slug of the organizer its credential is valid for (may still lack permission); None: none

    def authenticated_for(self, organizer_slug) -> bool:
        """Whether the credential is valid under this path's organizer (another organizer's token is valid only under
        its own organizer: there it may read and shred its own jobs)."""
        return self.home is not None and unquote(organizer_slug or "").lower() == self.home


@dataclass
class World:
    organizer: object
    event: object
    other_event: object
    foreign_event: object
    callers: dict
    jobs: dict  # name -> ShredderJob
    files: dict = field(default_factory=dict)  # stored file name -> bytes, restored after each example
    shredder_ids: tuple = ()

    def restore_files(self):
        """Undo what a rolled-back example did to the file storage (a shred deletes its export file on disk)."""
        for name, content in self.files.items():
            if not default_storage.exists(name):
                with default_storage.open(name, "wb") as fh:
                    fh.write(content)


def _export(client, event, shredders=("order_emails", "attendee_info")) -> ShredderJob:
    base = f"/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/shredders/"
    before = set(ShredderJob.objects.values_list("pk", flat=True))
    resp = client.post(base + "export/", {"shredders": list(shredders)}, format="json")
    assert resp.status_code == 202, resp.content
    return ShredderJob.objects.exclude(pk__in=before).get()


def build_world() -> World:
    organizer = Organizer.objects.create(name="Fuzz Events", slug="fuzzevents")
    other_organizer = Organizer.objects.create(name="Other Fuzz Events", slug="otherfuzz")
    event = make_event(organizer)
    other_event = make_event(organizer, slug="otherconf")
    foreign_event = make_event(other_organizer)
    for ev in (event, other_event, foreign_event):
        item = ev.items.create(name="Ticket", default_price="23.00")
        for i in range(2):
            make_order(ev, item, f"{ev.slug[:3].upper()}{i}", f"buyer{i}@example.org")

    team = make_team(organizer, all_event_permissions=True)
    own, same_team = team.tokens.create(name="own"), team.tokens.create(name="same team")
    readonly = make_team(organizer, limit_event_permissions={"event.orders:read": True}).tokens.create(name="ro")
    foreign = make_team(other_organizer, all_event_permissions=True).tokens.create(name="foreign")
    user = User.objects.create_user("fuzz@example.org", "secret-password-123")
    team.members.add(user)
    device = Device.objects.create(
        organizer=organizer, all_events=True, name="Scanner", initialized=now(), api_token="fuzz-device-token"
    )

    oauth_w = oauth_client(user, organizer, scope="read write", name="Fuzz app")
    oauth_r = oauth_client(user, organizer, scope="read", app=oauth_w.oauth_application)
    session = APIClient()
    session.force_login(user)
    device_client = APIClient()
    device_client.credentials(HTTP_AUTHORIZATION="Device " + device.api_token)
    garbage = APIClient()
    garbage.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    bad_scheme = APIClient()
    bad_scheme.credentials(HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")

    oauth_key = Identity(oauth_application=oauth_w.oauth_application, user=user).key
    here, there = organizer.slug, other_organizer.slug
    callers = {
        "own": Caller("own", token_client(own), Identity(api_token=own).key, here),
        "same_team": Caller("same_team", token_client(same_team), Identity(api_token=same_team).key, here),
        "readonly": Caller("readonly", token_client(readonly), None, here),
        "oauth_write": Caller("oauth_write", oauth_w, oauth_key, here),
        "oauth_read": Caller("oauth_read", oauth_r, oauth_key, here),
        "session": Caller("session", session, Identity(user=user).key, here),
        "device": Caller("device", device_client, None, here),
        "foreign": Caller("foreign", token_client(foreign), Identity(api_token=foreign).key, there),
        "none": Caller("none", APIClient(), None, None),
        "garbage": Caller("garbage", garbage, None, None),
        "bad_scheme": Caller("bad_scheme", bad_scheme, None, None),
    }

    own_client = callers["own"].client
    # Shredded first: a shred that ran after the other exports would count as "the event changed after the export".
    shredded = _export(own_client, event, ("attendee_info",))
    shred = own_client.post(job_url(shredded, "shred"), format="json")
    assert shred.status_code == 202, shred.content
    jobs = {
        "shredded": shredded,
        "ready": _export(own_client, event),
        "export_failed": _export(own_client, event),
        "export_running": _export(own_client, event),
        "shred_running": _export(own_client, event),
        "shred_failed": _export(own_client, event),
        "expired": _export(own_client, event),
        "same_team": _export(callers["same_team"].client, event),
        "oauth": _export(oauth_w, event),
        "session": _export(session, event),
        "other_event": _export(own_client, other_event),
        "foreign": _export(callers["foreign"].client, foreign_event),
    }
    fresh = now() - timedelta(seconds=2)
    _set(jobs["export_failed"], export_state=JobState.FAILED, export_message="Boom")
    _set(jobs["export_running"], export_state=JobState.RUNNING, export_progress=40, export_heartbeat=fresh)
    _set(jobs["shred_running"], shred_state=JobState.RUNNING, shred_attempt="a1", shred_heartbeat=fresh)
    _set(jobs["shred_failed"], shred_state=JobState.FAILED, shred_attempt="a2", shred_message="Shred broke")
    CachedFile.objects.filter(pk=jobs["expired"].file_id).update(expires=now() - timedelta(minutes=1))
    for job in jobs.values():
        job.refresh_from_db()

    files = {}
    for job in jobs.values():
        cf = CachedFile.objects.filter(pk=job.file_id).first()
        if cf and cf.file:
            with cf.file.open("rb") as fh:
                files[cf.file.name] = fh.read()
    return World(
        organizer=organizer,
        event=event,
        other_event=other_event,
        foreign_event=foreign_event,
        callers=callers,
        jobs=jobs,
        files=files,
        shredder_ids=tuple(sorted(event.get_data_shredders())),
    )


def _set(job, **fields):
    ShredderJob.objects.filter(pk=job.pk).update(**fields)


def job_url(job, kind: str) -> str:
    ev = job.event
    return f"/api/v1/organizers/{ev.organizer.slug}/events/{ev.slug}/shredders/{kind}/{job.public_id}/{job.secret}/"


# ---------------------------------------------------------------------------------------------------------------------
# Strategies

_ascii = st.characters(min_codepoint=32, max_codepoint=126)
_any_text = st.text(max_size=40)
_path_text = st.one_of(
    st.text(_ascii, max_size=30).map(lambda s: quote(s, safe="")),
    _any_text.map(lambda s: quote(s, safe="")),
    st.sampled_from(["", ".", "..", "%2F", "%00", "%252F", "a%2Fb", "null", "0", "-1", "9" * 40, "%C0%AF", "%FF"]),
)
_uuid_text = st.uuids().map(str)


def _job_id_pair(world: World):
    jobs = list(world.jobs.values())
    real = st.sampled_from(jobs).map(lambda j: (str(j.public_id), str(j.secret)))
    crossed = st.tuples(st.sampled_from(jobs), st.sampled_from(jobs)).map(
        lambda p: (str(p[0].public_id), str(p[1].secret))
    )
    mangled = st.tuples(st.sampled_from(jobs), st.sampled_from(["upper", "braces", "nodash", "urn", "space"])).map(
        lambda p: (_mangle(str(p[0].public_id), p[1]), str(p[0].secret))
    )
    return st.one_of(
        *[real] * 6, crossed, mangled, st.tuples(_uuid_text, _uuid_text), st.tuples(_path_text, _path_text)
    )


def _mangle(value: str, how: str) -> str:
    return {
        "upper": value.upper(),
        "braces": quote("{" + value + "}", safe=""),
        "nodash": value.replace("-", ""),
        "urn": quote("urn:uuid:" + value, safe=""),
        "space": quote(" " + value, safe=""),
    }[how]


def _slug_strategy(world: World, which: str):
    if which == "organizer":
        real = [world.organizer.slug, world.organizer.slug, world.organizer.slug, world.foreign_event.organizer.slug]
    else:
        real = [world.event.slug, world.event.slug, world.event.slug, world.other_event.slug, world.foreign_event.slug]
    return st.one_of(*[st.sampled_from(real)] * 6, _path_text)


def path_strategy(world: World, endpoint: Endpoint):
    """The endpoint's path with its groups filled: mostly real slugs and job ids, sometimes anything."""
    values = {}
    if "organizer" in endpoint.groups:
        values["organizer"] = _slug_strategy(world, "organizer")
    if "event" in endpoint.groups:
        values["event"] = _slug_strategy(world, "event")
    if set(JOB_KWARGS) <= set(endpoint.groups):
        values["_job"] = _job_id_pair(world)
    if "identifier" in endpoint.groups:
        values["identifier"] = st.one_of(st.sampled_from(world.shredder_ids or ("x",)), _path_text)
    if "format" in endpoint.groups:
        values["format"] = st.one_of(
            st.sampled_from(["json", "api", "zip", "html", "csv", "xml"]), st.from_regex(r"\A[a-z0-9]{1,8}\Z")
        )
    for group in endpoint.groups:
        if group not in values and group not in JOB_KWARGS:
            values[group] = st.one_of(
                _path_text, st.text(st.characters(codec="ascii", exclude_characters="?#"), max_size=60)
            )

    def fill(drawn):
        kwargs = {k: v for k, v in drawn.items() if k != "_job"}
        if "_job" in drawn:
            kwargs["asyncid"], kwargs["cfid"] = drawn["_job"]
        return endpoint.template.format(**kwargs), kwargs

    return st.fixed_dictionaries(values).map(fill)


_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
_json_value = st.recursive(
    _scalar,
    lambda c: st.one_of(st.lists(c, max_size=5), st.dictionaries(st.text(max_size=10), c, max_size=5)),
    max_leaves=20,
)


def _json_bytes(value) -> bytes:
    return json.dumps(value).encode()


def body_strategy(world: World):
    """(bytes, content type). JSON of every shape, the real fields with odd values, forms, garbage, huge, deep."""
    ids = st.sampled_from(world.shredder_ids or ("x",))
    field_values = st.one_of(
        st.lists(st.one_of(ids, _scalar), max_size=6), ids, _scalar, st.lists(ids, min_size=1, max_size=3)
    )
    real_fields = st.fixed_dictionaries(
        {}, optional={"shredders": field_values, "confirm_code": st.one_of(_scalar, st.lists(_scalar, max_size=3))}
    )
    json_type = st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=utf-16",
            "application/json; charset=bogus",
            "application/vnd.api+json",
            "text/json",
        ]
    )
    form_type = st.sampled_from(
        ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1"]
    )
    odd_type = st.sampled_from(
        [
            "",
            "text/plain",
            "application/xml",
            "application/octet-stream",
            "multipart/form-data",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data; boundary=",
            "garbage",
            "application/zip",
            "image/png",
            "*/*",
            "application/json; boundary=x",
            "application/x-www-form-urlencoded; charset=utf-99",
        ]
    )
    form_pairs = st.lists(
        st.tuples(st.sampled_from(["shredders", "confirm_code", "x", ""]), st.one_of(ids, _any_text)), max_size=6
    )
    return st.one_of(
        st.just((b"", None)),
        st.tuples(real_fields.map(_json_bytes), json_type),
        st.tuples(real_fields.map(_json_bytes), json_type),
        st.tuples(_json_value.map(_json_bytes), json_type),
        st.tuples(form_pairs.map(lambda p: urlencode(p).encode()), form_type),
        st.tuples(real_fields.map(lambda d: json.dumps(d).encode("utf-16")), json_type),
        st.tuples(real_fields.map(lambda d: json.dumps(d, ensure_ascii=False).encode("latin-1", "replace")), json_type),
        st.tuples(st.binary(max_size=300), st.one_of(json_type, form_type, odd_type)),
        st.tuples(st.integers(1, 60_000).map(lambda n: b"[" * n + b"]" * n), json_type),
        st.tuples(st.integers(1, 20_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n), json_type),
        st.tuples(st.integers(2_000_000, 3_000_000).map(lambda n: b'{"shredders": ["' + b"x" * n + b'"]}'), json_type),
        st.tuples(
            st.integers(1_000, 40_000).map(lambda n: urlencode([("shredders", "order_emails")] * n).encode()), form_type
        ),
        st.tuples(
            st.sampled_from(
                [
                    b"{",
                    b'{"shredders": [}',
                    b"\xff\xfe\x00",
                    b"NaN",
                    b"[1e999999]",
                    b'"\\ud800"',
                    b'{"shredders": ["order_emails"]}\x00',
                    b"\xef\xbb\xbf{}",
                ]
            ),
            json_type,
        ),
    )


def headers_strategy(world: World):
    etags = [f'"{j.file_sha256}"' for j in world.jobs.values() if j.file_sha256] or ['"x"']
    range_values = st.one_of(
        st.builds(lambda a, b: f"bytes={a}-{b}", st.integers(0, 5000), st.integers(0, 5000)),
        st.builds(lambda a: f"bytes={a}-", st.integers(0, 10**25)),
        st.builds(lambda a: f"bytes=-{a}", st.integers(0, 10**25)),
        st.sampled_from(
            [
                "bytes=0-0",
                "bytes=-0",
                "bytes=0-1,5-9",
                "items=0-5",
                "bytes=",
                "bytes=a-b",
                "bytes= 0-1",
                "bytes=1-2-3",
                "bytes=\u00bd-",
                "bytes=0-1,-",
                "bytes=--1",
            ]
        ),
        _any_text,
    )
    dates = st.sampled_from(["Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2099 07:28:00 GMT", "garbage", "0", ""])
    header_values = {
        "Range": range_values,
        "If-Range": st.one_of(st.sampled_from(etags), dates, _any_text),
        "If-None-Match": st.one_of(
            st.sampled_from(etags),
            st.sampled_from(["*", 'W/"x"', "", ",,,"]),
            st.lists(st.sampled_from(etags), max_size=3).map(", ".join),
            _any_text,
        ),
        "If-Match": st.one_of(st.sampled_from(etags + ["*"]), _any_text),
        "If-Modified-Since": dates,
        "If-Unmodified-Since": dates,
        "Accept": st.sampled_from(
            [
                "application/json",
                "text/html",
                "*/*",
                "application/zip",
                "image/png",
                "garbage",
                "application/json; version=99",
                "text/html;q=1, application/json;q=0",
            ]
        ),
        "Accept-Language": st.sampled_from(["de", "en", "fr-CH, fr;q=0.9", "xx", "*", "de-DE-x-garbage"]),
        "Accept-Encoding": st.sampled_from(["gzip", "br", "identity;q=0", "*"]),
        "X-Idempotency-Key": st.one_of(st.sampled_from(["fuzz-1", "fuzz-2"]), st.text(_ascii, min_size=1, max_size=40)),
    }
    return st.fixed_dictionaries({}, optional=header_values)


_query_value = st.one_of(st.sampled_from(["json", "api", "1", "0", "-1", "99999999999999999999", ""]), _any_text)
query_strategy = st.one_of(
    st.just(""),
    st.dictionaries(
        st.sampled_from(["format", "page", "page_size", "ordering", "lang", "x"]), _query_value, max_size=3
    ).map(urlencode),
)


# ---------------------------------------------------------------------------------------------------------------------
# The properties


@dataclass
class Case:
    endpoint: Endpoint
    caller: Caller
    method: str
    path: str
    kwargs: dict
    query: str
    headers: dict
    body: bytes
    content_type: str | None

    def describe(self) -> str:
        return (
            f"{self.method} {self.path}{'?' + self.query if self.query else ''} as {self.caller.name}, "
            f"headers {self.headers}, {len(self.body)} body bytes ({self.content_type!r}): {self.body[:120]!r}"
        )


def send(case: Case):
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in case.headers.items()}
    if case.content_type is not None:
        extra["CONTENT_TYPE"] = case.content_type
    path = case.path + ("?" + case.query if case.query else "")
    return case.caller.client.generic(case.method, path, data=case.body, **extra)


def _content(resp) -> bytes:
    if getattr(resp, "streaming", False):
        try:
            return b"".join(resp.streaming_content)
        finally:
            resp.close()
    return resp.content


def _job_of(kwargs: dict):
    try:
        return ShredderJob.objects.select_related("event__organizer").get(
            public_id=uuid.UUID(kwargs["asyncid"]), secret=uuid.UUID(kwargs["cfid"])
        )
    except (ValueError, ShredderJob.DoesNotExist):
        return None


def _ownership_problem(case: Case, job) -> str:
    if job is None:
        return "a success for a job that does not exist"
    if case.caller.key is None or job.owner != case.caller.key:
        return f"job {job.public_id} (owner {job.owner}) handed to {case.caller.name} ({case.caller.key})"
    if job.event.slug != case.kwargs.get("event") or job.event.organizer.slug != case.kwargs.get("organizer"):
        return f"job {job.public_id} of {job.event.organizer.slug}/{job.event.slug} answered under another URL"
    return ""


def is_ours(path_info: str) -> bool:
    """Whether a request path reaches a route under ``…/shredders/``. A generated slug such as ``""`` or ``a%2Fb``
    can make a path that is no longer under the prefix (``/organizers//events/…``): pretix answers that one."""
    try:
        match = resolve(path_info)
    except Resolver404:
        return False
    return match.url_name in OUR_URL_NAMES


def rejected_by_pretix(case: Case, resp) -> bool:
    """pretix's RejectInvalidInputMiddleware answers a NUL byte in the query string or in a form body with its own
    HTML 400 page, before any view (pretix's or a plugin's) runs: outside this plugin's reach (docs/reliability.rst)."""
    if resp.status_code != 400:
        return False
    form = (case.content_type or "").startswith("application/x-www-form-urlencoded")
    return "\x00" in unquote(case.query) or "%00" in case.query or (form and b"%00" in case.body)


def response_problems(case: Case, resp) -> list[str]:
    """What is wrong with this answer: a 5xx, a non-JSON error, a job handed to a caller who does not own it."""
    problems = []
    status = resp.status_code
    content = _content(resp)
    ctype = resp.get("Content-Type", "")
    is_zip = ctype.startswith("application/zip")
    if status >= 500:
        problems.append(f"status {status}")
    json_expected = is_ours(resp.wsgi_request.path_info) and not rejected_by_pretix(case, resp)
    # ``…/shredders`` without its slash: GET/HEAD are redirected to ``…/shredders/`` (as APPEND_SLASH would), no body
    slash_redirect = (
        status == 301
        and case.method in ("GET", "HEAD")
        and urlparse(resp.get("Location", "")).path.endswith("/shredders/")
    )
    if status not in (204, 304) and not is_zip and not slash_redirect and json_expected:
        if not ctype.startswith("application/json"):
            problems.append(f"status {status} with Content-Type {ctype!r}")
        elif case.method != "HEAD":
            try:
                json.loads(content)
            except ValueError:
                problems.append(f"status {status}: body is not JSON: {content[:200]!r}")
    success = 200 <= status < 300 or status == 304
    if not success:
        return problems

    if not case.caller.authenticated_for(case.kwargs.get("organizer")) or case.caller.name == "device":
        problems.append(f"status {status} for {case.caller.name} credentials")
    if set(JOB_KWARGS) <= set(case.kwargs):
        if case.method == "OPTIONS":
            if not set(json.loads(content)) <= OPTIONS_KEYS:
                problems.append(f"OPTIONS answered more than the endpoint's description: {content[:200]!r}")
        else:
            job = _job_of(case.kwargs)
            problem = _ownership_problem(case, job)
            if problem:
                problems.append(problem)
            elif is_zip and case.method == "GET":
                problems.extend(_download_problems(resp, content, job))
    if case.endpoint.name == "shredders-export" and status == 202 and case.method == "POST":
        body = json.loads(content)
        parts = [p for p in urlparse(body["download"]).path.split("/") if p]
        kwargs = {"organizer": parts[3], "event": parts[5], "asyncid": parts[-2], "cfid": parts[-1]}
        problem = _ownership_problem(Case(**{**case.__dict__, "kwargs": kwargs}), _job_of(kwargs))
        if problem:
            problems.append("export: " + problem)
    return problems


def _download_problems(resp, content: bytes, job) -> list[str]:
    """A download hands out exactly the bytes of this job's own file (or the requested slice of them)."""
    cf = CachedFile.objects.filter(pk=job.file_id).first()
    if cf is None or not cf.file:
        return ["a download of a file that no longer exists"]
    with cf.file.open("rb") as fh:
        stored = fh.read()
    expected = stored
    if resp.status_code == 206:
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", resp["Content-Range"])
        if not match or int(match[3]) != len(stored):
            return [f"bad Content-Range {resp['Content-Range']!r} for {len(stored)} bytes"]
        expected = stored[int(match[1]) : int(match[2]) + 1]
    if content != expected:
        return [f"download body ({len(content)} bytes) is not the job's file ({len(expected)} bytes expected)"]
    if int(resp["Content-Length"]) != len(content):
        return [f"Content-Length {resp['Content-Length']} but {len(content)} bytes sent"]
    return []


def data_problems(world: World) -> list[str]:
    """The invariant in the database: nothing shredded without a finished export, no "ok" with data left, no export
    file kept after its shred succeeded."""
    problems = []
    for job in ShredderJob.objects.filter(shred_state=JobState.SUCCEEDED).select_related("event"):
        if job.export_state != JobState.SUCCEEDED:
            problems.append(f"job {job.public_id}: shredded, but its export is {job.export_state}")
        if job.file_id and CachedFile.objects.filter(pk=job.file_id).exists():
            problems.append(f"job {job.public_id}: shredded, but its export file is still kept")
        if "order_emails" in job.shredders and Order.objects.filter(event=job.event, email__isnull=False).exists():
            problems.append(f"job {job.public_id}: status ok, but e-mail addresses are left")
    for ev in (world.event, world.other_event, world.foreign_event):
        shredded = ShredderJob.objects.filter(event=ev, shred_state=JobState.SUCCEEDED).values_list(
            "shredders", flat=True
        )
        emails_gone = Order.objects.filter(event=ev, email__isnull=True).exists()
        if emails_gone and not any("order_emails" in s for s in shredded):
            problems.append(f"event {ev.slug}: e-mail addresses gone without a successful shred of an export")
    return problems
