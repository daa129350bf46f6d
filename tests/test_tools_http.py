"""The http tools against a real HTTP server on 127.0.0.1 (stdlib, in a thread)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from langchain_core.messages import ToolMessage

from podium.errors import ConfigError
from podium.settings import get_settings
from podium.tools import get_tool
from podium.tools.http import make_http_tools


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send_json(self, status: int, payload, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        hits = self.server.hit(path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path == "/json":
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self._send_json(200, {"method": method, "query": query})
        elif path == "/echo":
            self._send_json(
                201, {"received": json.loads(body), "type": self.headers.get("Content-Type")}
            )
        elif path == "/redirect-in":
            self._redirect(302, "/json?from=redirect")
        elif path == "/redirect-post-307":
            self._redirect(307, "/echo")
        elif path == "/redirect-out":
            self._redirect(302, "http://localhost.invalid/steal")
        elif path == "/redirect-other-ip":
            self._redirect(301, f"http://127.0.0.2:{self.server.server_port}/json")
        elif path == "/redirect-file":
            self._redirect(302, "file:///etc/passwd")
        elif path == "/flaky":
            if hits <= 2:
                self._send_json(503, {"error": "try again"})
            else:
                self._send_json(200, {"ok": True, "hits": hits})
        elif path == "/always-503":
            self._send_json(503, {"error": "down"})
        elif path == "/post-500":
            self._send_json(500, {"error": "maybe written"})
        elif path == "/rate-limited":
            if hits == 1:
                self._send_json(429, {"error": "slow down"}, {"Retry-After": "1"})
            else:
                self._send_json(200, {"ok": True})
        elif path == "/rate-limited-long":
            self._send_json(429, {"error": "slow down"}, {"Retry-After": "3600"})
        elif path == "/big-declared":
            self._send_json(200, {"data": "x" * 50_000})
        elif path == "/big-stream":
            # No Content-Length: the client only finds out by reading.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(1600):  # 100 MiB, if anyone read it all
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
                self.server.finished[path] += 1
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/slow":
            time.sleep(3)
            self._send_json(200, {"late": True})
        elif path == "/text":
            data = b"plain words"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._send_json(404, {"error": f"no route {path}"})

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self._route("GET")

    def do_POST(self):  # noqa: N802 - the stdlib's name
        self._route("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()
        self._lock = threading.Lock()

    def hit(self, path: str) -> int:
        with self._lock:
            self.hits[path] += 1
            return self.hits[path]


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


@pytest.fixture
def base(server):
    return f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def tools():
    get, post = make_http_tools(
        ["127.0.0.1"], timeout_s=5, max_bytes=20_000, retries=3, backoff_s=0.01
    )
    return get, post


def _body(text: str):
    return json.loads(text.split("\n", 1)[1])


def test_get_json_with_params(tools, base, server):
    get, _ = tools
    text = get.invoke({"url": f"{base}/json", "params": {"q": "paris", "limit": 5}})
    assert text.startswith("HTTP 200 OK\n")
    assert _body(text) == {"method": "GET", "query": {"q": "paris", "limit": "5"}}
    assert server.hits["/json"] == 1


def test_post_json(tools, base):
    _, post = tools
    text = post.invoke({"url": f"{base}/echo", "json": {"name": "Ada", "tags": [1, 2]}})
    assert text.startswith("HTTP 201 Created\n")
    assert _body(text) == {"received": {"name": "Ada", "tags": [1, 2]}, "type": "application/json"}


def test_text_response_is_returned_as_text(tools, base):
    get, _ = tools
    assert get.invoke({"url": f"{base}/text"}).endswith("(text/plain; charset=utf-8)\nplain words")


def test_host_off_the_allowlist_is_refused_by_name(tools, server):
    get, post = tools
    for tool, args in ((get, {}), (post, {"json": {"a": 1}})):
        text = tool.invoke({"url": "https://api.example.com/items", **args})
        assert text.startswith("Error: refused host 'api.example.com'")
        assert "allowed hosts: 127.0.0.1" in text
    # localhost is the same machine but another name: the allowlist is by name.
    text = get.invoke({"url": f"http://localhost:{server.server_port}/json"})
    assert "refused host 'localhost'" in text
    assert server.hits["/json"] == 0


def test_empty_allowlist_says_how_to_set_it(monkeypatch, base):
    monkeypatch.delenv("PODIUM_HTTP_ALLOWLIST", raising=False)
    get_settings.cache_clear()
    text = get_tool("http_get").invoke({"url": f"{base}/json"})
    assert "the allowlist is empty" in text and "PODIUM_HTTP_ALLOWLIST" in text


def test_settings_allowlist_is_read_on_each_call(monkeypatch, base):
    monkeypatch.setenv("PODIUM_HTTP_ALLOWLIST", '["127.0.0.1"]')
    get_settings.cache_clear()
    assert get_tool("http_get").invoke({"url": f"{base}/json"}).startswith("HTTP 200 OK")


def test_only_http_and_https(tools):
    get, _ = tools
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"):
        text = get.invoke({"url": url})
        assert text.startswith("Error: only http and https URLs are allowed")


def test_redirect_on_the_allowlist_is_followed(tools, base, server):
    get, _ = tools
    text = get.invoke({"url": f"{base}/redirect-in"})
    assert text.startswith(f"HTTP 200 OK, redirected to {base}/json?from=redirect\n")
    assert _body(text)["query"] == {"from": "redirect"}
    assert server.hits["/redirect-in"] == 1 and server.hits["/json"] == 1


def test_307_keeps_the_post_body(tools, base, server):
    _, post = tools
    text = post.invoke({"url": f"{base}/redirect-post-307", "json": {"n": 1}})
    assert _body(text)["received"] == {"n": 1}
    assert server.hits["/echo"] == 1


@pytest.mark.parametrize(
    ("path", "host"), [("/redirect-out", "localhost.invalid"), ("/redirect-other-ip", "127.0.0.2")]
)
def test_redirect_off_the_allowlist_is_refused(tools, base, server, path, host):
    get, _ = tools
    text = get.invoke({"url": f"{base}{path}"})
    assert text.startswith(f"Error: refused a redirect from 127.0.0.1 to host {host!r}")
    assert server.hits["/json"] == 0 and server.hits["/steal"] == 0


def test_redirect_to_another_scheme_is_refused(tools, base):
    get, _ = tools
    assert "only http and https" in get.invoke({"url": f"{base}/redirect-file"})


def test_retry_on_503_then_success(tools, base, server):
    get, _ = tools
    text = get.invoke({"url": f"{base}/flaky"})
    assert text.startswith("HTTP 200 OK after 3 attempts")
    assert _body(text) == {"ok": True, "hits": 3}
    assert server.hits["/flaky"] == 3


def test_retries_run_out(tools, base, server):
    get, _ = tools
    text = get.invoke({"url": f"{base}/always-503"})
    assert text.startswith("Error: HTTP 503 Service Unavailable from 127.0.0.1 after 4 attempts")
    assert server.hits["/always-503"] == 4


def test_post_is_not_retried_on_500(tools, base, server):
    _, post = tools
    text = post.invoke({"url": f"{base}/post-500", "json": {"order": 1}})
    assert text.startswith("Error: HTTP 500 Internal Server Error")
    assert server.hits["/post-500"] == 1  # a retry could have written the order twice


def test_429_waits_for_retry_after(tools, base, server):
    get, _ = tools
    started = time.monotonic()
    text = get.invoke({"url": f"{base}/rate-limited"})
    assert text.startswith("HTTP 200 OK after 2 attempts")
    assert time.monotonic() - started >= 0.95  # Retry-After: 1, not the 0.01 s backoff
    assert server.hits["/rate-limited"] == 2


def test_429_with_a_long_retry_after_is_reported_not_waited(tools, base, server):
    get, _ = tools
    started = time.monotonic()
    text = get.invoke({"url": f"{base}/rate-limited-long"})
    assert "asks to retry after 3600 s" in text and text.startswith("Error:")
    assert time.monotonic() - started < 1
    assert server.hits["/rate-limited-long"] == 1


def test_size_cap_on_a_declared_length(tools, base):
    get, _ = tools
    text = get.invoke({"url": f"{base}/big-declared"})
    assert text.startswith("Error: the response from 127.0.0.1 is ")
    assert "over the cap of 20000 bytes" in text


def test_size_cap_on_a_stream_stops_reading(tools, base, server):
    get, _ = tools
    started = time.monotonic()
    text = get.invoke({"url": f"{base}/big-stream"})
    assert "passed the cap of 20000 bytes and was not read further" in text
    assert time.monotonic() - started < 2
    time.sleep(0.2)
    assert server.finished["/big-stream"] == 0  # the server never got to send it all


def test_timeout(base):
    get, _ = make_http_tools(["127.0.0.1"], timeout_s=0.5, retries=0)
    started = time.monotonic()
    text = get.invoke({"url": f"{base}/slow"})
    assert text == "Error: 127.0.0.1 did not answer within the 0.5 s limit"
    assert time.monotonic() - started < 1.5


def test_404_is_a_message_with_the_body(tools, base):
    get, _ = tools
    message = get.invoke(
        {"type": "tool_call", "id": "h1", "name": "http_get", "args": {"url": f"{base}/nope"}}
    )
    assert isinstance(message, ToolMessage) and message.status == "error"
    assert message.content.startswith("Error: HTTP 404 Not Found from 127.0.0.1:")
    assert "no route /nope" in message.content


def test_unreachable_port_is_a_message(tools):
    get, _ = make_http_tools(["127.0.0.1"], timeout_s=2, retries=1, backoff_s=0.01)
    text = get.invoke({"url": "http://127.0.0.1:9/x"})
    assert text.startswith("Error: could not reach 127.0.0.1")


def test_allowlist_forms(server):
    port = server.server_port
    get, _ = make_http_tools([f"127.0.0.1:{port}"], retries=0)
    assert get.invoke({"url": f"http://127.0.0.1:{port}/json"}).startswith("HTTP 200")
    assert "refused host" in get.invoke({"url": "http://127.0.0.1:9/json"})
    get, _ = make_http_tools(["*.example.com"], retries=0)
    assert "refused host 'example.org'" in get.invoke({"url": "https://example.org/"})


def test_bad_arguments_name_the_field(tools):
    get, post = tools
    assert "'url'" in get.invoke({})
    assert "'json" in post.invoke({"url": "http://127.0.0.1/", "json": "not json"})


def test_bad_factory_arguments():
    with pytest.raises(ConfigError, match="timeout_s must be positive"):
        make_http_tools(["a.example"], timeout_s=0)
    with pytest.raises(ConfigError, match="list of hosts"):
        make_http_tools("a.example")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="retries must be 0 or more"):
        make_http_tools(["a.example"], retries=-1)
