"""Starting work: the one door through which the API, the control-panel pages and the retention scheduler set an
export or a shred in motion, so that every guard in ``jobs`` holds for a policy as for a person.

Above both ``jobs`` (the rules and the record) and ``tasks`` (the Celery entry points): ``jobs`` imports neither.
"""

import logging
from datetime import timedelta

from . import jobs, persons, scopes, tasks
from .models import ShredderJob

logger = logging.getLogger(__name__)


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


# ---------------------------------------------------------------------------------------------------------------------
# Requests of one person (the rules are ``persons``'; here they are set in motion)

PERSON_STEPS = ("find", "export", "erase")


def start_person_request(organizer, identity: jobs.Identity, email: str, kind: str, locale: str):
    """Create the request and queue its finding (without a broker it has run when this returns)."""
    req = persons.create_request(organizer, identity, email, kind, locale)
    enqueue_person_step(req, "find")
    req.refresh_from_db()
    return req


def start_person_step(req, step: str):
    """Start the export or the erasure of a request; a repeated call while (or after) it runs starts nothing."""
    if step == "export":
        if persons.check_export(req) and persons.claim_export(req):
            enqueue_person_step(req, step)
    elif step == "erase":
        if persons.check_erase(req) and persons.claim_erase(req):
            enqueue_person_step(req, step)
    else:  # pragma: no cover - a programming error
        raise ValueError(step)
    req.refresh_from_db()
    return req


def enqueue_person_step(req, step: str) -> None:
    try:
        tasks.run_person_step.apply_async(args=(req.organizer_id, req.pk, step))
    except Exception:
        logger.exception("Could not queue the %s step of person request %s", step, req.pk)
        persons.fail(req.pk, "not_queued")


def run_person_follow_ups() -> int:
    """The periodic task's part: erase what erasures had to leave, where its event is over now."""
    started = 0
    for req in persons.due_follow_ups().select_related("organizer"):
        if persons.claim_follow_up(req):
            enqueue_person_step(req, "erase_blocked")
            started += 1
    return started
