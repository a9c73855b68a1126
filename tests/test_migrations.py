"""The job model and its migrations agree. (The migrations are applied for real by the integration suite,
which migrates a PostgreSQL database with ``pretix migrate``.)"""

import os
import subprocess
import sys


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
