from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEvent, ProviderEventDetails
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.hook import Hook
from openfeature.provider import AbstractProvider, FeatureProvider, Metadata
from openfeature.track import TrackingEventDetails

from ._errors import FlagopsStoreError
from ._source import FactsSource

T = TypeVar("T")
Obj = Sequence[FlagValueType] | Mapping[str, FlagValueType]


class FlagopsProvider(AbstractProvider):
    """Wraps any OpenFeature provider and adds the facts of the evaluated identity to the context
    of every evaluation (the Go prototype's ``NewProvider(baseURL, wrapped)``)::

        api.set_provider(FlagopsProvider("http://flagops-data-store.flagops-system.svc:8080", FlagdProvider()))

    When the store cannot answer, an evaluation returns the caller's default value with error
    code ``GENERAL`` instead of calling the wrapped provider. Takes the options of
    :class:`FactsSource`.
    """

    def __init__(self, base_url: str, provider: FeatureProvider, **options: Any):
        super().__init__()
        if provider is None:
            raise ValueError("flagops: the wrapped provider is required")
        self._wrapped = provider
        self._source = FactsSource(base_url, **options)

    def get_metadata(self) -> Metadata:
        return Metadata(name=f"flagops({self._wrapped.get_metadata().name})")

    def get_provider_hooks(self) -> list[Hook]:
        """The wrapped provider's hooks run as if it were registered directly."""
        return self._wrapped.get_provider_hooks()

    def attach(self, on_emit: Callable[[FeatureProvider, ProviderEvent, ProviderEventDetails], None]) -> None:
        # Re-emit the wrapped provider's events (READY, STALE, CONFIGURATION_CHANGED…) as ours.
        super().attach(on_emit)
        self._wrapped.attach(lambda _provider, event, details: on_emit(self, event, details))

    def detach(self) -> None:
        self._wrapped.detach()
        super().detach()

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        # The watch stream runs in the background: a store that is down must not fail
        # initialization, since evaluations degrade to default values on their own.
        self._source.start()
        self._wrapped.initialize(evaluation_context)

    def shutdown(self) -> None:
        """Stops the watch stream and shuts the wrapped provider down."""
        self._source.close()
        self._wrapped.shutdown()

    def track(
        self,
        tracking_event_name: str,
        evaluation_context: EvaluationContext | None = None,
        tracking_event_details: TrackingEventDetails | None = None,
    ) -> None:
        # Tracking has no result to report a failed lookup in, so it gets whatever is cached.
        context = self._source.enrich_from_cache(evaluation_context) or evaluation_context
        self._wrapped.track(tracking_event_name, context, tracking_event_details)

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(
            default_value,
            evaluation_context,
            lambda c: self._wrapped.resolve_boolean_details(flag_key, default_value, c),
        )

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._resolve(
            default_value,
            evaluation_context,
            lambda c: self._wrapped.resolve_string_details(flag_key, default_value, c),
        )

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._resolve(
            default_value,
            evaluation_context,
            lambda c: self._wrapped.resolve_integer_details(flag_key, default_value, c),
        )

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return self._resolve(
            default_value, evaluation_context, lambda c: self._wrapped.resolve_float_details(flag_key, default_value, c)
        )

    def resolve_object_details(
        self, flag_key: str, default_value: Obj, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[Obj]:
        return self._resolve(
            default_value,
            evaluation_context,
            lambda c: self._wrapped.resolve_object_details(flag_key, default_value, c),
        )

    async def resolve_boolean_details_async(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return await self._resolve_async(
            default_value,
            evaluation_context,
            lambda c: self._wrapped.resolve_boolean_details_async(flag_key, default_value, c),
        )

    async def resolve_string_details_async(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return await self._resolve_async(
            default_value,
            evaluation_context,
            lambda c: self._wrapped.resolve_string_details_async(flag_key, default_value, c),
        )

    async def resolve_integer_details_async(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return await self._resolve_async(
            default_value,
            evaluation_context,
            lambda c: self._wrapped.resolve_integer_details_async(flag_key, default_value, c),
        )

    async def resolve_float_details_async(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return await self._resolve_async(
            default_value,
            evaluation_context,
            lambda c: self._wrapped.resolve_float_details_async(flag_key, default_value, c),
        )

    async def resolve_object_details_async(
        self, flag_key: str, default_value: Obj, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[Obj]:
        return await self._resolve_async(
            default_value,
            evaluation_context,
            lambda c: self._wrapped.resolve_object_details_async(flag_key, default_value, c),
        )

    def _resolve(
        self,
        default_value: T,
        context: EvaluationContext | None,
        delegate: Callable[[EvaluationContext | None], FlagResolutionDetails[T]],
    ) -> FlagResolutionDetails[T]:
        try:
            enriched = self._source.enrich(context)
        except FlagopsStoreError as err:
            return _failed(default_value, err)
        return delegate(enriched)

    async def _resolve_async(
        self,
        default_value: T,
        context: EvaluationContext | None,
        delegate: Callable[[EvaluationContext | None], Any],
    ) -> FlagResolutionDetails[T]:
        if self._source.target(context) is None:
            return await delegate(context)
        enriched = self._source.enrich_from_cache(context)
        if enriched is None:
            # A lookup blocks on HTTP: keep it off the event loop.
            try:
                enriched = await asyncio.to_thread(self._source.enrich, context)
            except FlagopsStoreError as err:
                return _failed(default_value, err)
        return await delegate(enriched)


def _failed(default_value: T, err: FlagopsStoreError) -> FlagResolutionDetails[T]:
    # Already logged (once) by the source; the caller gets its default and the reason.
    return FlagResolutionDetails(
        value=default_value,
        reason=Reason.ERROR,
        error_code=ErrorCode.GENERAL,
        error_message=str(err),
    )
