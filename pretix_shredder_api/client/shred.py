"""``shred``: show what will be shredded, get a confirmation, start the shred and wait for its result."""

from dataclasses import dataclass
from pathlib import Path

from pretix_shredder_api.client import state as statefile
from pretix_shredder_api.client.config import slugs_from_url
from pretix_shredder_api.client.errors import CliError, ExitCode
from pretix_shredder_api.client.http import error_for
from pretix_shredder_api.client.joburl import kind_of_job_url, require_job_url
from pretix_shredder_api.client.polling import Pending
from pretix_shredder_api.client.progress import StatusReporter
from pretix_shredder_api.client.verify import ExportInfo, read_export
from pretix_shredder_api.client.wording import finished_at, when

SHRED_ERRORS = {
    400: "rejected by the server",
    404: "not found - the export is unknown, expired, already shredded, or was started with a different token",
    410: "the export failed on the server; start a new export",
}
STATUS_ERRORS = {
    410: "the server no longer knows this shred job (it may have finished long ago; see the event's log)",
    417: "the shred failed",
}


@dataclass
class Target:
    """What a shred is about, gathered from the state file, the export zip and the shred URL."""

    shred_url: str
    base_url: str | None
    organizer: str | None
    event: str | None
    shredders: list
    export_path: Path | None = None
    info: ExportInfo | None = None
    state: statefile.State | None = None
    state_path: Path | None = None


def target_from_state(spath: Path) -> Target:
    state = statefile.load(spath)
    target = Target(state.shred, state.url, state.organizer, state.event, list(state.shredders), state=state)
    target.state_path = spath
    target.export_path = statefile.export_path_of(state, spath)
    return target


def target_from_url(url: str, export_file: str | None) -> Target:
    url = require_job_url(url, ("shred",), "shred --shred-url")
    organizer, event = slugs_from_url(url)
    return Target(url, None, organizer, event, [], export_path=Path(export_file) if export_file else None)


def read_target_export(ctx, target: Target) -> None:
    """Read the export zip if we know it: it names the shredders and holds the confirm code."""
    if target.export_path is None:
        return
    if not target.export_path.exists():
        ctx.console.warn(f"The export file {target.export_path} is not there: it was not downloaded, or was moved.")
        return
    info = read_export(target.export_path)
    known = (target.organizer, target.event)
    if None not in known and (info.organizer.casefold(), info.event.casefold()) != tuple(s.casefold() for s in known):
        raise CliError(
            ExitCode.VERIFY_FAILED,
            f"{target.export_path} is the export of {info.organizer}/{info.event}, "
            f"but the shred URL is for {target.organizer}/{target.event}.",
        )
    if target.state and target.state.sha256 and target.state.sha256 != info.sha256:
        raise CliError(ExitCode.VERIFY_FAILED, f"{target.export_path} changed since it was downloaded and verified.")
    target.info = info
    target.organizer, target.event = info.organizer, info.event
    target.shredders = info.shredders or target.shredders


def describe(target: Target) -> list[str]:
    lines = [
        "About to shred personal data. This cannot be undone.",
        f"  Organizer: {target.organizer or '(unknown)'}",
        f"  Event:     {target.event or '(unknown)'}",
        f"  Shredders: {', '.join(target.shredders) or '(unknown)'}",
    ]
    if target.info:
        lines.append(f"  Export:    {target.export_path} (SHA-256 {target.info.sha256[:16]}...)")
    else:
        lines.append("  Export:    not downloaded here - the data will be gone without a copy")
    lines.append(f"  Shred URL: {target.shred_url}")
    return lines


def ensure_can_confirm(ctx, yes: bool) -> None:
    if not yes and not ctx.can_prompt():
        raise CliError(
            ExitCode.USAGE,
            "Refusing to shred without confirmation: stdin is not a terminal. Pass --yes to confirm in scripts.",
        )


