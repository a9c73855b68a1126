"""Webhooks for shreds, delivered by pretix's own machinery (WebHook subscription, notify_webhooks, send_webhook) to a
real HTTP receiver on 127.0.0.1. The received payloads are also written to test-artifacts/webhooks.json."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils.timezone import now
from pretix.api.models import WebHook, WebHookCall
from pretix.api.webhooks import get_all_webhook_events
from pretix.base.models import CachedFile
from pretix.base.services.shredder import export as pretix_export
from pretix.base.services.shredder import shred as pretix_shred

from pretix_shredder_api.models import ShredderJob

from .helpers import job_url, start_export

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ACTIONS = ["pretix.event.shredder.started", "pretix.event.shredder.completed", "pretix_shredder_api.shred.failed"]


class Receiver:
    def __init__(self):
        self.received = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    # pretix blocks webhook calls to private and loopback addresses unless the instance allows them
    # ([pretix] allow_http_to_private_networks); the receiver here is on 127.0.0.1.
    settings.ALLOW_HTTP_TO_PRIVATE_NETWORKS = True


@pytest.fixture
def receiver(organizer):
    with Receiver() as r:
        hook = WebHook.objects.create(organizer=organizer, target_url=r.url, all_events=True)
        for action in ACTIONS:
            hook.listeners.create(action_type=action)
        yield r


def save_artifact(name, payloads):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "webhooks.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = payloads
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


def without_volatile(payload):
    assert isinstance(payload.pop("notification_id"), int)
    assert payload.pop("datetime").startswith(str(now().year))
    return payload


def test_webhook_types_are_registered():
    types = get_all_webhook_events()
    assert {a: str(types[a].verbose_name) for a in ACTIONS} == {
        "pretix.event.shredder.started": "Data shredding started",
        "pretix.event.shredder.completed": "Data shredding completed",
        "pretix_shredder_api.shred.failed": "Data shredding failed",
    }


def completed_residual(job) -> dict:
    job.refresh_from_db()
    return {
        "values_before": job.residual_values,
        "values_found": job.residual_found,
        "complete": job.residual_found == 0,
    }


def test_api_shred_delivers_started_and_completed(
    receiver, client, base_url, orders, event, django_capture_on_commit_callbacks
):
    job = start_export(client, base_url, ["order_emails", "attendee_info"])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(job_url(job, "shred"), format="json").status_code == 202
    save_artifact("api_shred", receiver.received)
    expected = {
        "organizer": "bigevents",
        "event": "sampleconf",
        "job": str(job.public_id),
        "shredders": ["order_emails", "attendee_info"],
        "source": "api",
        "retention_policy": None,
    }
    assert [without_volatile(p) for p in receiver.received] == [
        {**expected, "action": "pretix.event.shredder.started"},
        {**expected, "action": "pretix.event.shredder.completed", "residual": completed_residual(job)},
    ]
    assert receiver.received[1]["residual"]["values_before"] > 0  # the scan saw the event's data before the shred
    calls = WebHookCall.objects.order_by("pk")
    assert [(c.action_type, c.return_code, c.success) for c in calls] == [
        ("pretix.event.shredder.started", 200, True),
        ("pretix.event.shredder.completed", 200, True),
    ]


def test_failed_shred_delivers_failed_with_the_message(
    receiver, client, base_url, orders, event, django_capture_on_commit_callbacks
):
    job = start_export(client, base_url)
    event.log_action("pretix.event.changed", data={})  # the event changed after the export
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job_url(job, "shred"), format="json")
    assert ShredderJob.objects.get(pk=job.pk).shred_state == "failed"
    save_artifact("failed_shred", receiver.received)
    assert [without_volatile(p) for p in receiver.received] == [
        {
            "organizer": "bigevents",
            "event": "sampleconf",
            "action": "pretix_shredder_api.shred.failed",
            "job": str(job.public_id),
            "shredders": ["order_emails"],
            "source": "api",
            "retention_policy": None,
            "message": "Something happened in your event after the export, please try again.",
        }
    ]


def test_control_panel_shred_delivers_too(receiver, user, orders, event, django_capture_on_commit_callbacks):
    cf = CachedFile.objects.create(date=now(), expires=now() + timedelta(hours=1), filename="x.zip")
    pretix_export.apply(args=(event.pk, ["order_emails"], "session", str(cf.pk)))
    with django_capture_on_commit_callbacks(execute=True):
        pretix_shred.apply(kwargs={"event": event.pk, "fileid": str(cf.pk), "confirm_code": True, "user": user.pk})
    save_artifact("control_panel_shred", receiver.received)
    expected = {"organizer": "bigevents", "event": "sampleconf", "job": None, "shredders": ["order_emails"]}
    assert [without_volatile(p) for p in receiver.received] == [
        {**expected, "source": "control", "retention_policy": None, "action": "pretix.event.shredder.started"},
        {**expected, "source": "control", "retention_policy": None, "action": "pretix.event.shredder.completed"},
    ]


def test_webhooks_limited_to_other_events_are_not_called(
    organizer, client, base_url, orders, event, django_capture_on_commit_callbacks
):
    from .conftest import make_event

    with Receiver() as r:
        hook = WebHook.objects.create(organizer=organizer, target_url=r.url, all_events=False)
        hook.limit_events.add(make_event(organizer, slug="elsewhere"))
        for action in ACTIONS:
            hook.listeners.create(action_type=action)
        job = start_export(client, base_url)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(job_url(job, "shred"), format="json")
        assert r.received == []


def test_a_stale_shred_is_delivered_as_failed_by_the_periodic_cleanup(
    receiver, client, base_url, orders, event, django_capture_on_commit_callbacks
):
    from pretix.base.signals import periodic_task

    from pretix_shredder_api import jobs

    from .helpers import set_state

    job = start_export(client, base_url)
    set_state(job, shred_state="running", shred_attempt="a1", shred_heartbeat=now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        periodic_task.send(sender=None)
        jobs.cleanup()  # a second run finds nothing more to report
    job.refresh_from_db()
    assert job.shred_state == "failed"
    assert [without_volatile(p) for p in receiver.received] == [
        {
            "organizer": "bigevents",
            "event": "sampleconf",
            "action": "pretix_shredder_api.shred.failed",
            "job": str(job.public_id),
            "shredders": ["order_emails"],
            "source": "api",
            "retention_policy": None,
            "message": "The data shredding stopped unexpectedly because the process working on it ended. "
            "The export is still available: start the shred again to finish it.",
        }
    ]
