"""Fetching public datasets by URL, with checksum verification."""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request
from pathlib import Path

from sclatent.errors import InputError

log = logging.getLogger(__name__)


def sha256sum(path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file or, for a directory (10x MatrixMarket), of its sorted files."""
    digest = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            while chunk := handle.read(chunk_bytes):
                digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path, expected: str | None, what: str) -> str:
    """Compare a file's SHA-256 with the expected one; InputError naming both on mismatch."""
    actual = sha256sum(path)
    if expected and actual != expected.lower():
        raise InputError(
            f"{what}: {path} has sha256 {actual}, expected {expected}: the file differs from "
            "the published one (re-download it, or fix the sha256 column)"
        )
    if not expected:
        log.warning("%s: no sha256 given; %s has sha256 %s", what, path, actual)
    return actual


def download(
    url: str, destination, expected_sha256: str | None, what: str, timeout: int = 60
) -> str:
    """Download url to destination atomically; verify the checksum before it appears there."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.part{os.getpid()}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InputError(f"{what}: could not download {url} ({error})") from None
    try:
        actual = verify_checksum(partial, expected_sha256, what)
    except InputError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, destination)
    log.info("%s: downloaded %s (sha256 %s)", what, url, actual)
    return actual
