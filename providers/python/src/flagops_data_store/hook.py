from __future__ import annotations

from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.hook import Hook, HookContext, HookHints

from ._source import FactsSource


class FlagopsContextHook(Hook):
    """An OpenFeature hook that adds the facts of the evaluated identity to the evaluation
    context, for whatever provider is in use::

        hook = FlagopsContextHook("http://flagops-data-store.flagops-system.svc:8080")
        api.add_hooks([hook])
        ...
        hook.close()  # on shutdown

    When the store cannot answer, ``before`` raises :class:`FlagopsStoreError` (a
    ``GeneralError``); the SDK then returns the caller's default value with error code
    ``GENERAL``, so nothing reaches the application. Takes the options of
    :class:`FactsSource`.
    """

    def __init__(self, base_url: str, **options: Any):
        self._source = FactsSource(base_url, **options)

    def before(self, hook_context: HookContext, hints: HookHints) -> EvaluationContext | None:
        # The SDK merges what we return over the context, so return the caller's attributes too:
        # that is how they win over facts of the same name.
        return self._source.enrich(hook_context.evaluation_context)

    def start(self) -> None:
        """Opens the watch stream now rather than on the first evaluation."""
        self._source.start()

    def close(self) -> None:
        """Stops the watch stream. Hooks have no lifecycle in OpenFeature, so call this on
        shutdown."""
        self._source.close()
