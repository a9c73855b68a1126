"""Downloading: ``.part`` first, resume with Range after a broken connection, start over when that is impossible."""

import hashlib
import json

from pretix_shredder_api.client.progress import format_bar, human_size


def ranges(fake):
    return [r.headers.get("Range") for r in fake.seen("GET", "download/")]


def test_interrupted_download_is_resumed_with_range(cli, fake, tmp_path):
    fake.cut_at = [1000]
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 0, result.err
    assert ranges(fake) == [None, "bytes=1000-"]
    etag = '"' + hashlib.sha256(fake.zip_bytes).hexdigest() + '"'
    assert fake.seen("GET", "download/")[1].headers["If-Range"] == etag  # "only if it is still that file"
    assert "Download interrupted (connection closed after 1000 of" in result.err
    assert (tmp_path / "out.zip").read_bytes() == fake.zip_bytes
    assert not (tmp_path / "out.zip.part").exists()


def test_server_ignoring_range_means_starting_over(cli, fake, tmp_path):
    fake.cut_at = [1000, 2000]
    fake.ranges = False
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 0, result.err
    assert ranges(fake) == [None, "bytes=1000-", "bytes=2000-"]
    assert result.err.count("The server sent the whole file instead of the rest; starting over.") == 2
    assert (tmp_path / "out.zip").read_bytes() == fake.zip_bytes


def test_gives_up_after_repeated_interruptions_and_keeps_the_part(cli, fake, tmp_path):
    fake.cut_at = [100, 200, 300, 400]
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert result.code == 10
    assert "Download failed 4 times" in result.err
    assert "pretix-shredder export --resume -o out.zip" in result.err
    assert (tmp_path / "out.zip.part").read_bytes() == fake.zip_bytes[:1000]  # 100 + 200 + 300 + 400
    assert not (tmp_path / "out.zip").exists()


def test_resume_in_a_later_run(cli, fake, tmp_path):
    fake.cut_at = [100, 100, 100, 100]
    assert cli("export", "--shredder", "question_answers", "-o", "out.zip").code == 10
    exports_started = len(fake.seen("POST", "export/"))
    result = cli("export", "--resume", "-o", "out.zip", "--json")
    assert result.code == 0, result.err
    assert len(fake.seen("POST", "export/")) == exports_started  # no new export
    assert ranges(fake)[-1] == "bytes=400-"
    assert (tmp_path / "out.zip").read_bytes() == fake.zip_bytes
    assert json.loads((tmp_path / "out.zip.json").read_text())["sha256"] == result.json["sha256"]


def test_resume_of_a_finished_download_only_verifies(cli, fake, tmp_path):
    assert cli("export", "--shredder", "question_answers", "-o", "out.zip").code == 0
    downloads = len(fake.seen("GET"))
    result = cli("export", "--resume", "-o", "out.zip")
    assert result.code == 0, result.err
    assert len(fake.seen("GET")) == downloads


def test_a_part_longer_than_the_file_is_discarded(cli, fake, tmp_path):
    fake.cut_at = [100, 100, 100, 100]
    assert cli("export", "--shredder", "question_answers", "-o", "out.zip").code == 10
    (tmp_path / "out.zip.part").write_bytes(b"x" * (len(fake.zip_bytes) + 10))
    result = cli("export", "--resume", "-o", "out.zip")
    assert result.code == 0, result.err
    assert ranges(fake)[-2:] == [f"bytes={len(fake.zip_bytes) + 10}-", None]  # 416, then from the start
    assert (tmp_path / "out.zip").read_bytes() == fake.zip_bytes


def test_resume_needs_the_state_file(cli, fake):
    result = cli("export", "--resume", "-o", "missing.zip")
    assert result.code == 2
    assert "Cannot read the state file missing.zip.json" in result.err


def test_resume_of_another_event_is_refused(cli, fake, tmp_path):
    fake.cut_at = [100, 100, 100, 100]
    assert cli("export", "--shredder", "question_answers", "-o", "out.zip").code == 10
    result = cli("export", "--resume", "-o", "out.zip", "--event", "otherconf")
    assert result.code == 2
    assert "belongs to bigevents/sampleconf" in result.err


def test_progress_bar_on_a_terminal(cli, fake):
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip", tty=True)
    assert result.code == 0, result.err
    assert "100% " in result.err and "[##############################]" in result.err


def test_no_progress_bar_without_a_terminal(cli, fake):
    result = cli("export", "--shredder", "question_answers", "-o", "out.zip")
    assert "\r" not in result.err and "[#" not in result.err


def test_format_bar_and_sizes():
    assert format_bar(512, 1024).startswith("[" + "#" * 15 + "." * 15 + "]  50% 512 B / 1.0 KiB")
    assert format_bar(3 * 1024 * 1024, None) == "downloading 3.0 MiB"
    assert human_size(5 * 1024**3) == "5.0 GiB"
