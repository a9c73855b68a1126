"""All output goes through here: results on stdout, messages on stderr, the token redacted from both."""

import json

REDACTED = "***"


class Console:
    def __init__(self, stdout, stderr, *, verbose: bool = False, err_is_tty: bool = False, secrets=()):
        self.stdout = stdout
        self.stderr = stderr
        self.verbose = verbose
        self.err_is_tty = err_is_tty
        self._secrets = [s for s in secrets if s]
        self._live = False  # a \r-line is on the terminal

    def add_secret(self, secret: str | None) -> None:
        if secret:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _write(self, stream, text: str, end: str = "\n") -> None:
        text = self.redact(text) + end
        try:
            stream.write(text)
        except UnicodeEncodeError:  # a server message in a language the terminal's encoding cannot show
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write(text.encode(encoding, "replace").decode(encoding))
        stream.flush()

    def out(self, text: str) -> None:
        self.end_live()
        self._write(self.stdout, text)

    def json(self, data) -> None:
        self.out(json.dumps(data, indent=2, sort_keys=True))

    def info(self, text: str) -> None:
        self.end_live()
        self._write(self.stderr, text)

    def warn(self, text: str) -> None:
        self.info(f"warning: {text}")

    def error(self, text: str) -> None:
        self.info(f"error: {text}")

    def debug(self, text: str) -> None:
        if self.verbose:
            self.info(f"debug: {text}")

    def prompt(self, question: str, stdin) -> str:
        """Ask on stderr, read one line; "" at end of input."""
        self.end_live()
        self._write(self.stderr, question, end="")
        return stdin.readline()

    def live(self, text: str) -> None:
        """A line that overwrites itself on a terminal; ignored when stderr is not one."""
        if self.err_is_tty:
            self._write(self.stderr, "\r\x1b[K" + text, end="")
            self._live = True

    def end_live(self) -> None:
        if self._live:
            self._live = False
            self._write(self.stderr, "")
