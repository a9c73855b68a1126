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


def visit(driver, url, name, expect):
    driver.get(url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"\nscreenshot: {path}")
    problems = page_problems(driver)
    assert problems == [], f"{url}: {problems}"
    for text in expect:
        assert text in driver.page_source, f"{url} does not show {text!r}"
    return path


def test_pages_in_a_real_browser(
    browser, live_server, styled, settings, user, organizer, event, client, base_url, orders
):
    from django.utils.timezone import now

    settings.SITE_URL = live_server.url  # pretix's login page checks its origin against it

    from .conftest import make_event

    event.enable_plugin("pretix_shredder_api")
    event.save()
    job = start_export(client, base_url, ["order_emails", "attendee_info"])
    client.post(job_url(job, "shred"), format="json")
    start_export(client, base_url, ["invoice_addresses"])
    from datetime import timedelta

    make_event(organizer, slug="forgotten", name="Forgotten Festival", date_from=now() - timedelta(days=90))

    browser.get(live_server.url + "/control/login")
    browser.find_element("name", "email").send_keys("admin@example.org")
    browser.find_element("name", "password").send_keys(PASSWORD)
    browser.find_element("css selector", "form button[type=submit]").click()
    # click() returns before the login POST has been answered; wait for the redirect instead of racing it
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(lambda b: "/control/login" not in b.current_url)
    assert page_problems(browser) == []

    stylesheets = browser.execute_script(
        "return Array.from(document.styleSheets).filter(s => s.href && s.cssRules.length > 0).length"
    )
    assert stylesheets > 0, "pretix's styles did not load"

    visit(
        browser,
        live_server.url + "/control/event/bigevents/sampleconf/shredder-api/",
        "event-page",
        ["Data shredder", "API token “GDPR tooling” of team “Team”", "Emails, Attendee info", "Invoice addresses"],
    )
    visit(
        browser,
        live_server.url + "/control/organizer/bigevents/shredder-api/",
        "organizer-overview",
        ["Personal data by event", "Forgotten Festival", "Over, never shredded", "Sample Conference"],
    )
    visit(
        browser,
        live_server.url + "/control/event/bigevents/sampleconf/shredder-api/settings/",
        "event-settings",
        ["Require the confirm code", "Export lifetime"],
    )
    visit(
        browser,
        live_server.url + "/control/event/bigevents/sampleconf/shredder-api/residual/",
        "event-residual",
        ["Personal data left in this event", "What stays by design", "Shreds through the API"],
    )
    visit(
        browser,
        live_server.url + "/control/event/bigevents/sampleconf/shredder-api/retention/",
        "event-retention",
        ["Data retention", "Use the organizer's retention policy"],
    )
    # the organizer's policy page needs the organizer settings permission, which the API team above does not have
    Team.objects.create(organizer=organizer, name="Organizer admins", all_organizer_permissions=True).members.add(user)
    visit(
        browser,
        live_server.url + "/control/organizer/bigevents/shredder-retention/",
        "organizer-retention",
        ["Data retention", "Shred personal data automatically", "Days of notice"],
    )
    # requests of one person: the list and one request (the event's addresses were shredded above: nothing held)
    resp = client.post(
        "/api/v1/organizers/bigevents/shredder-requests/", {"email": "buyer1@example.org", "kind": "erasure"},
        format="json",
    )  # fmt: skip
    assert resp.status_code == 201
    visit(
        browser,
        live_server.url + "/control/organizer/bigevents/shredder-requests/",
        "organizer-persons",
        ["Requests of persons", "Register and search", "Answer due"],
    )
    visit(
        browser,
        live_server.url + f"/control/organizer/bigevents/shredder-requests/{resp.json()['id']}/",
        "organizer-person",
        ["What was found", "No data of this person is held.", "no longer kept (the request is closed)"],
    )
