"""The API session: one place that sends requests, carries the token and turns answers into errors.

The token goes only into the ``Authorization`` header and only to the origin of the configured pretix URL; it is
never part of a URL or a message. Redirects are not followed (``urllib`` would forward the header to any host).
"""

import json
import urllib.error
import urllib.request
from http.client import HTTPException
from urllib.parse import urljoin, urlsplit, urlunsplit

from pretix_shredder_api import __version__
from pretix_shredder_api.client.config import origin
from pretix_shredder_api.client.errors import HTTP_STATUS_EXIT_CODES, CliError, ExitCode

REQUEST_TIMEOUT = 60.0  # seconds per connect/read, not per download
MAX_ERROR_BODY = 64 * 1024
NETWORK_ERRORS = (urllib.error.URLError, HTTPException, OSError)

DESCRIPTIONS = {
    400: "rejected by the server",
    401: "authentication failed - check the API token (--token / PRETIX_TOKEN)",
    403: "permission denied - the token needs the permission to change orders of this event, "
    "and the organizer and event must exist",
    404: "not found - unknown, expired, already shredded, or started with a different token",
    409: "still running",
    410: "gone",
    417: "failed",
}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError, which we turn into a Response


class Response:
    """A status, headers and a body that can be read whole, as JSON, or in chunks."""

    def __init__(self, raw, url: str):
        self.raw = raw
        self.url = url
        self.status = raw.status
        self.headers = raw.headers
        self._body = None

    def read(self, limit: int | None = None) -> bytes:
        if self._body is None:
            self._body = self.raw.read(limit) if limit else self.raw.read()
        return self._body

    def json(self):
        """The body as JSON, or ``None`` if it is not JSON."""
        try:
            return json.loads(self.read(MAX_ERROR_BODY).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def chunks(self, size: int = 256 * 1024):
        while True:
            data = self.raw.read(size)
            if not data:
                return
            yield data

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value and value.isdigit() else None

    def close(self) -> None:
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Session:
    def __init__(self, token: str, base_url: str, console, timeout: float | None = None):
        self._token = token
        self.base_url = base_url
        self.console = console
        self.timeout = timeout or REQUEST_TIMEOUT
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._warned_origins = set()

    def absolute(self, url: str) -> str:
        """A URL on the configured server: relative URLs are joined, other origins are rebased (with a note)."""
        url = urljoin(self.base_url + "/", url)
        if origin(url) != origin(self.base_url):
            base, parts = urlsplit(self.base_url), urlsplit(url)
            if origin(url) not in self._warned_origins:
                self._warned_origins.add(origin(url))
                self.console.warn(
                    f"The server answered with URLs on {origin(url)}; using {origin(self.base_url)} instead, "
                    "the only address the token is sent to."
                )
            url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
        return url

    def request(self, method: str, url: str, *, json_body=None, headers=None, timeout: float | None = None) -> Response:
        """Send a request; any HTTP status comes back as a Response, network failures raise CliError.

        ``timeout`` overrides the per-request timeout: a server without Celery runs the export or shred inside the
        POST, so those requests may legitimately take as long as the whole job."""
        url = self.absolute(url)
        data = None
        all_headers = {
            "Accept": "application/json, application/zip, */*",
            "User-Agent": f"pretix-shredder/{__version__}",
            "Authorization": f"Token {self._token}",
        }
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        req = urllib.request.Request(url, data=data, headers=all_headers, method=method)
        extra = f" ({headers['Range']})" if headers and "Range" in headers else ""
        try:
            raw = self._opener.open(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            raw = e
        except NETWORK_ERRORS as e:
            raise CliError(ExitCode.NETWORK, f"{method} {url}: network error: {_reason(e)}") from None
        self.console.debug(f"{method} {url}{extra} -> HTTP {raw.status}")
        return Response(raw, url)

    def get_json(self, url: str, action: str, expect=(200,)):
        with self.request("GET", url) as resp:
            if resp.status not in expect:
                raise error_for(resp, action)
            return resp.json()


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason) or type(reason).__name__


def server_message(resp: Response) -> str:
    """The server's explanation from a JSON error body (``detail``, ``message``, field errors or a list)."""
    body = resp.json()
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return body["message"]
        if isinstance(body.get("detail"), str):
            return body["detail"]
        return "; ".join(f"{key}: {_join(value)}" for key, value in body.items() if key not in ("status",))
    if body is not None:
        return _join(body)
    if resp.headers.get_content_type() == "text/plain":
        return resp.read(MAX_ERROR_BODY).decode("utf-8", "replace").strip()[:300]
    return ""


def _join(value) -> str:
    if isinstance(value, list):
        return "; ".join(_join(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_join(v)}" for k, v in value.items())
    return str(value)


def error_for(resp: Response, action: str, descriptions: dict | None = None) -> CliError:
    """The CliError for an answer we did not expect, with the server's message."""
    status = resp.status
    code = HTTP_STATUS_EXIT_CODES.get(status, ExitCode.NETWORK)
    description = {**DESCRIPTIONS, **(descriptions or {})}.get(status)
    if 300 <= status < 400:
        description = f"redirected to {resp.headers.get('Location')!r}; use the final address as --url / PRETIX_URL"
    elif description is None:
        description = "server error" if status >= 500 else "unexpected answer"
    message = f"{action}: {description} (HTTP {status})"
    detail = server_message(resp)
    if detail:
        message += f": {detail}"
    return CliError(code, message)
