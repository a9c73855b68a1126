"""Log texts (pretix's log entry type registry) for every action type the plugin writes, naming who acted."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils.timezone import now
from pretix.base.models import CachedFile, LogEntry
from pretix.base.services.shredder import export as pretix_export
from pretix.base.services.shredder import shred as pretix_shred

from .conftest import oauth_client
from .helpers import job_url, start_export

pytestmark = pytest.mark.django_db


def texts(event):
    return [(e.action_type, e.display()) for e in LogEntry.objects.filter(event=event).order_by("pk")]


def test_api_shred_texts_name_the_token_and_the_shredders(client, base_url, orders, event):
    job = start_export(client, base_url, ["order_emails", "attendee_info"])
    client.post(job_url(job, "shred"), format="json")
    who = "API token “GDPR tooling” of team “Team”"
    assert texts(event) == [
        (
            "pretix.event.shredder.started",
            f"{who} started removing personal data through the data shredder API (Emails, Attendee info).",
        ),
        (
            "pretix.event.shredder.completed",
            f"{who} removed personal data through the data shredder API (Emails, Attendee info).",
        ),
    ]


def test_failed_shred_text_names_the_oauth_application_and_the_reason(user, organizer, base_url, orders, event):
    app = oauth_client(user, organizer, "read write", name="GDPR app")
    job = start_export(app, base_url)
    event.log_action("pretix.event.changed", data={})
    app.post(job_url(job, "shred"), format="json")
    assert texts(event)[-1] == (
        "pretix_shredder_api.shred.failed",
        "Removing personal data through the data shredder API (Emails), started by Application “GDPR app” for "
        "admin@example.org, failed: Something happened in your event after the export, please try again.",
    )


def test_control_panel_shreds_keep_pretix_text(user, orders, event):
    cf = CachedFile.objects.create(date=now(), expires=now() + timedelta(hours=1), filename="x.zip")
    pretix_export.apply(args=(event.pk, ["order_emails"], "session", str(cf.pk)))
    pretix_shred.apply(kwargs={"event": event.pk, "fileid": str(cf.pk), "confirm_code": True, "user": user.pk})
    assert texts(event) == [
        ("pretix.event.shredder.started", "A removal process for personal data has been started."),
        ("pretix.event.shredder.completed", "A removal process for personal data has been completed."),
    ]


def test_event_log_page_shows_our_texts_and_links_the_event_page(user, session_client, base_url, orders, event):
    event.enable_plugin("pretix_shredder_api")
    event.save()
    job = start_export(session_client, base_url)
    session_client.post(job_url(job, "shred"), format="json")
    c = Client()
    c.login(email="admin@example.org", password="secret-password-123")
    html = c.get("/control/event/bigevents/sampleconf/logs/").content.decode()
    assert "admin@example.org removed personal data through the data shredder API (Emails)." in html
    assert 'href="/control/event/bigevents/sampleconf/shredder-api/"' in html


# -- every action type the plugin writes, on every pretix page that shows it (finding 19.9, issue 23.5) --------------
#
# The plugin is an event-and-organizer plugin: an entry on the organizer (pretix's organizer log) needs a type pretix
# can check against the organizer, or the whole page is a 500 (``is_app_active`` raises for an event plugin there).

PLUGIN = "pretix_shredder_api"
WHO = "admin@example.org"
TOKEN = "API token “GDPR tooling” of team “Team”"


def written_action_types():
    """``{action type: set of modules}`` of every ``log_action`` / ``_log`` / ``log_shred`` call in the package,
    resolved from its source; the calls that pass a parameter through are the two known helpers."""
    import ast
    import importlib
    from pathlib import Path

    import pretix_shredder_api

    root = Path(pretix_shredder_api.__file__).parent
    found, passed_through = {}, set()
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts or "client" in path.parts:
            continue
        name = "pretix_shredder_api." + ".".join(path.relative_to(root).with_suffix("").parts)
        module = importlib.import_module(name.removesuffix(".__init__"))

        def value(node, module=module):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                return node.value
            if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
                return getattr(module, node.id)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                left, right = value(node.left), value(node.right)
                return left + right if left is not None and right is not None else None
            return None

        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if func == "log_action" and node.args:
                arg, prefix = node.args[0], ""
            elif func in ("_log", "log_shred") and len(node.args) > 1:
                arg, prefix = node.args[1], module.LOG_PREFIX if func == "_log" else ""
            else:
                continue
            resolved = value(arg)
            if resolved is None:
                passed_through.add((path.name, ast.unparse(arg)))
            else:
                found.setdefault(prefix + resolved, set()).add(path.name)
    return found, passed_through


def test_every_action_type_the_plugin_writes_has_a_text_of_this_plugin():
    from django.apps import apps
    from pretix.base.logentrytype_registry import log_entry_types

    found, passed_through = written_action_types()
    assert passed_through == {
        ("jobs.py", "action"),
        ("retention.py", "LOG_PREFIX + what"),
        ("persons.py", "LOG_PREFIX + what"),  # the person texts: test_every_person_action_has_a_text_of_this_plugin
    }
    assert set(found) == set(WRITTEN)  # the table below knows every one (and where it is logged)
    ours = apps.get_app_config(PLUGIN)
    for action_type in found:
        entry_type, meta = log_entry_types.get(action_type=action_type)
        assert entry_type is not None and meta["plugin"] is ours, action_type


def test_every_person_action_has_a_text_of_this_plugin():
    """The person steps log ``persons.LOG_PREFIX + step``; every step has its organizer-level text (rendered on the
    organizer log page in tests/test_persons_log.py)."""
    import ast
    import inspect

    from django.apps import apps
    from pretix.base.logentrytype_registry import log_entry_types

    from pretix_shredder_api import persons, webhooks

    calls = [n for n in ast.walk(ast.parse(inspect.getsource(persons))) if isinstance(n, ast.Call)]
    steps = {
        c.args[1].value
        for c in calls
        if getattr(c.func, "id", None) == "log" and len(c.args) > 1 and isinstance(c.args[1], ast.Constant)
    }
    assert steps, "no person step found in persons.py"
    ours = apps.get_app_config(PLUGIN)
    for step in steps:
        action_type = persons.LOG_PREFIX + step
        assert action_type in webhooks.PERSON_TEXTS, action_type
        entry_type, meta = log_entry_types.get(action_type=action_type)
        assert entry_type is not None and meta["plugin"] is ours, action_type


def test_the_plugin_is_an_event_and_organizer_plugin():
    from django.apps import apps
    from pretix.base.plugins import PLUGIN_LEVEL_EVENT_ORGANIZER_HYBRID

    assert apps.get_app_config(PLUGIN).PretixPluginMeta.level == PLUGIN_LEVEL_EVENT_ORGANIZER_HYBRID


@pytest.fixture
def org_admin(user, organizer):
    """The fixture's user, also allowed to see the organizer log (organizer settings)."""
    from .conftest import make_team

    make_team(organizer, all_organizer_permissions=True).members.add(user)
    c = Client()
    c.login(email=WHO, password="secret-password-123")
    return c


