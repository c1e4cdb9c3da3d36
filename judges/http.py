"""Keep-alive HTTP for the judge: one ``http.client`` connection per worker thread, proxies from the environment.

The judge sends many small JSON requests to one endpoint, ``concurrency`` at a time. A pool of that many worker
threads, each keeping its own connection alive, is all it needs; the standard library imports in milliseconds
where an async HTTP stack takes a fifth of a second, and the judge command's start-up is part of every run.

As the OpenAI SDK does: ``HTTP(S)_PROXY`` / ``NO_PROXY`` are honoured (credentials in the proxy URL included),
HTTPS is verified against certifi's CA bundle when it is installed (else the system's), and redirects are never
followed (the API key would go wherever a redirect points): a 3xx is an error naming its target. The same rules
apply to the few urllib requests (:func:`open_url`: endpoint check, Batch API).
"""

from __future__ import annotations

import base64
import functools
import http.client
import os
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Response:
    """An HTTP response: status, body and headers (lower-case names)."""

    status: int
    body: bytes
    headers: Mapping[str, str]


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """Certificate verification: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, else certifi, else the system store.

    The variables name a company's proxy CA, for instance; certifi's bundle is what the OpenAI SDK uses.
    """
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile or None, capath=capath or None)
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except (ImportError, OSError):
        return ssl.create_default_context()


def _proxy_for(scheme: str, host: str) -> urllib.parse.SplitResult | None:
    """The proxy for ``scheme://host`` from the environment, as urllib reads it (``host:port`` means http)."""
    if urllib.request.proxy_bypass(host):
        return None
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy:
        return None
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parts if parts.hostname else None


def _proxy_auth(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    user = urllib.parse.unquote(proxy.username)
    password = urllib.parse.unquote(proxy.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Proxy-Authorization": f"Basic {token}"}


class Transport:
    """POSTs to one endpoint over per-thread keep-alive connections (safe to call from many threads)."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        """A transport for ``base_url`` (``http`` or ``https``); ``timeout_s`` bounds each connect and read."""
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self.proxy = _proxy_for(parts.scheme, self.host)
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()
        self._lock = threading.Lock()
        self._closed = False

    def _connect(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self.proxy is not None and self.proxy.hostname:
            proxy_port = self.proxy.port or 80
            if self.https:
                conn = http.client.HTTPSConnection(self.proxy.hostname, proxy_port, timeout=self.timeout_s,
                                                   context=ssl_context())
                conn.set_tunnel(self.host, self.port, headers=_proxy_auth(self.proxy))
            else:
                conn = http.client.HTTPConnection(self.proxy.hostname, proxy_port, timeout=self.timeout_s)
        elif self.https:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout_s, context=ssl_context())
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        with self._lock:
            if self._closed:
                raise ConnectionAbortedError("the transport is closed")
            self._open.add(conn)
        return conn

    def _target(self, path: str) -> tuple[str, dict[str, str]]:
        path = f"{self.prefix}{path}"
        if self.proxy is not None and not self.https:  # a plain-HTTP proxy takes the absolute URL
            return f"http://{self.host}:{self.port}{path}", _proxy_auth(self.proxy)
        return path, {}

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """POST ``body`` to ``prefix + path`` (redirects are returned, not followed).

        A kept-alive connection that the server closed meanwhile is replaced once, transparently; any other
        failure closes the connection and propagates.

        Raises:
            OSError: connection refused or reset, or a timeout (``TimeoutError``).
            http.client.HTTPException: a malformed or incomplete response.
        """
        target, extra = self._target(path)
        for attempt in range(2):
            conn = getattr(self._local, "conn", None)
            reused = conn is not None and conn.sock is not None
            if conn is None:
                conn = self._local.conn = self._connect()
            try:
                conn.request("POST", target, body=body, headers={**headers, **extra})
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    conn.close()
                return Response(resp.status, data, {k.lower(): v for k, v in resp.getheaders()})
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if reused and attempt == 0 and not self._closed:
                    continue  # the server dropped an idle keep-alive connection: once more on a new one
                raise
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close every connection, unblocking threads still waiting on one (e.g. after Ctrl-C)."""
        with self._lock:
            self._closed = True
            conns, self._open = list(self._open), set()
        for conn in conns:
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            conn.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status and its Location header


@functools.lru_cache(maxsize=1)
def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirect(), urllib.request.HTTPSHandler(context=ssl_context()))


def open_url(request: urllib.request.Request, timeout: float) -> bytes:
    """Open a URL with the same rules as :class:`Transport`: certifi, proxies from the environment, no redirects.

    Raises:
        urllib.error.HTTPError: any status >= 300 (a 3xx carries its ``Location`` header).
        OSError, http.client.HTTPException: transport failures.
    """
    with _opener().open(request, timeout=timeout) as resp:
        data: bytes = resp.read()
        return data
