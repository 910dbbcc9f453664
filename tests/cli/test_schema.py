"""`itest-shared schema`: the JSON Schemas of every record type or of one."""

from __future__ import annotations

import json

import pytest

from tests.cli.support import run

# --- schema -------------------------------------------------------------------


def test_schema_of_every_type(capsys: pytest.CaptureFixture[str]) -> None:
    from itest_shared.schema import json_schemas

    status, out, _ = run(capsys, "schema")
    assert status == 0
    schemas = json.loads(out)
    assert schemas == json.loads(json.dumps(json_schemas()))
    assert {"error_context", "config_change", "resource"} <= set(schemas)


def test_schema_of_one_type(capsys: pytest.CaptureFixture[str]) -> None:
    from itest_shared.schema import json_schema

    status, out, _ = run(capsys, "schema", "resource")
    assert status == 0
    assert json.loads(out) == json.loads(json.dumps(json_schema("resource")))
    assert out.startswith('{\n  "')  # indented for reading


def test_schema_of_an_unknown_type(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "schema", "nope")
    assert status == 2 and out == ""
    assert err.startswith("itest-shared: error: ") and "resource" in err
