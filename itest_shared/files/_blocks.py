"""Content for generated files: repeated blocks for large files, small modules for trees.

Large files are a run of equal-length blocks, each a valid definition with a unique
13-digit id in its names (C, Rust and JS classes reject duplicate definitions).
Blocks are stamped out a chunk at a time: one reused chunk buffer holds
a power of ten of blocks whose low id digits are filled in once; only the high digits
change from chunk to chunk, and because every block has the same length, each high
digit is stamped into all blocks with one strided slice assignment. So a chunk costs
a few dozen C-level operations, not one format per block, and memory stays flat.
The power of ten is the largest whose chunk fits the limit (down to one block a
chunk), so a block of any size, e.g. with a long name prefix, streams the same way.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

_ID_DIGITS = 13
# A chunk holds up to 10**4 blocks, fewer for big blocks: at most about 2 MiB (or one
# block, if a block is bigger), big enough that per-chunk costs vanish, small enough
# that memory stays flat.
_CHUNK_LIMIT = 2 * 1024 * 1024
_MAX_LOW_DIGITS = 4

#: The function name prefix of the ``function`` pattern; any identifier may replace it.
DEFAULT_PREFIX = "function"

# ``{name}`` marks the function name prefix, ``{id}`` the unique id; both are replaced
# with str.replace, never str.format, so a prefix goes in verbatim.
_PY_FUNCTION = '''\
def {name}_{id}(value):
    """Return value plus one."""
    return value + 1


'''
_PY_CLASS = '''\
class Class_{id}:
    """A generated class holding one value."""

    def __init__(self, value):
        self.value = value

    def double(self):
        return self.value * 2


'''
_PY_ASYNC = """\
async def task_{id}(values):
    total = 0
    async for value in values:
        total += value
    return total