def write_every_entry(organizer, event, user, client, base_url):
    """Each action type the plugin writes, where the plugin writes it, with the data it writes; returns
    ``[(where, action type, text)]`` (where: ``organizer`` or ``event``)."""
    from pretix_shredder_api import jobs, retention
    from pretix_shredder_api.models import ScheduledShred

    # through the code that writes them in production
    retention.update_policy(organizer, {"days_after_event": 40}, user=user)
    retention.update_policy(event, {"notice_days": 3}, user=user)
    job = start_export(client, base_url)
    b"".join(client.get(job_url(job, "download")).streaming_content)  # downloaded, on the job
    client.post(job_url(job, "shred"), format="json")  # started + completed, on the job
    failing = start_export(client, base_url)
    jobs.shred_failed(failing.pk, failing.shred_attempt, "Boom")  # failed, on the job (as a worker records it)
    event.log_action("pretix_shredder_api.settings.changed", user=user, data={"shredder_api_export_lifetime": 30})
    s = ScheduledShred.objects.create(
        event=event,
        due=now() + timedelta(days=3),
        notice_at=now(),
        shredders=["order_emails"],
        policy_attribution=retention.policy_source(event),  # as the scheduler records it
    )
    due = s.due.isoformat()[:10]
    # the event overrides the notice: its own policy, set by the user (by id: no e-mail in the attribution)
    POLICY = f"Retention policy of this event (set by user #{user.pk})"
    retention._log(s, "created", due=s.due.isoformat(), notice_at=s.notice_at.isoformat())
    retention._log(s, "export_started", job=str(job.public_id), shredders=["order_emails"])
    retention._log(s, "notice_sent", due=s.due.isoformat(), recipients=1)
    retention._log(s, "shred_started", job=str(job.public_id))
    retention._log(s, "done", job=str(job.public_id))
    retention._log(s, "failed", error="Shop is online", attempt=2)
    retention._log(s, "dropped", reason="over no more")
    s.log_action(retention.LOG_PREFIX + "cancelled", data=retention._log_data(s), user=user)
    s.log_action(retention.LOG_PREFIX + "postponed", data=retention._log_data(s), user=user)
    prefix = retention.LOG_PREFIX
    return [
        ("organizer", "pretix_shredder_api.policy.changed", f"{WHO} changed the data retention policy."),
        ("event", "pretix_shredder_api.policy.changed", f"{WHO} changed the data retention policy."),
        ("event", "pretix_shredder_api.export.downloaded", f"{TOKEN} downloaded an export of personal data through "
         "the data shredder API (Emails)."),
        ("event", "pretix.event.shredder.started", f"{TOKEN} started removing personal data through the data "
         "shredder API (Emails)."),
        ("event", "pretix.event.shredder.completed", f"{TOKEN} removed personal data through the data shredder API "
         "(Emails)."),
        ("event", "pretix_shredder_api.shred.failed", f"Removing personal data through the data shredder API (Emails), "
         f"started by {TOKEN}, failed: Boom"),
        ("event", "pretix_shredder_api.settings.changed", f"{WHO} changed the data shredder API settings of this "
         "event."),
        ("event", prefix + "created", f"{POLICY} scheduled the removal of personal data for {due}."),
        ("event", prefix + "export_started", f"{POLICY} started the export of the personal data."),
        ("event", prefix + "notice_sent", f"{POLICY} sent the notice of the removal on {due}."),
        ("event", prefix + "shred_started", f"{POLICY} started removing the personal data."),
        ("event", prefix + "done", f"{POLICY} removed the personal data."),
        ("event", prefix + "failed", f"The removal of personal data scheduled by {POLICY} failed (attempt 2): "
         "Shop is online"),
        ("event", prefix + "dropped", f"The removal of personal data scheduled by {POLICY} is no longer due and was "
         "dropped: over no more"),
        ("event", prefix + "cancelled", f"{WHO} cancelled the scheduled removal of personal data."),
        ("event", prefix + "postponed", f"{WHO} postponed the scheduled removal of personal data to {due}."),
    ]  # fmt: skip


