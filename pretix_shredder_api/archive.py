"""The export file: a deflated zip with the same layout pretix's control panel produces."""

import hashlib
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.files import File
from django.utils.crypto import get_random_string

from . import exporters

CHUNK = 1024 * 1024
logger = logging.getLogger(__name__)


class StorageError(Exception):
    """The finished zip could not be stored (the media storage is full or not writable)."""


def index_data(event, shredder_ids: list[str], time, confirm_code: str | None, scope=None) -> dict:
    """pretix's index.json; an export of a scope below the event adds ``scope`` (its kind, dates, order count)."""
    index = {
        "instance": settings.SITE_URL,
        "organizer": event.organizer.slug,
        "event": event.slug,
        "time": time.isoformat() if time else None,
        "shredders": list(shredder_ids),
        "confirm_code": confirm_code,
    }
    if scope is not None and not scope.is_event:
        index["scope"] = scope.summary()
    return index


def new_confirm_code() -> str:
    return get_random_string(6)


def write_zip(
    fileobj,
    index: dict,
    shredders: Iterable,
    on_shredder: Callable[[int], None] | None = None,
    progress_for: Callable[[int], Callable[[float], None]] | None = None,
) -> None:
    """Write CONFIRM_CODE.txt, index.json and every file the given shredder instances generate into ``fileobj``;
    ``on_shredder(i)`` is called before the i-th shredder generates its files. A built-in shredder with a fast
    exporter (``exporters``) is written by that, which reports 0-100 per batch to ``progress_for(i)``; any other
    shredder by its own ``generate_files``."""
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("CONFIRM_CODE.txt", index["confirm_code"])
        zf.writestr("index.json", json.dumps(index, indent=4))
        for i, shredder in enumerate(shredders):
            if on_shredder:
                on_shredder(i)
            fast = exporters.exporter_for(shredder)
            if fast:
                fast(shredder.event, zf, progress_for(i) if progress_for else None)
                continue
            for fname, _ftype, content in shredder.generate_files() or ():
                zf.writestr(fname, content)


def sha256_of(fileobj) -> str:
    fileobj.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: fileobj.read(CHUNK), b""):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def store(fieldfile, filename: str, content) -> None:
    """Store ``content`` as ``fieldfile``'s file (as ``FieldFile.save`` does, without saving the model), or raise
    ``StorageError``. What a failed write left behind is removed: Django's file system storage keeps the part it
    wrote when the disk fills up, and that part holds personal data which no cleanup would ever find."""
    # The name is free now (pk-unique), so whatever is under it after a failed write is this write's.
    name = fieldfile.field.generate_filename(fieldfile.instance, filename)
    name = fieldfile.storage.get_available_name(name, max_length=fieldfile.field.max_length)
    try:
        fieldfile.name = fieldfile.storage.save(name, content, max_length=fieldfile.field.max_length)
    except OSError as e:
        try:
            fieldfile.storage.delete(name)
        except OSError:
            logger.warning("Could not remove the partly written export file %s", name, exc_info=True)
        raise StorageError(str(e)) from e
    setattr(fieldfile.instance, fieldfile.field.attname, fieldfile.name)
    fieldfile._committed = True


def build_into_cachedfile(
    cachedfile, filename: str, index: dict, shredders: Iterable, on_shredder=None, progress_for=None
) -> str:
    """Build the zip in a temporary file, store it in ``cachedfile`` and return its SHA-256 (hex)."""
    with tempfile.TemporaryFile() as raw:
        write_zip(raw, index, shredders, on_shredder, progress_for)
        checksum = sha256_of(raw)
        cachedfile.filename = filename
        cachedfile.type = "application/zip"
        store(cachedfile.file, f"shredder-export-{cachedfile.pk}.zip", File(raw))
        # Only a completely stored file is ever recorded, so a partial one can never be served.
        cachedfile.save(update_fields=["filename", "type", "file"])
    return checksum
