"""``export``: start an export, wait for it, download it (resumable), verify it, and write the state file."""

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pretix_shredder_api.client import state as statefile
from pretix_shredder_api.client.download import download, part_path
from pretix_shredder_api.client.errors import CliError, ExitCode
from pretix_shredder_api.client.http import error_for
from pretix_shredder_api.client.joburl import kind_of_job_url
from pretix_shredder_api.client.progress import human_size
from pretix_shredder_api.client.verify import ExportInfo, verify_export


@dataclass(frozen=True)
class Export:
    path: Path
    state_path: Path
    state: statefile.State
    info: ExportInfo

    def as_dict(self) -> dict:
        return {
            "organizer": self.state.organizer,
            "event": self.state.event,
            "shredders": self.state.shredders,
            "download": self.state.download,
            "shred": self.state.shred,
            "file": str(self.path),
            "state": str(self.state_path),
            "size": self.info.size,
            "sha256": self.info.sha256,
            "confirm_code": self.info.confirm_code,
        }


def default_path(organizer: str, event: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"{organizer}-{event}")
    return Path(f"{safe}-shredder-{stamp}.zip")


def start_export(ctx, shredders: list) -> tuple[str, str]:
    """POST the export; return the download and shred URLs."""
    session = ctx.session()
    url = ctx.config.event_api_url("export/")
    with session.request("POST", url, json_body={"shredders": shredders}, timeout=ctx.job_request_timeout) as r:
        if r.status != 202:
            raise error_for(r, "Starting the export")
        body = r.json()
    body = body if isinstance(body, dict) else {}
    if kind_of_job_url(body.get("download")) != "download" or kind_of_job_url(body.get("shred")) != "shred":
        raise CliError(ExitCode.NETWORK, "Starting the export: the answer has no download and shred URLs")
    return session.absolute(body["download"]), session.absolute(body["shred"])


def _new_state(ctx, shredders: list, path: Path, spath: Path) -> statefile.State:
    ctx.config.require("url", "token", "organizer", "event")
    if not shredders:
        raise CliError(ExitCode.USAGE, "Name at least one --shredder (see 'pretix-shredder list').")
    for existing in (path, spath):
        if existing.exists():
            raise CliError(
                ExitCode.USAGE, f"{existing} exists; choose another -o FILE, continue with --resume, or delete it."
            )
    part_path(path).unlink(missing_ok=True)  # a leftover without a state file belongs to no known export
    shredders = list(dict.fromkeys(shredders))
    download_url, shred_url = start_export(ctx, shredders)
    cfg = ctx.config
    state = statefile.State(
        url=cfg.url,
        organizer=cfg.organizer,
        event=cfg.event,
        shredders=shredders,
        download=download_url,
        shred=shred_url,
        file=path.name,
    )
    statefile.save(state, spath)
    ctx.console.info(f"Export started; state in {spath}.")
    return state


def _resumed_state(ctx, shredders: list, spath: Path) -> statefile.State:
    state = statefile.load(spath)
    cfg = ctx.config
    if (cfg.organizer or state.organizer, cfg.event or state.event) != (state.organizer, state.event):
        raise CliError(
            ExitCode.USAGE, f"{spath} belongs to {state.organizer}/{state.event}, not {cfg.organizer}/{cfg.event}."
        )
    if shredders and set(shredders) != set(state.shredders):
        raise CliError(ExitCode.USAGE, f"{spath} is an export of {', '.join(state.shredders)}; --shredder differs.")
    if state.shredded:
        raise CliError(ExitCode.NOT_FOUND, f"{spath}: this export was shredded at {state.shredded}; start a new one.")
    return state


def run_export(ctx, shredders: list, output: str | None, resume: bool) -> Export:
    if resume and not output:
        raise CliError(ExitCode.USAGE, "--resume needs -o FILE: the export whose download to continue.")
    path = Path(output) if output else default_path(ctx.config.organizer or "", ctx.config.event or "")
    spath = statefile.state_path(path)
    state = _resumed_state(ctx, shredders, spath) if resume else _new_state(ctx, shredders, path, spath)

    if resume and state.verified and path.exists():
        info = verify_export(path, organizer=state.organizer, event=state.event, shredders=state.shredders)
        if info.sha256 != state.sha256:
            raise CliError(ExitCode.VERIFY_FAILED, f"{path} changed since it was downloaded and verified.")
        return Export(path, spath, state, info)

    fetched = download(ctx.session(state.url), state.download, part_path(path), poller=ctx.poller, console=ctx.console)
    info = verify_export(
        fetched.part, organizer=state.organizer, event=state.event, shredders=state.shredders, headers=fetched.headers
    )
    os.replace(fetched.part, path)
    state.sha256, state.size = info.sha256, info.size
    statefile.save(state, spath)
    return Export(path, spath, state, info)


def print_export(ctx, export: Export, next_step: bool = True) -> None:
    if ctx.json:
        ctx.console.json(export.as_dict())
        return
    out = ctx.console.out
    out(f"Export file:  {export.path} ({human_size(export.info.size)}, verified)")
    out(f"SHA-256:      {export.info.sha256}")
    out(f"Confirm code: {export.info.confirm_code}")
    out(f"Download URL: {export.state.download}")
    out(f"Shred URL:    {export.state.shred}")
    out(f"State file:   {export.state_path}")
    if next_step:
        out(f"Next step:    pretix-shredder shred --state {export.state_path}")


def export_command(ctx, args) -> int:
    export = run_export(ctx, args.shredder or [], args.output, args.resume)
    print_export(ctx, export)
    return ExitCode.OK
