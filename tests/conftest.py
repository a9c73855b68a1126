"""Fixtures for the in-process tests: organizers, a finished offline event with orders, and every kind of credential."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils.timezone import now
from django_scopes import scopes_disabled
from pretix.api.models import OAuthAccessToken, OAuthApplication
from pretix.base.models import Device, Event, Order, OrderPosition, Organizer, Team, User
from rest_framework.test import APIClient

SHREDDER_BASE = "/api/v1/organizers/{o}/events/{e}/shredders/"


@pytest.fixture(autouse=True)
def _no_scopes():
    with scopes_disabled():
        yield


PLUGIN = "pretix_shredder_api"


@pytest.fixture
def organizer():
    """Switched on for the organizer, as on an installation that used it before it became an event-and-organizer
    plugin (migration 0005); events still need their own switch (``event.enable_plugin``)."""
    return Organizer.objects.create(name="Big Events", slug="bigevents", plugins=PLUGIN)


@pytest.fixture
def other_organizer():
    return Organizer.objects.create(name="Other Events", slug="otherevents")


def make_event(organizer, slug="sampleconf", **kwargs):
    defaults = {"name": "Sample Conference", "date_from": now() - timedelta(days=30), "live": False}
    defaults.update(kwargs)
    return Event.objects.create(organizer=organizer, slug=slug, **defaults)


@pytest.fixture
def event(organizer):
    return make_event(organizer)


@pytest.fixture
def item(event):
    return event.items.create(name="Ticket", default_price=Decimal("23.00"))


def make_order(event, item, code, email):
    order = Order.objects.create(
        code=code,
        event=event,
        email=email,
        status=Order.STATUS_PAID,
        datetime=now() - timedelta(days=40),
        expires=now() - timedelta(days=35),
        total=Decimal("23.00"),
        locale="en",
        sales_channel=event.organizer.sales_channels.get(identifier="web"),
    )
    OrderPosition.objects.create(
        order=order,
        item=item,
        price=Decimal("23.00"),
        attendee_name_parts={"full_name": f"Attendee {code}"},
        attendee_email=f"attendee-{code.lower()}@example.org",
        positionid=1,
    )
    return order


@pytest.fixture
def orders(event, item):
    return [make_order(event, item, f"ORD{i}", f"buyer{i}@example.org") for i in range(3)]


def make_team(organizer, **permissions):
    return Team.objects.create(organizer=organizer, name="Team", all_events=True, **permissions)


@pytest.fixture
def team(organizer):
    return make_team(organizer, all_event_permissions=True)


@pytest.fixture
def token(team):
    return team.tokens.create(name="GDPR tooling")


def token_client(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + token.token)
    return client


@pytest.fixture
def client(token):
    return token_client(token)


@pytest.fixture
def second_client(team):
    """Another token of the same team: a different credential with the same permissions."""
    return token_client(team.tokens.create(name="Another script"))


@pytest.fixture
def foreign_client(other_organizer):
    """A token with full permissions, but for another organizer."""
    make_event(other_organizer)
    return token_client(make_team(other_organizer, all_event_permissions=True).tokens.create(name="Foreign"))


@pytest.fixture
def readonly_client(organizer):
    team = make_team(organizer, limit_event_permissions={"event.orders:read": True})
    return token_client(team.tokens.create(name="Read only"))


@pytest.fixture
def device_client(organizer):
    device = Device.objects.create(
        organizer=organizer, all_events=True, name="Scanner", initialized=now(), api_token="device-token-for-tests"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Device " + device.api_token)
    return client


@pytest.fixture
def user(team):
    u = User.objects.create_user("admin@example.org", "secret-password-123")
    team.members.add(u)
    return u


def oauth_client(user, organizer, scope, name="GDPR app", app=None):
    if app is None:
        app = OAuthApplication.objects.create(
            name=name, redirect_uris="https://example.org", client_type="confidential"
        )
    access = OAuthAccessToken.objects.create(
        user=user,
        application=app,
        token=f"oauth-{app.pk}-{user.pk}-{scope}".replace(" ", "-"),
        expires=now() + timedelta(days=1),
        scope=scope,
    )
    access.organizers.add(organizer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + access.token)
    client.oauth_application = app
    return client


@pytest.fixture
def session_client(user):
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(user)
    return client


@pytest.fixture
def base_url(event):
    return SHREDDER_BASE.format(o=event.organizer.slug, e=event.slug)
