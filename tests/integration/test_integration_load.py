"""Load: 50 clients (each its own HTTP connection) poll the status URL and fetch the export (byte ranges, If-Range,
If-None-Match, the whole file) from pretix's web server while a slow shred runs on a real worker. Every answer is
checked as it arrives, the order of the answers across all clients is checked at the end, then the invariant.

Latency percentiles per kind of request are printed and written to ``test-artifacts/load.json``.
``SHREDDER_LOAD_SECONDS`` (how long the shred runs, default 8) and ``SHREDDER_LOAD_CLIENTS`` (default 50) make a
longer or wider run: ``make load``.
"""

import hashlib
import json
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from .api import describe, loopback_session
from .conftest import builtin_api_only
from .invariant import assert_invariant

pytestmark = pytest.mark.integration

SHREDDERS = ["slow_test_shredder", "order_emails"]
PERSONAL = "Jane Doe, +49 30 1234567"
EXPORT_BYTES = 4 * 1024 * 1024
SHRED_SECONDS = float(os.environ.get("SHREDDER_LOAD_SECONDS", "8"))
CLIENTS = int(os.environ.get("SHREDDER_LOAD_CLIENTS", "50"))
WARMUP_SECONDS = 1.0  # load before the shred is started
TAIL_SECONDS = 1.5  # load after the status said ok
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "load.json"
# What each client sends, with weights: mostly polls and slices, sometimes the whole file.
KINDS = {"status": 8, "range": 6, "if_range": 2, "if_none_match": 3, "whole": 1}
MAX_SLICE = 256 * 1024


@dataclass
class Answer:
    client: int
    kind: str
    status: int  # 0: no answer at all
    started: float  # time.monotonic()
    ended: float
    problem: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@pytest.fixture(autouse=True)
def _plugin_only():
    if builtin_api_only():
        pytest.skip("the load test checks this plugin's download headers (ETag, If-Range)")


class Export:
    """The finished export every client checks its answers against."""

    def __init__(self, body: bytes, etag: str):
        self.body = body
        self.size = len(body)
        self.etag = etag
        self.sha256 = hashlib.sha256(body).hexdigest()


def json_error_problem(response: requests.Response) -> str:
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return f"error {response.status_code} with Content-Type {response.headers.get('Content-Type')!r}"
    try:
        body = response.json()
    except ValueError:
        return f"error {response.status_code} is not JSON: {response.text[:200]!r}"
    return "" if body else f"error {response.status_code} with an empty body"


def check_status(response: requests.Response) -> str:
    status = response.status_code
    if status == 200:
        return "" if response.json() == {"status": "ok", "message": "OK"} else f"200 but {response.text[:200]}"
    if status in (409, 410):
        problem = json_error_problem(response)
        if problem:
            return problem
        body = response.json()
        if status == 409 and body.get("status") not in ("waiting", "running"):
            return f"409 with status {body.get('status')!r}"
        if status == 410 and body.get("status") != "gone":
            return f"410 with status {body.get('status')!r}"
        return ""
    return f"status URL answered {describe(response)}"


def check_download(response: requests.Response, export: Export, requested: tuple | None) -> str:
    """``requested``: the inclusive byte range asked for (and due), or None when the whole file is due."""
    status = response.status_code
    if status in (404, 410):
        return json_error_problem(response)
    if status == 304:
        if requested != "not modified":
            return "304 without If-None-Match"
        if response.content or response.headers.get("ETag") != export.etag:
            return f"304 with {len(response.content)} bytes, ETag {response.headers.get('ETag')!r}"
        return ""
    if requested == "not modified":
        return f"If-None-Match with the current ETag answered {status}"
    body = response.content
    if int(response.headers.get("Content-Length", -1)) != len(body):
        return f"Content-Length {response.headers.get('Content-Length')} but {len(body)} bytes"
    if requested is None:
        if status != 200:
            return f"the whole file was due, got {status}"
        if hashlib.sha256(body).hexdigest() != export.sha256:
            return "the whole file differs from the export"
        return ""
    if status != 206:
        return f"bytes {requested[0]}-{requested[1]} were due, got {status}"
    start, end = requested
    due = f"bytes {start}-{end}/{export.size}"
    if response.headers.get("Content-Range") != due:
        return f"Content-Range {response.headers.get('Content-Range')!r}, {due!r} was due"
    if body != export.body[start : end + 1]:
        return f"the bytes of {due} differ from the export"
    return ""


class LoadClient(threading.Thread):
    def __init__(self, number: int, token: str, urls: dict, export: Export, stop: threading.Event, answers: list):
        super().__init__(name=f"load-client-{number}", daemon=True)
        self.number = number
        self.urls = urls
        self.export = export
        self.stop = stop
        self.answers = answers
        self.random = random.Random(number)  # the same mix of requests on every run
        self.session = loopback_session()
        self.session.headers["Authorization"] = f"Token {token}"

    def run(self):
        kinds, weights = zip(*KINDS.items(), strict=True)
        try:
            while not self.stop.is_set():
                self.answers.append(self.one(self.random.choices(kinds, weights)[0]))
        finally:
            self.session.close()

    def one(self, kind: str) -> Answer:
        headers, requested, url = {}, None, self.urls["download"]
        if kind == "status":
            url = self.urls["status"]
        elif kind in ("range", "if_range"):
            start = self.random.randrange(self.export.size)
            end = min(start + self.random.randrange(1, MAX_SLICE), self.export.size - 1)
            headers["Range"] = f"bytes={start}-{end}"
            requested = (start, end)
            if kind == "if_range":
                headers["If-Range"] = self.export.etag
        elif kind == "if_none_match":
            headers["If-None-Match"] = self.export.etag
            requested = "not modified"
        elif self.random.random() < 0.5:  # whole: half of them as a resume whose validator no longer matches
            headers.update({"Range": "bytes=1000-", "If-Range": '"an-older-version"'})
        started = time.monotonic()
        try:
            response = self.session.get(url, headers=headers, timeout=60)
        except requests.RequestException as e:
            return Answer(self.number, kind, 0, started, time.monotonic(), f"no answer: {e!r}")
        ended = time.monotonic()
        if response.status_code >= 500:
            problem = f"server error: {describe(response)}"
        elif kind == "status":
            problem = check_status(response)
        else:
            problem = check_download(response, self.export, requested)
        return Answer(self.number, kind, response.status_code, started, ended, problem)


