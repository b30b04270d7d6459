"""A real HTTP server around the app for browser and end-to-end tests (werkzeug, threaded)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from flask import Flask
from werkzeug.serving import make_server


def _closing(app: Any) -> Any:
    """Hand werkzeug's server the whole body with the app's iterator already closed.

    When a browser drops a connection while the server writes (it navigates on before an image
    has arrived), werkzeug's dev server skips the iterator's ``close()``, and a static file's
    handle is left open: a ResourceWarning, which the suite treats as an error, at some
    later test. A test server's answers are small, so reading them first costs nothing."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


@contextmanager
def serving(app: Flask, port: int = 0) -> Iterator[str]:
    """Serve the app on 127.0.0.1 (any free port by default) and yield its base URL."""
    server = make_server("127.0.0.1", port, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHTTPServer(ThreadingHTTPServer):
    """A test's own web server (a page to pre-fill, an image): a client that stops reading
    (a size cap, a timeout) leaves the handler writing to a closed socket, which is what such
    a test causes, so no traceback in the output."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
