import stat
from pathlib import Path

from minicanton.runtime.files import write_private


def test_a_private_file_is_created_0600_and_replaced_atomically(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "secret.json"
    write_private(target, "first")
    write_private(target, b"second")
    assert target.read_text() == "second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["secret.json"]  # no temp left
