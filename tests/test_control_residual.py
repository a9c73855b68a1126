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
    assert "pretixbase_" not in page and "<code>" not in page  # words, not identifiers (issue 22 item 7)
    rows = page[page.index('id="shredder-api-residual-locations"') :].split("</table>")[0].split("<tr>")[2:]
    order = next(r for r in rows if "<td>Orders<" in r and "<td>Email<" in r)
    assert 'data-shredder="order_emails"' in order and ">Emails</a>" in order
    assert 'href="/control/event/bigevents/sampleconf/shredder/"' in order  # where to act
    assert "The numbers differ because they count different sets" in page
    assert "buyer1@example.org" not in page  # locations, never values
    assert "Customer accounts belong to the organizer" in page

    job = start_export(client, base_url, shredders=("order_emails", "attendee_info"))
    assert client.post(job_url(job, "shred"), format="json").status_code == 202
    page = admin.get(PAGE).content.decode()
    assert "No personal values of this event are stored any more." in page
    assert "Complete: nothing left" in page
    assert "Emails, Attendee info" in page  # the shredders by their names, as in the event page


@pytest.mark.parametrize(
    "location, where, what, shredders",
    [
        ({"table": "pretixbase_orderpayment", "column": "info"}, "Order payment", "Payment information",
         ["Payment information", "Payment details"]),
        ({"table": "pretixbase_questionanswer", "column": "file:file"}, "Question answer", "File", None),
        ({"table": "pretixbase_logentry", "column": "data", "action_type": "pretix.event.order.placed"},
         "Log entries", "Data", ["Personal data in log entries"]),
    ],
)  # fmt: skip
def test_locations_in_words_with_the_shredder_that_removes_them(event, location, where, what, shredders):
    from pretix_shredder_api import locations
    from pretix_shredder_api.shredders import offered

    known = offered(event)
    described = locations.describe({**location, "count": 2}, known)
    assert (described["where"], described["what"]) == (where, what), described
    assert described["file"] is location["column"].endswith(":file")
    if shredders is not None:
        assert [name for _i, name in described["shredders"]] == shredders
    else:
        assert described["shredders"]
    if location.get("action_type"):
        assert described["log"] and "pretix." not in described["log"]
