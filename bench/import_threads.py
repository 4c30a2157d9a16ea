"""Where an import's two threads spend their time, batch by batch (``bench.import_floor capture --threads``).

The writer thread (import_pipeline.Writer) and the job's thread share one GIL. Per batch this records,
from the kernel's own per-thread accounting (``/proc/self/task/<tid>/schedstat``: time on a core, and
time runnable but waiting for one), rather than from the wall clock alone:

- the writer's batch: wall, on-core (``run``), waiting for a core (``queue``: the machine's load), and
  the rest (``off``: asleep, which for this thread is waiting for the GIL: SQLite's writes to the
  log go to the page cache, and nothing else makes it sleep inside a batch); the same split for the
  time inside the driver (every statement, COMMIT included: ``sql``) and outside it (its Python);
- the job's thread: how long it sat in ``Writer.wait`` (idle: the writer was behind), and the same
  split of its whole time.

``off`` is what the load does not explain: with the GIL free when a thread wants it, it would be ~0.
"""

from __future__ import annotations

import statistics
import threading
import time

_TASK = "/proc/self/task/{}/schedstat"


def sched() -> tuple[float, float, float]:
    """(wall, seconds on a core, seconds runnable but waiting for a core) of the calling thread."""
    with open(_TASK.format(threading.get_native_id())) as fh:
        run, queue, _slices = fh.read().split()
    return time.perf_counter(), int(run) / 1e9, int(queue) / 1e9


def _split(start: tuple, end: tuple) -> tuple[float, float, float, float]:
    wall, run, queue = (e - s for s, e in zip(start, end, strict=True))
    return wall, run, queue, wall - run - queue


class Timeline:
    """Installs the hooks (``install``), collects per batch, prints medians and totals (``report``)."""

    def __init__(self):
        self.batches: list[dict] = []  # one per batch the writer ran
        self.waits: list[float] = []  # the job thread's idle time in each Writer.wait that waited
        self._sql = None  # the writer's running batch: [wall, run, queue, off] inside the driver
        self._job_start = None
        self.job: tuple | None = None

    def install(self, engine) -> None:
        from sqlalchemy import event

        from core.services import import_pipeline

        timeline = self
        submit, wait = import_pipeline.Writer.submit, import_pipeline.Writer.wait

        def timed_submit(self, work):
            def timed():
                timeline._sql = [0.0, 0.0, 0.0, 0.0]
                start = sched()
                try:
                    work()
                finally:
                    total = _split(start, sched())
                    timeline.batches.append({"total": total, "sql": tuple(timeline._sql)})
                    timeline._sql = None
            submit(self, timed)

        def timed_wait(self):
            if not self.busy:
                return wait(self)
            started = time.perf_counter()
            try:
                return wait(self)
            finally:
                timeline.waits.append(time.perf_counter() - started)

        import_pipeline.Writer.submit, import_pipeline.Writer.wait = timed_submit, timed_wait
        starts: dict = {}

        def before(conn, cursor, statement, parameters, context, executemany):
            if timeline._sql is not None and threading.current_thread().name == "import-writer":
                starts[threading.get_ident()] = sched()

        def after(conn, cursor, statement, parameters, context, executemany):
            start = starts.pop(threading.get_ident(), None)
            if start is not None and timeline._sql is not None:
                for i, v in enumerate(_split(start, sched())):
                    timeline._sql[i] += v

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        dialect = engine.dialect
        do_commit = dialect.do_commit

        def timed_commit(dbapi_connection):
            if timeline._sql is None or threading.current_thread().name != "import-writer":
                return do_commit(dbapi_connection)
            start = sched()
            try:
                return do_commit(dbapi_connection)
            finally:
                for i, v in enumerate(_split(start, sched())):
                    timeline._sql[i] += v

        dialect.do_commit = timed_commit

    def job_started(self) -> None:
        self._job_start = sched()

    def job_ended(self) -> None:
        self.job = _split(self._job_start, sched())

    def report(self, rows: int) -> str:
        if not self.batches:
            return "threads: no batch went through the writer thread"
        n = len(self.batches)
        per_row = 1e6 / rows

        def cols(values) -> str:
            wall, run, queue, off = values
            return f"wall {wall:6.3f}  on-core {run:6.3f}  waiting-for-core {queue:6.3f}  asleep {off:6.3f}"

        def total(key):
            return tuple(sum(b[key][i] for b in self.batches) for i in range(4))

        def median(key):
            return tuple(statistics.median(b[key][i] for b in self.batches) * 1e3 for i in range(4))

        whole, sql = total("total"), total("sql")
        python = tuple(a - b for a, b in zip(whole, sql, strict=True))
        mw, ms = median("total"), median("sql")
        lines = [
            f"threads ({n} batches, seconds over the import; µs a row in brackets):",
            f"  writer, whole batch : {cols(whole)}  [{whole[1] * per_row:.0f} on-core, {whole[3] * per_row:.0f} asleep]",
            f"  writer, in the driver: {cols(sql)}  [{sql[1] * per_row:.0f} on-core, {sql[3] * per_row:.0f} asleep]",
            f"  writer, its Python   : {cols(python)}  [{python[1] * per_row:.0f} on-core, {python[3] * per_row:.0f} asleep]",
            f"  writer, median batch (ms): whole wall {mw[0]:.1f} on-core {mw[1]:.1f} asleep {mw[3]:.1f}; "
            f"driver wall {ms[0]:.1f} on-core {ms[1]:.1f} asleep {ms[3]:.1f}",
            f"  job thread idle in Writer.wait: {sum(self.waits):.3f} s over {len(self.waits)} waits "
            f"(median {statistics.median(self.waits) * 1e3 if self.waits else 0:.1f} ms)",
        ]
        if self.job is not None:
            lines.append(f"  job thread, whole job: {cols(self.job)}  (asleep includes the idle waits above)")
        return "\n".join(lines)
