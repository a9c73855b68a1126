"""Small helpers shared by the in-process test modules."""

from datetime import timedelta

from django.utils.timezone import now

from pretix_shredder_api.models import ShredderJob

from .conftest import SHREDDER_BASE


def job_url(job, kind: str, event=None) -> str:
    event = event or job.event
    return SHREDDER_BASE.format(o=event.organizer.slug, e=event.slug) + f"{kind}/{job.public_id}/{job.secret}/"


def start_export(client, base_url: str, shredders=("order_emails",)):
    """POST an export and return the job it created (eager mode: it has already run)."""
    before = set(ShredderJob.objects.values_list("pk", flat=True))
    resp = client.post(base_url + "export/", {"shredders": list(shredders)}, format="json")
    assert resp.status_code == 202, resp.content
    return ShredderJob.objects.exclude(pk__in=before).get()


def set_state(job, **fields):
    """Put a job into a state directly, as a worker in another process would have left it."""
    ShredderJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def fresh():
    return now() - timedelta(seconds=5)


def long_ago():
    return now() - timedelta(hours=3)
