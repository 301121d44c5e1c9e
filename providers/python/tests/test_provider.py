from __future__ import annotations

import asyncio
import os
import threading

import pytest
from conftest import TYPED_FACTS, eventually, in_memory, typed, typed_flags
from fake_store import FakeStore
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from flagops_data_store import FlagopsProvider


def ctx(identity: str | None, **attrs: object) -> EvaluationContext:
    return EvaluationContext(identity, dict(attrs))


def test_facts_reach_the_evaluation(store: FakeStore, client_for) -> None:
    store.set("default", "acme", "tier", "gold")
    client = client_for(FlagopsProvider(store.url, in_memory()))

    details = client.get_integer_details("max-replicas", 0, ctx("acme"))
    assert (details.value, details.variant, details.error_code) == (5, "gold", None)
    assert client.get_integer_value("max-replicas", 0, ctx("nobody")) == 1  # 404: no facts
    assert client.get_integer_value("max-replicas", 0, ctx(None)) == 1  # nothing to look up


def test_fact_values_keep_their_types(store: FakeStore) -> None:
    store.set_many("default", "acme", TYPED_FACTS)
    provider = FlagopsProvider(store.url, in_memory(), watch=False)
    enriched = provider._source.enrich(ctx("acme", team="a"))
    assert enriched is not None
    assert enriched.targeting_key == "acme"
    assert typed(enriched.attributes) == {
        "beta": (bool, True),
        "ratio": (float, 0.5),
        "tier": (str, "gold"),
        "replicas": (int, 3),
        "legacy": (str, "true"),  # a quoted "true" is not turned into a boolean
        "team": (str, "a"),
    }


def test_typed_facts_drive_flag_logic(store: FakeStore, client_for) -> None:
    store.set_many("default", "acme", TYPED_FACTS)
    client = client_for(FlagopsProvider(store.url, typed_flags()))
    acme = ctx("acme")

    beta = client.get_boolean_details("beta-enabled", False, acme)
    assert (beta.value, beta.variant, beta.error_code) == (True, "on", None)
    legacy = client.get_boolean_details("legacy-enabled", False, acme)
    assert (legacy.value, legacy.variant, legacy.error_code) == (False, "off", None)  # "true" is a string
    percent = client.get_float_details("rollout-percent", -1.0, acme)
    assert (percent.value, percent.variant, percent.error_code) == (50.0, "partial", None)
    # Without facts the same flags fall to their defaults: the facts above made the difference.
    assert client.get_boolean_value("beta-enabled", True, ctx("nobody")) is False
    assert client.get_float_value("rollout-percent", -1.0, ctx("nobody")) == 0.0


def test_typed_facts_pass_the_sdks_type_checks(store: FakeStore, client_for) -> None:
    """Flags that return a fact as their value: the SDK refuses a value whose type does not match
    the flag's (TYPE_MISMATCH), so each evaluation below checks the fact's Python type."""
    store.set_many("default", "acme", TYPED_FACTS)
    client = client_for(FlagopsProvider(store.url, typed_flags()))
    acme = ctx("acme")

    beta = client.get_boolean_details("fact:beta", False, acme)
    assert (beta.value, beta.error_code) == (True, None)
    ratio = client.get_float_details("fact:ratio", -1.0, acme)
    assert (type(ratio.value), ratio.value, ratio.error_code) == (float, 0.5, None)
    replicas = client.get_integer_details("fact:replicas", -1, acme)
    assert (type(replicas.value), replicas.value, replicas.error_code) == (int, 3, None)
    tier = client.get_string_details("fact:tier", "", acme)
    assert (tier.value, tier.error_code) == ("gold", None)
    legacy = client.get_string_details("fact:legacy", "", acme)
    assert (legacy.value, legacy.error_code) == ("true", None)

    # The other way round: a string is no boolean, and a whole number is no float.
    assert client.get_boolean_details("fact:legacy", False, acme).error_code == ErrorCode.TYPE_MISMATCH
    assert client.get_float_details("fact:replicas", -1.0, acme).error_code == ErrorCode.TYPE_MISMATCH


