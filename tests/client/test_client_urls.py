"""URLs handed to the CLI are checked for the API's shape before anything is sent, and an answer that is not what
the API answers there is an error - never "export ready" or "shredded" (finding 19.10)."""

import pytest

from pretix_shredder_api.client.errors import EXIT_CODE_HELP, ExitCode
from pretix_shredder_api.client.joburl import kind_of_job_url, require_job_url

from .conftest import EVENT, JOB, ORGANIZER

PREFIX = f"/api/v1/organizers/{ORGANIZER}/events/{EVENT}/shredders/"
ROOT_PAGE = (200, b"<!DOCTYPE html><html>pretix " + b"x" * 1800 + b"</html>", {"Content-Type": "text/html"})


@pytest.mark.parametrize("url", ["", "   "])
def test_status_of_an_empty_url_is_refused_not_taken_for_an_export(cli, fake, url):
    fake.elsewhere = ROOT_PAGE  # the server's root page answers 200, as pretix's does
    result = cli("status", url)
    assert result.code == ExitCode.BAD_URL == 13
    assert "status: the URL is empty" in result.err
    assert "export ready" not in result.out
    assert not fake.requests


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "{base}/",
        "{base}/control/",
        "ftp://127.0.0.1/api/v1/organizers/o/events/e/shredders/status/{job}/",
        "status/{job}/",  # relative, but not a path of the server
        "{base}{prefix}status/not/uuids/",
        "{base}{prefix}status/{job}/extra/",
        "{base}{prefix}status/{job}/?page=2",
        "{base}{prefix}shred/{job}/",  # a job URL, but not one ``status`` reads
        "{base}{prefix}report/{job}/",
        "{base}{prefix}",
    ],
)
def test_status_refuses_what_is_not_a_status_or_download_url(cli, fake, url):
    fake.elsewhere = ROOT_PAGE
    result = cli("status", url.format(base=fake.base, prefix=PREFIX, job=JOB))
    assert result.code == ExitCode.BAD_URL, result.err
    assert "is not a download or status URL of the shredder API" in result.err
    assert not fake.requests


def test_a_job_url_without_its_trailing_slash_is_accepted(cli, fake):
    result = cli("status", f"{fake.base}{PREFIX}status/{JOB}")
    assert result.code == 0, result.err
    assert fake.requests[0].path == f"{PREFIX}status/{JOB}/"


@pytest.mark.parametrize("url", ["", "{base}/", "{base}{prefix}status/{job}/"])
def test_shred_url_must_be_a_shred_url(cli, fake, url):
    result = cli("shred", "--shred-url", url.format(base=fake.base, prefix=PREFIX, job=JOB), "--yes")
    assert result.code == ExitCode.BAD_URL, result.err
    assert "shred --shred-url:" in result.err
    assert not fake.requests


@pytest.mark.parametrize("url", ["", "{base}/"])
def test_verify_url_must_be_a_job_url(cli, fake, url):
    result = cli("verify", url.format(base=fake.base))
    assert result.code == ExitCode.BAD_URL, result.err
    assert not fake.requests


def test_the_exit_code_is_in_the_help(cli):
    assert "13  the URL given is empty or not a download/shred/status/report URL" in cli("--help").out
    assert ExitCode.BAD_URL in EXIT_CODE_HELP


# -- answers that are not the API's


def test_a_download_url_answering_200_html_is_not_an_export(cli, fake):
    fake.download_answers = [ROOT_PAGE]  # e.g. a proxy's login page
    result = cli("status", f"{fake.base}{PREFIX}download/{JOB}/")
    assert result.code == ExitCode.NETWORK == 10
    assert "answered HTTP 200 with text/html, not the export (application/zip)" in result.err
    assert "export ready" not in result.out


@pytest.mark.parametrize(
    "answer",
    [ROOT_PAGE, (200, {"detail": "hello"}), (200, ["ok"]), (200, {"status": "running"}), (409, b"busy", {})],
    ids=["html", "other-json", "list", "not-ok", "409-not-json"],
)
def test_a_status_url_answering_what_the_api_does_not_is_an_error(cli, fake, answer):
    fake.status_answers = [answer]
    result = cli("status", f"{fake.base}{PREFIX}status/{JOB}/")
    assert result.code == ExitCode.NETWORK, result.err
    assert "is it a URL of pretix's data shredder API?" in result.err
    assert "shredded" not in result.out


def test_shred_does_not_report_shredded_for_a_200_that_is_not_ok(cli, fake):
    assert cli("export", "--shredder", "question_answers", "-o", "out.zip").code == 0
    fake.status_answers = [ROOT_PAGE] * 10  # every poll (read-only waits retry a few network errors)
    result = cli("shred", "--state", "out.zip.json", "--yes")
    assert result.code == ExitCode.NETWORK, result.err
    assert 'answered 200 without {"status": "ok"}' in result.err
    assert "Shredded" not in result.out


def test_a_shred_answer_without_a_status_url_of_the_api_is_an_error(cli, fake):
    assert cli("export", "--shredder", "question_answers", "-o", "out.zip").code == 0
    fake.shred_post = [(202, {"status": f"{fake.base}/"})]
    result = cli("shred", "--state", "out.zip.json", "--yes")
    assert result.code == ExitCode.NETWORK
    assert "the answer has no status URL of the shredder API" in result.err
    assert not fake.seen("GET", "/status/")


@pytest.mark.parametrize(
    "url, kind",
    [
        (f"https://pretix.example.com{PREFIX}download/{JOB}/", "download"),
        (f"https://pretix.example.com/sub/path{PREFIX}shred/{JOB}/", "shred"),
        (f"{PREFIX}status/{JOB.upper()}/", "status"),
        (f"http://h{PREFIX}report/{JOB}", "report"),
        (f"https://pretix.example.com{PREFIX}other/{JOB}/", None),
        (f"https:{PREFIX}status/{JOB}/", None),  # a scheme without a host
        (None, None),
    ],
)
def test_kind_of_job_url(url, kind):
    assert kind_of_job_url(url) == kind


def test_require_job_url_adds_the_trailing_slash():
    assert require_job_url(f"{PREFIX}status/{JOB}", ("status",), "x") == f"{PREFIX}status/{JOB}/"
