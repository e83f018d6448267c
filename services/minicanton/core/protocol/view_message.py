"""The envelope that carries one encrypted view of a confirmation request.

An `EncryptedViewMessage` is what a participant finds in a request batch for each view it
is entitled to (Canton's `EncryptedViewMessage`): the view's Merkle position, the
`EncryptedView` (AES-256-GCM under a fresh key, wrapped for each recipient participant; the
view hash is its associated data) and, for a root view only, the submitting participant's
signature over the transaction's root hash (`HashPurpose.ROOT_HASH_MESSAGE`). As in Canton
(`ViewTree.toBeSigned`: top-level views only), a subview's recipients are not told who
submitted (seed 003), not even through the signing key's fingerprint; a root view's recipients
check the signature against the submitter metadata the root view reveals, and the mediator
checks the submitter against the authenticated sender.

The position is in clear: the sequencer is privy to the view structure anyway (seed 003), and
it lets the recipient find the view in the decrypted tree without guessing.

Wire format: ``MAGIC`` (distinct from the protocol messages' so a node routes by prefix),
a version byte, then the fields in the tiny big-endian format of `topology.serialization`.
Version 2 writes a presence byte before the signature; version 1 (a signature on every view)
is still read, so payloads kept from before stay readable. `decode_view_message` accepts
only the canonical encoding of the version it reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from minicanton.core.crypto.encryption import EncryptedView, WrappedKey
from minicanton.core.crypto.signing import Signature, SigningKeyPair
from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.hashing import Hash, HashPurpose
from minicanton.core.ids import Fingerprint, ParticipantId
from minicanton.core.protocol.merkle import MerklePath
from minicanton.core.topology.errors import TopologyDecodeError
from minicanton.core.topology.serialization import Reader, Writer

MAGIC = b"MCEV"
WIRE_VERSION = 2
_SIGNATURE_ON_EVERY_VIEW_VERSION = 1
MAX_POSITION_DEPTH = 200


class ViewMessageDecodeError(MinicantonError):
    """Bytes that are not the canonical encoding of an encrypted view message."""

    error_id = "MALFORMED_VIEW_MESSAGE"


def sign_root_hash(root_hash: Hash, key: SigningKeyPair) -> Signature:
    """The submitting participant's signature that it submitted the transaction `root_hash`."""
    return key.sign(root_hash, HashPurpose.ROOT_HASH_MESSAGE)


@dataclass(frozen=True, slots=True)
class EncryptedViewMessage:
    view_position: MerklePath
    submitter_signature: Signature | None  # a root view's; None for a subview
    encrypted: EncryptedView

    def __init__(
        self,
        view_position: MerklePath,
        submitter_signature: Signature | None,
        encrypted: EncryptedView,
    ) -> None:
        object.__setattr__(self, "view_position", view_position)
        object.__setattr__(self, "submitter_signature", submitter_signature)
        object.__setattr__(self, "encrypted", encrypted)
        self.__post_init__()

    def __post_init__(self) -> None:
        if not self.view_position or len(self.view_position) > MAX_POSITION_DEPTH:
            raise InvalidArgument(f"bad view position {self.view_position}")
        signature = self.submitter_signature
        if signature is not None and signature.purpose is not HashPurpose.ROOT_HASH_MESSAGE:
            raise InvalidArgument("a view message needs a ROOT_HASH_MESSAGE signature")

    @property
    def is_root_view(self) -> bool:
        return len(self.view_position) == 1

    @property
    def view_hash(self) -> Hash:
        return self.encrypted.view_hash

    @property
    def recipients(self) -> frozenset[ParticipantId]:
        return self.encrypted.recipients


def is_view_message(payload: bytes) -> bool:
    return payload.startswith(MAGIC)


def encode_view_message(message: EncryptedViewMessage) -> bytes:
    return _encode(message, WIRE_VERSION)


def _encode(message: EncryptedViewMessage, version: int) -> bytes:
    w = Writer()
    w.u8(version)
    w.u32(len(message.view_position))
    for index in message.view_position:
        w.u32(index)
    signature = message.submitter_signature
    if version != _SIGNATURE_ON_EVERY_VIEW_VERSION:
        w.u8(0 if signature is None else 1)
    if signature is not None:
        w.text(signature.signed_by)
        w.u32(signature.purpose)
        w.raw(signature.raw)
    sealed = message.encrypted
    w.raw(sealed.view_hash.digest)
    w.raw(sealed.nonce)
    w.raw(sealed.ciphertext)
    w.u32(len(sealed.wrapped_keys))
    for wrapped in sealed.wrapped_keys:
        w.text(wrapped.recipient)
        w.text(wrapped.key_fingerprint)
        w.raw(wrapped.ephemeral_public)
        w.raw(wrapped.nonce)
        w.raw(wrapped.ciphertext)
    return MAGIC + w.getvalue()


def decode_view_message(data: bytes) -> EncryptedViewMessage:
    """The message encoded in `data`; `ViewMessageDecodeError` unless it is canonical."""
    if not is_view_message(data):
        raise ViewMessageDecodeError("payload is not an encrypted view message")
    try:
        message, version = _read(Reader(data[len(MAGIC):]))
    except (TopologyDecodeError, InvalidArgument, ValueError) as err:
        raise ViewMessageDecodeError(f"malformed view message: {err}") from None
    if _encode(message, version) != data:
        raise ViewMessageDecodeError("view message is not in canonical form")
    return message


def _read(r: Reader) -> tuple[EncryptedViewMessage, int]:
    version = r.u8()
    if version not in (WIRE_VERSION, _SIGNATURE_ON_EVERY_VIEW_VERSION):
        raise ViewMessageDecodeError(f"unsupported view message version {version}")
    depth = r.count(4)
    if depth > MAX_POSITION_DEPTH:
        raise ViewMessageDecodeError(f"view position deeper than {MAX_POSITION_DEPTH}")
    position = tuple(r.u32() for _ in range(depth))
    signed = version == _SIGNATURE_ON_EVERY_VIEW_VERSION or r.u8() == 1
    signature = (Signature(Fingerprint(r.text()), HashPurpose(r.u32()), r.raw()) if signed
                 else None)
    view_hash = Hash(r.raw())
    nonce, ciphertext = r.raw(), r.raw()
    wrapped = tuple(
        WrappedKey(ParticipantId(r.text()), Fingerprint(r.text()), r.raw(), r.raw(), r.raw())
        for _ in range(r.count(20))
    )
    r.end()
    sealed = EncryptedView(view_hash, nonce, ciphertext, wrapped)
    return EncryptedViewMessage(position, signature, sealed), version