WRITTEN = {
    "pretix_shredder_api.policy.changed",
    "pretix.event.shredder.started",
    "pretix.event.shredder.completed",
    "pretix_shredder_api.shred.failed",
    "pretix_shredder_api.settings.changed",
    "pretix_shredder_api.export.downloaded",
    *(
        "pretix_shredder_api.schedule." + step
        for step in ("created", "export_started", "notice_sent", "shred_started", "done", "failed", "dropped")
    ),
    "pretix_shredder_api.schedule.cancelled",
    "pretix_shredder_api.schedule.postponed",
}


def set_plugin(organizer, event, where):
    organizer.plugins = PLUGIN if where in ("organizer", "both") else ""
    organizer.save()
    event.plugins = PLUGIN if where in ("event", "both") else ""  # "event": from before the plugin level
    event.save()


@pytest.mark.parametrize("where", ["off", "organizer", "both", "event"])
def test_every_page_showing_the_entries_renders_each_type(
    org_admin, organizer, event, orders, user, client, base_url, where
):
    from django.urls import reverse
    from django.utils.html import escape

    written = write_every_entry(organizer, event, user, client, base_url)
    assert {action for _where, action, _text in written} == WRITTEN
    set_plugin(organizer, event, where)
    kwargs = {"organizer": organizer.slug, "event": event.slug}
    pages = {
        "organizer": reverse("control:organizer.log", kwargs={"organizer": organizer.slug}),
        "event": reverse("control:event.log", kwargs=kwargs),
    }
    for level, url in pages.items():
        resp = org_admin.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        html = resp.content.decode()
        for text in [t for w, _a, t in written if w == level]:
            assert escape(text) in html, (url, text)
    # the event dashboard shows the newest five entries: make each the newest in turn
    dashboard = reverse("control:event.index.logs", kwargs=kwargs)
    for i, (_w, action, text) in enumerate([e for e in written if e[0] == "event"]):
        LogEntry.objects.filter(event=event, action_type=action).update(datetime=now() + timedelta(minutes=i + 1))
        resp = org_admin.get(dashboard)
        assert resp.status_code == 200 and escape(text) in resp.content.decode(), (dashboard, text)
    # order pages: the plugin attaches nothing to an order, and they render with its entries on the event
    from django.contrib.contenttypes.models import ContentType
    from pretix.base.models import Order

    assert not LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Order), action_type__in=WRITTEN
    ).exists()
    order_page = reverse("control:event.order", kwargs={**kwargs, "code": orders[0].code})
    assert org_admin.get(order_page).status_code == 200


