"""Helpers shared by the tests of the ``itest-shared`` command."""

from __future__ import annotations

import pytest

from itest_shared.cli import main
from itest_shared.formats import ConfigChangeEvent, ResourceRecord

HANG = 60.0  # only stops a hang; never a speed claim


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def good_lines() -> list[str]:
    """Two valid records, as the record classes write them."""
    resource = ResourceRecord(
        resource_id="w1", resource_type="process", owner_module="m", created_at=1.0
    )
    change = ConfigChangeEvent(
        config_path="timeout", old_value=1, new_value=2, affected_modules=["m"], timestamp=2.0
    )
    return [resource.to_json(), change.to_json()]
