"""Tests for create_error_file: each error file has the property it is named after."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

import pytest

from itest_shared.files import ERROR_TYPES, MIB, TestFileGenerator
from itest_shared.parsers import MockParserFactory
from itest_shared.samples import SUPPORTED_LANGUAGES
from tests.files.support import _name, assert_invalid, assert_valid

VALID_ERROR_TYPES = ("unicode", "empty", "deep_nesting", "long_line", "bom", "mixed_line_endings")


def _max_depth(data: bytes, opener: bytes, closer: bytes) -> int:
    depth = best = 0
    for byte in data:
        if byte == opener[0]:
            depth += 1
            best = max(best, depth)
        elif byte == closer[0]:
            depth -= 1
    return best


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("error_type", ERROR_TYPES)
def test_error_files_have_the_property_they_name(
    gen: TestFileGenerator, tmp_path: Path, error_type: str, language: str
) -> None:
    path = gen.create_error_file(_name(error_type, language), error_type, language)
    data = path.read_bytes()
    tree = MockParserFactory().get_parser(language).parse(data)  # never raises
    if error_type in VALID_ERROR_TYPES:
        assert_valid(language, [path], tmp_path)
        assert not tree.root_node.has_error
    if error_type == "syntax":
        assert_invalid(language, path, tmp_path)
        assert tree.root_node.has_error
    elif error_type == "unicode":
        text = data.decode("utf-8")
        assert any(0x1F300 <= ord(ch) <= 0x1FAFF for ch in text), "emoji"
        assert any(unicodedata.category(ch) == "Mn" for ch in text), "combining marks"
        assert any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text), "RTL letters"
        assert {"\u202e", "\u2067"} <= set(text), "bidi controls"
        assert {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"} <= set(text), "zero-width"
    elif error_type == "invalid_utf8":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    elif error_type == "binary":
        assert b"\x00" * 64 in data
    elif error_type == "empty":
        assert data == b""
    elif error_type == "deep_nesting":
        if language == "python":
            indents = [len(line) - len(line.lstrip(b" ")) for line in data.splitlines()]
            assert max(indents) // 4 >= 90
            assert _max_depth(data, b"[", b"]") >= 190
        else:
            assert _max_depth(data, b"{", b"}") >= (250 if language == "rust" else 1000)
    elif error_type == "long_line":
        assert max(len(line) for line in data.split(b"\n")) >= MIB
    elif error_type == "bom":
        assert data.startswith(codecs.BOM_UTF8)
        data[3:].decode("utf-8")
    elif error_type == "mixed_line_endings":
        assert b"\r\n" in data
        assert re.search(rb"\r(?!\n)", data) and re.search(rb"(?<!\r)\n", data)


def test_error_file_bad_arguments(gen: TestFileGenerator) -> None:
    with pytest.raises(ValueError, match="valid error_types: syntax, unicode, invalid_utf8"):
        gen.create_error_file("x.py", "typo")
    with pytest.raises(ValueError, match="valid languages: c, javascript, python, rust"):
        gen.create_error_file("x.py", "syntax", "cobol")
    assert gen.created_files == []
