"""Runs against a real flagops-data-store when FLAGOPS_TEST_URL is set:

FLAGOPS_TEST_URL=http://127.0.0.1:8080 FLAGOPS_TEST_TOKEN=… FLAGOPS_TEST_NAMESPACE=… ./run-tests.sh
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
import requests
from conftest import eventually, in_memory
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


def test_outage_gives_the_default_with_general(client_for) -> None:
    client = client_for(FlagopsProvider("http://127.0.0.1:1", in_memory(), token=TOKEN))
    details = client.get_integer_details("max-replicas", 42, EvaluationContext(unique_identity()))
    assert (details.value, details.error_code) == (42, ErrorCode.GENERAL)
