import pytest
from pydantic import ValidationError

from minicanton.sequencer.config import SequencerConfig

BASE = {"domain_id": "d", "database_dsn": "postgresql://x/y", "signing_key_seed_hex": "5e" * 32}


def test_the_admin_api_cannot_be_left_open() -> None:
    # shells review #1: the admin API re-keys members and shares the members' port
    with pytest.raises(ValidationError, match="admin_token"):
        SequencerConfig.model_validate(BASE)
    with pytest.raises(ValidationError, match="admin_token"):
        SequencerConfig.model_validate({**BASE, "admin_token": "short"})
    assert SequencerConfig.model_validate({**BASE, "admin_token": "long-enough"}).admin_token


def test_a_bad_log_level_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="log_level"):
        SequencerConfig.model_validate({**BASE, "admin_token": "long-enough",
                                        "log_level": "LOUD"})
