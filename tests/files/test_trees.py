"""Tests for create_tree: seeded, many-language trees of valid source files."""

from __future__ import annotations

from pathlib import Path

import pytest

from itest_shared.files import TestFileGenerator
from itest_shared.parsers import MockParserFactory
from itest_shared.samples import EXTENSION_BY_LANGUAGE, SUPPORTED_LANGUAGES
from tests.files.support import assert_valid


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_tree_is_deterministic_from_the_seed(tmp_path: Path) -> None:
    trees = {}
    for label, seed in (("one", 3), ("two", 3), ("other", 4)):
        with TestFileGenerator(tmp_path / label) as generator:
            paths = generator.create_tree(300, seed=seed)
            assert len(paths) == 300
            trees[label] = _snapshot(generator.root)
    assert trees["one"] == trees["two"]
    assert trees["one"] != trees["other"]


def test_thousands_of_files_across_languages(gen: TestFileGenerator) -> None:
    paths = gen.create_tree(3000, depth=4, seed=1)
    assert len(set(paths)) == 3000
    assert {p.suffix for p in paths} == set(EXTENSION_BY_LANGUAGE.values())
    relative = [p.relative_to(gen.root / "tree") for p in paths]
    assert max(len(r.parts) for r in relative) == 5  # up to 4 directories, then the file
    assert min(len(r.parts) for r in relative) == 1
    only = gen.create_tree(50, languages=["rust"], subdir="rs")
    assert {p.suffix for p in only} == {".rs"}


def test_tree_files_are_valid_programs(gen: TestFileGenerator, tmp_path: Path) -> None:
    paths = gen.create_tree(240, seed=5)
    parsers = MockParserFactory()
    for language in SUPPORTED_LANGUAGES:
        mine = [p for p in paths if p.suffix == EXTENSION_BY_LANGUAGE[language]]
        assert len(mine) > 20
        assert_valid(language, mine, tmp_path)
        for path in mine:
            tree = parsers.get_parser(language).parse(path.read_bytes())
            assert not tree.root_node.has_error
            assert tree.root_node.children, path


def test_tree_bad_arguments(gen: TestFileGenerator) -> None:
    with pytest.raises(ValueError, match="n_files and depth must be >= 0"):
        gen.create_tree(-1)
    with pytest.raises(ValueError, match="n_files and depth must be >= 0"):
        gen.create_tree(1, depth=-1)
    with pytest.raises(TypeError, match="n_files must be an int"):
        gen.create_tree(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not one str"):
        gen.create_tree(1, languages="python")
    with pytest.raises(ValueError, match="languages is empty"):
        gen.create_tree(1, languages=[])
    with pytest.raises(ValueError, match="unknown language 'go'"):
        gen.create_tree(1, languages=["python", "go"])
    assert gen.create_tree(0) == []
    assert gen.created_files == []
