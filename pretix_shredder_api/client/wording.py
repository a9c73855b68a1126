"""What the server's answers mean, said in words: ``shredded (2026-12-03 06:39 UTC)``, ``export ready (38.6 KiB)``."""

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from pretix_shredder_api.client.progress import describe_pending, human_size


def finished_at(headers) -> str | None:
    """The ``Last-Modified`` of a status answer (when the shred finished) as ISO 8601 UTC, if the server sent one."""
    value = headers.get("Last-Modified") if headers is not None else None
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def when(iso: str | None) -> str:
    """``2026-12-03 06:39 UTC`` from an ISO 8601 time; empty for none or one we cannot read."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def kind_of(url: str) -> str | None:
    """``export`` for a download URL, ``shred`` for a status URL (``…/<download|status>/<id>/<id>/``)."""
    parts = [p for p in url.split("?")[0].split("/") if p]
    name = parts[-3] if len(parts) >= 3 else ""
    return {"download": "export", "status": "shred"}.get(name)


def state_words(result: dict) -> str:
    """One line for the result of ``status``: ``shredded (…)``, ``shred running 50% - Emails``, ``export ready``."""
    kind = result.get("kind") or "job"
    message = f": {result['message']}" if result.get("message") else ""
    http_status = result["http_status"]
    if http_status == 409:
        return f"{kind} {describe_pending(result)}"
    if http_status == 200 and kind == "export":
        size = result.get("size")
        return "export ready" + (f" ({human_size(size)})" if size is not None else "")
    if http_status == 200:
        stamp = when(result.get("finished"))
        return "shredded" + (f" ({stamp})" if stamp else "")
    if http_status == 417 or result.get("status") == "failed":
        return f"{kind} failed{message}"
    if http_status == 410:
        return f"unknown to the server{message}"
    return f"{result.get('status')}{message}"
