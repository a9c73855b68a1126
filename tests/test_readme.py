"""README.rst is the package's long description and the first thing a newcomer reads: it must render cleanly, it must
open with the two commands this project promises, stay the front door (under 250 lines; the reference is in docs/),
and its links into docs/ must lead somewhere."""

import re
from pathlib import Path

import docutils.core
import docutils.utils

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.rst"
FIRST_SECTION = "What it does\n------------\n"


def test_readme_renders_without_warnings():
    docutils.core.publish_doctree(
        README.read_text(), settings_overrides={"report_level": 2, "halt_level": 2, "warning_stream": False}
    )


def test_readme_opens_with_the_commands():
    text = README.read_text()
    assert FIRST_SECTION in text  # the first screen ends where the first section starts
    head = text.split(FIRST_SECTION)[0]
    assert not re.search(r"^-{3,}$", head, re.MULTILINE)  # ... and no other section comes before it
    assert head.index("make demo") < head.index("make test")


def test_readme_is_the_front_door_not_the_reference():
    assert len(README.read_text().splitlines()) < 250


def test_readme_links_into_docs_exist():
    targets = re.findall(r"<(docs/[^>]+)>`_", README.read_text())
    assert targets, "README links into docs/"
    missing = sorted({t for t in targets if not (ROOT / t).is_file()})
    assert not missing, f"README links to files that do not exist: {missing}"