def order_problems(answers: list[Answer], shred_posted: float) -> list[str]:
    """What the answers, ordered in time across all clients, must show: no shred status before the shred POST was
    answered; "running" never after an "ok"; the export served until the shred succeeded and never after the ok."""
    problems = []
    status = [a for a in answers if a.kind == "status"]
    downloads = [a for a in answers if a.kind != "status"]
    oks = [a for a in status if a.status == 200]
    if not oks:
        return ["no client ever saw the shred end ok"]
    first_ok_seen = min(a.ended for a in oks)
    last_running_asked = max((a.started for a in status if a.status == 409), default=0.0)
    for a in status:
        if a.status == 410 and a.started > shred_posted:
            problems.append(f"client {a.client}: 'no shred was started' after the shred was started")
        if a.status == 409 and a.started > first_ok_seen:
            problems.append(f"client {a.client}: 'running' after another client was told ok")
    for a in downloads:
        if a.status in (200, 206, 304) and a.started > first_ok_seen:
            problems.append(f"client {a.client}: export served ({a.status}) after the shred said ok")
        if a.status in (404, 410) and a.ended < last_running_asked:
            problems.append(f"client {a.client}: export refused ({a.status}) while the shred was still running")
    return problems


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil
    return sorted_values[int(rank) - 1]


def latency_table(answers: list[Answer]) -> dict:
    table = {}
    groups = {kind: [a for a in answers if a.kind == kind] for kind in KINDS}
    groups["all"] = answers
    for kind, group in groups.items():
        values = sorted(a.seconds * 1000 for a in group)
        if not values:
            continue
        table[kind] = {
            "requests": len(values),
            **{f"p{p}_ms": round(percentile(values, p), 1) for p in (50, 95, 99)},
            "max_ms": round(values[-1], 1),
        }
    return table


def test_fifty_clients_poll_and_download_while_a_shred_runs(pretix, orm, seeded_event, shredder_api, slow_shredder):
    slow_shredder(seconds=0, personal_data=PERSONAL, export_bytes=EXPORT_BYTES)
    urls = shredder_api.start_export(SHREDDERS)
    finished, _ = shredder_api.wait_download(urls["download"], timeout=120)
    export = Export(finished.content, finished.headers["ETag"])
    slow_shredder(seconds=SHRED_SECONDS)
    urls["status"] = urls["shred"].replace("/shred/", "/status/")

    answers: list[Answer] = []  # list.append is atomic: the clients share it
    stop = threading.Event()
    clients = [LoadClient(i, seeded_event["token"], urls, export, stop, answers) for i in range(CLIENTS)]
    began = time.monotonic()
    for client in clients:
        client.start()
    try:
        time.sleep(WARMUP_SECONDS)
        status_url = shredder_api.start_shred(urls["shred"])
        shred_posted = time.monotonic()
        assert status_url == urls["status"]
        done, _ = shredder_api.wait_status(status_url, timeout=SHRED_SECONDS + 120, interval=0.25)
        shred_seconds = time.monotonic() - shred_posted
        assert done.json() == {"status": "ok", "message": "OK"}, describe(done)
        time.sleep(TAIL_SECONDS)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=90)
    elapsed = time.monotonic() - began
    assert not any(c.is_alive() for c in clients), "a client still waits for an answer"

    statuses = Counter(str(a.status) for a in answers)
    during = [a for a in answers if shred_posted < a.started and a.ended < shred_posted + shred_seconds]
    report = {
        "clients": CLIENTS,
        "export_bytes": export.size,
        "shred_seconds": round(shred_seconds, 1),
        "seconds": round(elapsed, 1),
        "requests": len(answers),
        "requests_per_second": round(len(answers) / elapsed, 1),
        "answered_while_shredding": len(during),
        "statuses": dict(sorted(statuses.items())),
        "latency": latency_table(answers),
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nload: {json.dumps(report, indent=2)}")

    problems = [f"client {a.client} {a.kind}: {a.problem}" for a in answers if a.problem]
    problems += order_problems(answers, shred_posted)
    assert not problems, f"{len(problems)} problems, first ones:\n" + "\n".join(problems[:20])
    assert {a.client for a in answers} == set(range(CLIENTS)), "a client got no answer at all"
    by_kind = {kind: [a for a in during if a.kind == kind] for kind in KINDS}
    served = [a for kind in ("range", "if_range", "whole") for a in by_kind[kind] if a.status in (200, 206)]
    assert served and any(a.status == 409 for a in by_kind["status"]), "no download while the shred was running"
    assert statuses.get("200", 0) and statuses.get("404", 0), "the load did not reach past the end of the shred"

    outcome = assert_invariant(orm, seeded_event, shredder_api, urls, SHREDDERS)
    assert outcome.status == "ok" and outcome.data == "gone", outcome
    print(f"after the load: {outcome}")
