"""The fast exporters on PostgreSQL, run by a Celery worker: the downloaded archive holds what pretix's own
``generate_files`` of every built-in shredder produce on the same data (several batches of rows, server-side cursors,
invoice PDFs, answers with options)."""

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest

from .api import ApiClient, ShredderApi

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = [
    "order_emails",
    "phone_numbers",
    "attendee_info",
    "invoice_addresses",
    "question_answers",
    "waiting_list",
    "invoices",
]

SEED = """
import sys
sys.path.insert(0, root)
from demo.seed import seed_event
result = seed_event(organizer, event, orders=orders, with_invoices=2)
"""

BUILTIN_FILES = """
import base64
from pretix.base.models import Event
ev = Event.objects.get(organizer__slug=organizer, slug=event)
shredders = ev.get_data_shredders()
result = {}
for identifier in identifiers:
    for name, _type, content in shredders[identifier].generate_files() or ():
        data = content.encode() if isinstance(content, str) else content
        result[name] = base64.b64encode(data).decode()
"""


def test_fast_export_equals_pretix_own_on_postgresql(pretix):
    # more orders than one batch (2,000 rows), so that the streaming queries are fetched in several chunks
    timeout, pretix.orm.timeout = pretix.orm.timeout, 300
    try:
        seeded = pretix.orm.run(SEED, root=str(ROOT), organizer="fastexport", event="fast-2100", orders=2100)
    finally:
        pretix.orm.timeout = timeout
    client = ApiClient(seeded["token"])
    try:
        api = ShredderApi(client, pretix.shredders_url(seeded["organizer"], seeded["event"]))
        urls = api.start_export(BUILTIN)
        download, _seen = api.wait_download(urls["download"], timeout=240)
    finally:
        client.close()
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        ours = {
            name: archive.read(name) for name in archive.namelist() if name not in ("index.json", "CONFIRM_CODE.txt")
        }

    timeout, pretix.orm.timeout = pretix.orm.timeout, 300
    try:
        theirs = pretix.orm.run(
            BUILTIN_FILES, organizer=seeded["organizer"], event=seeded["event"], identifiers=BUILTIN
        )
    finally:
        pretix.orm.timeout = timeout
    theirs = {name: base64.b64decode(data) for name, data in theirs.items()}

    assert sorted(ours) == sorted(theirs)
    assert len([n for n in ours if n.startswith("invoices/")]) == 2
    for name, content in theirs.items():
        if name.endswith(".json"):
            assert json.loads(ours[name]) == json.loads(content), name
        else:
            assert ours[name] == content, name
    answers = json.loads(ours["question-answers.json"])
    assert len(answers) > 2000 and sum(len(a) for a in answers.values()) > 2000
