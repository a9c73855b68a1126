"""The built wheel ships what pretix needs at run time: migrations, templates, the compiled German catalog, the
client and both entry points."""

import gettext
import io
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contents(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("pretix_shredder_api-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        mo = zf.read("pretix_shredder_api/locale/de/LC_MESSAGES/django.mo")
    catalog = gettext.GNUTranslations(io.BytesIO(mo))
    german = catalog.gettext("Devices may not use the data shredder.")
    assert german == "Geräte dürfen den Datenvernichter nicht verwenden."
    assert "pretix_shredder_api/migrations/0001_initial.py" in names
    for template in ("settings.html", "event.html", "overview.html"):
        assert f"pretix_shredder_api/templates/pretix_shredder_api/{template}" in names
    # the German catalog, compiled at build time (the .mo is not in the repository)
    assert "pretix_shredder_api/locale/de/LC_MESSAGES/django.po" in names
    assert "pretix_shredder_api/locale/de/LC_MESSAGES/django.mo" in names
    assert "pretix_shredder_api/client/cli.py" in names
    assert not any(n.startswith(("tests/", "demo/", "benchmarks/")) for n in names)
    assert "pretix_shredder_api = pretix_shredder_api:PretixPluginMeta" in entry_points
    assert "pretix-shredder = pretix_shredder_api.client.cli:main" in entry_points
