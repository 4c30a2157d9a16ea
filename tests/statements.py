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
