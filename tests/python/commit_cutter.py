"""A TCP proxy in front of PostgreSQL that loses a run's final COMMIT on the way.

It forwards bytes both ways until a connection, having sent the run's ``SUCCEEDED`` update,
sends ``COMMIT``. Then it cuts the connection: either before the COMMIT reaches the server
(the transaction never commits) or after the server got it but before its answer reaches
the client (it commits, and the client cannot know). Those are the two cases a client sees
as the same broken connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Mapping
from types import TracebackType

_FINISH_MARKER = b"status = 'SUCCEEDED',"  # the SET list of reports/sql/finish_run.sql
_COMMIT = b"COMMIT\x00"
_BUFFER = 65536
# Time for the server to commit a forwarded COMMIT before the connection is cut.
_COMMIT_GRACE_S = 0.5


class CommitCutter:
    def __init__(
        self, upstream: Mapping[str, str], *, forward_commit: bool, refuse_after_cut: bool = False
    ) -> None:
        """``refuse_after_cut``: stop accepting connections after the cut, as if the
        network to the server stayed down."""
        self._upstream = upstream
        self._forward_commit = forward_commit
        self._refuse_after_cut = refuse_after_cut
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.cuts = 0
        self._stopped = False
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> CommitCutter:
        self._spawn(self._accept_loop)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop_listening()

    def _stop_listening(self) -> None:
        # close() alone would not wake the thread blocked in accept(), which would go on
        # accepting; shutdown() does, and new connections are refused from then on.
        self._stopped = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def client_keywords(self) -> dict[str, str]:
        """Connection keywords that reach the server through the proxy."""
        return {"host": "127.0.0.1", "port": str(self.port), "sslmode": "disable"}

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _connect_upstream(self) -> socket.socket:
        host, port = self._upstream["PGHOST"], int(self._upstream.get("PGPORT", "5432"))
        if host.startswith("/"):
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(f"{host}/.s.PGSQL.{port}")
            return server
        return socket.create_connection((host, port))

    def _accept_loop(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = self._connect_upstream()
            cut = threading.Event()
            self._spawn(self._client_to_server, client, server, cut)
            self._spawn(self._server_to_client, server, client, cut)

    def _client_to_server(
        self, client: socket.socket, server: socket.socket, cut: threading.Event
    ) -> None:
        finishing = False
        while True:
            try:
                data = client.recv(_BUFFER)
            except OSError:
                break
            if not data:
                break
            finishing = finishing or _FINISH_MARKER in data
            if finishing and _COMMIT in data:
                cut.set()  # from now on nothing goes back to the client
                self.cuts += 1
                if self._refuse_after_cut:
                    self._stop_listening()
                if self._forward_commit:
                    server.sendall(data)
                    time.sleep(_COMMIT_GRACE_S)
                break
            try:
                server.sendall(data)
            except OSError:
                break
        _close(client, server)

    @staticmethod
    def _server_to_client(
        server: socket.socket, client: socket.socket, cut: threading.Event
    ) -> None:
        while True:
            try:
                data = server.recv(_BUFFER)
            except OSError:
                break
            if not data or cut.is_set():
                break
            try:
                client.sendall(data)
            except OSError:
                break
        _close(client, server)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):  # already closed by the other side
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
