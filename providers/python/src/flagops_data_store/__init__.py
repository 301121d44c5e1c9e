"""OpenFeature context enrichment from the flagops data store: a hook and a wrapping provider
that merge per-identity facts into the evaluation context."""

from ._errors import FlagopsStoreError, StoreErrorKind
from ._source import DEFAULT_TOKEN_FILE, FactsSource
from .hook import FlagopsContextHook
from .provider import FlagopsProvider

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TOKEN_FILE",
    "FactsSource",
    "FlagopsContextHook",
    "FlagopsProvider",
    "FlagopsStoreError",
    "StoreErrorKind",
    "__version__",
]
