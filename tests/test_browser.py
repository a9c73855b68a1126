"""The control-panel pages in a real browser: Debian's headless chromium logs into a pretix test server
(pytest-django's live server, static files and pretix's SCSS compiled as in production), loads the event page and
the organizer overview, the residual and retention pages, saves screenshots under test-artifacts/screenshots/ and
fails on an HTTP error, pretix's error page, a traceback or a JavaScript console error.

Needs ``apt-get install chromium chromium-driver``; without them the tests skip, or fail when ``CI=true``."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from pretix.base.models import Team

from .helpers import job_url, start_export

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "secret-password-123"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1200",
]


def require_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        message = "browser tests need " + ", ".join(missing) + " (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture
def browser(settings):
    require_browser()
    # selenium talks to chromedriver over HTTP on 127.0.0.1, which pretix's urllib3 guard blocks by default
    settings.ALLOW_HTTP_TO_PRIVATE_NETWORKS = True
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="shredder-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def styled(settings):
    """Compile pretix's SCSS as production does (the test settings switch the precompilers off)."""
    settings.COMPRESS_PRECOMPILERS = django_settings.COMPRESS_PRECOMPILERS_ORIGINAL
    settings.DEBUG = False


def document_statuses(driver) -> list[tuple[str, int]]:
    """(URL, status) of every page (document) the browser received since the last call."""
    statuses = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.responseReceived" and message["params"].get("type") == "Document":
            response = message["params"]["response"]
            statuses.append((response["url"], response["status"]))
    return statuses


def page_problems(driver) -> list[str]:
    problems = [f"HTTP {status} for {url}" for url, status in document_statuses(driver) if status >= 400]
    problems += [f"console: {e['message']}" for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    source = driver.page_source
    for marker in ("Traceback (most recent call last)", "Server Error", "TemplateSyntaxError", "Page not found"):
        if marker in source:
            problems.append(f"page shows {marker!r}")
    return problems


def visit(driver, url, name, expect, language="en"):
    driver.get(url)
    folder = SCREENSHOTS / language
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"\nscreenshot: {path}")
    problems = page_problems(driver)
    assert problems == [], f"{url}: {problems}"
    for text in expect:
        assert text in driver.page_source, f"{url} does not show {text!r}"
    return path


# What no page may show: identifiers of shredders and tables, the residual scan's file marker, raw JSON
IDENTIFIERS = (
    "order_emails",
    "attendee_info",
    "invoice_addresses",
    "pretixbase_",
    "file:file",
    '{"',
    "policy:bigevents",
)

# Automatic actions are attributed in words: no page may say nobody did them
NOBODY = ("(unknown)", "(credential deleted)", "(unbekannt)", "(Zugangsdaten gelöscht)")


def visible_text(driver) -> str:
    return driver.find_element("tag name", "body").text


# page name → (path, [(English, German)] that must be visible in that language and only there)
PAGES = {
    "event-page": (
        "/control/event/bigevents/sampleconf/shredder-api/",
        [
            ("Data shredder jobs", "Datenvernichter-Aufträge"),
            ("Scheduled removal (retention policy)", "Geplante Löschung (Aufbewahrungsrichtlinie)"),
            ("Exports and shreds", "Exporte und Löschungen"),
            ("Next step", "Nächster Schritt"),
            ("Emails, Attendee info", "E-Mails, Teilnehmer-Informationen"),
        ],
    ),
    "event-settings": (
        "/control/event/bigevents/sampleconf/shredder-api/settings/",
        [
            ("Data shredder API settings", "Einstellungen der Datenvernichter-API"),
            ("Require the confirm code", "Bestätigungscode verlangen"),
        ],
    ),
    "event-residual": (
        "/control/event/bigevents/sampleconf/shredder-api/residual/",
        [
            ("Personal data left in this event", "In dieser Veranstaltung verbliebene personenbezogene Daten"),
            ("What stays by design", "Was bewusst erhalten bleibt"),
            ("Removed by", "Entfernt durch"),
            ("The numbers differ because", "Die Zahlen unterscheiden sich, weil"),
        ],
    ),
    "event-retention": (
        "/control/event/bigevents/sampleconf/shredder-api/retention/",
        [
            ("Data retention", "Aufbewahrung von Daten"),
            ("Use the organizer's retention policy", "Die Aufbewahrungsrichtlinie des Veranstalters verwenden"),
        ],
    ),
    "archived-event-page": (
        "/control/event/bigevents/archived/shredder-api/",
        [
            ("Retention policy of organizer", "Aufbewahrungsrichtlinie des Veranstalters"),
            ("Data shredder jobs", "Datenvernichter-Aufträge"),
        ],
    ),
    "archived-event-log": (
        "/control/event/bigevents/archived/logs/",
        [
            (
                "removed the personal data.",
                "hat die personenbezogenen Daten entfernt.",
            )
        ],
    ),
    "organizer-overview": (
        "/control/organizer/bigevents/shredder-api/",
        [
            ("Personal data by event", "Personenbezogene Daten nach Veranstaltung"),
            ("Over, never shredded", "Vorbei, nie gelöscht"),
            ("Scheduled shred", "Geplante Löschung"),
            ("A red row needs you", "Eine rote Zeile braucht Sie"),
            (
                "Retention policy of organizer",
                "Aufbewahrungsrichtlinie des Veranstalters",
            ),  # who shredded the archived event
            ("CSV (with semicolons)", "CSV (mit Semikolon)"),
        ],
    ),
    "organizer-retention": (
        "/control/organizer/bigevents/shredder-retention/",
        [
            ("Shred personal data automatically", "Personenbezogene Daten automatisch löschen"),
            ("Days of notice", "Tage Vorankündigung"),
        ],
    ),
    "organizer-persons": (
        "/control/organizer/bigevents/shredder-requests/",
        [
            ("Requests of persons", "Anfragen von Personen"),
            ("Register and search", "Erfassen und suchen"),
            ("Answer due", "Antwort fällig"),
        ],
    ),
}
# one request of a person (its id is known once the test made it): what was found, nothing held
PERSON_PAGE_PAIRS = [
    ("What was found", "Was gefunden wurde"),
    ("No data of this person is held.", "Zu dieser Person sind keine Daten gespeichert."),
    ("no longer kept (the request is closed)", "nicht mehr gespeichert (die Anfrage ist abgeschlossen)"),
]
# Shown on every page in English only: a German page showing them has an untranslated string
ENGLISH_ONLY = [
    en
    for pairs in [p for _path, p in PAGES.values()] + [PERSON_PAGE_PAIRS]
    for en, _de in pairs
    if en not in ("Data retention",)
]


