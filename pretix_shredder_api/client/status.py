"""``status URL``: one GET of a status or download URL, and what it says."""

from pretix_shredder_api.client.errors import HTTP_STATUS_EXIT_CODES, ExitCode
from pretix_shredder_api.client.http import error_for
from pretix_shredder_api.client.wording import finished_at, kind_of, state_words

STATE_STATUSES = (200, 409, 410, 417)  # answers that describe the job; anything else is an error


def fetch_status(session, url: str) -> dict:
    """The state behind ``url`` without downloading an export: a 200 with a file is reported, not read."""
    with session.request("GET", url) as r:
        if r.status not in STATE_STATUSES:
            raise error_for(r, "Status")
        result = {"url": r.url, "http_status": r.status, "kind": kind_of(r.url)}
        if r.status == 200 and r.headers.get_content_type() != "application/json":
            size = r.content_length
            result.update(kind="export", status="ready", message="the export file is ready for download", size=size)
            return result
        body = r.json()
        body = body if isinstance(body, dict) else {}
        result.update(
            status=body.get("status") or ("ok" if r.status == 200 else "unknown"),
            message=body.get("message") or "",
        )
        for key in ("percentage", "steps"):
            if key in body:
                result[key] = body[key]
        if result["kind"] is None:
            result["kind"] = "shred" if "steps" in body or r.status == 417 else None
        if r.status == 200:
            result["finished"] = finished_at(r.headers)
        return result


def status_command(ctx, args) -> int:
    session = ctx.session(args.status_url)
    result = fetch_status(session, args.status_url)
    if ctx.json:
        ctx.console.json(result)
    else:
        ctx.console.out(state_words(result))
    return ExitCode.OK if result["http_status"] == 200 else HTTP_STATUS_EXIT_CODES[result["http_status"]]
