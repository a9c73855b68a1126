"""``make demo``'s decisions that need no pretix: when it keeps the server, what its pretix.cfg says."""

import pytest

from demo import run


@pytest.mark.parametrize(
    "environ,on_terminal,keep",
    [
        ({}, True, True),  # a person at a terminal gets something to look at
        ({}, False, False),  # output to a pipe or file: a script, nothing left running
        ({"CI": "true"}, True, False),
        ({"DEMO_KEEP": "1"}, False, True),
        ({"DEMO_KEEP": "1", "CI": "true"}, False, True),
        ({"DEMO_KEEP": "0"}, True, False),
        ({"DEMO_KEEP": ""}, True, True),
    ],
)
def test_when_the_demo_keeps_its_server(environ, on_terminal, keep):
    assert run.keep_by_default(environ, on_terminal) is keep


def test_flags_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_KEEP", "1")
    assert run.parse_args(["--no-keep"]).keep is False
    monkeypatch.setenv("DEMO_KEEP", "0")
    assert run.parse_args(["--keep"]).keep is True


def test_the_config_leaves_out_the_test_plugin(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "CONFIG", tmp_path / "pretix.cfg")
    monkeypatch.setattr(run, "DATA_DIR", tmp_path / "data")
    run.write_config(8123)
    config = (tmp_path / "pretix.cfg").read_text()
    assert "plugins_exclude=pretix_shredder_testplugin\n" in config
    assert "url=http://127.0.0.1:8123\n" in config


def test_pretix_runs_with_the_demo_settings():
    env = run.pretix_env()
    assert env["DJANGO_SETTINGS_MODULE"] == "demo.settings"
    assert str(run.ROOT) in env["PYTHONPATH"].split(":")


def test_the_demo_settings_send_mail_to_files_share_a_cache_and_load_no_test_plugin(tmp_path, monkeypatch):
    """What pretix really gets from ``demo/settings.py`` and the config ``run.py`` writes, in a fresh interpreter."""
    import json
    import subprocess
    import sys

    monkeypatch.setattr(run, "CONFIG", tmp_path / "pretix.cfg")
    monkeypatch.setattr(run, "DATA_DIR", tmp_path / "data")
    run.write_config(8123)
    script = (
        "import json; from django.conf import settings as s; print(json.dumps([s.EMAIL_BACKEND, s.EMAIL_FILE_PATH, "
        "s.CACHES['default'], 'pretix_shredder_testplugin' in s.INSTALLED_APPS, 'pretix_shredder_api' in "
        "s.INSTALLED_APPS]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=run.pretix_env(), capture_output=True, text=True, check=True, timeout=120
    ).stdout
    backend, mail_dir, cache, test_plugin, plugin = json.loads(out.splitlines()[-1])
    assert (backend, mail_dir) == ("django.core.mail.backends.filebased.EmailBackend", str(tmp_path / "data/mail"))
    assert cache == {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path / "data/demo-cache"),
    }
    assert (test_plugin, plugin) == (False, True)


@pytest.mark.django_db
def test_the_demo_shows_a_retention_schedule_and_its_admin_may_open_the_retention_pages():
    """``make demo``'s second event: seeded, its own policy set by the demo admin, scheduled by the periodic run;
    the demo admin sees both retention pages (no 403) and may change the organizer's policy."""
    from django.test import Client
    from pretix.base.models import User

    from demo.seed import seed_event, set_retention_policy
    from pretix_shredder_api import retention
    from pretix_shredder_api.models import ScheduledShred

    User.objects.create_user("demo-admin@example.org", "secret-password-123")
    seed_event("demo", "retention-demo", orders=3, with_invoices=0, member_emails=("demo-admin@example.org",))
    set_retention_policy("demo", "retention-demo", ["demo-admin@example.org"])
    retention.run_schedule()
    s = ScheduledShred.objects.get(event__slug="retention-demo")
    assert s.state == "noticed" and s.policy_attribution["level"] == "event"
    c = Client()
    assert c.login(email="demo-admin@example.org", password="secret-password-123")
    assert c.get("/control/organizer/demo/shredder-retention/").status_code == 200
    html = c.get("/control/event/demo/retention-demo/shredder-api/retention/").content.decode()
    assert "Retention policy of this event (set by user #" in html
    assert (
        'id="shredder-retention-policy-refused"'
        not in c.get("/control/organizer/demo/shredder-retention/").content.decode()
    )
