"""Celery entry points. They take ids, claim the job, do the work, and record progress, heartbeat and outcome.

Every decision (may this run? has the event changed? which shredders?) is asked of ``jobs``.
"""

import inspect
import logging
import threading
import time

from django.db import InterfaceError, OperationalError, connection
from django.utils.timezone import now
from pretix.base.i18n import language
from pretix.base.services.tasks import OrganizerTask, ProfiledEventTask
from pretix.base.shredder import ShredError
from pretix.celery_app import app

from . import archive, jobs, persons, residual
from .models import PersonRequest, ShredderJob

logger = logging.getLogger(__name__)

CONNECTION_ERRORS = (OperationalError, InterfaceError)  # the database went away or cut this connection
RECORD_RETRY_SECONDS = 30


def record_outcome(record, *args) -> None:
    """Write a job's outcome. When the database connection was lost (often the very error that ended the work),
    reconnect and try again for up to ``RECORD_RETRY_SECONDS``; after that the job is left to the stale-job check,
    which reports it failed once its heartbeat is old."""
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    while True:
        try:
            record(*args)
            return
        except CONNECTION_ERRORS:
            if time.monotonic() >= deadline:
                raise
            logger.warning("Could not record the outcome of a shredder job; reconnecting to the database")
            connection.close()
            time.sleep(1)


class Heartbeat:
    """Touches a job's heartbeat column from a background thread while a process works on the job.

    That process is a Celery worker, or - in eager mode, without a broker - the web process serving the request. If
    it dies, the heartbeat stops and ``jobs`` reports the job failed once it is stale.
    """

    def __init__(self, queryset, column: str):
        self.queryset = queryset
        self.column = column
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shredder-api-heartbeat", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        try:
            while not self._stop.wait(jobs.heartbeat_interval()):
                try:
                    self.queryset.update(**{self.column: now()})
                except Exception:  # a missed beat is not fatal; a stopped worker is what we detect
                    logger.warning("Could not record the heartbeat of a shredder job", exc_info=True)
        finally:
            connection.close()


class Progress:
    """Records a phase's percentage (and heartbeat) when it grows, at most once per ``min_interval`` seconds.

    Shredders report 0-100 per part (pretix's own ``slow_update`` reports fractions of 1, which then show as slow
    progress); the recorded value never goes down, so a client never sees a job move backwards. pretix's shredders
    report after every row, so writes are throttled: a poll sees the value of the last second, and the work does
    not pay for hundreds of UPDATEs. The first report of a new part, and a call with ``extra`` fields (a new step),
    are always written, so a value that is followed by a long silence (a slow shredder starting) is not lost.
    """

    def __init__(self, queryset, prefix: str, parts: int = 1, min_interval: float = 1.0, clock=time.monotonic):
        self.queryset = queryset
        self.prefix = prefix
        self.parts = max(parts, 1)
        self.min_interval = min_interval
        self.clock = clock
        self.best = -1  # the highest value reported so far
        self.recorded = -1  # the highest value written
        self.written_at = None
        self.written_part = -1

    def __call__(self, percentage, part: int = 0, extra=None):
        value = int((part + min(max(percentage, 0), 100) / 100) * 100 / self.parts)
        self.best = max(self.best, value)
        due = part > self.written_part or self.clock() - self.written_at >= self.min_interval
        if extra is not None or (due and self.best > self.recorded):
            fields = {f"{self.prefix}_progress": min(self.best, 99), f"{self.prefix}_heartbeat": now()}
            if extra is not None:
                fields.update(extra)
            self.queryset.update(**fields)
            self.recorded = self.best
            self.written_at = self.clock()
            self.written_part = max(self.written_part, part)

    def callback_for(self, part: int):
        return lambda percentage: self(percentage, part)

    def start_part(self, part: int) -> None:
        """A part begins (0 % of it)."""
        self(0, part)