def test_the_organizer_policy_entry_links_its_page(org_admin, organizer, user):
    from pretix_shredder_api import retention

    retention.update_policy(organizer, {"days_after_event": 40}, user=user)
    html = org_admin.get("/control/organizer/bigevents/logs").content.decode()
    assert 'href="/control/organizer/bigevents/shredder-retention/"' in html


# -- no DeprecationWarning from the plugin (issue 23.5) ----------------------------------------------------------------


def ours(caught) -> list[str]:
    import os

    import pretix_shredder_api

    root = os.path.dirname(pretix_shredder_api.__file__) + os.sep
    return [
        f"{w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, DeprecationWarning) and w.filename.startswith(root)
    ]


def test_loading_the_plugin_warns_nothing():
    """pretix warns when an event plugin connects to ``nav_organizer`` (at import of ``signals``, during setup)."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, warnings, django\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    django.setup()\n"
        "print(json.dumps([[w.filename, w.lineno, str(w.message), w.category.__name__] for w in caught]))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pretix.testutils.settings"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]

    class W:
        def __init__(self, filename, lineno, message, category):
            self.filename, self.lineno, self.message = filename, lineno, message
            self.category = DeprecationWarning if category == "DeprecationWarning" else Warning

    caught = [W(*w) for w in json.loads(result.stdout.splitlines()[-1])]
    assert any("organizer-level" in str(w.message) for w in caught if "ticketoutputpdf" in w.filename), (
        "pretix's own event plugins still warn: the check sees the warning"
    )
    assert ours(caught) == []


def test_the_organizer_pages_warn_nothing(org_admin, organizer, event):
    import warnings

    from pretix_shredder_api import retention

    retention.update_policy(organizer, {"days_after_event": 40})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for url in (
            "/control/organizer/bigevents/",
            "/control/organizer/bigevents/shredder-api/",
            "/control/organizer/bigevents/shredder-retention/",
            "/control/organizer/bigevents/logs",
            "/control/event/bigevents/sampleconf/",
        ):
            assert org_admin.get(url).status_code == 200, url
    assert ours(caught) == []


# -- what switching the plugin on means, per level ---------------------------------------------------------------------

ORG_PAGES = ("/control/organizer/bigevents/shredder-api/", "/control/organizer/bigevents/shredder-retention/")
EVENT_NAV = (
    "/control/event/bigevents/sampleconf/shredder-api/",
    "/control/event/bigevents/sampleconf/shredder-api/residual/",
)


@pytest.mark.parametrize(
    "where, organizer_nav, event_nav",
    [("off", False, False), ("organizer", True, False), ("both", True, True), ("event", False, False)],
)
def test_navigation_per_level(org_admin, organizer, event, where, organizer_nav, event_nav):
    set_plugin(organizer, event, where)
    org_html = org_admin.get("/control/organizer/bigevents/").content.decode()
    event_html = org_admin.get("/control/event/bigevents/sampleconf/").content.decode()
    assert all((f'href="{url}"' in org_html) is organizer_nav for url in ORG_PAGES), where
    assert all((f'href="{url}"' in event_html) is event_nav for url in EVENT_NAV), where
    # the pages themselves: the organizer pages and the event's job page for every organizer and event (the API acts
    # on all of them); the event's own pages (residual scan, settings) where the plugin is on for it
    for url in ORG_PAGES + EVENT_NAV[:1]:
        assert org_admin.get(url).status_code == 200, url
    assert org_admin.get(EVENT_NAV[1]).status_code == (200 if event_nav else 404)
    assert org_admin.get(EVENT_NAV[0] + "settings/").status_code == (200 if event_nav else 404)


def test_a_shred_of_the_retention_policy_is_attributed_to_it(organizer, event, orders):
    """Issue 22 item 3 (as the pages show it): a policy's job has no user or credential; its entries say who."""
    from pretix_shredder_api import jobs
    from pretix_shredder_api.models import ShredderJob

    job = ShredderJob.objects.create(
        event=event, shredders=["order_emails"], **jobs.Identity.for_policy(organizer).as_fields()
    )
    jobs.log_shred(job, "pretix.event.shredder.completed")
    (text,) = [t for a, t in texts(event) if a == "pretix.event.shredder.completed"]
    assert text == (
        "Retention policy of organizer “bigevents” removed personal data through the data shredder API (Emails)."
    )
