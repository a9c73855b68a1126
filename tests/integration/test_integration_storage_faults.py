"""Storage faults during an export: the directory pretix keeps its cached files in (``<datadir>/media/cachedfiles``,
where the export zips go) full, and read-only. A real filesystem fault: a small tmpfs is mounted over that directory
and filled, or remounted read-only, while the export runs (root ignores file modes, so chmod would prove nothing).

The download URL answers 410 with the storage message, never a 200 with a partial zip, no partial file stays on
the storage, the data is intact; once the fault is cleared a new export and its shred complete."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .api import describe, job_public_id
from .conftest import STALE_AFTER_SECONDS, builtin_api_only
from .invariant import Outcome, assert_invariant, export_state, shred_to_the_end

pytestmark = pytest.mark.integration

SHREDDERS = ["slow_test_shredder", "order_emails"]
PERSONAL = "Jane Doe, +49 30 1234567"
MSG_STORAGE = (
    "The export file could not be stored on the server (its storage is full or not writable). "
    "Please ask the administrator of this pretix instance and start a new export."
)
TMPFS_BYTES = 1024 * 1024
FREE_BYTES = 256 * 1024  # what is left free when the storage is "full": the zip below needs more
PADDING_BYTES = 1024 * 1024  # random, so the zip cannot compress below what is left
FILLER = ".filler"


@pytest.fixture(autouse=True)
def _plugin_only():
    if builtin_api_only():
        pytest.xfail("pretix's built-in API has no storage failure answer")


def _run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


class CachedFileStorageFault:
    """A tmpfs of ``TMPFS_BYTES`` mounted over the directory pretix stores cached files in, for the test only."""

    def __init__(self, path: Path):
        self.path = path
        self.mounted = False

    def mount(self):
        self.path.mkdir(parents=True, exist_ok=True)
        result = _run("mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0755", "tmpfs", str(self.path))
        if result.returncode != 0:
            return (result.stderr or result.stdout).strip()
        self.mounted = True
        return None

    def fill(self, leave: int):
        """Writes a filler file until only about ``leave`` bytes are free."""
        stat = os.statvfs(self.path)
        free = stat.f_bavail * stat.f_frsize
        with open(self.path / FILLER, "wb") as fh:
            fh.write(b"\0" * max(free - leave, 0))
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def read_only(self):
        result = _run("mount", "-o", "remount,ro", str(self.path))
        assert result.returncode == 0, result.stderr
        with pytest.raises(OSError):
            (self.path / "probe").write_bytes(b"x")

    def files(self) -> dict:
        """What is stored on the tmpfs besides the filler: name -> size."""
        return {p.name: p.stat().st_size for p in self.path.iterdir() if p.name != FILLER}

    def unmount(self):
        if not self.mounted:
            return
        result = _run("umount", str(self.path))
        if result.returncode != 0:  # still busy: detach it now, the kernel frees it when the last user is gone
            result = _run("umount", "-l", str(self.path))
        assert result.returncode == 0, result.stderr
        self.mounted = False


@pytest.fixture
def storage_fault(pretix):
    """The fault, mounted (not yet full or read-only); always unmounted again, so later tests store files normally."""
    path = Path(pretix.data_dir) / "media" / "cachedfiles"
    fault = CachedFileStorageFault(path)
    problem = "mount needs root" if os.geteuid() != 0 else None
    if not problem and not shutil.which("mount"):
        problem = "no mount command"
    problem = problem or fault.mount()
    if problem:
        message = f"cannot mount a tmpfs over {path}: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield fault
    finally:
        fault.unmount()


def export_and_shred(shredder_api, orm, seeded_event) -> None:
    """A new export, downloaded and shredded to the end: the invariant says "shredded"."""
    urls = shredder_api.start_export(SHREDDERS)
    shredder_api.wait_download(urls["download"], timeout=60)
    shred_to_the_end(orm, seeded_event, shredder_api, urls, SHREDDERS)


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_export_storage_full_or_read_only_is_410_and_nothing_partial(
    fault, orm, seeded_event, shredder_api, shredder_trace, slow_shredder, storage_fault
):
    slow_shredder(seconds=1, personal_data=PERSONAL, export_bytes=PADDING_BYTES)
    urls = shredder_api.start_export(SHREDDERS)
    shredder_trace.wait_for("export", "started", timeout=30)
    if fault == "full":
        free = storage_fault.fill(leave=FREE_BYTES)
        assert free < PADDING_BYTES, free
    else:
        storage_fault.read_only()
    began = time.monotonic()

    # Every answer is looked at: 409 while it runs, then 410 - a 200 (a partial zip) fails the poll.
    failed, seen = shredder_api.wait_download(urls["download"], done=(410,), timeout=60, interval=0.2)
    elapsed = time.monotonic() - began
    for answer in seen[:-1]:
        assert answer.headers["Content-Type"].startswith("application/json"), describe(answer)
        assert answer.json()["status"] in ("waiting", "running"), describe(answer)
    assert failed.headers["Content-Type"].startswith("application/json"), describe(failed)
    assert failed.json() == {"status": "failed", "message": MSG_STORAGE}
    for _ in range(2):  # it stays that way
        again = shredder_api.download(urls["download"])
        assert (again.status_code, again.json()) == (410, failed.json()), describe(again)
    shred = shredder_api.shred(urls["shred"])
    assert (shred.status_code, shred.json()) == (410, failed.json()), describe(shred)
    # Nothing half-written stays behind: it would hold personal data no cleanup knows of.
    assert storage_fault.files() == {}
    outcome = assert_invariant(orm, seeded_event, shredder_api, urls, SHREDDERS)
    assert outcome.data == "intact"
    print(f"\nstorage {fault} mid-export: {failed.status_code} after {elapsed:.1f} s ({len(seen)} polls); {outcome}")

    storage_fault.unmount()
    export_and_shred(shredder_api, orm, seeded_event)


# The export file's lifetime running out -------------------------------------------------------------------------------

LIFETIME_SECONDS = 1.0


def file_of(orm, seeded_event, public_id) -> dict:
    jobs = orm.call("shredder_jobs", organizer=seeded_event["organizer"], event=seeded_event["event"])
    return next(job for job in jobs if job["public_id"] == public_id)


def export_with_short_lifetime(orm, shredder_api, slow_shredder) -> tuple[dict, str]:
    """A finished export that expires ``LIFETIME_SECONDS`` from now; returns its URLs and job id."""
    slow_shredder(seconds=0, personal_data=PERSONAL)
    urls = shredder_api.start_export(SHREDDERS)
    shredder_api.wait_download(urls["download"], timeout=60)
    public_id = job_public_id(urls["download"])
    orm.call("expire_export_in", public_id=public_id, seconds=LIFETIME_SECONDS)
    return urls, public_id


def test_export_lifetime_passing_while_its_shred_is_queued_and_running(
    pretix, celery_control, orm, seeded_event, shredder_api, shredder_trace, slow_shredder
):
    urls, public_id = export_with_short_lifetime(orm, shredder_api, slow_shredder)
    expires = time.monotonic() + LIFETIME_SECONDS
    slow_shredder(seconds=3)
    workers = [w.name for w in pretix.workers]
    with celery_control.paused(workers):  # the shred stays queued (well inside the queue timeout)
        queued_at = time.monotonic()
        status_url = shredder_api.start_shred(urls["shred"])
        assert file_of(orm, seeded_event, public_id)["file_expires"] is None  # held for the shred
        time.sleep(max(expires - time.monotonic(), 0) + 0.3)
        cleaned = orm.call("clean_cached_files")
        queued = shredder_api.status(status_url)
        assert queued.status_code == 409 and queued.json()["status"] == "waiting", describe(queued)
        while_queued = export_state(shredder_api, urls["download"], SHREDDERS)
        assert while_queued == "complete"
        assert time.monotonic() - queued_at < STALE_AFTER_SECONDS - 1, "the shred queued too long for this test"

    shredder_trace.wait_for("shred", "started", timeout=30)
    orm.call("clean_cached_files")
    running = shredder_api.status(status_url)
    assert running.status_code == 409 and running.json()["status"] == "running", describe(running)
    assert export_state(shredder_api, urls["download"], SHREDDERS) == "complete"

    done, _ = shredder_api.wait_status(status_url, timeout=60)
    assert done.json() == {"status": "ok", "message": "OK"}
    outcome = assert_invariant(orm, seeded_event, shredder_api, {**urls, "status": status_url}, SHREDDERS)
    print(
        f"\nlifetime passed while the shred was queued, then running: cleanup deleted {cleaned['deleted']}; {outcome}"
    )
    assert outcome.status == "ok"
    assert len(shredder_trace.records("shred", "finished")) == 1


def test_export_lifetime_passed_before_the_shred_post_is_refused(orm, seeded_event, shredder_api, slow_shredder):
    urls, public_id = export_with_short_lifetime(orm, shredder_api, slow_shredder)
    time.sleep(LIFETIME_SECONDS + 0.3)
    expired = {"detail": "This export has expired."}
    for when in ("before the cleanup", "after the cleanup"):
        download = shredder_api.download(urls["download"])
        assert (download.status_code, download.json()) == (404, expired), f"{when}: {describe(download)}"
        shred = shredder_api.shred(urls["shred"])
        assert (shred.status_code, shred.json()) == (404, expired), f"{when}: {describe(shred)}"
        assert file_of(orm, seeded_event, public_id)["shred_state"] == ""
        if when == "before the cleanup":
            assert orm.call("clean_cached_files")["deleted"] >= 1
            assert file_of(orm, seeded_event, public_id)["file_id"] is None
    outcome = assert_invariant(orm, seeded_event, shredder_api, urls, SHREDDERS)
    print(f"\nlifetime passed before the shred POST: 404 {expired['detail']!r}; {outcome}")
    assert outcome == Outcome(data="intact", export="not available", status="not started")