@app.task(base=ProfiledEventTask, bind=True, throws=(ShredError,))
def run_export(self, event, job_id: int) -> None:
    if not jobs.claim_export(job_id):
        return
    job = ShredderJob.objects.select_related("file").get(pk=job_id)
    job.event = event  # the task's instance (organizer loaded, settings cached) serves the shredders, as in pretix
    row = ShredderJob.objects.filter(pk=job_id)
    with language(job.locale), Heartbeat(row, "export_heartbeat"):
        try:
            if job.file is None:
                raise ShredError(jobs.MSG_FILE_GONE)
            shredders = jobs.shredders_for(job)
            exported_at = now()
            code = archive.new_confirm_code()
            index = archive.index_data(event, job.shredders, exported_at, code, scope=jobs.scope_of(job))
            progress = Progress(row, "export", parts=len(shredders))
            checksum = archive.build_into_cachedfile(
                job.file,
                f"{event.slug}.zip",
                index,
                shredders,
                on_shredder=progress.start_part,
                progress_for=progress.callback_for,
            )
            jobs.export_succeeded(job_id, checksum=checksum, confirm_code=code, exported_at=exported_at)
        except (ShredError, jobs.JobError) as e:
            record_outcome(jobs.export_failed, job_id, str(e))
        except archive.StorageError:  # nothing was stored, so nothing can be served
            logger.exception("Export of shredder job %s could not be stored", job_id)
            record_outcome(jobs.export_failed, job_id, str(jobs.MSG_STORAGE))
        except CONNECTION_ERRORS:
            logger.exception("Export of shredder job %s lost its database connection", job_id)
            record_outcome(jobs.export_failed, job_id, str(jobs.MSG_EXPORT_DB_LOST))
            raise
        except Exception:
            logger.exception("Export of shredder job %s failed", job_id)
            record_outcome(jobs.export_failed, job_id, str(jobs.MSG_INTERNAL))
            raise


@app.task(base=ProfiledEventTask, bind=True, throws=(ShredError,))
def run_shred(self, event, job_id: int, attempt: str) -> None:
    if not jobs.claim_shred(job_id, attempt):
        return
    job = ShredderJob.objects.select_related("file", "api_token", "oauth_application", "user").get(pk=job_id)
    job.event = event
    row = ShredderJob.objects.filter(pk=job_id, shred_attempt=attempt)
    with language(job.locale), Heartbeat(row, "shred_heartbeat"):
        try:
            jobs.require_export_file(job)
            jobs.check_constraints(job.event, jobs.scope_of(job))
            jobs.check_unchanged_since_export(job)
            shredders = jobs.shredders_for(job)
            jobs.log_shred(job, "pretix.event.shredder.started")
            _shred_all(job, attempt, shredders, Progress(row, "shred", parts=len(shredders)))
        except (ShredError, jobs.JobError) as e:
            record_outcome(jobs.shred_failed, job_id, attempt, str(e))
        except CONNECTION_ERRORS:
            logger.exception("Shred of shredder job %s lost its database connection", job_id)
            record_outcome(jobs.shred_failed, job_id, attempt, str(jobs.MSG_SHRED_DB_LOST))
            raise
        except Exception:
            logger.exception("Shred of shredder job %s failed", job_id)
            record_outcome(jobs.shred_failed, job_id, attempt, str(jobs.MSG_INTERNAL))
            raise


def _shred_all(job: ShredderJob, attempt: str, shredders: list, progress: Progress) -> None:
    steps = [{"label": str(s.verbose_name), "done": False} for s in shredders]
    started = time.monotonic()
    # Before any shredder runs: the event's personal values (in memory only), also those in the export file, which
    # still holds what a first, interrupted attempt of this shred may already have deleted.
    scope = jobs.scope_of(job)
    before = residual.collect(job.event, export_file=job.file, scope=scope)
    scan_seconds = time.monotonic() - started
    for shredder in shredders:
        if hasattr(shredder, "extra_values"):
            shredder.extra_values = before
    for i, shredder in enumerate(shredders):
        progress(0, i, extra={"shred_steps": steps})
        if "progress_callback" in inspect.signature(shredder.shred_data).parameters:
            shredder.shred_data(progress_callback=progress.callback_for(i))
        else:
            shredder.shred_data()
        steps[i]["done"] = True
    started = time.monotonic()
    report = residual.scan(job.event, before, scope=scope)
    jobs.record_residual(job.pk, attempt, report, scan_seconds + time.monotonic() - started)
    jobs.shred_succeeded(job, attempt, steps)


@app.task(base=OrganizerTask, bind=True)
def run_person_step(self, organizer, request_id: int, step: str) -> None:
    """One step of a request of one person: ``find``, ``export`` or ``erase`` (``persons`` decides and records)."""
    req = PersonRequest.objects.select_related("organizer", "api_token", "oauth_application", "user").filter(
        pk=request_id, organizer=organizer
    )
    req = req.first()
    if req is None:
        return
    with language(req.locale):
        try:
            steps = {"find": persons.find, "export": persons.export, "erase": persons.erase}
            steps["erase_blocked"] = persons.erase_blocked
            steps[step](req)
        except Exception:
            logger.exception("The %s step of person request %s failed", step, request_id)
            record_outcome(persons.fail, request_id, "internal")
