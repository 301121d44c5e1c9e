from __future__ import annotations

from typing import Literal

from openfeature.exception import GeneralError

StoreErrorKind = Literal["unreachable", "unauthorized", "invalid-response"]
"""Why facts could not be read:

- ``unreachable``: connection refused, timeout, 5xx or 429; the store is down or overloaded;
- ``unauthorized``: 401/403; the token is missing, expired or lacks RBAC;
- ``invalid-response``: the store answered something that is not a facts map.
"""

_WHAT = {
    "unreachable": "flagops data store unreachable",
    "unauthorized": "flagops data store denied access",
    "invalid-response": "flagops data store gave an invalid answer",
}


class FlagopsStoreError(GeneralError):
    """A failed facts lookup.

    It is an OpenFeature ``GeneralError``, so when the hook raises it the SDK turns it into the
    caller's default value with error code ``GENERAL`` and this message.
    """

    def __init__(self, kind: StoreErrorKind, base_url: str, detail: str):
        super().__init__(f"{_WHAT[kind]} ({base_url}): {detail}")
        self.kind: StoreErrorKind = kind

    def __str__(self) -> str:
        return self.error_message or ""
