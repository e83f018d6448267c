"""The root of minicanton's typed error hierarchy.

Every error the core raises derives from `MinicantonError` and carries a stable, Daml-style
error id (e.g. ``CONTRACT_NOT_FOUND``) so shells can map it to a gRPC status or an HTTP
envelope at the boundary without parsing messages.
"""

from __future__ import annotations


class _ErrorType(type):
    """The metaclass of every minicanton error; it adds nothing, on purpose.

    mypyc compiles a class with a metaclass as a regular Python class, so an error class
    defined in a compiled core module keeps plain Python semantics: its ``error_id = ...``
    overrides the inherited one, and shells may subclass it (ADR 16). This module itself is
    never compiled.
    """


class MinicantonError(Exception, metaclass=_ErrorType):
    """Base class: `error_id` is stable and machine-readable, the message is for people."""

    error_id: str = "INTERNAL_ERROR"

    def __init__(self, message: str, *, error_id: str | None = None) -> None:
        super().__init__(message)
        if error_id is not None:
            self.error_id = error_id

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidArgument(MinicantonError):
    error_id = "INVALID_ARGUMENT"


class CryptoError(MinicantonError):
    """A signature, hash or ciphertext did not check out."""

    error_id = "CRYPTO_ERROR"
