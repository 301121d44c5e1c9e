from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping

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


TYPED_FACTS = {"beta": True, "ratio": 0.5, "tier": "gold", "replicas": 3, "legacy": "true"}
"""Facts of every JSON type a fact may have; "legacy" is the string "true", not a boolean."""


def typed(values: Mapping[str, object]) -> dict[str, tuple[type, object]]:
    """Each value with its exact type: ``==`` alone cannot tell True from 1, or 1 from 1.0."""
    return {k: (type(v), v) for k, v in values.items()}


def _enabled_by(fact: str) -> Callable[[InMemoryFlag, EvaluationContext], FlagResolutionDetails]:
    def evaluate(flag: InMemoryFlag, context: EvaluationContext) -> FlagResolutionDetails:
        # `is True` holds for the boolean True only: not for the string "true", nor for 1.
        if context.attributes.get(fact) is True:
            return FlagResolutionDetails(value=True, variant="on", reason=Reason.TARGETING_MATCH)
        return FlagResolutionDetails(value=False, variant="off", reason=Reason.DEFAULT)

    return evaluate


def _echo(fact: str) -> Callable[[InMemoryFlag, EvaluationContext], FlagResolutionDetails]:
    def evaluate(flag: InMemoryFlag, context: EvaluationContext) -> FlagResolutionDetails:
        # The fact itself is the flag's value, so the SDK checks its type against the flag's type
        # (a missing fact is None: TYPE_MISMATCH whatever the type).
        return FlagResolutionDetails(value=context.attributes.get(fact), variant=fact, reason=Reason.TARGETING_MATCH)

    return evaluate


def _ratio_band(flag: InMemoryFlag, context: EvaluationContext) -> FlagResolutionDetails:
    ratio = context.attributes.get("ratio")
    if isinstance(ratio, float) and 0 < ratio < 1:
        return FlagResolutionDetails(value=ratio * 100, variant="partial", reason=Reason.TARGETING_MATCH)
    return FlagResolutionDetails(value=0.0, variant="none", reason=Reason.DEFAULT)


def typed_flags() -> InMemoryProvider:
    """Flags whose logic needs typed facts:

    - ``beta-enabled`` / ``legacy-enabled``: True only when the fact ``beta`` / ``legacy`` is the
      boolean True;
    - ``rollout-percent``: ``ratio * 100`` when ``ratio`` is a float strictly between 0 and 1, else 0.0;
    - ``fact:<name>`` for every name in TYPED_FACTS: the fact's own value.
    """
    flags: dict[str, InMemoryFlag] = {
        "beta-enabled": InMemoryFlag("off", {"on": True, "off": False}, context_evaluator=_enabled_by("beta")),
        "legacy-enabled": InMemoryFlag("off", {"on": True, "off": False}, context_evaluator=_enabled_by("legacy")),
        "rollout-percent": InMemoryFlag("none", {"none": 0.0}, context_evaluator=_ratio_band),
    }
    for name, value in TYPED_FACTS.items():
        flags[f"fact:{name}"] = InMemoryFlag(name, {name: value}, context_evaluator=_echo(name))
    return InMemoryProvider(flags)


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
