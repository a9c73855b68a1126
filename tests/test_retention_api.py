"""The retention API: organizer and event policy (GET, PATCH), the schedule (GET, download, cancel, postpone), and
the auth matrix of every endpoint."""

from datetime import timedelta

import pytest
from django.utils.formats import date_format
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.base.models import CachedFile, LogEntry
from rest_framework.test import APIClient

from pretix_shredder_api import retention

from .conftest import make_team, oauth_client, token_client

pytestmark = pytest.mark.django_db

ORG_POLICY = "/api/v1/organizers/bigevents/shredder-policy/"
DEFAULT = {"enabled": False, "shredders": [], "days_after_event": 30, "notice_days": 7, "mode": "event", "hold": {}}
ACTIVE = {
    "enabled": True,
    "shredders": ["order_emails"],
    "days_after_event": 40,
    "notice_days": 7,
    "mode": "event",
    "hold": {},
}


@pytest.fixture
def org_client(organizer):
    """A token of a team with all organizer and event permissions (the organizer's settings included)."""
    team = make_team(organizer, all_event_permissions=True, all_organizer_permissions=True)
    return token_client(team.tokens.create(name="Organizer admin"))


@pytest.fixture
def ev_policy(base_url):
    return base_url + "policy/"


@pytest.fixture
def schedule_url(base_url):
    return base_url + "schedule/"


@pytest.fixture
def noticed(organizer, event, orders, user):
    """A schedule whose notice went out: the export is made, due in ~10 days."""
    retention.update_policy(organizer, ACTIVE)
    organizer.settings.flush()
    s = retention.create_schedule(event)
    with freeze_time(s.notice_at + timedelta(minutes=1)):
        retention.advance(s.pk)
    s.refresh_from_db()
    assert s.state == "noticed"
    return s


# -- organizer policy --------------------------------------------------------------------------------------------------


def test_organizer_policy_is_off_by_default(client):
    resp = client.get(ORG_POLICY)
    assert resp.status_code == 200
    assert resp.json() == DEFAULT


def test_organizer_policy_patch_stores_logs_and_answers_the_policy(org_client, organizer):
    resp = org_client.patch(ORG_POLICY, ACTIVE, format="json")
    assert resp.status_code == 200
    assert resp.json() == ACTIVE
    assert org_client.get(ORG_POLICY).json() == ACTIVE
    entry = LogEntry.objects.get(action_type="pretix_shredder_api.policy.changed")
    assert (entry.organizer_id, entry.event, entry.api_token.name) == (organizer.pk, None, "Organizer admin")
    assert entry.parsed_data == {"policy": ACTIVE}


def test_organizer_policy_partial_patch_keeps_the_rest(org_client):
    org_client.patch(ORG_POLICY, ACTIVE, format="json")
    resp = org_client.patch(ORG_POLICY, {"notice_days": 3}, format="json")
    assert resp.status_code == 200 and resp.json() == {**ACTIVE, "notice_days": 3}


@pytest.mark.parametrize(
    "body,errors",
    [
        ({"enabled": True}, {"shredders": ["Please name at least one data shredder for an active policy."]}),
        (
            {"days_after_event": 3, "notice_days": 5},
            {"notice_days": ["The notice period cannot be longer than the days after the event."]},
        ),
        ({"days_after_event": -1}, {"days_after_event": ["Ensure this value is greater than or equal to 0."]}),
        ({"enabled": "perhaps"}, {"enabled": ["Must be a valid boolean."]}),
        ({"shredders": "order_emails"}, {"shredders": ['Expected a list of items but got type "str".']}),
    ],
)
def test_organizer_policy_bad_input_is_400_and_nothing_changes(client, org_client, body, errors):
    resp = org_client.patch(ORG_POLICY, body, format="json")
    assert resp.status_code == 400
    assert resp.json() == errors
    assert org_client.get(ORG_POLICY).json() == DEFAULT


def test_organizer_policy_auth_matrix(organizer, foreign_client, device_client, readonly_client):
    assert APIClient().get(ORG_POLICY).status_code == 401
    assert APIClient().patch(ORG_POLICY, ACTIVE, format="json").status_code == 401
    # read: any credential of the organizer (as pretix's organizer settings); write: organizer settings permission
    assert readonly_client.get(ORG_POLICY).status_code == 200
    assert readonly_client.patch(ORG_POLICY, ACTIVE, format="json").status_code == 403
    assert foreign_client.get(ORG_POLICY).status_code == 403
    assert foreign_client.patch(ORG_POLICY, ACTIVE, format="json").status_code == 403
    for method in ("get", "patch"):
        resp = getattr(device_client, method)(ORG_POLICY, ACTIVE, format="json")
        assert resp.status_code == 403 and resp.json() == {"detail": "Devices may not use the data shredder."}
    # write: organizer settings and a team with all events and "change orders" (tests/test_retention_permissions.py)
    writer = token_client(
        make_team(
            organizer,
            limit_organizer_permissions={"organizer.settings.general:write": True},
            limit_event_permissions={"event.orders:write": True},
        ).tokens.create(name="settings and orders")
    )
    assert writer.patch(ORG_POLICY, ACTIVE, format="json").status_code == 200


