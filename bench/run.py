"""Run every scenario through the production server and print how close each is to its floors.

    python -m bench                 # full: 1,000,000 contacts / 10,000,000 communications
    python -m bench --small         # 10,000 contacts / 100,000 communications, < 2 minutes
    python -m bench --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

A scenario whose route does not exist yet is reported as "skipped: route missing" and starts
being measured when the route lands.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import platform
import random
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from urllib.parse import quote, urlencode

from . import contact_data, dashboard, generate, relations, taxonomy, transfer
from .client import BenchError, Client, find_csrf, percentiles, run_concurrent, run_sequential
from .floors import Floor
from .server import Server, rss_mb

WRITE_DOMAIN = "write.bench.example.org"  # every row the bench writes; removed at the end of the run
# What the HTTP run does not measure yet, and where it is measured instead: nothing left of issue 5's
# list (bench/dashboard.py adds the aggregate when /dashboard lacks a communications widget).
PENDING: list[tuple[str, str]] = []
# name prefix -> (figure, limit, label); the report says met / missed and by how much
TARGETS = {
    "list: first page": ("p50", 10, "p50 ≤ 10 ms, ≥ 500 req/s"),
    "list: status filter": ("p50", 10, "p50 ≤ 10 ms, ≥ 500 req/s"),
    "list: deep keyset page": ("p50", 10, "p50 ≤ 10 ms, ≥ 500 req/s"),
    "list: tag filter": ("p50", 20, "p50 ≤ 20 ms"),
    "list: group filter": ("p50", 20, "p50 ≤ 20 ms"),
    "list: category subtree": ("p50", 20, "p50 ≤ 20 ms"),
    "list: custom-field filter": ("p50", 10, "p50 ≤ 10 ms, ≥ 500 req/s"),
    "dashboard: communications aggregate": ("p95", 100, "≤ 100 ms (p95)"),
    "search:": ("p95", 20, "p95 ≤ 20 ms"),
    "contact page:": ("p50", 15, "p50 ≤ 15 ms"),
    "communications timeline panel": ("p50", 15, "≤ 15 ms (p50)"),
    "communications: global list": ("p50", 30, "≤ 30 ms (p50)"),
    "create: API": ("p99", 25, "p99 ≤ 25 ms"),
    "update: API": ("p99", 25, "p99 ≤ 25 ms"),
    "schedule a send: API": ("p99", 25, "p99 ≤ 25 ms"),
    "mixed reads": ("cache", 0.9, "cache hit rate ≥ 90 %"),
}
RPS_TARGET = {"list:": 500}


def target_verdict(row: dict) -> str:
    for prefix, (figure, limit, label) in TARGETS.items():
        if not row["scenario"].startswith(prefix):
            continue
        if figure == "cache":
            rate = row.get("cache_hit_rate")
            if rate is None:
                return f"{label}: not measurable"
            return f"{label}: {'met' if rate >= limit else 'missed'} ({rate:.0%} after the warm-up)"
        value = row.get("latency_ms", {}).get(figure)
        if value is None:
            return f"{label}: –"
        verdict = "met" if value <= limit else f"missed ×{value / limit:.2f}"
        for rps_prefix, rps_limit in RPS_TARGET.items():
            rps = row.get("concurrent", {}).get("rps")
            if row["scenario"].startswith(rps_prefix) and rps is not None:
                verdict += f"; req/s {'met' if rps >= rps_limit else f'missed ×{rps_limit / rps:.2f}' if rps else 'missed'}"
        return f"{label}: {verdict}"
    return ""


PLUGIN_PREFIXES = ("/communications", "/planning", "/monitoring", "/collaboration")


class Skip(Exception):
    """The scenario cannot run (yet): the reason goes into the report."""


@dataclass
class Scenario:
    name: str
    description: str
    setup: object  # setup(ctx) -> action(client, state, i); raises Skip
    floor: object = None  # floor(ctx, i) -> None, the same query through the driver
    make_state: object = None
    outcome: dict = field(default_factory=dict)


class Context:
    def __init__(self, args, info: dict, server: Server, floor: Floor):
        self.args = args
        self.info = info
        self.server = server
        self.floor = floor
        self.rng = random.Random(generate.SEED)
        self.member = info["member"]
        self.token = info["api_token"]
        self.base: Client | None = None
        self.created_ids: list[int] = []
        self.counted: Server | None = None
        self.run_tag = datetime.now(UTC).strftime("%H%M%S") + f"{random.randrange(1000):03d}"
        self.visible: list[int] = [row[0] for row in floor.rows(
            f"SELECT c.id FROM contacts c WHERE {floor.visible} ORDER BY c.id")]

    def login(self) -> Client:
        client = Client(self.server.port)
        resp = client.expect("GET", "/login")
        token = find_csrf(resp.text)
        form = {"email": self.member["email"], "password": self.member["password"]}
        if token:
            form["csrf_token"] = token
        resp = client.request("POST", "/login", form=form)
        if resp.status not in (302, 303):
            raise RuntimeError(f"log-in as {self.member['email']} answered {resp.status}")
        page = client.expect("GET", "/")
        client.csrf = find_csrf(page.text)
        return client

    def web(self) -> Client:
        """A client whose GETs skip the shared page cache (``Cache-Control: no-cache``): the scenarios
        time the render path; ``browser()`` is the same session without it."""
        client = self.base.clone()
        client.headers["Cache-Control"] = "no-cache"
        return client

    def browser(self) -> Client:
        return self.base.clone()

    def api(self) -> Client:
        return Client(self.server.port, headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"})

    def htmx_headers(self) -> dict:
        headers = {"HX-Request": "true"}
        if self.base and self.base.csrf:
            headers["X-CSRFToken"] = self.base.csrf
        return headers


def _missing(resp, path: str) -> None:
    if resp.status == 404:
        raise Skip(f"route missing: {path}")
    if resp.status == 405:
        raise Skip(f"route missing: {path} does not accept this method")


def _check_link(body: str, contact_id: int, what: str, notes: list) -> None:
    if f"/contacts/{contact_id}" not in body:
        notes.append(f"unverified: the expected first row ({what}, id {contact_id}) is not linked in the page")


PANEL_TAG = re.compile(r"<[^>]*hx-trigger=\"load[^\"]*\"[^>]*>")
HX_GET = re.compile(r'hx-get="([^"]+)"')


def panel_urls(page: str) -> list[str]:
    urls = []
    for tag in PANEL_TAG.findall(page):
        found = HX_GET.search(tag)
        if found:
            urls.append(html.unescape(found.group(1)))
    return urls


# --- scenario set-ups ------------------------------------------------------------------------


# the keyset condition as core.services.pagination builds it: a row-value comparison (an OR of
# "sort_name > ? OR (sort_name = ? AND id > ?)" makes SQLite scan from sort_name >= ?: 0.7 s at 1M)
DEEP_WHERE = " AND (c.sort_name, c.id) > (?, ?)"


def list_scenario(ctx: Context, query: dict, where: str = "", params=(), htmx: bool = False, notes=None):
    path = "/?" + urlencode(query, doseq=True) if query else "/"
    client = ctx.web()
    headers = ctx.htmx_headers() if htmx else {}
    resp = client.get(path, headers=headers)
    _missing(resp, "/")
    if resp.status != 200:
        raise BenchError(f"GET {path} answered {resp.status}")
    expected = ctx.floor.list_page(where, params, limit=1)
    if expected and notes is not None:
        _check_link(resp.text, expected[0][0], "per the SQL floor", notes)

    def action(c, _s, _i):
        c.expect("GET", path, headers=headers)

    return action


def _search_terms(ctx: Context) -> dict:
    rows = ctx.floor.rows(f"SELECT c.last_name, count(*) FROM contacts c WHERE {ctx.floor.visible} "
                          "GROUP BY c.last_name ORDER BY 2 DESC, 1")
    common = rows[0][0]
    # a 4-letter prefix that few surnames share (typos make rare names, but "Smitth" starts like "Smith")
    counts = {}
    for name, n in rows:
        key = name[:4].lower()
        counts[key] = counts.get(key, 0) + n
    rare = min((key for key in counts if len(key) == 4 and key.isascii() and key.isalpha()),
               key=lambda k: (counts[k], k), default=rows[-1][0][:4])
    pair = ctx.floor.rows(f"SELECT c.first_name, c.last_name, count(*) FROM contacts c WHERE {ctx.floor.visible} "
                          "GROUP BY c.first_name, c.last_name ORDER BY 3 DESC, 2, 1 LIMIT 1")[0]
    return {"rare": rare, "common": common, "two": f"{pair[0]} {pair[1]}"}


def make_scenarios(ctx: Context) -> list[Scenario]:
    floor = ctx.floor
    terms = {}

    def lazy_terms():
        if not terms:
            terms.update(_search_terms(ctx))
        return terms

    scenarios: list[Scenario] = []

    def add(name, description, setup, floor_fn=None, make_state=None):
        scenarios.append(Scenario(name, description, setup, floor_fn, make_state))

    # lists
    add("list: first page", "GET / as the member: the full page with the first 50 contacts by name",
        lambda c, notes: list_scenario(c, {}, notes=notes), lambda i: floor.list_page())
    add("list: status filter", "GET /?status=inactive (full page)",
        lambda c, notes: list_scenario(c, {"status": "inactive"}, " AND c.status = ?", ("inactive",), notes=notes),
        lambda i: floor.list_page(" AND c.status = ?", ("inactive",)))
    taxonomy.scenarios(add, list_scenario, floor)  # tag, group and category filters
    contact_data.scenarios(add, list_scenario, floor, Skip)  # a custom-field filter
    # the filter builder (f=field.op.value, OR groups) and the lazy, capped count beside the rows
    builder_where = " AND (c.status = ? OR c.type = ?)"
    add("list: builder filter (OR)", "GET /?f=status.is.inactive&f=or&f=type.is.supplier (HTMX rows only)",
        lambda c, notes: list_scenario(c, {"f": ["status.is.inactive", "or", "type.is.supplier"]}, builder_where,
                                       ("inactive", "supplier"), htmx=True, notes=notes),
        lambda i: floor.list_page(builder_where, ("inactive", "supplier")))

    def view_setup(c, notes):
        # A personal saved view (status lead, by name, four columns), created through the API once.
        name = f"bench leads {int(time.time())}"
        made = c.api().request("POST", "/api/v1/saved-views", json_body={
            "name": name, "query": "status=lead", "sort": "name", "columns": ["email", "phone", "organization", "status"]})
        _missing(made, "/api/v1/saved-views")
        if made.status != 201:
            raise BenchError(f"POST /api/v1/saved-views answered {made.status}: {made.text[:200]}")
        view_id = json.loads(made.text)["id"]
        notes.append(f"view {view_id}: status=lead, sorted by name")
        return list_scenario(c, {"view": view_id}, " AND c.status = ?", ("lead",), htmx=True, notes=notes)

    add("list: saved view", "GET /?view=<id> (a personal view: status lead; HTMX rows only)", view_setup,
        lambda i: floor.list_page(" AND c.status = ?", ("lead",)))

    def count_setup(c, notes):
        client, headers = c.web(), c.htmx_headers()
        path = "/contacts/count?f=status.is.inactive"
        resp = client.get(path, headers=headers)
        _missing(resp, "/contacts/count")
        if resp.status != 200:
            raise BenchError(f"GET {path} answered {resp.status}")
        notes.append("capped at 1,000 (\"1,000+\")")

        def action(cl, _s, _i):
            cl.expect("GET", path, headers=headers)

        return action

    add("list: lazy count", "GET /contacts/count?f=status.is.inactive (the \"N matching\" fragment, capped)", count_setup,
        lambda i: floor.rows(f"SELECT count(*) FROM (SELECT c.id FROM contacts c WHERE {floor.visible} "
                             "AND c.status = ? LIMIT 1001) x", ("inactive",)))
    deep = {}

    def deep_setup(c, notes):
        from core.services.pagination import encode_cursor

        offset = max(0, len(c.visible) // 2)
        row = floor.rows(f"SELECT c.sort_name, c.id FROM contacts c WHERE {floor.visible} "
                         f"ORDER BY c.sort_name, c.id LIMIT 1 OFFSET {offset}")
        if not row:
            raise Skip("no visible contacts")
        deep["key"] = (row[0][0], row[0][1])
        deep["offset"] = offset
        cursor = encode_cursor([row[0][0], row[0][1]])
        notes.append(f"cursor after row {offset:,} of {len(c.visible):,} (HTMX 'load more')")
        return list_scenario(c, {"cursor": cursor}, DEEP_WHERE, deep["key"], htmx=True, notes=notes)

    add("list: deep keyset page", "GET /?cursor=... half-way through the member's contacts, as HTMX 'load more'",
        deep_setup,
        lambda i: floor.list_page(DEEP_WHERE, deep["key"]))
    for key, label in (("rare", "a rare prefix"), ("common", "a common surname"), ("two", "two words")):
        def search_setup(c, notes, key=key):
            q = lazy_terms()[key]
            notes.append(f"q={q!r}")
            where, params = floor.search_where(q)
            return list_scenario(c, {"q": q}, where, params, htmx=True, notes=notes)

        def search_floor(i, key=key):
            where, params = floor.search_where(lazy_terms()[key])
            floor.list_page(where, params)

        add(f"search: {label}", f"active search GET /?q=... (HTMX rows only): {label}", search_setup, search_floor)

    # contact pages
    heavy = ctx.info["heavy_contacts"][0] if ctx.info["heavy_contacts"] else None
    light = ctx.info["light_contacts"][0] if ctx.info["light_contacts"] else (ctx.visible[0] if ctx.visible else None)
    for label, cid in (("light", light), ("heavy", heavy)):
        def page_setup(c, notes, cid=cid, label=label):
            if cid is None:
                raise Skip(f"the dataset has no {label} contact")
            client = c.web()
            resp = client.get(f"/contacts/{cid}")
            _missing(resp, "/contacts/<id>")
            if resp.status != 200:
                raise BenchError(f"GET /contacts/{cid} answered {resp.status}")
            panels = panel_urls(resp.text)
            comms = floor.rows("SELECT count(*) FROM communications WHERE contact_id = ?", (cid,))[0][0]
            notes.append(f"contact {cid} with {comms:,} communications; page + {len(panels)} lazy panels")
            headers = c.htmx_headers()

            def action(cl, _s, _i):
                cl.expect("GET", f"/contacts/{cid}")
                for url in panels:
                    cl.expect("GET", url, headers=headers)

            return action

        def page_floor(i, cid=cid):
            floor.contact(cid)
            floor.timeline(cid)

        add(f"contact page: {label}", f"GET /contacts/<id> and every panel it loads lazily, {label} contact",
            page_setup, page_floor)

    def timeline_setup(c, notes):
        if heavy is None:
            raise Skip("the dataset has no heavy contact")
        resp = c.web().get(f"/contacts/{heavy}")
        _missing(resp, "/contacts/<id>")
        urls = [u for u in panel_urls(resp.text) if u.startswith("/communications")]
        if not urls:  # rendered inline with the page: its filters and "load more" still ask the route
            urls = [html.unescape(u) for u in HX_GET.findall(resp.text)
                    if re.fullmatch(r"/communications/contacts/\d+/timeline", html.unescape(u))]
            if urls:
                notes.append("inline on the contact page; as its filters ask it")
        if not urls:
            raise Skip("route missing: no communications panel on the contact page")
        url, headers = urls[0], c.htmx_headers()
        notes.append(f"{url.split('?')[0]}")

        def action(cl, _s, _i):
            cl.expect("GET", url, headers=headers)

        return action

    add("communications timeline panel", "the heavy contact's timeline fragment alone (the panel "
        "/communications/contacts/<id>/timeline)", timeline_setup, lambda i: floor.timeline_panel(heavy))

    def comm_list_setup(c, notes):
        path = "/communications/?type=email"
        resp = c.web().get(path)
        _missing(resp, "/communications/")
        if resp.status != 200:
            raise BenchError(f"GET {path} answered {resp.status}")
        first = floor.communications_page("email", limit=1)
        if first and f"/contacts/{first[0][0]}" not in resp.text:
            notes.append(f"unverified: the contact of the newest email (id {first[0][0]}) is not linked in the page")
        return lambda cl, _s, _i: cl.expect("GET", path)

    add("communications: global list, type filter", "GET /communications/?type=email (full page, 50 newest "
        "emails of the member's visible contacts)", comm_list_setup, lambda i: floor.communications_page("email"))

    # organizations and plugin pages (found from the navigation, so new ones are picked up)
    def org_setup(c, notes):
        client = c.web()
        for path in ("/organizations/", "/organizations"):
            resp = client.get(path)
            if resp.status == 200:
                return lambda cl, _s, _i: cl.expect("GET", path)
        raise Skip("route missing: /organizations")

    add("organizations: first page", "GET /organizations/ (full page)", org_setup, lambda i: floor.org_page())
    relations.add_scenarios(ctx, add, Skip, _missing)  # org chart and pickers (bench/relations.py)
    for path in discover_plugin_pages(ctx):
        def plugin_setup(c, notes, path=path):
            resp = c.web().get(path)
            _missing(resp, path)
            if resp.status != 200:
                raise BenchError(f"GET {path} answered {resp.status}")
            return lambda cl, _s, _i: cl.expect("GET", path)

        add(f"plugin page: {path}", f"GET {path} (linked from the navigation)", plugin_setup)

    dashboard.add_scenarios(ctx, add, Skip, _missing, panel_urls)  # the page, and the communications aggregate

    # the Zipf read mix
    browsers: dict = {}
    add("mixed reads (Zipf)", "70% contact page + panels with Zipf(1.1) popularity, 20% list first page, "
        "10% search for a common surname; shared page cache hit rate after a warm-up", zipf_setup, None,
        lambda n: browsers.setdefault(n, {"rng": random.Random(1000 + n)}))

    # writes
    add("create: API", "POST /api/v1/contacts (Bearer token), one new contact", create_api_setup,
        lambda i: floor_insert(ctx, f"floor-api-{i}"), write_state(ctx, "api"))
    add("schedule a send: API", "POST /api/v1/contacts/<id>/communications/send, an email due in 30 days "
        "(recorded, queued on huey with an eta; not delivered during the run)", schedule_send_setup,
        lambda i: floor_schedule(ctx, i), write_state(ctx, "send"))
    add("create: HTMX form", "POST /contacts/new as an HTMX form (CSRF header), one new contact",
        create_form_setup, lambda i: floor_insert(ctx, f"floor-form-{i}"), write_state(ctx, "form"))
    add("update: API with If-Match", "PATCH /api/v1/contacts/<id> with the ETag from the last answer",
        update_api_setup, lambda i: floor_update(ctx, i), update_state(ctx))
    return scenarios


def discover_plugin_pages(ctx: Context) -> list[str]:
    resp = ctx.web().get("/")
    found = []
    for href in re.findall(r'href="(/[^"#?]*)"', resp.text):
        if href.startswith(PLUGIN_PREFIXES) and href not in found and "/contacts/" not in href:
            found.append(href)
    return found[:8]


ZIPF_S = 1.1
PAGE_SHARE = 0.7  # of the mix's actions: a contact page; the rest are two fixed URLs (list, search)


class ZipfRun:
    """Counts of the Zipf mix per phase. Every action is numbered in the order it starts; the first
    ``cold_actions`` also count as "cold" (the cache holds only what earlier scenarios left). A
    request is a browser-ceiling request when its client fetched the same URL before, and a
    shared-ceiling request when any client did: the most a per-browser cache, or a shared cache
    that never forgets, can hit on this sequence."""

    def __init__(self, cold_actions: int):
        self.lock = threading.Lock()
        self.cold_actions = cold_actions
        self.phase = "latency"
        self.actions = 0
        self.seen: set = set()
        self.counts: dict[str, dict] = {}

    def start_action(self) -> int:
        with self.lock:
            self.actions += 1
            return self.actions - 1

    def record(self, index: int, state: dict, key, marker: str) -> None:
        fetched = state.setdefault("fetched", set())
        with self.lock:
            phases = (self.phase, "cold") if index < self.cold_actions else (self.phase,)
            for phase in phases:
                c = self.counts.setdefault(phase, dict.fromkeys(
                    ("actions", "requests", "marked", "hits", "browser_ceiling", "shared_ceiling"), 0))
                c["requests"] += 1
                c["browser_ceiling"] += key in fetched
                c["shared_ceiling"] += key in self.seen
                c["marked"] += bool(marker)
                c["hits"] += marker.startswith("hit")
            self.seen.add(key)
        fetched.add(key)

    def count_action(self, index: int) -> None:
        with self.lock:
            for phase in ((self.phase, "cold") if index < self.cold_actions else (self.phase,)):
                self.counts.setdefault(phase, dict.fromkeys(
                    ("actions", "requests", "marked", "hits", "browser_ceiling", "shared_ceiling"), 0))["actions"] += 1

    def figures(self, phase: str) -> dict | None:
        c = self.counts.get(phase)
        if not c or not c["requests"]:
            return None
        return {**c, "hit_rate": round(c["hits"] / c["marked"], 3) if c["marked"] else None,
                "browser_ceiling_rate": round(c["browser_ceiling"] / c["requests"], 3),
                "shared_ceiling_rate": round(c["shared_ceiling"] / c["requests"], 3)}


def zipf_weights(n: int) -> list[float]:
    total = sum(1.0 / (rank + 1) ** ZIPF_S for rank in range(n))
    return [1.0 / (rank + 1) ** ZIPF_S / total for rank in range(n)]


def zipf_expected(probs: list[float], actions: float) -> float:
    """The hit rate of a shared cache that never forgets, on the action after ``actions`` actions of
    the mix: a contact page was asked before with probability 1 - (1 - p)^(0.7 × actions); the
    list and the search are one URL each, asked before after the first few actions."""
    draws = PAGE_SHARE * actions
    page = sum(p * (1.0 - math.exp(draws * math.log1p(-p))) for p in probs) if draws > 0 else 0.0
    return PAGE_SHARE * page + (1 - PAGE_SHARE)


def zipf_warmup_for(probs: list[float], target: float = 0.9) -> int | None:
    """The fewest warm-up actions after which the expected hit rate reaches ``target``."""
    if zipf_expected(probs, 1e12) < target:
        return None
    low, high = 1, 1
    while zipf_expected(probs, high) < target:
        low, high = high, high * 4
    while high - low > max(1, low // 200):
        mid = (low + high) // 2
        low, high = (mid, high) if zipf_expected(probs, mid) < target else (low, mid)
    return high


def zipf_setup(ctx: Context, notes):
    """The mix as browsers run it: each client keeps the answers that came with an ETag and sends it
    back in If-None-Match (a 304 reuses the kept body), and the server answers from its shared page
    cache what any client with the same rights asked before (core/views/page_cache.py). A request
    counts as a hit when the answer says ``X-Cache: hit`` (a 304 or a shared-cache hit)."""
    ids = list(ctx.visible)
    if not ids:
        raise Skip("no visible contacts")
    random.Random(7).shuffle(ids)
    cum, total = [], 0.0
    for rank in range(len(ids)):
        total += 1.0 / (rank + 1) ** ZIPF_S
        cum.append(total)
    common = _search_terms(ctx)["common"]
    headers = ctx.htmx_headers()
    probe = ctx.web().get(f"/contacts/{ids[0]}")
    _missing(probe, "/contacts/<id>")
    run = ctx.zipf_run = ZipfRun(ctx.args.zipf_measure)

    def fetch(client, state, index, url, extra=None):
        kept = state.setdefault("kept", {})
        key = (url, bool(extra))
        sent = dict(extra or {})
        if key in kept:
            sent["If-None-Match"] = kept[key][0]
        resp = client.expect("GET", url, (200, 304), headers=sent or None)
        run.record(index, state, key, (resp.headers.get("X-Cache") or "").lower())
        if resp.status == 304:
            return kept[key][1]
        etag = resp.headers.get("ETag")
        if etag:
            kept[key] = (etag, resp.text)
        return resp.text

    def action(client, state, _i):
        index = run.start_action()
        rng = state.setdefault("rng", random.Random())
        roll = rng.random()
        if roll < PAGE_SHARE:
            cid = rng.choices(ids, cum_weights=cum)[0]
            page = fetch(client, state, index, f"/contacts/{cid}")
            for url in panel_urls(page):
                fetch(client, state, index, url, headers)
        elif roll < 0.9:
            fetch(client, state, index, "/")
        else:
            fetch(client, state, index, "/?q=" + quote(common), headers)
        run.count_action(index)

    return action


def zipf_phases(ctx: Context, scenario: Scenario, action, out: dict, notes: list) -> None:
    """After the latency phases (which start the sequence): warm up to ``--zipf-warmup`` actions in
    all, then measure ``--zipf-measure`` actions; each phase 8 clients, bounded in time."""
    args, run = ctx.args, ctx.zipf_run
    run.phase = "warm-up"
    remaining = max(0, args.zipf_warmup - run.actions)
    started = time.perf_counter()
    if remaining:
        warm = run_concurrent(ctx.browser, action, args.clients, args.zipf_warmup_seconds, remaining, scenario.make_state)
        out["errors"] += warm.errors
    warm_seconds = time.perf_counter() - started
    warmed = run.actions
    run.phase = "steady"
    steady_run = run_concurrent(ctx.browser, action, args.clients, args.zipf_warmup_seconds, args.zipf_measure,
                                scenario.make_state)
    out["errors"] += steady_run.errors
    run.phase = "after"  # the statement count runs the action once more: not part of these figures
    cold, steady = run.figures("cold"), run.figures("steady")
    probs = zipf_weights(len(ctx.visible))
    needed = zipf_warmup_for(probs)
    expected = zipf_expected(probs, warmed + (steady or {}).get("actions", 0) / 2)
    out["cache_hit_rate"] = steady["hit_rate"] if steady else None
    out["zipf"] = {"warmup_actions": warmed, "warmup_seconds": round(warm_seconds, 1),
                   "warmup_rps": round((warmed - run.counts.get("latency", {}).get("actions", 0)) / warm_seconds, 1)
                   if warm_seconds > 0 else None,
                   "cold": cold, "steady": steady, "model_expected_steady": round(expected, 3),
                   "model_warmup_for_90": needed, "visible": len(ctx.visible)}
    if cold:
        notes.append(f"cold (the first {cold['actions']:,} actions, the cache holding only what earlier scenarios left): "
                     f"{cold['hit_rate']:.0%} hits, shared ceiling {cold['shared_ceiling_rate']:.0%}")
    if steady:
        notes.append(f"after a warm-up of W = {warmed:,} actions ({warm_seconds:.0f} s): {steady['hit_rate']:.0%} hits "
                     f"over {steady['actions']:,} actions ({steady['requests']:,} requests); ceiling on this "
                     f"sequence {steady['shared_ceiling_rate']:.0%} for a shared cache, "
                     f"{steady['browser_ceiling_rate']:.0%} per browser; Zipf({ZIPF_S}) model at this W "
                     f"{expected:.0%}")
    if needed is not None:
        notes.append(f"the model reaches 90 % after W ≈ {needed:,} actions over {len(ctx.visible):,} contacts"
                     + (f" (this run: {warmed:,}; --zipf-warmup raises it)" if warmed < needed else ""))


CACHED_NOTE = ("list: first page", "contact page: light")


def cached_note(ctx: Context, action, state: dict, notes: list) -> None:
    """The scenario's request again without ``Cache-Control: no-cache``: served by the shared page cache
    (the first answers render and store it, the timed ones are hits)."""
    client = ctx.browser()
    run_sequential(client, action, 2, state)
    client.marks.clear()
    result = run_sequential(client, action, min(ctx.args.requests, 100), state, seconds=ctx.args.sequential_seconds)
    figures = percentiles(result.latencies)
    if figures["n"]:
        notes.append(f"from the shared page cache: p50 {figures['p50']} ms, p95 {figures['p95']} ms over "
                     f"{figures['n']} requests ({client.marks.get('hit', 0)} of {sum(client.marks.values())} "
                     "X-Cache hits); the row's figures are the render path (no-cache)")


def write_state(ctx: Context, kind: str):
    def make(n: int) -> dict:
        return {"kind": kind, "thread": n, "serial": 0}

    return make


def _new_contact(ctx: Context, state: dict) -> dict:
    state["serial"] = state.get("serial", 0) + 1
    tag = f"{ctx.run_tag}-{state.get('kind', 'x')}{state.get('thread', 's')}-{state['serial']}"
    return {"first_name": "Bench", "last_name": f"Writer {tag}", "email": f"w{tag}@{WRITE_DOMAIN}"}


def create_api_setup(ctx: Context, notes):
    client = ctx.api()
    resp = client.request("POST", "/api/v1/contacts", json_body=_new_contact(ctx, {"kind": "probe"}))
    _missing(resp, "/api/v1/contacts")
    if resp.status not in (200, 201):
        raise BenchError(f"POST /api/v1/contacts answered {resp.status}: {resp.text[:200]}")

    def action(cl, state, _i):
        resp = cl.expect("POST", "/api/v1/contacts", (200, 201), json_body=_new_contact(ctx, state))
        if len(ctx.created_ids) < 64:
            try:
                ctx.created_ids.append(int(json.loads(resp.body)["id"]))
            except (ValueError, KeyError, TypeError):
                pass

    return action


def schedule_send_setup(ctx: Context, notes):
    """Sends go to contacts the bench created (removed at the end with their communications)."""
    client = ctx.api()
    targets = list(ctx.created_ids[:16])
    if not targets:
        resp = client.request("POST", "/api/v1/contacts", json_body=_new_contact(ctx, {"kind": "sendprobe"}))
        _missing(resp, "/api/v1/contacts")
        if resp.status not in (200, 201):
            raise BenchError(f"POST /api/v1/contacts answered {resp.status}: {resp.text[:200]}")
        targets = [int(json.loads(resp.body)["id"])]
        ctx.created_ids.append(targets[0])
    ctx.send_target = targets[0]
    due = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"subject": "Bench follow-up", "content": "Dear Bench, this is a scheduled benchmark message.",
            "when": due}
    path = f"/api/v1/contacts/{targets[0]}/communications/send"
    resp = client.request("POST", path, json_body=body)
    _missing(resp, "/api/v1/contacts/<id>/communications/send")
    if resp.status != 201:
        raise BenchError(f"POST {path} answered {resp.status}: {resp.text[:200]}")
    status = json.loads(resp.body).get("status")
    if status != "scheduled":
        notes.append(f"unverified: the probe send is '{status}', not 'scheduled'")
    notes.append(f"due {due}, to {len(targets)} bench-created contact(s)")

    def action(cl, state, i):
        cid = targets[(state.get("thread", 0) + i) % len(targets)]
        cl.expect("POST", f"/api/v1/contacts/{cid}/communications/send", (201,), json_body=body)

    return action


def floor_schedule(ctx: Context, i: int) -> None:
    """The send's own writes: the contact and its consent/preferences read, the communication and its
    'scheduled' event inserted, one commit (the audit entry and the huey enqueue are not in the floor)."""
    cid = getattr(ctx, "send_target", None) or (ctx.created_ids[0] if ctx.created_ids else ctx.visible[0])
    now = datetime.now(UTC).replace(tzinfo=None)
    due = (now + timedelta(days=30)).isoformat(" ", "microseconds")
    stamp = now.isoformat(" ", "microseconds")
    ctx.floor.contact(cid)
    ctx.floor.rows("SELECT * FROM communications_consents WHERE contact_id = ? AND channel = 'email'", (cid,))
    ctx.floor.rows("SELECT * FROM communications_preferences WHERE contact_id = ?", (cid,))
    ctx.floor.write([
        ("INSERT INTO communications (contact_id, type, direction, subject, content, status, scheduled_at, "
         "created_by_id, channel, to_address, timezone, idempotency_key, attempts, next_attempt_at, "
         "status_changed_at, created_at, updated_at) VALUES (?, 'email', 'outbound', 'Bench floor', 'floor', "
         "'scheduled', ?, ?, 'email', 'floor@" + WRITE_DOMAIN + "', 'UTC', ?, 0, ?, ?, ?, ?)",
         (cid, due, ctx.member.get("id"), f"floor{ctx.run_tag}{i:06d}x", due, stamp, stamp, stamp)),
        ("INSERT INTO communications_events (communication_id, at, old_status, new_status, actor_id, detail) "
         "VALUES ((SELECT max(id) FROM communications), ?, NULL, 'scheduled', ?, 'Scheduled (floor)')",
         (stamp, ctx.member.get("id"))),
    ])


def create_form_setup(ctx: Context, notes):
    client = ctx.web()
    resp = client.get("/contacts/new", headers=ctx.htmx_headers())
    _missing(resp, "/contacts/new")
    headers = ctx.htmx_headers()
    csrf = find_csrf(resp.text) or ctx.base.csrf

    def post(cl, state):
        data = _new_contact(ctx, state)
        if csrf:
            data["csrf_token"] = csrf
        resp = cl.request("POST", "/contacts/new", form=data, headers=headers)
        if resp.status not in (200, 201, 204, 302, 303):
            raise BenchError(f"POST /contacts/new answered {resp.status}")
        return data

    data = post(client, {"kind": "formprobe"})
    _missing(client.request("GET", "/contacts/new"), "/contacts/new")
    found = ctx.floor.rows("SELECT id FROM contacts WHERE email_key = ?", (data["email"].lower(),))
    if not found:
        raise BenchError("POST /contacts/new answered 2xx but created no contact")

    def action(cl, state, _i):
        post(cl, state)

    return action


def update_state(ctx: Context):
    def make(n: int) -> dict:
        return {"thread": n}

    return make


def update_api_setup(ctx: Context, notes):
    # One contact per client: two clients updating the same contact race on its version (409/412,
    # counted as errors), which measures the bench, not the server.
    targets = list(dict.fromkeys([*ctx.created_ids, *ctx.visible[:64]]))
    if not targets:
        raise Skip("no contact to update")
    client = ctx.api()
    resp = client.get(f"/api/v1/contacts/{targets[0]}")
    _missing(resp, "/api/v1/contacts/<id>")
    if not resp.headers.get("ETag"):
        notes.append("no ETag on GET: If-Match cannot be sent")
    if not ctx.created_ids:
        notes.append("updating dataset contacts (the API create scenario made none)")

    def action(cl, state, i):
        cid = targets[state.get("thread", 0) % len(targets)] if "fixed" not in state else state["fixed"]
        state.setdefault("fixed", cid)
        etag = state.get("etag")
        if etag is None:
            got = cl.expect("GET", f"/api/v1/contacts/{cid}")
            etag = got.headers.get("ETag", "")
        body = {"first_name": "Bench" if i % 2 else "Benchmark"}
        resp = cl.request("PATCH", f"/api/v1/contacts/{cid}", json_body=body, headers={"If-Match": etag})
        if resp.status != 200:
            state["etag"] = None
            raise BenchError(f"PATCH /api/v1/contacts/<id> answered {resp.status}")
        state["etag"] = resp.headers.get("ETag")

    return action


def floor_insert(ctx: Context, tag: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    email = f"{tag}-{ctx.run_tag}@{WRITE_DOMAIN}"
    ctx.floor.write([(
        "INSERT INTO contacts (first_name, last_name, sort_name, email, email_key, phone, type, status, "
        "owner_team_id, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '', 'person', 'lead', ?, 1, ?, ?)",
        ("Bench", tag, f"{tag} bench", email, email, ctx.member["team_ids"][0], now, now),
    )])


def floor_update(ctx: Context, i: int) -> None:
    target = ctx.created_ids[0] if ctx.created_ids else ctx.visible[0]
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    ctx.floor.write([("UPDATE contacts SET first_name = ?, version = version + 1, updated_at = ? WHERE id = ?",
                      ("Bench" if i % 2 else "Benchmark", now, target))])


# --- measuring -------------------------------------------------------------------------------


def measure(ctx: Context, scenario: Scenario, bare: dict) -> dict:
    args = ctx.args
    notes: list[str] = []
    out = {"scenario": scenario.name, "description": scenario.description, "notes": notes}
    try:
        action = scenario.setup(ctx, notes)
    except Skip as exc:
        out.update(status="skipped", reason=str(exc))
        return out
    except (BenchError, OSError) as exc:
        out.update(status="error", reason=str(exc))
        return out
    state = scenario.make_state(99) if scenario.make_state else {}
    zipf = scenario.name.startswith("mixed reads")
    client_factory = ctx.api if "API" in scenario.name else ctx.browser if zipf else ctx.web
    run_sequential(client_factory(), action, min(3, args.requests), state)  # warm-up, not counted
    single = run_sequential(client_factory(), action, args.requests, state, seconds=args.sequential_seconds)
    if len(single.latencies) + single.errors < args.requests:
        notes.append(f"time bound: {len(single.latencies)} of {args.requests} sequential requests")
    many = run_concurrent(client_factory, action, args.clients, args.concurrent_seconds,
                          max(args.requests, args.requests * 20), scenario.make_state)
    out["status"] = "ok" if single.latencies else "error"
    if not single.latencies:
        kinds = single.error_kinds or {"no request finished in the time bound": 1}
        out["reason"] = max(kinds, key=kinds.get)
    out["latency_ms"] = percentiles(single.latencies)
    out["errors"] = single.errors + many.errors
    if single.error_kinds or many.error_kinds:
        out["error_kinds"] = {**single.error_kinds, **many.error_kinds}
    out["concurrent"] = {"clients": args.clients, "requests": len(many.latencies), "seconds": round(many.seconds, 2),
                         "rps": round(len(many.latencies) / many.seconds, 1) if many.seconds else None,
                         "latency_ms": percentiles(many.latencies)}
    if scenario.floor is not None:
        try:
            out["sql_floor_ms"] = ctx.floor.measure(scenario.floor, args.requests, min(args.sequential_seconds, 10))
        except Exception as exc:  # noqa: BLE001 - a floor that cannot run is reported, not fatal
            notes.append(f"SQL floor failed: {exc}")
    if zipf:
        zipf_phases(ctx, scenario, action, out, notes)
    elif scenario.name in CACHED_NOTE:
        cached_note(ctx, action, state, notes)
    if ctx.counted is not None:
        out["sql_statements"] = count_statements(ctx, scenario, action)
        if out["sql_statements"] is None:
            notes.append("SQL statement count failed")
    out["ratios"] = ratios(out, bare)
    return out


def count_statements(ctx: Context, scenario: Scenario, action) -> dict | None:
    """Run the user action once against the counting server: SQL statements and HTTP requests it took."""
    if "API" in scenario.name:
        client = Client(ctx.counted.port, headers=ctx.api().headers)
    else:
        client = ctx.web()
        client.port = ctx.counted.port
    state = scenario.make_state(777) if scenario.make_state else {}
    if state:
        state["kind"] = f"{state.get('kind', 'x')}q"
    try:
        action(client, state, 0)
    except (BenchError, OSError) as exc:
        log(f"  statement count failed: {exc}")
        return None
    finally:
        client.close()
    return {"statements": client.queries, "http_requests": client.responses}


def ratios(out: dict, bare: dict) -> dict:
    r = {}
    p50 = out.get("latency_ms", {}).get("p50")
    sql = out.get("sql_floor_ms", {}).get("p50")
    if p50 and sql:
        r["p50_vs_sql"] = round(p50 / sql, 1)
    if p50 and bare.get("latency_ms", {}).get("p50"):
        r["p50_vs_bare"] = round(p50 / bare["latency_ms"]["p50"], 1)
    rps, bare_rps = out.get("concurrent", {}).get("rps"), bare.get("concurrent", {}).get("rps")
    if rps and bare_rps:
        r["rps_share_of_bare"] = round(rps / bare_rps, 3)
    return r


def measure_bare(ctx: Context, path: str, client_factory, label: str | None = None) -> dict:
    def action(cl, _s, _i):
        cl.expect("GET", path)

    run_sequential(client_factory(), action, 3)  # warm-up
    single = run_sequential(client_factory(), action, ctx.args.requests, seconds=ctx.args.sequential_seconds)
    many = run_concurrent(client_factory, action, ctx.args.clients, ctx.args.concurrent_seconds,
                          ctx.args.requests * 40)
    return {"path": label or path, "latency_ms": percentiles(single.latencies), "errors": single.errors + many.errors,
            "concurrent": {"clients": ctx.args.clients, "requests": len(many.latencies),
                           "rps": round(len(many.latencies) / many.seconds, 1) if many.seconds else None,
                           "latency_ms": percentiles(many.latencies)}}


def sustained_writes(ctx: Context) -> dict:
    seconds = ctx.args.write_seconds
    resp = ctx.api().request("POST", "/api/v1/contacts", json_body=_new_contact(ctx, {"kind": "swprobe"}))
    if resp.status == 404:
        return {"status": "skipped", "reason": "route missing: /api/v1/contacts"}

    def action(cl, state, _i):
        cl.expect("POST", "/api/v1/contacts", (200, 201), json_body=_new_contact(ctx, state))

    result = run_concurrent(ctx.api, action, ctx.args.clients, seconds, int(seconds * 5000),
                            write_state(ctx, "sw"))
    return {"status": "ok", "seconds": round(result.seconds, 2), "clients": ctx.args.clients,
            "writes": len(result.latencies), "writes_per_s": round(len(result.latencies) / result.seconds, 1),
            "latency_ms": percentiles(result.latencies), "errors": result.errors, "error_kinds": result.error_kinds}


def cleanup(ctx: Context) -> int:
    """Remove every row the bench wrote (and rows of other tables pointing at them)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(ctx.info["env"]["CONTACTS_DATABASE_URL"])
    try:
        pattern = f"%@{WRITE_DOMAIN}"
        with engine.begin() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT id FROM contacts WHERE email_key LIKE :p"), {"p": pattern})]
            if not ids:
                return 0
            inspector = inspect(conn)
            tables = inspector.get_table_names()
            fks = {t: [(fk["referred_table"], fk["constrained_columns"][0]) for fk in inspector.get_foreign_keys(t)
                       if len(fk["constrained_columns"]) == 1] for t in tables}
            if "communications_rollup" in tables:
                _uncount(conn, ids)
            for table in tables:
                if table == "contacts":
                    continue
                for referred, col in fks[table]:
                    if referred != "contacts":
                        continue
                    for start in range(0, len(ids), 500):
                        chunk = ",".join(map(str, ids[start:start + 500]))
                        rows = f'SELECT id FROM "{table}" WHERE "{col}" IN ({chunk})'
                        for child in tables:  # one level further: e.g. a communication's events
                            for child_ref, child_col in fks[child]:
                                if child_ref == table and child != table and child != "contacts":
                                    conn.execute(text(f'DELETE FROM "{child}" WHERE "{child_col}" IN ({rows})'))
                        conn.execute(text(f'DELETE FROM "{table}" WHERE "{col}" IN ({chunk})'))
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                conn.execute(text(f"DELETE FROM contacts WHERE id IN ({','.join(map(str, chunk))})"))
        return len(ids)
    finally:
        engine.dispose()


