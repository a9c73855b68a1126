"""Polling is cheap: status and download polls run a constant number of queries, whatever the event's size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .conftest import make_order
from .helpers import fresh, job_url, set_state, start_export

pytestmark = pytest.mark.django_db

MAX_QUERIES = 5
# A whole download also writes its log entry (issue 22 item 9): one INSERT more than a poll.
MAX_QUERIES_DOWNLOAD = MAX_QUERIES + 1


def queries_of(client, url, **headers):
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url, **headers)
        if hasattr(resp, "streaming_content"):
            b"".join(resp.streaming_content)
    return len(ctx.captured_queries), resp.status_code


def poll_costs(client, base_url):
    job = start_export(client, base_url, ["order_emails", "attendee_info"])
    download, status = job_url(job, "download"), job_url(job, "status")
    costs = {"download_200": queries_of(client, download)}
    set_state(job, export_state="running", export_heartbeat=fresh())
    costs["download_409"] = queries_of(client, download)
    set_state(job, export_state="succeeded", shred_state="running", shred_heartbeat=fresh())
    costs["status_409"] = queries_of(client, status)
    set_state(job, shred_state="succeeded")
    costs["status_200"] = queries_of(client, status)
    return costs


def test_poll_queries_are_few_and_do_not_grow_with_the_event(client, base_url, event, item):
    from django.contrib.contenttypes.models import ContentType

    from pretix_shredder_api.models import ShredderJob

    ContentType.objects.get_for_model(ShredderJob)  # cached once per process (the download's log entry needs it)
    for i in range(3):
        make_order(event, item, f"S{i}", f"s{i}@example.org")
    small = poll_costs(client, base_url)
    for i in range(60):
        make_order(event, item, f"L{i}", f"l{i}@example.org")
    large = poll_costs(client, base_url)

    assert small == large
    for name, (count, _status) in large.items():
        limit = MAX_QUERIES_DOWNLOAD if name == "download_200" else MAX_QUERIES
        assert count <= limit, f"{name} ran {count} queries"
    assert {k: v[1] for k, v in large.items()} == {
        "download_200": 200,
        "download_409": 409,
        "status_409": 409,
        "status_200": 200,
    }
