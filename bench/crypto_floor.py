"""The raw crypto floor, measured in the same run as everything it is compared with, with the
libraries the nodes use: Ed25519 in libsodium (PyNaCl), the rest in OpenSSL (cryptography)."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

from bench.common import BenchContext, Figure, rate_per_second

SECTION = "crypto floor"
PAYLOAD = bytes(range(256)) * 4  # 1 KiB
_RECIPIENT = X25519PrivateKey.generate().public_key()


def run(context: BenchContext) -> None:
    public, secret = crypto_sign_seed_keypair(bytes(range(32)))
    signed = crypto_sign(PAYLOAD, secret)
    aes = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = bytes(12)
    context.add(Figure(SECTION, "raw Ed25519 sign 1 KiB", rate_per_second(
        lambda: crypto_sign(PAYLOAD, secret)), "ops/s", "libsodium"))
    context.add(Figure(SECTION, "raw Ed25519 verify 1 KiB", rate_per_second(
        lambda: crypto_sign_open(signed, public)), "ops/s", "libsodium"))
    context.add(Figure(SECTION, "raw AES-256-GCM encrypt 1 KiB", rate_per_second(
        lambda: aes.encrypt(nonce, PAYLOAD, None)), "ops/s"))
    run_key_wrap(context)


def _x25519_wrap_once() -> None:
    ephemeral = X25519PrivateKey.generate()
    shared = ephemeral.exchange(_RECIPIENT)
    HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"bench").derive(shared)


def run_key_wrap(context: BenchContext) -> None:
    context.add(Figure(SECTION, "raw X25519 ephemeral + HKDF (one key wrap)",
                       rate_per_second(_x25519_wrap_once), "ops/s"))
