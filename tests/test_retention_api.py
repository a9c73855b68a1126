"""The retention API: organizer and event policy (GET, PATCH), the schedule (GET, download, cancel, postpone), and
the auth matrix of every endpoint."""

from datetime import timedelta

import pytest
from freezegun import freeze_time
from pretix.base.models import LogEntry
from rest_framework.test import APIClient

from pretix_shredder_api import retention

from .conftest import make_team, oauth_client, token_client

pytestmark = pytest.mark.django_db

ORG_POLICY = "/api/v1/organizers/bigevents/shredder-policy/"
DEFAULT = {"enabled": False, "shredders": [], "days_after_event": 30, "notice_days": 7}
ACTIVE = {"enabled": True, "shredders": ["order_emails"], "days_after_event": 40, "notice_days": 7}


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
    settings_team = make_team(organizer, limit_organizer_permissions={"organizer.settings.general:write": True})
    writer = token_client(settings_team.tokens.create(name="settings"))
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
