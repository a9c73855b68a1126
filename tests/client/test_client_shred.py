"""``shred`` and ``run``: confirmation, the confirm code, the POST and waiting for the outcome."""

import json

import pytest


@pytest.fixture
def exported(cli, fake, tmp_path):
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 0, result.err
    return tmp_path / "out.zip.json"


def shred_posts(fake):
    return fake.seen("POST", "shred/")


def test_shred_with_state_sends_the_confirm_code_from_the_zip(cli, fake, exported):
    fake.require_code = True
    result = cli("shred", "--state", str(exported), "--yes")
    assert result.code == 0, result.err
    assert json.loads(shred_posts(fake)[0].body) == {"confirm_code": "CFM123"}
    assert "Shredded (2026-12-03 06:39 UTC)" in result.out.splitlines()
    assert "Organizer: bigevents" in result.err and "Shredders: question_answers" in result.err
    state = json.loads(exported.read_text())
    assert state["status"].endswith(f"status/{fake.job}/") and state["shredded"] == "2026-12-03T06:39:12+00:00"


def test_a_second_shred_of_the_same_state_does_nothing(cli, fake, exported):
    assert cli("shred", "--state", str(exported), "--yes").code == 0
    result = cli("shred", "--state", str(exported), "--yes", "--json")
    assert result.code == 0
    assert result.json["message"].startswith("already shredded at")
    assert len(shred_posts(fake)) == 1
    again = cli("shred", "--state", str(exported), "--yes")
    assert again.out.splitlines()[0] == "Already shredded (2026-12-03 06:39 UTC)"


def test_without_a_terminal_and_without_yes_nothing_happens(cli, fake, exported):
    result = cli("shred", "--state", str(exported))
    assert result.code == 2
    assert "Pass --yes" in result.err
    assert not shred_posts(fake)


def test_run_without_a_terminal_refuses_before_exporting(cli, fake):
    result = cli("run", "--shredder", "question_answers")
    assert result.code == 2
    assert not fake.requests


@pytest.mark.parametrize("answer", ["sampleconf\n", "yes\n"])
def test_confirmation_by_event_slug_or_yes(cli, fake, exported, answer):
    result = cli("shred", "--state", str(exported), tty=True, stdin=answer)
    assert result.code == 0, result.err
    assert "Type the event slug (sampleconf) or 'yes' to shred: " in result.err
    assert len(shred_posts(fake)) == 1


@pytest.mark.parametrize("answer", ["no\n", "\n", "", "SAMPLE\n", "y\n"])
def test_declined_confirmation(cli, fake, exported, answer):
    result = cli("shred", "--state", str(exported), tty=True, stdin=answer)
    assert result.code == 1
    assert "Not confirmed; nothing was shredded." in result.err
    assert not shred_posts(fake)


def test_shred_url_with_explicit_confirm_code(cli, fake):
    fake.require_code = True
    url = f"{fake.base}{fake.prefix()}shred/{fake.job}/"
    result = cli("shred", "--shred-url", url, "--confirm-code", "CFM123", "--yes", "--json")
    assert result.code == 0, result.err
    assert json.loads(shred_posts(fake)[0].body) == {"confirm_code": "CFM123"}
    assert result.json["status"] == "ok"
    assert "Export:    not downloaded here" in result.err


def test_shred_url_without_code_posts_no_body(cli, fake):
    url = f"{fake.base}{fake.prefix()}shred/{fake.job}/"
    assert cli("shred", "--shred-url", url, "--yes").code == 0
    assert shred_posts(fake)[0].body == b""


def test_missing_confirm_code_is_explained(cli, fake):
    fake.require_code = True
    url = f"{fake.base}{fake.prefix()}shred/{fake.job}/"
    result = cli("shred", "--shred-url", url, "--yes")
    assert result.code == 11
    assert "confirm_code: The confirm code you entered was incorrect." in result.err
    assert "pass --confirm-code" in result.err


def test_shred_url_with_export_file_of_another_event_is_refused(cli, fake, tmp_path):
    (tmp_path / "other.zip").write_bytes(fake.make_zip(event="otherconf"))
    url = f"{fake.base}{fake.prefix()}shred/{fake.job}/"
    result = cli("shred", "--shred-url", url, "--export-file", "other.zip", "--yes")
    assert result.code == 9
    assert not shred_posts(fake)


def test_changed_export_file_is_refused(cli, fake, exported, tmp_path):
    (tmp_path / "out.zip").write_bytes(fake.make_zip(code="OTHER1"))
    result = cli("shred", "--state", str(exported), "--yes")
    assert result.code == 9
    assert "changed since it was downloaded" in result.err


