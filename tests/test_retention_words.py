"""Issue 22: automatic shredding as an organizer sees it - a preview before a policy takes effect (API and pages),
pretix's shredder explanations and tax warnings in both forms, attribution in words (pages, log, overview, CSV,
mails, webhooks), failures stored as keys and rendered in the reader's language with a next step, texts that never
contradict what happens, and the smaller points (disabled inherited fields, cancel confirmation, clickable links)."""

import re
from datetime import timedelta

import pytest
from django.core import mail as djmail
from django.test import Client
from django.utils.timezone import now
from freezegun import freeze_time
from pretix.api.webhooks import get_all_webhook_events
from pretix.base.models import CachedFile, LogEntry

from pretix_shredder_api import reasons, retention
from pretix_shredder_api.models import ScheduledShred

from .conftest import make_team, token_client

pytestmark = pytest.mark.django_db

ORG_PAGE = "/control/organizer/bigevents/shredder-retention/"
EVENT_PAGE = "/control/event/bigevents/sampleconf/shredder-api/retention/"
ORG_PREVIEW = "/api/v1/organizers/bigevents/shredder-policy/preview/"
EVENT_PREVIEW = "/api/v1/organizers/bigevents/events/sampleconf/shredders/policy/preview/"
BODY = {"enabled": True, "shredders": ["order_emails", "invoice_addresses"], "days_after_event": 10, "notice_days": 2}
FORM = {
    "policy-enabled": "on",
    "policy-shredders": ["order_emails", "invoice_addresses"],
    "policy-days_after_event": "10",
    "policy-notice_days": "2",
}
IDENTIFIERS = re.compile(r"\b(order_emails|invoice_addresses|attendee_info|reason:\w+)\b")


@pytest.fixture
def clock():
    with freeze_time(now()) as frozen:
        yield frozen


@pytest.fixture
def admin_team(organizer, user):
    """A team that may set the organizer's policy (all events, change orders, organizer settings)."""
    team = make_team(organizer, all_event_permissions=True, all_organizer_permissions=True)
    team.members.add(user)
    return team


def login(user, locale="en"):
    user.locale = locale
    user.save()
    c = Client()
    assert c.login(email=user.email, password="secret-password-123")
    return c


