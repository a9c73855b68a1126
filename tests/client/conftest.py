"""Fixtures for the CLI tests: a fake of the shredder API on 127.0.0.1 and a way to run the CLI in-process.

No Django, no pretix: the fake speaks the contract (docs/CONTRACT.md) over real HTTP on loopback, and the CLI
talks to it through urllib exactly as it would to a pretix server.
"""

import base64
import hashlib
import io
import json
import random
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from pretix_shredder_api.client.cli import main
from pretix_shredder_api.client.context import Runtime

TOKEN = "s3cr3t-t0ken-never-printed-4711"
ORGANIZER = "bigevents"
EVENT = "sampleconf"
JOB = "29891ede-196f-4942-9e26-d055a36e98b8/3f279f13-c198-4137-b49b-9b360ce9fcce"
NOT_MINE = "0b3c2f4e-1111-4222-8333-944455556666/7d1e0a9c-aaaa-4bbb-8ccc-dddd0000eeee"  # ids the fake does not know
SHREDDERS = [
    ("emails", "E-mails"),
    ("invoices", "Invoices"),
    ("question_answers", "Answers to questions"),
]
PAGE_SIZE = 2


def make_export_zip(organizer=ORGANIZER, event=EVENT, shredders=("question_answers",), code="CFM123", **skip):
    """An export like the server builds it; ``skip`` leaves out ``index`` or ``confirm`` to make broken ones."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if not skip.get("confirm"):
            zf.writestr("CONFIRM_CODE.txt", code)
        if not skip.get("index"):
            index = {
                "instance": "http://pretix.invalid",
                "organizer": organizer,
                "event": event,
                "time": "2026-11-29T06:00:00+00:00",
                "shredders": list(shredders),
                "confirm_code": code,
            }
            zf.writestr("index.json", json.dumps(index, indent=4))
        zf.writestr("question_answers.json", json.dumps([{"answer": "Vegetarian"}]))
        zf.writestr("attachments/scan.bin", random.Random(4711).randbytes(200_000))  # incompressible: 200 kB
    return buf.getvalue()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class FakePretix:
    """Behaviour knobs for one test; the handler below reads them. Tests reach the constants through it too."""

    token = TOKEN
    organizer = ORGANIZER
    event = EVENT
    job = JOB
    make_zip = staticmethod(make_export_zip)

    base: str = ""
    url_base: str | None = None  # origin the server puts into its URLs (default: its own)
    forbidden: bool = False
    export_error: tuple | None = None  # (status, body) answered to POST export/
    export_pending: int = 0  # 409 answers before the download is ready
    download_answers: list = field(default_factory=list)  # answers to GET download before anything else
    export_failed: bool = False  # download answers 410
    zip_bytes: bytes | None = None  # None: built from the requested shredders
    digest: str = "both"  # both | etag | repr | none | wrong-repr | wrong-etag
    ranges: bool = True  # False: ignore Range, always 200
    cut_at: list = field(default_factory=list)  # per download: send only this many bytes, then close
    shred_post: list = field(default_factory=list)  # answers to POST shred before the 202: (status, body)
    require_code: bool = False
    shred_pending: int = 0
    shred_post_seconds: float = 0  # how long POST shred takes (a server without Celery shreds inside the request)
    shred_result: tuple = (200, {"status": "ok", "message": "OK"})
    shred_finished: str | None = "Thu, 03 Dec 2026 06:39:12 GMT"  # Last-Modified of the 200 status answer
    redirect_to: str | None = None  # answer every request with a 302 there
    report: tuple = (404, {"detail": "This export does not exist."})  # answer to GET report/<job>/
    status_answers: list = field(default_factory=list)  # answers to GET status before anything else
    elsewhere: tuple | None = None  # (status, body, headers) for paths outside the API, e.g. pretix's root page
    requests: list = field(default_factory=list)
    shredders_requested: list = field(default_factory=list)

    def prefix(self):
        return f"/api/v1/organizers/{ORGANIZER}/events/{EVENT}/shredders/"

    def export_body(self) -> bytes:
        if self.zip_bytes is None:
            self.zip_bytes = make_export_zip(shredders=self.shredders_requested or ["question_answers"])
        return self.zip_bytes

    def seen(self, method, path_part=""):
        return [r for r in self.requests if r.method == method and path_part in r.path]


class Handler(BaseHTTPRequestHandler):
    fake: FakePretix  # set per server

    def log_message(self, *args):
        pass

    # --- plumbing
    def _send(self, status, body=None, headers=None):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        hdrs = {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})}
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.fake.requests.append(Seen(self.command, self.path, dict(self.headers), body))
        return body

    def _url(self, kind):
        base = self.fake.url_base or self.fake.base
        return f"{base}{self.fake.prefix()}{kind}/{JOB}/"

    def do_GET(self):
        self._dispatch(self._record())

    def do_POST(self):
        self._dispatch(self._record())

    def _dispatch(self, body):
        fake = self.fake
        if fake.redirect_to:
            return self._send(302, {"detail": "moved"}, {"Location": fake.redirect_to})
        if self.headers.get("Authorization") != f"Token {TOKEN}":
            return self._send(401, {"detail": "Invalid token."})
        path = urlsplit(self.path).path
        if fake.elsewhere and not path.startswith("/api/v1/"):
            return self._send(*fake.elsewhere)
        if path == self.fake.prefix() + f"report/{JOB}/":
            return self._send(*fake.report)
        if not path.startswith(fake.prefix()) or fake.forbidden:
            return self._send(403, {"detail": "You do not have permission to perform this action."})
        rest = path[len(fake.prefix()) :]
        routes = {
            ("GET", ""): self.listing,
            ("POST", "export/"): self.export,
            ("GET", f"download/{JOB}/"): self.download,
            ("POST", f"shred/{JOB}/"): self.shred,
            ("GET", f"status/{JOB}/"): self.status,
        }
        handler = routes.get((self.command, rest))
        if handler:
            return handler(body)
        if rest.startswith("status/"):
            return self._send(410, {"status": "gone", "message": "Unknown job."})
        return self._send(404, {"detail": "Not found."})

    # --- endpoints
    def listing(self, body):
        page = int(parse_qs(urlsplit(self.path).query).get("page", ["1"])[0])
        items = [{"identifier": i, "verbose_name": n} for i, n in SHREDDERS]
        chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        more = page * PAGE_SIZE < len(items)
        url = f"{self.fake.base}{self.fake.prefix()}"
        return self._send(
            200,
            {
                "count": len(items),
                "next": f"{url}?page={page + 1}" if more else None,
                "previous": None,
                "results": chunk,
            },
        )

    def export(self, body):
        if self.fake.export_error:
            return self._send(*self.fake.export_error)
        requested = json.loads(body or b"{}").get("shredders")
        if not requested:
            return self._send(400, {"shredders": ["This field is required."]})
        self.fake.shredders_requested = requested
        return self._send(202, {"download": self._url("download"), "shred": self._url("shred")})

    def download(self, body):
        fake = self.fake
        if fake.download_answers:
            return self._send(*fake.download_answers.pop(0))
        if fake.export_failed:
            return self._send(410, {"status": "failed", "message": "Export exploded."})
        if fake.export_pending > 0:
            fake.export_pending -= 1
            return self._send(409, {"status": "running", "percentage": 40})
        data = fake.export_body()
        sha = hashlib.sha256(data).digest()
        headers = {"Content-Type": "application/zip", "Content-Disposition": 'attachment; filename="x.zip"'}
        if fake.digest in ("both", "etag", "wrong-etag"):
            headers["ETag"] = f'"{(hashlib.sha256(b"other").digest() if fake.digest == "wrong-etag" else sha).hex()}"'
        if fake.digest in ("both", "repr", "wrong-repr"):
            value = hashlib.sha256(b"other").digest() if fake.digest == "wrong-repr" else sha
            headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(value).decode()}:"
        status, start = 200, 0
        match = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
        if match and fake.ranges:
            start = int(match[1])
            if start >= len(data):
                return self._send(416, {"detail": "Range not satisfiable."}, {"Content-Range": f"bytes */{len(data)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        payload = data[start:]
        if fake.cut_at:  # announce everything, send a part, hang up
            cut = fake.cut_at.pop(0)
            self.send_response(status)
            for k, v in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        return self._send(status, payload, headers)

    def shred(self, body):
        fake = self.fake
        time.sleep(fake.shred_post_seconds)
        if fake.shred_post:
            return self._send(*fake.shred_post.pop(0))
        code = json.loads(body).get("confirm_code") if body else None
        if fake.require_code and code != "CFM123":
            return self._send(400, {"confirm_code": ["The confirm code you entered was incorrect."]})
        return self._send(202, {"status": self._url("status")})

    def status(self, body):
        fake = self.fake
        if fake.status_answers:
            return self._send(*fake.status_answers.pop(0))
        if fake.shred_pending > 0:
            fake.shred_pending -= 1
            steps = [{"label": "Answers to questions", "done": False}]
            return self._send(409, {"status": "running", "percentage": 50, "steps": steps})
        status, body = fake.shred_result
        headers = {"Last-Modified": fake.shred_finished} if status == 200 and fake.shred_finished else {}
        return self._send(status, body, headers)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hang up on purpose (``status`` of a ready download reads only the headers)


@pytest.fixture
def fake():
    state = FakePretix()
    handler = type("BoundHandler", (Handler,), {"fake": state})
    server = QuietServer(("127.0.0.1", 0), handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


class TTYInput(io.StringIO):
    def isatty(self):
        return True


@dataclass
class Result:
    code: int
    out: str
    err: str
    sleeps: list

    @property
    def json(self):
        return json.loads(self.out)


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


@pytest.fixture
def cli(fake, tmp_path, monkeypatch):
    """Run ``pretix-shredder`` in-process against the fake, in ``tmp_path``; sleeping only moves a fake clock."""
    monkeypatch.chdir(tmp_path)
    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)  # urllib reads these from os.environ

    def run(*argv, env=None, stdin=None, tty=False, token=TOKEN):
        environ = {"PRETIX_URL": fake.base, "PRETIX_ORGANIZER": ORGANIZER, "PRETIX_EVENT": EVENT}
        if token:
            environ["PRETIX_TOKEN"] = token
        environ.update(env or {})
        clock = FakeClock()
        out, err = io.StringIO(), io.StringIO()
        runtime = Runtime(
            stdout=out,
            stderr=err,
            stdin=TTYInput(stdin or "") if tty else io.StringIO(stdin or ""),
            environ={k: v for k, v in environ.items() if v is not None},
            sleep=clock.sleep,
            clock=clock,
            stdin_is_tty=tty,
            stderr_is_tty=tty,
        )
        code = main(list(argv), runtime)
        return Result(code, out.getvalue(), err.getvalue(), clock.sleeps)

    return run
