"""Downloading the export: wait while it runs (409), stream into ``FILE.part``, resume with ``Range``."""

import re
from dataclasses import dataclass
from functools import partial
from http.client import HTTPException
from pathlib import Path

from pretix_shredder_api.client.errors import CliError, ExitCode
from pretix_shredder_api.client.http import error_for
from pretix_shredder_api.client.polling import Pending
from pretix_shredder_api.client.progress import DownloadProgress, StatusReporter

RETRIES = 3  # resumptions after a broken connection, per download
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
DOWNLOAD_ERRORS = {
    404: "not found - the export is unknown, expired, already shredded, or was started with a different token",
    410: "the export failed on the server",
}


class _Interrupted(Exception):
    """The body ended early; what we have is kept in the .part file for a resume."""


class _Restart(Exception):
    """What we have cannot be continued (the server sent something else); start from byte 0."""


@dataclass(frozen=True)
class Downloaded:
    part: Path
    size: int
    headers: object  # of the last response: ETag / Repr-Digest describe the whole file, also on a 206


def part_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def download(session, url: str, part: Path, *, poller, console, retries: int = RETRIES) -> Downloaded:
    """Wait for the export and download it completely into ``part`` (kept and resumed if it already exists)."""
    failures = 0
    etag = None
    while True:
        resp, offset = poller.wait(
            partial(_request, session, url, part, etag),
            "the export",
            on_pending=StatusReporter(console, "export"),
            retry_errors=True,
        )
        etag = etag or resp.headers.get("ETag")
        try:
            size = _receive(resp, part, offset, etag, console)
            return Downloaded(part=part, size=size, headers=resp.headers)
        except (_Interrupted, _Restart) as e:
            failures += 1
            if isinstance(e, _Restart):
                part.unlink(missing_ok=True)
            if failures > retries:
                raise CliError(
                    ExitCode.NETWORK,
                    f"Download failed {failures} times ({e}); {part} is kept. Continue with: "
                    f"pretix-shredder export --resume -o {part.with_name(part.name.removesuffix('.part'))}",
                ) from None
            console.warn(f"Download interrupted ({e}); retrying.")
            poller.sleep(min(2.0**failures, poller.max_delay))
        finally:
            resp.close()


def _request(session, url, part: Path, etag: str | None):
    """One GET: ``(response, offset)`` for a 200/206, ``Pending`` for a 409, else an error.

    With ``If-Range`` the server sends the whole file instead of the rest if it is no longer the one we started.
    """
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else None
    if headers and etag:
        headers["If-Range"] = etag
    resp = session.request("GET", url, headers=headers)
    if resp.status in (200, 206):
        return resp, offset
    with resp:
        if resp.status == 409:
            return Pending(resp.json())
        if resp.status == 416 and offset:  # our .part is longer than the file: it is not this file
            part.unlink()
            return _request(session, url, part, etag)
        raise error_for(resp, "Download", DOWNLOAD_ERRORS)


def _receive(resp, part: Path, offset: int, etag, console) -> int:
    """Write the body to ``part``; return its complete size."""
    if resp.status == 206:
        start, total = _content_range(resp.headers.get("Content-Range", ""))
        if start != offset:
            raise _Restart(f"the server resumed at byte {start} instead of {offset}")
        if etag and resp.headers.get("ETag") not in (None, etag):
            raise _Restart("the file changed on the server")
        mode = "ab"
    else:
        if offset:
            console.info("The server sent the whole file instead of the rest; starting over.")
        offset, total, mode = 0, resp.content_length, "wb"
    progress = DownloadProgress(console)
    done = offset
    try:
        with open(part, mode) as f:
            for chunk in _network_chunks(resp, offset):
                f.write(chunk)
                done += len(chunk)
                progress.update(done, total)
    except OSError as e:  # our disk; network errors arrive as _Interrupted
        raise CliError(ExitCode.USAGE, f"Cannot write {part}: {e.strerror or e}") from None
    finally:
        progress.update(done, total, force=True)
        progress.finish()
    if total is not None and done < total:
        raise _Interrupted(f"connection closed after {done} of {total} bytes")
    if total is not None and done > total:
        raise _Restart(f"received {done} bytes, more than the announced {total}")
    return done


def _network_chunks(resp, received: int):
    """The body's chunks; a network failure becomes ``_Interrupted``."""
    chunks = resp.chunks()
    while True:
        try:
            chunk = next(chunks, b"")
        except (OSError, HTTPException) as e:
            raise _Interrupted(f"{type(e).__name__} after {received} bytes") from None
        if not chunk:
            return
        received += len(chunk)
        yield chunk


def _content_range(value: str) -> tuple[int, int | None]:
    match = _CONTENT_RANGE.match(value.strip())
    if not match:
        raise _Restart(f"unreadable Content-Range {value!r}")
    return int(match[1]), None if match[3] == "*" else int(match[3])
