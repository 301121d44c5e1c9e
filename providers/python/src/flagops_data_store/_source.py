from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from openfeature.evaluation_context import EvaluationContext

from ._cache import Facts, FactsCache
from ._client import StoreClient
from ._errors import FlagopsStoreError, StoreErrorKind
from ._token import TokenSource
from ._watch import Watcher

DEFAULT_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"
"""Where in-cluster pods find their (kubelet-rotated) ServiceAccount token."""

NAMESPACE_ATTRIBUTE = "namespace"

_default_logger = logging.getLogger("flagops_data_store")


class FactsSource:
    """Everything behind the hook and the provider: reads facts through a TTL cache that the watch
    stream invalidates, merges them into evaluation contexts, and reports store outages once.

    Options (keyword-only, shared by :class:`FlagopsContextHook` and :class:`FlagopsProvider`):

    - ``default_namespace``: used when the context has no ``namespace`` attribute (``"default"``);
    - ``token``: fixed bearer token; takes precedence over ``token_file``; ``""`` sends no header
      and also turns off the default token file;
    - ``token_file``: file holding the token, re-read every few seconds and after a 401. Without
      ``token`` or ``token_file`` the in-cluster ServiceAccount token is used if it exists;
    - ``cache_ttl``: seconds the facts of one identity are cached (30; 0 disables the cache);
    - ``timeout``: seconds for connecting and for each read of a facts request, and for
      opening the watch stream (2);
    - ``watch``: follow ``/api/v1/watch`` to drop cached facts as soon as they change (True);
    - ``session``: the ``requests.Session`` to use (proxies, TLS, tests);
    - ``logger``: where to log (``logging.getLogger("flagops_data_store")``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        default_namespace: str = "default",
        token: str | None = None,
        token_file: str | None = None,
        cache_ttl: float = 30.0,
        timeout: float = 2.0,
        watch: bool = True,
        session: requests.Session | None = None,
        logger: logging.Logger | None = None,
    ):
        # Validate early so a typo fails at start-up rather than on every evaluation.
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"flagops: base_url {base_url!r} must be an absolute http(s) URL")
        if cache_ttl < 0:
            raise ValueError("flagops: cache_ttl must not be negative")
        if timeout <= 0:
            raise ValueError("flagops: timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.default_namespace = default_namespace or "default"
        self.log = logger or _default_logger
        tokens = TokenSource(
            token,
            token_file if token_file is not None else DEFAULT_TOKEN_FILE,
            optional=token_file is None,
            on_error=lambda message: self.log.warning("flagops: %s; sending no bearer token", message),
        )
        self._owns_session = session is None
        self.client = StoreClient(self.base_url, timeout, session or requests.Session(), tokens, self.default_namespace)
        self.cache = FactsCache(cache_ttl)
        self.watcher = (
            Watcher(
                self.client,
                self.log,
                on_change=lambda ns, name: self.cache.invalidate(_key(ns, name)),
                on_reset=lambda _reason: self.cache.clear(),
            )
            if watch
            else None
        )
        self._lock = threading.Lock()
        self._failing: StoreErrorKind | None = None  # outage currently reported, logged once

    @property
    def watching(self) -> bool:
        """True while the watch stream is established."""
        return self.watcher is not None and self.watcher.connected

    def start(self) -> None:
        """Starts the watch stream if enabled. Idempotent; a lookup also starts it."""
        if self.watcher is not None:
            self.watcher.start()

    def close(self) -> None:
        """Stops the watch stream and forgets cached facts. Lookups still work afterwards, kept
        fresh by the TTL alone."""
        if self.watcher is not None:
            self.watcher.stop()
        self.cache.clear()
        if self._owns_session:
            self.client.session.close()

    def get_facts(self, namespace: str, identity: str) -> Facts:
        """Facts of ``namespace/identity``, cached. Raises :class:`FlagopsStoreError` when the
        store cannot answer; the first failure of a kind is logged, the rest stay quiet until a
        lookup succeeds."""
        self.start()
        try:
            facts = self.cache.get(_key(namespace, identity), lambda: self.client.get_facts(namespace, identity))
        except Exception as err:
            # Anything unexpected still surfaces as a store error, never as something else.
            error = err if isinstance(err, FlagopsStoreError) else self.client.error("unreachable", str(err))
            with self._lock:
                if self._failing != error.kind:
                    self._failing = error.kind
                    self.log.error("flagops: %s (logged once until it recovers)", error)
            if error is err:
                raise
            raise error from err
        with self._lock:
            if self._failing is not None:
                self._failing = None
                self.log.info("flagops: data store at %s reachable again", self.base_url)
        return facts

    def target(self, context: EvaluationContext | None) -> tuple[str, str] | None:
        """(namespace, identity) of an evaluation, or None without a targeting key."""
        if context is None or not context.targeting_key:
            return None
        ns = context.attributes.get(NAMESPACE_ATTRIBUTE)
        return (ns if isinstance(ns, str) and ns else self.default_namespace, context.targeting_key)

    def enrich(self, context: EvaluationContext | None) -> EvaluationContext | None:
        """``context`` with the facts of its identity merged in as top-level attributes;
        attributes already in ``context`` win over facts of the same name."""
        target = self.target(context)
        if target is None:
            return context
        return _merge(context, self.get_facts(*target))  # type: ignore[arg-type]

    def enrich_from_cache(self, context: EvaluationContext | None) -> EvaluationContext | None:
        """Like :meth:`enrich`, from the cache only; None when a lookup would be needed."""
        target = self.target(context)
        if target is None:
            return context
        facts = self.cache.peek(_key(*target))
        return None if facts is None else _merge(context, facts)  # type: ignore[arg-type]


def _merge(context: EvaluationContext, facts: Mapping[str, Any]) -> EvaluationContext:
    return EvaluationContext(context.targeting_key, {**facts, **context.attributes})


def _key(namespace: str, identity: str) -> str:
    # "/" cannot appear in Kubernetes namespace names, so the key is unambiguous.
    return f"{namespace}/{identity}"
