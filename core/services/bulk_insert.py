"""Many rows into one table in one DBAPI ``executemany``, for the import's batches (thousands of
rows per statement).

SQLAlchemy's ``session.execute(insert(table), rows)`` builds and processes the parameters of every
row through the compiled statement (``construct_params``), which costs more per row than SQLite
takes to store it. Here the statement is written once, each column's own bind processor (JSON,
DateTime on SQLite, ...) converts the values, Python-side column defaults fill what a row leaves
out (as Core's insert does), and the session is told it was written around the unit of work (so
its commit expires loaded objects, and the cache stamps move on), as ``session.execute`` would.
"""

from __future__ import annotations

from operator import itemgetter

from sqlalchemy import insert

from ..extensions import db
from . import search, stamps


def insert_rows(table, rows: list[dict], ready: tuple = ()) -> int:
    """Insert ``rows`` (dicts by column name; a key missing from a row takes the column's default,
    else NULL) into ``table`` in the current transaction; returns how many. Columns named in
    ``ready`` hold values already in the database's form (e.g. a JSON column's text)."""
    if not rows:
        return 0
    if any(c.default is not None and not (c.default.is_scalar or c.default.is_callable) for c in table.columns):
        db.session.execute(insert(table), rows)  # a SQL expression or sequence default: SQLAlchemy's way
        return len(rows)
    session = db.session()
    conn = session.connection()
    dialect = conn.dialect
    names: dict = {}
    for row in rows:
        if not row.keys() <= names.keys():
            names.update(dict.fromkeys(row))
    # Columns with a Python-side default are always written, as Core's insert does.
    names.update(dict.fromkeys(c.name for c in table.columns if c.default is not None and c.name not in names))
    columns = [table.c[name] for name in names]
    fill = {}
    for column in columns:
        default = column.default
        if default is None:
            fill[column.name] = None
        elif default.is_scalar:
            fill[column.name] = default.arg
        elif default.is_callable:
            fill[column.name] = _Call(default.arg)
    processors = [None if c.name in ready else c.type._cached_bind_processor(dialect) for c in columns]
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    ordered = list(names)
    convert = [(i, p) for i, p in enumerate(processors) if p is not None]
    seen: dict = {}  # per converted column, the last value and its conversion (a batch's rows share their times)
    params = []
    whole = itemgetter(*ordered) if len(ordered) > 1 else lambda row: (row[ordered[0]],)
    for row in rows:
        if len(row) == len(ordered):  # every column (a row's keys are among them): one C call
            values = whole(row)
            if not convert:
                params.append(values)
                continue
            values = list(values)
        else:
            values = [row[name] if name in row else _filled(fill[name]) for name in ordered]
        for i, p in convert:
            v = values[i]
            last = seen.get(i)
            if last is not None and last[0] is v:
                values[i] = last[1]
            else:
                values[i] = p(v)
                seen[i] = (v, values[i])
        params.append(tuple(values))
    # New contacts are indexed for search by one statement after the batch (search.batch_indexed).
    # In id order whatever the rows' order: FTS5 writes its pending terms out whenever a rowid is
    # not above the last one.
    ids = sorted(row["id"] for row in rows) if all("id" in row for row in rows) else []
    with search.batch_indexed(conn, table.name, ids):
        conn.exec_driver_sql(sql, params)
    session.info["contacts_bulk_write"] = True  # see database._note_bulk_writes
    stamps.touch_shared(session)  # as stamps._bulk does for a bulk write through session.execute
    return len(params)


class _Call:
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


def _filled(value):
    return value.fn(None) if isinstance(value, _Call) else value
