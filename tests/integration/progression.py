"""What a client sees while it polls a download or status URL, and whether that is a truthful progression."""

import time
from dataclasses import dataclass
from itertools import groupby

import requests

PENDING = ("waiting", "running")
RANK = {"waiting": 0, "running": 1}


@dataclass(frozen=True)
class Observation:
    code: int
    status: str | None = None
    percentage: int | None = None
    steps: tuple | None = None  # ((label, done), ...) when the body has "steps"

    @classmethod
    def of(cls, response: requests.Response) -> "Observation":
        body = {}
        if response.headers.get("Content-Type", "").startswith("application/json"):
            body = response.json()
        if not isinstance(body, dict):
            body = {}
        steps = body.get("steps")
        if isinstance(steps, list):
            steps = tuple((s.get("label"), s.get("done")) for s in steps)
        return cls(response.status_code, body.get("status"), body.get("percentage"), steps)

    def short(self) -> str:
        if self.code != 409:
            return f"{self.code} {self.status}" if self.status else str(self.code)
        done = ""
        if self.steps:
            done = " steps " + "".join("x" if d else "." for _label, d in self.steps)
        return f"409 {self.status} {self.percentage}%{done}"


def observe_all(responses) -> list[Observation]:
    return [Observation.of(r) for r in responses]


def summary(observations: list[Observation]) -> str:
    """Consecutive equal answers collapsed: ``409 waiting 0% x3 -> 409 running 50% x12 -> 200``."""
    parts = []
    for text, group in groupby(o.short() for o in observations):
        count = len(list(group))
        parts.append(f"{text} x{count}" if count > 1 else text)
    return " -> ".join(parts)


def progression_problems(observations: list[Observation], *, final: int = 200, labels=None) -> list[str]:
    """Everything wrong with a sequence of answers to one download or status URL, polled until ``final``:
    only 409 (waiting/running, a percentage 0-100) before one ``final`` at the end; never back from running to
    waiting; percentages never go down; steps (if ``labels``) name the shredders and are done in order, never undone.
    """
    problems = []
    if not observations or observations[-1].code != final:
        problems.append(f"does not end with {final}")
    for i, o in enumerate(observations[:-1]):
        if o.code != 409:
            problems.append(f"answer {i} is {o.code} before the end")
        elif o.status not in PENDING:
            problems.append(f"answer {i} has status {o.status!r}")
        elif not isinstance(o.percentage, int) or not 0 <= o.percentage <= 100:
            problems.append(f"answer {i} has percentage {o.percentage!r}")
    pending = [o for o in observations if o.code == 409 and o.status in PENDING]
    for i, (before, after) in enumerate(zip(pending, pending[1:], strict=False)):
        if RANK[after.status] < RANK[before.status]:
            problems.append(f"back from {before.status} to {after.status} at 409 #{i + 1}")
        if isinstance(before.percentage, int) and isinstance(after.percentage, int):
            if after.percentage < before.percentage:
                problems.append(f"percentage went down ({before.percentage} -> {after.percentage}) at 409 #{i + 1}")
    if labels is not None:
        problems += _step_problems(pending, list(labels))
    return problems


def _step_problems(pending: list[Observation], labels: list) -> list[str]:
    problems = []
    done_before = [False] * len(labels)
    for i, o in enumerate(pending):
        if o.steps is None:
            problems.append(f"409 #{i} has no steps")
            continue
        if not o.steps:
            continue  # not started yet: no steps recorded
        if [label for label, _done in o.steps] != labels:
            problems.append(f"409 #{i} steps {o.steps} do not name {labels}")
            continue
        done = [bool(d) for _label, d in o.steps]
        if done != sorted(done, reverse=True):
            problems.append(f"409 #{i} steps done out of order: {done}")
        if any(before and not now for before, now in zip(done_before, done, strict=True)):
            problems.append(f"409 #{i} a step is no longer done: {done_before} -> {done}")
        done_before = done
    return problems


def poll_for(client, url: str, seconds: float, *, interval: float = 0.2) -> list[requests.Response]:
    """GETs ``url`` every ``interval`` seconds for ``seconds`` seconds (bounded); returns every response."""
    deadline = time.monotonic() + seconds
    seen = []
    while True:
        seen.append(client.get(url))
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return seen
        time.sleep(min(interval, remaining))


def body_problems(responses, *, steps: bool) -> list[str]:
    """The documented JSON of each 409: ``status`` and ``percentage``, and for a status URL ``steps``, a list of
    ``{"label": str, "done": bool}``."""
    keys = {"status", "percentage", "steps"} if steps else {"status", "percentage"}
    problems = []
    for i, response in enumerate(responses):
        if response.status_code != 409:
            continue
        body = response.json()
        if set(body) != keys:
            problems.append(f"409 #{i} has keys {sorted(body)}, not {sorted(keys)}")
        for step in body.get("steps") or []:
            if (
                set(step) != {"label", "done"}
                or not isinstance(step["label"], str)
                or step["done"] not in (True, False)
            ):
                problems.append(f"409 #{i} has step {step}")
    return problems