def test_organizer_policy_oauth_scopes(user, organizer):
    make_team(organizer, all_organizer_permissions=True).members.add(user)
    assert oauth_client(user, organizer, "read").get(ORG_POLICY).status_code == 200
    assert oauth_client(user, organizer, "read", name="r2").patch(ORG_POLICY, ACTIVE, format="json").status_code == 403
    assert oauth_client(user, organizer, "write", name="w").patch(ORG_POLICY, ACTIVE, format="json").status_code == 200


# -- event policy ------------------------------------------------------------------------------------------------------


def test_event_policy_inherits_the_organizers(client, org_client, ev_policy):
    org_client.patch(ORG_POLICY, ACTIVE, format="json")
    resp = client.get(ev_policy)
    assert resp.status_code == 200
    assert resp.json() == {**ACTIVE, "overridden": []}


def test_event_policy_override_and_back(client, org_client, ev_policy, event):
    org_client.patch(ORG_POLICY, ACTIVE, format="json")
    resp = client.patch(ev_policy, {"days_after_event": 90}, format="json")
    assert resp.status_code == 200
    assert resp.json() == {**ACTIVE, "days_after_event": 90, "overridden": ["days_after_event"]}
    resp = client.patch(ev_policy, {"enabled": False}, format="json")
    assert resp.json() == {
        **ACTIVE,
        "enabled": False,
        "days_after_event": 90,
        "overridden": ["enabled", "days_after_event"],
    }
    # null: the organizer's value applies again
    resp = client.patch(ev_policy, {"days_after_event": None, "enabled": None}, format="json")
    assert resp.json() == {**ACTIVE, "overridden": []}
    # logged with this plugin's action type: not a change of the event's data
    assert LogEntry.objects.filter(event=event, action_type="pretix_shredder_api.policy.changed").count() == 3


@pytest.mark.parametrize(
    "body,errors",
    [
        ({"shredders": ["nope"]}, {"shredders": ['"nope" is not a known data shredder for this event.']}),
        (
            {"enabled": True, "shredders": []},
            {"shredders": ["Please name at least one data shredder for an active policy."]},
        ),
        ({"notice_days": 31}, {"notice_days": ["The notice period cannot be longer than the days after the event."]}),
    ],
)
def test_event_policy_bad_input_is_400(client, ev_policy, body, errors):
    resp = client.patch(ev_policy, body, format="json")
    assert resp.status_code == 400
    assert resp.json() == errors
    assert client.get(ev_policy).json()["overridden"] == []


def test_event_policy_auth_matrix(ev_policy, organizer, readonly_client, foreign_client, device_client):
    assert APIClient().get(ev_policy).status_code == 401
    assert readonly_client.get(ev_policy).status_code == 200
    assert readonly_client.patch(ev_policy, {"notice_days": 1}, format="json").status_code == 403
    assert foreign_client.get(ev_policy).status_code == 403
    resp = device_client.get(ev_policy)
    assert resp.status_code == 403 and resp.json() == {"detail": "Devices may not use the data shredder."}
    # changing deletion as a setting needs both the settings and the orders permission
    orders_only = token_client(
        make_team(organizer, limit_event_permissions={"event.orders:write": True}).tokens.create(name="o")
    )
    assert orders_only.patch(ev_policy, {"notice_days": 1}, format="json").status_code == 403
    settings_only = token_client(
        make_team(organizer, limit_event_permissions={"event.settings.general:write": True}).tokens.create(name="s")
    )
    assert settings_only.patch(ev_policy, {"notice_days": 1}, format="json").status_code == 403
    both = token_client(
        make_team(
            organizer, limit_event_permissions={"event.settings.general:write": True, "event.orders:write": True}
        ).tokens.create(name="b")
    )
    assert both.patch(ev_policy, {"notice_days": 1}, format="json").status_code == 200


# -- schedule ----------------------------------------------------------------------------------------------------------


def test_no_schedule_is_404(client, schedule_url):
    for resp in (
        client.get(schedule_url),
        client.get(schedule_url + "download/"),
        client.post(schedule_url + "cancel/", format="json"),
        client.post(schedule_url + "postpone/", {"date": "2099-01-01"}, format="json"),
    ):
        assert resp.status_code == 404
        assert resp.json() == {"detail": "No shred is scheduled for this event."}


