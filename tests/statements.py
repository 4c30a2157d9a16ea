"""The SQL statements a block of a test runs, as the engine sends them: for tests that count what a
page or a write costs."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from core.extensions import db


@contextmanager
def captured(app, *, selects_only: bool = False):
    """Yield the list the statements run inside the block are appended to (only SELECTs when
    ``selects_only``: BEGIN/SAVEPOINT and writes left out)."""
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        if not selects_only or statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def plan(stmt, *, sort: bool = True) -> str:
    """The plan the database picks for ``stmt`` (SQLite: EXPLAIN QUERY PLAN's details; PostgreSQL:
    EXPLAIN's lines), joined by " | ". ``sort=False`` (PostgreSQL): plans with a Sort are refused,
    for a test that the order comes from an index."""
    bind = db.session.get_bind()
    compiled = stmt.compile(bind, compile_kwargs={"render_postcompile": True})
    conn = db.session.connection()
    if bind.dialect.name == "sqlite":
        params = tuple(compiled.params[k] for k in compiled.positiontup)
        return " | ".join(r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params))
    if not sort:
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
    return " | ".join(conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
