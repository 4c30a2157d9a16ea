"""The SQL floor: each scenario's own queries run directly through the database driver.

sqlite3 (with the app's connection pragmas) or psycopg, no SQLAlchemy, no Flask: the time the
database itself needs, which the HTTP figure can only approach.
"""

from __future__ import annotations

import sqlite3
import time

from sqlalchemy.engine import make_url

from .client import percentiles

ORG_JOIN = (" LEFT JOIN organizations o ON o.id = c.organization_id LEFT JOIN teams ot ON ot.id = o.owner_team_id"
            " JOIN teams t ON t.id = c.owner_team_id")


class Floor:
    def __init__(self, database_url: str, team_ids: list[int]):
        url = make_url(database_url)
        self.sqlite = url.get_backend_name() == "sqlite"
        if self.sqlite:
            self.conn = sqlite3.connect(url.database, isolation_level=None, check_same_thread=False)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000", "foreign_keys=ON",
                           "cache_size=-8000"):  # the app's (CONTACTS_SQLITE_CACHE_KIB)
                self.conn.execute(f"PRAGMA {pragma}")
            self.version = sqlite3.sqlite_version
        else:
            import psycopg

            conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = psycopg.connect(conninfo, autocommit=True)
            self.version = self.conn.execute("SHOW server_version").fetchone()[0]
        teams = ", ".join(str(int(t)) for t in team_ids) or "-1"
        self.teams = teams
        self.visible = f"c.deleted_at IS NULL AND c.owner_team_id IN ({teams})"

    def close(self) -> None:
        self.conn.close()

    def _sql(self, sql: str) -> str:
        return sql if self.sqlite else sql.replace("?", "%s")

    def rows(self, sql: str, params=()) -> list:
        cur = self.conn.execute(self._sql(sql), params)
        return cur.fetchall()

    def write(self, statements) -> None:
        """Run ``[(sql, params), ...]`` in one write transaction and commit."""
        self.conn.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        try:
            for sql, params in statements:
                self.conn.execute(self._sql(sql), params)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def measure(self, fn, count: int, seconds: float = 1e9) -> dict:
        samples = []
        started = time.perf_counter()
        for i in range(count):
            if time.perf_counter() - started > seconds:
                break
            t0 = time.perf_counter()
            fn(i)
            samples.append((time.perf_counter() - t0) * 1000)
        return percentiles(samples)

    # --- the scenarios' queries ---------------------------------------------------------------

    def list_page(self, where: str = "", params=(), limit: int = 51) -> list:
        sql = (f"SELECT c.*, o.*, ot.*, t.* FROM contacts c{ORG_JOIN} WHERE {self.visible}{where} "
               f"ORDER BY c.sort_name, c.id LIMIT {int(limit)}")
        return self.rows(sql, params)

    def search_where(self, q: str) -> tuple[str, tuple]:
        """The app's full-text condition (core.services.search): the same MATCH string built by its
        public helpers, the same id list (contact hits UNION ALL contacts of matching organizations),
        and the same "+ 0" switch when a query hits a tenth of the contacts (the app's bounded count
        runs first, as it does per request)."""
        from core.services import search

        parsed = search.Parsed(q)
        if parsed.empty:
            return " AND 0", ()
        parts = search.sorted_parts(q) if self.sqlite and hasattr(search, "sorted_parts") else None
        if parts:
            return self._sorted_search_where(parsed, *parts)
        if self.sqlite:
            match = search.fts5_query(parsed)
            sql = f"SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH ?"
            params = [match]
            if parsed.terms and not parsed.emails:
                sql += (f" UNION ALL SELECT c2.id FROM contacts c2 WHERE c2.organization_id IN "
                        f"(SELECT rowid FROM {search.ORG_FTS_TABLE} WHERE {search.ORG_FTS_TABLE} MATCH ?)")
                params.append(" ".join('"' + t.replace('"', '""') + '"*' for t in parsed.terms))
            id_expr = "c.id + 0" if self._very_common(match) else "c.id"
            conds = [f"{id_expr} IN ({sql})"]
        else:
            words = parsed.terms + [w for _raw, ws in parsed.emails for w in ws]
            tsq = search.tsquery_string(words)
            cond = "c.search_vector @@ to_tsquery('simple', contacts_search_fold(?))"
            params = [tsq]
            if not parsed.emails:
                cond = (f"({cond} OR c.organization_id = ANY(ARRAY(SELECT o2.id FROM organizations o2 WHERE "
                        "contacts_search_org_vector(o2.name) @@ to_tsquery('simple', contacts_search_fold(?)))))")
                params.append(tsq)
            conds = [cond]
        for raw, _words in parsed.emails:
            conds.append("c.email_key LIKE ? ESCAPE '\\'")
            params.append(raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        return " AND " + " AND ".join(conds), tuple(params)

    def _sorted_search_where(self, parsed, starts: list[str], rest: str) -> tuple[str, tuple]:
        """SQLite, by name (core.services.search.sorted_legs): the first page of each sort-index
        range of the typed words, and of the other hits (contacts' FTS hits outside the ranges and
        contacts of matching organizations), their union then sorted by the page query."""
        from core.services import search

        visible = self.visible.replace("c.", "c3.")
        legs, params = [], []
        for start in starts:
            legs.append(f"{visible} AND c3.sort_name >= ? AND c3.sort_name < ? AND "
                        + search.PLAIN_SORT_NAME.format(x="c3.sort_name"))
            params += [start, search.range_end(start)]
        org = " ".join('"' + t.replace('"', '""') + '"*' for t in parsed.terms)
        id_expr = "c3.id + 0" if self._very_common(rest) else "c3.id"
        legs.append(f"+{visible} AND {id_expr} IN (SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} "
                    f"MATCH ? UNION ALL SELECT c2.id FROM contacts c2 WHERE c2.organization_id IN "
                    f"(SELECT rowid FROM {search.ORG_FTS_TABLE} WHERE {search.ORG_FTS_TABLE} MATCH ?))")
        params += [rest, org]
        union = " UNION ALL ".join(f"SELECT id FROM (SELECT c3.id FROM contacts c3 WHERE {leg} "
                                   "ORDER BY c3.sort_name, c3.id LIMIT 51)" for leg in legs)
        return f" AND c.id IN ({union})", tuple(params)

    def _very_common(self, match: str) -> bool:
        from core.services import search

        top = self.rows("SELECT max(id) FROM contacts")[0][0] or 0
        cap = max(search.COMMON_HITS, top // 10)
        if top < cap:
            return False
        found = self.rows(f"SELECT count(*) FROM (SELECT 1 FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} "
                          "MATCH ? LIMIT ?)", (match, cap))[0][0]
        return found >= cap

    def contact(self, contact_id: int) -> list:
        return self.rows(f"SELECT c.*, o.*, ot.*, t.* FROM contacts c{ORG_JOIN} WHERE c.id = ?", (contact_id,))

    def timeline(self, contact_id: int, limit: int = 50) -> list:
        return self.rows("SELECT * FROM communications WHERE contact_id = ? ORDER BY scheduled_at DESC, id DESC "
                         f"LIMIT {int(limit) + 1}", (contact_id,))

    def timeline_panel(self, contact_id: int, limit: int = 20) -> list:
        """The timeline panel: the contact (with its organization), one keyset page of its
        communications newest first, and their authors."""
        self.contact(contact_id)
        rows = self.rows("SELECT * FROM communications WHERE contact_id = ? ORDER BY scheduled_at DESC, id DESC "
                         f"LIMIT {int(limit) + 1}", (contact_id,))
        self.rows("SELECT * FROM users WHERE id IN (SELECT p.created_by_id FROM (SELECT created_by_id FROM "
                  "communications WHERE contact_id = ? ORDER BY scheduled_at DESC, id DESC "
                  f"LIMIT {int(limit) + 1}) p)", (contact_id,))
        return rows

    def communications_page(self, comm_type: str, limit: int = 50) -> list:
        """The global communications list with a type filter: the correlated EXISTS on the visible
        contacts, newest first, one page, then the page's contacts."""
        rows = self.rows(
            "SELECT m.contact_id, m.* FROM communications m WHERE EXISTS (SELECT c.id FROM contacts c WHERE c.id = m.contact_id "
            f"AND {self.visible}) AND m.type = ? ORDER BY m.scheduled_at DESC, m.id DESC LIMIT {int(limit) + 1}",
            (comm_type,))
        ids = sorted({r[0] for r in rows}) or [-1]
        self.rows(f"SELECT * FROM contacts WHERE id IN ({', '.join(str(int(i)) for i in ids)})")
        return rows

    def org_page(self) -> list:
        return self.rows("SELECT o.*, t.* FROM organizations o JOIN teams t ON t.id = o.owner_team_id "
                         f"WHERE o.deleted_at IS NULL AND o.owner_team_id IN ({self.teams}) ORDER BY o.name_key, o.id LIMIT 51")
