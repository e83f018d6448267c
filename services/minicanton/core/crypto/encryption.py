"""View encryption: AES-256-GCM under a fresh key, the key wrapped for each recipient.

Theory of operation. Each view travels as one `EncryptedView`: its serialized bytes sealed
with AES-256-GCM under a fresh 32-byte key and nonce from the injected `Entropy`, with the
view's Merkle hash as associated data (a ciphertext cannot be passed off as another view).
The view key is then wrapped once per recipient participant, ECIES-style: a fresh ephemeral
X25519 key agrees a secret with the recipient's X25519 public key, HKDF-SHA256 turns it into
a key-encryption key, and AES-256-GCM seals the view key under it. The wrap's associated
data binds the recipient's participant id, its key fingerprint, the ephemeral key and the
view hash, so a wrapped key copied to another recipient's slot or another view fails to
open. Every failure — wrong recipient, wrong key, any flipped byte — is one clean
`CryptoError`; nothing partial is ever returned.

Session keys (Canton's session key cache, ADR 18). The asymmetric wrap is most of a view's
sealing cost, so a submitting participant may keep one random session key per set of
recipient keys (`SessionKeys`, bounded in age and use) and seal each view under it with a
fresh nonce; the session key is wrapped once per recipient with associated data that binds
recipient, key fingerprint and ephemeral key but no view (each view's ciphertext is bound to
its view hash). A receiver remembers the session keys it unwrapped, under the exact wrapped
key and its own key: the next view of the session costs it one AES-GCM opening. A wrapped
key opens under exactly one of the two bindings, so views sealed either way are read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from minicanton.core.crypto.signing import fingerprint_of
from minicanton.core.entropy import Entropy
from minicanton.core.errors import CryptoError
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.ids import Fingerprint, ParticipantId
from minicanton.core.memo import BoundedMemo

KEY_BYTES = 32
NONCE_BYTES = 12
_HKDF_INFO = b"minicanton/view-key-wrap/v1"


@dataclass(frozen=True, slots=True)
class EncryptionPublicKey:
    raw: bytes  # 32 bytes X25519

    def __post_init__(self) -> None:
        if len(self.raw) != KEY_BYTES:
            raise CryptoError(f"an X25519 public key is {KEY_BYTES} bytes, got {len(self.raw)}")

    @property
    def fingerprint(self) -> Fingerprint:
        return fingerprint_of(self.raw)


@dataclass(frozen=True, slots=True)
class EncryptionKeyPair:
    private_raw: bytes  # 32 bytes X25519
    public: EncryptionPublicKey

    @classmethod
    def generate(cls, entropy: Entropy) -> EncryptionKeyPair:
        return cls.from_private(entropy.random_bytes(KEY_BYTES))

    @classmethod
    def from_private(cls, private_raw: bytes) -> EncryptionKeyPair:
        if len(private_raw) != KEY_BYTES:
            raise CryptoError(f"an X25519 private key is {KEY_BYTES} bytes")
        private = X25519PrivateKey.from_private_bytes(private_raw)
        return cls(private_raw, EncryptionPublicKey(private.public_key().public_bytes_raw()))

    @property
    def fingerprint(self) -> Fingerprint:
        return self.public.fingerprint

    def __repr__(self) -> str:  # never print the private key
        return f"EncryptionKeyPair(fingerprint={self.fingerprint})"


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """The view key sealed for one recipient participant."""

    recipient: ParticipantId
    key_fingerprint: Fingerprint
    ephemeral_public: bytes
    nonce: bytes
    ciphertext: bytes

    def __init__(
        self,
        recipient: ParticipantId,
        key_fingerprint: Fingerprint,
        ephemeral_public: bytes,
        nonce: bytes,
        ciphertext: bytes,
    ) -> None:
        object.__setattr__(self, "recipient", recipient)
        object.__setattr__(self, "key_fingerprint", key_fingerprint)
        object.__setattr__(self, "ephemeral_public", ephemeral_public)
        object.__setattr__(self, "nonce", nonce)
        object.__setattr__(self, "ciphertext", ciphertext)

    def __hash__(self) -> int:  # a memo key (_SESSIONS_OPENED): the ciphertext tells keys apart
        return hash(self.ciphertext)


@dataclass(frozen=True, slots=True)
class EncryptedView:
    view_hash: Hash
    nonce: bytes
    ciphertext: bytes
    wrapped_keys: tuple[WrappedKey, ...]  # sorted by recipient

    def __init__(
        self,
        view_hash: Hash,
        nonce: bytes,
        ciphertext: bytes,
        wrapped_keys: tuple[WrappedKey, ...],
    ) -> None:
        object.__setattr__(self, "view_hash", view_hash)
        object.__setattr__(self, "nonce", nonce)
        object.__setattr__(self, "ciphertext", ciphertext)
        object.__setattr__(self, "wrapped_keys", wrapped_keys)

    def __hash__(self) -> int:  # a memo key (_SEALED_HERE): the ciphertext tells views apart
        return hash(self.ciphertext)

    @property
    def recipients(self) -> frozenset[ParticipantId]:
        return frozenset(wrapped.recipient for wrapped in self.wrapped_keys)


SESSION_TTL_US = 60_000_000
SESSION_MAX_VIEWS = 100_000


class _Session:
    def __init__(self, key: bytes, wrapped: tuple[WrappedKey, ...], created_us: int) -> None:
        self.key = key
        self.wrapped = wrapped
        self.created_us = created_us
        self.views = 0


class SessionKeys:
    """One submitting participant's session keys (Canton's sender session key cache), one
    per set of recipient keys, each sealing views until `ttl_us` after it was made or for
    `max_views` views, whichever comes first; then a new one. A participant's own state:
    never shared between participants. Bounded in the recipient sets it remembers."""

    def __init__(self, ttl_us: int = SESSION_TTL_US, max_views: int = SESSION_MAX_VIEWS,
                 capacity: int = 1024) -> None:
        if ttl_us <= 0 or max_views <= 0:
            raise CryptoError("a session key needs a positive lifetime and view count")
        self.ttl_us = ttl_us
        self.max_views = max_views
        self._sessions: BoundedMemo[tuple[tuple[ParticipantId, bytes], ...], _Session] = (
            BoundedMemo(capacity))

    def __len__(self) -> int:
        return len(self._sessions)

    def session_for(
        self, recipients: Mapping[ParticipantId, EncryptionPublicKey], now_us: int,
        entropy: Entropy,
    ) -> tuple[bytes, tuple[WrappedKey, ...]]:
        """The session key in force for exactly these recipients and keys at `now_us`, and its
        wrapped copies (sorted by recipient)."""
        group = tuple([(participant, recipients[participant].raw)
                       for participant in sorted(recipients)])
        session = self._sessions.get(group)
        if (session is None or session.views >= self.max_views
                or not 0 <= now_us - session.created_us < self.ttl_us):
            key = entropy.random_bytes(KEY_BYTES)
            session = _Session(key, _wrap_for_each(key, None, recipients, entropy), now_us)
            self._sessions.put(group, session)
        session.views += 1
        return session.key, session.wrapped


def encrypt_view(
    plaintext: bytes,
    view_hash: Hash,
    recipients: Mapping[ParticipantId, EncryptionPublicKey],
    entropy: Entropy,
    sessions: SessionKeys | None = None,
    now_us: int = 0,
) -> EncryptedView:
    """Seal `plaintext` (a serialized view) so that only `recipients` can open it: under a
    key of its own, or with `sessions` under the session key of these recipients' keys
    (a new one when none is in force at `now_us`)."""
    if not recipients:
        raise CryptoError("a view needs at least one recipient")
    if sessions is None:
        view_key = entropy.random_bytes(KEY_BYTES)
        wrapped = _wrap_for_each(view_key, view_hash, recipients, entropy)
    else:
        view_key, wrapped = sessions.session_for(recipients, now_us, entropy)
    nonce = entropy.random_bytes(NONCE_BYTES)
    ciphertext = AESGCM(view_key).encrypt(nonce, plaintext, _view_aad(view_hash))
    sealed = EncryptedView(view_hash, nonce, ciphertext, wrapped)
    for slot in wrapped:
        _SEALED_HERE.put((sealed, slot.recipient, slot.key_fingerprint), plaintext)
    return sealed


def decrypt_view(
    encrypted: EncryptedView, participant_id: ParticipantId, key_pair: EncryptionKeyPair
) -> bytes:
    """The view's plaintext, or `CryptoError` if it is not for `participant_id`'s `key_pair`
    or anything in it was altered."""
    known = _SEALED_HERE.get((encrypted, participant_id, key_pair.fingerprint))
    if known is not None:
        return known
    slots = [w for w in encrypted.wrapped_keys if w.recipient == participant_id]
    if not slots:
        raise CryptoError(f"view {encrypted.view_hash} is not addressed to {participant_id}")
    view_key = _unwrap(slots[0], encrypted.view_hash, key_pair)
    return _open(view_key, encrypted.nonce, encrypted.ciphertext, _view_aad(encrypted.view_hash))


# The plaintext of each view this process sealed, under the exact sealed view, recipient and
# recipient key: a submitter opens its own views when its request comes back, and opening is
# a pure function of those (core/memo.py). A view altered in any byte is opened for real.
# Bounded in bytes too: a view can be megabytes; the requests in flight fit.
_SEALED_HERE: BoundedMemo[tuple[EncryptedView, ParticipantId, Fingerprint], bytes] = (
    BoundedMemo(capacity=1024, max_bytes=32 << 20,
                size_of=lambda key, plaintext: len(key[0].ciphertext) + len(plaintext)))


def _view_aad(view_hash: Hash) -> bytes:
    return hash_of(HashPurpose.KEY_WRAP, b"view", view_hash.digest).digest


def _wrap_aad(
    recipient: ParticipantId, fingerprint: Fingerprint, ephemeral: bytes, view_hash: Hash | None
) -> bytes:
    """A view's own key is bound to the view; a session key (`view_hash` None) to no view."""
    if view_hash is None:
        return hash_of(HashPurpose.KEY_WRAP, b"session", recipient, fingerprint, ephemeral).digest
    return hash_of(
        HashPurpose.KEY_WRAP, b"wrap", recipient, fingerprint, ephemeral, view_hash.digest
    ).digest


