"""Retention per date (issue 21 item 4): the policy's "dates" mode, walked with freezegun through
``retention.run_schedule()`` on a live series (10 dates, 5 over) and on a shop without dates - each due date's orders
are exported, announced and shredded by their own schedule, nothing of the other orders changes, the shop stays
online, an order with a coming date waits."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.models import Item, LogEntry, OrderPosition

from pretix_shredder_api import labels, retention, retention_dates
from pretix_shredder_api.models import ScheduledShred, ShredderJob

from .conftest import make_event, make_team, token_client
from .scope_data import add_subevent, dump_orders, end_subevent, place_order, setup_series, values_for
from .test_erasure import database_hits
from .test_scopes import ALL_SCOPE_SHREDDERS

pytestmark = pytest.mark.django_db

DAYS, NOTICE = 10, 3
ENDED = (30, 25, 20, 15, 5)  # the five dates that are over ended this many days ago; five more are coming
ORG_POLICY = "/api/v1/organizers/bigevents/shredder-policy/"


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def clock():
    with freeze_time(now()) as frozen:
        yield frozen


@pytest.fixture
def org_client(organizer):
    """A token of a team with all organizer and event permissions (who may set the organizer's policy)."""
    team = make_team(organizer, all_event_permissions=True, all_organizer_permissions=True)
    return token_client(team.tokens.create(name="Organizer admin"))


@pytest.fixture
def series(clock, client, organizer, user):
    """A live series with 10 dates (5 over, 5 in 35 to 39 days), one order per date ("D0".."D9") and one order "M"
    on the first past and a coming date."""
    event = make_event(organizer, slug="season", has_subevents=True, live=True, date_from=now() - timedelta(days=60))
    item = event.items.create(name="Seat", default_price=Decimal("23.00"))
    questions = setup_series(event, item)
    dates = [add_subevent(event, item, f"Date {i}", 30 + i) for i in range(10)]
    codes = {f"D{i}": place_order(client, event, item, [se], f"D{i}", questions) for i, se in enumerate(dates)}
    codes["M"] = place_order(client, event, item, [dates[0], dates[7]], "M", questions)
    for se, days in zip(dates, ENDED, strict=False):
        end_subevent(se, days)
    djmail.outbox.clear()
    clock.tick(timedelta(minutes=1))  # the frozen clock: the orders' log entries come before any export
    return event, dates, codes


def set_policy(client, **fields):
    """The organizer's policy in the dates mode, through the API (``client``: ``org_client``)."""
    body = {"enabled": True, "shredders": ALL_SCOPE_SHREDDERS, "days_after_event": DAYS, "notice_days": NOTICE}
    body = {**body, "mode": "dates", **fields}
    resp = client.patch(ORG_POLICY, body, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"hold": {}, **body}


def values_of(*tags) -> dict:
    return {f"{t}.{k}": v for t in tags for k, v in values_for(t).items()}


def schedules(event):
    return list(ScheduledShred.objects.filter(event=event).order_by("pk"))


def test_each_due_date_is_shredded_by_its_schedule_and_nothing_else_changes(clock, client, org_client, series):
    event, dates, codes = series
    due_tags = [f"D{i}" for i in range(5)]
    other_codes = [codes[f"D{i}"] for i in range(5, 10)] + [codes["M"]]
    before = dump_orders(event, other_codes)
    assert set(database_hits(values_of(*due_tags))) >= {f"{t}.email_new" for t in due_tags}
    set_policy(org_client)
    t0 = now()

    # run 1: the first date ended 30 days ago, so the shred is due at once - but not before a full notice. The
    # schedule covers the orders over DAYS before its due date: the dates that ended 30, 25, 20, 15 days ago.
    retention.run_schedule()
    (first,) = schedules(event)
    assert (first.mode, first.state, first.due) == ("dates", "noticed", t0 + timedelta(days=NOTICE))
    assert sorted(first.scope["codes"]) == sorted(codes[f"D{i}"] for i in range(4))
    assert first.job.scope["orders"] == first.scope["orders"] and first.job.owner == "policy:bigevents"
    assert [m.subject for m in djmail.outbox] == [
        f"Personal data of {event.name} will be shredded on {labels.datetime_text(first.due, event.timezone)}"
    ]
    notice = LogEntry.objects.get(action_type="pretix_shredder_api.schedule.notice_sent", object_id=first.pk)
    assert (notice.parsed_data["mode"], notice.parsed_data["orders"]) == ("dates", 4)

    # not before the due date
    clock.move_to(first.due - timedelta(minutes=5))
    retention.run_schedule()
    assert database_hits(values_of("D0"))

    # the due date: the four dates' orders are shredded; the shop stays online
    clock.move_to(first.due + timedelta(minutes=5))
    retention.run_schedule()
    first.refresh_from_db()
    assert first.state == "done", (first.last_error, first.job.shred_message)
    job = ShredderJob.objects.get(pk=first.job_id)
    assert job.shred_state == "succeeded" and job.residual_values > 10
    assert job.residual_found == 0, job.residual_locations
    assert database_hits(values_of(*due_tags[:4])) == {}
    event.refresh_from_db()
    assert event.live

    # the next run plans the next: the date that ended 5 days before t0 is due DAYS after its end, and gets the
    # full notice from now
    assert retention.run_schedule()["created"] == 1
    second = schedules(event)[-1]
    assert second.pk != first.pk and second.scope["codes"] == [codes["D4"]]
    assert second.due == max(dates[4].date_to + timedelta(days=DAYS), now() + timedelta(days=NOTICE))
    clock.move_to(second.due + timedelta(minutes=5))
    retention.run_schedule()
    second.refresh_from_db()
    assert second.state == "done"
    assert ShredderJob.objects.get(pk=second.job_id).residual_found == 0

    # every due order holds 0 personal values; every row of the other orders (coming dates, and M with a past and a
    # coming date, which waits) is unchanged
    assert database_hits(values_of(*due_tags)) == {}
    assert dump_orders(event, other_codes) == before
    assert set(database_hits(values_of("M", "D5"))) >= {"M.email_new", "M.attendee", "D5.payer"}

    # nothing else is due: later runs plan nothing, until the next date is over
    clock.move_to(t0 + timedelta(days=7))
    assert retention.run_schedule()["created"] == 0
    assert [s.state for s in schedules(event)] == ["done", "done"]


def test_an_order_with_a_past_and_a_coming_date_waits_until_all_its_dates_are_over(clock, client, org_client, series):
    event, dates, codes = series
    set_policy(org_client)
    retention.run_schedule()
    for s in schedules(event):
        assert codes["M"] not in s.scope["codes"]
    # once its coming date (Date 7) is over and DAYS have passed, it is due with the dates that ended then
    for se in dates[5:]:
        end_subevent(se, 0)
    clock.move_to(now() + timedelta(days=60))
    for _run in range(6):
        retention.run_schedule()
        clock.move_to(now() + timedelta(days=NOTICE, minutes=5))
    assert [s.state for s in schedules(event)] == ["done"] * len(schedules(event))
    assert any(codes["M"] in s.scope["codes"] for s in schedules(event))
    assert database_hits(values_of("M", *[f"D{i}" for i in range(10)])) == {}


def test_cancelled_orders_are_not_planned_again_and_postpone_moves_the_shred(clock, client, org_client, series, token):
    event, dates, codes = series
    set_policy(org_client)
    retention.run_schedule()
    (first,) = schedules(event)
    api = token_client(token)
    url = f"/api/v1/organizers/bigevents/events/{event.slug}/shredders/schedule/"
    # postponed by two days: nothing is shredded at the old date; then an admin cancels
    new_day = (first.due + timedelta(days=2)).date()
    resp = api.post(url + "postpone/", {"date": new_day.isoformat()}, format="json")
    assert resp.status_code == 200, resp.content
    clock.move_to(first.due + timedelta(minutes=5))
    retention.run_schedule()
    assert ScheduledShred.objects.get(pk=first.pk).state == "noticed"
    assert api.post(url + "cancel/", format="json").json()["state"] == "cancelled"

    # the next run plans only the orders that were not in the cancelled schedule (D4 ended 5 days before)
    retention.run_schedule()
    second = schedules(event)[-1]
    assert second.pk != first.pk and second.scope["codes"] == [codes["D4"]]
    clock.move_to(second.due + timedelta(minutes=5))
    retention.run_schedule()
    assert ScheduledShred.objects.get(pk=second.pk).state == "done"
    assert set(database_hits(values_of("D0"))) and database_hits(values_of("D4")) == {}
    assert retention.run_schedule()["created"] == 0  # the cancelled orders stay


def test_a_mode_change_drops_the_schedule(clock, client, org_client, series):
    event, _dates, _codes = series
    set_policy(org_client, notice_days=5)
    retention.run_schedule()
    (s,) = schedules(event)
    resp = org_client.patch(ORG_POLICY, {"mode": "event"}, format="json")
    assert resp.status_code == 200
    retention.run_schedule()
    s.refresh_from_db()
    assert (s.state, s.last_error) == ("dropped", str(retention_dates.MSG_MODE_CHANGED))
    assert not ShredderJob.objects.filter(shred_state="succeeded").exists()
    # the series is not over (it has coming dates): the event mode plans nothing
    assert schedules(event) == [s]


def test_the_event_mode_does_not_plan_a_live_series(clock, client, org_client, series):
    event, _dates, _codes = series
    set_policy(org_client, mode="event")
    assert retention.run_schedule()["created"] == 0


def test_a_shop_without_dates_shreds_each_order_days_after_its_validity_ended(
    clock, client, org_client, organizer, user
):
    event = make_event(organizer, slug="museum", live=True, date_from=now() - timedelta(days=400))
    day_pass = event.items.create(
        name="Day pass", default_price=Decimal("9.00"), validity_mode=Item.VALIDITY_MODE_FIXED,
        validity_fixed_from=now() - timedelta(days=100), validity_fixed_until=now() - timedelta(days=60),
    )  # fmt: skip
    year_pass = event.items.create(name="Year pass", default_price=Decimal("90.00"))
    questions = setup_series(event, day_pass)
    questions[0].items.add(year_pass)
    event.quotas.create(name="All", size=100).items.add(day_pass, year_pass)
    old = place_order(client, event, day_pass, [None], "V1", questions)
    running = place_order(client, event, year_pass, [None], "V3", questions)
    OrderPosition.all.filter(order__code=running).update(valid_until=now() + timedelta(days=40))
    before = dump_orders(event, [running])
    clock.tick(timedelta(minutes=1))
    set_policy(org_client, shredders=[s for s in ALL_SCOPE_SHREDDERS if s != "waiting_list"])

    retention.run_schedule()
    (s,) = schedules(event)
    assert s.scope["kind"] == "validity" and s.scope["codes"] == [old]
    clock.move_to(s.due + timedelta(minutes=5))
    retention.run_schedule()
    s.refresh_from_db()
    assert s.state == "done" and ShredderJob.objects.get(pk=s.job_id).residual_found == 0
    assert database_hits(values_of("V1")) == {}
    assert dump_orders(event, [running]) == before

    # the year pass's validity ends: DAYS after it, with notice, it is shredded too
    clock.move_to(now() + timedelta(days=41))
    retention.run_schedule()
    second = schedules(event)[-1]
    assert (second.state, second.scope["codes"]) == ("scheduled", [running])
    valid_until = OrderPosition.all.get(order__code=running).valid_until
    assert second.due == valid_until + timedelta(days=DAYS)
    assert second.notice_at == second.due - timedelta(days=NOTICE)
    clock.move_to(second.notice_at + timedelta(minutes=1))
    retention.run_schedule()
    assert ScheduledShred.objects.get(pk=second.pk).state == "noticed"
    clock.move_to(second.due + timedelta(minutes=5))
    retention.run_schedule()
    assert ScheduledShred.objects.get(pk=second.pk).state == "done"
    assert database_hits(values_of("V3")) == {}


@pytest.mark.parametrize("mode", ["weekly", "", None, 3])
def test_an_unknown_mode_is_400_and_changes_nothing(org_client, organizer, mode):
    resp = org_client.patch(ORG_POLICY, {"mode": mode}, format="json")
    assert resp.status_code == 400 and "mode" in resp.json()
    assert retention.policy_of(organizer).mode == "event"
