"""A real multi-threaded WSGI server (cheroot, the CherryPy server) for the app."""

from __future__ import annotations

import threading
from typing import Any

from cheroot import wsgi


class ServerThread:
    """Run a WSGI app on host:port in a background thread (port 0: a free port)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, threads: int = 16) -> None:
        self.server = wsgi.Server((host, port), app, numthreads=threads, request_queue_size=256)
        self.server.shutdown_timeout = 2
        self.server.prepare()  # binds: the port is known from here on
        self.host, self.port = self.server.bind_addr[:2]
        self._thread = threading.Thread(
            target=self.server.serve, name="s360-mock-server", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind(app: Any, host: str, port: int, threads: int, reuse_port: bool = False) -> wsgi.Server:
    """A bound (not yet serving) server: with port 0 the OS picks a free port.
    ``reuse_port``: several processes listen on the same port (``--workers``)."""
    server = wsgi.Server(
        (host, port), app, numthreads=threads, request_queue_size=256, reuse_port=reuse_port
    )
    server.prepare()
    return server


def serve_forever(server: wsgi.Server) -> None:
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
