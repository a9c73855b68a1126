"""Exit codes and the one exception type the client raises for expected failures."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code of ``pretix-shredder``, in one place (``EXIT_CODE_HELP`` describes each for --help)."""

    OK = 0  # done
    DECLINED = 1  # the user did not confirm the shred
    USAGE = 2  # bad arguments or configuration (also: no TTY for the confirmation and no --yes)
    AUTH = 3  # HTTP 401: authentication failed
    FORBIDDEN = 4  # HTTP 403: no permission, or organizer/event unknown
    NOT_FOUND = 5  # HTTP 404: not found, expired, already shredded, or started with another token
    NOT_FINISHED = 6  # still 409 when --timeout ran out (or, for ``status``, still running)
    GONE = 7  # HTTP 410: export failed, or the server no longer knows the job
    SHRED_FAILED = 8  # HTTP 417: the shred failed
    VERIFY_FAILED = 9  # the downloaded file is not the export we asked for, or is damaged
    NETWORK = 10  # any other HTTP status (5xx, unexpected) or a network error
    REJECTED = 11  # HTTP 400: the server rejected the request (event not over, unknown shredder, confirm code)
    RESIDUAL = 12  # ``verify``: the shred succeeded, but the residual scan still found personal data of the event
    BAD_URL = 13  # a URL given to ``status``, ``shred --shred-url`` or ``verify`` is empty or not a job URL of the API
    INTERNAL = 70  # a bug in pretix-shredder (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C


EXIT_CODE_HELP = {
    ExitCode.OK: "success",
    ExitCode.DECLINED: "the shred was not confirmed",
    ExitCode.USAGE: "usage or configuration error (also: no TTY to confirm on and no --yes)",
    ExitCode.AUTH: "authentication failed (HTTP 401)",
    ExitCode.FORBIDDEN: "no permission, or organizer/event unknown (HTTP 403)",
    ExitCode.NOT_FOUND: "not found: unknown, expired, already shredded or started with another token (HTTP 404)",
    ExitCode.NOT_FINISHED: "not finished: still running when --timeout ran out; for 'status': still running (409)",
    ExitCode.GONE: "export failed, or the job is no longer known (HTTP 410)",
    ExitCode.SHRED_FAILED: "the shred failed (HTTP 417)",
    ExitCode.VERIFY_FAILED: "verification of the downloaded export failed",
    ExitCode.NETWORK: "network error or unexpected HTTP answer (e.g. 500)",
    ExitCode.REJECTED: "request rejected by the server (HTTP 400), e.g. event not over or confirm code wrong",
    ExitCode.RESIDUAL: "verify: the residual scan still found personal data of the event after the shred",
    ExitCode.BAD_URL: "the URL given is empty or not a download/shred/status/report URL of the shredder API",
    ExitCode.INTERNAL: "internal error: a bug in pretix-shredder, please report it",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}

HTTP_STATUS_EXIT_CODES = {
    400: ExitCode.REJECTED,
    401: ExitCode.AUTH,
    403: ExitCode.FORBIDDEN,
    404: ExitCode.NOT_FOUND,
    409: ExitCode.NOT_FINISHED,
    410: ExitCode.GONE,
    417: ExitCode.SHRED_FAILED,
}


class CliError(Exception):
    """An expected failure: a message for the user and the exit code to end with."""

    def __init__(self, code: ExitCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
