"""The download answer: SHA-256 as ETag and Repr-Digest, If-None-Match, and Range requests for resuming."""

import base64
import hashlib

import pytest

from .helpers import fresh, job_url, set_state, start_export

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(client, base_url, orders):
    return start_export(client, base_url, ["order_emails", "attendee_info"])


@pytest.fixture
def full(client, job):
    resp = client.get(job_url(job, "download"))
    return b"".join(resp.streaming_content), resp


def test_digest_headers_match_the_body(job, full):
    body, resp = full
    digest = hashlib.sha256(body).digest()
    assert resp["ETag"] == f'"{digest.hex()}"'
    assert resp["Repr-Digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
    assert resp["Accept-Ranges"] == "bytes"
    assert job.file_sha256 == digest.hex()


def test_if_none_match_is_304(client, job, full):
    _body, resp = full
    again = client.get(job_url(job, "download"), HTTP_IF_NONE_MATCH=resp["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == resp["ETag"]
    other = client.get(job_url(job, "download"), HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200


@pytest.mark.parametrize(
    "header,slice_",
    [("bytes=0-9", slice(0, 10)), ("bytes=10-", slice(10, None)), ("bytes=-7", slice(-7, None))],
)
def test_range_requests_are_206(client, job, full, header, slice_):
    body, _resp = full
    resp = client.get(job_url(job, "download"), HTTP_RANGE=header)
    assert resp.status_code == 206
    part = b"".join(resp.streaming_content)
    assert part == body[slice_]
    assert int(resp["Content-Length"]) == len(part)
    start = len(body) + slice_.start if slice_.start < 0 else slice_.start
    assert resp["Content-Range"] == f"bytes {start}-{start + len(part) - 1}/{len(body)}"


def test_resume_gives_the_whole_file(client, job, full):
    body, _resp = full
    first = body[:100]
    rest = b"".join(client.get(job_url(job, "download"), HTTP_RANGE=f"bytes={len(first)}-").streaming_content)
    assert first + rest == body


def test_unsatisfiable_range_is_416(client, job, full):
    body, _resp = full
    resp = client.get(job_url(job, "download"), HTTP_RANGE=f"bytes={len(body) + 5}-")
    assert resp.status_code == 416
    assert resp["Content-Range"] == f"bytes */{len(body)}"
    assert resp.json()["detail"]


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-3", "bytes=abc", "bytes=-"])
def test_ranges_we_do_not_serve_get_the_whole_file(client, job, full, header):
    body, _resp = full
    resp = client.get(job_url(job, "download"), HTTP_RANGE=header)
    assert resp.status_code == 200
    assert b"".join(resp.streaming_content) == body


def test_if_range_with_another_etag_gets_the_whole_file(client, job, full):
    body, resp = full
    changed = client.get(job_url(job, "download"), HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE='"old"')
    assert changed.status_code == 200
    same = client.get(job_url(job, "download"), HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE=resp["ETag"])
    assert same.status_code == 206


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "application/zip",
        "application/*",
        "*/*",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # a browser
        "application/json",  # clients that send it on every request got the file from the built-in API too
        "text/plain, application/ZIP; q=0.5",
        "",
    ],
)
def test_any_accept_that_admits_the_zip_gets_it(client, job, full, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    resp = client.get(job_url(job, "download"), **headers)
    assert (resp.status_code, resp["Content-Type"]) == (200, "application/zip")
    assert b"".join(resp.streaming_content) == full[0]


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "image/png, text/*",
        "application/zip;q=0",
        "*/*;q=0",
        "*/*, application/zip;q=0, application/json;q=0",
    ],
)
def test_an_accept_that_admits_neither_the_zip_nor_json_is_a_json_406(client, job, accept):
    resp = client.get(job_url(job, "download"), HTTP_ACCEPT=accept)
    assert (resp.status_code, resp["Content-Type"]) == (406, "application/json")
    assert resp.json() == {"detail": "Could not satisfy the request Accept header."}


def test_a_running_export_answers_its_409_in_json_to_a_client_that_asks_for_the_zip(client, job):
    set_state(job, export_state="running", export_progress=40, export_heartbeat=fresh())
    resp = client.get(job_url(job, "download"), HTTP_ACCEPT="application/zip")
    assert (resp.status_code, resp["Content-Type"]) == (409, "application/json")
    assert resp.json() == {"status": "running", "percentage": 40}


def shred_between_check_and_open(monkeypatch, job):
    """A shred that succeeds and deletes the file just after the view found the export downloadable (the load test
    hit this: the file was opened lazily while streaming, and the server answered a bare 500)."""
    from pretix_shredder_api import jobs
    from pretix_shredder_api.models import JobState

    checked = jobs.downloadable_file

    def check_then_shred(j):
        cf = checked(j)
        cf.file.storage.delete(cf.file.name)
        set_state(job, shred_state=JobState.SUCCEEDED)
        return cf

    monkeypatch.setattr(jobs, "downloadable_file", check_then_shred)


def test_a_file_shredded_after_the_check_is_a_json_404(client, job, monkeypatch):
    shred_between_check_and_open(monkeypatch, job)
    resp = client.get(job_url(job, "download"), HTTP_RANGE="bytes=0-99")
    assert resp.status_code == 404
    assert resp.json() == {"detail": "This export has been shredded."}


def test_a_file_deleted_while_it_streams_is_sent_whole(client, job, full):
    body, _resp = full
    resp = client.get(job_url(job, "download"))
    cf = job.file
    cf.file.storage.delete(cf.file.name)  # the answer holds the open file: the bytes still come
    assert b"".join(resp.streaming_content) == body


# -- every download is logged on the event, a ranged or conditional one without flooding the log (issue 22 item 9) ---


def downloads_logged(event):
    from pretix.base.models import LogEntry

    return list(
        LogEntry.objects.filter(event=event, action_type="pretix_shredder_api.export.downloaded").order_by("pk")
    )


TOKEN = "API token “GDPR tooling” of team “Team”"


def test_a_whole_download_is_logged_with_who_and_which_export(client, job, full, event):
    (entry,) = downloads_logged(event)
    assert entry.api_token is not None and entry.user is None
    assert entry.parsed_data == {
        "job": str(job.public_id),
        "shredders": ["order_emails", "attendee_info"],
        "via": "api",
    }
    assert str(job.secret) not in entry.data and job.confirm_code not in entry.data
    assert entry.display() == (
        f"{TOKEN} downloaded an export of personal data through the data shredder API (Emails, Attendee info)."
    )
    client.get(job_url(job, "download"))  # a second whole copy is a second entry
    assert len(downloads_logged(event)) == 2


def test_a_304_is_not_logged_and_ranged_parts_only_once(client, job, full, event):
    from datetime import timedelta

    from django.utils.timezone import now
    from freezegun import freeze_time

    _body, resp = full
    assert client.get(job_url(job, "download"), HTTP_IF_NONE_MATCH=resp["ETag"]).status_code == 304
    assert client.get(job_url(job, "download"), HTTP_RANGE="bytes=999999999-").status_code == 416
    assert len(downloads_logged(event)) == 1
    for start in (0, 10, 20, 30):
        assert client.get(job_url(job, "download"), HTTP_RANGE=f"bytes={start}-{start + 9}").status_code == 206
    entries = downloads_logged(event)
    assert len(entries) == 1  # the whole file a moment ago covers the parts
    with freeze_time(now() + timedelta(minutes=31)):
        client.get(job_url(job, "download"), HTTP_RANGE="bytes=0-9")
        client.get(job_url(job, "download"), HTTP_RANGE="bytes=10-19")
    entries = downloads_logged(event)
    assert len(entries) == 2 and entries[-1].parsed_data["range"] == f"bytes 0-9/{len(_body)}"


def test_a_download_does_not_block_the_shred(client, job, full, event):
    resp = client.post(job_url(job, "shred"), format="json")
    assert resp.status_code == 202, resp.content
    job.refresh_from_db()
    assert job.shred_state == "succeeded"


@pytest.fixture
def noticed(organizer, event, orders, user):
    from datetime import timedelta

    from freezegun import freeze_time

    from pretix_shredder_api import retention

    retention.update_policy(
        organizer, {"enabled": True, "shredders": ["order_emails"], "days_after_event": 40, "notice_days": 7}
    )
    organizer.settings.flush()
    s = retention.create_schedule(event)
    with freeze_time(s.notice_at + timedelta(minutes=1)):
        retention.advance(s.pk)
    s.refresh_from_db()
    assert s.state == "noticed"
    return s


def test_the_scheduled_export_downloads_are_logged_through_the_api_and_the_page(client, base_url, noticed, event):
    from django.test import Client

    resp = client.get(base_url + "schedule/download/")
    assert resp.status_code == 200
    b"".join(resp.streaming_content)
    page = Client()
    assert page.login(email="admin@example.org", password="secret-password-123")
    resp = page.get("/control/event/bigevents/sampleconf/shredder-api/retention/download/")
    assert resp.status_code == 200
    api, on_page = downloads_logged(event)
    assert api.parsed_data["via"] == "schedule_api" and api.parsed_data["job"] == str(noticed.job.public_id)
    assert api.display() == (
        f"{TOKEN} downloaded the export of the scheduled removal of personal data through the API (Emails)."
    )
    assert on_page.user.email == "admin@example.org" and on_page.parsed_data["via"] == "retention_page"
    assert on_page.display() == (
        "admin@example.org downloaded the export of the scheduled removal of personal data on the data retention "
        "page (Emails)."
    )
