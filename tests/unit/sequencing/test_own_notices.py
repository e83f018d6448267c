"""An instance's own write notices do not wake its feed (the writer woke it after the commit);
everything else does, and another instance's 'E' asks us to move our watermark (node.py)."""

from __future__ import annotations

from minicanton.sequencer.node import notice_effect


def test_own_write_notices_wake_nothing_and_bump_nothing() -> None:
    for kind in "ERK":
        assert notice_effect(f"1:500:{kind}", own_index=1) == (False, None)


def test_own_rejoin_and_offline_notices_still_wake_the_feed() -> None:
    for kind in "JOM":
        assert notice_effect(f"1:500:{kind}", own_index=1) == (True, None)


def test_other_instances_notices_wake_the_feed_and_e_asks_for_a_bump() -> None:
    assert notice_effect("0:500:E", own_index=1) == (True, 500)
    for kind in "RKJOM":
        assert notice_effect(f"0:500:{kind}", own_index=1) == (True, None)
    assert notice_effect("10:500:R", own_index=1) == (True, None)  # not a prefix match
