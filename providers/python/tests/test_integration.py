"""Runs against a real flagops-data-store when FLAGOPS_TEST_URL is set:

FLAGOPS_TEST_URL=http://127.0.0.1:8080 FLAGOPS_TEST_TOKEN=… FLAGOPS_TEST_NAMESPACE=… ./run-tests.sh
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
import requests
from conftest import TYPED_FACTS, eventually, in_memory, typed, typed_flags
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode

from flagops_data_store import FlagopsContextHook, FlagopsProvider

URL = os.environ.get("FLAGOPS_TEST_URL", "")
TOKEN = os.environ.get("FLAGOPS_TEST_TOKEN", "")
NAMESPACE = os.environ.get("FLAGOPS_TEST_NAMESPACE") or "default"

pytestmark = pytest.mark.skipif(
    not URL, reason="FLAGOPS_TEST_URL is not set: skipping integration tests against a real flagops-data-store"
)


def unique_identity() -> str:
    return f"it-py-{uuid.uuid4().hex[:8]}"


def put_fact(identity: str, name: str, value: object) -> None:
    """Writes a fact through the store's API; it answers 200 once the fact is readable."""
    url = f"{URL.rstrip('/')}/api/v1/namespaces/{quote(NAMESPACE, safe='')}/identities/{quote(identity, safe='')}/facts/{quote(name, safe='')}"
    headers = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
    res = requests.put(url, json={"value": value}, headers=headers, timeout=10)
    assert res.status_code == 200, f"PUT {url}: HTTP {res.status_code}: {res.text}"


def patch_facts(identity: str, facts: dict[str, object]) -> dict[str, object]:
    """Sets several facts in one write through the store's API; returns the facts it answers with."""
    url = f"{URL.rstrip('/')}/api/v1/namespaces/{quote(NAMESPACE, safe='')}/identities/{quote(identity, safe='')}/facts"
    headers = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
    res = requests.patch(url, json=facts, headers=headers, timeout=10)
    assert res.status_code == 200, f"PATCH {url}: HTTP {res.status_code}: {res.text}"
    return res.json()


def write_typed_facts(identity: str) -> None:
    """TYPED_FACTS for ``identity``: the boolean and the decimal in one PATCH, the others one PUT each."""
    for name in ("tier", "replicas", "legacy"):
        put_fact(identity, name, TYPED_FACTS[name])
    answer = patch_facts(identity, {"beta": True, "ratio": 0.5})
    assert typed(answer) == typed(TYPED_FACTS), "the store answers with the facts as written"


def test_typed_facts_reach_the_flag_logic(client_for) -> None:
    identity = unique_identity()
    write_typed_facts(identity)
    provider = FlagopsProvider(URL, typed_flags(), token=TOKEN, default_namespace=NAMESPACE)
    client = client_for(provider)
    context = EvaluationContext(identity)

    enriched = provider._source.enrich(context)
    assert enriched is not None and typed(enriched.attributes) == {
        "beta": (bool, True),
        "ratio": (float, 0.5),
        "tier": (str, "gold"),
        "replicas": (int, 3),
        "legacy": (str, "true"),
    }
    beta = client.get_boolean_details("beta-enabled", False, context)
    assert (beta.value, beta.variant, beta.error_code) == (True, "on", None)
    legacy = client.get_boolean_details("legacy-enabled", False, context)
    assert (legacy.value, legacy.variant, legacy.error_code) == (False, "off", None)  # "true" is a string
    percent = client.get_float_details("rollout-percent", -1.0, context)
    assert (percent.value, percent.error_code) == (50.0, None)
    ratio = client.get_float_details("fact:ratio", -1.0, context)
    assert (type(ratio.value), ratio.value, ratio.error_code) == (float, 0.5, None)
    assert client.get_boolean_value("fact:beta", False, context) is True
    assert client.get_string_value("fact:legacy", "", context) == "true"
    assert client.get_boolean_details("fact:legacy", False, context).error_code == ErrorCode.TYPE_MISMATCH


def test_typed_changes_follow_the_watch_stream(client_for) -> None:
    identity = unique_identity()
    write_typed_facts(identity)
    provider = FlagopsProvider(URL, typed_flags(), token=TOKEN, default_namespace=NAMESPACE)
    client = client_for(provider)
    context = EvaluationContext(identity)
    assert client.get_boolean_value("beta-enabled", False, context) is True
    eventually(lambda: provider._source.watching, 5, "watch stream connected")

    patch_facts(identity, {"beta": False, "ratio": 0.25})
    eventually(
        lambda: client.get_boolean_value("beta-enabled", True, context) is False,
        1,
        "beta: false reaches the evaluation over the watch stream",
    )
    assert client.get_float_value("rollout-percent", -1.0, context) == 25.0

    # The API server stores 1.0 as 1: a whole decimal comes back as an int.
    answer = patch_facts(identity, {"ratio": 1.0})
    assert typed(answer)["ratio"] == (int, 1)

    def ratio() -> tuple[type, object]:
        enriched = provider._source.enrich(context)
        assert enriched is not None
        return typed(enriched.attributes)["ratio"]

    eventually(lambda: ratio() == (int, 1), 1, "ratio 1 reaches the context as an int")
    assert client.get_float_value("rollout-percent", -1.0, context) == 0.0


def test_provider_follows_a_changed_fact(client_for) -> None:
    identity = unique_identity()
    put_fact(identity, "tier", "silver")
    provider = FlagopsProvider(URL, in_memory(), token=TOKEN, default_namespace=NAMESPACE)
    client = client_for(provider)
    assert client.get_integer_value("max-replicas", 0, EvaluationContext(identity)) == 1
    eventually(lambda: provider._source.watching, 5, "watch stream connected")
    put_fact(identity, "tier", "gold")
    eventually(
        lambda: client.get_integer_value("max-replicas", 0, EvaluationContext(identity)) == 5,
        1,
        "gold reaches the evaluation over the watch stream",
    )


def test_hook_reads_facts(client_for) -> None:
    identity = unique_identity()
    put_fact(identity, "tier", "gold")
    hook = FlagopsContextHook(URL, token=TOKEN)
    client = client_for(in_memory())
    client.add_hooks([hook])
    try:
        context = EvaluationContext(identity, {"namespace": NAMESPACE})
        assert client.get_integer_value("max-replicas", 0, context) == 5
    finally:
        hook.close()


def test_hook_passes_typed_facts(client_for) -> None:
    identity = unique_identity()
    write_typed_facts(identity)
    hook = FlagopsContextHook(URL, token=TOKEN, watch=False)
    client = client_for(typed_flags())
    client.add_hooks([hook])
    try:
        context = EvaluationContext(identity, {"namespace": NAMESPACE})
        assert client.get_boolean_value("beta-enabled", False, context) is True
        assert client.get_boolean_value("legacy-enabled", True, context) is False
        ratio = client.get_float_details("fact:ratio", -1.0, context)
        assert (type(ratio.value), ratio.value, ratio.error_code) == (float, 0.5, None)
        replicas = client.get_integer_details("fact:replicas", -1, context)
        assert (type(replicas.value), replicas.value, replicas.error_code) == (int, 3, None)
    finally:
        hook.close()


def test_outage_gives_the_default_with_general(client_for) -> None:
    client = client_for(FlagopsProvider("http://127.0.0.1:1", in_memory(), token=TOKEN))
    details = client.get_integer_details("max-replicas", 42, EvaluationContext(unique_identity()))
    assert (details.value, details.error_code) == (42, ErrorCode.GENERAL)
