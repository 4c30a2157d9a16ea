"""Prebuilt Core statements run as the driver's SQL, for the few statements every write sends.

SQLAlchemy runs a prebuilt statement by looking up its compiled form in the statement cache, then
building an execution context around it: ~80 Python calls a statement, where
``Connection.exec_driver_sql`` with the same SQL text takes ~40. An API create sends five such
statements (the contact's row, its status history, the audit chain's last hash and entry, the
activity feed's entry), an update four. ``DriverStatement`` compiles its statement once per dialect
(the SQL text, its parameters' order, their bind processors: SQLite stores times as text) and runs
it with ``exec_driver_sql``: the connection's events still see it (statement counts, the
transaction's hooks), and the database receives what SQLAlchemy would have sent.

For statements of plain bind parameters only (no expanding ``IN``, no literal binds); their results
come back as the driver gives them (use it for writes, and reads of plain text or integers).
"""

from __future__ import annotations


class DriverStatement:
    def __init__(self, statement, keys: tuple[str, ...] | None = None):
        """``keys``: the parameters an ``insert()``/``update()`` without ``values()`` is given (its
        columns are those)."""
        self.statement = statement
        self.keys = list(keys) if keys else None
        self._by_dialect: dict = {}

    def _compiled(self, dialect):
        found = self._by_dialect.get(dialect)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.keys)
            defaults, processors = {}, {}
            for bind, name in compiled.bind_names.items():
                if not bind.required and bind.value is not None and not bind.callable:  # the statement's own (a LIMIT)
                    defaults[name] = bind.value
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            names = list(compiled.positiontup) if compiled.positional else list(compiled.bind_names.values())
            found = self._by_dialect[dialect] = (compiled.string, names, defaults, processors, compiled.positional)
        return found

    def execute(self, conn, params: dict | None = None):
        """Run on ``conn`` (a ``Connection``) with ``params`` by bind name; the driver's result."""
        sql, names, defaults, processors, positional = self._compiled(conn.dialect)
        values = defaults if not params else {**defaults, **params}
        if processors:
            values = {name: (processors[name](value) if name in processors else value)
                      for name, value in values.items()}
        return conn.exec_driver_sql(sql, tuple([values[name] for name in names]) if positional else values)
