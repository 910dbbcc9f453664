"""Helpers of the report tests: render the markdown to HTML and list what is live in it."""

from __future__ import annotations

import unicodedata
from html.parser import HTMLParser

from markdown_it import MarkdownIt

#: CommonMark with tables, strikethrough and raw HTML on, as a permissive renderer would be.
RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# Tags markdown-it makes of the report's own markup; attributes: table alignment only.
OWN_TAGS = frozenset(
    {"h1", "h2", "h3", "p", "blockquote", "strong", "em", "code", "ul", "li"}
    | {"table", "thead", "tbody", "tr", "th", "td"}
)
OWN_ATTRIBUTES = frozenset({("style", "text-align:right")})
#: Categories of characters a terminal acts on or a UTF-8 stream cannot carry.
ACTING = ("Cc", "Cf", "Cs", "Zl", "Zp")


_TEXT_TAGS = ("td", "th", "code", "li", "p")


class Tags(HTMLParser):
    """Every tag and attribute of an HTML text, and the text of each block or cell."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        #: The text directly in each <td>, <th>, <code>, <li> or <p>, in document order.
        self.texts: list[str] = []
        self._open: list[int] = []  # indexes into texts of the elements open now

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag in _TEXT_TAGS:
            self.texts.append("")
            self._open.append(len(self.texts) - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag in _TEXT_TAGS and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts[self._open[-1]] += data


def render_html(markdown: str) -> Tags:
    """Render ``markdown`` and parse the HTML."""
    tags = Tags()
    tags.feed(RENDERER.render(markdown))
    return tags


def acting_characters(text: str) -> set[str]:
    """The characters of ``text`` (line breaks aside) a terminal would act on."""
    return {char for char in text if char != "\n" and unicodedata.category(char) in ACTING}


def assert_inert(markdown: str) -> Tags:
    """No terminal control in ``markdown``, no foreign tag or attribute in its HTML."""
    assert acting_characters(markdown) == set()
    tags = render_html(markdown)
    assert {tag for tag, _ in tags.tags} <= OWN_TAGS
    assert {(name, value) for _, attrs in tags.tags for name, value in attrs} <= OWN_ATTRIBUTES
    return tags
