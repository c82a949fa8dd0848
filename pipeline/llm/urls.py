"""URLs as they may be shown: without the credentials a URL can carry in its userinfo.

A base URL may hold a credential in its authority (RFC 3986 §3.2.1 ``userinfo``:
``http://user:key@host/v1``). The request needs it; nothing that is logged, printed or written
(the model identity in the cache key and provenance, error messages, ``repr``, log records of
the HTTP client) may show it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from urllib.parse import urlsplit, urlunsplit

# scheme "://" userinfo "@": the userinfo has no "/", "?", "#", "@" or blank (RFC 3986 §3.2).
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]*@")


def checked_http_url(value: str) -> str:
    """``value`` stripped when it is an http(s) URL with a host; ValueError otherwise (for a
    pydantic validator). Anything else fails every request, which would be retried as if the
    server were down. The message does not repeat the value: it may carry a credential."""
    try:
        parts = urlsplit(value.strip())
        good = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # "http://[::1": an invalid IPv6 host
        good = False
    if not good:
        raise ValueError("must be an http:// or https:// URL with a host, such as http://127.0.0.1:8000/v1")
    return value.strip()


def is_loopback_url(base_url: str) -> bool:
    """True when ``base_url``'s host is ``localhost`` or a loopback IP (127.0.0.0/8, ::1)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact_url(url: str) -> str:
    """``url`` without its userinfo: ``"http://user:key@host:8000/v1"`` -> ``"http://host:8000/v1"``.

    A URL without userinfo (or text that is no URL) is returned unchanged.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redact_urls(text: str) -> str:
    """``text`` with the userinfo of every ``scheme://user:key@`` URL in it removed (for messages
    that quote a URL among other words, e.g. an HTTP library's exception text)."""
    return _USERINFO.sub(r"\g<scheme>", text)


class RedactUrlsFilter(logging.Filter):
    """A logging filter that removes userinfo from URLs in a record's message (:func:`redact_urls`).

    Attached to the loggers of the HTTP libraries under the ``openai`` SDK, which log the full
    request URL (``HTTP Request: POST http://user:key@host/v1/chat/completions``) at INFO.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_urls(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


#: Loggers that write request URLs: httpx (the ``openai`` SDK's HTTP client, published as
#: ``httpx2`` by newer SDKs) and the SDK's own request log.
HTTP_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai._base_client")
_FILTER = RedactUrlsFilter()


def redact_http_logs(names: tuple[str, ...] = HTTP_LOGGERS) -> None:
    """Attach :class:`RedactUrlsFilter` to the loggers ``names`` (once each; safe to call again).

    A filter on a logger applies to the records logged through that very logger, so the exact
    names the libraries use are listed, not a parent.
    """
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
