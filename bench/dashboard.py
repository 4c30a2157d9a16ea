"""The dashboard scenarios: the page with every widget it loads lazily, and the communications
aggregate alone (``/communications/widget``: this month, and the last 12 months by channel and
direction, read from ``communications_rollup``), checked against a direct count."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from .client import BenchError

WIDGET = "/communications/widget"
THIS_MONTH = re.compile(r"<strong>([\d,]+)</strong> this month")


def _month_bounds(now: datetime) -> tuple[datetime, datetime, datetime]:
    """The start of the month 11 months back, of this month and of the next (naive UTC)."""
    total = now.year * 12 + now.month - 1

    def month(n: int) -> datetime:
        return datetime(n // 12, n % 12 + 1, 1)

    return month(total - 11), month(total), month(total + 1)


def add_scenarios(ctx, add, skip, missing, panel_urls) -> None:
    floor = ctx.floor

    def page_setup(c, notes):
        client = c.web()
        resp = client.get("/dashboard")
        missing(resp, "/dashboard")
        if resp.status != 200:
            raise BenchError(f"GET /dashboard answered {resp.status}")
        panels = panel_urls(resp.text)
        c.dashboard_panels = panels
        notes.append(f"page + {len(panels)} lazy widgets: {', '.join(u.split('?')[0] for u in panels) or 'none'}")
        headers = c.htmx_headers()

        def action(cl, _s, _i):
            cl.expect("GET", "/dashboard")
            for url in panels:
                cl.expect("GET", url, headers=headers)

        return action

    def param(value: datetime):
        return value.isoformat(" ") if floor.sqlite else value

    def widget_setup(c, notes):
        headers = c.htmx_headers()
        resp = c.web().get(WIDGET, headers=headers)
        missing(resp, WIDGET)
        if resp.status != 200:
            raise BenchError(f"GET {WIDGET} answered {resp.status}")
        first, start, nxt = _month_bounds(datetime.now(UTC))
        shown = THIS_MONTH.search(resp.text)
        t0 = time.perf_counter()
        direct = floor.rows(f"SELECT count(*) FROM communications m JOIN contacts c ON c.id = m.contact_id "
                            f"WHERE {floor.visible} AND m.scheduled_at >= ? AND m.scheduled_at < ?",
                            (param(start), param(nxt)))[0][0]
        month_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        floor.rows(f"SELECT m.type, m.direction, count(*) FROM communications m JOIN contacts c ON c.id = m.contact_id "
                   f"WHERE {floor.visible} AND m.scheduled_at >= ? AND m.scheduled_at < ? GROUP BY 1, 2",
                   (param(first), param(nxt)))
        year_ms = (time.perf_counter() - t0) * 1000
        if shown is None or int(shown.group(1).replace(",", "")) != direct:
            notes.append(f"unverified: the widget shows {shown.group(1) if shown else 'no count'} this month, "
                         f"a direct count {direct:,}")
        else:
            notes.append(f"this month: {direct:,} communications of the member's contacts (a direct count agrees)")
        notes.append(f"without the rollup, the direct counts take {month_ms:,.0f} ms (this month) and "
                     f"{year_ms:,.0f} ms (12 months by channel and direction)")
        return lambda cl, _s, _i: cl.expect("GET", WIDGET, headers=headers)

    def widget_floor(_i):
        first, start, _nxt = _month_bounds(datetime.now(UTC))
        floor.rows(f"SELECT month, type, direction, sum(count) FROM communications_rollup WHERE month >= ? "
                   f"AND month <= ? AND team_id IN ({floor.teams}) GROUP BY 1, 2, 3",
                   (f"{first:%Y-%m}", f"{start:%Y-%m}"))

    add("dashboard", "GET /dashboard and every widget it loads lazily", page_setup)
    add("dashboard: communications aggregate", f"GET {WIDGET} (HTMX): this month and the last 12 months by "
        "channel and direction over the member's communications", widget_setup, widget_floor)


def pending(ctx) -> list[tuple[str, str]]:
    """The dashboard aggregate is measured only once a route serves it."""
    panels = getattr(ctx, "dashboard_panels", None)
    if panels is None:
        return []  # not run (--only)
    if not any("communication" in url for url in panels):
        return [("dashboard aggregate over the communications", "/dashboard has no communications widget")]
    return []
