"""The documented flow end to end, without a broker: export → download → shred → status."""

import io
import json
import zipfile

import pytest
from pretix.base.models import CachedFile, LogEntry, Order, OrderPosition

from pretix_shredder_api.models import ShredderJob

pytestmark = pytest.mark.django_db


def test_documented_flow(client, base_url, event, orders, token):
    resp = client.post(base_url + "export/", {"shredders": ["order_emails"]}, format="json")
    assert resp.status_code == 202
    assert set(resp.data) == {"download", "shred"}
    job = ShredderJob.objects.get()
    assert resp.data["download"] == (f"http://testserver{base_url}download/{job.public_id}/{job.secret}/")
    assert resp.data["shred"] == f"http://testserver{base_url}shred/{job.public_id}/{job.secret}/"

    download = client.get(resp.data["download"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"] == 'attachment; filename="sampleconf.zip"'
    body = b"".join(download.streaming_content)
    assert int(download["Content-Length"]) == len(body)

    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        names = set(zf.namelist())
        assert names == {"CONFIRM_CODE.txt", "index.json", "emails-by-order.json", "emails-by-attendee.json"}
        index = json.loads(zf.read("index.json"))
        assert index["organizer"] == "bigevents" and index["event"] == "sampleconf"
        assert index["shredders"] == ["order_emails"]
        assert index["instance"] == "http://example.com"
        assert set(index) == {"instance", "organizer", "event", "time", "shredders", "confirm_code"}
        assert zf.read("CONFIRM_CODE.txt").decode() == index["confirm_code"]
        assert json.loads(zf.read("emails-by-order.json"))["ORD1"] == "buyer1@example.org"

    shred = client.post(resp.data["shred"], format="json")
    assert shred.status_code == 202
    assert shred.data == {"status": f"http://testserver{base_url}status/{job.public_id}/{job.secret}/"}

    status = client.get(shred.data["status"])
    assert status.status_code == 200
    assert status.data == {"status": "ok", "message": "OK"}

    assert not Order.objects.filter(event=event, email__isnull=False).exists()
    assert not OrderPosition.all.filter(order__event=event, attendee_email__isnull=False).exists()
    # The export is gone with the data.
    assert not CachedFile.objects.exists()
    assert client.get(resp.data["download"]).status_code == 404
    assert client.post(resp.data["shred"]).status_code == 404

    entries = list(
        LogEntry.objects.filter(event=event, action_type__startswith="pretix.event.shredder.").order_by("pk")
    )
    assert [e.action_type for e in entries] == ["pretix.event.shredder.started", "pretix.event.shredder.completed"]
    assert all(e.api_token == token and e.user is None and e.oauth_application is None for e in entries)
    assert "confirm_code" not in entries[0].data  # the log does not give away the code


def test_pretix_own_api_flow_in_our_words(client, base_url, event, item):
    """pretix's own API test of this feature, with the one difference the contract makes: status is 200, not 410."""
    from datetime import timedelta

    from django.utils.timezone import now

    from .conftest import make_order

    event.date_from = now() - timedelta(days=91)
    event.date_to = now() - timedelta(days=90)
    event.has_subevents = False
    event.save()
    order = make_order(event, item, "FOO", "dummy@dummy.test")

    resp = client.post(base_url + "export/", data={"shredders": ["order_emails"]}, format="json")
    assert resp.status_code == 202 and "download" in resp.data and "shred" in resp.data
    path = lambda url: "/" + url.split("/", 3)[3]  # noqa: E731 - as pretix's test strips the host

    download = client.get(path(resp.data["download"]))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"

    shred = client.post(path(resp.data["shred"]))  # no body at all, as pretix's test sends it
    assert shred.status_code == 202 and "status" in shred.data

    assert client.get(path(shred.data["status"])).status_code == 200  # pretix's built-in: 410 "because no celery"
    assert client.get(path(resp.data["download"])).status_code == 404  # shredded now
    order.refresh_from_db()
    assert not order.email


def test_list_with_subevents(client, base_url, event):
    event.has_subevents = True
    event.save()
    resp = client.get(base_url)
    assert {"identifier": "question_answers", "verbose_name": "Question answers"} in resp.data["results"]