def _uncount(conn, ids: list[int]) -> None:
    """Take the communications of the bench's contacts out of the dashboard's rollup before they go
    (the plugin's services keep it; these rows are deleted with plain SQL)."""
    from sqlalchemy import text

    from plugins.communications.rollup import month_sql

    month = month_sql(conn.dialect.name, "m.scheduled_at")
    for start in range(0, len(ids), 500):
        chunk = ",".join(map(str, ids[start:start + 500]))
        rows = conn.execute(text(
            f"SELECT c.owner_team_id, {month}, m.type, m.direction, count(*) FROM communications m "
            f"JOIN contacts c ON c.id = m.contact_id WHERE c.id IN ({chunk}) AND c.deleted_at IS NULL "
            "GROUP BY 1, 2, 3, 4")).all()
        for team, month_key, kind, direction, n in rows:
            conn.execute(text("UPDATE communications_rollup SET count = count - :n WHERE team_id = :t AND month = :m "
                              "AND type = :k AND direction = :d"),
                         {"n": n, "t": team, "m": month_key, "k": kind, "d": direction})


# --- report ----------------------------------------------------------------------------------


def _f(value, digits=1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _verdicts(sw: dict) -> str:
    p99, rate = sw["latency_ms"].get("p99"), sw.get("writes_per_s") or 0
    parts = ["p99 met" if p99 is not None and p99 <= 25 else f"p99 missed ×{(p99 or 0) / 25:.2f}",
             "rate met" if rate >= 1000 else f"rate missed ×{1000 / rate:.1f}" if rate else "rate missed",
             "errors met" if not sw["errors"] else "errors missed"]
    return ", ".join(parts)


def markdown(report: dict) -> str:
    ds = report["dataset"]
    lines = [
        f"# Benchmark {report['started_at']} — {ds['contacts']:,} contacts, {ds['communications']:,} communications, "
        f"{report['database']['dialect']} {report['database']['version']}, {report['cpu_count']} CPUs "
        f"(load average {report['load_average_at_start'][0]} at the start)",
        "",
        f"Server: `{' '.join(report['server']['argv'][2:])}`. Floors: bare endpoint `{report['bare']['path']}` "
        f"p50 {_f(report['bare']['latency_ms'].get('p50'), 2)} ms, {_f(report['bare']['concurrent']['rps'], 0)} req/s "
        f"at {report['bare']['concurrent']['clients']} clients.",
        "",
        "| scenario | p50 ms | p95 ms | p99 ms | req/s @8 | SQL p50 ms | × SQL | × bare | % bare req/s | SQL stmts "
        "(HTTP reqs) | errors | target | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in report["scenarios"]:
        if row["status"] != "ok":
            lines.append(f"| {row['scenario']} | | | | | | | | | | | | {row['status']}: {row.get('reason', '')} |")
            continue
        lat, r = row["latency_ms"], row["ratios"]
        share = r.get("rps_share_of_bare")
        note = "; ".join(row["notes"])
        stmts = row.get("sql_statements")
        stmts_cell = f"{stmts['statements']} ({stmts['http_requests']})" if stmts else "–"
        if row["errors"] and row.get("error_kinds"):
            kinds = row["error_kinds"]
            note = f"most frequent error: {max(kinds, key=kinds.get)}; " + note
        if row.get("cache_hit_rate") is not None:
            note = f"cache hit rate {row['cache_hit_rate']:.0%}; " + note
        lines.append(
            f"| {row['scenario']} | {_f(lat.get('p50'), 2)} | {_f(lat.get('p95'), 2)} | {_f(lat.get('p99'), 2)} | "
            f"{_f(row['concurrent']['rps'], 0)} | {_f(row.get('sql_floor_ms', {}).get('p50'), 3)} | "
            f"{_f(r.get('p50_vs_sql'))} | {_f(r.get('p50_vs_bare'))} | "
            f"{'–' if share is None else f'{share:.0%}'} | {stmts_cell} | {row['errors']} | {target_verdict(row)} | {note} |"
        )
    sw = report["sustained_writes"]
    lines.append("")
    if sw.get("status") == "ok":
        lines.append(f"Sustained writes (API create, {sw['clients']} clients, {sw['seconds']} s): "
                     f"{_f(sw['writes_per_s'], 0)} writes/s, p50 {_f(sw['latency_ms'].get('p50'), 2)} ms, "
                     f"p99 {_f(sw['latency_ms'].get('p99'), 2)} ms, errors {sw['errors']} (target p99 ≤ 25 ms at "
                     f"1,000 writes/s, 0 errors: {_verdicts(sw)}).")
    else:
        lines.append(f"Sustained writes: {sw.get('status')}: {sw.get('reason')}")
    restart = report["restart_seconds"]
    lines.append(f"Start-up: first answered request {_f(report['startup_seconds'], 2)} s after spawn; restart "
                 f"{_f(restart, 2)} s (target ≤ 1 s: {'met' if restart and restart <= 1 else 'missed'}).")
    mem = report["memory_mb"]
    top = max((m for m in mem["workers"] if m), default=None)
    lines.append(f"Resident memory after the run: workers {', '.join(_f(m) for m in mem['workers'])} MB "
                 f"(master {_f(mem['master'])} MB; target ≤ 150 MB per worker: "
                 f"{'met' if top is not None and top <= 150 else 'missed'}).")
    lines.extend(transfer.report_lines(report.get("transfers") or {}))
    if report.get("raw_wsgi"):
        raw = report["raw_wsgi"]
        lines.append(f"Raw WSGI app on the same gunicorn argv: p50 {_f(raw['latency_ms'].get('p50'), 2)} ms, "
                     f"{_f(raw['concurrent']['rps'], 0)} req/s.")
    made = "reused" if ds["reused"] else f"generated in {ds.get('generate_seconds')} s"
    lines.append(f"Dataset: {made}; bench rows removed after the run: {report['cleaned_rows']}.")
    lines.append("")
    pending = "; ".join(f"{name} ({why})" for name, why in report["pending"])
    lines.append(f"Pending: {pending or 'nothing: every scenario of issue 5 is measured'}.")
    return "\n".join(lines)


def versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("contacts", "flask", "sqlalchemy", "gunicorn", "werkzeug", "jinja2", "flask-sqlalchemy", "psycopg"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    import sqlite3

    out["sqlite"] = sqlite3.sqlite_version
    return out


# --- main ------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    generate.add_arguments(parser)
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per scenario (>= 200 for p99)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--concurrent-seconds", type=float, help="time bound of each 8-client phase")
    parser.add_argument("--sequential-seconds", type=float, help="time bound of each one-client phase")
    parser.add_argument("--write-seconds", type=float, help="sustained writes duration (30; 10 with --small)")
    parser.add_argument("--results-dir", default=str(generate.BENCH_ROOT / "results"))
    parser.add_argument("--only", help="run only the scenarios whose name contains this text")
    parser.add_argument("--no-worker", action="store_true", help="do not start the huey consumer")
    parser.add_argument("--plugins", help="comma list of plugins the server enables (default: all four; '' = core alone)")
    parser.add_argument("--zipf-warmup", type=int, help="actions of the Zipf mix before its hit rate is measured, "
                        "counting its latency phases (full: 400,000, past the ~251,000 Zipf(1.1) over 446k needs for 90 %%; small: 3,000)")
    parser.add_argument("--zipf-warmup-seconds", type=float, help="time bound of the warm-up and of the measured "
                        "phase (full: 1,200; small: 20)")
    parser.add_argument("--zipf-measure", type=int, help="actions of the Zipf mix measured after the warm-up "
                        "(full: 5,000; small: 500)")
    args = parser.parse_args(argv)
    if args.zipf_warmup is None:
        args.zipf_warmup = 3_000 if args.small else 400_000
    if args.zipf_warmup_seconds is None:
        args.zipf_warmup_seconds = 20.0 if args.small else 1200.0
    if args.zipf_measure is None:
        args.zipf_measure = 500 if args.small else 5_000
    if args.concurrent_seconds is None:
        args.concurrent_seconds = 1.0 if args.small else 5.0
    if args.sequential_seconds is None:
        args.sequential_seconds = 2.0 if args.small else 30.0
    if args.write_seconds is None:
        args.write_seconds = 10.0 if args.small else 30.0
    if args.requests < 1 or args.clients < 1:
        parser.error("--requests and --clients must be positive")
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    params = generate.params_from_args(args)
    info = generate.ensure_dataset(params, Path(args.data_dir), args.database_url, log=log)
    env = info["env"]
    if args.plugins is not None:  # e.g. "" for the core alone: plugin scenarios report "route missing"
        env["CONTACTS_PLUGINS"] = args.plugins
    # room in the file store for every page the Zipf warm-up visits (~34,000 distinct at 1M)
    env.setdefault("CONTACTS_PAGE_CACHE_ENTRIES", str(max(20_000, args.zipf_warmup // 2)))
    log(f"dataset {'reused' if info['reused'] else 'generated'}: {info['counts']}")
    data_folder = Path(env["CONTACTS_INSTANCE_PATH"]).parent
    # every run starts with an empty shared page cache (a past run's entries are unreachable anyway:
    # its writes changed the stamps their keys hold) and does not pile up a past run's files
    shutil.rmtree(Path(env["CONTACTS_INSTANCE_PATH"]) / "page-cache", ignore_errors=True)
    server = Server(env, data_folder / "logs", with_worker=not args.no_worker)
    floor = Floor(env["CONTACTS_DATABASE_URL"], info["member"]["team_ids"])
    raw_server = None
    ctx = None
    report: dict = {}
    try:
        startup = server.start()
        log(f"server up on 127.0.0.1:{server.port} in {startup:.2f} s")
        ctx = Context(args, info, server, floor)
        ctx.base = ctx.login()
        health = Client(server.port).get("/healthz")
        if health.status == 200:
            bare = measure_bare(ctx, "/healthz", lambda: Client(server.port))
        else:
            bare = None
        raw_server = Server({**env}, data_folder / "logs", app="bench.bare:app", with_worker=False, probe_path="/")
        raw_server.start()
        raw = measure_bare(ctx, "/", lambda: Client(raw_server.port), "/ (bench.bare:app)")
        raw_server.stop()
        raw_server = None
        if bare is None:
            bare = raw
        counted = Server({**env}, data_folder / "logs", app="bench.counted:app", with_worker=False)
        counted.start()
        ctx.counted = raw_server = counted
        report = {
            "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": ("partial" if args.only else "small" if args.small
                     else "custom" if params != generate.params_for(**generate.DEFAULT) else "full"),
            "dataset": {**params, "counts": info["counts"], "contact_data_counts": info.get("contact_data_counts"),
                        "visible_to_member": len(ctx.visible),
                        "reused": info["reused"], "generate_seconds": info.get("generate_seconds")},
            "database": {"dialect": "sqlite" if floor.sqlite else "postgresql", "version": floor.version},
            "versions": versions(),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "machine": platform.machine(),
            "server": {"argv": server.argv, "workers": len(server.worker_pids())},
            "settings": {"requests": args.requests, "clients": args.clients,
                         "concurrent_seconds": args.concurrent_seconds, "write_seconds": args.write_seconds},
            "bare": bare,
            "raw_wsgi": raw if bare is not raw else None,
            "startup_seconds": round(startup, 3),
            "scenarios": [],
        }
        for scenario in make_scenarios(ctx):
            if args.only and args.only not in scenario.name:
                continue
            log(f"- {scenario.name}")
            report["scenarios"].append(measure(ctx, scenario, bare))
        counted.stop()
        ctx.counted = raw_server = None
        sustained = not args.only or "sustained" in args.only  # `--only sustained`: just this phase
        report["sustained_writes"] = sustained_writes(ctx) if sustained else {"status": "skipped", "reason": "--only"}
        pids = server.worker_pids()
        report["memory_mb"] = {"workers": [rss_mb(p) for p in pids], "master": rss_mb(server.proc.pid)}
        report["transfers"] = transfer.measure(ctx, args.only, log)  # CSV export and import (bench/transfer.py)
        server.stop(worker_too=False)
        report["restart_seconds"] = round(server.start(), 3)
        report["pending"] = PENDING + dashboard.pending(ctx)
    finally:
        server.stop()
        if raw_server is not None:
            raw_server.stop()
        floor.close()
        cleaned = cleanup(ctx) if ctx is not None else 0
    report["cleaned_rows"] = cleaned
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = markdown(report)
    print(text)
    results = Path(args.results_dir)
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = results / f"{stamp}-{report['mode']}-{report['database']['dialect']}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    if report["mode"] == "full" and not args.only and args.requests >= 200 and args.plugins is None:
        (results / "latest.md").write_text(text + "\n")
    log(f"wrote {out} ({report['total_seconds']} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
