"""A job belongs to its event and to the credential that started it; everyone else is told it does not exist."""

import pytest
from pretix.base.models import User

from .conftest import make_event, oauth_client
from .helpers import job_url, start_export

pytestmark = pytest.mark.django_db

NOT_FOUND = {"download": 404, "shred": 404, "status": 410}


def request(client, kind, url):
    return client.post(url, format="json") if kind == "shred" else client.get(url)


@pytest.fixture
def job(client, base_url, orders):
    return start_export(client, base_url)


@pytest.mark.parametrize("kind", ["download", "shred", "status"])
def test_another_token_of_the_same_team_is_told_not_found(kind, second_client, job):
    resp = request(second_client, kind, job_url(job, kind))
    assert resp.status_code == NOT_FOUND[kind]


@pytest.mark.parametrize("kind", ["download", "shred", "status"])
def test_other_organizer_under_its_own_event_url_is_told_not_found(kind, foreign_client, other_organizer, job):
    foreign_event = other_organizer.events.get()
    resp = request(foreign_client, kind, job_url(job, kind, event=foreign_event))
    assert resp.status_code == NOT_FOUND[kind]


@pytest.mark.parametrize("kind", ["download", "shred", "status"])
def test_owner_under_another_events_url_is_told_not_found(kind, client, organizer, job):
    other_event = make_event(organizer, slug="otherconf")
    resp = request(client, kind, job_url(job, kind, event=other_event))
    assert resp.status_code == NOT_FOUND[kind]


def test_not_found_bodies(second_client, job):
    assert second_client.get(job_url(job, "download")).json() == {"detail": "This export does not exist."}
    assert second_client.get(job_url(job, "status")).json() == {
        "status": "gone",
        "message": "We do not know about this process.",
    }


def test_nothing_happened_to_the_job_after_foreign_attempts(client, second_client, job):
    second_client.post(job_url(job, "shred"), format="json")
    job.refresh_from_db()
    assert job.shred_state == ""
    assert client.get(job_url(job, "download")).status_code == 200


def test_oauth_job_belongs_to_application_and_user(user, organizer, team, base_url, orders):
    owner = oauth_client(user, organizer, scope="read write", name="App A")
    job = start_export(owner, base_url)
    assert owner.get(job_url(job, "download")).status_code == 200

    other_app_same_user = oauth_client(user, organizer, scope="read write", name="App B")
    assert other_app_same_user.get(job_url(job, "download")).status_code == 404

    colleague = User.objects.create_user("colleague@example.org", "secret-password-123")
    team.members.add(colleague)
    same_app_other_user = oauth_client(colleague, organizer, scope="read write", app=owner.oauth_application)
    assert same_app_other_user.get(job_url(job, "download")).status_code == 404


def test_deleting_the_credential_never_hands_the_job_to_someone_else(user, organizer, session_client, base_url, orders):
    owner = oauth_client(user, organizer, scope="read write")
    job = start_export(owner, base_url)
    owner.oauth_application.delete()  # the job's foreign keys become NULL, leaving only its user
    job.refresh_from_db()
    assert job.oauth_application is None and job.user == user
    assert session_client.get(job_url(job, "download")).status_code == 404  # the same user, but by session


def test_session_job_belongs_to_the_user(session_client, client, team, base_url, orders):
    from rest_framework.test import APIClient

    job = start_export(session_client, base_url)
    assert session_client.get(job_url(job, "download")).status_code == 200
    assert client.get(job_url(job, "download")).status_code == 404  # a token of the same team

    colleague = User.objects.create_user("colleague@example.org", "secret-password-123")
    team.members.add(colleague)
    other = APIClient()
    other.force_login(colleague)
    assert other.get(job_url(job, "download")).status_code == 404


MALFORMED = [
    ("not-a-uuid", "also-not"),
    ("29891ede-196f-4942-9e26-d055a36e98b8", "zzzz"),
    ("29891ede-196f-4942-9e26-d055a36e98b8", "3f279f13-c198-4137-b49b-9b360ce9fcce"),
    ("1", "2"),
    ("%00", "%FF"),
    ("x" * 1000, "y"),
    ("%C3%A4%C3%B6", "%F0%9F%92%A5"),
    ("29891ede196f49429e26d055a36e98b8", "' OR 1=1 --"),
]


@pytest.mark.parametrize("ids", MALFORMED)
@pytest.mark.parametrize("kind", ["download", "shred", "status"])
def test_malformed_ids_are_never_a_500(kind, ids, client, base_url):
    url = base_url + f"{kind}/{ids[0]}/{ids[1]}/"
    resp = request(client, kind, url)
    assert resp.status_code == NOT_FOUND[kind]
    if kind == "status":
        assert resp.json() == {"status": "gone", "message": "We do not know about this process."}
    else:
        assert resp.json() == {"detail": "This export does not exist."}
