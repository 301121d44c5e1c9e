"""A small stand-in for the flagops data store: facts, fact writes and the SSE watch stream."""

from __future__ import annotations

import json
import queue
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_FACTS = re.compile(r"^/api/v1/namespaces/([^/]+)/identities/([^/]+)/facts(?:/([^/]+))?$")


class FakeStore:
    def __init__(self) -> None:
        self.facts: dict[str, dict[str, Any]] = {}
        self.revision = 0
        self.token: str | None = None  # required bearer token; None accepts anything
        self.down = False  # facts requests answer 503
        self.facts_calls = 0
        self.last_event_ids: queue.Queue[str | None] = queue.Queue()  # per watch request
        self.auth_headers: list[str | None] = []
        self.lock = threading.Lock()
        self._subs: list[queue.Queue[str | None]] = []
        self._quit = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._quit.set()  # ends watch streams
        self._server.shutdown()
        self._server.server_close()

    def set(self, ns: str, identity: str, name: str, value: Any) -> None:
        """Stores a fact and announces it on the watch streams, as the operator does."""
        self.set_many(ns, identity, {name: value})

    def set_many(self, ns: str, identity: str, facts: dict[str, Any]) -> None:
        """Stores several facts in one change, like ``PATCH …/facts``. Values go out as JSON, so
        True is sent as ``true`` and 0.5 as ``0.5``."""
        with self.lock:
            self.facts.setdefault(f"{ns}/{identity}", {}).update(facts)
            self.revision += 1
            data = json.dumps(
                {
                    "revision": self.revision,
                    "kind": "facts",
                    "action": "upsert",
                    "namespace": ns,
                    "name": identity,
                    "keys": sorted(facts),
                }
            )
            self._broadcast(f"id: {self.revision}\nevent: change\ndata: {data}\n\n")

    def broadcast(self, frame: str | None) -> None:
        """Sends a raw SSE frame to every stream; None ends the streams."""
        with self.lock:
            self._broadcast(frame)

    def _broadcast(self, frame: str | None) -> None:
        for sub in self._subs:
            sub.put(frame)

    @property
    def streams(self) -> int:
        with self.lock:
            return len(self._subs)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on a stream are expected, not worth a traceback


def _handler(store: FakeStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # chunked SSE, like the real server

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: str, message: str) -> None:
            self._json(status, {"error": {"code": code, "message": message}})

        def _authorized(self) -> bool:
            auth = self.headers.get("Authorization")
            with store.lock:
                store.auth_headers.append(auth)
                token = store.token
            if token is not None and auth != f"Bearer {token}":
                self._error(401, "Unauthorized", "bad token")
                return False
            return True

        def do_GET(self) -> None:
            if not self._authorized():
                return
            path = self.path.split("?")[0]
            if path == "/api/v1/watch":
                self._watch()
                return
            m = _FACTS.match(path)
            if not m or m.group(3):
                self._error(404, "NotFound", "no such route")
                return
            with store.lock:
                store.facts_calls += 1
                down = store.down
                facts = dict(store.facts.get(f"{m.group(1)}/{m.group(2)}", {})) or None
            if down:
                self._error(503, "Unavailable", "down for the test")
            elif facts is None:
                self._error(404, "NotFound", "identity has no facts")
            else:
                self._json(200, facts)

        def do_PUT(self) -> None:
            if not self._authorized():
                return
            m = _FACTS.match(self.path)
            if not m or not m.group(3):
                self._error(404, "NotFound", "no such route")
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            store.set(m.group(1), m.group(2), m.group(3), body["value"])
            self._json(200, {})

        def _watch(self) -> None:
            store.last_event_ids.put(self.headers.get("Last-Event-ID"))
            sub: queue.Queue[str | None] = queue.Queue()
            with store.lock:
                store._subs.append(sub)
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._chunk(": ping\n\n")
                while not store._quit.is_set():
                    try:
                        frame = sub.get(timeout=0.05)
                    except queue.Empty:
                        self._chunk(": ping\n\n")  # also notices a client that went away
                        continue
                    if frame is None:
                        self.wfile.write(b"0\r\n\r\n")
                        break
                    self._chunk(frame)
            except OSError:
                pass
            finally:
                with store.lock:
                    store._subs.remove(sub)
                self.close_connection = True

        def _chunk(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    return Handler
