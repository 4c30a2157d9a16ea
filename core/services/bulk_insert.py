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
    width = len(ordered)
    if all(len(row) == width for row in rows):  # every row has every column (its keys are among them)
        # Column by column: the rows' values by one C call each, then each column to convert at once.
        whole = itemgetter(*ordered) if width > 1 else lambda row: (row[ordered[0]],)
        params = list(map(whole, rows))
        if convert:
            columns = list(zip(*params, strict=True))
            for i, p in convert:
                columns[i] = _converted(columns[i], p)
            params = list(zip(*columns, strict=True))
    else:
        params = []
        for row in rows:
            values = [row[name] if name in row else _filled(fill[name]) for name in ordered]
            for i, p in convert:
                values[i] = p(values[i])
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


def _converted(values: tuple, convert) -> tuple | list:
    """``convert`` of each of a column's ``values``, called once per run of the same object (a
    batch's rows share their times: often one call for the whole column)."""
    first = values[0]
    if all(v is first for v in values):
        return (convert(first),) * len(values)
    out = []
    last, done = first, convert(first)
    for v in values:
        if v is not last:
            last, done = v, convert(v)
        out.append(done)
    return out


class _Call:
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


def _filled(value):
    return value.fn(None) if isinstance(value, _Call) else value
