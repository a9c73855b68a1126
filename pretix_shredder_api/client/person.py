"""``person``: requests of one person (``/api/v1/organizers/<o>/shredder-requests/``) - create, list, show,
export (and download), erase, cancel. Prints references, counts and dispositions; an address only where the server
shows it (an open request)."""

from pathlib import Path
from urllib.parse import quote

from pretix_shredder_api.client.errors import CliError, ExitCode
from pretix_shredder_api.client.http import error_for
from pretix_shredder_api.client.polling import Pending

MAX_PAGES = 1000


def requests_url(ctx, suffix: str = "") -> str:
    ctx.config.require("url", "token", "organizer")
    return f"{ctx.config.url}/api/v1/organizers/{quote(ctx.config.organizer, safe='')}/shredder-requests/{suffix}"


def _id(value: str) -> str:
    if not value.isdigit():
        raise CliError(ExitCode.USAGE, f"A request id is a number, got {value!r}")
    return value


def _post(ctx, url: str, action: str, body=None, expect=(200, 201, 202)) -> dict:
    with ctx.session().request("POST", url, json_body=body or {}, timeout=ctx.job_request_timeout) as resp:
        if resp.status not in expect:
            raise error_for(resp, action)
        return resp.json()


def print_request(ctx, r: dict) -> None:
    out = ctx.console.out
    out(f"Request #{r.get('id')}: {r.get('kind')}, {r.get('state')}")
    out(f"  received {r.get('received')}, answer due {r.get('respond_by')} ({r.get('days_left')} days left)")
    if r.get("email"):
        out(f"  address: {r['email']}")
    if r.get("message"):
        out(f"  {r['message']}")
    for ev in r.get("events") or []:
        out(f"  {ev.get('name')} ({ev.get('event')}):")
        for item in ev.get("items") or []:
            out(f"    [{item.get('disposition')}] {item.get('text')}")
    for item in r.get("organizer_items") or []:
        out(f"  organizer: [{item.get('disposition')}] {item.get('text')}")
    proof = r.get("proof")
    if proof:
        out(f"  check after the erasure: {proof.get('found')} of {proof.get('values')} values still found")
        for loc in proof.get("locations") or []:
            out(f"    {loc.get('event') or '-'}: {loc.get('table')}.{loc.get('column')} ({loc.get('count')})")
        if proof.get("retained"):
            out(f"    retained (invoices): {sum(loc.get('count', 0) for loc in proof['retained'])} values")


def _show(ctx, r: dict) -> int:
    if ctx.json:
        ctx.console.json(r)
    else:
        print_request(ctx, r)
    proof = r.get("proof") or {}
    return ExitCode.RESIDUAL if proof.get("found") else ExitCode.OK


def create_command(ctx, args) -> int:
    r = _post(ctx, requests_url(ctx), "Creating the request", {"email": args.email, "kind": args.kind})
    detail = ctx.session().get_json(requests_url(ctx, f"{r['id']}/"), "Reading the request")
    return _show(ctx, detail)


def list_command(ctx, args) -> int:
    session, url, seen, results = ctx.session(), requests_url(ctx), set(), []
    while url:
        if url in seen or len(seen) >= MAX_PAGES:
            raise CliError(ExitCode.NETWORK, f"Listing requests: the pages do not end (at {url})")
        seen.add(url)
        body = session.get_json(url, "Listing requests")
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise CliError(ExitCode.NETWORK, "Listing requests: the answer is not a list of results")
        results += [r for r in body["results"] if isinstance(r, dict)]
        url = body.get("next")
    if ctx.json:
        ctx.console.json(results)
        return ExitCode.OK
    if not results:
        ctx.console.info("No requests of persons.")
    for r in results:
        ctx.console.out(
            f"#{r.get('id'):<6} {r.get('kind'):<8} {r.get('state'):<10} due {str(r.get('respond_by'))[:10]} "
            f"({r.get('days_left')} days)"
        )
    return ExitCode.OK


def show_command(ctx, args) -> int:
    return _show(ctx, ctx.session().get_json(requests_url(ctx, f"{_id(args.id)}/"), "Reading the request"))


def export_command(ctx, args) -> int:
    rid = _id(args.id)
    _post(ctx, requests_url(ctx, f"{rid}/export/"), "Exporting the person's data")
    output = Path(args.output or f"{ctx.config.organizer}-person-request-{rid}.zip")
    session = ctx.session()

    def step():
        resp = session.request("GET", requests_url(ctx, f"{rid}/download/"))
        if resp.status == 409:
            resp.close()
            return Pending({"status": "exporting"})
        if resp.status != 200:
            with resp:
                raise error_for(resp, "Downloading the export")
        return resp

    resp = ctx.poller.wait(step, "the export")
    with resp, open(output, "wb") as f:
        for chunk in resp.chunks():
            f.write(chunk)
    ctx.console.info(f"Saved the export of request #{rid} to {output}")
    if ctx.json:
        ctx.console.json({"id": int(rid), "file": str(output)})
    return ExitCode.OK


def erase_command(ctx, args) -> int:
    """Nothing is erased that was not exported first: a request that was only found is refused here, before the
    question (the server refuses it too, 409)."""
    rid = _id(args.id)
    r = ctx.session().get_json(requests_url(ctx, f"{rid}/"), "Reading the request")
    if isinstance(r, dict) and r.get("kind") == "erasure" and r.get("state") == "found":
        raise CliError(
            ExitCode.NOT_FINISHED,
            f"Export this person's data first (pretix-shredder person export {rid}), then erase it. "
            "Nothing was erased.",
        )
    if not args.yes:
        if not ctx.can_prompt():
            raise CliError(
                ExitCode.USAGE,
                "Refusing to erase without confirmation: stdin is not a terminal. Pass --yes to confirm in scripts.",
            )
        show_command(ctx, args)
        answer = ctx.console.prompt(f"Type the request id ({rid}) to erase this person's data: ", ctx.runtime.stdin)
        if answer.strip() != rid:
            raise CliError(ExitCode.DECLINED, "Not confirmed; nothing was erased.")
    r = _post(ctx, requests_url(ctx, f"{rid}/erase/"), "Erasing the person's data")
    return _show(ctx, r)


def cancel_command(ctx, args) -> int:
    return _show(ctx, _post(ctx, requests_url(ctx, f"{_id(args.id)}/cancel/"), "Cancelling the request"))
