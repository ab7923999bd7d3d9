"""A state's manifest: what it holds, with sizes and checksums, and its verification.

A state directory holds one entry per component plus ``manifest.json``
(format and version, creation time, uptime, steps, components, every file
with its size and xxh3-128 checksum, who wrote it, and a checksum of the
manifest itself). Nothing of a state is trusted before its manifest has been
read within bounds, its own checksum and values checked, and every file
checked against it.

Manifests of format 1 (written before manifests had their own checksum) are
still read; :func:`manifest_notes` says that their own fields are unchecked.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import mmap
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import xxhash

from .persistence import StateError

MANIFEST = "manifest.json"
FORMAT = "pamiq-console/state"
FORMAT_VERSION = 2
"""2: the manifest holds its own checksum (:data:`SEAL`). 1 is still read."""
SEAL = "manifest_xxh3_128"
"""The manifest's checksum of itself: its other fields, as :func:`_canonical` writes them."""
MAX_MANIFEST_BYTES = 32 << 20
"""Largest manifest read (one entry per file: about 100k files). A larger one is
refused before it is read, so a stray file cannot make every listing slow."""


class StateNotFoundError(StateError, FileNotFoundError):
    """There is no state at the given path.

    Also a :class:`FileNotFoundError`, which is what PAMIQ-Core raises for a
    missing ``saved_state_path``, so programs that catch that keep working.
    """


CHECKSUM = "xxh3_128"  # ~7 GB/s: hashing must not dominate saving and loading
_CHUNK = 8 << 20


def file_checksum(path: Path, algorithm: str = CHECKSUM) -> str:
    """Hex digest of a file (``xxh3_128`` by default; ``sha256`` is also read)."""
    if algorithm == "sha256":
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    if algorithm != "xxh3_128":
        raise StateError(f"{path}: unknown checksum algorithm {algorithm!r}")
    digest = xxhash.xxh3_128()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


def written_file_checksum(path: Path) -> str:
    """``xxh3_128`` of a file this process just wrote, hashed from its mapped pages.

    A third faster than :func:`file_checksum` (no copy out of the page cache),
    but only for our own temporary files: a mapped file that another process
    truncates would crash this one (SIGBUS), so states read back are not mapped.
    """
    digest = xxhash.xxh3_128()
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size:
            try:
                mapped = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
            except (OSError, ValueError):
                return file_checksum(path)  # a filesystem that cannot map files
            with mapped:
                digest.update(mapped)
    return digest.hexdigest()


def _checksum_entry(meta: dict[str, Any]) -> tuple[str, str | None]:
    for algorithm in (CHECKSUM, "sha256"):
        if algorithm in meta:
            return algorithm, meta[algorithm]
    return CHECKSUM, None


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and check the manifest of the state at ``path``.

    Raises:
        StateError: If the state or its manifest is missing, unreadable or foreign.
    """
    if not path.is_dir():
        raise StateNotFoundError(f"{path}: no such state directory")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise StateError(f"{manifest_path}: missing (incomplete or foreign state)")
    try:
        manifest = json.loads(_read_bounded(manifest_path))
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise StateError(
                f"{manifest_path}: a symbolic link, not a manifest"
            ) from None
        raise StateError(f"{manifest_path}: unreadable manifest ({e})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StateError(f"{manifest_path}: unreadable manifest ({e})") from None
    except RecursionError:
        raise StateError(
            f"{manifest_path}: unreadable manifest (nested too deeply)"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StateError(f"{manifest_path}: not a pamiq-console state manifest")
    version = manifest.get("format_version")
    if type(version) is not int or version < 1:
        raise StateError(f"{manifest_path}: malformed 'format_version'")
    if version > FORMAT_VERSION:
        raise StateError(
            f"{manifest_path}: format version {version!r} is newer than this "
            f"pamiq-console supports ({FORMAT_VERSION})"
        )
    if not isinstance(manifest.get("files"), dict) or not isinstance(
        manifest.get("components"), list
    ):
        raise StateError(f"{manifest_path}: manifest lacks its file or component list")
    for rel, meta in manifest["files"].items():
        if not isinstance(meta, dict) or type(meta.get("size")) is not int:
            raise StateError(f"{manifest_path}: malformed entry for file {rel!r}")
    if not all(isinstance(c, str) for c in manifest["components"]):
        raise StateError(f"{manifest_path}: malformed 'components'")
    parts = manifest.get("parts")
    if parts is not None and (
        not isinstance(parts, list) or not all(isinstance(p, str) for p in parts)
    ):
        raise StateError(f"{manifest_path}: malformed 'parts'")
    for key, kinds in (
        ("steps", (int,)),
        ("uptime", (int, float)),
        ("created_unix", (int, float)),
        ("time_scale", (int, float)),
    ):
        if key in manifest and type(manifest[key]) not in kinds:
            raise StateError(f"{manifest_path}: malformed {key!r}")
    writer = manifest.get("writer")
    if writer is not None and (
        not isinstance(writer, dict)
        or type(writer.get("seq")) is not int
        or not isinstance(writer.get("states_dir_id"), str)
        or not isinstance(writer.get("state"), str)
    ):
        raise StateError(f"{manifest_path}: malformed 'writer'")
    if (version >= 2 or SEAL in manifest) and manifest.get(SEAL) != _seal_of(manifest):
        raise StateError(
            f"{manifest_path}: corrupt (the manifest does not match its own checksum)"
        )
    _check_values(manifest, manifest_path)
    return manifest


def _check_values(manifest: dict[str, Any], manifest_path: Path) -> None:
    """Refuse values no run writes (a checksum only says they were not changed since)."""
    problems = {
        "steps": lambda v: v < 0,
        "uptime": lambda v: not math.isfinite(v) or v < 0,
        "created_unix": lambda v: not math.isfinite(v),
        "time_scale": lambda v: not math.isfinite(v) or v <= 0,
    }
    for key, bad in problems.items():
        if key in manifest and bad(manifest[key]):
            raise StateError(f"{manifest_path}: impossible {key!r} ({manifest[key]!r})")
    writer = manifest.get("writer")
    if isinstance(writer, dict) and writer["seq"] < 1:
        raise StateError(f"{manifest_path}: impossible writer 'seq' ({writer['seq']})")


def _canonical(manifest: dict[str, Any]) -> bytes:
    """The bytes a manifest's seal covers: every field but the seal, in one spelling."""
    body = {k: v for k, v in manifest.items() if k != SEAL}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode()


