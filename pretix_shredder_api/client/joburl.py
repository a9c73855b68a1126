"""The URLs of one job that a user hands to the CLI (``status URL``, ``shred --shred-url``, ``verify URL``): checked
for the API's shape before anything is sent, so that an empty or foreign URL is an error instead of whatever the
server's root page answers.

The shape: ``[<pretix>]/api/v1/organizers/<organizer>/events/<event>/shredders/<kind>/<id>/<secret>/`` with both ids
UUIDs, as the server issues them; absolute (http or https) or a path joined onto ``--url``.
"""

import re
from urllib.parse import urlsplit, urlunsplit

from pretix_shredder_api.client.errors import CliError, ExitCode

KINDS = ("download", "shred", "status", "report")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_JOB_PATH_RE = re.compile(
    rf"/api/v1/organizers/[^/]+/events/[^/]+/shredders/(?P<kind>{'|'.join(KINDS)})/{_UUID}/{_UUID}/?$"
)
SHAPE = ".../api/v1/organizers/<organizer>/events/<event>/shredders/{kind}/<id>/<secret>/"


def kind_of_job_url(url: str) -> str | None:
    """``download``, ``shred``, ``status`` or ``report`` for a job URL of the API's shape, else None."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("", "http", "https") or bool(parts.scheme) != bool(parts.netloc):
        return None
    if not parts.netloc and not parts.path.startswith("/"):
        return None
    if parts.query or parts.fragment:
        return None
    match = _JOB_PATH_RE.search(parts.path)
    return match["kind"] if match else None


def require_job_url(url: str | None, kinds: tuple, what: str) -> str:
    """``url`` (with its trailing slash) if it is a job URL of one of ``kinds``; else ``CliError(BAD_URL)``."""
    names = " or ".join(kinds)
    example = SHAPE.format(kind="|".join(kinds) if len(kinds) > 1 else kinds[0])
    text = (url or "").strip()
    if not text:
        raise CliError(ExitCode.BAD_URL, f"{what}: the URL is empty; give the {names} URL of an export ({example})")
    if kind_of_job_url(text) not in kinds:
        raise CliError(ExitCode.BAD_URL, f"{what}: {text!r} is not a {names} URL of the shredder API ({example})")
    parts = urlsplit(text)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