def _key_encryption_key(shared: bytes, ephemeral: bytes, recipient_public: bytes) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=ephemeral + recipient_public,
        info=_HKDF_INFO,
    )
    return hkdf.derive(shared)


def _wrap_for_each(
    key: bytes, view_hash: Hash | None, recipients: Mapping[ParticipantId, EncryptionPublicKey],
    entropy: Entropy,
) -> tuple[WrappedKey, ...]:
    """`key` wrapped for every recipient, sorted by recipient (bound to the view `view_hash`,
    or, None, a session key bound to no view)."""
    return tuple([_wrap(key, view_hash, participant, recipients[participant], entropy)
                  for participant in sorted(recipients)])


def _wrap(
    view_key: bytes,
    view_hash: Hash | None,
    recipient: ParticipantId,
    public: EncryptionPublicKey,
    entropy: Entropy,
) -> WrappedKey:
    ephemeral_private = X25519PrivateKey.from_private_bytes(entropy.random_bytes(KEY_BYTES))
    ephemeral = ephemeral_private.public_key().public_bytes_raw()
    try:
        shared = ephemeral_private.exchange(X25519PublicKey.from_public_bytes(public.raw))
    except ValueError:
        raise CryptoError(f"{recipient}'s encryption key is not a usable X25519 key") from None
    kek = _key_encryption_key(shared, ephemeral, public.raw)
    nonce = entropy.random_bytes(NONCE_BYTES)
    aad = _wrap_aad(recipient, public.fingerprint, ephemeral, view_hash)
    return WrappedKey(
        recipient, public.fingerprint, ephemeral, nonce, AESGCM(kek).encrypt(nonce, view_key, aad)
    )


