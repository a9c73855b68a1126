"""POST P export/ and GET of the download URL: validation, constraints, states and failures."""

import errno
import io
import json
import os
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.models import CachedFile
from pretix.base.shredder import EmailAddressShredder, ShredError

from pretix_shredder_api import exporters
from pretix_shredder_api.models import ShredderJob

from .conftest import make_event
from .helpers import fresh, job_url, long_ago, set_state, start_export

pytestmark = pytest.mark.django_db


def assert_nothing_created():
    assert not ShredderJob.objects.exists()
    assert not CachedFile.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"shredders": None},
        {"shredders": "order_emails"},
        {"shredders": {"order_emails": True}},
        {"shredders": 3},
        {"shredders": []},
        {"shredders": ["order_emails", "nope"]},
        {"shredders": [None]},
        {"shredders": [["order_emails"]]},
    ],
)
def test_invalid_shredders_are_400_on_the_field(client, base_url, body):
    resp = client.post(base_url + "export/", body, format="json")
    assert resp.status_code == 400
    assert set(resp.json()) == {"shredders"}
    assert isinstance(resp.json()["shredders"], list) and resp.json()["shredders"]
    assert_nothing_created()


def test_unknown_shredder_is_named(client, base_url):
    resp = client.post(base_url + "export/", {"shredders": ["order_emails", "nope"]}, format="json")
    assert resp.json() == {"shredders": ['"nope" is not a known data shredder for this event.']}


def test_malformed_json_is_400(client, base_url):
    resp = client.post(base_url + "export/", data="{nope", content_type="application/json")
    assert resp.status_code == 400
    assert "detail" in resp.json()
    assert_nothing_created()


def test_duplicates_are_merged(client, base_url, orders):
    job = start_export(client, base_url, ["order_emails", "attendee_info", "order_emails"])
    assert job.shredders == ["order_emails", "attendee_info"]
    with zipfile.ZipFile(io.BytesIO(b"".join(client.get(job_url(job, "download")).streaming_content))) as zf:
        assert json.loads(zf.read("index.json"))["shredders"] == ["order_emails", "attendee_info"]


def test_event_not_over_is_400_with_pretix_wording(client, organizer):
    event = make_event(organizer, slug="future", date_from=now() + timedelta(days=3))
    resp = client.post(
        f"/api/v1/organizers/bigevents/events/{event.slug}/shredders/export/",
        {"shredders": ["order_emails"]},
        format="json",
    )
    assert resp.status_code == 400
    assert resp.json() == ["Your event needs to be over to use this feature."]
    assert_nothing_created()


def test_event_with_subevents_not_over_is_400(client, organizer):
    event = make_event(organizer, slug="series", has_subevents=True)
    event.subevents.create(name="Late date", date_from=now() + timedelta(days=1), active=True)
    resp = client.post(
        f"/api/v1/organizers/bigevents/events/{event.slug}/shredders/export/",
        {"shredders": ["order_emails"]},
        format="json",
    )
    assert resp.status_code == 400
    assert resp.json() == ["Your event needs to be over to use this feature."]


def test_live_shop_is_400_with_pretix_wording(client, base_url, event):
    event.live = True
    event.save()
    resp = client.post(base_url + "export/", {"shredders": ["order_emails"]}, format="json")
    assert resp.status_code == 400
    assert resp.json() == ["Your ticket shop needs to be offline to use this feature."]
    assert_nothing_created()


def test_export_file_is_kept_in_a_cachedfile_nobody_else_may_download(client, base_url, orders):
    job = start_export(client, base_url)
    cf = job.file
    assert cf.web_download is False
    assert cf.session_key == f"pretix_shredder_api:{job.public_id}"
    assert cf.type == "application/zip" and cf.filename == "sampleconf.zip"
    assert now() + timedelta(minutes=119) < cf.expires <= now() + timedelta(hours=2)
    assert job.export_state == "succeeded" and job.export_progress == 100
    assert len(job.file_sha256) == 64 and len(job.confirm_code) == 6


@pytest.mark.parametrize("state", ["waiting", "running"])
def test_download_while_export_runs_is_409(client, base_url, orders, state):
    job = start_export(client, base_url)
    set_state(job, export_state=state, export_progress=42, export_heartbeat=fresh())
    resp = client.get(job_url(job, "download"))
    assert resp.status_code == 409
    assert resp.json() == {"status": state, "percentage": 42}


def test_download_of_a_failed_export_is_410(client, base_url, orders):
    job = start_export(client, base_url)
    set_state(job, export_state="failed", export_message="Disk full")
    resp = client.get(job_url(job, "download"))
    assert resp.status_code == 410
    assert resp.json() == {"status": "failed", "message": "Disk full"}


def test_export_whose_worker_stopped_is_reported_failed(client, base_url, orders):
    job = start_export(client, base_url)
    set_state(job, export_state="running", export_progress=10, export_heartbeat=long_ago())
    resp = client.get(job_url(job, "download"))
    assert resp.status_code == 410
    assert resp.json()["status"] == "failed"
    assert "process working on it ended" in resp.json()["message"]


