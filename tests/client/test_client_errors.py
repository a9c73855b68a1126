"""Every failure ends with its documented exit code and the server's message - and never shows the token."""

import socket

import pytest

from pretix_shredder_api.client.errors import EXIT_CODE_HELP, ExitCode

from .conftest import NOT_MINE


def test_exit_code_table_is_complete_and_distinct():
    assert set(EXIT_CODE_HELP) == set(ExitCode)
    assert len({int(c) for c in ExitCode}) == len(ExitCode)
    assert (ExitCode.OK, ExitCode.DECLINED, ExitCode.USAGE, ExitCode.AUTH, ExitCode.FORBIDDEN) == (0, 1, 2, 3, 4)
    assert (ExitCode.NOT_FOUND, ExitCode.NOT_FINISHED, ExitCode.GONE, ExitCode.SHRED_FAILED) == (5, 6, 7, 8)
    assert (ExitCode.VERIFY_FAILED, ExitCode.NETWORK, ExitCode.REJECTED) == (9, 10, 11)


def test_missing_configuration_is_a_usage_error(cli, fake):
    result = cli("list", env={"PRETIX_URL": None, "PRETIX_EVENT": None}, token=None)
    assert result.code == 2
    assert "--url (or PRETIX_URL)" in result.err and "--token (or PRETIX_TOKEN)" in result.err
    assert "--event (or PRETIX_EVENT)" in result.err
    assert not fake.requests


@pytest.mark.parametrize("url", ["ftp://host", "pretix.example.com", "http://"])
def test_bad_url_is_a_usage_error(cli, url):
    result = cli("list", env={"PRETIX_URL": url})
    assert result.code == 2
    assert "must be an http(s) URL" in result.err


def test_unknown_subcommand_is_a_usage_error(cli):
    result = cli("explode")
    assert result.code == 2
    assert "invalid choice" in result.err


def test_help_lists_the_exit_codes(cli):
    result = cli("--help")
    assert result.code == 0
    assert "exit codes:" in result.out and "authentication failed (HTTP 401)" in result.out


def test_401(cli, fake):
    result = cli("list", token="wrong-token")
    assert result.code == ExitCode.AUTH == 3
    assert "authentication failed" in result.err and "Invalid token." in result.err
    assert "wrong-token" not in result.err + result.out


def test_403(cli, fake):
    fake.forbidden = True
    result = cli("list")
    assert result.code == ExitCode.FORBIDDEN == 4
    assert "permission denied" in result.err
    assert "You do not have permission to perform this action." in result.err


def test_403_for_another_event(cli, fake):
    result = cli("list", "--event", "otherconf")
    assert result.code == 4


def test_404_on_download(cli, fake):
    result = cli("status", f"{fake.prefix()}download/{NOT_MINE}/")  # well-formed ids the server does not know
    assert result.code == ExitCode.NOT_FOUND == 5
    assert "not found" in result.err and "Not found." in result.err


def test_400_shows_field_errors(cli, fake):
    fake.export_error = (400, {"shredders": ["Unknown shredder: foo."]})
    result = cli("export", "--shredder", "foo", "-o", "out.zip")
    assert result.code == ExitCode.REJECTED == 11
    assert "Starting the export: rejected by the server (HTTP 400): shredders: Unknown shredder: foo." in result.err


def test_400_shows_a_list_of_messages(cli, fake, tmp_path):
    fake.export_error = (400, ["Your event needs to be over to use this feature."])
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 11
    assert "Your event needs to be over to use this feature." in result.err
    assert not (tmp_path / "out.zip.json").exists()


def test_410_export_failed(cli, fake, tmp_path):
    fake.export_failed = True
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == ExitCode.GONE == 7
    assert "the export failed on the server (HTTP 410): Export exploded." in result.err
    assert not (tmp_path / "out.zip").exists()


def test_500_is_other_http_error(cli, fake):
    fake.export_error = (500, b"<html>Internal Server Error</html>")
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == ExitCode.NETWORK == 10
    assert "server error (HTTP 500)" in result.err
    assert "<html>" not in result.err


def test_redirects_are_not_followed(cli, fake):
    """urllib would send the Authorization header along to wherever the redirect points."""
    fake.redirect_to = "http://attacker.invalid/steal"
    result = cli("list")
    assert result.code == 10
    assert "redirected to 'http://attacker.invalid/steal'" in result.err
    assert len(fake.requests) == 1


def test_connection_refused_is_a_network_error(cli):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when we connect: nothing listens there
    result = cli("list", env={"PRETIX_URL": f"http://127.0.0.1:{port}"})
    assert result.code == 10
    assert "network error" in result.err


def test_token_with_control_characters_is_refused_without_echo(cli):
    result = cli("list", token="abc\ndef")
    assert result.code == 2
    assert "abc" not in result.err


class TestTokenNeverPrinted:
    """The token must not appear in any output: results, errors, --verbose logs, usage errors."""

    def assert_clean(self, fake, result):
        assert fake.token not in result.out
        assert fake.token not in result.err

    def test_verbose_success_and_json(self, cli, fake):
        result = cli("-v", "--json", "run", "--shredder", "question_answers", "-o", "out.zip", "--yes")
        assert result.code == 0, result.err
        assert "debug: GET" in result.err
        self.assert_clean(fake, result)

    def test_error_body_echoing_the_token_is_redacted(self, cli, fake):
        fake.export_error = (400, {"detail": f"token {fake.token} may not export"})
        result = cli("-v", "export", "--shredder", "question_answers", "-o", "out.zip")
        assert result.code == 11
        assert "token *** may not export" in result.err
        self.assert_clean(fake, result)

    def test_token_flag_in_a_usage_error(self, cli, fake):
        result = cli("list", "--token", fake.token, "--unknown-flag", token=None)
        assert result.code == 2
        self.assert_clean(fake, result)

    def test_token_in_an_unrecognized_argument(self, cli, fake):
        result = cli("list", "--unknown", fake.token)
        assert result.code == 2
        assert "unrecognized arguments" in result.err
        self.assert_clean(fake, result)

    def test_wrong_token_flag(self, cli, fake):
        result = cli("list", f"--token=bad-{fake.token}", "-v", token=None)
        assert result.code == 3
        self.assert_clean(fake, result)
        assert f"bad-{fake.token}" not in result.err

    def test_internal_error_message_is_redacted(self, cli, fake, monkeypatch):
        def explode(*args, **kwargs):
            raise RuntimeError(f"boom with {fake.token}")

        monkeypatch.setattr("pretix_shredder_api.client.listing.fetch_shredders", explode)
        result = cli("-v", "list")
        assert result.code == ExitCode.INTERNAL
        assert "Internal error: RuntimeError: boom with ***" in result.err
        self.assert_clean(fake, result)

    def test_token_is_sent_in_the_header(self, cli, fake):
        assert cli("list").code == 0
        assert {r.headers["Authorization"] for r in fake.requests} == {f"Token {fake.token}"}
