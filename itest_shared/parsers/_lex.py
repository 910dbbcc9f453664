"""A small lexer for brace languages (C, JavaScript, Rust): just enough to find structure.

It knows each language's comments and string forms (JS templates and regex literals,
Rust raw strings, chars and lifetimes, C preprocessor lines) so that braces inside
them are never mistaken for code. Everything is deterministic and never raises on
bad input: unterminated strings and comments are reported as error spans.
"""

from __future__ import annotations

import re

import attrs

# Token kinds: "id" (identifier or keyword), "num", "str" (string/char/template/regex
# literal), "lifetime" (Rust), "punct" (one byte, or one of the pairs in _PUNCT2).
_PUNCT2 = rb"=>|->|::"

_COMMON = [
    rb"(?P<ws>[ \t\r\n\x0b\x0c]+)",
    rb"(?P<line_comment>//[^\n]*)",
    rb"(?P<block_comment>/\*)",
]
_ID = rb"(?P<id>[A-Za-z_$\x80-\xff][A-Za-z0-9_$\x80-\xff]*)"
_NUM = rb"(?P<num>[0-9](?:[A-Za-z0-9_]|\.[0-9])*)"
_TAIL = [rb"(?P<dq>\")", rb"(?P<sq>')", rb"(?P<punct2>" + _PUNCT2 + rb")", rb"(?P<other>(?s:.))"]

_PATTERNS = {
    "c": re.compile(
        b"|".join([*_COMMON, rb"(?P<prefixed>(?:u8|[uUL])(?=[\"']))", _ID, _NUM, *_TAIL])
    ),
    "javascript": re.compile(b"|".join([*_COMMON, _ID, _NUM, rb"(?P<bt>`)", *_TAIL])),
    "rust": re.compile(
        b"|".join(
            [
                *_COMMON,
                rb"(?P<raw>(?:br|cr|r)(?P<hashes>#*)\")",
                rb"(?P<prefixed>[bc](?=[\"']))",
                _ID,
                _NUM,
                *_TAIL,
            ]
        )
    ),
}
LANGUAGES = tuple(sorted(_PATTERNS))

_STRING_ONE_LINE = {
    b'"': re.compile(rb'"(?:[^"\\\n]|\\(?s:.))*"'),
    b"'": re.compile(rb"'(?:[^'\\\n]|\\(?s:.))*'"),
}
_RUST_STRING = re.compile(rb'"(?:[^"\\]|\\(?s:.))*"')
_RUST_CHAR = re.compile(
    rb"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]{1,8}\}|[^\n])"
    rb"|[^'\\\n\r\t\x80-\xff]|[\xc0-\xf7][\x80-\xbf]{1,3})'"
)
_RUST_LIFETIME = re.compile(rb"'[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*")
_JS_REGEX = re.compile(rb"/(?:[^/\\\[\n]|\\[^\n]|\[(?:[^\]\\\n]|\\[^\n])*\])+/[A-Za-z]*")
_TEMPLATE_STOP = re.compile(rb"[`\\]|\$\{")
_DIRECTIVE = re.compile(rb"#(?:[^\n\\]|\\(?:\r\n|(?s:.)))*")
_RUST_COMMENT_MARK = re.compile(rb"/\*|\*/")

# After these JS keywords a slash starts a regex literal, not a division.
_JS_REGEX_AFTER = frozenset(
    b"return typeof instanceof in of new delete void throw case do else yield await".split()
)
_OPEN = {b"{": b"}", b"(": b")", b"[": b"]"}
_CLOSE = frozenset(_OPEN.values())


@attrs.define
class Tokens:
    """The tokens of one source, with bracket partners, nesting depths and error spans."""

    source: bytes
    kinds: list[str] = attrs.field(factory=list)
    starts: list[int] = attrs.field(factory=list)
    ends: list[int] = attrs.field(factory=list)
    #: text of "id", "punct" and "lifetime" tokens; b"" for literals (never inspected).
    texts: list[bytes] = attrs.field(factory=list)
    #: partner[i] is the index of the matching bracket, or -1.
    partner: list[int] = attrs.field(factory=list)
    #: depth[i] is the bracket nesting depth outside token i (brackets included).
    depth: list[int] = attrs.field(factory=list)
    #: byte ranges that did not lex or balance: unterminated literals, stray brackets.
    errors: list[tuple[int, int]] = attrs.field(factory=list)

    def add(self, kind: str, start: int, end: int) -> None:
        """Append one token."""
        self.kinds.append(kind)
        self.starts.append(start)
        self.ends.append(end)
        literal = kind in ("str", "num")
        self.texts.append(b"" if literal else self.source[start:end])


