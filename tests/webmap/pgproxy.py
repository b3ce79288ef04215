"""A fault-injecting TCP proxy for PostgreSQL's wire protocol: the app connects through it to
the real server, and a test arms it to cut the next connection that sends a chosen statement,
either before the server sees it or after the server has carried it out (its answer is then
lost on the way back). That is what a crash of the network, a proxy or a backend looks like
from the app, with a real database behind it.

Only the plain protocol is understood (``sslmode=disable``): a message is a type byte and a
length, after the startup message, which has no type byte.
"""
from __future__ import annotations

import re
import socket
import struct
import threading

from sqlalchemy import make_url


class PgProxy:
    def __init__(self, server_url: str):
        url = make_url(server_url)
        host = url.query.get("host") or url.host or "/var/run/postgresql"
        port = url.port or 5432
        self.upstream = (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}") if host.startswith("/") \
            else (socket.AF_INET, (host, port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = url.set(host="127.0.0.1", port=self.port,
                           query={"sslmode": "disable", "gssencmode": "disable"}) \
            .render_as_string(hide_password=False)
        self._armed: tuple[re.Pattern, str] | None = None
        self._lock = threading.Lock()
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, statement: str, when: str) -> None:
        """Cut the next connection sending a query that contains ``statement`` (as whole
        words): ``before``
        passing it on, or ``after`` the server has answered it (the answer is dropped)."""
        assert when in ("before", "after")
        with self._lock:
            self._armed = (re.compile(rb"\b" + re.escape(statement.encode()) + rb"\b", re.I),
                           when)

    def close(self) -> None:
        self.listener.close()

    def _take(self, query: bytes) -> str | None:
        with self._lock:
            if self._armed and self._armed[0].search(query):
                when, self._armed = self._armed[1], None
                self.cuts += 1
                return when
        return None

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(self.upstream[0], socket.SOCK_STREAM)
            server.connect(self.upstream[1])
            state = {"swallow": threading.Event()}
            threading.Thread(target=self._upstream, args=(client, server, state),
                             daemon=True).start()
            threading.Thread(target=self._downstream, args=(server, client, state),
                             daemon=True).start()

    @staticmethod
    def _read(sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def _upstream(self, client, server, state) -> None:
        """Client → server, message by message, watching the queries."""
        try:
            length = struct.unpack("!I", self._read(client, 4))[0]   # the startup message
            server.sendall(struct.pack("!I", length) + self._read(client, length - 4))
            while True:
                kind = self._read(client, 1)
                length = struct.unpack("!I", self._read(client, 4))[0]
                body = self._read(client, length - 4)
                when = self._take(body) if kind in (b"Q", b"P") else None
                if when == "before":
                    break
                if when == "after":
                    state["swallow"].set()   # the server's answer goes nowhere
                server.sendall(kind + struct.pack("!I", length) + body)
        except (ConnectionError, OSError):
            pass
        if not state["swallow"].is_set():
            _close(client, server)

    def _downstream(self, server, client, state) -> None:
        """Server → client; once armed 'after', the answer is read and dropped, then both
        connections are cut."""
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                if state["swallow"].is_set():
                    break
                client.sendall(data)
        except OSError:
            pass
        _close(client, server)


def _close(*socks: socket.socket) -> None:
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
