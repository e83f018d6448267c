"""Files that hold secrets: created 0600 from the first byte, never world-readable for a
moment, and replaced atomically (write a temp file, fsync, rename) so a crash leaves either
the old or the new content."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, content: bytes | str) -> None:
    """Raises OSError; callers map it to their own typed error."""
    data = content.encode() if isinstance(content, str) else content
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
