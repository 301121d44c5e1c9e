from __future__ import annotations

import threading
import time
from collections.abc import Callable

# How often at most the token file is read again. kubelet rotates tokens well before they expire,
# and the file is tiny, so re-reading beats tracking mtimes.
TOKEN_RECHECK_SECONDS = 5.0


class TokenSource:
    """Supplies the bearer token: a fixed string, or the content of a file that is re-read every
    few seconds and after :meth:`invalidate` (a 401)."""

    def __init__(
        self,
        token: str | None,
        token_file: str | None,
        *,
        optional: bool,
        on_error: Callable[[str], None],
        recheck: float = TOKEN_RECHECK_SECONDS,
    ):
        self._fixed = token
        self._file = token_file if token is None else None
        self._optional = optional  # the file is only the in-cluster default: absence is no error
        self._on_error = on_error
        self._recheck = recheck
        self._lock = threading.Lock()
        self._cached: str | None = None
        self._read_at: float | None = None
        self._last_error: str | None = None

    @property
    def rotates(self) -> bool:
        """True when a 401 may be cured by reading the file again."""
        return self._file is not None

    def get(self) -> str | None:
        if self._fixed is not None:
            return self._fixed or None
        if self._file is None:
            return None
        with self._lock:
            now = time.monotonic()
            if self._read_at is not None and now - self._read_at < self._recheck:
                return self._cached
            self._read_at = now
            try:
                with open(self._file, encoding="utf-8") as f:
                    self._cached = f.read().strip() or None
                self._last_error = None
            except OSError as err:
                self._cached = None
                message = f"cannot read token file {self._file}: {err.strerror or err}"
                # Report a broken file once, not on every re-read.
                missing_default = self._optional and isinstance(err, FileNotFoundError)
                if not missing_default and message != self._last_error:
                    self._on_error(message)
                self._last_error = message
            return self._cached

    def invalidate(self) -> None:
        """Make the next :meth:`get` read the file again."""
        with self._lock:
            self._read_at = None