def test_download_of_the_scheduled_export(client, schedule_url, noticed):
    resp = client.get(schedule_url + "download/")
    assert resp.status_code == 200
    assert resp["Content-Type"] == "application/zip"
    assert resp["ETag"] == f'"{noticed.job.file_sha256}"'


@pytest.mark.parametrize(
    "date,error",
    [
        ("tomorrow", "Please give a date as YYYY-MM-DD or an ISO 8601 datetime."),
        ("2026-13-45", "Please give a date as YYYY-MM-DD or an ISO 8601 datetime."),
        ("2000-01-01", "Please choose a date after the current due date."),
    ],
)
def test_postpone_bad_date_is_400(client, schedule_url, noticed, date, error):
    resp = client.post(schedule_url + "postpone/", {"date": date}, format="json")
    assert resp.status_code == 400
    assert resp.json() == {"date": [error]}
    noticed.refresh_from_db()
    assert noticed.postponed_at is None


def test_postpone_without_date_is_400(client, schedule_url, noticed):
    resp = client.post(schedule_url + "postpone/", {}, format="json")
    assert resp.status_code == 400 and resp.json() == {"date": ["This field is required."]}


def test_postpone_with_a_datetime(client, schedule_url, noticed):
    until = (noticed.due + timedelta(days=3)).replace(microsecond=0)
    resp = client.post(schedule_url + "postpone/", {"date": until.isoformat()}, format="json")
    assert resp.status_code == 200
    assert resp.json()["due"] == until.isoformat()


def test_cancel_then_postpone_is_409(client, schedule_url, noticed):
    assert client.post(schedule_url + "cancel/", format="json").status_code == 200
    resp = client.post(schedule_url + "postpone/", {"date": "2099-01-01"}, format="json")
    assert resp.status_code == 409
    assert resp.json() == {"detail": "This scheduled shred can no longer be postponed (it is cancelled)."}
    resp = client.post(schedule_url + "cancel/", format="json")
    assert resp.status_code == 409
    assert resp.json() == {"detail": "This scheduled shred can no longer be cancelled (it is cancelled)."}


def test_schedule_auth_matrix(schedule_url, noticed, readonly_client, foreign_client, device_client, organizer):
    anonymous = APIClient()
    for path, method in (("", "get"), ("download/", "get"), ("cancel/", "post"), ("postpone/", "post")):
        assert getattr(anonymous, method)(schedule_url + path).status_code == 401
        assert getattr(foreign_client, method)(schedule_url + path).status_code == 403
        resp = getattr(device_client, method)(schedule_url + path)
        assert resp.status_code == 403 and resp.json() == {"detail": "Devices may not use the data shredder."}
    # reading needs the orders read permission; downloading, cancelling and postponing the write one
    assert readonly_client.get(schedule_url).status_code == 200
    assert readonly_client.get(schedule_url + "download/").status_code == 403
    assert readonly_client.post(schedule_url + "cancel/", format="json").status_code == 403
    assert readonly_client.post(schedule_url + "postpone/", {"date": "2099-01-01"}, format="json").status_code == 403
    nothing = token_client(make_team(organizer, limit_event_permissions={}).tokens.create(name="n"))
    assert nothing.get(schedule_url).status_code == 403
    noticed.refresh_from_db()
    assert noticed.state == "noticed" and noticed.postponed_at is None


# -- issue 19: postpone dates with bounds (finding 3) --------------------------------------------------------------


def _unchanged(s, before):
    s.refresh_from_db()
    assert (s.due, s.notice_at, s.postponed_at, s.version) == before
    assert not LogEntry.objects.filter(action_type="pretix_shredder_api.schedule.postponed").exists()


@pytest.mark.parametrize(
    "date", ["9999-12-31T23:59:59+00:00", "9999-12-31T23:00:00-12:00", "0001-01-01T00:00:00+14:00"]
)
def test_postpone_to_the_end_of_the_calendar_is_400_and_changes_nothing(client, schedule_url, noticed, date):
    expires = CachedFile.objects.get(pk=noticed.job.file_id).expires
    before = (noticed.due, noticed.notice_at, noticed.postponed_at, noticed.version)
    resp = client.post(schedule_url + "postpone/", {"date": date}, format="json")
    assert resp.status_code == 400
    assert resp.json() == {"date": ["This date is out of range."]}
    _unchanged(noticed, before)
    assert CachedFile.objects.get(pk=noticed.job.file_id).expires == expires


