"""Progress display on stderr: a byte counter for downloads and a status line for jobs we wait on."""

import time

BAR_WIDTH = 30
MIN_INTERVAL = 0.1  # seconds between redraws


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def format_bar(done: int, total: int | None) -> str:
    if not total:
        return f"downloading {human_size(done)}"
    fraction = min(done / total, 1.0)
    filled = int(fraction * BAR_WIDTH)
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%} {human_size(done)} / {human_size(total)}"


class DownloadProgress:
    """Redraws a bar at most every MIN_INTERVAL seconds, and only on a terminal (the console decides)."""

    def __init__(self, console, clock=time.monotonic):
        self.console = console
        self.clock = clock
        self._last = 0.0

    def update(self, done: int, total: int | None, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._last >= MIN_INTERVAL:
            self._last = now
            self.console.live(format_bar(done, total))

    def finish(self) -> None:
        self.console.end_live()


def describe_pending(body: dict) -> str:
    """``running 40% - Answers to questions`` from a 409 body."""
    text = str(body.get("status") or "running")
    percentage = body.get("percentage")
    if isinstance(percentage, int | float):
        text += f" {percentage:.0f}%"
    steps = body.get("steps")
    if isinstance(steps, list):
        current = [s.get("label") for s in steps if isinstance(s, dict) and not s.get("done")]
        if current and current[0]:
            text += f" - {current[0]}"
    if body.get("message"):
        text += f" ({body['message']})"
    return text


class StatusReporter:
    """Shows the state of a job while we wait: a live line on a terminal, a line per state change otherwise."""

    def __init__(self, console, what: str):
        self.console = console
        self.what = what
        self._last_state = None

    def __call__(self, body: dict) -> None:
        if self.console.err_is_tty:
            self.console.live(f"{self.what}: {describe_pending(body)}")
            return
        state = body.get("status")
        if state != self._last_state:
            self._last_state = state
            self.console.info(f"{self.what}: {describe_pending(body)}")