def visible(html: str) -> str:
    """The page's text without tags, scripts and attributes (what a person reads)."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"(?s)<[^>]+>", " ", html))


def schedule_of(event):
    return ScheduledShred.objects.filter(event=event).order_by("-pk").first()


# ---------------------------------------------------------------------------------------------------------------------
# Item 1: the preview


def test_the_api_previews_an_organizer_policy_without_saving_it(clock, admin_team, organizer, event, orders, user):
    client = token_client(admin_team.tokens.create(name="Policy script"))
    resp = client.post(ORG_PREVIEW, BODY, format="json")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    due = now() + timedelta(days=2)  # the event ended 30 days ago: due a full notice from now
    assert body["schedules"] == 1 and body["first_due"] == due.isoformat()
    assert body["events"] == [
        {"event": "sampleconf", "notice_at": now().isoformat(), "due": due.isoformat(), "mails": 1}
    ]
    assert body["mails"] == 1  # its notice time has come: the next run mails the admin
    assert body["tax_relevant"] == [{"identifier": "invoice_addresses", "name": "Invoice addresses"}]
    assert (body["later"], body["active"], body["dropped"]) == (0, 0, 0)
    # nothing saved, nothing scheduled, nothing logged
    organizer.settings.flush()
    assert retention.policy_of(organizer).enabled is False
    assert retention.run_schedule() == {"created": 0, "steps": 0}
    assert not LogEntry.objects.filter(action_type=retention.LOG_POLICY_CHANGED).exists()


def test_the_api_preview_is_asked_and_validated_like_the_patch(organizer, event, readonly_client, client):
    assert readonly_client.post(ORG_PREVIEW, BODY, format="json").status_code == 403
    # the fixture's token may change orders but not the organizer's settings: refused as the PATCH is
    resp = client.post(ORG_PREVIEW, BODY, format="json")
    assert resp.status_code == 403 and "organizer.settings.general:write" in resp.json()["detail"]
    resp = client.post(EVENT_PREVIEW, {**BODY, "notice_days": 0}, format="json")
    assert resp.status_code == 400 and "notice_days" in resp.json()
    resp = client.post(EVENT_PREVIEW, {"shredders": ["nope"]}, format="json")
    assert resp.status_code == 400 and "shredders" in resp.json()


def test_the_api_previews_an_event_policy_and_switching_off_drops(clock, organizer, event, orders, user, client):
    resp = client.post(EVENT_PREVIEW, BODY, format="json")
    assert resp.status_code == 200 and resp.json()["schedules"] == 1
    retention.update_policy(event, BODY)
    event.settings.flush()
    retention.run_schedule()
    resp = client.post(EVENT_PREVIEW, {"enabled": False}, format="json")
    assert resp.status_code == 200
    assert (resp.json()["schedules"], resp.json()["dropped"]) == (0, 1)
    event.settings.flush()
    assert retention.policy_of(event).enabled is True  # the preview saved nothing


def test_both_forms_explain_every_shredder_and_warn_on_tax_relevant_ones(admin_team, organizer, event, user):
    event.enable_plugin("pretix_shredder_api")
    event.save()
    c = login(user)
    for url in (ORG_PAGE, EVENT_PAGE):
        html = c.get(url).content.decode()
        # pretix's own descriptions and its warning, on the tax-relevant ones only
        assert "This will remove all invoice addresses from orders" in html
        assert "This will remove all email addresses from orders and attendees" in html
        warned = set(re.findall(r'data-tax-relevant="(\w+)"', html))
        assert {"invoice_addresses", "invoices", "payment_info", "payment_details"} <= warned
        assert "order_emails" not in warned and "attendee_info" not in warned
        assert "you might need it in case of a tax audit" in html
    html = login(user, "de").get(ORG_PAGE).content.decode()
    assert "Steuerprüfung" in html


def test_the_page_previews_and_asks_before_a_save_that_schedules(clock, admin_team, organizer, event, orders, user):
    c = login(user)
    resp = c.post(ORG_PAGE, {**FORM, "preview": "1"})
    assert resp.status_code == 200
    text = visible(resp.content.decode())
    assert "Preview: what this policy will do" in text and "Nothing has been saved yet." in text
    assert "schedules the shred of 1 event that is over" in text
    assert "1 notice e-mail is sent" in text
    assert "These data shredders remove data you might need in case of a tax audit: Invoice addresses" in text
    organizer.settings.flush()
    assert retention.policy_of(organizer).enabled is False

    resp = c.post(ORG_PAGE, FORM)  # a save that would schedule: shown, not saved, confirm asked
    assert resp.status_code == 200 and 'id="shredder-retention-confirm"' in resp.content.decode()
    organizer.settings.flush()
    assert retention.policy_of(organizer).enabled is False

    assert c.post(ORG_PAGE, {**FORM, "confirmed": "1"}).status_code == 302
    organizer.settings.flush()
    assert retention.policy_of(organizer).enabled is True

    # once scheduled, a change that schedules nothing new is saved at once
    retention.run_schedule()
    assert c.post(ORG_PAGE, {**FORM, "policy-days_after_event": "11"}).status_code == 302


# ---------------------------------------------------------------------------------------------------------------------
# Item 3: attribution


@pytest.fixture
def shredded(clock, admin_team, organizer, event, orders, user):
    """The organizer's policy set on the page by the user, then the whole life: notice, shred."""
    event.enable_plugin("pretix_shredder_api")
    event.save()
    login(user).post(ORG_PAGE, {**FORM, "policy-shredders": ["order_emails"], "confirmed": "1"})
    organizer.settings.flush()
    retention.run_schedule()  # scheduled, exported, noticed (the notice time has come)
    clock.move_to(schedule_of(event).due + timedelta(minutes=1))
    retention.run_schedule()
    s = schedule_of(event)
    assert s.state == "done"
    return s


