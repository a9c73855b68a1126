"""The control page "Personal data left in this event": the on-demand scan, checked shreds and the scope."""

import pytest
from django.test import Client

from .conftest import make_team
from .helpers import job_url, start_export

pytestmark = pytest.mark.django_db

PAGE = "/control/event/bigevents/sampleconf/shredder-api/residual/"


@pytest.fixture
def admin(user):
    c = Client()
    assert c.login(email="admin@example.org", password="secret-password-123")
    return c


@pytest.fixture
def enabled(event):
    event.enable_plugin("pretix_shredder_api")
    event.save()


def test_page_needs_the_plugin_enabled(admin, event):
    assert admin.get(PAGE).status_code == 404


def test_page_needs_orders_read(organizer, event, enabled):
    from pretix.base.models import User

    u = User.objects.create_user("settings@example.org", "secret-password-123")
    make_team(organizer, limit_event_permissions={"event.settings.general:write": True}).members.add(u)
    c = Client()
    assert c.login(email="settings@example.org", password="secret-password-123")
    assert c.get(PAGE).status_code == 403


def test_page_lists_what_is_left_and_then_that_nothing_is(admin, client, base_url, orders, enabled):
    page = admin.get(PAGE).content.decode()
    assert "9 personal values of this event are still stored." in page
    assert "<code>pretixbase_order</code>" in page and "<code>email</code>" in page
    assert "buyer1@example.org" not in page  # locations, never values
    assert "Customer accounts belong to the organizer" in page

    job = start_export(client, base_url, shredders=("order_emails", "attendee_info"))
    assert client.post(job_url(job, "shred"), format="json").status_code == 202
    page = admin.get(PAGE).content.decode()
    assert "No personal values of this event are stored any more." in page
    assert "Complete: nothing left" in page
    assert "Emails, Attendee info" in page  # the shredders by their names, as in the event page