def test_typed_facts_async(store: FakeStore, client_for) -> None:
    store.set_many("default", "acme", TYPED_FACTS)
    client = client_for(FlagopsProvider(store.url, typed_flags()))

    async def evaluate() -> dict[str, object]:
        return {
            "beta-enabled": await client.get_boolean_value_async("beta-enabled", False, ctx("acme")),  # in a thread
            "fact:ratio": await client.get_float_value_async("fact:ratio", -1.0, ctx("acme")),  # from the cache
            "legacy-enabled": await client.get_boolean_value_async("legacy-enabled", True, ctx("acme")),
        }

    assert typed(asyncio.run(evaluate())) == {
        "beta-enabled": (bool, True),
        "fact:ratio": (float, 0.5),
        "legacy-enabled": (bool, False),
    }


def test_typed_change_over_the_watch_stream(store: FakeStore, client_for) -> None:
    store.set_many("default", "acme", TYPED_FACTS)
    provider = FlagopsProvider(store.url, typed_flags())  # TTL of 30 s: only the stream can refresh
    client = client_for(provider)
    eventually(lambda: provider._source.watching, 2, "watch stream connected")
    assert client.get_boolean_value("beta-enabled", False, ctx("acme")) is True

    store.set_many("default", "acme", {"beta": False, "ratio": 0.25})
    eventually(
        lambda: client.get_boolean_value("beta-enabled", True, ctx("acme")) is False,
        1,
        "beta: false reaches the evaluation",
    )
    assert client.get_float_value("rollout-percent", -1.0, ctx("acme")) == 25.0


def test_explicit_attributes_win(store: FakeStore, client_for) -> None:
    store.set("default", "acme", "tier", "gold")
    client = client_for(FlagopsProvider(store.url, in_memory()))
    assert client.get_integer_value("max-replicas", 0, ctx("acme", tier="silver")) == 1


def test_namespaces(store: FakeStore, client_for) -> None:
    store.set("team-a", "acme", "tier", "gold")
    client = client_for(FlagopsProvider(store.url, in_memory()))
    assert client.get_integer_value("max-replicas", 0, ctx("acme")) == 1
    assert client.get_integer_value("max-replicas", 0, ctx("acme", namespace="team-a")) == 5

    other = client_for(FlagopsProvider(store.url, in_memory(), default_namespace="team-a"))
    assert other.get_integer_value("max-replicas", 0, ctx("acme")) == 5


def test_facts_are_cached(store: FakeStore, client_for) -> None:
    store.set("default", "acme", "tier", "gold")
    client = client_for(FlagopsProvider(store.url, in_memory(), watch=False))
    for _ in range(5):
        assert client.get_integer_value("max-replicas", 0, ctx("acme")) == 5
    assert store.facts_calls == 1


def test_change_over_the_watch_stream_reaches_the_next_evaluation(store: FakeStore, client_for) -> None:
    store.set("default", "acme", "tier", "silver")
    provider = FlagopsProvider(store.url, in_memory())  # TTL of 30 s: only the stream can refresh
    client = client_for(provider)
    eventually(lambda: provider._source.watching, 2, "watch stream connected")

    assert client.get_integer_value("max-replicas", 0, ctx("acme")) == 1
    store.set("default", "acme", "tier", "gold")
    eventually(
        lambda: client.get_integer_value("max-replicas", 0, ctx("acme")) == 5, 1, "change reaches the evaluation"
    )


def test_reset_event_drops_the_cache(store: FakeStore, client_for) -> None:
    store.set("default", "acme", "tier", "silver")
    provider = FlagopsProvider(store.url, in_memory())
    client = client_for(provider)
    eventually(lambda: provider._source.watching, 2, "watch stream connected")
    assert client.get_integer_value("max-replicas", 0, ctx("acme")) == 1
    with store.lock:  # change behind the stream's back, then tell the client it cannot resume
        store.facts["default/acme"]["tier"] = "gold"
    store.broadcast("event: reset\ndata: {}\n\n")
    eventually(lambda: client.get_integer_value("max-replicas", 0, ctx("acme")) == 5, 1, "reset drops cached facts")


def test_watch_reconnects_with_last_event_id(store: FakeStore, client_for) -> None:
    client_for(FlagopsProvider(store.url, in_memory()))
    assert store.last_event_ids.get(timeout=2) is None
    eventually(lambda: store.streams == 1, 2, "watch stream connected")
    store.set("default", "acme", "tier", "gold")  # id: 1
    store.broadcast(None)  # the server ends the stream
    assert store.last_event_ids.get(timeout=3) == "1"