def test_stale_limit_is_configurable(client, base_url, orders, monkeypatch):
    job = start_export(client, base_url)
    set_state(job, export_state="running", export_heartbeat=now() - timedelta(seconds=30))
    assert client.get(job_url(job, "download")).status_code == 409
    monkeypatch.setenv("PRETIX_SHREDDER_API_STALE_AFTER_SECONDS", "20")
    assert client.get(job_url(job, "download")).status_code == 410


@pytest.mark.parametrize(
    "error,message",
    [
        # a reason the client can act on is passed on; anything else leaks no detail
        (ShredError("The e-mail archive is not reachable."), "The e-mail archive is not reachable."),
        (RuntimeError("secret traceback detail"), "Internal error"),
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["fast-exporter", "generate_files"])
def test_failing_export_is_410_with_the_right_message(client, base_url, orders, monkeypatch, error, message, fast):
    def broken(*args):
        raise error

    if fast:
        monkeypatch.setitem(exporters.EXPORTERS, "order_emails", (EmailAddressShredder, broken))
    else:
        monkeypatch.setenv("PRETIX_SHREDDER_API_FAST_EXPORT", "off")
        monkeypatch.setattr(EmailAddressShredder, "generate_files", broken)
    job = start_export(client, base_url)
    resp = client.get(job_url(job, "download"))
    assert resp.status_code == 410
    assert resp.json() == {"status": "failed", "message": message}
    assert client.post(job_url(job, "shred"), format="json").status_code == 410


@pytest.mark.parametrize("errno_", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_export_that_cannot_be_stored_is_410_and_no_file_is_recorded(client, base_url, orders, monkeypatch, errno_):
    def full(self, name, content):
        raise OSError(errno_, os.strerror(errno_))

    monkeypatch.setattr(FileSystemStorage, "_save", full)
    job = start_export(client, base_url)
    resp = client.get(job_url(job, "download"))
    assert resp.status_code == 410
    assert resp.json() == {
        "status": "failed",
        "message": "The export file could not be stored on the server (its storage is full or not writable). "
        "Please ask the administrator of this pretix instance and start a new export.",
    }
    assert not CachedFile.objects.get(pk=job.file_id).file


def test_export_whose_storage_fills_up_mid_write_leaves_no_partial_file(client, base_url, orders, monkeypatch):
    """Django's file system storage keeps what it wrote before the disk filled up: that part must go."""
    real_save = FileSystemStorage._save

    def fills_up(self, name, content):
        real_save(self, name, File(io.BytesIO(content.read(100))))  # the first bytes made it to the disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(FileSystemStorage, "_save", fills_up)
    job = start_export(client, base_url)
    resp = client.get(job_url(job, "download"))
    assert resp.status_code == 410
    assert resp.json()["message"].startswith("The export file could not be stored on the server")
    stored = os.path.join(settings.MEDIA_ROOT, "cachedfiles")
    assert [f for f in os.listdir(stored) if f.startswith(str(job.file_id))] == []


def test_expired_export_is_404(client, base_url, orders):
    job = start_export(client, base_url)
    with freeze_time(now() + timedelta(hours=2, minutes=1)):
        resp = client.get(job_url(job, "download"))
        assert resp.status_code == 404
        assert resp.json() == {"detail": "This export has expired."}
        assert client.post(job_url(job, "shred"), format="json").status_code == 404


def test_export_expiry_is_configurable(client, base_url, orders, monkeypatch):
    monkeypatch.setenv("PRETIX_SHREDDER_API_EXPORT_EXPIRY_SECONDS", "60")
    job = start_export(client, base_url)
    with freeze_time(now() + timedelta(seconds=61)):
        assert client.get(job_url(job, "download")).status_code == 404


def test_export_removed_by_pretix_cleanup_is_404(client, base_url, orders):
    job = start_export(client, base_url)
    CachedFile.objects.all().delete()
    assert client.get(job_url(job, "download")).status_code == 404


def test_export_whose_file_record_vanished_in_the_queue_fails_clearly(client, base_url, orders, event):
    from pretix_shredder_api.tasks import run_export

    job = start_export(client, base_url)
    CachedFile.objects.all().delete()
    set_state(job, export_state="waiting", export_heartbeat=fresh())
    run_export.apply(args=(event.pk, job.pk))
    resp = client.get(job_url(job, "download"))
    assert resp.status_code == 410
    assert resp.json() == {
        "status": "failed",
        "message": "The download file could no longer be found on the server, please try to start again.",
    }


def test_export_queued_too_long_is_reported_failed_with_an_honest_message(client, base_url, orders, monkeypatch):
    job = start_export(client, base_url)
    set_state(job, export_state="waiting", export_progress=0, export_heartbeat=now() - timedelta(minutes=20))
    resp = client.get(job_url(job, "download"))
    assert resp.status_code == 409  # a queue backlog beyond the stale limit is not a dead worker
    assert resp.json() == {"status": "waiting", "percentage": 0}
    monkeypatch.setenv("PRETIX_SHREDDER_API_QUEUE_TIMEOUT_SECONDS", "600")
    resp = client.get(job_url(job, "download"))
    assert resp.status_code == 410
    assert resp.json()["message"].startswith("The export waited too long for a worker to pick it up")
