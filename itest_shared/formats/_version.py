"""Which schema this release writes and reads, and which package version writes it.

A leaf module: the record base (``_envelope``) and the reader (``_parse``) both
need these facts, and the reader must not import the record base, which loads
the reader on first use.
"""

from __future__ import annotations

import functools
import re
from typing import Final

#: The schema every record is written in. MAJOR.MINOR; see CONTRIBUTING.md.
SCHEMA_VERSION: Final = "1.2"
#: Schema majors this release reads (every minor of each).
SUPPORTED_MAJORS: Final = (1,)

SCHEMA_VERSION_RE: Final = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})")
#: The leading major of any schema version, whatever follows it ("2" of "2.0.0"),
#: used with ``match``. It is the one part of the version that every major keeps:
#: a later major may write its versions otherwise, so a record whose major this
#: release does not read gets SchemaVersionError ("upgrade"), not "malformed".
SCHEMA_MAJOR_RE: Final = re.compile(r"(0|[1-9][0-9]*)(?:\.|\Z)")


@functools.lru_cache(maxsize=1)
def package_version() -> str:
    """Return the installed itest-shared version (``"0+unknown"`` if not installed)."""
    # importlib.metadata is slow to import; records pay for it once, on first use,
    # so that ``import itest_shared`` stays cheap.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("itest-shared")
    except PackageNotFoundError:
        return "0+unknown"