def test_shutdown_stops_the_watch_thread(store: FakeStore, client_for) -> None:
    provider = FlagopsProvider(store.url, in_memory())
    client_for(provider)
    eventually(lambda: store.streams == 1, 2, "watch stream connected")
    provider.shutdown()
    watcher = provider._source.watcher
    assert watcher is not None and not watcher.alive
    eventually(lambda: store.streams == 0, 1, "server sees the stream closed")
    assert not any(t.name == "flagops-watch" and t.is_alive() for t in threading.enumerate())


def test_store_unreachable_gives_default_with_general_logged_once(client_for, logs) -> None:
    client = client_for(FlagopsProvider("http://127.0.0.1:1", in_memory(), timeout=0.5))
    for _ in range(3):
        details = client.get_integer_details("max-replicas", 42, ctx("acme"))
        assert details.value == 42
        assert details.error_code == ErrorCode.GENERAL
        assert details.reason == Reason.ERROR
        assert "unreachable" in (details.error_message or "")
    errors = [r for r in logs.records if r.levelname == "ERROR"]
    assert len(errors) == 1, logs.text


def test_outage_and_recovery(store: FakeStore, client_for, logs) -> None:
    store.set("default", "acme", "tier", "gold")
    client = client_for(FlagopsProvider(store.url, in_memory(), cache_ttl=0, watch=False))
    store.down = True
    for _ in range(3):
        details = client.get_integer_details("max-replicas", 42, ctx("acme"))
        assert (details.value, details.error_code) == (42, ErrorCode.GENERAL)
        assert "HTTP 503" in (details.error_message or "")
    store.down = False
    assert client.get_integer_value("max-replicas", 0, ctx("acme")) == 5
    assert len([r for r in logs.records if r.levelname == "ERROR"]) == 1, logs.text
    assert "reachable again" in logs.text
    assert "gold" not in logs.text  # fact values are never logged


def test_unauthorized(store: FakeStore, client_for) -> None:
    store.token = "right"
    client = client_for(FlagopsProvider(store.url, in_memory(), token="wrong", watch=False))
    details = client.get_integer_details("max-replicas", 42, ctx("acme"))
    assert (details.value, details.error_code) == (42, ErrorCode.GENERAL)
    assert "HTTP 401" in (details.error_message or "")


def test_empty_token_sends_no_header(store: FakeStore, client_for) -> None:
    client = client_for(FlagopsProvider(store.url, in_memory(), token="", watch=False))
    client.get_integer_value("max-replicas", 0, ctx("acme"))
    assert store.auth_headers == [None]


def _write_token(path: str, token: str) -> None:
    # Like kubelet: write a new file and rename it over the old one.
    with open(path + ".tmp", "w") as f:
        f.write(token + "\n")
    os.replace(path + ".tmp", path)


def test_token_file_rotation_is_picked_up_on_401(store: FakeStore, client_for, tmp_path) -> None:
    token_file = str(tmp_path / "token")
    _write_token(token_file, "token-1")
    store.token = "token-1"
    store.set("default", "acme", "tier", "gold")
    provider = FlagopsProvider(store.url, in_memory(), token_file=token_file, cache_ttl=0)
    client = client_for(provider)
    eventually(lambda: provider._source.watching, 2, "watch stream connected")
    assert client.get_integer_details("max-replicas", 0, ctx("acme")).value == 5

    # Rotated before our next periodic re-read: the 401 makes us read the file again.
    _write_token(token_file, "token-2")
    store.token = "token-2"
    details = client.get_integer_details("max-replicas", 0, ctx("acme"))
    assert (details.value, details.error_code) == (5, None)
    assert store.auth_headers[-2:] == ["Bearer token-1", "Bearer token-2"]


def test_async_evaluation(store: FakeStore, client_for) -> None:
    store.set("default", "acme", "tier", "gold")
    client = client_for(FlagopsProvider(store.url, in_memory()))

    async def evaluate() -> tuple[int, int]:
        first = await client.get_integer_value_async("max-replicas", 0, ctx("acme"))  # lookup in a thread
        second = await client.get_integer_value_async("max-replicas", 0, ctx("acme"))  # from the cache
        return first, second

    assert asyncio.run(evaluate()) == (5, 5)


def test_metadata_and_validation() -> None:
    provider = FlagopsProvider("http://x/", in_memory(), watch=False)
    assert provider.get_metadata().name == "flagops(In-Memory Provider)"
    assert provider._source.base_url == "http://x"
    with pytest.raises(ValueError):
        FlagopsProvider("not a url", in_memory())
    with pytest.raises(ValueError):
        FlagopsProvider("http://x", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FlagopsProvider("http://x", in_memory(), timeout=0)
