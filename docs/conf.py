"""Sphinx configuration of the pretix-shredder-api documentation (``make docs``; warnings are errors)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The version without importing the package (importing it would need pretix and Django).
release = re.search(r'__version__ = "([^"]+)"', (ROOT / "pretix_shredder_api" / "__init__.py").read_text())[1]
version = release

project = "pretix-shredder-api"
author = "pretix-shredder-api developers"
copyright = "pretix-shredder-api developers"

extensions = ["sphinxcontrib.httpdomain"]

root_doc = "index"
exclude_patterns = ["_build"]
nitpicky = True
# The REST reference lists paths without the common prefix in its index, as pretix's documentation does.
http_index_ignore_prefixes = ["/api/v1/organizers/(organizer)"]
http_index_shortname = "REST API"
http_strict_mode = True

html_theme = "alabaster"
html_title = f"pretix-shredder-api {release}"
html_theme_options = {"description": "The data shredder REST API for pretix", "page_width": "1100px"}
html_show_sourcelink = False
