"""Log texts (pretix's log entry type registry) for every action type the plugin writes, naming who acted."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils.timezone import now
from pretix.base.models import CachedFile, LogEntry
from pretix.base.services.shredder import export as pretix_export
from pretix.base.services.shredder import shred as pretix_shred

from .conftest import oauth_client
from .helpers import job_url, start_export

pytestmark = pytest.mark.django_db


def texts(event):
    return [(e.action_type, e.display()) for e in LogEntry.objects.filter(event=event).order_by("pk")]


def test_api_shred_texts_name_the_token_and_the_shredders(client, base_url, orders, event):
    job = start_export(client, base_url, ["order_emails", "attendee_info"])
    client.post(job_url(job, "shred"), format="json")
    who = "API token “GDPR tooling” of team “Team”"
    assert texts(event) == [
        (
            "pretix.event.shredder.started",
            f"{who} started removing personal data through the data shredder API (Emails, Attendee info).",
        ),
        (
            "pretix.event.shredder.completed",
            f"{who} removed personal data through the data shredder API (Emails, Attendee info).",
        ),
    ]


def test_failed_shred_text_names_the_oauth_application_and_the_reason(user, organizer, base_url, orders, event):
    app = oauth_client(user, organizer, "read write", name="GDPR app")
    job = start_export(app, base_url)
    event.log_action("pretix.event.changed", data={})
    app.post(job_url(job, "shred"), format="json")
    assert texts(event)[-1] == (
        "pretix_shredder_api.shred.failed",
        "Removing personal data through the data shredder API (Emails), started by Application “GDPR app” for "
        "admin@example.org, failed: Something happened in your event after the export, please try again.",
    )


def test_control_panel_shreds_keep_pretix_text(user, orders, event):
    cf = CachedFile.objects.create(date=now(), expires=now() + timedelta(hours=1), filename="x.zip")
    pretix_export.apply(args=(event.pk, ["order_emails"], "session", str(cf.pk)))
    pretix_shred.apply(kwargs={"event": event.pk, "fileid": str(cf.pk), "confirm_code": True, "user": user.pk})
    assert texts(event) == [
        ("pretix.event.shredder.started", "A removal process for personal data has been started."),
        ("pretix.event.shredder.completed", "A removal process for personal data has been completed."),
    ]


def test_event_log_page_shows_our_texts_and_links_the_event_page(user, session_client, base_url, orders, event):
    event.enable_plugin("pretix_shredder_api")
    event.save()
    job = start_export(session_client, base_url)
    session_client.post(job_url(job, "shred"), format="json")
    c = Client()
    c.login(email="admin@example.org", password="secret-password-123")
    html = c.get("/control/event/bigevents/sampleconf/logs/").content.decode()
    assert "admin@example.org removed personal data through the data shredder API (Emails)." in html
    assert 'href="/control/event/bigevents/sampleconf/shredder-api/"' in html
