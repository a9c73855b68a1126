"""``pretix-shredder``: argument parsing and the one place that turns failures into exit codes."""

import argparse
import io
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout

from pretix_shredder_api import __version__
from pretix_shredder_api.client import person
from pretix_shredder_api.client.config import ENV_NAMES, Config
from pretix_shredder_api.client.console import Console
from pretix_shredder_api.client.context import Context, Runtime
from pretix_shredder_api.client.errors import EXIT_CODE_HELP, CliError, ExitCode
from pretix_shredder_api.client.export import export_command
from pretix_shredder_api.client.listing import list_command
from pretix_shredder_api.client.polling import DEFAULT_TIMEOUT, Poller
from pretix_shredder_api.client.report import verify_command
from pretix_shredder_api.client.run import run_command
from pretix_shredder_api.client.shred import shred_command
from pretix_shredder_api.client.status import status_command

DESCRIPTION = "Export and shred personal data of a pretix event through pretix's data shredder API."
EPILOG = (
    "configuration: --url, --token, --organizer, --event or the environment variables "
    + ", ".join(ENV_NAMES.values())
    + " (prefer PRETIX_TOKEN: command lines are visible to other users).\n\nexit codes:\n"
    + "\n".join(f"  {int(code):>3}  {text}" for code, text in EXIT_CODE_HELP.items())
)


