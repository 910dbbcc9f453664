"""Every string from a record is inert in the markdown: on a terminal and rendered to HTML.

Anyone can write a record. Hostile payloads go into every field that reaches
the output; the markdown is rendered with markdown-it-py (CommonMark with
tables, strikethrough and raw HTML on, as a permissive renderer would be).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itest_shared._inert import printable
from itest_shared.report import ReportError, build_report, render_json, render_markdown
from itest_shared.report._text import markdown_code, markdown_text
from itest_shared.store import RecordStore
from tests.report.support import RENDERER, acting_characters, assert_inert, render_html
from tests.stores import (
    config,
    environment_record,
    error,
    record,
    resource,
    result_record,
    timing,
)

PAYLOADS = [
    "\x1b]0;pwned\x07",  # OSC: sets the terminal title
    "\x1b[2J\x1b[H",  # CSI: clears the screen
    "\x9b31mred",  # C1 CSI
    "del\x7f\x00nul",
    "\u202etxt.exe\u202c \u2066iso\u2069 zero\u200bwidth \u2028line",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "`<img src=x onerror=alert(2)>`",
    "``` <img src=x onerror=alert(3)> ```",
    "a`` `<img src=x onerror=alert(4)>",
    "[x](javascript:alert(5)) ![y](javascript:alert(6)) <javascript:alert(7)>",
    "&lt;script&gt; &#60;img src=x onerror=alert(8)&#62;",
    "*b* _i_ __u__ ~~s~~ a|b \\| \\",
    "line\n# heading\r\n> quote\n<div onclick=x>",
    "lone \ud800 surrogate",
]


def hostile_store(directory: Path) -> None:
    with RecordStore(directory).writer("r") as writer:
        for index, p in enumerate(PAYLOADS):
            where = {"worktree": f"/w/{index}{p}", "branch": p, "package": p, "test": p}
            writer.write(error(p, p, p, **where) | {"operation": p, "error_message": p})
            writer.write(resource(p, p, "leaked", **where))
            writer.write(config(p, **where))
            writer.write(timing(p, 1, 1.0, 1.0, 1.0, 1.0, 1.0, **where))
            writer.write(result_record(p, "passed", **where))  # (schema 1.2)
            writer.write(environment_record(p, p, **where) | {"python_implementation": p})
            writer.write(record(p, **where))  # an unknown record type, counted by name
            writer.write(record(p, version="2.0", **where))  # a later major: a warning
            writer.write(config(p, version=p))  # malformed: the version is in the reason
            writer.write(resource(p, p, p))  # malformed: the state is in the reason
    # A file named with a payload ('/' cannot be in a name), holding a bad line.
    # A lone surrogate in a name is an undecodable byte (os.fsdecode): 0xff here.
    name = PAYLOADS[0] + PAYLOADS[6] + PAYLOADS[7] + PAYLOADS[4] + "\udcff.jsonl"
    (directory / "records" / "r" / name).write_bytes(b"[1]\n")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    directory = tmp_path_factory.mktemp("hostile")
    hostile_store(directory)
    return build_report(directory)


def test_no_terminal_control_reaches_the_markdown(document: dict[str, object]) -> None:
    text = render_markdown(document)
    text.encode("utf-8")  # strict: no lone surrogate
    assert acting_characters(text) == set()
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text


def test_no_live_tag_or_attribute_in_the_rendered_markdown(document: dict[str, object]) -> None:
    markdown = render_markdown(document)
    assert_inert(markdown)  # only the report's own tags; no attribute but table alignment
    lowered = RENDERER.render(markdown).lower()
    for live in ("<script", "<img", "<a ", "<div"):
        assert live not in lowered, live  # escaped, these read &lt;script...
    # "onerror=" is still there, as text: no tag holds it (the attributes above).
    assert 'href="javascript' not in lowered and 'src="javascript' not in lowered
    for markup in ("<em>b</em>", "<em>i</em>", "<strong>u</strong>", "<s>s</s>"):
        assert markup not in lowered, markup
    assert lowered.count("<h1>") == 1  # the title; no payload made a heading
    assert lowered.count("<blockquote>") == 2  # the two warnings; no payload made a quote


def test_every_payload_shows_exactly_as_printable_text(document: dict[str, object]) -> None:
    """Inert, and nothing lost: each payload's text, controls shown as escapes, is on the page."""
    texts = render_html(render_markdown(document)).texts
    for payload in PAYLOADS:
        shown = printable(payload)
        assert any(shown in text for text in texts), payload


def test_json_stays_exact_and_ascii(document: dict[str, object]) -> None:
    text = render_json(document)
    assert text.isascii()  # control, bidi and surrogate characters all as \u escapes
    assert json.loads(text) == document
    paths = {
        change["config_path"]
        for worktree in document["worktrees"]  # type: ignore[attr-defined]
        for change in worktree["config_changes"]["by_path"]
    }
    assert set(PAYLOADS) <= paths


def test_report_errors_name_worktrees_without_terminal_controls(tmp_path: Path) -> None:
    hostile_store(tmp_path)
    with pytest.raises(ReportError, match="no worktree matches") as raised:
        build_report(tmp_path, worktree="\x1b[2Jnope")
    message = str(raised.value)
    assert "\\x1b]0;pwned\\x07" in message
    assert acting_characters(message) == set()


# --- the escapes alone, over any text ------------------------------------------

any_text = st.text(
    st.sampled_from("`|\\*_~[]()<>&!#:; a1\n\r\t\x1b\x07\x9b\u202e\u200b\ud800\u00e9")
    | st.characters(categories=["Cc", "Cf", "Cs", "Po", "Sm", "Lu"]),
    min_size=1,
    max_size=20,
)


@settings(deadline=None)  # no timing claim: a loaded machine must not fail it
@given(any_text)
def test_text_renders_as_itself_and_inert(text: str) -> None:
    in_paragraph = assert_inert(f"x{markdown_text(text)}x")
    assert [tag for tag, _ in in_paragraph.tags] == ["p"]
    assert in_paragraph.texts == [f"x{printable(text)}x"]
    in_table = assert_inert(f"| h |\n|---|\n| x{markdown_text(text)}x |")
    assert [tag for tag, _ in in_table.tags].count("td") == 1
    assert in_table.texts[-1] == f"x{printable(text)}x"


@settings(deadline=None)
@given(any_text)
def test_code_span_renders_as_itself_and_inert(text: str) -> None:
    in_paragraph = assert_inert(f"x {markdown_code(text, in_table=False)} x")
    assert [tag for tag, _ in in_paragraph.tags] == ["p", "code"]
    assert in_paragraph.texts[-1] == printable(text)
    in_table = assert_inert(f"| h |\n|---|\n| {markdown_code(text, in_table=True)} |")
    assert [tag for tag, _ in in_table.tags].count("code") == 1
    assert in_table.texts[-1] == printable(text)
