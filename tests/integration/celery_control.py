"""Talks to the Celery workers through the broker (remote control), without loading Django or pretix."""

from contextlib import contextmanager

from celery import Celery

from devtools.procs import wait_until

# The same broker transport options pretix sets for a redis:// broker (pretix/settings.py), so that
# queue and reply names match.
PRETIX_REDIS_TRANSPORT_OPTIONS = {"queue_order_strategy": "priority", "sep": ":", "priority_steps": [0, 4, 8]}


class CeleryControl:
    def __init__(self, broker_url: str, reply_timeout: float = 2.0):
        self.app = Celery("shredder-integration-tests", broker=broker_url, set_as_current=False)
        self.app.conf.broker_transport_options = dict(PRETIX_REDIS_TRANSPORT_OPTIONS)
        self.app.conf.broker_connection_retry_on_startup = True
        self.reply_timeout = reply_timeout

    def close(self):
        self.app.close()

    def _inspect(self, names):
        return self.app.control.inspect(destination=list(names) if names else None, timeout=self.reply_timeout)

    def ping(self, names) -> set[str]:
        replies = self.app.control.ping(destination=list(names), timeout=self.reply_timeout) or []
        return {name for reply in replies for name in reply}

    def active(self, names=None) -> list[dict]:
        """Tasks running right now: Celery's request dicts (``id``, ``name``, ``args``, ``worker_pid``, ...)
        plus ``worker`` (the node name)."""
        replies = self._inspect(names).active() or {}
        return [{**task, "worker": worker} for worker, tasks in replies.items() for task in tasks]

    def find_active(
        self, *, name_contains: str | None = None, task_id: str | None = None, names=None, timeout: float = 30.0
    ) -> dict:
        """Polls until a running task matches; returns its request dict (see ``active``)."""

        def match():
            for task in self.active(names):
                if task_id and task["id"] != task_id:
                    continue
                if name_contains and name_contains not in task["name"]:
                    continue
                return task
            return None

        what = f"running task (name contains {name_contains!r}, id {task_id!r})"
        return wait_until(match, timeout=timeout, interval=0.2, message=what)

    def active_queues(self, name: str) -> list[str]:
        replies = self._inspect([name]).active_queues() or {}
        return sorted(q["name"] for q in replies.get(name, []))

    def pause(self, name: str) -> list[str]:
        """Makes worker ``name`` stop taking new tasks; returns the queues to hand back to ``resume``."""
        queues = self.active_queues(name)
        for queue in queues:
            self.app.control.cancel_consumer(queue, destination=[name], reply=True, timeout=self.reply_timeout)
        wait_until(lambda: not self.active_queues(name), timeout=10, message=f"{name} paused")
        return queues

    def resume(self, name: str, queues: list[str]):
        for queue in queues:
            self.app.control.add_consumer(queue, destination=[name], reply=True, timeout=self.reply_timeout)
        wait_until(lambda: set(self.active_queues(name)) >= set(queues), timeout=10, message=f"{name} resumed")

    @contextmanager
    def paused(self, names):
        """While in the block, the named workers take no new tasks (tasks they already run go on)."""
        taken = {}
        try:
            for name in names:
                taken[name] = self.pause(name)
            yield
        finally:
            for name, queues in taken.items():
                self.resume(name, queues)
