"""The client must run without pretix and Django: no import of either, directly or indirectly."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pretix_shredder_api

PROJECT = Path(pretix_shredder_api.__file__).resolve().parent.parent
CLIENT_MODULES = sorted(
    f"pretix_shredder_api.client.{p.stem}"
    for p in (PROJECT / "pretix_shredder_api" / "client").glob("*.py")
    if p.stem != "__main__"
)
FORBIDDEN = ("django", "pretix", "rest_framework", "celery")

BLOCKER = textwrap.dedent(
    f"""
    import sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {FORBIDDEN!r}:
                raise ImportError(f"the CLI must not import {{name}}")
            return None

    sys.meta_path.insert(0, Blocker())
    """
)


def run_python(args, *, cwd=PROJECT, env_extra=None, stdin=""):
    """A fresh interpreter: no pytest, no pytest-django, no DJANGO_SETTINGS_MODULE, no proxies."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), **(env_extra or {})}
    for name in ("DJANGO_SETTINGS_MODULE", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60
    )


def test_importing_every_client_module_imports_neither_django_nor_pretix():
    assert "pretix_shredder_api.client.cli" in CLIENT_MODULES
    code = "import sys\n" + "".join(f"import {m}\n" for m in CLIENT_MODULES)
    code += textwrap.dedent(
        f"""
        bad = sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r})
        assert not bad, bad
        assert "pretix_shredder_api.apps" not in sys.modules
        """
    )
    result = run_python(["-c", code])
    assert result.returncode == 0, result.stderr


def test_client_runs_the_whole_flow_when_django_and_pretix_cannot_be_imported(fake, tmp_path):
    """A meta path finder refuses django/pretix; then the CLI runs export, verify and shred in that process."""
    code = BLOCKER + "from pretix_shredder_api.client.cli import main\nraise SystemExit(main(sys.argv[1:]))\n"
    argv = ["run", "--shredder", "question_answers", "-o", "out.zip", "--yes", "--json"]
    argv += ["--url", fake.base, "--organizer", fake.organizer, "--event", fake.event]
    result = run_python(["-c", code, *argv], cwd=tmp_path, env_extra={"PRETIX_TOKEN": fake.token})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.zip").read_bytes() == fake.zip_bytes
    assert fake.token not in result.stdout + result.stderr


def test_without_a_terminal_the_real_process_refuses(fake, tmp_path):
    """stdin from a pipe is not a terminal: without --yes nothing is sent, whatever is piped in."""
    argv = ["-m", "pretix_shredder_api.client", "shred", "--shred-url", f"{fake.base}{fake.prefix()}shred/a/b/"]
    result = run_python(argv, cwd=tmp_path, env_extra={"PRETIX_TOKEN": fake.token}, stdin="yes\n")
    assert result.returncode == 2
    assert "stdin is not a terminal" in result.stderr
    assert not fake.requests
