"""Record strings made inert for where the report shows them: a terminal, markdown.

Anyone can write a record, so every string in one (a worktree path, a branch, a
module name, a message) is hostile until shown otherwise.
"""

from __future__ import annotations

from .._inert import printable

# Characters that can start markup in inline markdown: escapes, code spans,
# emphasis, links and images, raw HTML and autolinks, entities, table cells,
# strikethrough. The report puts record text only inside a line, after its own
# markup, so block markup (#, >, -, 1.) at a line start cannot arise.
_MARKDOWN_ACTIVE = frozenset("\\`*_[]<&|~")


def markdown_text(text: str) -> str:
    """``text`` as inert inline markdown: :func:`printable`, markup characters escaped.

    CommonMark renders ``\\<`` as ``&lt;`` and ``\\&`` as ``&amp;``, so no tag,
    entity or link can form. An ``_`` between two letters or digits cannot start
    emphasis and is left as it is, so ``parser_timeout`` reads as written.
    """
    shown = printable(text)
    if _MARKDOWN_ACTIVE.isdisjoint(shown):
        return shown
    return "".join(
        "\\" + char if char in _MARKDOWN_ACTIVE and not _intraword(shown, index) else char
        for index, char in enumerate(shown)
    )


def _intraword(text: str, index: int) -> bool:
    """True for an ``_`` between two letters or digits: CommonMark reads it as a letter."""
    return (
        text[index] == "_"
        and 0 < index < len(text) - 1
        and text[index - 1].isalnum()
        and text[index + 1].isalnum()
    )


def markdown_code(text: str, *, in_table: bool) -> str:
    """``text`` as a markdown code span, shown literally whatever backticks it holds.

    The delimiter is one backtick longer than the longest run inside; a space
    pads content that starts or ends with a backtick (or with a space at both
    ends, which CommonMark would strip). In a table, ``|`` is escaped: tables
    split cells before they read code spans.
    """
    content = printable(text)
    if in_table:
        content = content.replace("|", "\\|")
    if not content:
        return "``"
    longest = _longest_backtick_run(content)
    fence = "`" * (longest + 1)
    if (
        content[0] == "`"
        or content[-1] == "`"
        or (content[0] == content[-1] == " " and content.strip())
    ):
        content = f" {content} "
    return f"{fence}{content}{fence}"


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest
