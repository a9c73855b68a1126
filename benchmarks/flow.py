"""The client side over real HTTP: export → download → shred → status, timed, with the servers' peak memory.

What counts as "done" is judged the same way for both implementations:

* export: from sending the export POST until the download URL answers 200 (in eager mode the export runs inside
  the POST, so that is the first GET);
* shred: from sending the shred POST until the status URL gives a final answer (200 ok, 410 gone, 417 failed)
  *and* the database holds the ``pretix.event.shredder.completed`` log entry. The second condition matters for the
  built-in implementation under Celery, whose status URL reports the export task and says "ok" while the shred
  still runs; in eager mode the built-in status answers 410 "May have succeeded or timed out" after a shred.

``run.py`` restarts the server between download and shred: in eager mode the export leaves the web process with
~750 MB of garbage at 20,000 orders, and whichever request happens to trigger Python's full garbage collection pays
seconds for it – measured as up to 5 s of CPU time landing on the shred of one implementation or the other.
"""

import hashlib
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from benchmarks.procs import PeakMeter, wait_until

CHUNK = 256 * 1024
FINAL_STATUS = (200, 410, 417)


@dataclass
class Target:
    base_url: str
    organizer: str
    event: str
    token: str
    db_path: Path

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/v1/organizers/{self.organizer}/events/{self.event}/shredders/"

    def session(self) -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Token {self.token}"
        return s


# --- looking into the database (read-only, as a second opinion next to what the API says) --------------------------


