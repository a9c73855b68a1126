"""What a command works with: the outside world (replaceable in tests), configuration, output, HTTP, waiting."""

import os
import sys
import time
from dataclasses import dataclass, field

from pretix_shredder_api.client.config import Config, origin
from pretix_shredder_api.client.console import Console
from pretix_shredder_api.client.errors import CliError, ExitCode
from pretix_shredder_api.client.http import Session
from pretix_shredder_api.client.polling import Poller


def _isatty(stream) -> bool:
    try:
        return bool(stream and stream.isatty())
    except (AttributeError, ValueError):
        return False


@dataclass
class Runtime:
    stdout: object
    stderr: object
    stdin: object
    environ: dict
    sleep: callable = time.sleep
    clock: callable = time.monotonic
    stdin_is_tty: bool = False
    stderr_is_tty: bool = False

    @classmethod
    def system(cls) -> "Runtime":
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin=sys.stdin,
            environ=dict(os.environ),
            stdin_is_tty=_isatty(sys.stdin),
            stderr_is_tty=_isatty(sys.stderr),
        )


@dataclass
class Context:
    runtime: Runtime
    config: Config
    console: Console
    poller: Poller
    json: bool = False
    _sessions: dict = field(default_factory=dict)

    def session(self, url: str | None = None) -> Session:
        """A session for the configured pretix URL, or else for the origin of ``url``."""
        self.config.require("token")
        base = self.config.url or (origin(url) if url and "://" in url else None)
        if not base:
            raise CliError(ExitCode.USAGE, "Missing configuration: --url (or PRETIX_URL)")
        if base not in self._sessions:
            self._sessions[base] = Session(self.config.token, base, self.console)
        return self._sessions[base]

    @property
    def job_request_timeout(self) -> float:
        """Read timeout for the POSTs that start an export or a shred: without Celery the server does the whole job
        inside that request, so it may take as long as ``--timeout`` allows."""
        return self.poller.timeout

    def can_prompt(self) -> bool:
        return self.runtime.stdin_is_tty
