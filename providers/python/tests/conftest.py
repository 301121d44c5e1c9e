from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import pytest
from fake_store import FakeStore
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import FeatureProvider, ProviderStatus
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider
from openfeature.provider.no_op_provider import NoOpProvider


def _by_tier(flag: InMemoryFlag, context: EvaluationContext) -> FlagResolutionDetails:
    if context.attributes.get("tier") == "gold":  # a fact from the data store
        return FlagResolutionDetails(value=5, variant="gold", reason=Reason.TARGETING_MATCH)
    return FlagResolutionDetails(value=1, variant="standard", reason=Reason.DEFAULT)


def in_memory() -> InMemoryProvider:
    """The flag every test evaluates: max-replicas is 5 for fact tier == "gold", else 1."""
    return InMemoryProvider(
        {"max-replicas": InMemoryFlag("standard", {"standard": 1, "gold": 5}, context_evaluator=_by_tier)}
    )


def eventually(cond: Callable[[], bool], within: float, what: str) -> None:
    """Polls cond until it holds or the deadline passes."""
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within}s: {what}")
        time.sleep(0.01)


@pytest.fixture
def store() -> Iterator[FakeStore]:
    s = FakeStore()
    yield s
    s.close()


@pytest.fixture
def client_for(request: pytest.FixtureRequest) -> Iterator[Callable[[FeatureProvider], OpenFeatureClient]]:
    """Registers a provider under a domain of its own and returns a client bound to it."""
    registered: list[tuple[str, FeatureProvider]] = []

    def register(provider: FeatureProvider) -> OpenFeatureClient:
        domain = f"{request.node.name}-{len(registered)}"
        if hasattr(api, "set_provider_and_wait"):  # openfeature-sdk >= 0.10
            api.set_provider_and_wait(provider, domain)
        else:
            api.set_provider(provider, domain)
        registered.append((domain, provider))
        client = api.get_client(domain)
        eventually(lambda: client.get_provider_status() == ProviderStatus.READY, 2, "provider ready")
        return client

    yield register
    for domain, provider in registered:
        api.set_provider(NoOpProvider(), domain)
        provider.shutdown()  # the SDK shuts it down in the background; do it now, twice is fine


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="flagops_data_store")
    return caplog
