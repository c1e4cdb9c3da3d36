"""Keep-alive HTTP for the judge: one ``http.client`` connection per worker thread, proxies from the environment.

The judge sends many small JSON requests to one endpoint, ``concurrency`` at a time. A pool of that many worker
threads, each keeping its own connection alive, is all it needs; the standard library imports in milliseconds
where an async HTTP stack takes a fifth of a second, and the judge command's start-up is part of every run.
``HTTP(S)_PROXY`` / ``NO_PROXY`` are honoured as urllib does.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Response:
    """An HTTP response: status, body and headers (lower-case names)."""

    status: int
    body: bytes
    headers: Mapping[str, str]


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
        proxy = None if urllib.request.proxy_bypass(self.host) else urllib.request.getproxies().get(parts.scheme)
        self.proxy = urllib.parse.urlsplit(proxy) if proxy else None
        self._local = threading.local()

    def _connect(self) -> http.client.HTTPConnection:
        if self.proxy is not None and self.proxy.hostname:
            proxy_port = self.proxy.port or 80
            if self.https:
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    self.proxy.hostname, proxy_port, timeout=self.timeout_s)
                conn.set_tunnel(self.host, self.port)
                return conn
            return http.client.HTTPConnection(self.proxy.hostname, proxy_port, timeout=self.timeout_s)
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout_s)

    def _target(self, path: str) -> str:
        path = f"{self.prefix}{path}"
        if self.proxy is not None and not self.https:  # a plain-HTTP proxy takes the absolute URL
            return f"http://{self.host}:{self.port}{path}"
        return path

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """POST ``body`` to ``prefix + path``.

        A kept-alive connection that the server closed meanwhile is replaced once, transparently; any other
        failure closes the connection and propagates.

        Raises:
            OSError: connection refused or reset, or a timeout (``TimeoutError``).
            http.client.HTTPException: a malformed or incomplete response.
        """
        for attempt in range(2):
            conn = getattr(self._local, "conn", None)
            reused = conn is not None and conn.sock is not None
            if conn is None:
                conn = self._local.conn = self._connect()
            try:
                conn.request("POST", self._target(path), body=body, headers=dict(headers))
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    conn.close()
                return Response(resp.status, data, {k.lower(): v for k, v in resp.getheaders()})
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if reused and attempt == 0:
                    continue  # the server dropped an idle keep-alive connection: once more on a new one
                raise
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover
