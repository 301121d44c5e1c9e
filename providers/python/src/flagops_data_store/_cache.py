from __future__ import annotations

import threading
import time
from collections.abc import Callable

FactValue = str | int | float | bool
"""A fact value as JSON parsing gives it: a JSON string is ``str``, a whole number ``int``, a decimal
``float``, and ``true``/``false`` a ``bool``. The store accepts nothing else. Values are passed on as
parsed, never converted: a quoted ``"true"`` stays a ``str``. Mind that ``bool`` is a subclass of
``int`` in Python, so test for ``bool`` before ``int``."""

Facts = dict[str, FactValue]

# Beyond this many identities, expired entries are swept and then the oldest dropped.
MAX_ENTRIES = 10_000


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.facts: Facts | None = None
        self.error: BaseException | None = None


class FactsCache:
    """A TTL cache whose loads are shared by concurrent callers and can be invalidated
    mid-flight: a load that started before ``invalidate(key)`` still answers its own callers but is
    not stored, so a change announced by the watch stream is never papered over by an older
    response."""

    def __init__(self, ttl: float):
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Facts, float]] = {}  # insertion order = oldest first
        self._flights: dict[str, _Flight] = {}

    def get(self, key: str, load: Callable[[], Facts]) -> Facts:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if entry[1] > time.monotonic():
                    return entry[0]
                del self._entries[key]
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.facts is not None
            return flight.facts

        try:
            flight.facts = load()
            return flight.facts
        except BaseException as err:
            flight.error = err
            raise
        finally:
            with self._lock:
                # Store only if nobody invalidated this key (or cleared the cache) while we loaded.
                if self._flights.get(key) is flight:
                    del self._flights[key]
                    if flight.error is None and self._ttl > 0:
                        self._store(key, flight.facts)  # type: ignore[arg-type]
            flight.done.set()

    def peek(self, key: str) -> Facts | None:
        """Fresh cached facts, without loading."""
        with self._lock:
            entry = self._entries.get(key)
            return entry[0] if entry is not None and entry[1] > time.monotonic() else None

    def invalidate(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._flights.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._flights.clear()

    def _store(self, key: str, facts: Facts) -> None:
        now = time.monotonic()
        self._entries.pop(key, None)  # re-insert so dict order stays oldest-first
        self._entries[key] = (facts, now + self._ttl)
        if len(self._entries) <= MAX_ENTRIES:
            return
        for k in [k for k, (_, expires) in self._entries.items() if expires <= now]:
            del self._entries[k]
        while len(self._entries) > MAX_ENTRIES:
            del self._entries[next(iter(self._entries))]
