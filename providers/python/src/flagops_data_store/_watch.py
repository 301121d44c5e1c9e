from __future__ import annotations

import codecs
import json
import logging
import random
import threading
from collections.abc import Callable

import requests

from ._client import StoreClient, _describe
from ._errors import FlagopsStoreError
from ._sse import SseEvent, SseParser

# The server pings every 15 s; three missed pings mean a dead (possibly half-open) connection.
IDLE_TIMEOUT = 45.0
MIN_DELAY = 0.5
MAX_DELAY = 30.0


def backoff_delay(attempt: int, base: float = MIN_DELAY, cap: float = MAX_DELAY) -> float:
    """Capped exponential backoff with jitter: attempt 0 waits base/2..base, doubling up to the
    cap, so a fleet of clients does not reconnect in lock-step after a store restart."""
    ceiling = min(cap, base * 2 ** min(attempt, 30))
    return ceiling / 2 + random.random() * ceiling / 2


class Watcher:
    """Follows ``GET /api/v1/watch`` in a daemon thread and reports changed facts. Reconnects with
    backoff and ``Last-Event-ID``; :meth:`stop` interrupts the stream and joins the thread."""

    def __init__(
        self,
        client: StoreClient,
        logger: logging.Logger,
        on_change: Callable[[str, str], None],
        on_reset: Callable[[str], None],
        idle_timeout: float = IDLE_TIMEOUT,
    ):
        self._client = client
        self._log = logger
        self._on_change = on_change
        self._on_reset = on_reset
        self._idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: requests.Response | None = None
        self.connected = False
        # Owned by the thread.
        self._last_event_id: str | None = None
        self._retry: float | None = None
        self._failing = False

    def start(self) -> None:
        """Starts the thread once; a no-op after :meth:`stop`."""
        with self._lock:
            if self._thread is not None or self._stopping.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="flagops-watch", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stopping.set()
            thread, response = self._thread, self._response
        if response is not None:
            _interrupt(response)
        if thread is not None:
            thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                self._stream()
                if not self._stopping.is_set():
                    self._log.debug("flagops: watch stream ended by the server; reconnecting")
            except Exception as err:  # noqa: BLE001 - the thread must survive anything
                if not self._stopping.is_set():
                    self._report_failure(err)
            # A stream that got established resets the backoff; repeated failures grow it.
            if self.connected:
                attempt = 0
            self.connected = False
            base = max(0.1, self._retry) if self._retry is not None else MIN_DELAY
            self._stopping.wait(backoff_delay(attempt, base))
            attempt += 1
        self.connected = False

    def _stream(self) -> None:
        """One connection: returns when the server ends the stream, raises on failure."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", "Accept-Encoding": "identity"}
        if self._last_event_id is not None:
            headers["Last-Event-ID"] = self._last_event_id
        # Connect bounded by the timeout; each read by idleness (pings keep it alive).
        res = self._client.send(
            self._client.watch_url(), headers, stream=True, timeout=(self._client.timeout, self._idle_timeout)
        )
        with self._lock:
            if self._stopping.is_set():
                res.close()
                return
            self._response = res
        try:
            if res.status_code != 200:
                raise self._client.status_error(res.status_code, None)
            self.connected = True
            if self._failing:
                self._log.info("flagops: watch stream reconnected to %s", self._client.watch_url())
            else:
                self._log.debug("flagops: watch stream connected to %s", self._client.watch_url())
            self._failing = False
            # Without a resume point we cannot know what changed before this stream existed.
            if self._last_event_id is None:
                self._on_reset("watch stream connected without a resume point")

            parser = SseParser(self._last_event_id)
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            while True:
                # read1 returns whatever has arrived, so events are not held back for a full buffer.
                chunk = res.raw.read1(65536)
                if not chunk:
                    return
                for event in parser.push(decoder.decode(chunk)):
                    self._dispatch(event)
                self._last_event_id = parser.last_event_id
                if parser.retry_ms is not None:
                    self._retry = parser.retry_ms / 1000
        finally:
            with self._lock:
                self._response = None
            res.close()

    def _dispatch(self, event: SseEvent) -> None:
        if event.event == "reset":
            self._on_reset("server sent event: reset")
            return
        if event.event != "change":
            return
        try:
            change = json.loads(event.data)
        except ValueError:
            change = None
        if not (
            isinstance(change, dict)
            and all(isinstance(change.get(k), str) and change[k] for k in ("kind", "namespace", "name"))
        ):
            # Safer to drop the whole cache than to keep facts we were told changed.
            self._on_reset("unreadable change event")
            return
        if change["kind"] == "facts":
            self._on_change(change["namespace"], change["name"])

    def _report_failure(self, err: Exception) -> None:
        detail = str(err) if isinstance(err, FlagopsStoreError) else _describe(err)
        if self._failing:
            self._log.debug("flagops: watch stream still failing: %s", detail)
            return
        self._failing = True
        self._log.warning(
            "flagops: watch stream to %s failed: %s; retrying with backoff "
            "(cached facts fall back to their TTL until it reconnects)",
            self._client.watch_url(),
            detail,
        )


def _interrupt(response: requests.Response) -> None:
    """Wakes a read blocked on the stream from another thread. Closing a socket does not do that
    on Linux; shutting it down does (urllib3 >= 2.3 exposes exactly this)."""
    try:
        response.raw.shutdown()
    except Exception:  # noqa: BLE001 - already released, or an older urllib3
        response.close()
