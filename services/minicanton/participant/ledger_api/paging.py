"""Page tokens and sizes for the admin list RPCs (ListUsers, ListKnownParties).

A page token is the last key of the previous page, base64url-encoded: opaque to clients (as
Daml says it is), trivially resumable by us. A page size of 0 means the default; a negative
one or a token we did not issue is INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import binascii

from minicanton.participant.ledger_api.errors import invalid_field

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000


def page_size(requested: int) -> int:
    if requested < 0:
        raise invalid_field("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_page_token(last_key: str) -> str:
    return base64.urlsafe_b64encode(last_key.encode()).decode()


def decode_page_token(token: str) -> str:
    """The key after which the page starts ('' for the first page)."""
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_field("page_token", "not a page token this participant issued") from None


def next_page_token(keys: list[str], size: int) -> str:
    """A token for the next page when this one is full, else '' (the last page)."""
    return encode_page_token(keys[-1]) if keys and len(keys) >= size else ""
