from __future__ import annotations

import http.server
import threading
import time

import pytest
import requests

from flagops_data_store._cache import FactsCache
from flagops_data_store._client import StoreClient
from flagops_data_store._errors import FlagopsStoreError
from flagops_data_store._sse import SseEvent, SseParser
from flagops_data_store._token import TokenSource
from flagops_data_store._watch import backoff_delay


def test_sse_parser_handles_any_split_and_line_end() -> None:
    stream = (
        ": ping\r\n\r\n"
        'id: 7\nevent: change\ndata: {"a":1}\n\n'
        "data: line1\rdata: line2\r\r"  # CR line ends, default event name, id carried over
        "retry: 1500\nevent: reset\n\n"  # no data, still dispatched
        "event: change\ndata: unterminated"
    )
    want = [
        SseEvent("change", '{"a":1}', "7"),
        SseEvent("message", "line1\nline2", "7"),
        SseEvent("reset", "", "7"),
    ]
    whole = SseParser()
    assert whole.push(stream) == want
    assert whole.retry_ms == 1500
    byte_by_byte = SseParser()
    assert [e for ch in stream for e in byte_by_byte.push(ch)] == want


def test_cache_drops_a_load_invalidated_mid_flight() -> None:
    cache = FactsCache(60)
    started, release = threading.Event(), threading.Event()
    result: list[dict] = []

    def slow_load() -> dict:
        started.set()
        release.wait(2)
        return {"tier": "old"}

    t = threading.Thread(target=lambda: result.append(cache.get("ns/a", slow_load)))
    t.start()
    assert started.wait(2)
    cache.invalidate("ns/a")
    release.set()
    t.join(2)
    assert result == [{"tier": "old"}]  # the load still answers its caller
    assert cache.peek("ns/a") is None  # but is not stored
    assert cache.get("ns/a", lambda: {"tier": "new"}) == {"tier": "new"}
    assert cache.peek("ns/a") == {"tier": "new"}


def test_token_file_is_reread(tmp_path) -> None:
    path = tmp_path / "token"
    path.write_text("token-1")
    tokens = TokenSource(None, str(path), optional=False, on_error=pytest.fail, recheck=0.02)
    assert tokens.get() == "token-1"
    path.write_text("token-2\n")
    time.sleep(0.03)
    assert tokens.get() == "token-2"


def test_missing_token_file() -> None:
    complaints: list[str] = []
    optional = TokenSource(None, "/nonexistent/token", optional=True, on_error=complaints.append)
    assert optional.get() is None and complaints == []  # the in-cluster default may be absent
    explicit = TokenSource(None, "/nonexistent/token", optional=False, on_error=complaints.append)
    explicit.get()
    explicit.invalidate()
    explicit.get()
    assert len(complaints) == 1  # reported once


def _serve(handler: type[http.server.BaseHTTPRequestHandler]):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def test_plain_404_is_not_empty_facts() -> None:
    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)  # an HTML 404, as from a wrong base URL

        def log_message(self, *args: object) -> None:
            pass

    server = _serve(NotFound)
    try:
        client = StoreClient(
            f"http://127.0.0.1:{server.server_address[1]}",
            1,
            requests.Session(),
            TokenSource("", None, optional=True, on_error=print),
        )
        with pytest.raises(FlagopsStoreError) as err:
            client.get_facts("default", "acme")
        assert err.value.kind == "invalid-response"
    finally:
        server.shutdown()
        server.server_close()


def test_client_keeps_json_types() -> None:
    # The bytes as the store sends them: JavaScript writes 1.0 as 1 and 1e-7 in exponent form.
    body = (
        b'{"beta":true,"off":false,"ratio":0.5,"tiny":1e-7,"whole":1,"max":9007199254740991,'
        b'"min":-9007199254740991,"legacy":"true","count":"3"}'
    )

    class Facts(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = _serve(Facts)
    try:
        client = StoreClient(
            f"http://127.0.0.1:{server.server_address[1]}",
            1,
            requests.Session(),
            TokenSource("", None, optional=True, on_error=print),
        )
        facts = client.get_facts("default", "acme")
        assert {k: (type(v), v) for k, v in facts.items()} == {
            "beta": (bool, True),
            "off": (bool, False),
            "ratio": (float, 0.5),
            "tiny": (float, 1e-7),
            "whole": (int, 1),
            "max": (int, 2**53 - 1),
            "min": (int, -(2**53 - 1)),
            "legacy": (str, "true"),
            "count": (str, "3"),
        }
    finally:
        server.shutdown()
        server.server_close()


def test_facts_request_times_out() -> None:
    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(1)

        def log_message(self, *args: object) -> None:
            pass

    server = _serve(Slow)
    try:
        client = StoreClient(
            f"http://127.0.0.1:{server.server_address[1]}",
            0.1,
            requests.Session(),
            TokenSource("", None, optional=True, on_error=print),
        )
        with pytest.raises(FlagopsStoreError) as err:
            client.get_facts("default", "acme")
        assert err.value.kind == "unreachable" and "timed out" in str(err.value)
    finally:
        server.shutdown()
        server.server_close()


def test_backoff() -> None:
    for attempt, ceiling in enumerate([0.5, 1, 2]):
        for _ in range(20):
            assert ceiling / 2 <= backoff_delay(attempt) <= ceiling
    assert 15 <= backoff_delay(100) <= 30