class _Lexer:
    def __init__(self, source: bytes, language: str) -> None:
        self.src = source
        self.n = len(source)
        self.lang = language
        self.pattern = _PATTERNS[language]
        self.out = Tokens(source)

    def _regex_allowed(self) -> bool:
        if not self.out.kinds:
            return True
        kind, text = self.out.kinds[-1], self.out.texts[-1]
        if kind == "id":
            return text in _JS_REGEX_AFTER
        if kind in ("num", "str"):
            return False
        return text not in (b")", b"]")

    def lex(self, pos: int, until_close: bool = False) -> int:
        """Lex from ``pos``; in ``until_close`` mode stop after the ``}`` closing a ``${``."""
        src, n, out, lang = self.src, self.n, self.out, self.lang
        depth = 0
        while pos < n:
            m = self.pattern.match(src, pos)
            assert m is not None  # the last alternative matches any byte
            group, end = m.lastgroup, m.end()
            if group in ("ws", "line_comment"):
                pos = end
            elif group == "block_comment":
                pos = self._block_comment(pos)
            elif group in ("id", "num"):
                out.add(group, pos, end)
                pos = end
            elif group == "punct2":
                out.add("punct", pos, end)
                pos = end
            elif group == "raw":
                closing = b'"' + m.group("hashes")
                stop = src.find(closing, end)
                pos = self._literal(pos, stop + len(closing) if stop >= 0 else -1)
            elif group == "prefixed":
                pos = self._quoted(end)
                out.starts[-1] = m.start()
            elif group in ("dq", "sq"):
                pos = self._quoted(pos)
            elif group == "bt":
                pos = self._template(pos)
            else:
                byte = src[pos:end]
                if until_close and byte in (b"{", b"}"):
                    if byte == b"}" and depth == 0:
                        return end
                    depth += 1 if byte == b"{" else -1
                if byte == b"/" and lang == "javascript" and self._regex_allowed():
                    rm = _JS_REGEX.match(src, pos)
                    if rm is not None:
                        out.add("str", pos, rm.end())
                        pos = rm.end()
                        continue
                if byte == b"#" and lang == "c" and self._at_line_start(pos):
                    dm = _DIRECTIVE.match(src, pos)
                    pos = dm.end() if dm is not None else end
                    continue
                out.add("punct", pos, end)
                pos = end
        if until_close:
            return n
        return pos

    def _literal(self, start: int, end: int) -> int:
        """Add a literal token ending at ``end``, or an error to EOF if ``end`` is -1."""
        if end < 0:
            self.out.errors.append((start, self.n))
            self.out.add("str", start, self.n)
            return self.n
        self.out.add("str", start, end)
        return end

    def _quoted(self, pos: int) -> int:
        src = self.src
        quote = src[pos : pos + 1]
        if self.lang == "rust":
            if quote == b"'":
                cm = _RUST_CHAR.match(src, pos)
                if cm is not None:
                    return self._literal(pos, cm.end())
                lm = _RUST_LIFETIME.match(src, pos)
                end = lm.end() if lm is not None else pos + 1
                self.out.add("lifetime", pos, end)
                return end
            sm = _RUST_STRING.match(src, pos)
            return self._literal(pos, sm.end() if sm is not None else -1)
        sm = _STRING_ONE_LINE[quote].match(src, pos)
        if sm is not None:
            return self._literal(pos, sm.end())
        # C and JS strings cannot span lines: report up to the line end and go on there.
        eol = src.find(b"\n", pos)
        eol = self.n if eol < 0 else eol
        self.out.errors.append((pos, eol))
        self.out.add("str", pos, eol)
        return eol

    def _block_comment(self, pos: int) -> int:
        if self.lang != "rust":
            stop = self.src.find(b"*/", pos + 2)
            if stop >= 0:
                return stop + 2
            self.out.errors.append((pos, self.n))
            return self.n
        # Rust block comments nest.
        level, i = 1, pos + 2
        while level:
            mark = _RUST_COMMENT_MARK.search(self.src, i)
            if mark is None:
                self.out.errors.append((pos, self.n))
                return self.n
            level += 1 if mark.group() == b"/*" else -1
            i = mark.end()
        return i

    def _template(self, pos: int) -> int:
        i = pos + 1
        while True:
            m = _TEMPLATE_STOP.search(self.src, i)
            if m is None:
                self.out.errors.append((pos, self.n))
                self.out.add("str", pos, self.n)
                return self.n
            stop = m.group()
            if stop == b"\\":
                i = m.end() + 1
            elif stop == b"`":
                self.out.add("str", pos, m.end())
                return m.end()
            else:
                # A substitution holds code (maybe nested templates): lex it as code.
                i = self.lex(m.end(), until_close=True)

    def _at_line_start(self, pos: int) -> bool:
        line_start = self.src.rfind(b"\n", 0, pos) + 1
        return not self.src[line_start:pos].strip(b" \t")


def _match_brackets(out: Tokens) -> None:
    """Fill ``partner`` and ``depth``; record stray closers and unclosed openers as errors."""
    partner = [-1] * len(out.kinds)
    depth = [0] * len(out.kinds)
    stack: list[int] = []
    for i, (kind, text) in enumerate(zip(out.kinds, out.texts, strict=True)):
        depth[i] = len(stack)
        if kind != "punct":
            continue
        if text in _OPEN:
            stack.append(i)
        elif text in _CLOSE:
            # A closer that does not match the innermost opener is stray; the stack is
            # left alone, so matched pairs always nest properly.
            if stack and _OPEN[out.texts[stack[-1]]] == text:
                j = stack.pop()
                partner[i], partner[j] = j, i
                depth[i] = len(stack)
            else:
                out.errors.append((out.starts[i], out.ends[i]))
    out.errors.extend((out.starts[j], len(out.source)) for j in stack)
    out.partner, out.depth = partner, depth


def tokenize(source: bytes, language: str) -> Tokens:
    """Return the tokens of ``source`` in ``language`` (one of ``LANGUAGES``)."""
    lexer = _Lexer(source, language)
    lexer.lex(0)
    _match_brackets(lexer.out)
    return lexer.out