@contextmanager
def _db(path: Path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        yield con
    finally:
        con.close()


def _event_id(con, organizer: str, event: str) -> int:
    row = con.execute(
        "SELECT e.id FROM pretixbase_event e JOIN pretixbase_organizer o ON e.organizer_id = o.id "
        "WHERE o.slug = ? AND e.slug = ?",
        (organizer, event),
    ).fetchone()
    return row[0]


def shreds_logged(target: Target) -> int:
    """How many ``pretix.event.shredder.completed`` log entries the event has."""
    with _db(target.db_path) as con:
        event_id = _event_id(con, target.organizer, target.event)
        row = con.execute(
            "SELECT COUNT(*) FROM pretixbase_logentry WHERE event_id = ? AND action_type = ?",
            (event_id, "pretix.event.shredder.completed"),
        ).fetchone()
    return row[0]


DATA_COUNTS = {
    "emails": "SELECT COUNT(*) FROM pretixbase_order WHERE event_id = :e AND email IS NOT NULL AND email != ''",
    "phones": "SELECT COUNT(*) FROM pretixbase_order WHERE event_id = :e AND phone IS NOT NULL AND phone != ''",
    "att_names": "SELECT COUNT(*) FROM pretixbase_orderposition p JOIN pretixbase_order o ON p.order_id = o.id "
    "WHERE o.event_id = :e AND p.attendee_name_cached IS NOT NULL",
    "att_emails": "SELECT COUNT(*) FROM pretixbase_orderposition p JOIN pretixbase_order o ON p.order_id = o.id "
    "WHERE o.event_id = :e AND p.attendee_email IS NOT NULL",
    "answers": "SELECT COUNT(*) FROM pretixbase_questionanswer a JOIN pretixbase_orderposition p "
    "ON a.orderposition_id = p.id JOIN pretixbase_order o ON p.order_id = o.id WHERE o.event_id = :e",
    "inv_addresses": "SELECT COUNT(*) FROM pretixbase_invoiceaddress a JOIN pretixbase_order o "
    "ON a.order_id = o.id WHERE o.event_id = :e",
}


def data_counts(target: Target) -> dict:
    """Rows still holding personal data: both implementations must leave the same numbers behind."""
    with _db(target.db_path) as con:
        event_id = _event_id(con, target.organizer, target.event)
        return {name: con.execute(sql, {"e": event_id}).fetchone()[0] for name, sql in DATA_COUNTS.items()}


# --- the flow -------------------------------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return round(time.perf_counter() - self.start, 4)


def _poll(session, url: str, done, *, timeout: float, interval: float, stream: bool = False):
    """GET ``url`` until ``done(response)``; returns (response, number of GETs, when the last GET was sent)."""
    count = 0
    sent = 0.0

    def attempt():
        nonlocal count, sent
        count += 1
        sent = time.perf_counter()
        response = session.get(url, stream=stream, timeout=timeout)
        if done(response):
            return [response]  # a Response is falsy for 4xx answers: wrap it
        response.close()
        return None

    [response] = wait_until(attempt, timeout=timeout, interval=interval, message=f"final answer from {url}")
    return response, count, sent


def _read_body(response) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for chunk in response.iter_content(CHUNK):
        size += len(chunk)
        digest.update(chunk)
    response.close()
    return size, digest.hexdigest()


def start_export(session, target: Target, shredders: list, timeout: float) -> dict:
    response = session.post(target.api + "export/", json={"shredders": shredders}, timeout=timeout)
    if response.status_code != 202:
        raise RuntimeError(f"export answered {response.status_code}: {response.text[:500]}")
    return response.json()


def _download_ready(response) -> bool:
    if response.status_code not in (200, 409):
        raise RuntimeError(f"download answered {response.status_code}: {response.text[:500]}")
    return response.status_code == 200


def wait_export_ready(session, download_url: str, opts) -> None:
    response, _polls, _sent = _poll(
        session, download_url, _download_ready, timeout=opts.timeout, interval=opts.poll, stream=True
    )
    response.close()


def export_phase(session, target, shredders, opts) -> tuple[dict, dict]:
    clock = Clock()
    urls = start_export(session, target, shredders, opts.timeout)
    post_s = clock()
    response, polls, sent = _poll(
        session, urls["download"], _download_ready, timeout=opts.timeout, interval=opts.poll, stream=True
    )
    result = {"post_s": post_s, "wall_s": clock(), "download_polls": polls}
    return result, {"urls": urls, "response": response, "sent": sent}


def download_phase(response, sent: float) -> dict:
    """Read the body of the GET that answered 200; timed from sending that GET to the last byte."""
    size, sha = _read_body(response)
    return {
        "bytes": size,
        "seconds": round(time.perf_counter() - sent, 4),
        "sha256": sha,
        "etag": response.headers.get("ETag"),
        "content_type": response.headers.get("Content-Type"),
    }


def shred_phase(session, target, shred_url: str, opts) -> dict:
    logged = shreds_logged(target)
    clock = Clock()
    response = session.post(shred_url, timeout=opts.timeout)
    post_s = clock()
    if response.status_code != 202:
        raise RuntimeError(f"shred answered {response.status_code}: {response.text[:500]}")
    status_url = response.json()["status"]
    final, polls, _sent = _poll(
        session, status_url, lambda r: r.status_code in FINAL_STATUS, timeout=opts.timeout, interval=opts.poll
    )
    status_s = clock()
    wait_until(
        lambda: shreds_logged(target) > logged, timeout=opts.timeout, interval=opts.poll, message="shred completed"
    )
    return {
        "post_s": post_s,
        "status_final_s": status_s,
        "wall_s": max(clock(), status_s),
        "status_polls": polls,
        "status_answer": [final.status_code, final.json()],
    }


def export_and_download(target: Target, shredders: list, pids: dict, opts) -> dict:
    """Export, then download; peak RSS and CPU time per phase of every process in ``pids``."""
    session = target.session()
    result = {"counts_before": data_counts(target)}
    with PeakMeter(pids) as meter:
        result["export"], pending = export_phase(session, target, shredders, opts)
    result["export"]["procs"] = meter.result()
    with PeakMeter(pids) as meter:
        result["download"] = download_phase(pending["response"], pending["sent"])
    result["download"]["procs"] = meter.result()
    result["urls"] = pending["urls"]
    return result


def shred_and_status(target: Target, shred_url: str, pids: dict, opts) -> dict:
    """Shred, then poll the status until final; peak RSS and CPU time of every process in ``pids``."""
    with PeakMeter(pids) as meter:
        result = {"shred": shred_phase(target.session(), target, shred_url, opts)}
    result["shred"]["procs"] = meter.result()
    result["counts_after"] = data_counts(target)
    return result


def full_cycle(target: Target, shredders: list, opts) -> None:
    """Export, download, shred and status, unmeasured (warming up a server on a small event)."""
    session = target.session()
    urls = start_export(session, target, shredders, opts.timeout)
    wait_export_ready(session, urls["download"], opts)
    shred_phase(session, target, urls["shred"], opts)


def big_download(target: Target, download_url: str, pids: dict, opts) -> dict:
    """Download an export (replaced by a large random file beforehand) and record the web server's memory."""
    session = target.session()
    with PeakMeter(pids) as meter:
        clock = Clock()
        response = session.get(download_url, stream=True, timeout=opts.timeout)
        if response.status_code != 200:
            raise RuntimeError(f"download answered {response.status_code}: {response.text[:500]}")
        size, sha = _read_body(response)
        seconds = clock()
    return {"bytes": size, "seconds": seconds, "sha256": sha, "procs": meter.result()}