def test_every_automatic_action_says_whose_policy_and_who_set_it(shredded, organizer, event, user):
    en = f"Retention policy of organizer “Big Events” (set by user #{user.pk})"
    de = f"Aufbewahrungsrichtlinie des Veranstalters „Big Events“ (festgelegt von Benutzer #{user.pk})"
    assert shredded.policy_attribution["set_by"] == {
        "type": "user",
        "user": user.pk,
        "at": LogEntry.objects.filter(action_type=retention.LOG_POLICY_CHANGED).last().datetime.isoformat(),
    }
    assert shredded.job.policy_attribution == shredded.policy_attribution
    pages = [
        "/control/event/bigevents/sampleconf/shredder-api/",  # the job list
        "/control/event/bigevents/sampleconf/logs/",  # the event log
        "/control/organizer/bigevents/shredder-api/",  # the overview
        EVENT_PAGE,
    ]
    for locale, words in (("en", en), ("de", de)):
        c = login(user, locale)
        for url in pages:
            html = c.get(url).content.decode()
            assert words in visible(html), (locale, url)
            assert "(credential deleted)" not in html and "(unknown)" not in html, url
            assert "(gelöscht" not in html
        csv = c.get("/control/organizer/bigevents/shredder-api/overview.csv").content.decode("utf-8-sig")
        assert words in csv
    assert f"{en} removed personal data through the data shredder API" in visible(
        login(user).get("/control/event/bigevents/sampleconf/logs/").content.decode()
    )
    # the mails
    assert all(en in m.body for m in djmail.outbox if m.to == [user.email])


def test_webhooks_carry_the_attribution_without_personal_values(shredded, organizer, event, user):
    hooks = get_all_webhook_events()
    completed = LogEntry.objects.filter(action_type="pretix.event.shredder.completed").last()
    notice = LogEntry.objects.filter(action_type=retention.LOG_PREFIX + "notice_sent").last()
    expected = {
        "level": "organizer",
        "organizer": "bigevents",
        "event": None,
        "set_by": {"type": "user", "user": user.pk, "at": shredded.policy_attribution["set_by"]["at"]},
    }
    for entry in (completed, notice):
        payload = hooks[entry.action_type].build_payload(entry)
        assert payload["retention_policy"] == expected
        assert user.email not in repr(payload)


def test_an_event_policy_set_by_a_token_names_the_token(clock, organizer, event, orders, user, client, token):
    client.patch(
        "/api/v1/organizers/bigevents/events/sampleconf/shredders/policy/",
        {**BODY, "shredders": ["order_emails"]},
        format="json",
    )
    retention.run_schedule()
    s = schedule_of(event)
    assert s.policy_attribution["level"] == "event"
    html = login(user).get(EVENT_PAGE).content.decode()
    assert "Retention policy of this event (set by API token “GDPR tooling” of team “Team”)" in visible(html)


# ---------------------------------------------------------------------------------------------------------------------
# Item 5: failures stored as keys, rendered in the reader's language, with the next step


@pytest.fixture
def shop_online(clock, organizer, event, orders, user):
    """A failure stored by a run in English: the shop went online during the notice period."""
    event.enable_plugin("pretix_shredder_api")
    event.save()
    retention.update_policy(organizer, {**BODY, "shredders": ["order_emails"]})
    organizer.settings.flush()
    retention.run_schedule()
    event.live = True
    event.save()
    djmail.outbox.clear()
    clock.move_to(schedule_of(event).due + timedelta(minutes=1))
    from django.utils import translation

    with translation.override("en"):
        retention.run_schedule()
    s = schedule_of(event)
    assert (s.state, s.last_error) == ("failed", "reason:shop_online")
    return s


