"""``export``, ``list`` and ``status`` against the fake: the happy paths and what they print."""

import json
from pathlib import Path

import pytest

from .conftest import NOT_MINE


def test_list_follows_pagination(cli, fake):
    result = cli("list")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "emails            E-mails",
        "invoices          Invoices",
        "question_answers  Answers to questions",
    ]
    assert [r.path.rsplit("/", 1)[-1] for r in fake.seen("GET")] == ["", "?page=2"]


def test_list_json_and_options_after_the_subcommand(cli, fake):
    result = cli("list", "--json", "--url", fake.base, env={"PRETIX_URL": "http://127.0.0.1:9"})
    assert result.code == 0, result.err
    assert [s["identifier"] for s in result.json] == ["emails", "invoices", "question_answers"]


def test_options_before_the_subcommand_are_kept(cli, fake):
    result = cli("--url", fake.base, "--json", "list", env={"PRETIX_URL": None})
    assert result.code == 0, result.err
    assert len(result.json) == 3


def test_export_downloads_verifies_and_writes_state(cli, fake, tmp_path):
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip", "--json")
    assert result.code == 0, result.err
    data = result.json
    assert data["file"] == "out.zip"
    assert data["confirm_code"] == "CFM123"
    assert data["download"] == f"{fake.base}{fake.prefix()}download/{fake.job}/"
    assert data["shred"] == f"{fake.base}{fake.prefix()}shred/{fake.job}/"
    assert (tmp_path / "out.zip").read_bytes() == fake.zip_bytes
    assert not (tmp_path / "out.zip.part").exists()
    state = json.loads((tmp_path / "out.zip.json").read_text())
    assert state["format"] == "pretix-shredder-state/1"
    assert (state["organizer"], state["event"], state["shredders"]) == (
        fake.organizer,
        fake.event,
        ["question_answers"],
    )
    assert state["shred"] == data["shred"] and state["sha256"] == data["sha256"] and state["file"] == "out.zip"
    assert fake.token not in (tmp_path / "out.zip.json").read_text()
    assert json.loads(fake.seen("POST", "export/")[0].body) == {"shredders": ["question_answers"]}


def test_export_merges_duplicate_shredders_and_names_the_file(cli, fake, tmp_path):
    result = cli("export", "--shredder", "emails", "--shredder", "question_answers", "--shredder", "emails")
    assert result.code == 0, result.err
    assert json.loads(fake.seen("POST", "export/")[0].body) == {"shredders": ["emails", "question_answers"]}
    [zip_path] = tmp_path.glob(f"{fake.organizer}-{fake.event}-shredder-*.zip")
    assert f"Export file:  {zip_path.name}" in result.out
    assert f"pretix-shredder shred --state {zip_path.name}.json" in result.out


def test_export_refuses_to_overwrite(cli, fake, tmp_path):
    (tmp_path / "out.zip").write_bytes(b"precious")
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 2
    assert "out.zip exists" in result.err
    assert (tmp_path / "out.zip").read_bytes() == b"precious"
    assert not fake.seen("POST")


def test_export_needs_a_shredder(cli, fake):
    result = cli("export")
    assert result.code == 2
    assert "--shredder" in result.err
    assert not fake.requests


def test_server_urls_on_another_origin_are_rebased(cli, fake, tmp_path):
    """A proxy may make pretix build URLs with an internal address: the token only goes to --url."""
    fake.url_base = "http://internal.invalid:8000"
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip", "--json")
    assert result.code == 0, result.err
    assert "using http://127.0.0.1" in result.err
    assert result.json["download"].startswith(fake.base)


def test_status_of_a_download_url_does_not_download(cli, fake):
    fake.zip_bytes = b"x" * 5_000_000
    result = cli("status", f"{fake.base}{fake.prefix()}download/{fake.job}/", "--json")
    assert result.code == 0, result.err
    assert result.json["status"] == "ready" and result.json["size"] == 5_000_000


def test_status_reports_each_state_in_words_with_its_exit_code(cli, fake):
    status_url = f"{fake.prefix()}status/{fake.job}/"  # relative URLs are joined onto --url
    fake.shred_pending = 1
    running = cli("status", status_url)
    assert (running.code, running.out.strip()) == (6, "shred running 50% - Answers to questions")
    done = cli("status", status_url)
    assert (done.code, done.out.strip()) == (0, "shredded (2026-12-03 06:39 UTC)")
    assert cli("status", status_url, "--json").json["finished"] == "2026-12-03T06:39:12+00:00"
    fake.shred_finished = None  # a server that does not say when
    assert cli("status", status_url).out.strip() == "shredded"
    fake.shred_result = (417, {"status": "failed", "message": "Database on fire."})
    failed = cli("status", status_url)
    assert (failed.code, failed.out.strip()) == (8, "shred failed: Database on fire.")
    failed = cli("status", status_url, "--json")
    assert failed.json["status"] == "failed" and failed.json["message"] == "Database on fire."
    gone = cli("status", f"{fake.prefix()}status/{NOT_MINE}/")
    assert (gone.code, gone.out.strip()) == (7, "unknown to the server: Unknown job.")


@pytest.mark.parametrize(
    "setup,code,text",
    [
        ({}, 0, "export ready (11 B)"),
        ({"export_pending": 1}, 6, "export running 40%"),
        ({"export_failed": True}, 7, "export failed: Export exploded."),
    ],
)
def test_status_of_a_download_url_in_words(cli, fake, setup, code, text):
    fake.zip_bytes = b"x" * 11
    for name, value in setup.items():
        setattr(fake, name, value)
    result = cli("status", f"{fake.prefix()}download/{fake.job}/")
    assert (result.code, result.out.strip()) == (code, text)


def test_status_url_alone_is_enough_configuration(cli, fake):
    url = f"{fake.base}{fake.prefix()}status/{fake.job}/"
    result = cli("status", url, env={"PRETIX_URL": None, "PRETIX_fake.organizer": None, "PRETIX_fake.event": None})
    assert result.code == 0, result.err


def test_verbose_logs_requests(cli, fake, tmp_path):
    result = cli("-v", "export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 0, result.err
    assert f"debug: POST {fake.base}{fake.prefix()}export/ -> HTTP 202" in result.err
    assert Path(tmp_path / "out.zip").exists()
