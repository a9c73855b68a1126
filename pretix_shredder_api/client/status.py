"""``status URL``: one GET of a status or download URL, and what it says."""

from pretix_shredder_api.client.errors import HTTP_STATUS_EXIT_CODES, CliError, ExitCode
from pretix_shredder_api.client.http import error_for
from pretix_shredder_api.client.joburl import require_job_url
from pretix_shredder_api.client.wording import finished_at, kind_of, state_words

STATE_STATUSES = (200, 409, 410, 417)  # answers that describe the job; anything else is an error
STATUS_KINDS = ("download", "status")


def not_the_api(r, expected: str) -> CliError:
    """A 200 (or 409/410/417) that is not what the shredder API answers there: a proxy's page, another server."""
    got = r.headers.get_content_type() if r.headers is not None else "nothing"
    return CliError(
        ExitCode.NETWORK,
        f"Status: {r.url} answered HTTP {r.status} with {got}, not {expected}; is it a URL of pretix's data shredder "
        "API?",
    )


def fetch_status(session, url: str) -> dict:
    """The state behind ``url`` without downloading an export: a 200 with a file is reported, not read."""
    with session.request("GET", url) as r:
        if r.status not in STATE_STATUSES:
            raise error_for(r, "Status")
        result = {"url": r.url, "http_status": r.status, "kind": kind_of(r.url)}
        if r.status == 200 and result["kind"] == "export":
            if r.headers.get_content_type() != "application/zip":
                raise not_the_api(r, "the export (application/zip)")
            size = r.content_length
            result.update(status="ready", message="the export file is ready for download", size=size)
            return result
        body = r.json() if r.headers.get_content_type() == "application/json" else None
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            raise not_the_api(r, 'the API\'s JSON ({"status": ...})')
        if r.status == 200 and body["status"] != "ok":
            raise not_the_api(r, '{"status": "ok"}')
        result.update(status=body["status"], message=body.get("message") or "")
        for key in ("percentage", "steps"):
            if key in body:
                result[key] = body[key]
        if r.status == 200:
            result["finished"] = finished_at(r.headers)
        return result


def status_command(ctx, args) -> int:
    url = require_job_url(args.status_url, STATUS_KINDS, "status")
    session = ctx.session(url)
    result = fetch_status(session, url)
    if ctx.json:
        ctx.console.json(result)
    else:
        ctx.console.out(state_words(result))
    return ExitCode.OK if result["http_status"] == 200 else HTTP_STATUS_EXIT_CODES[result["http_status"]]