def _unwrap(wrapped: WrappedKey, view_hash: Hash, key_pair: EncryptionKeyPair) -> bytes:
    """The key `wrapped` seals for `key_pair`: a session key (remembered, ADR 18) or the view
    `view_hash`'s own key."""
    remembered = _SESSIONS_OPENED.get((wrapped, key_pair.fingerprint))
    if remembered is not None:
        return remembered
    if wrapped.key_fingerprint != key_pair.fingerprint:
        raise CryptoError(
            f"the view key is wrapped for key {wrapped.key_fingerprint}, "
            f"not for {key_pair.fingerprint}"
        )
    if len(wrapped.ephemeral_public) != KEY_BYTES:
        raise CryptoError("malformed ephemeral key in a wrapped view key")
    private = _private_key(key_pair.private_raw)
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(wrapped.ephemeral_public))
    except ValueError:
        raise CryptoError("malformed ephemeral key in a wrapped view key") from None
    kek = _key_encryption_key(shared, wrapped.ephemeral_public, key_pair.public.raw)
    binding = (wrapped.recipient, wrapped.key_fingerprint, wrapped.ephemeral_public)
    session_key = _try_open(kek, wrapped.nonce, wrapped.ciphertext, _wrap_aad(*binding, None))
    if session_key is not None and len(session_key) == KEY_BYTES:
        _SESSIONS_OPENED.put((wrapped, key_pair.fingerprint), session_key)
        return session_key
    view_key = _open(kek, wrapped.nonce, wrapped.ciphertext, _wrap_aad(*binding, view_hash))
    if len(view_key) != KEY_BYTES:
        raise CryptoError("a wrapped view key has the wrong length")
    return view_key


# The session keys this process unwrapped, under the exact wrapped key and the key pair that
# opened it: unwrapping is a pure function of those, and the next view of a session then
# costs one AES-GCM opening instead of an X25519 agreement (core/memo.py).
_SESSIONS_OPENED: BoundedMemo[tuple[WrappedKey, Fingerprint], bytes] = BoundedMemo(4096)


@lru_cache(maxsize=256)
def _private_key(private_raw: bytes) -> X25519PrivateKey:
    """Loading a key derives its public half (a scalar multiplication, as costly as the
    exchange itself), so a participant opening every view addressed to it keeps the loaded
    key. Keyed by the raw bytes: a new key pair is a new entry, never a stale one."""
    return X25519PrivateKey.from_private_bytes(private_raw)


def _open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    if len(nonce) != NONCE_BYTES:
        raise CryptoError(f"an AES-GCM nonce is {NONCE_BYTES} bytes, got {len(nonce)}")
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise CryptoError("decryption failed: wrong key or tampered ciphertext") from None


def _try_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
    """The plaintext, or None when `aad` is not what it was sealed with (or it was altered)."""
    try:
        return _open(key, nonce, ciphertext, aad)
    except CryptoError:
        return None
