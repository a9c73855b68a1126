"""Is the downloaded file the export we asked for, complete and unchanged?"""

import base64
import binascii
import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pretix_shredder_api.client.errors import CliError, ExitCode

INDEX = "index.json"
CONFIRM_CODE = "CONFIRM_CODE.txt"
_HEX_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class ExportInfo:
    """What an export zip says about itself."""

    organizer: str
    event: str
    shredders: list
    confirm_code: str
    time: str | None
    sha256: str
    size: int


def _fail(message: str) -> CliError:
    return CliError(ExitCode.VERIFY_FAILED, f"Verification failed: {message}")


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_from_repr_digest(value: str) -> str:
    """The hex SHA-256 in ``Repr-Digest: sha-256=:<base64>:`` (RFC 9530), or "" if it names no sha-256."""
    for member in value.split(","):
        key, _, encoded = member.strip().partition("=")
        if key.strip().lower() != "sha-256":
            continue
        encoded = encoded.strip()
        try:
            if len(encoded) < 2 or encoded[0] != ":" or encoded[-1] != ":":
                raise ValueError
            raw = base64.b64decode(encoded[1:-1], validate=True)
        except (ValueError, binascii.Error):
            raise _fail(f"the server sent an unreadable Repr-Digest header: {value!r}") from None
        if len(raw) != 32:
            raise _fail(f"the server sent a Repr-Digest whose sha-256 is not 32 bytes: {value!r}")
        return raw.hex()
    return ""


def digest_from_etag(value: str) -> str:
    """The hex SHA-256 if a strong ETag is one (bare or quoted), else ""."""
    value = value.strip()
    if value.startswith("W/"):
        return ""
    value = value.strip('"')
    return value.lower() if _HEX_SHA256.match(value) else ""


def expected_sha256(headers) -> dict:
    """``{header name: hex sha256}`` for every checksum the server sent."""
    found = {}
    if headers.get("Repr-Digest"):
        if digest := digest_from_repr_digest(headers["Repr-Digest"]):
            found["Repr-Digest"] = digest
    if headers.get("ETag"):
        if digest := digest_from_etag(headers["ETag"]):
            found["ETag"] = digest
    return found


def read_export(path: Path, sha256: str | None = None) -> ExportInfo:
    """Open the zip, check every member's CRC, read ``index.json`` and ``CONFIRM_CODE.txt``."""
    try:
        with zipfile.ZipFile(path) as zf:
            broken = zf.testzip()
            if broken:
                raise _fail(f"{path}: the member {broken!r} is damaged")
            names = set(zf.namelist())
            if INDEX not in names:
                raise _fail(f"{path}: no {INDEX} in the zip - this is not a shredder export")
            if CONFIRM_CODE not in names:
                raise _fail(f"{path}: no {CONFIRM_CODE} in the zip - this is not a shredder export")
            index = json.loads(zf.read(INDEX).decode("utf-8"))
            code = zf.read(CONFIRM_CODE).decode("utf-8").strip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        raise _fail(f"{path} is not a readable zip file ({e})") from None
    except (ValueError, UnicodeDecodeError):
        raise _fail(f"{path}: {INDEX} or {CONFIRM_CODE} is not readable UTF-8 / JSON") from None
    except OSError as e:
        raise _fail(f"cannot read {path}: {e.strerror or e}") from None
    if not isinstance(index, dict) or not all(isinstance(index.get(k), str) for k in ("organizer", "event")):
        raise _fail(f"{path}: {INDEX} does not name an organizer and event")
    if not code:
        raise _fail(f"{path}: {CONFIRM_CODE} is empty")
    if index.get("confirm_code") not in (None, code):
        raise _fail(f"{path}: the confirm code in {INDEX} differs from {CONFIRM_CODE}")
    return ExportInfo(
        organizer=index["organizer"],
        event=index["event"],
        shredders=list(index.get("shredders") or []),
        confirm_code=code,
        time=index.get("time"),
        sha256=sha256 or sha256_file(path),
        size=path.stat().st_size,
    )


def verify_export(path: Path, *, organizer: str, event: str, shredders=None, headers=None) -> ExportInfo:
    """``read_export`` plus: made for this organizer/event/shredders, and the checksum the server sent matches."""
    actual = sha256_file(path)
    for name, digest in expected_sha256(headers or {}).items():
        if actual != digest:
            raise _fail(f"{path}: SHA-256 {actual} does not match the server's {name} {digest}")
    info = read_export(path, sha256=actual)
    if (info.organizer.casefold(), info.event.casefold()) != (organizer.casefold(), event.casefold()):
        raise _fail(f"{path} is the export of {info.organizer}/{info.event}, not of {organizer}/{event} as requested")
    if shredders and info.shredders and set(info.shredders) != set(shredders):
        raise _fail(
            f"{path} contains the shredders {', '.join(sorted(info.shredders))}, "
            f"not {', '.join(sorted(set(shredders)))} as requested"
        )
    return info
