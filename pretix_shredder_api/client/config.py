"""Where the server is and who we are: flags, then environment variables; URL building."""

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pretix_shredder_api.client.errors import CliError, ExitCode

ENV_NAMES = {"url": "PRETIX_URL", "token": "PRETIX_TOKEN", "organizer": "PRETIX_ORGANIZER", "event": "PRETIX_EVENT"}
FLAG_NAMES = {"url": "--url", "token": "--token", "organizer": "--organizer", "event": "--event"}
_TOKEN_RE = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII without spaces: anything else breaks the header


@dataclass(frozen=True)
class Config:
    url: str | None  # base URL of pretix, e.g. https://pretix.example.com (no trailing slash)
    token: str | None
    organizer: str | None
    event: str | None

    @classmethod
    def resolve(cls, args, environ) -> "Config":
        """Flags win over environment variables; empty values count as unset."""
        values = {}
        for name, env in ENV_NAMES.items():
            value = getattr(args, name, None) or environ.get(env) or None
            values[name] = value.strip() if value else None
        if values["url"]:
            values["url"] = normalize_base_url(values["url"])
        if values["token"] and not _TOKEN_RE.match(values["token"]):
            raise CliError(ExitCode.USAGE, "The API token contains spaces or control characters; check PRETIX_TOKEN.")
        return cls(**values)

    def require(self, *names: str) -> None:
        missing = [f"{FLAG_NAMES[n]} (or {ENV_NAMES[n]})" for n in names if not getattr(self, n)]
        if missing:
            raise CliError(ExitCode.USAGE, "Missing configuration: " + ", ".join(missing))

    def event_api_url(self, suffix: str = "") -> str:
        """``<url>/api/v1/organizers/<organizer>/events/<event>/shredders/<suffix>``."""
        self.require("url", "organizer", "event")
        org, event = quote(self.organizer, safe=""), quote(self.event, safe="")
        return f"{self.url}/api/v1/organizers/{org}/events/{event}/shredders/{suffix}"


def normalize_base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(
            ExitCode.USAGE, f"--url / PRETIX_URL must be an http(s) URL like https://pretix.example.com, got {url!r}"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/api/v1"):
        path = path[: -len("/api/v1")]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.lower(), "", "", ""))


_SLUGS_RE = re.compile(r"/api/v1/organizers/(?P<organizer>[^/]+)/events/(?P<event>[^/]+)/shredders/")


def slugs_from_url(url: str) -> tuple[str | None, str | None]:
    """The organizer and event slugs in an API URL, or ``(None, None)``."""
    match = _SLUGS_RE.search(urlsplit(url).path)
    return (unquote(match["organizer"]), unquote(match["event"])) if match else (None, None)
