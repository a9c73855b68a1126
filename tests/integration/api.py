"""HTTP helpers for the documented shredder API, with polling that is always bounded in time."""

import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool


class _UnpatchedHTTPConnectionPool(HTTPConnectionPool):
    # Loading pretix into the test process (pytest-django) makes every urllib3 connection pool refuse loopback and
    # private addresses (pretix.helpers.monkeypatching, SSRF protection). Our server is on loopback on purpose.
    ConnectionCls = HTTPConnection


class LoopbackAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            **self.poolmanager.pool_classes_by_scheme,
            "http": _UnpatchedHTTPConnectionPool,
        }


def loopback_session() -> requests.Session:
    """A requests session for plain HTTP to our own servers on 127.0.0.1."""
    session = requests.Session()
    session.mount("http://", LoopbackAdapter())
    return session


class ApiClient:
    def __init__(self, token: str | None = None, *, timeout: float = 30.0, auth_scheme: str = "Token"):
        self.session = loopback_session()
        self.timeout = timeout
        if token:
            self.session.headers["Authorization"] = f"{auth_scheme} {token}"
        self.session.headers["Accept"] = "application/json"

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, url, **kwargs)

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def close(self):
        self.session.close()


def describe(response: requests.Response) -> str:
    body = response.text if len(response.text) < 2000 else response.text[:2000] + "..."
    if response.headers.get("Content-Type", "").startswith("application/zip"):
        body = f"<zip, {len(response.content)} bytes>"
    return f"{response.request.method} {response.url} -> {response.status_code}: {body}"


def poll(
    client: ApiClient,
    method: str,
    url: str,
    *,
    done=(200,),
    pending=(409,),
    timeout: float = 60.0,
    interval: float = 0.5,
    **kwargs,
) -> tuple[requests.Response, list[requests.Response]]:
    """Repeats the request while it answers a ``pending`` status; returns (final response, every response).

    Fails (AssertionError) on any status that is neither done nor pending, or when still pending after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        response = client.request(method, url, **kwargs)
        seen.append(response)
        if response.status_code in done:
            return response, seen
        if response.status_code not in pending:
            raise AssertionError(f"unexpected answer while polling: {describe(response)}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"still pending after {timeout:g} s ({len(seen)} polls): {describe(response)}")
        time.sleep(min(interval, remaining))


class ShredderApi:
    """The documented flow: export -> download -> shred -> status, on one event with one credential."""

    def __init__(self, client: ApiClient, base_url: str):
        self.client = client
        self.base_url = base_url  # .../api/v1/organizers/<o>/events/<e>/shredders/

    def list(self, **params) -> requests.Response:
        return self.client.get(self.base_url, params=params)

    def detail(self, identifier: str) -> requests.Response:
        return self.client.get(f"{self.base_url}{identifier}/")

    def export(self, shredders) -> requests.Response:
        return self.client.post(f"{self.base_url}export/", json={"shredders": shredders})

    def start_export(self, shredders) -> dict:
        response = self.export(shredders)
        assert response.status_code == 202, describe(response)
        return response.json()

    def download(self, url: str, **kwargs) -> requests.Response:
        return self.client.get(url, **kwargs)

    def wait_download(self, url: str, *, done=(200,), timeout: float = 60.0, interval: float = 0.5):
        """Polls the download URL while it answers 409; returns (final response, every response seen)."""
        return poll(self.client, "GET", url, done=done, timeout=timeout, interval=interval)

    def shred(self, url: str, body: dict | None = None) -> requests.Response:
        return self.client.post(url, json=body if body is not None else {})

    def start_shred(self, url: str, body: dict | None = None) -> str:
        response = self.shred(url, body)
        assert response.status_code == 202, describe(response)
        return response.json()["status"]

    def status(self, url: str) -> requests.Response:
        return self.client.get(url)

    def wait_status(self, url: str, *, done=(200,), pending=(409,), timeout: float = 60.0, interval: float = 0.5):
        """Polls the status URL while it answers ``pending``; returns (response, every response seen)."""
        return poll(self.client, "GET", url, done=done, pending=pending, timeout=timeout, interval=interval)


def job_public_id(url: str) -> str:
    """The job id in a download/shred/status URL (``.../<download|shred|status>/<public id>/<secret>/``)."""
    parts = [p for p in url.split("/") if p]
    return parts[-2]
