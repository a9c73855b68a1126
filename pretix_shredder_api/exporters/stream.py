"""Writing zip entries piece by piece: JSON documents batch by batch, and stored files chunk by chunk."""

import json
import shutil
from json.encoder import encode_basestring_ascii

CHUNK = 1024 * 1024
BATCH = 2000  # rows per query batch (and per JSON encoding step)


INDENT = "    "


def _float(o: float) -> str:
    """As json's encoder writes floats (``allow_nan=True``)."""
    if o != o:
        return "NaN"
    if o == float("inf"):
        return "Infinity"
    if o == -float("inf"):
        return "-Infinity"
    return float.__repr__(o)


def _key(k) -> str:
    """As json's encoder turns dict keys into strings (``skipkeys=False``)."""
    if isinstance(k, str):
        return k
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, float):
        return _float(k)
    if isinstance(k, int):
        return int.__repr__(k)
    raise TypeError(f"keys must be str, int, float, bool or None, not {k.__class__.__name__}")


def dumps_indented(o, default, level: int = 0) -> str:
    """``json.dumps(o, indent=4, cls=...)`` at nesting ``level``, where ``default`` is that encoder's ``default``.

    The same text as the standard library's pure-Python indenting encoder (which ``indent`` forces), in a fraction
    of its time: strings go through the C string escaper, containers are joined instead of yielded piece by piece,
    and plain strings and ints among a container's members are written without a call of their own.
    ``tests/test_fast_export.py`` checks it against ``json.dumps`` on generated values. (No circular-reference check:
    the exporters build fresh trees.)
    """
    if isinstance(o, str):
        return encode_basestring_ascii(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        return _float(o)
    if isinstance(o, list | tuple):
        if not o:
            return "[]"
        inner = "\n" + INDENT * (level + 1)
        items = (_member(v, default, level + 1) for v in o)
        return "[" + inner + ("," + inner).join(items) + "\n" + INDENT * level + "]"
    if isinstance(o, dict):
        if not o:
            return "{}"
        inner = "\n" + INDENT * (level + 1)
        items = (
            encode_basestring_ascii(k if k.__class__ is str else _key(k)) + ": " + _member(v, default, level + 1)
            for k, v in o.items()
        )
        return "{" + inner + ("," + inner).join(items) + "\n" + INDENT * level + "}"
    return dumps_indented(default(o), default, level)


def _member(v, default, level: int) -> str:
    cls = v.__class__
    if cls is str:
        return encode_basestring_ascii(v)
    if cls is int:
        return int.__repr__(v)
    return dumps_indented(v, default, level)


class JsonDocument:
    """Writes the bytes ``json.dumps(whole, indent=4, cls=cls)`` would give for a top-level dict (or list) of which
    only one batch at a time is in memory.

    ``json.dumps`` (here ``dumps_indented``) of one batch with ``indent=4`` is that batch's members at the top
    level's indentation between ``{\\n`` and ``\\n}``; batches joined by ``,\\n`` give the document as a whole.
    The result is byte-identical to pretix's output for the same rows in the same order (a key that recurs in a
    later batch, which the shredders' queries do not produce, would appear twice where pretix keeps the last;
    parsed, both give the last value).
    """

    def __init__(self, raw, kind=dict, cls=None):
        self.raw = raw
        self.kind = kind
        self.default = (cls or json.JSONEncoder)().default
        self.started = False

    def add(self, batch) -> None:
        if not batch:
            return
        text = dumps_indented(batch, self.default)
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
