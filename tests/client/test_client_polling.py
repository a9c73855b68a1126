"""Waiting on 409: at least a second between polls, backing off to ten, and a timeout with its own exit code."""

import pytest

from pretix_shredder_api.client.errors import CliError, ExitCode
from pretix_shredder_api.client.polling import Pending, Poller


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def make_poller(timeout=3600.0):
    clock = Clock()
    return Poller(timeout=timeout, sleep=clock.sleep, clock=clock), clock


def test_backoff_starts_at_one_second_and_is_capped_at_ten():
    poller, _ = make_poller()
    answers = iter([Pending({})] * 9 + ["done"])
    assert poller.wait(lambda: next(answers), "it") == "done"
    assert poller.delays == [1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 10.0, 10.0, 10.0]


def test_no_sleep_when_the_first_answer_is_final():
    poller, _ = make_poller()
    assert poller.wait(lambda: 42, "it") == 42
    assert poller.delays == []


def test_timeout_raises_not_finished_and_never_polls_faster_than_once_a_second():
    poller, clock = make_poller(timeout=30)
    calls = []

    def step():
        calls.append(clock.now)
        return Pending({"status": "waiting"})

    with pytest.raises(CliError) as exc:
        poller.wait(step, "the export")
    assert exc.value.code == ExitCode.NOT_FINISHED == 6
    assert "Timed out after 30 s waiting for the export (still waiting)" in exc.value.message
    assert all(d >= 1.0 for d in poller.delays)
    assert all(b - a >= 1.0 for a, b in zip(calls, calls[1:], strict=False))
    assert calls[-1] <= 30


def test_on_pending_sees_each_409_body():
    poller, _ = make_poller()
    seen = []
    answers = iter([Pending({"percentage": 10}), Pending({"percentage": 90}), "done"])
    poller.wait(lambda: next(answers), "it", on_pending=seen.append)
    assert seen == [{"percentage": 10}, {"percentage": 90}]


def test_export_waits_with_backoff(cli, fake):
    fake.export_pending = 4
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 0, result.err
    assert result.sleeps == [1.0, 1.5, 2.25, 3.375]
    assert len(fake.seen("GET", "download/")) == 5
    assert "export: running 40%" in result.err  # not a terminal: one line per state change
    assert result.err.count("export: running") == 1


def test_export_timeout_exit_code(cli, fake, tmp_path):
    fake.export_pending = 1000
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip", "--timeout", "60")
    assert result.code == 6
    assert "Timed out after 60 s waiting for the export" in result.err
    assert sum(result.sleeps) <= 60
    assert (tmp_path / "out.zip.json").exists()  # the export can still be fetched later with --resume


def test_shred_waits_on_the_status_url(cli, fake):
    fake.shred_pending = 3
    assert cli("export", "--shredder", "question_answers", "-o", "out.zip").code == 0
    result = cli("shred", "--state", "out.zip.json", "--yes")
    assert result.code == 0, result.err
    assert result.sleeps == [1.0, 1.5, 2.25]
    assert len(fake.seen("GET", "status/")) == 4


def test_shred_timeout_exit_code(cli, fake):
    fake.shred_pending = 1000
    assert cli("export", "--shredder", "question_answers", "-o", "out.zip").code == 0
    result = cli("shred", "--state", "out.zip.json", "--yes", "--timeout", "20")
    assert result.code == 6
    assert "waiting for the shred (still running)" in result.err


def test_live_status_line_on_a_terminal(cli, fake):
    fake.export_pending = 2
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip", tty=True)
    assert result.code == 0, result.err
    assert "\r\x1b[Kexport: running 40%" in result.err


def network_error():
    raise CliError(ExitCode.NETWORK, "GET x: network error: Connection refused")


def test_read_only_waits_survive_a_few_network_errors():
    poller, _ = make_poller()
    answers = iter([network_error, network_error, lambda: Pending({}), network_error, lambda: "done"])
    seen = []
    assert poller.wait(lambda: next(answers)(), "it", on_pending=seen.append, retry_errors=True) == "done"
    assert [s.get("status") for s in seen] == ["retrying", "retrying", None, "retrying"]
    assert len(poller.delays) == 4


def test_too_many_network_errors_in_a_row_fail():
    poller, _ = make_poller()
    with pytest.raises(CliError) as exc:
        poller.wait(network_error, "it", retry_errors=True)
    assert exc.value.code == ExitCode.NETWORK
    assert len(poller.delays) == 3


def test_errors_are_not_retried_for_writes_or_final_answers():
    poller, _ = make_poller()
    with pytest.raises(CliError):
        poller.wait(network_error, "it")  # e.g. a POST: repeating it is not ours to decide
    not_found = CliError(ExitCode.NOT_FOUND, "gone")

    def step():
        raise not_found

    with pytest.raises(CliError) as exc:
        poller.wait(step, "it", retry_errors=True)
    assert exc.value is not_found
    assert poller.delays == []


def test_download_survives_a_bad_gateway(cli, fake):
    fake.download_answers = [(502, b"<html>Bad Gateway</html>"), (503, {"detail": "Maintenance"})]
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 0, result.err
    assert "export: retrying (Download: server error (HTTP 502))" in result.err
    assert result.sleeps == [1.0, 1.5]