def test_a_failure_stored_in_english_renders_in_german_on_the_page_and_in_the_mail(shop_online, user, event):
    live = "/control/event/bigevents/sampleconf/live/"
    html = login(user, "de").get(EVENT_PAGE).content.decode()
    text = visible(html)
    assert "Der Ticketshop dieser Veranstaltung ist online" in text
    assert "Wie es weitergeht: Nehmen Sie den Shop offline." in text
    assert f'href="{live}"' in html
    assert "Your ticket shop" not in text and "The ticket shop" not in text
    assert not IDENTIFIERS.search(text)

    user.locale = "de"
    user.save()
    shop_online.reported_error = ""
    shop_online.save()
    retention.notify(shop_online, "failed")
    mail = djmail.outbox[-1]
    assert "Der Ticketshop dieser Veranstaltung ist online" in mail.body
    assert "Nehmen Sie den Shop offline." in mail.body
    assert f"http://example.com{live}" in mail.body
    assert "Your ticket shop" not in mail.body


def test_the_api_renders_the_reason_in_the_request_language(shop_online, client):
    resp = client.get("/api/v1/organizers/bigevents/events/sampleconf/shredders/schedule/", HTTP_ACCEPT_LANGUAGE="de")
    assert resp.json()["last_error_code"] == "shop_online"
    assert resp.json()["last_error"].startswith("Der Ticketshop dieser Veranstaltung ist online")


def test_a_text_stored_before_keys_still_renders(event):
    from django.utils import translation

    old = "Your ticket shop needs to be offline to use this feature."
    with translation.override("en"):
        assert reasons.text(old, event) == old
    with translation.override("de"):  # a msgid of pretix's catalogue: translated as well
        assert reasons.text(old, event) == "Der Ticketshop muss abgeschaltet sein, damit diese Funktion bereit steht."
        assert reasons.text("Some text of an old run", event) == "Some text of an old run"
    assert reasons.code("Your ticket shop needs to be offline to use this feature.") is None
    assert reasons.text("reason:unknown_key", event) == "reason:unknown_key"


def test_a_job_message_is_stored_as_its_msgid_and_translated(event):
    from django.utils import translation

    from pretix_shredder_api import jobs

    with translation.override("de"):
        german = str(jobs.MSG_INTERNAL)
    stored = reasons.key("export_failed", reasons.msgid_of(german, "de"))
    assert stored == "reason:export_failed:Internal error"
    with translation.override("de"):
        assert reasons.text(stored, event).startswith(
            f"Der Export der personenbezogenen Daten ist fehlgeschlagen. {german}"
        )


# ---------------------------------------------------------------------------------------------------------------------
# Item 4: texts that never contradict what happens


def test_a_failed_schedule_shows_no_past_date_and_the_mail_says_a_new_notice_comes(shop_online, user, event):
    text = visible(login(user).get(EVENT_PAGE).content.decode())
    assert "Shred on" not in text  # its due date has passed
    assert "Not before a new notice: at the earliest on" in text
    mail = [m for m in djmail.outbox if "failed" in m.subject][-1]
    assert "you get another e-mail at least 2 days before it" in mail.body


def test_a_cancelled_schedule_shows_no_shred_date(clock, organizer, event, orders, user, admin_team):
    event.enable_plugin("pretix_shredder_api")
    event.save()
    retention.update_policy(organizer, {**BODY, "shredders": ["order_emails"]})
    organizer.settings.flush()
    retention.run_schedule()
    c = login(user)
    # the cancel button asks first, on a page of its own (no JavaScript needed); nothing is cancelled yet
    resp = c.post(EVENT_PAGE, {"action": "cancel"})
    assert resp.status_code == 200 and 'id="shredder-retention-cancel-confirm"' in resp.content.decode()
    assert schedule_of(event).state == "noticed"
    c.post(EVENT_PAGE, {"action": "cancel", "confirmed": "1"})
    assert schedule_of(event).state == "cancelled"
    text = visible(c.get(EVENT_PAGE).content.decode())
    assert "Shred on" not in text and "Cancelled: this shred will not happen." in text


