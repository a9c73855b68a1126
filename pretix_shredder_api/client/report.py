"""``verify``: after a shred, what the server's residual scan found (counts and locations, never values)."""

from pathlib import Path

from pretix_shredder_api.client import state as statefile
from pretix_shredder_api.client.errors import CliError, ExitCode
from pretix_shredder_api.client.http import error_for
from pretix_shredder_api.client.joburl import KINDS, require_job_url


def report_url_of(url: str) -> str:
    """The report URL of a job from its status, shred, download or report URL (same ids, other segment)."""
    url = require_job_url(url, KINDS, "verify")
    for segment in ("/status/", "/shred/", "/download/", "/report/"):
        head, found, tail = url.rpartition(segment)
        if found:
            return f"{head}/report/{tail}"
    raise AssertionError(url)  # require_job_url let through only these kinds


def fetch_report(session, url: str) -> dict:
    with session.request("GET", url) as r:
        if r.status != 200:
            raise error_for(r, "Residual report")
        body = r.json()
    if not isinstance(body, dict) or "shred" not in body:
        raise CliError(ExitCode.NETWORK, f"Residual report: {url} did not answer with a report")
    return body


def report_text(body: dict) -> str:
    if body["shred"] != "ok":
        return f"The shred has not succeeded (state: {body['shred']}): there is no residual report yet."
    found, before = body.get("values_found"), body.get("values_before")
    if found is None:
        return "The shred succeeded, but no residual scan was recorded for it."
    if found == 0:
        return (
            f"Complete: none of the event's {before} personal values is stored any more "
            f"(checked {body.get('checked_at')})."
        )
    lines = [
        f"NOT complete: {found} of the event's {before} personal values are still stored "
        f"(checked {body.get('checked_at')}):"
    ]
    for loc in body.get("locations") or []:
        where = f"{loc['table']}.{loc['column']}"
        if loc.get("action_type"):
            where += f" [{loc['action_type']}]"
        lines.append(f"  {where}: {loc['count']}")
    lines.append(
        "Shred these with the shredders that cover them (see the documentation, docs/erasure.rst: "
        "What is erased, what is kept)."
    )
    return "\n".join(lines)


def verify_command(ctx, args) -> int:
    if args.state:
        st = statefile.load(Path(args.state))
        if not st.status:
            raise CliError(ExitCode.USAGE, f"{args.state}: no shred was started from this export yet")
        url = report_url_of(st.status)
    elif args.job_url is not None:
        url = report_url_of(args.job_url)
    else:
        raise CliError(ExitCode.USAGE, "verify needs --state FILE.json or a status URL")
    body = fetch_report(ctx.session(url), url)
    if ctx.json:
        ctx.console.json(body)
    else:
        ctx.console.out(report_text(body))
    if body["shred"] != "ok" or body.get("values_found") is None:
        return ExitCode.NOT_FINISHED
    return ExitCode.OK if body["values_found"] == 0 else ExitCode.RESIDUAL
