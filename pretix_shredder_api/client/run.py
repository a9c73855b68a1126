"""``run``: the whole flow - export, download, verify, confirm, shred, wait."""

from pretix_shredder_api.client.errors import ExitCode
from pretix_shredder_api.client.export import print_export, run_export
from pretix_shredder_api.client.shred import Target, ensure_can_confirm, print_shred, shred


def run_command(ctx, args) -> int:
    ctx.config.require("url", "token", "organizer", "event")
    ensure_can_confirm(ctx, args.yes)  # before anything is started on the server
    export = run_export(ctx, args.shredder, args.output, resume=False)
    target = Target(
        shred_url=export.state.shred,
        base_url=export.state.url,
        organizer=export.info.organizer,
        event=export.info.event,
        shredders=export.info.shredders or export.state.shredders,
        export_path=export.path,
        info=export.info,
        state=export.state,
        state_path=export.state_path,
    )
    if not ctx.json:
        print_export(ctx, export, next_step=False)
    result = shred(ctx, target, yes=args.yes, confirm_code=None)
    if ctx.json:
        ctx.console.json({**export.as_dict(), **result})
    else:
        print_shred(ctx, result)
    return ExitCode.OK
