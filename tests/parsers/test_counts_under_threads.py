"""Tests that parse and failure counts stay exact when many threads parse at once."""

from __future__ import annotations

import threading

import pytest

from itest_shared.parsers import MockParseError, MockParserFactory
from tests.helpers import run_together
from tests.parsers.support import _outcomes


def _hammer(factory: MockParserFactory, language: str, threads: int, calls: int) -> int:
    """Parse from many threads at once; return how many injected failures were caught."""
    parser = factory.get_parser(language)
    start = threading.Barrier(threads)
    caught = [0] * threads

    def work(index: int) -> None:
        start.wait()
        for _ in range(calls):
            try:
                parser.parse(b"x")
            except MockParseError:
                caught[index] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(100)  # hang guard
        assert not worker.is_alive()
    return sum(caught)


@pytest.mark.usefixtures("contention")
def test_parse_count_is_exact_under_threads(mock_parser_factory: MockParserFactory) -> None:
    assert _hammer(mock_parser_factory, "javascript", threads=16, calls=2000) == 0
    assert mock_parser_factory.get_parser("javascript").parse_count == 32000
    assert mock_parser_factory.parse_count == 32000


@pytest.mark.usefixtures("contention")
def test_failure_counts_are_exact_under_contention(
    mock_parser_factory: MockParserFactory,
) -> None:
    mock_parser_factory.configure_failure("c", "nth_call", n=7, every=True)
    caught = _hammer(mock_parser_factory, "c", threads=16, calls=2000)
    assert caught == 32000 // 7 == mock_parser_factory.get_parser("c").failure_count
    assert mock_parser_factory.get_parser("c").parse_count == 32000


@pytest.mark.usefixtures("contention")
def test_seeded_random_failures_match_a_sequential_run_under_threads(
    mock_parser_factory: MockParserFactory,
) -> None:
    mock_parser_factory.configure_failure("rust", "random", rate=0.25, seed=11)
    caught = _hammer(mock_parser_factory, "rust", threads=16, calls=2000)
    sequential = MockParserFactory()
    sequential.configure_failure("rust", "random", rate=0.25, seed=11)
    assert caught == len(_outcomes(sequential, "rust", 32000))
    assert caught == mock_parser_factory.get_parser("rust").failure_count
    assert mock_parser_factory.get_parser("rust").parse_count == 32000


@pytest.mark.usefixtures("contention")
def test_new_languages_under_contention_count_exactly(
    mock_parser_factory: MockParserFactory,
) -> None:
    # Four threads race to create each language's parser and count; none may be lost.
    seen: list[list[int]] = [[] for _ in range(4)]
    calls = 2000

    def work(index: int) -> None:
        language = f"lang{index % 4}"
        parser = mock_parser_factory.get_parser(language)
        seen[index % 4].append(id(parser))
        for _ in range(calls):
            parser.parse(b"x")

    run_together(work, count=16)
    assert all(len(set(ids)) == 1 for ids in seen)  # one object per language
    counts = mock_parser_factory.parse_counts()
    assert {k: counts[k] for k in counts if k.startswith("lang")} == {
        f"lang{k}": 4 * calls for k in range(4)
    }
    assert mock_parser_factory.parse_count == 16 * calls
    assert sorted(mock_parser_factory.parsers) == ["lang0", "lang1", "lang2", "lang3"]
