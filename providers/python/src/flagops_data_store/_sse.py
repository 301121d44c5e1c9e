from __future__ import annotations

import re
from dataclasses import dataclass

_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SseEvent:
    event: str  # "message" when the stream gave no event: field
    data: str  # data: lines joined with "\n"
    id: str | None  # last id: seen so far (ids persist across events, as in EventSource)


class SseParser:
    """Incremental parser for ``text/event-stream`` (the WHATWG EventSource algorithm): feed
    decoded text in any split, get whole events back. Written here rather than pulled in as a
    dependency because the format is small.

    One deliberate difference: an event with an ``event:`` name but no data is still dispatched,
    so a bare ``event: reset`` from the server is not lost.
    """

    def __init__(self, last_event_id: str | None = None):
        self.last_event_id = last_event_id
        self.retry_ms: int | None = None  # reconnection delay the server asked for, if any
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._has_data = False

    def push(self, chunk: str) -> list[SseEvent]:
        """Parses ``chunk`` and returns the events it completed."""
        self._buffer += chunk
        events: list[SseEvent] = []
        start = 0
        while True:
            found = _EOL.search(self._buffer, start)
            if found is None:
                break
            # A lone trailing "\r" may be the first half of "\r\n": wait for the next chunk.
            if found.group() == "\r" and found.end() == len(self._buffer):
                break
            line = self._buffer[start : found.start()]
            start = found.end()
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._buffer = self._buffer[start:]
        return events

    def _line(self, line: str) -> SseEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # comment, e.g. ": ping"
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
            self._has_data = True
        elif field == "id" and "\0" not in value:
            self.last_event_id = value
        elif field == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None  # unknown fields are ignored by the spec

    def _dispatch(self) -> SseEvent | None:
        event = None
        if self._has_data or self._event:
            event = SseEvent(self._event or "message", "\n".join(self._data), self.last_event_id)
        self._event = ""
        self._data = []
        self._has_data = False
        return event
