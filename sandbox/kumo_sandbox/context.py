"""The request being served, as the client sent it (thread-local).

The gateway middleware records the raw request URI and body before werkzeug
parses anything, so that signature verification can use the bytes that were
signed rather than werkzeug's re-quoted URL and re-encoded form.
"""
import threading

_local = threading.local()


def begin(raw_uri: str, body: bytes) -> None:
    """Record the current request (called by the gateway for each request)."""
    _local.raw_uri = raw_uri
    _local.body = body


def end() -> None:
    _local.raw_uri = None
    _local.body = None


def raw_uri():
    """The request target as sent (path and query), or None outside a request."""
    return getattr(_local, "raw_uri", None)


def raw_body():
    """The request body as sent, or None outside a request."""
    return getattr(_local, "body", None)
