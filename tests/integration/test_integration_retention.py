"""A scheduled shred against the real pretix: policy set over HTTP, pretix's ``runperiodic`` (two at once, as two
cron hosts), the export and shred on the Celery workers, the notice and completion mails over SMTP.

Time cannot be frozen in other processes: where the walk needs the due date to have come, the ORM subprocess moves
the schedule's due date into the past (what waiting would do), and says so in the printed timeline.
"""

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration

PERIODIC_KEY = "pretix_periodic_pretix_shredder_api.signals.run_retention_result"
TASK = "pretix_shredder_api.signals.run_retention"

RUN_AT_ONCE = """
import json, os, sys, time
import django
django.setup()
from pretix_shredder_api import retention
time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))
print(json.dumps(retention.run_schedule()))
"""


@pytest.fixture(scope="module")
def smtp(smtp_sink):
    """pretix's mails (the session's sink, which pretix.cfg points at)."""
    return smtp_sink


class Timeline:
    def __init__(self):
        self.t0 = time.monotonic()
        self.lines = []

    def __call__(self, what: str):
        line = f"{time.monotonic() - self.t0:7.1f}s {datetime.now(UTC):%H:%M:%S} {what}"
        self.lines.append(line)
        print(line)


def orm_run(pretix, code: str, **kwargs):
    """``orm.run`` with the keyword arguments as names in the code."""
    return pretix.orm.run("globals().update(kwargs)\n" + code, **kwargs)


def runperiodic(pretix, log_name="runperiodic.log"):
    """A new period: pretix's own cron entry point, for our task only (its minimum-interval mark cleared first)."""
    pretix.orm.run(f"from django.core.cache import cache\ncache.delete({PERIODIC_KEY!r})")
    pretix.run_pretix("runperiodic", "--tasks", TASK, log_name=log_name, timeout=300)


def two_runs_at_once(pretix) -> list[dict]:
    """Two processes (two cron hosts) call the scheduler at the same instant."""
    start_at = time.time() + 8  # both have set up Django by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUN_AT_ONCE],
            env=pretix.env(START_AT=start_at),
            cwd=pretix.workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-3000:]
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results


def schedule_state(pretix, event_id) -> dict:
    return orm_run(
        pretix,
        """
from pretix_shredder_api.models import ScheduledShred, ShredderJob
from pretix.base.models import LogEntry
s = ScheduledShred.objects.filter(event_id=event_id).order_by("-pk").first()
result = {
    "schedules": ScheduledShred.objects.filter(event_id=event_id).count(),
    "jobs": ShredderJob.objects.filter(event_id=event_id).count(),
    "state": s.state if s else None,
    "due": s.due.isoformat() if s else None,
    "job_owner": s.job.owner if s and s.job else None,
    "export": s.job.export_state if s and s.job else None,
    "shred": s.job.shred_state if s and s.job else None,
    "completed_logs": LogEntry.objects.filter(event_id=event_id, action_type="pretix.event.shredder.completed").count(),
    "emails_left": __import__("pretix.base.models", fromlist=["Order"]).Order.objects.filter(
        event_id=event_id, email__isnull=False).count(),
}
""",
        event_id=event_id,
    )