def test_shred_post_retried_while_the_export_runs(cli, fake, exported):
    fake.shred_post = [(409, {"status": "running", "percentage": 80})] * 2
    result = cli("shred", "--state", str(exported), "--yes")
    assert result.code == 0, result.err
    assert len(shred_posts(fake)) == 3
    assert result.sleeps == [1.0, 1.5]


@pytest.mark.parametrize(
    "answer, code, message",
    [
        ((404, {"detail": "Not found."}), 5, "already shredded"),
        ((410, {"status": "failed", "message": "Export exploded."}), 7, "the export failed on the server"),
        ((400, ["Your event needs to be over to use this feature."]), 11, "needs to be over"),
        ((403, {"detail": "Device access is not allowed."}), 4, "Device access is not allowed."),
    ],
)
def test_shred_post_errors(cli, fake, exported, answer, code, message):
    fake.shred_post = [answer]
    result = cli("shred", "--state", str(exported), "--yes")
    assert result.code == code
    assert message in result.err


def test_shred_failed_417(cli, fake, exported):
    fake.shred_result = (417, {"status": "failed", "message": "Something happened in your event after the export."})
    result = cli("shred", "--state", str(exported), "--yes")
    assert result.code == 8
    assert "Shredding: the shred failed (HTTP 417): Something happened in your event after the export." in result.err
    assert json.loads(exported.read_text())["shredded"] is None


def test_shred_job_gone_410(cli, fake, exported):
    fake.shred_result = (410, {"status": "gone", "message": "Unknown job."})
    result = cli("shred", "--state", str(exported), "--yes")
    assert result.code == 7
    assert "no longer knows this shred job" in result.err


def test_state_without_export_file_warns(cli, fake, exported, tmp_path):
    (tmp_path / "out.zip").unlink()
    result = cli("shred", "--state", str(exported), "--yes")
    assert result.code == 0, result.err
    assert "out.zip is not there: it was not downloaded, or was moved." in result.err
    assert shred_posts(fake)[0].body == b""


def test_not_a_state_file(cli, tmp_path):
    (tmp_path / "x.json").write_text("{}")
    result = cli("shred", "--state", "x.json", "--yes")
    assert result.code == 2
    assert "not a pretix-shredder state file" in result.err


def test_run_does_everything(cli, fake, tmp_path):
    fake.export_pending, fake.shred_pending = 2, 2
    result = cli("run", "--shredder", "question_answers", "-o", "out.zip", "--yes", "--json")
    assert result.code == 0, result.err
    data = result.json
    assert data["status"] == "ok" and data["confirm_code"] == "CFM123" and data["file"] == "out.zip"
    assert data["status_url"].endswith(f"status/{fake.job}/")
    assert [r.method for r in fake.requests] == ["POST", "GET", "GET", "GET", "POST", "GET", "GET", "GET"]
    assert json.loads(shred_posts(fake)[0].body) == {"confirm_code": "CFM123"}
    assert json.loads((tmp_path / "out.zip.json").read_text())["shredded"]


def test_run_with_terminal_confirmation(cli, fake):
    result = cli("run", "--shredder", "question_answers", "-o", "out.zip", tty=True, stdin="sampleconf\n")
    assert result.code == 0, result.err
    assert "Export file:  out.zip" in result.out and "Shredded (2026-12-03 06:39 UTC)" in result.out


def test_run_declined_keeps_the_export(cli, fake, tmp_path):
    result = cli("run", "--shredder", "question_answers", "-o", "out.zip", tty=True, stdin="no\n")
    assert result.code == 1
    assert (tmp_path / "out.zip").exists()
    assert not shred_posts(fake)


def test_run_stops_at_failed_verification(cli, fake):
    fake.zip_bytes = fake.make_zip(organizer="evilcorp")
    result = cli("run", "--shredder", "question_answers", "-o", "out.zip", "--yes")
    assert result.code == 9
    assert not shred_posts(fake)


def test_a_shred_post_may_take_longer_than_one_request_timeout(cli, fake, exported, monkeypatch):
    """Without Celery the server shreds inside the POST: the CLI waits for it up to --timeout, not 60 s."""
    import pretix_shredder_api.client.http as http

    monkeypatch.setattr(http, "REQUEST_TIMEOUT", 0.2)
    fake.shred_post_seconds = 0.6
    result = cli("shred", "--state", str(exported), "--yes", "--timeout", "30")
    assert result.code == 0, result.err


def test_a_shred_post_slower_than_timeout_is_a_network_error(cli, fake, exported, monkeypatch):
    fake.shred_post_seconds = 1.5
    result = cli("shred", "--state", str(exported), "--yes", "--timeout", "0.5")
    assert result.code == 10
    assert "network error" in result.err