def _seal_of(manifest: dict[str, Any]) -> str:
    return xxhash.xxh3_128_hexdigest(_canonical(manifest))


def sealed(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with its own checksum added (what a state's ``manifest.json`` holds).

    The fields are taken as JSON reads them back, so the seal checks what a
    reader sees (tuples read back as lists).
    """
    body = json.loads(json.dumps({k: v for k, v in manifest.items() if k != SEAL}))
    return {**body, SEAL: _seal_of(body)}


def manifest_notes(path: Path, manifest: dict[str, Any]) -> list[str]:
    """What an operator should know about a manifest that verified (one line each)."""
    if SEAL in manifest:
        return []
    return [
        f"{path.name}: written before manifests had their own checksum (format "
        f"{manifest.get('format_version')}); its files are checked, but its own "
        "fields (created, uptime, steps, name, writer) cannot be"
    ]


def _read_bounded(path: Path) -> bytes:
    """The bytes of a manifest, refused unread if larger than :data:`MAX_MANIFEST_BYTES`."""
    # States never hold links: a linked manifest could stand for any file.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise StateError(f"{path}: not a regular file")
        size = info.st_size
        if size > MAX_MANIFEST_BYTES:
            raise StateError(
                f"{path}: {size:,} bytes, larger than a manifest may be "
                f"({MAX_MANIFEST_BYTES:,}); not a state written by pamiq-console"
            )
        data = f.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:  # it grew while being read
        raise StateError(f"{path}: larger than a manifest may be")
    return data


def verify_state(
    path: Path, components: Iterable[str] = (), parts: Iterable[str] = ()
) -> dict[str, Any]:
    """Check every file of a state against its manifest.

    Args:
        path: The state directory.
        components: Components that must be present (those the system will load).
        parts: Parts that must be present (see :func:`check_holds`).

    Returns:
        The manifest.

    Raises:
        StateError: Naming the first missing, truncated, corrupt or foreign file,
            or a missing component or part.
    """
    path = Path(path)
    manifest = read_manifest(path)
    listed: dict[str, dict[str, Any]] = manifest["files"]
    for rel, meta in listed.items():
        file = path / rel
        if not file.resolve().is_relative_to(path.resolve()):
            raise StateError(
                f"{path / MANIFEST}: lists a file outside the state: {rel}"
            )
        if not file.is_file():
            raise StateError(f"{file}: missing")
        size = file.stat().st_size
        if size != meta.get("size"):
            raise StateError(
                f"{file}: truncated or changed ({size} bytes, manifest says {meta.get('size')})"
            )
        algorithm, expected = _checksum_entry(meta)
        if file_checksum(file, algorithm) != expected:
            raise StateError(f"{file}: corrupt (checksum does not match the manifest)")
    for file in files_under(path):
        rel = file.relative_to(path).as_posix()
        if rel != MANIFEST and rel not in listed:
            raise StateError(f"{file}: foreign file, not part of the saved state")
    check_holds(path, manifest, components, parts)
    return manifest


def check_holds(
    path: Path,
    manifest: dict[str, Any],
    components: Iterable[str] = (),
    parts: Iterable[str] = (),
) -> None:
    """Check a state's manifest lists what a load into a system needs.

    Args:
        path: The state directory (for the message).
        manifest: Its manifest.
        components: Components that must be listed.
        parts: Parts (``models/NAME``, ``data/NAME``, ...) that must be listed.
            Only manifests that list their parts (format 2) are checked: a
            part that wrote no file cannot be told from a missing one otherwise.

    Raises:
        StateError: Naming what is missing.
    """
    missing = [c for c in components if c not in manifest["components"]]
    if missing:
        raise StateError(
            f"{path / MANIFEST}: state lacks component(s) {', '.join(missing)}"
        )
    listed = manifest.get("parts")
    if listed is not None:
        missing = [p for p in parts if p not in listed]
        if missing:
            raise StateError(
                f"{path / MANIFEST}: state lacks part(s) {', '.join(missing)}"
            )
