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
