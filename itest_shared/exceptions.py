"""The errors itest-shared raises; each one survives pickling across processes."""

from __future__ import annotations

from collections.abc import Sequence


class FormatError(ValueError):
    """A serialised record is malformed: not JSON, not an object, a field missing or wrong."""


class SchemaVersionError(FormatError):
    """A record was written under a schema major version this release cannot read."""

    def __init__(self, found: str, supported: Sequence[str]) -> None:
        self.found = found
        self.supported = tuple(supported)
        super().__init__(
            f"unsupported schema_version {found!r}: this itest-shared reads schema "
            f"{', '.join(f'{v}.x' for v in self.supported)}; upgrade itest-shared to read it"
        )

    # Exceptions rebuild themselves from ``args`` when unpickled; ours takes other
    # arguments, so say how to rebuild it (it crosses worker and xdist boundaries).
    def __reduce__(self) -> tuple[type[SchemaVersionError], tuple[str, tuple[str, ...]]]:
        return type(self), (self.found, self.supported)


class UnknownResourceError(KeyError):
    """A resource id that the tracker has never seen."""

    def __init__(self, resource_id: str) -> None:
        self.resource_id = resource_id
        super().__init__(resource_id)

    def __str__(self) -> str:
        # KeyError's own __str__ shows only repr(args[0]); say what went wrong.
        return f"unknown resource_id {self.resource_id!r}: it was never tracked"

    def __reduce__(self) -> tuple[type[UnknownResourceError], tuple[str]]:
        return type(self), (self.resource_id,)


class ResourceStateError(ValueError):
    """A resource is asked to make a transition its current state does not allow."""

    def __init__(self, resource_id: str, state: str, action: str) -> None:
        self.resource_id = resource_id
        self.state = state
        self.action = action
        super().__init__(
            f"cannot {action} resource_id {resource_id!r}: it is {state}"
            + (" (release it first, or track it under a new id)" if state == "active" else "")
        )

    def __reduce__(self) -> tuple[type[ResourceStateError], tuple[str, str, str]]:
        return type(self), (self.resource_id, self.state, self.action)