def over_with_a_policy_shred(organizer, user):
    """A second, finished event whose personal data the organizer's retention policy removed (scheduler run through
    its notice and due date), and sampleconf with its own policy: scheduled, due in about a month."""
    from datetime import timedelta

    from django.utils.timezone import now
    from freezegun import freeze_time

    from pretix_shredder_api import retention

    from .conftest import make_event, make_order

    archived = make_event(organizer, slug="archived", name="Archived Summit", date_from=now() - timedelta(days=90))
    item = archived.items.create(name="Ticket", default_price=10)
    make_order(archived, item, "ARC1", "former@example.org")
    retention.update_policy(
        organizer,
        {"enabled": True, "shredders": ["order_emails", "attendee_info"], "days_after_event": 40, "notice_days": 7},
        user=user,
    )
    organizer.settings.flush()
    with freeze_time(now()) as clock:
        retention.run_schedule()
        s = archived.shredder_api_schedules.get()
        clock.move_to(s.notice_at + timedelta(minutes=1))
        retention.run_schedule()
        s.refresh_from_db()
        clock.move_to(s.due + timedelta(minutes=1))
        retention.run_schedule()
    s.refresh_from_db()
    assert s.state == "done", (s.state, s.last_error)
    return archived


def test_pages_in_a_real_browser(
    browser, live_server, styled, settings, user, organizer, event, client, base_url, orders
):
    from datetime import timedelta

    from django.utils.timezone import now
    from pretix.base.models import User
    from selenium.webdriver.support.ui import WebDriverWait

    from pretix_shredder_api import retention

    from .conftest import make_event

    settings.SITE_URL = live_server.url  # pretix's login page checks its origin against it

    organizer.plugins = "pretix_shredder_api"
    organizer.save()
    event.enable_plugin("pretix_shredder_api")
    event.save()
    job = start_export(client, base_url, ["order_emails", "attendee_info"])
    client.post(job_url(job, "shred"), format="json")
    start_export(client, base_url, ["invoice_addresses"])
    from .conftest import make_order

    make_order(event, event.items.first(), "LATE1", "late@example.org")  # placed after the shred: left to remove
    forgotten = make_event(organizer, slug="forgotten", name="Forgotten Festival", date_from=now() - timedelta(days=90))
    retention.update_policy(forgotten, {"enabled": False}, user=user)  # never shredded, no schedule: red
    retention.update_policy(event, {"days_after_event": 60}, user=user)  # sampleconf: scheduled in a month
    over_with_a_policy_shred(organizer, user)
    retention.run_schedule()  # plans sampleconf's shred
    assert event.shredder_api_schedules.get().state == "scheduled"
    # the organizer's policy page needs the organizer settings permission, which the API team above does not have
    Team.objects.create(organizer=organizer, name="Organizer admins", all_organizer_permissions=True).members.add(user)

    browser.get(live_server.url + "/control/login")
    browser.find_element("name", "email").send_keys("admin@example.org")
    browser.find_element("name", "password").send_keys(PASSWORD)
    browser.find_element("css selector", "form button[type=submit]").click()
    # click() returns before the login POST has been answered; wait for the redirect instead of racing it
    WebDriverWait(browser, 30).until(lambda b: "/control/login" not in b.current_url)
    assert page_problems(browser) == []

    stylesheets = browser.execute_script(
        "return Array.from(document.styleSheets).filter(s => s.href && s.cssRules.length > 0).length"
    )
    assert stylesheets > 0, "pretix's styles did not load"

    # requests of one person: the list and one request (the event's addresses were shredded above: nothing held)
    resp = client.post(
        "/api/v1/organizers/bigevents/shredder-requests/", {"email": "buyer1@example.org", "kind": "erasure"},
        format="json",
    )  # fmt: skip
    assert resp.status_code == 201
    person_path = f"/control/organizer/bigevents/shredder-requests/{resp.json()['id']}/"
    pages = {**PAGES, "organizer-person": (person_path, PERSON_PAGE_PAIRS)}

    for language in ("en", "de"):
        User.objects.filter(pk=user.pk).update(locale=language)  # pretix renders the control panel in it
        for name, (path, pairs) in pages.items():
            visit(browser, live_server.url + path, name, [], language=language)
            text = visible_text(browser)
            shown = [i for i in IDENTIFIERS if i in text]
            assert shown == [], f"{language} {path} shows identifiers {shown}"
            nobody = [n for n in NOBODY if n in text]
            assert nobody == [], f"{language} {path} attributes to nobody: {nobody}"
            for english, german in pairs:
                expected = english if language == "en" else german
                assert expected in text, f"{language} {path} does not show {expected!r}"
            if language == "de":
                english_left = [e for e in ENGLISH_ONLY if e in text]
                assert english_left == [], f"{path} shows English in German: {english_left}"
