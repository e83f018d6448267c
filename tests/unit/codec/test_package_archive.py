"""The minicanton package archive: one source as is, or a zip with a manifest; bad archives
are refused with Daml's error ids, bombs and path tricks included."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from minicanton.codec.package_archive import (
    MAX_SOURCE_BYTES,
    InvalidPackageArchive,
    InvalidZipEntry,
    ZipBomb,
    build_package_archive,
    read_package_archive,
)

SOURCE = b"MODULE = 'a'\n"


def zipped(entries: dict[str, bytes], manifest: object = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if manifest is not None:
            archive.writestr("MANIFEST.json", json.dumps(manifest))
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def manifest(*packages: str) -> dict[str, object]:
    return {"format": "minicanton-package-archive", "version": 1, "packages": list(packages)}


def test_a_plain_source_is_one_package_named_by_its_hash() -> None:
    archive = read_package_archive(SOURCE)
    (package,) = archive.packages
    assert package.source == SOURCE
    assert package.package_id == hashlib.sha256(SOURCE).hexdigest()


def test_a_zip_round_trips_in_manifest_order() -> None:
    data = build_package_archive([("b.py", b"MODULE = 'b'\n"), ("a.py", SOURCE)], name="set")
    archive = read_package_archive(data)
    assert archive.name == "set"
    assert [(p.name, p.source) for p in archive.packages] == [
        ("b.py", b"MODULE = 'b'\n"), ("a.py", SOURCE)]


@pytest.mark.parametrize("data, error", [
    (b"", InvalidPackageArchive),
    (b"PK\x03\x04 not really a zip", InvalidPackageArchive),
    (zipped({"a.py": SOURCE}), InvalidPackageArchive),  # no manifest
    (zipped({"a.py": SOURCE}, {"format": "dar", "packages": ["a.py"]}), InvalidPackageArchive),
    (zipped({"a.py": SOURCE}, {**manifest("a.py"), "version": 2}), InvalidPackageArchive),
    (zipped({"a.py": SOURCE}, manifest()), InvalidPackageArchive),
    (zipped({"a.py": SOURCE}, manifest("a.py", "a.py")), InvalidPackageArchive),
    (zipped({"a.py": SOURCE}, manifest("b.py")), InvalidPackageArchive),
    (zipped({"a.py": SOURCE}, manifest("../a.py")), InvalidZipEntry),
    (zipped({"a.py": SOURCE}, manifest("/etc/passwd")), InvalidZipEntry),
    (zipped({"a.py": SOURCE}, {**manifest("a.py"), "name": 7}), InvalidPackageArchive),
])
def test_bad_archives_are_refused_with_typed_errors(data: bytes, error: type) -> None:
    with pytest.raises(error) as refused:
        read_package_archive(data)
    assert refused.value.error_id in ("INVALID_DAR", "INVALID_ZIP_ENTRY")


def test_a_zip_bomb_is_refused_before_it_inflates() -> None:
    bomb = zipped({"a.py": b"#" * (MAX_SOURCE_BYTES + 1)}, manifest("a.py"))
    assert len(bomb) < 100_000
    with pytest.raises(ZipBomb) as refused:
        read_package_archive(bomb)
    assert refused.value.error_id == "ZIP_BOMB"


def test_a_zip_that_lies_about_its_size_is_refused() -> None:
    honest = zipped({"a.py": b"#" * 1000}, manifest("a.py"))
    # Shrink the declared size in the central directory: the read is bounded all the same.
    lying = honest.replace((1000).to_bytes(4, "little"), (10).to_bytes(4, "little"))
    with pytest.raises(InvalidPackageArchive):
        read_package_archive(lying)


def _with_encrypted_flag(archive: bytes, entry: bytes) -> bytes:
    """Set the "encrypted" flag of `entry` in its local header and central directory entry
    (zipfile does not write encrypted entries itself)."""
    raw = bytearray(archive)
    for signature, name_at, length_at, flag_at in ((b"PK\x03\x04", 30, 26, 6),
                                                    (b"PK\x01\x02", 46, 28, 8)):
        start = 0
        while (position := raw.find(signature, start)) != -1:
            length = int.from_bytes(raw[position + length_at:position + length_at + 2], "little")
            if bytes(raw[position + name_at:position + name_at + length]) == entry:
                raw[position + flag_at] |= 0x1
            start = position + 4
    return bytes(raw)


def test_an_encrypted_entry_is_an_invalid_dar_not_an_internal_error() -> None:
    """Shells review #10: zipfile's RuntimeError ("password required") became INTERNAL."""
    archive = _with_encrypted_flag(zipped({"a.py": SOURCE}, manifest("a.py")), b"a.py")
    assert zipfile.ZipFile(io.BytesIO(archive)).getinfo("a.py").flag_bits & 0x1
    with pytest.raises(InvalidPackageArchive, match=r"'a\.py' is encrypted") as refused:
        read_package_archive(archive)
    assert refused.value.error_id == "INVALID_DAR"
