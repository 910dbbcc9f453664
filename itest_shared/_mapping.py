"""AttributeMapping: an object that also reads like the dict of some of its attributes.

The records, the live resource records and the timing statistics each read
like the dict their users were written against (``record["state"]``,
``"released_at" in record``, ``stats["count"]``); this is that reading, once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class AttributeMapping(Mapping[str, Any]):
    """A read-only Mapping of the attributes ``_keys()`` names, in that order."""

    __slots__ = ()

    def _keys(self) -> tuple[str, ...]:
        """The keys it has now (a record may gain one, as ``released_at`` on release)."""
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        if key in self._keys():
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self._keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())
