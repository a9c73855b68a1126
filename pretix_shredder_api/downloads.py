"""Serving an export file: streamed in chunks, with its SHA-256 as ETag and Repr-Digest, and single byte ranges."""

import base64
import re

from django.http import HttpResponse, HttpResponseNotModified, StreamingHttpResponse

CHUNK = 64 * 1024
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _chunks(fieldfile, start: int, length: int):
    with fieldfile.open("rb") as fh:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            data = fh.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data


def parse_range(header: str, size: int):
    """One byte range as inclusive ``(start, end)``; ``None`` for none; ``ValueError`` when unsatisfiable."""
    match = RANGE_RE.match(header.strip()) if header else None
    if not match or match.groups() == ("", ""):
        return None  # absent, multiple ranges or another unit: serve the whole file
    first, last = match.groups()
    if first == "":
        if int(last) == 0:
            raise ValueError("unsatisfiable")
        return max(size - int(last), 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # an invalid range is ignored (RFC 9110, 14.2)
    if start >= size:
        raise ValueError("unsatisfiable")
    return start, min(int(last), size - 1) if last else size - 1


def _etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def file_response(request, cachedfile, sha256_hex: str = "") -> HttpResponse:
    fieldfile = cachedfile.file
    size = fieldfile.size
    etag = f'"{sha256_hex}"' if sha256_hex else None
    headers = {"Accept-Ranges": "bytes"}
    if etag:
        headers["ETag"] = etag
        headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode()}:"

    if etag and _etag_matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponseNotModified()
        for k, v in headers.items():
            response[k] = v
        return response

    if_range = request.headers.get("If-Range")
    try:
        byte_range = None if (if_range and if_range != etag) else parse_range(request.headers.get("Range", ""), size)
    except ValueError:
        response = HttpResponse(status=416, content_type="application/json")
        response.content = b'{"detail": "The requested range is not satisfiable."}'
        response["Content-Range"] = f"bytes */{size}"
        return response

    start, end = byte_range or (0, size - 1)
    length = max(end - start + 1, 0)
    response = StreamingHttpResponse(
        _chunks(fieldfile, start, length), status=206 if byte_range else 200, content_type="application/zip"
    )
    response["Content-Length"] = str(length)
    response["Content-Disposition"] = 'attachment; filename="{}"'.format(
        (cachedfile.filename or "export.zip").encode("ascii", "ignore").decode().replace('"', "")
    )
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    for k, v in headers.items():
        response[k] = v
    # A zip sent as an attachment is never rendered, so it needs no Content-Security-Policy; pretix's security
    # middleware honours this flag and skips building one (which costs queries on every download).
    response._csp_ignore = True
    return response
