"""The minicanton package archive: what `PackageManagementService.UploadDarFile` takes.

Daml uploads a DAR (a zip of Daml-LF archives). A minicanton package is the UTF-8 source of
one Python module written with the contract DSL, its id the SHA-256 of those bytes
(`core.lf.package.package_id_of`). An archive is either

1. **one source**: the bytes of a single package's source, as they are (``examples/dvp.py``
   uploaded as is); or
2. **a zip** (it starts with ``PK\\x03\\x04``) holding ``MANIFEST.json`` and the sources::

       {"format": "minicanton-package-archive", "version": 1, "name": "dvp",
        "packages": ["iou.py", "dvp.py"]}

   ``packages`` lists the source entries in upload order; every other entry is ignored.

Reading is defensive: an archive is at most `MAX_ARCHIVE_BYTES`, a zip at most
`MAX_ENTRIES` entries, each source at most `MAX_SOURCE_BYTES` once inflated (read with a
bounded read, whatever the zip header claims: the zip-bomb guard). Entry names must be plain
relative paths; encrypted entries are refused. A bad archive raises `InvalidPackageArchive`
(Daml's ``INVALID_DAR``), `ZipBomb` or `InvalidZipEntry`, all INVALID_ARGUMENT; whether a
source is a valid package is for the package loader to say.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from minicanton.core.errors import InvalidArgument
from minicanton.core.lf.package import package_id_of

ARCHIVE_FORMAT = "minicanton-package-archive"
ARCHIVE_VERSION = 1
MANIFEST_NAME = "MANIFEST.json"
ZIP_MAGIC = b"PK\x03\x04"
MAX_ARCHIVE_BYTES = 32 << 20
MAX_SOURCE_BYTES = 8 << 20
MAX_ENTRIES = 256
MAX_MANIFEST_BYTES = 1 << 20
_ENCRYPTED = 0x1  # general purpose flag bit 0 (APPNOTE 4.4.4): we take no passwords


class InvalidPackageArchive(InvalidArgument):
    error_id = "INVALID_DAR"


class ZipBomb(InvalidArgument):
    error_id = "ZIP_BOMB"


class InvalidZipEntry(InvalidArgument):
    error_id = "INVALID_ZIP_ENTRY"


@dataclass(frozen=True, slots=True)
class PackageSource:
    """One package of an archive: where it came from and its source bytes."""

    name: str
    source: bytes

    @property
    def package_id(self) -> str:
        return package_id_of(self.source)


@dataclass(frozen=True, slots=True)
class PackageArchive:
    name: str
    packages: tuple[PackageSource, ...]


def read_package_archive(data: bytes) -> PackageArchive:
    """The packages an uploaded archive holds, in upload order."""
    if not data:
        raise InvalidPackageArchive("the package archive is empty")
    if len(data) > MAX_ARCHIVE_BYTES:
        raise InvalidPackageArchive(
            f"the package archive has {len(data)} bytes, more than {MAX_ARCHIVE_BYTES}"
        )
    if not data.startswith(ZIP_MAGIC):
        return PackageArchive("", (PackageSource("", data),))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _read_zip(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
            NotImplementedError, RuntimeError) as error:  # RuntimeError: zipfile's own refusals
        raise InvalidPackageArchive(f"the package archive is not a valid zip: {error}") from None


def build_package_archive(sources: Sequence[tuple[str, bytes]], name: str = "") -> bytes:
    """A zip archive of (entry name, source) pairs, in that upload order."""
    manifest = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION, "name": name,
                "packages": [entry for entry, _ in sources]}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2))
        for entry, source in sources:
            archive.writestr(_check_entry_name(entry), source)
    return out.getvalue()


def _read_zip(archive: zipfile.ZipFile) -> PackageArchive:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise InvalidPackageArchive(f"the archive has {len(infos)} entries, more than "
                                    f"{MAX_ENTRIES}")
    by_name = {info.filename: info for info in infos}
    if MANIFEST_NAME not in by_name:
        raise InvalidPackageArchive(f"the archive has no {MANIFEST_NAME}")
    name, entries = _manifest(_bounded_read(archive, by_name[MANIFEST_NAME],
                                            MAX_MANIFEST_BYTES))
    packages = []
    for entry in entries:
        info = by_name.get(_check_entry_name(entry))
        if info is None:
            raise InvalidPackageArchive(f"{MANIFEST_NAME} lists {entry!r}, not in the archive")
        packages.append(PackageSource(entry, _bounded_read(archive, info, MAX_SOURCE_BYTES)))
    return PackageArchive(name, tuple(packages))


def _manifest(raw: bytes) -> tuple[str, list[str]]:
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidPackageArchive(f"{MANIFEST_NAME} is not JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise InvalidPackageArchive(f"{MANIFEST_NAME} must say \"format\": {ARCHIVE_FORMAT!r}")
    if manifest.get("version") != ARCHIVE_VERSION:
        raise InvalidPackageArchive(
            f"archive version {manifest.get('version')!r} is not supported "
            f"(this participant reads version {ARCHIVE_VERSION})"
        )
    name = manifest.get("name", "")
    entries = manifest.get("packages")
    if not isinstance(name, str):
        raise InvalidPackageArchive(f"{MANIFEST_NAME}: \"name\" must be a string")
    if (not isinstance(entries, list) or not entries
            or not all(isinstance(entry, str) for entry in entries)):
        raise InvalidPackageArchive(
            f"{MANIFEST_NAME}: \"packages\" must be a non-empty list of entry names"
        )
    if len(set(entries)) != len(entries):
        raise InvalidPackageArchive(f"{MANIFEST_NAME} lists an entry twice")
    return name, entries


def _check_entry_name(entry: str) -> str:
    parts = entry.split("/")
    if (not entry or entry.startswith("/") or "\\" in entry or "\x00" in entry
            or any(part in ("", ".", "..") for part in parts)):
        raise InvalidZipEntry(f"archive entry name {entry!r} is not a plain relative path")
    return entry


def _bounded_read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.flag_bits & _ENCRYPTED:
        raise InvalidPackageArchive(f"archive entry {info.filename!r} is encrypted")
    if info.file_size > limit:
        raise ZipBomb(f"archive entry {info.filename!r} inflates to {info.file_size} bytes, "
                      f"more than {limit}")
    with archive.open(info) as entry:
        data = entry.read(limit + 1)
    if len(data) > limit:  # the header lied about the size
        raise ZipBomb(f"archive entry {info.filename!r} inflates to more than {limit} bytes")
    return data
