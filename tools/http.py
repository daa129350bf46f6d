"""HTTP tools for JSON APIs on allowlisted hosts: ``http_get`` and ``http_post``.

Every URL, and every redirect hop, must use ``http`` or ``https`` and name a host
on the allowlist (``PODIUM_HTTP_ALLOWLIST``, a JSON list, or the ``allowlist`` of
:func:`make_http_tools`). An entry is a host name or IP address (``api.example.com``,
``127.0.0.1``), optionally with a port (``127.0.0.1:8080``: that port only), or a
wildcard for subdomains (``*.example.com``). Redirects are followed by hand, so a
redirect to a host off the list is refused before it is requested.

Each call has one deadline (``timeout_s``) covering retries and redirects; the
body is streamed and the call stops once it passes ``max_bytes``. Responses 429
and 5xx are retried with exponential backoff, honoring ``Retry-After`` up to a
cap; a longer ``Retry-After`` is reported instead of waited out. A POST is
retried only on 429 and 503 (the server says it did not process the request) or
a failed connection, so a retry cannot submit the same thing twice. Proxies and
``.netrc`` credentials from the environment are not used.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from langchain_core.tools import BaseTool

from podium.errors import ConfigError, ToolInputError
from podium.settings import get_settings
from podium.tools._common import podium_tool
from podium.tools._registry import register_tools

__all__ = ["http_get", "http_post", "make_http_tools"]

_SCHEMES = ("http", "https")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_GET = frozenset({429, 500, 502, 503, 504})
# Only statuses that mean "not processed": retrying them cannot duplicate a write.
_RETRY_POST = frozenset({429, 503})
_MAX_REDIRECTS = 5
_MAX_ERROR_BODY = 500
_USER_AGENT = "podium-http-tool/0.1"

Params = dict[str, str | int | float | bool]
_NO_BODY = object()  # "no request body", as distinct from a JSON null


@dataclass(frozen=True)
class _Config:
    allowlist: tuple[str, ...]
    timeout_s: float
    max_bytes: int
    retries: int
    backoff_s: float
    max_retry_after_s: float


def _normalize_entry(entry: str) -> str:
    text = entry.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    return text.split("/", 1)[0]


def _allowed(config: _Config, url: httpx.URL) -> bool:
    host = url.host.lower().rstrip(".")
    port = url.port
    for entry in config.allowlist:
        name, _, entry_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
        if entry_port and (port or (443 if url.scheme == "https" else 80)) != int(entry_port):
            continue
        name = name.strip("[]")
        if name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


def _has_port(entry: str) -> bool:
    if entry.startswith("["):  # [::1]:8080
        return "]:" in entry
    return entry.count(":") == 1 and entry.rsplit(":", 1)[1].isdigit()


def _allowlist_text(config: _Config) -> str:
    if not config.allowlist:
        return (
            "the allowlist is empty (set PODIUM_HTTP_ALLOWLIST to a JSON list of hosts, "
            "or pass allowlist= to make_http_tools)"
        )
    return f"allowed hosts: {', '.join(config.allowlist)}"


def _check_url(config: _Config, url: str | httpx.URL, *, redirect_from: str | None = None):
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ToolInputError(f"{url!r} is not a valid URL ({exc})") from None
    if parsed.scheme not in _SCHEMES:
        raise ToolInputError(
            f"only http and https URLs are allowed, got {parsed.scheme or 'no scheme'!r} in "
            f"{str(url)!r}; give a full URL such as 'https://api.example.com/items'"
        )
    if not parsed.host:
        raise ToolInputError(f"the URL {str(url)!r} has no host")
    if not _allowed(config, parsed):
        where = f"refused a redirect from {redirect_from} to" if redirect_from else "refused"
        raise ToolInputError(
            f"{where} host {parsed.host!r}: it is not on the http allowlist; "
            f"{_allowlist_text(config)}"
        )
    return parsed


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass
class _Reply:
    status: int
    reason: str
    headers: httpx.Headers
    body: bytes
    url: httpx.URL


def _send(
    client: httpx.Client,
    config: _Config,
    method: str,
    url: httpx.URL,
    deadline: float,
    params: Params | None,
    body: Any,
) -> _Reply:
    """Send one request and read the body up to the cap, within the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise httpx.ReadTimeout("deadline passed")
    kwargs: dict[str, Any] = {"timeout": httpx.Timeout(remaining)}
    if params:
        kwargs["params"] = params
    if body is not _NO_BODY:
        kwargs["content"] = jsonlib.dumps(body).encode("utf-8")
        kwargs["headers"] = {"content-type": "application/json"}
    with client.stream(method, url, **kwargs) as response:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > config.max_bytes:
            raise ToolInputError(
                f"the response from {url.host} is {int(declared)} bytes, over the cap of "
                f"{config.max_bytes} bytes; ask for less (a page, a limit or a filter)"
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > config.max_bytes:
                raise ToolInputError(
                    f"the response from {url.host} passed the cap of {config.max_bytes} bytes "
                    "and was not read further; ask for less (a page, a limit or a filter)"
                )
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("deadline passed while reading")
            chunks.append(chunk)
        return _Reply(response.status_code, response.reason_phrase, response.headers,
                      b"".join(chunks), url)



def _request(
    config: _Config, method: str, url: str, *, params: Params | None = None, body: Any = _NO_BODY
) -> str:
    target = _check_url(config, url)
    deadline = time.monotonic() + config.timeout_s
    retry_on = _RETRY_GET if method == "GET" else _RETRY_POST
    attempts = hops = 0
    with httpx.Client(follow_redirects=False, trust_env=False,
                      headers={"user-agent": _USER_AGENT, "accept": "application/json"}) as client:
        while True:
            attempts += 1
            try:
                reply = _send(client, config, method, target, deadline, params, body)
            except httpx.TimeoutException:
                raise ToolInputError(
                    f"{target.host} did not answer within the {config.timeout_s:g} s limit"
                ) from None
            except httpx.TransportError as exc:
                # Nothing reached the server when the connection failed, so even a POST
                # may be retried.
                if isinstance(exc, httpx.ConnectError) and attempts <= config.retries:
                    _sleep(config, attempts, None, deadline, target)
                    continue
                raise ToolInputError(f"could not reach {target.host}: {exc}") from None
            if reply.status in _REDIRECTS and "location" in reply.headers:
                hops += 1
                if hops > _MAX_REDIRECTS:
                    raise ToolInputError(f"more than {_MAX_REDIRECTS} redirects from {url!r}")
                location = target.join(reply.headers["location"])
                target = _check_url(config, location, redirect_from=target.host)
                params = None  # the Location carries its own query
                attempts = 0  # retries count per URL
                if reply.status == 303 or (reply.status in (301, 302) and method != "GET"):
                    method, body = "GET", _NO_BODY
                continue
            if reply.status in retry_on and attempts <= config.retries:
                wait = _retry_after(reply)
                if wait is not None and wait > config.max_retry_after_s:
                    raise ToolInputError(
                        f"HTTP {reply.status} from {target.host}: it asks to retry after "
                        f"{wait:g} s, longer than the {config.max_retry_after_s:g} s this tool "
                        "waits; try again later"
                    )
                _sleep(config, attempts, wait, deadline, target)
                continue
            return _format(reply, attempts, url)


def _sleep(config: _Config, attempt: int, wait: float | None, deadline: float, target) -> None:
    if wait is None:
        wait = config.backoff_s * 2 ** (attempt - 1)
        wait += random.uniform(0, wait / 10)  # jitter, so parallel callers spread out
    if time.monotonic() + wait > deadline:
        raise ToolInputError(
            f"{target.host} kept failing and the {config.timeout_s:g} s limit leaves no time "
            "for another retry"
        )
    time.sleep(wait)


def _format(reply: _Reply, attempts: int, asked: str) -> str:
    ctype = reply.headers.get("content-type", "")
    text = reply.body.decode(_charset(ctype), errors="replace")
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if reply.status >= 400:
        snippet = text[:_MAX_ERROR_BODY] + ("..." if len(text) > _MAX_ERROR_BODY else "")
        raise ToolInputError(
            f"HTTP {reply.status} {reply.reason} from {reply.url.host}{tried}: "
            f"{snippet or '(empty body)'}"
        )
    moved = "" if str(reply.url) == asked else f", redirected to {reply.url}"
    header = f"HTTP {reply.status} {reply.reason}{tried}{moved}"
    if not reply.body:
        return f"{header} (empty body)"
    if "json" in ctype or text.lstrip()[:1] in ("{", "["):
        try:
            return f"{header}\n{jsonlib.dumps(jsonlib.loads(text), ensure_ascii=False, indent=1)}"
        except ValueError:
            pass
    if not ctype.startswith("text/") and "json" not in ctype and "\x00" in text:
        return f"{header}: {len(reply.body)} bytes of binary content ({ctype or 'unknown type'})"
    return f"{header} ({ctype or 'no content type'})\n{text}"


def _charset(ctype: str) -> str:
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def _build(config: Callable[[], _Config]) -> list[BaseTool]:
    @podium_tool
    def http_get(url: str, params: Params | None = None) -> str:
        """GET a JSON API on an allowed host and return the status and the (JSON) body.

        Args:
            url: A full http(s) URL on an allowed host, e.g. "https://api.example.com/items".
            params: Query parameters to add to the URL, e.g. {"q": "paris", "limit": 5}.
        """
        return _request(config(), "GET", url, params=params)

    # pydantic warns that a field named "json" shadows BaseModel.json; the name is
    # part of the tool's contract (it is what the model sends), so keep it.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message='Field name "json"', category=UserWarning)

        @podium_tool
        def http_post(url: str, json: dict[str, Any] | list[Any]) -> str:
            """POST a JSON body to an API on an allowed host and return the status and the body.

            Args:
                url: A full http(s) URL on an allowed host, e.g. "https://api.example.com/items".
                json: The request body, a JSON object or array, e.g. {"name": "Ada"}.
            """
            return _request(config(), "POST", url, body=json)

        http_post.tool_call_schema  # noqa: B018 - built (and memoized) here, warning silenced
        http_post.get_input_schema()

    return [http_get, http_post]


def make_http_tools(
    allowlist: list[str] | tuple[str, ...] | None = None,
    *,
    timeout_s: float | None = None,
    max_bytes: int | None = None,
    retries: int | None = None,
    backoff_s: float = 0.5,
    max_retry_after_s: float = 10.0,
) -> list[BaseTool]:
    """Build ``http_get`` and ``http_post`` with their own allowlist and limits.

    Args:
        allowlist: Hosts the tools may reach (see the module docstring for the
            forms); None reads ``PODIUM_HTTP_ALLOWLIST`` on each call.
        timeout_s: Seconds a call may take, retries and redirects included; None
            reads ``PODIUM_HTTP_TIMEOUT_S``.
        max_bytes: Largest response body read; None reads ``PODIUM_HTTP_MAX_BYTES``.
        retries: Retries on 429/5xx; None reads ``PODIUM_HTTP_RETRIES``.
        backoff_s: First backoff wait; each retry doubles it.
        max_retry_after_s: Longest ``Retry-After`` the tools wait out.

    Returns:
        ``[http_get, http_post]``.

    Raises:
        ConfigError: A limit is out of range or an allowlist entry is not a host.
    """
    for name, value, low in (
        ("timeout_s", timeout_s, 0),
        ("max_bytes", max_bytes, 0),
        ("backoff_s", backoff_s, -1e-12),
        ("max_retry_after_s", max_retry_after_s, -1e-12),
    ):
        if value is not None and not value > low:
            raise ConfigError(f"{name} must be positive, got {value!r}")
    if retries is not None and retries < 0:
        raise ConfigError(f"retries must be 0 or more, got {retries!r}")
    fixed = None if allowlist is None else _check_allowlist(allowlist)

    def current() -> _Config:
        settings = get_settings()
        return _Config(
            allowlist=fixed if fixed is not None else _check_allowlist(settings.http_allowlist),
            timeout_s=timeout_s or settings.http_timeout_s,
            max_bytes=max_bytes or settings.http_max_bytes,
            retries=settings.http_retries if retries is None else retries,
            backoff_s=backoff_s,
            max_retry_after_s=max_retry_after_s,
        )

    return _build(current)


def _check_allowlist(entries: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(entries, str):
        raise ConfigError(f"allowlist must be a list of hosts, got the string {entries!r}")
    normalized = []
    for entry in entries:
        if not isinstance(entry, str) or not _normalize_entry(entry):
            raise ConfigError(
                f"allowlist entries are host names such as 'api.example.com', "
                f"'127.0.0.1:8080' or '*.example.com', got {entry!r}"
            )
        normalized.append(_normalize_entry(entry))
    return tuple(normalized)


http_get, http_post = make_http_tools()

register_tools([http_get, http_post])
