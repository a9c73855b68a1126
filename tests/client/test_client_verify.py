"""Verification: the right organizer/event/shredders, a complete zip, and the checksum the server sent."""

import base64
import hashlib

import pytest

from pretix_shredder_api.client.errors import CliError, ExitCode
from pretix_shredder_api.client.verify import (
    digest_from_etag,
    digest_from_repr_digest,
    expected_sha256,
    verify_export,
)

SHA = hashlib.sha256(b"data").digest()


def test_repr_digest_parsing():
    value = f"sha-512=:{base64.b64encode(b'x' * 64).decode()}:, sha-256=:{base64.b64encode(SHA).decode()}:"
    assert digest_from_repr_digest(value) == SHA.hex()
    assert digest_from_repr_digest("sha-512=:AAAA:") == ""


@pytest.mark.parametrize("value", ["sha-256=notcolons", "sha-256=:!!!:", "sha-256=:AAAA:"])
def test_unreadable_repr_digest_fails_verification(value):
    with pytest.raises(CliError) as exc:
        digest_from_repr_digest(value)
    assert exc.value.code == ExitCode.VERIFY_FAILED


def test_etag_parsing():
    assert digest_from_etag(f'"{SHA.hex()}"') == SHA.hex()
    assert digest_from_etag(SHA.hex().upper()) == SHA.hex()
    assert digest_from_etag(f'W/"{SHA.hex()}"') == ""  # weak: not a checksum
    assert digest_from_etag('"33a64df551425fcc55e4d42a148795d9f25f89d4"') == ""  # sha1-sized: not ours


def test_expected_sha256_collects_both():
    headers = {"ETag": f'"{SHA.hex()}"', "Repr-Digest": f"sha-256=:{base64.b64encode(SHA).decode()}:"}
    assert expected_sha256(headers) == {"ETag": SHA.hex(), "Repr-Digest": SHA.hex()}
    assert expected_sha256({}) == {}


def write(tmp_path, data, name="x.zip"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_good_export_passes(tmp_path, fake):
    data = fake.make_zip()
    path = write(tmp_path, data)
    headers = {"Repr-Digest": f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"}
    info = verify_export(
        path, organizer="bigevents", event="sampleconf", shredders=["question_answers"], headers=headers
    )
    assert (info.organizer, info.event, info.confirm_code) == ("bigevents", "sampleconf", "CFM123")
    assert info.sha256 == hashlib.sha256(data).hexdigest() and info.size == len(data)


@pytest.mark.parametrize(
    "zip_kwargs, asked, message",
    [
        ({"organizer": "evilcorp"}, {}, "is the export of evilcorp/sampleconf, not of bigevents/sampleconf"),
        ({"event": "otherconf"}, {}, "is the export of bigevents/otherconf"),
        ({"shredders": ["emails"]}, {}, "contains the shredders emails, not question_answers"),
        ({"confirm": True}, {}, "no CONFIRM_CODE.txt"),
        ({"index": True}, {}, "no index.json"),
    ],
)
def test_wrong_or_incomplete_export_is_rejected(tmp_path, fake, zip_kwargs, asked, message):
    path = write(tmp_path, fake.make_zip(**zip_kwargs))
    with pytest.raises(CliError) as exc:
        verify_export(path, organizer="bigevents", event="sampleconf", shredders=["question_answers"])
    assert exc.value.code == ExitCode.VERIFY_FAILED
    assert message in exc.value.message


def test_not_a_zip_is_rejected(tmp_path):
    with pytest.raises(CliError) as exc:
        verify_export(write(tmp_path, b"<html>login</html>"), organizer="o", event="e")
    assert "is not a readable zip file" in exc.value.message


def test_damaged_member_is_rejected(tmp_path, fake):
    data = bytearray(fake.make_zip())
    data[len(data) // 2] ^= 0xFF  # inside the incompressible attachment: its CRC no longer matches
    with pytest.raises(CliError) as exc:
        verify_export(write(tmp_path, bytes(data)), organizer="bigevents", event="sampleconf")
    assert exc.value.code == ExitCode.VERIFY_FAILED


def test_export_of_another_organizer_is_rejected_by_the_cli(cli, fake, tmp_path):
    fake.zip_bytes = fake.make_zip(organizer="evilcorp")
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == ExitCode.VERIFY_FAILED == 9
    assert "is the export of evilcorp/sampleconf, not of bigevents/sampleconf" in result.err
    assert not (tmp_path / "out.zip").exists()  # only a verified file gets the final name
    assert (tmp_path / "out.zip.part").exists()


@pytest.mark.parametrize("mode, header", [("wrong-repr", "Repr-Digest"), ("wrong-etag", "ETag")])
def test_digest_mismatch_is_rejected_by_the_cli(cli, fake, tmp_path, mode, header):
    fake.digest = mode
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 9
    assert f"does not match the server's {header}" in result.err
    assert not (tmp_path / "out.zip").exists()


def test_without_checksum_headers_the_zip_checks_still_apply(cli, fake, tmp_path):
    fake.digest = "none"
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 0, result.err
