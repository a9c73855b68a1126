"""Compile the plugin's gettext catalogs (``locale/*/LC_MESSAGES/*.po``) to ``.mo`` with Babel (pure Python).

Run by the wheel build (setup.py's build_py, into the build directory) and by ``make install`` (next to the .po
files, for the editable install the tests use). The .mo files are build output and not committed.

    python compile_catalogs.py [PACKAGE_DIR [OUTPUT_DIR]]
"""

import sys
from pathlib import Path

PACKAGE = "pretix_shredder_api"


def compile_catalogs(package_dir, output_dir=None) -> list[Path]:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    package_dir = Path(package_dir)
    output_dir = Path(output_dir) if output_dir else package_dir
    written = []
    for po in sorted(package_dir.glob("locale/*/LC_MESSAGES/*.po")):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        mo = output_dir / po.relative_to(package_dir).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo)
    return written


if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    args = sys.argv[1:]
    for path in compile_catalogs(args[0] if args else root / PACKAGE, args[1] if len(args) > 1 else None):
        print(f"compiled {path}")