"""
_JS_FUNCTION = "function {name}_{id}(value) {\n  return value + 1;\n}\n\n"
_JS_CLASS = (
    "class Class_{id} {\n  constructor(value) {\n    this.value = value;\n  }\n\n"
    "  double() {\n    return this.value * 2;\n  }\n}\n\n"
)
_JS_ASYNC = (
    "async function task_{id}(values) {\n  let total = 0;\n"
    "  for await (const value of values) {\n    total += value;\n  }\n  return total;\n}\n\n"
)
_RS_FUNCTION = "pub fn {name}_{id}(value: i64) -> i64 {\n    value + 1\n}\n\n"
_RS_CLASS = (
    "pub struct Struct{id} {\n    pub value: i64,\n}\n\n"
    "impl Struct{id} {\n    pub fn double(&self) -> i64 {\n        self.value * 2\n    }\n}\n\n"
)
_RS_ASYNC = "pub async fn task_{id}(value: i64) -> i64 {\n    value + 1\n}\n\n"
_C_FUNCTION = "int {name}_{id}(int value) {\n    return value + 1;\n}\n\n"
_C_CLASS = (
    "struct record_{id} {\n    int value;\n};\n\n"
    "int record_{id}_double(const struct record_{id} *r) {\n    return r->value * 2;\n}\n\n"
)

# language -> function block template, with ``{name}`` still in it.
_FUNCTIONS = {
    "python": _PY_FUNCTION,
    "javascript": _JS_FUNCTION,
    "rust": _RS_FUNCTION,
    "c": _C_FUNCTION,
}


def function_block(prefix: str, language: str) -> str:
    """Return the function block template of ``language`` with ``prefix`` naming its function."""
    return _FUNCTIONS[language].replace("{name}", prefix)


def _function(language: str) -> str:
    return function_block(DEFAULT_PREFIX, language)


#: pattern -> language -> block template (``{id}`` marks the unique id).
BLOCKS: dict[str, dict[str, str]] = {
    "function": {language: _function(language) for language in _FUNCTIONS},
    "class": {"python": _PY_CLASS, "javascript": _JS_CLASS, "rust": _RS_CLASS, "c": _C_CLASS},
    "async": {"python": _PY_ASYNC, "javascript": _JS_ASYNC, "rust": _RS_ASYNC},
    "mixed": {
        "python": _function("python") + _PY_CLASS + _PY_ASYNC,
        "javascript": _function("javascript") + _JS_CLASS + _JS_ASYNC,
        "rust": _function("rust") + _RS_CLASS + _RS_ASYNC,
        "c": _function("c") + _C_CLASS,
    },
    "comment": {
        "python": "# generated comment {id}: nothing to see here, only a comment\n",
        "javascript": "// generated comment {id}: nothing to see here, only a comment\n",
        "rust": "// generated comment {id}: nothing to see here, only a comment\n",
        "c": "/* generated comment {id}: nothing to see here, only a comment */\n",
    },
}
PATTERNS: tuple[str, ...] = tuple(BLOCKS)


def block_size(template: str) -> int:
    """Return the byte length of one block of ``template`` (every block has the same length)."""
    return len(template.replace("{id}", "0" * _ID_DIGITS).encode("utf-8"))


def iter_blocks(template: str, count: int) -> Iterator[bytearray | memoryview]:
    """Yield ``count`` blocks of ``template``, a chunk of many blocks at a time.

    The chunk is one buffer re-stamped in place for each yield: write it out before
    asking for the next one.
    """
    pieces = template.encode("utf-8").split(b"{id}")
    size = block_size(template)
    low_digits = _MAX_LOW_DIGITS
    while low_digits > 0 and size * 10**low_digits > _CHUNK_LIMIT:
        low_digits -= 1
    per_chunk = 10**low_digits
    high_digits = _ID_DIGITS - low_digits
    placeholder = b"@" * high_digits
    # The chunk: every block with its low id digits filled in, high digits pending.
    # (b"%0*d" % (0, 0) would give b"0", not b"", hence the explicit empty case.)
    chunk = bytearray()
    for low in range(per_chunk):  # appended in place: no second copy of the chunk
        low_text = b"%0*d" % (low_digits, low) if low_digits else b""
        chunk += (placeholder + low_text).join(pieces)
    offsets = [len(b"".join(pieces[: i + 1])) + i * _ID_DIGITS for i in range(len(pieces) - 1)]
    # Each high digit sits at the same offset in every block, so one strided slice
    # assignment (C speed) stamps it into all blocks of the chunk at once
    # (bench_files.py holds create_large_file near a plain write).
    fills = {digit: bytes([digit]) * per_chunk for digit in b"0123456789"}
    high, stamped = 0, placeholder
    while count > 0:
        if high >= 10**high_digits:
            raise ValueError("too many blocks: ids would stop being unique")
        digits = b"%0*d" % (high_digits, high)
        for k, (digit, before) in enumerate(zip(digits, stamped, strict=True)):
            if digit != before:  # counting up mostly changes only the last digit
                for offset in offsets:
                    chunk[offset + k :: size] = fills[digit]
        stamped = digits
        take = min(count, per_chunk)
        yield chunk if take == per_chunk else memoryview(chunk)[: take * size]
        count -= take
        high += 1


# ---------------------------------------------------------------- small modules for trees

_WORDS = (
    *("alpha", "beta", "gamma", "delta", "parse", "load", "store", "merge", "split"),
    *("chunk", "scan", "index", "query", "render", "build", "fetch", "cache", "route"),
)


def _names(rng: random.Random, count: int) -> list[str]:
    return [f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}_{i}" for i in range(count)]


def tree_module(language: str, rng: random.Random) -> str:
    """Return a small valid module in ``language``: a few functions, maybe a type, maybe async."""
    funcs = _names(rng, rng.randint(1, 4))
    with_type = rng.random() < 0.5
    with_async = language != "c" and rng.random() < 0.3
    k = rng.randint(1, 99)
    parts: list[str] = []
    if language == "python":
        parts = [
            f"def {f}(value):\n    return value * {k} + {i}\n\n\n" for i, f in enumerate(funcs)
        ]
        if with_type:
            parts.append(f"class Model{k}:\n    def __init__(self):\n        self.size = {k}\n\n\n")
        if with_async:
            parts.append(f"async def run_{k}(job):\n    return await job\n")
    elif language == "javascript":
        parts = [
            f"function {f}(value) {{\n  return value * {k} + {i};\n}}\n\n"
            for i, f in enumerate(funcs)
        ]
        if with_type:
            parts.append(
                f"class Model{k} {{\n  constructor() {{\n    this.size = {k};\n  }}\n}}\n\n"
            )
        if with_async:
            parts.append(f"async function run{k}(job) {{\n  return await job;\n}}\n")
    elif language == "rust":
        parts = [
            f"pub fn {f}(value: i64) -> i64 {{\n    value * {k} + {i}\n}}\n\n"
            for i, f in enumerate(funcs)
        ]
        if with_type:
            parts.append(f"pub struct Model{k} {{\n    pub size: i64,\n}}\n\n")
        if with_async:
            parts.append(f"pub async fn run_{k}(value: i64) -> i64 {{\n    value\n}}\n")
    else:
        parts = [
            f"int {f}(int value) {{\n    return value * {k} + {i};\n}}\n\n"
            for i, f in enumerate(funcs)
        ]
        if with_type:
            parts.append(f"struct model_{k} {{\n    int size;\n}};\n")
    return "".join(parts)


def block_template(pattern: object, language: str) -> str:
    """Return the block template for ``pattern``: a block kind, or a function name prefix."""
    if isinstance(pattern, str) and pattern in BLOCKS:
        if language not in BLOCKS[pattern]:
            valid = [p for p in PATTERNS if language in BLOCKS[p]]
            raise ValueError(
                f"pattern {pattern!r} is not available for {language}; "
                f"valid patterns for {language}: {', '.join(valid)}, or an ASCII identifier "
                "(the name prefix of function blocks)"
            )
        return BLOCKS[pattern][language]
    # The prototype inserted any pattern into its names (and choked on braces); an
    # identifier keeps every language's file valid, so that is what is accepted. ASCII
    # only: C and some tools take no other identifiers.
    if isinstance(pattern, str) and pattern.isascii() and pattern.isidentifier():
        return function_block(pattern, language)
    raise ValueError(
        f"unknown pattern {pattern!r}; valid patterns: {', '.join(PATTERNS)}, or an ASCII "
        "identifier (str.isidentifier()), used verbatim as the name prefix of function blocks"
    )
