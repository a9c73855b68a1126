"""The job model and its migrations agree. (The migrations are applied for real by the integration suite,
which migrates a PostgreSQL database with ``pretix migrate``.)"""

import os
import subprocess
import sys

import pytest


def test_makemigrations_check():
    env = dict(os.environ, GITHUB_WORKFLOW="1", DJANGO_SETTINGS_MODULE="pretix.testutils.settings")
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemigrations", "pretix_shredder_api", "--check", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


# -- 0005: switching the event-and-organizer plugin on for the organizers that used it (issue 23.5) -----------------


@pytest.mark.django_db
def test_0005_switches_the_plugin_on_for_organizers_that_used_it():
    import importlib
    from datetime import timedelta

    from django.apps import apps
    from django.utils.timezone import now
    from django_scopes import scopes_disabled
    from pretix.base.models import Event, Organizer

    from pretix_shredder_api.models import ShredderJob

    migration = importlib.import_module("pretix_shredder_api.migrations.0005_organizer_level")
    plugin = "pretix_shredder_api"

    def org(slug, plugins=""):
        return Organizer.objects.create(name=slug, slug=slug, plugins=plugins)

    def event(o, plugins=""):
        return Event.objects.create(
            organizer=o, name="E", slug="e", date_from=now() - timedelta(days=3), plugins=plugins
        )

    with scopes_disabled():
        on_event = org("on-event")
        event(on_event, plugins="pretix.plugins.banktransfer," + plugin)
        with_job = org("with-job", plugins="pretix.plugins.banktransfer")
        ShredderJob.objects.create(event=event(with_job), owner="token:1")
        policy = org("policy")
        policy.settings.set("shredder_retention_enabled", True)
        event_setting = org("event-setting")
        event(event_setting).settings.set("shredder_api_require_confirm_code", True)
        similar = org("similar")
        event(similar, plugins=plugin + "_other,pretix.plugins.sendmail")  # another plugin whose name starts alike
        unused = org("unused")
        event(unused)
        already = org("already", plugins=plugin)
        event(already, plugins=plugin)

        migration.switch_on_for_organizers(apps, None)
        migration.switch_on_for_organizers(apps, None)  # idempotent

        plugins = {o.slug: o.plugins for o in Organizer.objects.all()}
    assert plugins == {
        "on-event": plugin,
        "with-job": "pretix.plugins.banktransfer," + plugin,
        "policy": plugin,
        "event-setting": plugin,
        "similar": "",
        "unused": "",
        "already": plugin,
    }
