"""Fetching inputs by URL: checksum verified, nothing left behind on failure."""

import hashlib
import http.server
import threading
from functools import partial

import pytest

from sclatent.errors import InputError
from sclatent.fetch import download, sha256sum, verify_checksum


@pytest.fixture
def served(tmp_path):
    """A local HTTP server over tmp_path/www; yields (base URL, the served file's bytes)."""
    root = tmp_path / "www"
    root.mkdir()
    payload = b"counts" * 1000
    (root / "data.h5ad").write_bytes(payload)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", payload
    server.shutdown()


def test_download_verifies_and_writes(served, tmp_path):
    base, payload = served
    expected = hashlib.sha256(payload).hexdigest()
    target = tmp_path / "resources" / "data.h5ad"
    assert download(f"{base}/data.h5ad", target, expected, "dataset 'x'") == expected
    assert target.read_bytes() == payload


def test_wrong_checksum_leaves_no_file(served, tmp_path):
    base, _ = served
    target = tmp_path / "data.h5ad"
    with pytest.raises(
        InputError, match=r"dataset 'x': .* has sha256 [0-9a-f]{64}, expected 0{64}"
    ):
        download(f"{base}/data.h5ad", target, "0" * 64, "dataset 'x'")
    assert not target.exists()
    assert list(tmp_path.glob(".data.h5ad.part*")) == []


def test_unreachable_url_is_one_line(served, tmp_path):
    base, _ = served
    with pytest.raises(InputError, match=r"dataset 'x': could not download .*/missing.h5ad"):
        download(f"{base}/missing.h5ad", tmp_path / "m.h5ad", None, "dataset 'x'")


def test_directory_checksum_covers_names_and_contents(tmp_path):
    folder = tmp_path / "mtx"
    folder.mkdir()
    (folder / "matrix.mtx").write_text("a")
    first = sha256sum(folder)
    (folder / "barcodes.tsv").write_text("b")
    assert sha256sum(folder) != first
    assert verify_checksum(folder, None, "x") == sha256sum(folder)
