"""The completing shredders on their own: what the log shredder recognises in log entries of any type, and what it
leaves alone."""

import json

import pytest
from pretix.base.models import LogEntry

from pretix_shredder_api.shredders import LogEntryShredder, OrderNotesShredder, offered, run_order

pytestmark = pytest.mark.django_db


def files_of(shredder) -> dict:
    return {name: json.loads(content) for name, _type, content in shredder.generate_files()}


def test_log_entries_of_any_type_are_blanked_where_they_hold_personal_data(event, orders):
    event.settings.contact_mail = "office@bigevents.example"
    order = orders[0]
    custom = order.log_action(
        "pretix.plugins.crm.synced",  # a type no shredder knows
        data={"remote": {"note": f"Synced {order.email} to CRM"}, "attendee": "Attendee ORD0", "status": 3},
    )
    mail = order.log_action("pretix.event.order.email.order_paid", data={"to": [order.email], "subject": "Paid"})
    settings = event.log_action("pretix.event.settings", data={"contact_mail": "office@bigevents.example"})
    quota = event.quotas.create(name="Main", size=100)
    untouched = quota.log_action("pretix.event.quota.added", data={"name": "Main", "size": 100})

    shredder = LogEntryShredder(event)
    exported = files_of(shredder)["log-entries.json"]
    assert set(exported) == {str(custom.pk), str(mail.pk)}
    assert exported[str(custom.pk)]["action_type"] == "pretix.plugins.crm.synced"
    assert exported[str(custom.pk)]["data"]["remote"]["note"] == "Synced buyer0@example.org to CRM"

    shredder.shred_data()
    custom = LogEntry.objects.get(pk=custom.pk)
    assert custom.parsed_data == {"remote": {"note": "█"}, "attendee": "█", "status": 3}
    assert custom.shredded
    assert LogEntry.objects.get(pk=mail.pk).parsed_data == {"to": ["█"], "subject": "Paid"}
    # the organizer's published address and the set-up of the event are not personal data
    for le in (settings, untouched):
        le2 = LogEntry.objects.get(pk=le.pk)
        assert (le2.data, le2.shredded) == (le.data, False)
    assert LogEntry.objects.count() == 4  # changed in place, nothing new written


def test_notes_shredder_exports_and_removes_exactly_the_notes(event, orders):
    orders[1].comment = "VIP, knows the CEO"
    orders[1].api_meta = {"crm_id": "4711-Bergmann"}
    orders[1].save()
    shredder = OrderNotesShredder(event)
    assert files_of(shredder)["order-notes.json"] == {
        orders[1].code: {"comment": "VIP, knows the CEO", "api_meta": {"crm_id": "4711-Bergmann"}}
    }
    shredder.shred_data()
    orders[1].refresh_from_db()
    assert (orders[1].comment, orders[1].api_meta, orders[1].email) == ("", {}, "buyer1@example.org")
    assert files_of(shredder)["order-notes.json"] == {}


def test_offered_is_the_registry_plus_ours_and_the_log_shredder_runs_first(event):
    offered_ids = list(offered(event))
    assert set(event.get_data_shredders()) < set(offered_ids)
    ordered = run_order([offered(event)[i] for i in ("order_emails", "log_personal_data", "invoices")])
    assert [s.identifier for s in ordered] == ["log_personal_data", "order_emails", "invoices"]
