from __future__ import annotations

from conftest import TYPED_FACTS, eventually, in_memory, typed_flags
from fake_store import FakeStore
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode

from flagops_data_store import FlagopsContextHook


def test_hook_enriches_and_follows_changes(store: FakeStore, client_for) -> None:
    store.set("default", "acme", "tier", "silver")
    hook = FlagopsContextHook(store.url)
    client = client_for(in_memory())
    client.add_hooks([hook])
    try:
        assert client.get_integer_value("max-replicas", 0, EvaluationContext("acme")) == 1
        eventually(lambda: hook._source.watching, 2, "watch stream connected")
        store.set("default", "acme", "tier", "gold")
        eventually(
            lambda: client.get_integer_value("max-replicas", 0, EvaluationContext("acme")) == 5,
            1,
            "change reaches the evaluation",
        )
        explicit = EvaluationContext("acme", {"tier": "bronze"})
        assert client.get_integer_value("max-replicas", 0, explicit) == 1
    finally:
        hook.close()


def test_hook_passes_typed_facts(store: FakeStore, client_for) -> None:
    store.set_many("default", "acme", TYPED_FACTS)
    hook = FlagopsContextHook(store.url, watch=False)
    client = client_for(typed_flags())
    client.add_hooks([hook])
    try:
        acme = EvaluationContext("acme")
        assert client.get_boolean_value("beta-enabled", False, acme) is True
        assert client.get_boolean_value("legacy-enabled", True, acme) is False  # "true" is a string
        ratio = client.get_float_details("fact:ratio", -1.0, acme)
        assert (type(ratio.value), ratio.value, ratio.error_code) == (float, 0.5, None)
        assert client.get_string_value("fact:legacy", "", acme) == "true"
        # Without the hook nothing would be there to match.
        assert client.get_boolean_value("beta-enabled", True, EvaluationContext("nobody")) is False
    finally:
        hook.close()


def test_hook_store_unreachable(client_for, logs) -> None:
    hook = FlagopsContextHook("http://127.0.0.1:1", watch=False)
    client = client_for(in_memory())
    client.add_hooks([hook])
    for _ in range(3):
        details = client.get_integer_details("max-replicas", 42, EvaluationContext("acme"))
        assert (details.value, details.error_code) == (42, ErrorCode.GENERAL)
        assert "unreachable" in (details.error_message or "")
    assert len([r for r in logs.records if r.levelname == "ERROR"]) == 1, logs.text
    # Without a targeting key there is nothing to look up, so nothing fails.
    assert client.get_integer_details("max-replicas", 0, EvaluationContext()).error_code is None
