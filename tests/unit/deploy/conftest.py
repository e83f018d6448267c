"""The secrets deploy/make_env.py generates, made once per session (it runs the
`minicanton topology key-mapping` command, a second or two)."""

from __future__ import annotations

import pytest
from tests.unit.deploy.deploy_files import load_make_env


@pytest.fixture(scope="session")
def generated() -> dict[str, str]:
    return dict(load_make_env().generate(token_ttl_s=3600))