def wait_state(pretix, event_id, states, timeline, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runperiodic(pretix)
        st = schedule_state(pretix, event_id)
        timeline(f"runperiodic -> schedule {st['state']} (export {st['export']}, shred {st['shred']})")
        if st["state"] in states:
            return st
        time.sleep(1)
    raise AssertionError(f"schedule did not reach {states}: {st}")


def test_a_scheduled_shred_from_policy_to_data_gone(pretix, seeded_event, api_client, smtp):
    t = Timeline()
    org, ev, event_id = seeded_event["organizer"], seeded_event["event"], seeded_event["event_id"]
    admin_email = f"admin-{org}@example.org"
    orm_run(
        pretix,
        """
from pretix.base.models import Organizer, Team, User
org = Organizer.objects.get(slug=organizer)
u = User.objects.create_user(email, "secret-password-123")
team = Team.objects.create(organizer=org, name="Admins", all_events=True, all_event_permissions=True)
team.members.add(u)
""",
        organizer=org,
        email=admin_email,
    )
    base = pretix.shredders_url(org, ev)

    # 1. the policy, over HTTP: 30 days after the end (the event ended 30 days ago), 1 day of notice
    policy = {"enabled": True, "shredders": ["order_emails"], "days_after_event": 30, "notice_days": 1}
    resp = api_client.request("PATCH", base + "policy/", json=policy)
    t(f"PATCH policy/ -> {resp.status_code} {resp.json()}")
    assert resp.status_code == 200 and resp.json() == {
        **policy,
        "mode": "event",
        "hold": {},
        "overridden": list(policy),
    }
    resp = api_client.get(base + "schedule/")
    t(f"GET schedule/ -> {resp.status_code} {resp.json()}")
    assert resp.status_code == 404

    # 2. two cron hosts at once: one schedule, one export (on the workers)
    results = two_runs_at_once(pretix)
    st = schedule_state(pretix, event_id)
    t(f"two scheduler runs at once -> {results}; {st['schedules']} schedule, {st['jobs']} job, {st['state']}")
    assert st["schedules"] == 1 and st["jobs"] == 1 and st["job_owner"] == f"policy:{org}"
    assert sorted(r["created"] for r in results) == [0, 1]

    # 3. the export finishes on a worker; the next period sends the notice
    st = wait_state(pretix, event_id, ("noticed",), t)
    notice = smtp.wait_for(lambda m: m["To"] == admin_email and "will be shredded" in m["Subject"])
    t(f"mail to {notice['To']}: {notice['Subject']!r}")
    body = notice.get_body(("plain",)).get_content()
    assert f"/control/event/{org}/{ev}/shredder-api/retention/" in body
    resp = api_client.get(base + "schedule/")
    t(f"GET schedule/ -> {resp.status_code} state={resp.json()['state']} due={resp.json()['due']}")
    assert resp.status_code == 200 and resp.json()["state"] == "noticed" and resp.json()["export"] == "succeeded"
    resp = api_client.get(base + "schedule/download/")
    t(f"GET schedule/download/ -> {resp.status_code} {resp.headers['Content-Type']} {len(resp.content)} bytes")
    assert resp.status_code == 200 and resp.content[:2] == b"PK"

    # 4. postponed by two days
    old_due = api_client.get(base + "schedule/").json()["due"]
    new_day = (datetime.fromisoformat(old_due) + timedelta(days=2)).date()
    resp = api_client.post(base + "schedule/postpone/", json={"date": new_day.isoformat()})
    t(f"POST schedule/postpone/ {new_day} (was {old_due}) -> {resp.status_code} due={resp.json()['due']}")
    assert resp.status_code == 200 and resp.json()["postponed"] is True
    runperiodic(pretix)
    st = schedule_state(pretix, event_id)
    t(f"runperiodic before the new date -> {st['state']}, {st['emails_left']} e-mail addresses left")
    assert st["state"] == "noticed" and st["emails_left"] == 3

    # 5. the new due date comes (moved into the past by the ORM, as waiting would - the notice mail with it, since
    # the shred never comes sooner than the notice period after the notice): two hosts at once, one shred
    orm_run(
        pretix,
        "from django.utils.timezone import now\nfrom datetime import timedelta\n"
        "from pretix_shredder_api.models import ScheduledShred\n"
        "ScheduledShred.objects.filter(event_id=event_id).update(\n"
        "    due=now() - timedelta(minutes=1), notice_sent=now() - timedelta(days=3, minutes=1))",
        event_id=event_id,
    )
    t("due date reached (schedule's due moved to now - 1 min, its notice to 3 days before)")
    results = two_runs_at_once(pretix)
    t(f"two scheduler runs at once -> {results}")
    st = wait_state(pretix, event_id, ("done", "failed"), t)
    assert st["state"] == "done", st
    assert (st["jobs"], st["shred"], st["completed_logs"], st["emails_left"]) == (1, "succeeded", 1, 0)
    done = smtp.wait_for(lambda m: m["To"] == admin_email and "has been shredded" in m["Subject"])
    t(f"mail to {done['To']}: {done['Subject']!r}")
    resp = api_client.get(base + "schedule/")
    t(f"GET schedule/ -> {resp.status_code} state={resp.json()['state']} shred={resp.json()['shred']}")
    assert resp.status_code == 200 and resp.json()["state"] == "done"
    resp = api_client.get(base + "schedule/download/")
    t(f"GET schedule/download/ after the shred -> {resp.status_code} {resp.json()}")
    assert resp.status_code == 404
    logs = orm_run(
        pretix,
        "from pretix.base.models import LogEntry\n"
        "result = [(e.action_type, e.parsed_data.get('policy')) for e in "
        "LogEntry.objects.filter(event_id=event_id).order_by('pk') if 'shredder' in e.action_type]",
        event_id=event_id,
    )
    for action, by in logs:
        t(f"log {action} policy={by}")
    assert [a for a, _by in logs if a.startswith("pretix.event.shredder.")] == [
        "pretix.event.shredder.started",
        "pretix.event.shredder.completed",
    ]
