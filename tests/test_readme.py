"""README.rst is the package's long description and the first thing a newcomer reads: it must render cleanly,
and it must open with the two commands this project promises."""

from pathlib import Path

import docutils.core
import docutils.utils

README = Path(__file__).resolve().parent.parent / "README.rst"


def test_readme_renders_without_warnings():
    docutils.core.publish_doctree(
        README.read_text(), settings_overrides={"report_level": 2, "halt_level": 2, "warning_stream": False}
    )


def test_readme_opens_with_the_commands():
    head = README.read_text().split("What it is")[0]
    assert head.index("make demo") < head.index("make test")
