"""A web server on 127.0.0.1 for download tests, and a private ``groundup.data`` sandbox.

No test touches the real network: downloads go to this server (port 0: a free port),
which serves whatever a test puts in ``server.routes``.
"""
import collections
import http.server
import threading
import types

import pytest


@pytest.fixture
def data_sandbox(monkeypatch, tmp_path):
    """A private copy of the dataset registry, the cache in tmp_path, no proxy before 127.0.0.1."""
    from groundup.data import download

    monkeypatch.setattr(download, "_REGISTRY", dict(download._REGISTRY))
    monkeypatch.setenv("GROUNDUP_CACHE", str(tmp_path / "default-cache"))
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return tmp_path / "default-cache"


@pytest.fixture
def server(data_sandbox):
    """An HTTP server on 127.0.0.1 that serves `routes` and counts requests per path.

    routes[path] = (status, body, content_length); content_length larger than the
    body makes the server promise more bytes than it sends, then hang up.
    """
    routes, hits = {}, collections.Counter()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits[self.path] += 1
            status, body, length = routes.get(self.path, (404, b"not found", None))
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield types.SimpleNamespace(base=base, routes=routes, hits=hits)
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def serve(server, path, body, status=200, length=None):
    """Serve ``body`` at ``path``; returns its full URL."""
    server.routes[path] = (status, body, length)
    return server.base + path
