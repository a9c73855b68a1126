"""GET of the status URL: it reports the shred job itself, for as long as the job record is kept."""

from datetime import timedelta

import pytest
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.signals import periodic_task

from pretix_shredder_api import jobs
from pretix_shredder_api.models import ShredderJob

from .helpers import fresh, job_url, set_state, start_export

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(client, base_url, orders):
    return start_export(client, base_url)


def test_no_shred_started_is_410(client, job):
    resp = client.get(job_url(job, "status"))
    assert resp.status_code == 410
    assert resp.json() == {"status": "gone", "message": "No shred was started for this export."}


@pytest.mark.parametrize("state", ["waiting", "running"])
def test_running_shred_is_409_with_percentage_and_steps(client, job, state):
    steps = [{"label": "Emails", "done": True}, {"label": "Attendee info", "done": False}]
    set_state(job, shred_state=state, shred_progress=63, shred_steps=steps, shred_heartbeat=fresh())
    resp = client.get(job_url(job, "status"))
    assert resp.status_code == 409
    assert resp.json() == {"status": state, "percentage": 63, "steps": steps}


def test_failed_shred_is_417(client, job):
    set_state(job, shred_state="failed", shred_message="The confirm code you entered was incorrect.")
    resp = client.get(job_url(job, "status"))
    assert resp.status_code == 417
    assert resp.json() == {"status": "failed", "message": "The confirm code you entered was incorrect."}


def test_success_stays_200_for_30_days_then_the_record_is_pruned(client, job):
    status_url = client.post(job_url(job, "shred"), format="json").json()["status"]
    with freeze_time(now() + timedelta(days=29, hours=23)):
        periodic_task.send(sender=None)
        assert client.get(status_url).status_code == 200
        assert client.get(status_url).json() == {"status": "ok", "message": "OK"}
    with freeze_time(now() + timedelta(days=30, hours=1)):
        assert jobs.cleanup() == 1
        resp = client.get(status_url)
        assert resp.status_code == 410
        assert resp.json()["status"] == "gone"


def test_periodic_task_prunes_old_records(client, job):
    with freeze_time(now() + timedelta(days=31)):
        periodic_task.send(sender=None)
    assert not ShredderJob.objects.exists()


def test_cleanup_keeps_recent_and_running_jobs(client, base_url, orders):
    old_running = start_export(client, base_url)
    recent = start_export(client, base_url)
    ShredderJob.objects.filter(pk=old_running.pk).update(created=now() - timedelta(days=40))
    with freeze_time(now()):
        set_state(old_running, shred_state="running", shred_heartbeat=fresh())
        assert jobs.cleanup() == 0
    assert ShredderJob.objects.filter(pk__in=[old_running.pk, recent.pk]).count() == 2


def test_cleanup_releases_the_file_of_a_stale_shred(client, job):
    job.file.__class__.objects.filter(pk=job.file_id).update(expires=None)
    set_state(job, shred_state="running", shred_heartbeat=now() - timedelta(hours=1))
    jobs.cleanup()
    job.file.refresh_from_db()
    assert job.file.expires is not None


def test_status_reports_the_shred_not_the_export(client, job):
    """pretix 2026.8's built-in status looked at the export task and said "ok" while the shred still ran."""
    set_state(job, shred_state="running", shred_progress=1, shred_heartbeat=fresh())
    assert job.export_state == "succeeded"
    assert client.get(job_url(job, "status")).status_code == 409


def test_retention_counts_from_the_shred_not_the_export(client, job):
    ShredderJob.objects.filter(pk=job.pk).update(created=now() - timedelta(days=20))  # exported long ago
    status_url = client.post(job_url(job, "shred"), format="json").json()["status"]
    with freeze_time(now() + timedelta(days=29)):
        assert jobs.cleanup() == 0
        assert client.get(status_url).status_code == 200
    with freeze_time(now() + timedelta(days=31)):
        assert jobs.cleanup() == 1


def test_success_says_when_the_shred_finished_in_last_modified(client, job):
    with freeze_time("2026-12-03 06:39:12"):
        status_url = client.post(job_url(job, "shred"), format="json").json()["status"]
    with freeze_time("2026-12-05 10:00:00"):
        resp = client.get(status_url)
    assert (resp.status_code, resp.json()) == (200, {"status": "ok", "message": "OK"})
    assert resp["Last-Modified"] == "Thu, 03 Dec 2026 06:39:12 GMT"
    job.refresh_from_db()
    assert job.shred_finished.isoformat() == "2026-12-03T06:39:12+00:00"
