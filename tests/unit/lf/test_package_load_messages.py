"""A package that does not load is refused in the package's own terms: the line within the
uploaded source and Python's complaint, never a path of the server's files nor the DSL's
internal module name (``from minicanton.dsl import Nmeric`` once answered with the server's
path to dsl.py)."""

from __future__ import annotations

import re

import pytest

from minicanton.core.lf import dsl
from minicanton.core.lf.package import PackageLoadError, complaint_of, load_package

SERVER_DIR = dsl.__file__.rpartition("/minicanton/")[0]


def _refusal(source: str) -> PackageLoadError:
    with pytest.raises(PackageLoadError) as caught:
        load_package(source)
    assert caught.value.error_id == "PACKAGE_LOAD_FAILED"
    return caught.value


def _assert_no_server_path(message: str) -> None:
    assert SERVER_DIR not in message and "minicanton/core" not in message
    assert "minicanton.core" not in message and not re.search(r"\.(py|so)\b", message)


@pytest.mark.parametrize(("line", "imports"), [
    (1, "from minicanton.dsl import Nmeric, Party\n"),
    (2, "from __future__ import annotations\nfrom minicanton.dsl import Party, Nmeric\n"),
])
def test_a_missing_dsl_name_names_the_line_and_minicanton_dsl_but_no_server_path(
        line: int, imports: str) -> None:
    refused = _refusal(imports + '\nMODULE = "bad"\n')
    assert refused.line == line
    assert refused.message == (f"line {line}: ImportError: cannot import name 'Nmeric' "
                               "from 'minicanton.dsl'")
    _assert_no_server_path(refused.message)


@pytest.mark.parametrize(("error", "told"), [
    (ValueError(f"invalid literal for int(): '{dsl.__file__}'"),
     "invalid literal for int(): '<server file>'"),
    (TypeError(f"bad operand in {SERVER_DIR}/minicanton/core/lf/numeric.py, line 3"),
     "bad operand in <server file>, line 3"),
    (ValueError("the package's own a/b.py and 1/2.5 stay"),
     "the package's own a/b.py and 1/2.5 stay"),
    (ImportError("cannot import name 'x' from 'decimal' (unknown location)"),
     "cannot import name 'x' from 'decimal'"),
])
def test_a_server_path_in_any_complaint_is_withheld_but_the_package_s_own_text_is_kept(
        error: Exception, told: str) -> None:
    assert complaint_of(error) == told
