"""The invariant asserted after every fault: either the data is intact (and the export available, unless it expired
before any shred touched the data), or the shred completed and the status says ok. Never data gone without a
complete export; never "ok" with data left; never a partial zip served.

"The data" is what the export's shredders remove from the seeded event: the orders' e-mail addresses
(``order_emails``) and the test shredder's personal data setting (``slow_test_shredder``).
"""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from .api import describe

PERSONAL_DATA_SETTING = "slow_test_shredder_personal_data"
SUPPORTED = {"order_emails", "slow_test_shredder"}


@dataclass(frozen=True)
class Outcome:
    data: str  # "intact", "partly gone", "gone"
    export: str  # "complete" (downloaded and verified), "not available" (404), or "<status>: <body>"
    status: str  # the status URL's answer: "ok", "failed", "running", "waiting", "gone", "not started"

    def __str__(self):
        return f"data {self.data}, export {self.export}, status {self.status}"


def data_state(orm, seeded_event: dict, shredders) -> str:
    org, ev = seeded_event["organizer"], seeded_event["event"]
    present, total = 0, 0
    if "order_emails" in shredders:
        snapshot = orm.call("event_snapshot", organizer=org, event=ev)
        emails = [o["email"] for o in snapshot["orders"]]
        present += sum(1 for e in emails if e)
        total += len(emails)
    if "slow_test_shredder" in shredders:
        value = orm.call("get_event_settings", organizer=org, event=ev, keys=[PERSONAL_DATA_SETTING])
        present += 1 if value[PERSONAL_DATA_SETTING] else 0
        total += 1
    return "intact" if present == total else ("gone" if present == 0 else "partly gone")


def export_state(shredder_api, download_url: str, shredders) -> str:
    """Downloads the whole export and checks it: the digest the server announces, a readable zip with the
    control files and an entry for every shredder that writes one."""
    response = shredder_api.download(download_url)
    if response.status_code == 404:
        return "not available"
    if response.status_code != 200:
        return f"{response.status_code}: {response.text[:200]}"
    body = response.content
    assert int(response.headers["Content-Length"]) == len(body), describe(response)
    assert response.headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"', "the served file is not the export"
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.testzip() is None, "a corrupt zip was served"
        names = set(zf.namelist())
        assert {"CONFIRM_CODE.txt", "index.json"} <= names, names
        index = json.loads(zf.read("index.json"))
    assert index["shredders"] == list(shredders), index
    if "order_emails" in shredders:
        assert "emails-by-order.json" in names, names
    if "slow_test_shredder" in shredders:
        assert "slow_test_shredder/summary.json" in names, names
    return "complete"


def status_state(shredder_api, status_url: str | None) -> str:
    if status_url is None:
        return "not started"
    response = shredder_api.status(status_url)
    body = response.json()
    return body.get("status", str(response.status_code))


def assert_invariant(orm, seeded_event, shredder_api, urls: dict, shredders) -> Outcome:
    """Checks the invariant for the job behind ``urls`` (``download``, optionally ``status``); returns what it saw.

    Call it once the job has settled (no phase waiting or running), after any fault.
    """
    assert set(shredders) <= SUPPORTED, f"the invariant knows how to look at {SUPPORTED}, not {shredders}"
    outcome = Outcome(
        data=data_state(orm, seeded_event, shredders),
        export=export_state(shredder_api, urls["download"], shredders),
        status=status_state(shredder_api, urls.get("status")),
    )
    if outcome.status == "ok":
        assert outcome.data == "gone", f'status "ok" with data left: {outcome}'
        assert outcome.export == "not available", f"shredded, but the export is still served: {outcome}"
    elif outcome.data != "intact":
        assert outcome.export == "complete", f"data gone without a complete export: {outcome}"
    assert outcome.status not in ("waiting", "running"), f"the job has not settled: {outcome}"
    return outcome


def shred_to_the_end(orm, seeded_event, shredder_api, urls: dict, shredders) -> Outcome:
    """Shred the export behind ``urls`` (again) to the end; the invariant must then say "shredded"."""
    status_url = shredder_api.start_shred(urls["shred"])
    done, _ = shredder_api.wait_status(status_url, timeout=60)
    assert done.json() == {"status": "ok", "message": "OK"}, describe(done)
    outcome = assert_invariant(orm, seeded_event, shredder_api, {**urls, "status": status_url}, shredders)
    assert outcome.status == "ok"
    return outcome
