"""The plugin's migrations are applied on the instance's PostgreSQL database."""

import subprocess
import sys

import pytest

from .conftest import PLUGIN_MODULE, builtin_api_only

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _plugin_installed():
    if builtin_api_only():
        pytest.skip(f"{PLUGIN_MODULE} is excluded from this instance")


def test_plugin_migrations_are_applied_on_postgresql(orm):
    state = orm.call("migration_state", app_label=PLUGIN_MODULE)

    assert state["vendor"] == "postgresql", state
    assert "0001_initial" in state["applied"], state
    assert state["unapplied"] == [], state
    assert state["missing_tables"] == [], state


def test_showmigrations_lists_the_initial_migration_as_applied(pretix):
    result = subprocess.run(
        [sys.executable, "-m", "pretix", "showmigrations", PLUGIN_MODULE],
        env=pretix.env(),
        cwd=pretix.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines[0] == PLUGIN_MODULE, result.stdout
    assert "[X] 0001_initial" in lines, result.stdout
    assert not [line for line in lines if line.startswith("[ ]")], result.stdout
