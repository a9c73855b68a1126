"""Output plumbing: redaction, terminals that cannot show every character, state file round trip."""

import io

import pytest

from pretix_shredder_api.client.console import Console
from pretix_shredder_api.client.state import State, load, save, state_path


def test_redaction_of_every_known_secret():
    out, err = io.StringIO(), io.StringIO()
    console = Console(out, err, verbose=True, secrets=["first-secret"])
    console.add_secret("second-secret")
    console.out("a first-secret b")
    console.debug("c second-secret d")
    assert out.getvalue() == "a *** b\n"
    assert err.getvalue() == "debug: c *** d\n"


def test_debug_only_when_verbose():
    err = io.StringIO()
    Console(io.StringIO(), err).debug("hidden")
    assert err.getvalue() == ""


def test_message_the_terminal_cannot_encode_is_replaced_not_fatal():
    raw = io.BytesIO()
    err = io.TextIOWrapper(raw, encoding="ascii")
    Console(io.StringIO(), err).error("Die Veranstaltung muss vorüber sein.")
    assert raw.getvalue() == b"error: Die Veranstaltung muss vor?ber sein.\n"


def test_live_lines_only_on_a_terminal():
    err = io.StringIO()
    Console(io.StringIO(), err).live("50%")
    assert err.getvalue() == ""
    tty = Console(io.StringIO(), err, err_is_tty=True)
    tty.live("50%")
    tty.info("done")
    assert err.getvalue() == "\r\x1b[K50%\ndone\n"


def test_state_round_trip(tmp_path):
    path = state_path(tmp_path / "x.zip")
    assert path.name == "x.zip.json"
    state = State("http://p", "o", "e", ["a"], "http://p/d/", "http://p/s/", "x.zip")
    save(state, path)
    assert load(path) == state
    assert not state.verified
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("argv", [["--tok", "my-secret"], ["--tokne=my-secret"], ["--TOKEN", "my-secret"]])
def test_misspelt_token_flags_are_refused_and_not_echoed(cli, fake, argv):
    result = cli("list", *argv, token=None)
    assert result.code == 2
    assert "unrecognized arguments" in result.err
    assert "my-secret" not in result.err + result.out
