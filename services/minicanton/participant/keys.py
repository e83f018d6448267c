"""The participant's identity on disk: its keys, its id, and the domain it joined.

Choice (see the report / ADR): keys are stored in a JSON file readable by its owner only
(mode 0600 in a 0700 directory), like an SSH private key, not encrypted at rest. Encryption
at rest would need a passphrase or a KMS at every start, which a local network started by one
command cannot supply; file permissions protect against other local users, and a deployment
that needs more mounts the file from a secret store. The file is refused if group or others
may read it, so a copy made with loose permissions is caught at start.

The file is created once, at first start: an Ed25519 signing key (whose fingerprint is the
participant's namespace, so the id is ``PAR::<name>::<fingerprint>``) and an X25519
encryption key (to which views are encrypted). It is written to a temporary file opened with
O_EXCL and mode 0600, fsynced, then renamed, so a crash never leaves half a key behind. The
domain the participant joined (id and trust anchor) is recorded in it at onboarding: a
participant never silently moves to another domain.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from minicanton.core.crypto.encryption import EncryptionKeyPair
from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import Entropy
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import ParticipantId, participant_id

FORMAT_VERSION = 1


class KeyFileError(MinicantonError):
    error_id = "PARTICIPANT_KEY_FILE_INVALID"


@dataclass(frozen=True, slots=True)
class DomainBinding:
    domain_id: str
    domain_namespace: str


@dataclass(frozen=True, slots=True)
class ParticipantKeys:
    name: str
    signing: SigningKeyPair
    encryption: EncryptionKeyPair
    domain: DomainBinding | None = None

    @property
    def participant_id(self) -> ParticipantId:
        return participant_id(self.name, self.signing.fingerprint)

    @property
    def namespace(self) -> str:
        return self.signing.fingerprint

    def __repr__(self) -> str:  # never print the private keys
        return f"ParticipantKeys({self.participant_id})"

    @classmethod
    def generate(cls, name: str, entropy: Entropy) -> ParticipantKeys:
        return cls(name, SigningKeyPair.generate(entropy), EncryptionKeyPair.generate(entropy))

    def bound_to(self, domain: DomainBinding) -> ParticipantKeys:
        return replace(self, domain=domain)


def load_or_create(path: Path, name: str, entropy: Entropy) -> tuple[ParticipantKeys, bool]:
    """The stored keys, or new ones written to `path`; True when created now."""
    if path.exists():
        keys = load(path)
        if keys.name != name:
            raise KeyFileError(
                f"{path} holds the keys of participant {keys.name!r}, this one is {name!r}"
            )
        return keys, False
    keys = ParticipantKeys.generate(name, entropy)
    save(path, keys)
    return keys, True


def load(path: Path) -> ParticipantKeys:
    _check_permissions(path)
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise KeyFileError(f"{path} is not a valid participant key file: not a JSON object")
        if data.get("version") != FORMAT_VERSION:
            raise KeyFileError(f"{path}: unsupported key file version {data.get('version')!r}")
        domain = data.get("domain")
        return ParticipantKeys(
            data["name"],
            SigningKeyPair.from_private(bytes.fromhex(data["signing_key"])),
            EncryptionKeyPair.from_private(bytes.fromhex(data["encryption_key"])),
            None if domain is None else DomainBinding(domain["domain_id"],
                                                      domain["domain_namespace"]),
        )
    except KeyFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, MinicantonError) as error:
        raise KeyFileError(f"{path} is not a valid participant key file: {error}") from None


def save(path: Path, keys: ParticipantKeys) -> None:
    data = {
        "version": FORMAT_VERSION,
        "name": keys.name,
        "participant_id": keys.participant_id,
        "signing_key": keys.signing.private_raw.hex(),
        "encryption_key": keys.encryption.private_raw.hex(),
        "domain": None if keys.domain is None else {
            "domain_id": keys.domain.domain_id,
            "domain_namespace": keys.domain.domain_namespace,
        },
    }
    _write_private(path, json.dumps(data, indent=2).encode())


def _write_private(path: Path, content: bytes) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as error:
        raise KeyFileError(f"cannot write key file {path}: {error.strerror}") from None


def _check_permissions(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as error:
        raise KeyFileError(f"cannot read key file {path}: {error.strerror}") from None
    if mode & 0o077:
        raise KeyFileError(
            f"key file {path} is accessible by group or others (mode {mode:o}); "
            f"run: chmod 600 {path}"
        )
