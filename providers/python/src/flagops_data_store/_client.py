from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from ._cache import Facts
from ._errors import FlagopsStoreError, StoreErrorKind
from ._token import TokenSource


class StoreClient:
    """Thin client for the data store's REST API; maps every failure to a
    :class:`FlagopsStoreError`."""

    def __init__(
        self, base_url: str, timeout: float, session: requests.Session, tokens: TokenSource, watch_namespace: str = ""
    ):
        self.base_url = base_url
        # Scopes the change feed: a namespace-scoped token may not watch every namespace.
        self.watch_namespace = watch_namespace
        self.timeout = timeout
        self.session = session
        self.tokens = tokens

    def facts_url(self, namespace: str, identity: str) -> str:
        return (
            f"{self.base_url}/api/v1/namespaces/{quote(namespace, safe='')}/identities/{quote(identity, safe='')}/facts"
        )

    def watch_url(self) -> str:
        if not self.watch_namespace:
            return f"{self.base_url}/api/v1/watch"
        return f"{self.base_url}/api/v1/watch?namespace={quote(self.watch_namespace, safe='')}"

    def get_facts(self, namespace: str, identity: str) -> Facts:
        """The facts of ``namespace/identity``; an identity without facts yields ``{}``. Values keep
        the types JSON parsing gives them (see ``FactValue`` in ``_cache``): nothing is converted."""
        res = self.send(self.facts_url(namespace, identity), {"Accept": "application/json"}, timeout=self.timeout)
        try:
            body = _json(res.content)
        except requests.RequestException as err:
            raise self.error("unreachable", f"reading response: {err}") from err
        finally:
            res.close()
        if res.status_code == 200:
            if isinstance(body, dict):
                return body
            raise self.error("invalid-response", "expected a JSON object of facts")
        # The store answers 404 + {"error":…} for an identity without facts. A 404 without that
        # body comes from something else (a wrong base URL, a proxy) and must not read as "no facts".
        if res.status_code == 404 and isinstance(body, dict) and "error" in body:
            return {}
        raise self.status_error(res.status_code, body)

    def send(self, url: str, headers: Mapping[str, str], **kwargs: Any) -> requests.Response:
        """GET with the bearer token. A 401 with a file-based token re-reads the file once and
        retries, since kubelet may have rotated the token since we last looked."""
        first = self.tokens.get()
        res = self._get(url, headers, first, **kwargs)
        if res.status_code != 401 or not self.tokens.rotates:
            return res
        self.tokens.invalidate()
        second = self.tokens.get()
        if second == first:
            return res
        res.close()
        return self._get(url, headers, second, **kwargs)

    def _get(self, url: str, headers: Mapping[str, str], token: str | None, **kwargs: Any) -> requests.Response:
        headers = dict(headers)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            return self.session.get(url, headers=headers, **kwargs)
        except requests.Timeout as err:
            raise self.error("unreachable", "request timed out") from err
        except requests.RequestException as err:
            raise self.error("unreachable", _describe(err)) from err

    def status_error(self, status: int, body: Any) -> FlagopsStoreError:
        """Maps a non-success HTTP status to the error evaluations report."""
        detail = f"HTTP {status}"
        message = _server_message(body)
        if message:
            detail += f": {message}"
        if status in (401, 403):
            return self.error("unauthorized", f"request rejected with {detail}")
        if status >= 500 or status == 429:
            return self.error("unreachable", detail)
        return self.error("invalid-response", f"unexpected {detail}")

    def error(self, kind: StoreErrorKind, detail: str) -> FlagopsStoreError:
        return FlagopsStoreError(kind, self.base_url, detail)


def _json(content: bytes) -> Any:
    """The body as JSON, or None when it is not JSON (an HTML error page, an empty 502…)."""
    try:
        return json.loads(content)
    except ValueError:
        return None


def _server_message(body: Any) -> str | None:
    """``error.message`` of the store's ``{"error":{"code","message"}}`` body, when present."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        return message if isinstance(message, str) else None
    return None


def _describe(err: BaseException) -> str:
    """The innermost cause of a requests error, e.g. "[Errno 111] Connection refused"."""
    while (err.__cause__ or err.__context__) is not None:
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return str(err)
