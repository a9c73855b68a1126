"""Reading what a Celery worker says about tasks in its log (``-l info``)."""

import re

# e.g. "Task pretix.base.services.shredder.export[5b1d...] received"
#      "Task pretix.base.services.shredder.export[5b1d...] succeeded in 0.12s: ..."
TASK_LINE = re.compile(
    r"Task (?P<name>[\w.]+)\[(?P<id>[0-9a-fA-F-]{8,})\] (?P<event>received|succeeded|raised|failed|retry)"
)


def parse_task_events(log_text: str) -> list[dict]:
    return [m.groupdict() for m in TASK_LINE.finditer(log_text)]


def task_ids(log_text: str, name_contains: str = "", event: str = "received") -> list[str]:
    return [e["id"] for e in parse_task_events(log_text) if name_contains in e["name"] and e["event"] == event]