def test_postpone_at_most_a_year_beyond_the_due_date(client, schedule_url, noticed):
    before = (noticed.due, noticed.notice_at, noticed.postponed_at, noticed.version)
    latest = noticed.due + timedelta(days=365)
    message = (
        "Please choose a date at most 365 days after the current due date "
        f"(at the latest {date_format(latest, 'SHORT_DATETIME_FORMAT')} UTC)."  # with its time zone
    )
    for date in ("9999-12-31", (latest + timedelta(seconds=1)).isoformat()):
        resp = client.post(schedule_url + "postpone/", {"date": date}, format="json")
        assert resp.status_code == 400 and resp.json() == {"date": [message]}
    _unchanged(noticed, before)
    resp = client.post(schedule_url + "postpone/", {"date": latest.isoformat()}, format="json")
    assert resp.status_code == 200 and resp.json()["due"] == latest.isoformat()
    assert CachedFile.objects.get(pk=noticed.job.file_id).expires == latest + timedelta(hours=2)


def test_a_postpone_that_fails_midway_saves_nothing(noticed, monkeypatch):
    """The date, the export's expiry and the log entry are one transaction."""
    from pretix_shredder_api import jobs

    before = (noticed.due, noticed.notice_at, noticed.postponed_at, noticed.version)
    expires = CachedFile.objects.get(pk=noticed.job.file_id).expires

    def broken(*args, **kwargs):
        raise RuntimeError("storage gone")

    monkeypatch.setattr(jobs, "keep_export_until", broken)
    with pytest.raises(RuntimeError):
        retention.postpone(noticed, noticed.due + timedelta(days=3))
    _unchanged(noticed, before)
    assert CachedFile.objects.get(pk=noticed.job.file_id).expires == expires


# -- issue 19: the same validation on both levels (finding 5) -----------------------------------------------------


def test_organizer_policy_refuses_unknown_shredders(org_client, organizer):
    resp = org_client.patch(ORG_POLICY, {**ACTIVE, "shredders": ["order_emails", "no_such_shredder"]}, format="json")
    assert resp.status_code == 400
    assert resp.json() == {
        "shredders": ['"no_such_shredder" is not a known data shredder for the events of this organizer.']
    }
    assert org_client.get(ORG_POLICY).json() == DEFAULT


def test_organizer_policy_knows_the_shredders_of_its_events_plugins(org_client, organizer, event):
    body = {**ACTIVE, "shredders": ["slow_test_shredder"]}
    assert org_client.patch(ORG_POLICY, body, format="json").status_code == 400
    event.enable_plugin("pretix_shredder_testplugin")
    event.save()
    resp = org_client.patch(ORG_POLICY, body, format="json")
    assert resp.status_code == 200 and resp.json()["shredders"] == ["slow_test_shredder"]
    # and this plugin's own shredders, also for an organizer without events
    event.delete()
    resp = org_client.patch(ORG_POLICY, {"shredders": ["order_emails", "log_personal_data"]}, format="json")
    assert resp.status_code == 200


@pytest.mark.parametrize("body,got", [(["enabled", True], "list"), ("enabled", "str"), (42, "int"), ([ACTIVE], "list")])
def test_a_policy_body_that_is_not_an_object_is_400_on_both_levels(org_client, ev_policy, event, body, got):
    error = {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {got}."]}
    for url in (ORG_POLICY, ev_policy):
        resp = org_client.patch(url, body, format="json")
        assert resp.status_code == 400 and resp.json() == error
    assert org_client.get(ORG_POLICY).json() == DEFAULT
    assert not LogEntry.objects.filter(action_type="pretix_shredder_api.policy.changed").exists()


# -- issue 19: a cancelled schedule's export is deleted at once (finding 7) ---------------------------------------


def test_cancel_deletes_the_export(client, schedule_url, noticed):
    cf = CachedFile.objects.get(pk=noticed.job.file_id)
    storage, name = cf.file.storage, cf.file.name
    assert storage.exists(name)
    assert client.post(schedule_url + "cancel/", format="json").status_code == 200
    resp = client.get(schedule_url + "download/")
    assert resp.status_code == 404
    assert resp.json() == {"detail": "This scheduled shred was cancelled; its export has been deleted."}
    assert not CachedFile.objects.filter(pk=cf.pk).exists() and not storage.exists(name)
    noticed.job.refresh_from_db()
    assert noticed.job.file_id is None and noticed.job.shred_state == ""


def test_an_export_still_running_at_the_cancel_is_deleted_by_the_next_run(client, schedule_url, noticed):
    from pretix_shredder_api.models import ShredderJob

    job = noticed.job
    ShredderJob.objects.filter(pk=job.pk).update(export_state="running", export_heartbeat=now())
    assert client.post(schedule_url + "cancel/", format="json").status_code == 200
    assert CachedFile.objects.filter(pk=job.file_id).exists()  # the task still writes it
    assert client.get(schedule_url + "download/").status_code == 404
    ShredderJob.objects.filter(pk=job.pk).update(export_state="succeeded")  # the task has finished
    retention.run_schedule()
    assert not CachedFile.objects.filter(pk=job.file_id).exists()
