"""Django settings of the demo's pretix: pretix's own (read from ``.demo/pretix.cfg``), plus two things that
``pretix.cfg`` cannot say. ``demo/run.py`` starts every pretix process with ``DJANGO_SETTINGS_MODULE=demo.settings``.

* Mail goes to files in ``.demo/data/mail/`` (one ``.log`` file per connection) instead of SMTP on localhost:25,
  where nothing listens on a fresh machine and every mail pretix sends would log a ``ConnectionRefusedError``.
* A file-based cache in ``.demo/data/demo-cache/`` instead of pretix's dummy cache (pretix has a real cache only
  with Redis or memcached), so that the server sees that ``runperiodic`` ran once and shows no "cronjob was not
  executed" banner; every demo process (migrate, seed, runperiodic, the server) uses the same one.
"""

import os

from pretix.settings import *  # noqa: F403 - pretix's settings, from PRETIX_CONFIG_FILE
from pretix.settings import CACHES, DATA_DIR

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.path.join(DATA_DIR, "mail")

CACHES["default"] = {
    "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
    "LOCATION": os.path.join(DATA_DIR, "demo-cache"),
}
