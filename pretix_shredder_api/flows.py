"""Starting work: the one door through which the API, the control-panel pages and the retention scheduler set an
export or a shred in motion, so that every guard in ``jobs`` holds for a policy as for a person.

Above both ``jobs`` (the rules and the record) and ``tasks`` (the Celery entry points): ``jobs`` imports neither.
"""

from datetime import timedelta

from . import jobs, tasks
from .models import ShredderJob


def start_export(
    event, identity: jobs.Identity, shredder_ids: list[str], *, expires_in: timedelta = None
) -> ShredderJob:
    """Check pretix's constraints, create the job and queue its export. ``expires_in``: see
    ``jobs.create_export_job``."""
    jobs.check_event_constraints(event)
    job = jobs.create_export_job(event, identity, shredder_ids, expires_in=expires_in)
    enqueue(job, "export")
    return job


def request_shred(job: ShredderJob, confirm_code=None) -> ShredderJob:
    """Start the shred of a finished export, or return the job unchanged if its shred is already under way."""
    if jobs.check_shred_request(job, confirm_code) and jobs.claim_shred_start(job):
        enqueue(job, "shred")
        job.refresh_from_db()
    return job


def enqueue(job: ShredderJob, phase: str) -> None:
    try:
        if phase == "export":
            tasks.run_export.apply_async(args=(job.event_id, job.pk))
        else:
            tasks.run_shred.apply_async(args=(job.event_id, job.pk, job.shred_attempt))
    except Exception:
        jobs.not_queued(job, phase)
