"""Serving an export file: streamed in chunks, with its SHA-256 as ETag and Repr-Digest, and single byte ranges;
content negotiation for the one representation there is. Every export served is logged on its event
(``served_export``, the rule in ``jobs.log_download``)."""

import base64
import os
import re

from django.http import HttpResponse, HttpResponseNotModified, StreamingHttpResponse
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation

from . import jobs

CHUNK = 64 * 1024
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


ZIP = "application/zip"
JSON = "application/json"


def _media_ranges(header: str):
    """``(type, subtype, q)`` of each media range in an Accept header; malformed entries are skipped."""
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        main, slash, sub = media.lower().partition("/")
        if not slash or not main or not sub:
            continue
        q = 1.0
        for param in params:
            name, _eq, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        yield main, sub, q


def quality(header: str, media_type: str) -> float:
    """How acceptable ``media_type`` is by an Accept header (RFC 9110, 12.5.1): the q of the most specific media
    range that matches it (``type/subtype`` over ``type/*`` over ``*/*``), 0 if none does, 1 without the header."""
    if not header or not header.strip():
        return 1.0
    main, sub = media_type.split("/")
    best_specificity, best_q = -1, 0.0
    for r_main, r_sub, q in _media_ranges(header):
        if (r_main, r_sub) == (main, sub):
            specificity = 2
        elif (r_main, r_sub) == (main, "*"):
            specificity = 1
        elif (r_main, r_sub) == ("*", "*"):
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, best_q = specificity, q
    return best_q


class DownloadNegotiation(DefaultContentNegotiation):
    """The download URL's one representation is the zip; its refusals (409, 410, 404) are JSON, the API's error
    format. Acceptable is any Accept header that admits the zip (``application/zip``, ``application/*``, ``*/*``,
    or none at all) – or JSON: clients that send ``Accept: application/json`` on every request got the file from
    pretix's built-in API and keep getting it (RFC 9110 lets a server disregard Accept rather than refuse). Anything
    else is 406, in JSON. Every answer is rendered by the API's JSON renderer; the zip bypasses it."""

    def select_renderer(self, request, renderers, format_suffix=None):
        header = request.headers.get("Accept", "")
        if quality(header, ZIP) <= 0 and quality(header, JSON) <= 0:
            raise NotAcceptable()
        return renderers[0], renderers[0].media_type


def _chunks(fh, start: int, length: int):
    try:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            data = fh.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        fh.close()


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


def file_response(request, cachedfile, fh, sha256_hex: str = "") -> HttpResponse:
    """The answer for ``cachedfile``, read through ``fh`` (``jobs.open_export``), which it closes."""
    etag = f'"{sha256_hex}"' if sha256_hex else None
    headers = {"Accept-Ranges": "bytes"}
    if etag:
        headers["ETag"] = etag
        headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode()}:"

    if etag and _etag_matches(request.headers.get("If-None-Match", ""), etag):
        fh.close()
        response = HttpResponseNotModified()
        for k, v in headers.items():
            response[k] = v
        return response

    size = fh.seek(0, os.SEEK_END)
    if_range = request.headers.get("If-Range")
    try:
        byte_range = None if (if_range and if_range != etag) else parse_range(request.headers.get("Range", ""), size)
    except ValueError:
        fh.close()
        response = HttpResponse(status=416, content_type="application/json")
        response.content = b'{"detail": "The requested range is not satisfiable."}'
        response["Content-Range"] = f"bytes */{size}"
        return response

    start, end = byte_range or (0, size - 1)
    length = max(end - start + 1, 0)
    response = StreamingHttpResponse(
        _chunks(fh, start, length), status=206 if byte_range else 200, content_type="application/zip"
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


def served_export(request, job, cachedfile, fh, identity, via: str) -> HttpResponse:
    """``file_response`` for the export of ``job``, logged as a download by ``identity`` (the one downloading) when
    it sends the export (``jobs.log_download``: a whole file always, a part once per window, a 304 never). Logged
    when the answer starts, so an aborted download counts as one: who may have a copy is what the log is for."""
    response = file_response(request, cachedfile, fh, job.file_sha256)
    jobs.log_download(
        job, identity, status=response.status_code, via=via, content_range=response.get("Content-Range", "")
    )
    return response
