"""Starting work: the one door through which the API, the control-panel pages and the retention scheduler set an
export or a shred in motion, so that every guard in ``jobs`` holds for a policy as for a person.

Above both ``jobs`` (the rules and the record) and ``tasks`` (the Celery entry points): ``jobs`` imports neither.
"""

from datetime import timedelta

from . import jobs, scopes, tasks
from .models import ShredderJob


def start_export(
    event, identity: jobs.Identity, shredder_ids: list[str], *, expires_in: timedelta = None, scope=None
) -> ShredderJob:
    """Check the constraints (pretix's for the whole event; for a scope below it, that its orders are over), create
    the job and queue its export. ``expires_in``, ``scope``: see ``jobs.create_export_job``."""
    scope = scope or scopes.WHOLE_EVENT
    jobs.check_constraints(event, scope)
    job = jobs.create_export_job(event, identity, shredder_ids, expires_in=expires_in, scope=scope)
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
