"""``pretix-shredder person …`` against pretix's own server (pytest-django's live server, the plugin's real API):
a whole request walked through - create (found), show, export (zip downloaded), erase (proof 0), list, cancel."""

import io
import json
import zipfile

import pytest
from pretix.base.models import Order

from pretix_shredder_api.client.cli import main
from pretix_shredder_api.client.context import Runtime
from pretix_shredder_api.client.errors import ExitCode
from pretix_shredder_api.models import PersonRequest

from .person_data import EMAIL, PERSON, seed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def cli(live_server, token, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)

    def run(*argv, stdin="", tty=False):
        out, err = io.StringIO(), io.StringIO()
        runtime = Runtime(
            stdout=out, stderr=err, stdin=io.StringIO(stdin),
            environ={"PRETIX_URL": live_server.url, "PRETIX_ORGANIZER": "bigevents", "PRETIX_TOKEN": token.token},
            stdin_is_tty=tty,
        )  # fmt: skip
        code = main(list(argv), runtime)
        return code, out.getvalue(), err.getvalue()

    return run


def test_a_whole_request_through_the_cli(cli, organizer, tmp_path):
    data = seed(organizer)
    code, out, err = cli("person", "create", PERSON, "--kind", "erasure")
    assert code == ExitCode.OK, err
    req = PersonRequest.objects.get()
    assert f"Request #{req.pk}: erasure, found" in out and f"address: {EMAIL}" in out
    assert "[retained] Invoice" in out and "[blocked]" in out and "[erased] Order" in out

    code, out, err = cli("person", "erase", str(req.pk), "--yes")  # not exported yet
    assert code == ExitCode.NOT_FINISHED and f"pretix-shredder person export {req.pk}" in err
    assert Order.objects.get(pk=data["a1"].pk).email == PERSON

    code, out, err = cli("person", "export", str(req.pk), "-o", "ada.zip")
    assert code == ExitCode.OK, err
    person = json.loads(zipfile.ZipFile(tmp_path / "ada.zip").read("person.json"))
    assert person["request"]["email"] == EMAIL

    code, out, err = cli("person", "erase", str(req.pk))  # no terminal, no --yes
    assert code == ExitCode.USAGE and Order.objects.get(pk=data["a1"].pk).email == PERSON
    code, out, err = cli("person", "erase", str(req.pk), tty=True, stdin="no\n")
    assert code == ExitCode.DECLINED and Order.objects.get(pk=data["a1"].pk).email == PERSON
    code, out, err = cli("person", "erase", str(req.pk), tty=True, stdin=f"{req.pk}\n")
    assert code == ExitCode.OK, err
    before, after = out.rsplit(f"Request #{req.pk}: ", 1)  # shown before the question, then the result
    assert f"address: {EMAIL}" in before and after.startswith("erasure, done")
    assert "check after the erasure: 0 of" in after and EMAIL not in after
    assert Order.objects.get(pk=data["a1"].pk).email is None

    code, out, err = cli("person", "list", "--json")
    assert code == ExitCode.OK and [r["state"] for r in json.loads(out)] == ["done"]
    code, out, err = cli("person", "cancel", str(req.pk))
    assert code == ExitCode.NOT_FINISHED and "can no longer be cancelled" in err


def test_bad_input_and_unknown_ids(cli, organizer):
    seed(organizer)
    code, out, err = cli("person", "create", "*@example.net", "--kind", "erasure")
    assert code == ExitCode.REJECTED and "email" in err
    code, out, err = cli("person", "show", "4711")
    assert code == ExitCode.NOT_FOUND
    code, out, err = cli("person", "show", "abc")
    assert code == ExitCode.USAGE
