"""zoo.download: verified atomic downloads, offline (file:// URLs and a local HTTP server in a thread)."""

from __future__ import annotations

import hashlib
import http.server
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from zoo.download import ChecksumMismatch, DownloadError, download_file, sha256_file
from zoo.errors import UserError

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes


class _Handler(http.server.BaseHTTPRequestHandler):
    """/ok serves PAYLOAD, /short promises more bytes than it sends, anything else is a 404."""

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        if self.path == "/ok":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif self.path == "/short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:100])
            self.close_connection = True
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "payload.bin"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_sha256_file_matches_hashlib(source: Path) -> None:
    assert sha256_file(source) == hashlib.sha256(PAYLOAD).hexdigest()
    assert sha256_file(source, chunk=7) == hashlib.sha256(PAYLOAD).hexdigest()


def test_success_puts_the_verified_file_in_place(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "sub" / "payload.bin"
    expected = hashlib.sha256(PAYLOAD).hexdigest()
    assert download_file(source.as_uri(), dest, sha256=expected.upper()) == expected
    assert dest.read_bytes() == PAYLOAD
    assert _leftovers(dest.parent) == ["payload.bin"]  # no staging file left


def test_success_over_http_and_log_lines_without_tqdm(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # "not installed": progress goes to the log
    dest = tmp_path / "payload.bin"
    with caplog.at_level(logging.INFO, logger="zoo.download"):
        digest = download_file(f"{server}/ok", dest, sha256=None)
    assert digest == hashlib.sha256(PAYLOAD).hexdigest() and dest.read_bytes() == PAYLOAD
    assert "MiB downloaded" in caplog.text and "not verified" in caplog.text and digest in caplog.text


def test_checksum_mismatch_keeps_nothing_and_leaves_an_old_file_alone(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "payload.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"old")
    wrong = "0" * 64
    with pytest.raises(ChecksumMismatch) as err:
        download_file(source.as_uri(), dest, sha256=wrong, hint="or copy it from the shared folder")
    text = str(err.value)
    assert source.as_uri() in text and str(dest) in text and wrong in text
    assert hashlib.sha256(PAYLOAD).hexdigest() in text and "by hand" in text and "shared folder" in text
    assert dest.read_bytes() == b"old" and _leftovers(dest.parent) == ["payload.bin"]
    fresh = tmp_path / "fresh" / "payload.bin"
    with pytest.raises(UserError):
        download_file(source.as_uri(), fresh, sha256=wrong)
    assert _leftovers(fresh.parent) == []


def test_http_error_is_one_paragraph(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "missing.bin"
    with pytest.raises(DownloadError) as err:
        download_file(f"{server}/missing", dest, sha256="a" * 64, where="data.download=true")
    text = str(err.value)
    assert "HTTP 404" in text and f"{server}/missing" in text and str(dest) in text
    assert "Where: data.download=true." in text and "by hand" in text and "\n" not in text
    assert _leftovers(tmp_path) == []


def test_truncated_transfer_is_refused(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="broke off|ended after"):
        download_file(f"{server}/short", tmp_path / "short.bin", sha256=None)
    assert _leftovers(tmp_path) == []


def test_no_network_names_the_url_the_destination_and_the_manual_route(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/archive.zip"  # the discard port: refused at once, network or not
    dest = tmp_path / "data" / "archive.zip"
    with pytest.raises(DownloadError) as err:
        download_file(url, dest, sha256=None, timeout=5)
    text = str(err.value)
    assert "no connection" in text and "offline" in text and url in text and str(dest) in text
    assert f"curl -L -o {dest} {url}" in text
    assert _leftovers(dest.parent) == []


def test_a_malformed_checksum_is_refused_before_downloading(source: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="64 hex digits") as err:
        download_file(source.as_uri(), tmp_path / "x.bin", sha256="abc", where="data.archive_sha256")
    assert "data.archive_sha256" in str(err.value) and not (tmp_path / "x.bin").exists()