def _add_common(parser, suppress: bool) -> None:
    """Options accepted before and after the subcommand (after it, they must not reset what came before)."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("connection")
    group.add_argument("--url", default=default, help="pretix base URL, e.g. https://pretix.example.com (PRETIX_URL)")
    group.add_argument("--token", default=default, help="API token (PRETIX_TOKEN; preferred over this flag)")
    group.add_argument("--organizer", default=default, help="organizer slug (PRETIX_ORGANIZER)")
    group.add_argument("--event", default=default, help="event slug (PRETIX_EVENT)")
    output = parser.add_argument_group("output")
    output.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print the result as JSON on stdout",
    )
    output.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="log every request (never the token) on stderr",
    )
    output.add_argument(
        "--timeout",
        type=float,
        default=argparse.SUPPRESS if suppress else DEFAULT_TIMEOUT,
        help=f"seconds to wait for a running export or shred (default {DEFAULT_TIMEOUT:g})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pretix-shredder",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # "--tok SECRET" must not silently become --token
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        _add_common(p, suppress=True)
        p.set_defaults(func=func)
        return p

    command("list", list_command, "list the event's shredders")

    p = command("export", export_command, "export, download and verify; writes FILE and the state file FILE.json")
    p.add_argument("--shredder", action="append", metavar="ID", help="shredder identifier (repeatable)")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where to save the zip (default: ORG-EVENT-shredder-TIME.zip)"
    )
    p.add_argument(
        "--resume", action="store_true", help="continue the interrupted download of -o FILE (uses FILE.json)"
    )

    p = command("shred", shred_command, "shred the data of an export, after confirmation, and wait for the result")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--state", metavar="FILE.json", help="the state file written by 'export'")
    source.add_argument("--shred-url", metavar="URL", help="the shred URL of an export")
    p.add_argument(
        "--export-file", metavar="ZIP", help="with --shred-url: the downloaded export (for its confirm code)"
    )
    p.add_argument("--confirm-code", metavar="CODE", help="default: CONFIRM_CODE.txt of the downloaded export")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask (needed without a terminal)")

    p = command("status", status_command, "one request to a status or download URL; print the state")
    p.add_argument("status_url", metavar="URL")

    p = command("verify", verify_command, "after a shred: the server's residual scan - is any personal data left?")
    p.add_argument("--state", metavar="FILE.json", help="the state file of the export that was shredded")
    p.add_argument("job_url", metavar="URL", nargs="?", help="or: the job's status (or report) URL")

    p = command("run", run_command, "export, download, verify, confirm, shred and wait: the whole flow")
    p.add_argument("--shredder", action="append", metavar="ID", required=True, help="shredder identifier (repeatable)")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where to save the zip (default: ORG-EVENT-shredder-TIME.zip)"
    )
    p.add_argument("-y", "--yes", action="store_true", help="do not ask (needed without a terminal)")

    p = sub.add_parser(
        "person",
        help="requests of one person: create, list, show, export, erase, cancel",
        description="Requests of one person (needs --organizer, not --event).",
        allow_abbrev=False,
    )
    _add_common(p, suppress=True)
    actions = p.add_subparsers(dest="person_command", required=True, metavar="ACTION")

    def person_action(name, func, help_text):
        a = actions.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        _add_common(a, suppress=True)
        a.set_defaults(func=func)
        return a

    a = person_action("create", person.create_command, "register a request and print what was found")
    a.add_argument("email", metavar="EMAIL")
    a.add_argument("--kind", choices=["access", "erasure"], required=True)
    person_action("list", person.list_command, "list the requests (open ones first)")
    person_action("show", person.show_command, "what was found and what erasure does with it").add_argument("id")
    a = person_action("export", person.export_command, "export the person's data and download the zip")
    a.add_argument("id")
    a.add_argument("-o", "--output", metavar="FILE", help="default: ORG-person-request-ID.zip")
    a = person_action("erase", person.erase_command, "erase the person's data (after confirmation); print the proof")
    a.add_argument("id")
    a.add_argument("-y", "--yes", action="store_true", help="do not ask (needed without a terminal)")
    person_action("cancel", person.cancel_command, "cancel a request before anything was erased").add_argument("id")
    return parser


def _argv_secrets(argv, environ) -> list:
    """Tokens we know of before parsing, so that even a usage error cannot print one.

    Also the values of misspelt token flags (``--tok``, ``--tokne``): argparse would echo them as unrecognized.
    """
    secrets = [environ.get(ENV_NAMES["token"])]
    for i, arg in enumerate(argv):
        name, has_value, value = arg.partition("=")
        name = name.lower()
        if not name.startswith("--") or not ("tok" in name or "--token".startswith(name) and len(name) > 3):
            continue
        if has_value:
            secrets.append(value)
        elif i + 1 < len(argv):
            secrets.append(argv[i + 1])
    return [s for s in secrets if s]


def _parse(argv, console):
    """Parse; argparse's own output (help, usage errors) goes through the redacting console."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            return build_parser().parse_args(argv), None
    except SystemExit as e:
        return None, int(e.code or 0)
    finally:
        if out.getvalue():
            console.out(out.getvalue().rstrip("\n"))
        if err.getvalue():
            console.info(err.getvalue().rstrip("\n"))


def main(argv=None, runtime: Runtime | None = None) -> int:
    runtime = runtime or Runtime.system()
    argv = list(sys.argv[1:] if argv is None else argv)
    console = Console(
        runtime.stdout, runtime.stderr, err_is_tty=runtime.stderr_is_tty, secrets=_argv_secrets(argv, runtime.environ)
    )
    args, code = _parse(argv, console)
    if args is None:
        return code
    console.verbose = args.verbose
    try:
        config = Config.resolve(args, runtime.environ)
        console.add_secret(config.token)
        if args.timeout <= 0:
            raise CliError(ExitCode.USAGE, "--timeout must be positive")
        poller = Poller(timeout=args.timeout, sleep=runtime.sleep, clock=runtime.clock)
        ctx = Context(runtime=runtime, config=config, console=console, poller=poller, json=args.json)
        return int(args.func(ctx, args))
    except CliError as e:
        console.error(e.message)
        return int(e.code)
    except KeyboardInterrupt:
        console.error("Interrupted.")
        return int(ExitCode.INTERRUPTED)
    except Exception as e:  # a bug: report it (redacted) instead of a raw traceback
        console.error(f"Internal error: {type(e).__name__}: {e}")
        if console.verbose:
            console.info("".join(traceback.format_exc()))
        return int(ExitCode.INTERNAL)
