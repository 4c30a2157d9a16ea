"""A small keep-alive HTTP client and the two measurements every scenario gets.

http.client over one connection per client (reopened when the server closes it, as gunicorn's
sync workers do after each response); cookies kept by hand. Only 127.0.0.1 is ever dialled.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

HOST = "127.0.0.1"
CSRF_PATTERNS = (
    re.compile(r'name="csrf_token"[^>]*value="([^"]+)"'),
    re.compile(r'value="([^"]+)"[^>]*name="csrf_token"'),
    re.compile(r'"X-CSRFToken"\s*:\s*"([^"]+)"'),
    re.compile(r'<meta name="csrf-token" content="([^"]+)"'),
)


class BenchError(Exception):
    """A response the scenario did not expect (counted as an error, never as a latency)."""


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def find_csrf(html: str) -> str | None:
    for pattern in CSRF_PATTERNS:
        found = pattern.search(html)
        if found:
            return found.group(1)
    return None


class Client:
    def __init__(self, port: int, cookies: dict | None = None, headers: dict | None = None, timeout: float = 30):
        self.port = port
        self.cookies = dict(cookies or {})
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.csrf: str | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.queries = 0  # sum of X-Bench-Queries headers seen (the counting server only)
        self.responses = 0
        self.cache_hits = 0  # sums of X-Bench-Cache-Hits / -Misses (the counting server only)
        self.cache_misses = 0
        self.marks: dict[str, int] = {}  # X-Cache values seen (hit, miss, bypass)

    def clone(self) -> Client:
        other = Client(self.port, self.cookies, self.headers, self.timeout)
        other.csrf = self.csrf
        return other

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, body=None, headers: dict | None = None, form: dict | None = None,
                json_body=None) -> Response:
        hdrs = {**self.headers, **(headers or {})}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if json_body is not None:
            import json

            body = json.dumps(json_body)
            hdrs["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                self.close()
                if attempt:
                    raise
                continue
            except OSError:  # includes timeouts
                self.close()
                raise
            if resp.will_close:
                self.close()
            self.responses += 1
            self.queries += int(resp.headers.get("X-Bench-Queries") or 0)
            self.cache_hits += int(resp.headers.get("X-Bench-Cache-Hits") or 0)
            self.cache_misses += int(resp.headers.get("X-Bench-Cache-Misses") or 0)
            mark = resp.headers.get("X-Cache")
            if mark:
                self.marks[mark] = self.marks.get(mark, 0) + 1
            for value in resp.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if "expires=Thu, 01 Jan 1970" in value or "Max-Age=0" in value:
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = cookie_value
            return Response(resp.status, resp.headers, data)
        raise BenchError("unreachable")

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def expect(self, method: str, path: str, statuses=(200,), **kw) -> Response:
        resp = self.request(method, path, **kw)
        if resp.status not in statuses:
            raise BenchError(f"{method} {path.split('?')[0]} answered {resp.status}")
        return resp


def percentiles(samples_ms: list[float]) -> dict:
    if not samples_ms:
        return {"n": 0}
    xs = sorted(samples_ms)

    def at(q: float) -> float:
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 3)

    return {"n": len(xs), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(xs[-1], 3),
            "mean": round(sum(xs) / len(xs), 3)}


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict = field(default_factory=dict)
    seconds: float = 0.0

    def error(self, exc: Exception) -> None:
        self.errors += 1
        key = str(exc)[:120]
        self.error_kinds[key] = self.error_kinds.get(key, 0) + 1


def run_sequential(client: Client, action, count: int, state: dict | None = None, seconds: float = 1e9) -> Result:
    """Up to ``count`` calls of ``action(client, state, i)`` one after another, for at most ``seconds``;
    the latency of each in ms."""
    result = Result()
    state = {} if state is None else state
    started = time.perf_counter()
    for i in range(count):
        if time.perf_counter() - started > seconds:
            break
        t0 = time.perf_counter()
        try:
            action(client, state, i)
        except (BenchError, OSError, http.client.HTTPException) as exc:
            result.error(exc)
            continue
        result.latencies.append((time.perf_counter() - t0) * 1000)
    result.seconds = time.perf_counter() - started
    return result


def run_concurrent(make_client, action, clients: int, seconds: float, max_requests: int,
                   make_state=None) -> Result:
    """``clients`` threads call ``action`` until ``seconds`` pass or ``max_requests`` are done."""
    result = Result()
    lock = threading.Lock()
    issued = [0]
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(n: int) -> None:
        client = make_client()
        state = make_state(n) if make_state else {}
        local = Result()
        start_gate.wait()
        i = 0
        while time.perf_counter() < deadline[0]:
            with lock:
                if issued[0] >= max_requests:
                    break
                issued[0] += 1
            t0 = time.perf_counter()
            try:
                action(client, state, i)
            except (BenchError, OSError, http.client.HTTPException) as exc:
                local.error(exc)
            else:
                local.latencies.append((time.perf_counter() - t0) * 1000)
            i += 1
        client.close()
        with lock:
            result.latencies.extend(local.latencies)
            result.errors += local.errors
            for key, value in local.error_kinds.items():
                result.error_kinds[key] = result.error_kinds.get(key, 0) + value

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    start_gate.wait()
    for thread in threads:
        thread.join(seconds + 60)
    result.seconds = time.perf_counter() - started
    return result