def test_an_event_already_over_is_not_promised_a_schedule_once_it_is_over(clock, organizer, event, user, admin_team):
    event.enable_plugin("pretix_shredder_api")
    event.save()
    retention.update_policy(organizer, {**BODY, "days_after_event": 1, "notice_days": 1})
    organizer.settings.flush()
    text = visible(login(user).get(EVENT_PAGE).content.decode())
    assert "once the event is over" not in text
    assert "The event is over: the next scheduler run (within minutes) schedules its shred for" in text
    assert "shred 1 day after the event, with 1 day of notice." in text  # no "1 days"
    text = visible(login(user, "de").get(EVENT_PAGE).content.decode())
    assert "Löschung 1 Tag nach der Veranstaltung, mit 1 Tag Ankündigungsfrist." in text
    assert "1 Tagen" not in text


def test_mail_times_carry_the_time_zone_and_links_are_clickable(clock, organizer, event, orders, user, settings):
    settings.SITE_URL = "http://127.0.0.1:8123"  # as in the demo: pretix's linkifier skips a bare IP address
    event.settings.timezone = "Europe/Berlin"
    event.settings.flush()
    retention.update_policy(organizer, {**BODY, "shredders": ["order_emails"]})
    organizer.settings.flush()
    retention.run_schedule()
    notice = djmail.outbox[-1]
    assert re.search(r"will be shredded on .+ CE[S]?T\b", notice.subject), notice.subject
    assert re.search(r"will be shredded on .+ CE[S]?T\.", notice.body)
    html = next(
        part.get_payload(decode=True).decode()
        for part in notice.message().walk()
        if part.get_content_type() == "text/html"
    )
    url = "http://127.0.0.1:8123/control/event/bigevents/sampleconf/shredder-api/retention/"
    assert f'href="{url}"' in html


# ---------------------------------------------------------------------------------------------------------------------
# Item 10 and the dropped export


def test_the_event_fields_are_disabled_while_inheriting_and_never_discarded_silently(
    admin_team, organizer, event, user
):
    event.enable_plugin("pretix_shredder_api")
    event.save()
    c = login(user)
    html = c.get(EVENT_PAGE).content.decode()
    field = re.search(r'<input[^>]*name="policy-days_after_event"[^>]*>', html).group(0)
    assert "disabled" in field and 'data-inverse-dependency="#id_policy-inherit"' in field
    checkbox = re.search(r'<input[^>]*name="policy-shredders"[^>]*>', html).group(0)
    assert "disabled" in checkbox
    resp = c.post(
        EVENT_PAGE, {"action": "policy", "policy-inherit": "on", "policy-days_after_event": "99"}, follow=True
    )
    text = visible(resp.content.decode())
    assert "the values you entered for it were not saved: Days after the end of the event" in text
    event.settings.flush()
    assert retention.overridden(event) == []


def test_the_postpone_field_has_a_visible_label(clock, organizer, event, orders, user, admin_team):
    event.enable_plugin("pretix_shredder_api")
    event.save()
    retention.update_policy(organizer, {**BODY, "shredders": ["order_emails"]})
    organizer.settings.flush()
    retention.run_schedule()
    html = login(user).get(EVENT_PAGE).content.decode()
    assert re.search(r'<label for="id_postpone-date">\s*Postpone the shred to\s*</label>', html)


def test_a_dropped_schedule_releases_its_export(clock, organizer, event, orders, user):
    retention.update_policy(organizer, {**BODY, "shredders": ["order_emails"]})
    organizer.settings.flush()
    retention.run_schedule()
    s = schedule_of(event)
    assert s.state == "noticed" and CachedFile.objects.filter(pk=s.job.file_id).exists()
    retention.update_policy(organizer, {"enabled": False})
    organizer.settings.flush()
    retention.run_schedule()
    s = schedule_of(event)
    assert s.state == "dropped" and s.last_error == "reason:policy_off"
    assert not CachedFile.objects.filter(pk=s.job.file_id).exists()


def test_the_plugin_description_mentions_more_than_the_api():
    from django.apps import apps

    description = str(apps.get_app_config("pretix_shredder_api").PretixPluginMeta.description)
    assert "retention" in description and "report" in description
