"""Writing zip entries piece by piece: JSON documents batch by batch, and stored files chunk by chunk."""

import json
import shutil

CHUNK = 1024 * 1024
BATCH = 2000  # rows per query batch (and per JSON encoding step)


class JsonDocument:
    """Writes the bytes ``json.dumps(whole, indent=4, cls=cls)`` would give for a top-level dict (or list) of which
    only one batch at a time is in memory.

    ``json.dumps`` of one batch with ``indent=4`` is that batch's members at the top level's indentation between
    ``{\\n`` and ``\\n}``; batches joined by ``,\\n`` give the document as a whole. The result is byte-identical to
    pretix's output for the same rows in the same order (a key that recurs in a later batch, which the shredders'
    queries do not produce, would appear twice where pretix keeps the last; parsed, both give the last value).
    """

    def __init__(self, raw, kind=dict, cls=None):
        self.raw = raw
        self.kind = kind
        self.cls = cls
        self.started = False

    def add(self, batch) -> None:
        if not batch:
            return
        text = json.dumps(batch, indent=4, cls=self.cls)
        self.raw.write(((",\n" if self.started else "[\n" if self.kind is list else "{\n") + text[2:-2]).encode())
        self.started = True

    def close(self) -> None:
        closing = ("\n]" if self.kind is list else "\n}") if self.started else ("[]" if self.kind is list else "{}")
        self.raw.write(closing.encode())


def write_json(zf, name: str, batches, kind=dict, cls=None) -> None:
    """A zip entry ``name`` holding the JSON document made of ``batches`` (dicts, or lists when ``kind`` is list)."""
    with zf.open(name, "w", force_zip64=True) as raw:
        doc = JsonDocument(raw, kind, cls)
        for batch in batches:
            doc.add(batch)
        doc.close()


def copy_file(zf, name: str, fieldfile) -> None:
    """A zip entry ``name`` with the content of a stored file (a FieldFile), read in chunks."""
    with fieldfile.open("rb") as src, zf.open(name, "w", force_zip64=True) as dst:
        shutil.copyfileobj(src, dst, CHUNK)


def batched(rows, size: int | None = None):
    """Lists of up to ``size`` (default ``BATCH``) consecutive rows."""
    size = size or BATCH
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Counter:
    """Reports ``done / total`` as 0-100 to ``progress`` (if any) after each batch."""

    def __init__(self, progress, total: int):
        self.progress = progress
        self.total = max(total, 1)
        self.done = 0

    def add(self, n: int) -> None:
        self.done += n
        if self.progress:
            self.progress(min(100, self.done * 100 / self.total))
