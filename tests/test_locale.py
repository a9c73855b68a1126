"""The German translation: complete, placeholders intact, covering every translatable string in the code, and used
by the API and the pages."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.test import Client
from pretix.base.models import User

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pretix_shredder_api"
PO = PACKAGE / "locale" / "de" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w*\}")


def catalog(path=PO):
    with open(path, "rb") as f:
        return read_po(f, locale="de")


def key(message):
    return (message.context, message.id if isinstance(message.id, str) else tuple(message.id))


def messages(path=PO):
    return [m for m in catalog(path) if m.id]


def test_every_message_has_a_german_translation():
    problems = []
    for m in messages():
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.fuzzy or not all(s.strip() for s in strings):
            problems.append(m.id)
    assert problems == []


def test_placeholders_are_kept():
    problems = []
    for m in messages():
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            if sorted(PLACEHOLDER.findall(s)) != wanted:
                problems.append((m.id, s))
    assert problems == []


def test_every_translatable_string_in_the_code_is_in_the_catalog(tmp_path):
    """Extract with Django's makemessages (GNU gettext) from a copy of the package and compare."""
    if shutil.which("xgettext") is None:
        message = "needs GNU gettext (apt-get install gettext)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    copy = tmp_path / "pretix_shredder_api"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__", "client"))
    (copy / "locale").mkdir()
    # pretix's LOCALE_PATHS must not be a target: makemessages writes into the first one it knows
    settings_module = "from pretix.testutils.settings import *  # noqa\nLOCALE_PATHS = []\n"
    (tmp_path / "extract_settings.py").write_text(settings_module)
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "de", "--no-location"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "extract_settings", "PYTHONPATH": str(tmp_path)},
        timeout=300,
    )
    extracted = {key(m) for m in messages(copy / "locale" / "de" / "LC_MESSAGES" / "django.po")}
    committed = {key(m) for m in messages()}
    missing = sorted(extracted - committed, key=str)
    unused = sorted(committed - extracted, key=str)
    assert missing == [], "strings missing from locale/de/LC_MESSAGES/django.po (context, msgid):\n" + "\n".join(
        map(repr, missing)
    )
    assert unused == [], "strings in the catalog that the code no longer has:\n" + "\n".join(map(repr, unused))


def test_the_compiled_catalog_is_current():
    mo = PO.with_suffix(".mo")
    assert mo.exists(), "run `make install` (it compiles the .po)"
    assert mo.stat().st_mtime >= PO.stat().st_mtime, "django.mo is older than django.po: run `make install`"


@pytest.mark.django_db
def test_api_message_in_german(device_client, base_url):
    resp = device_client.get(base_url, HTTP_ACCEPT_LANGUAGE="de")
    assert resp.status_code == 403
    assert resp.json() == {"detail": "Geräte dürfen den Datenvernichter nicht verwenden."}


@pytest.mark.django_db
def test_api_validation_message_in_german(client, base_url, orders):
    resp = client.post(base_url + "export/", {"shredders": ["nope"]}, format="json", HTTP_ACCEPT_LANGUAGE="de")
    assert resp.status_code == 400
    assert resp.json() == {"shredders": ["„nope“ ist kein bekannter Datenvernichter für diese Veranstaltung."]}


@pytest.mark.django_db
def test_pages_in_german(user, event):
    User.objects.filter(pk=user.pk).update(locale="de")
    c = Client()
    c.login(email="admin@example.org", password="secret-password-123")
    html = c.get("/control/event/bigevents/sampleconf/shredder-api/").content.decode()
    assert "Über die API wurden noch keine Exporte erstellt." in html
    assert "Die Erweiterung Datenvernichter-API ist für diese Veranstaltung nicht aktiviert." in html
    html = c.get("/control/organizer/bigevents/shredder-api/").content.decode()
    assert "Personenbezogene Daten nach Veranstaltung" in html
    assert "Vorbei und nicht gelöscht" in html
