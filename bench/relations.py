"""Scenarios for hierarchy and relationships: the org chart of the member's biggest organization
(its top level, and the biggest level under one person) and the reports-to picker's search.
The generator gives most contacts of an organization a manager there (generate._reporting_lines)."""

from __future__ import annotations

from urllib.parse import urlencode

from .client import BenchError


def add_scenarios(ctx, add, skip, missing) -> None:
    floor = ctx.floor
    found: dict = {}

    def biggest():
        if not found:
            org = floor.rows(f"SELECT c.organization_id, count(*) FROM contacts c WHERE {floor.visible} "
                             "AND c.organization_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
            # the visible manager with the most live reports in the same organization
            boss = floor.rows(f"SELECT c.id, count(*) FROM contacts c JOIN contacts r ON r.reports_to_id = c.id "
                              f"AND r.organization_id = c.organization_id AND r.deleted_at IS NULL "
                              f"WHERE {floor.visible} GROUP BY c.id ORDER BY 2 DESC, 1 LIMIT 1")
            found.update(org=org[0] if org else None, boss=boss[0] if boss else None)
        return found

    def fetch(c, path, headers=None):
        resp = c.web().get(path, headers=headers or {})
        missing(resp, path.split("?")[0])
        if resp.status != 200:
            raise BenchError(f"GET {path} answered {resp.status}")
        return resp

    def chart_setup(c, notes):
        org = biggest()["org"]
        if org is None:
            raise skip("no organization with visible contacts")
        path = f"/organizations/{org[0]}/chart"
        fetch(c, path)
        notes.append(f"organization {org[0]} with {org[1]:,} visible contacts; the top level, 50 a page")
        return lambda cl, _s, _i: cl.expect("GET", path)

    def level_setup(c, notes):
        boss = biggest()["boss"]
        if boss is None:
            raise skip("no contact with reports")
        org = floor.rows("SELECT organization_id FROM contacts WHERE id = ?", (boss[0],))[0][0]
        path = f"/organizations/{org}/chart/nodes?under={boss[0]}"
        headers = c.htmx_headers()
        fetch(c, path, headers)
        notes.append(f"contact {boss[0]} with {boss[1]:,} direct reports (all teams); one level, 50 a page")
        return lambda cl, _s, _i: cl.expect("GET", path, headers=headers)

    def picker_setup(c, notes):
        common = floor.rows(f"SELECT c.last_name FROM contacts c WHERE {floor.visible} "
                            "GROUP BY c.last_name ORDER BY count(*) DESC, 1 LIMIT 1")
        if not common:
            raise skip("no visible contacts")
        path = "/relations/pick/contacts?" + urlencode({"field": "reports_to_id", "reports_to_id_q": common[0][0][:3]})
        headers = c.htmx_headers()
        fetch(c, path, headers)
        notes.append(f"q={common[0][0][:3]!r} (a prefix of the most common surname), 20 options")
        return lambda cl, _s, _i: cl.expect("GET", path, headers=headers)

    add("org chart: biggest organization", "GET /organizations/<id>/chart (full page, the top level)", chart_setup)
    add("org chart: biggest level", "GET .../chart/nodes?under=<id> (HTMX), the person with most reports",
        level_setup)
    add("picker: reports-to search", "GET /relations/pick/contacts as you type (HTMX options)", picker_setup)