def confirm(ctx, target: Target, yes: bool) -> None:
    console = ctx.console
    for line in describe(target):
        console.info(line)
    if yes:
        return
    accepted = {"yes"} | ({target.event} if target.event else set())
    question = f"Type the event slug ({target.event}) or 'yes' to shred: " if target.event else "Type 'yes' to shred: "
    answer = console.prompt(question, ctx.runtime.stdin)
    if answer.strip() not in accepted:
        raise CliError(ExitCode.DECLINED, "Not confirmed; nothing was shredded.")


def start_shred(ctx, session, target: Target, confirm_code: str | None) -> str:
    """POST the shred URL (again after a second while the export still runs); return the status URL."""
    body = {"confirm_code": confirm_code} if confirm_code else None

    def step():
        with session.request("POST", target.shred_url, json_body=body, timeout=ctx.job_request_timeout) as r:
            if r.status == 409:
                return Pending(r.json())
            if r.status != 202:
                error = error_for(r, "Starting the shred", SHRED_ERRORS)
                if r.status == 400 and "confirm_code" in error.message and not confirm_code:
                    error.message += " (pass --confirm-code, or --state with the downloaded export)"
                raise error
            result = r.json()
        if not (isinstance(result, dict) and kind_of_job_url(result.get("status")) == "status"):
            raise CliError(ExitCode.NETWORK, "Starting the shred: the answer has no status URL of the shredder API")
        return session.absolute(result["status"])

    return ctx.poller.wait(step, "the export to finish", on_pending=StatusReporter(ctx.console, "export"))


def wait_for_shred(ctx, session, status_url: str) -> dict:
    def step():
        with session.request("GET", status_url) as r:
            if r.status == 409:
                return Pending(r.json())
            if r.status != 200:
                raise error_for(r, "Shredding", STATUS_ERRORS)
            body = r.json()
            if not (isinstance(body, dict) and body.get("status") == "ok"):  # a 200 says "shredded" only like this
                raise CliError(ExitCode.NETWORK, f'Shredding: {status_url} answered 200 without {{"status": "ok"}}')
            return {**body, "finished": finished_at(r.headers)}

    return ctx.poller.wait(step, "the shred", on_pending=StatusReporter(ctx.console, "shred"), retry_errors=True)


def shred(ctx, target: Target, *, yes: bool, confirm_code: str | None) -> dict:
    """Confirm, start and wait; record progress in the state file. Returns the result for printing."""
    session = ctx.session(target.base_url or target.shred_url)
    confirm(ctx, target, yes)
    code = confirm_code or (target.info.confirm_code if target.info else None)
    status_url = start_shred(ctx, session, target, code)
    ctx.console.info(f"Shred started; status: {status_url}")
    if target.state:
        target.state.status = status_url
        statefile.save(target.state, target.state_path)
    body = wait_for_shred(ctx, session, status_url)
    finished = body.get("finished") or statefile.now_iso()
    if target.state:
        target.state.shredded = finished
        statefile.save(target.state, target.state_path)
    return {
        "status_url": status_url,
        "status": body.get("status", "ok"),
        "message": body.get("message", ""),
        "finished": finished,
    }


def print_shred(ctx, result: dict, already: bool = False) -> None:
    if ctx.json:
        ctx.console.json(result)
    else:
        stamp = when(result.get("finished"))
        ctx.console.out(("Already shredded" if already else "Shredded") + (f" ({stamp})" if stamp else ""))
        ctx.console.out(f"Status URL: {result['status_url']}")


def shred_command(ctx, args) -> int:
    ensure_can_confirm(ctx, args.yes)
    if args.state and args.export_file:
        raise CliError(ExitCode.USAGE, "--export-file goes with --shred-url; with --state the export file is known.")
    if args.state:
        target = target_from_state(Path(args.state))
        if target.state.shredded:
            message = f"already shredded at {target.state.shredded}"
            result = {"status_url": target.state.status, "status": "ok", "message": message}
            print_shred(ctx, {**result, "finished": target.state.shredded}, already=True)
            return ExitCode.OK
    else:
        target = target_from_url(args.shred_url, args.export_file)
    read_target_export(ctx, target)
    print_shred(ctx, shred(ctx, target, yes=args.yes, confirm_code=args.confirm_code))
    return ExitCode.OK
