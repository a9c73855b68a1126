"""The heartbeat thread: it beats while a job is worked on, and stops with the work."""

import time
from datetime import timedelta

import pytest
from django.utils.timezone import now

from pretix_shredder_api.models import ShredderJob
from pretix_shredder_api.tasks import Heartbeat

from .helpers import set_state, start_export

# The thread uses its own database connection, so the job row must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_heartbeat_beats_while_working_and_stops_after(client, base_url, orders, monkeypatch):
    monkeypatch.setenv("PRETIX_SHREDDER_API_HEARTBEAT_SECONDS", "1")
    job = start_export(client, base_url)
    old = now() - timedelta(minutes=5)
    set_state(job, shred_state="running", shred_heartbeat=old)
    row = ShredderJob.objects.filter(pk=job.pk)
    with Heartbeat(row, "shred_heartbeat"):
        deadline = time.monotonic() + 10
        while row.get().shred_heartbeat == old and time.monotonic() < deadline:
            time.sleep(0.2)
        assert row.get().shred_heartbeat > now() - timedelta(seconds=5)
    after = row.get().shred_heartbeat
    time.sleep(1.5)
    assert row.get().shred_heartbeat == after
