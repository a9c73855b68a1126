"""Waiting on a 409: at least one second between requests, growing to at most ten, within an overall timeout."""

import time
from dataclasses import dataclass, field

from pretix_shredder_api.client.errors import CliError, ExitCode

MIN_DELAY = 1.0  # the API asks for at least one second between polls
MAX_DELAY = 10.0
FACTOR = 1.5
DEFAULT_TIMEOUT = 3600.0


class Pending:
    """Returned by a poll step that got a 409; ``body`` is the JSON status (``status``, ``percentage``, ...)."""

    def __init__(self, body):
        self.body = body if isinstance(body, dict) else {}


@dataclass
class Poller:
    timeout: float = DEFAULT_TIMEOUT
    sleep: callable = time.sleep
    clock: callable = time.monotonic
    min_delay: float = MIN_DELAY
    max_delay: float = MAX_DELAY
    factor: float = FACTOR
    transient_retries: int = 3  # network errors / 5xx in a row that a read-only wait survives
    delays: list = field(default_factory=list)  # every delay slept, for tests and --verbose

    def wait(self, step, what: str, on_pending=None, retry_errors: bool = False):
        """Call ``step()`` until it returns something other than a ``Pending``; return that.

        Raises ``CliError(NOT_FINISHED)`` when the next poll would start after the timeout. With ``retry_errors``
        (for steps that only read), a few network errors or 5xx answers in a row are waited out like a 409.
        """
        deadline = self.clock() + self.timeout
        delay = self.min_delay
        errors = 0
        while True:
            try:
                result = step()
                errors = 0
            except CliError as e:
                if not retry_errors or e.code != ExitCode.NETWORK or errors >= self.transient_retries:
                    raise
                errors += 1
                result = Pending({"status": "retrying", "message": e.message})
            if not isinstance(result, Pending):
                return result
            if on_pending:
                on_pending(result.body)
            remaining = deadline - self.clock()
            if remaining < self.min_delay:
                state = result.body.get("status", "running")
                raise CliError(
                    ExitCode.NOT_FINISHED,
                    f"Timed out after {self.timeout:g} s waiting for {what} (still {state}). "
                    "Check again later with 'pretix-shredder status URL' or use a longer --timeout.",
                )
            delay = max(self.min_delay, min(delay, remaining))
            self.delays.append(delay)
            self.sleep(delay)
            delay = min(delay * self.factor, self.max_delay)
