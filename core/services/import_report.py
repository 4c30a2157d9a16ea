"""An import's problem report as a CSV a user can fix in a spreadsheet and upload again: the
file's own header and, per row that had a problem (rejected, or imported with a value left out),
its original cells, then ``Row`` (its number in the file) and ``Problem`` (each problem on a line
of the cell). Every cell is neutralized as the CSV export's (csv_export.neutralize: no formulas).
A vCard file (no cells) and the other jobs get ``item, problem``.

A job keeps every problem in ``job_problems`` (jobs.problems); the original cells are added once
the job has imported the file (``attach_cells``, before the upload is deleted), reading the file
again only when there were problems. The download is streamed, whatever its size. The CLI's
``--errors`` file is the same report (``write``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from sqlalchemy import bindparam, select, update

from ..database import end_read_snapshot, transaction
from ..extensions import db
from ..models import JobProblem
from . import csv_import
from .csv_export import neutralize

PLAIN = ["item", "problem"]
CHUNK = 500


def header(headers: list[str]) -> list[str]:
    """The report's header: the file's own, then Row and Problem."""
    return [*headers, "Row", "Problem"]


def header_of(params: dict) -> list[str] | None:
    """The header of a CSV import job's report; None for a vCard file."""
    if params.get("format") != "csv" or not params.get("layout"):
        return None
    return header(params["layout"]["headers"])


def rows(header: list[str] | None, problems: Iterable[tuple]) -> Iterator[list[str]]:
    """The report's lines after its header, from ``(ref, item, message, cells)`` in row order: one
    line per row (its problems joined), cells padded to the header (cells beyond it follow)."""
    width = len(header) - 2 if header else 0
    current, messages, kept = None, [], None
    for ref, item, message, cells in problems:
        key = ref if ref is not None else item
        if messages and key == current:
            messages.append(message)
            kept = kept or cells
            continue
        if messages:
            yield _line(header, width, current, messages, kept)
        current, messages, kept = key, [message], cells
    if messages:
        yield _line(header, width, current, messages, kept)


def _line(header, width: int, ref, messages: list, cells) -> list[str]:
    text = "\n".join(messages)
    if header is None:
        return [neutralize(str(ref)), neutralize(text)]
    cells = [str(c) for c in cells or ()]
    own = cells[:width] + [""] * (width - len(cells))
    more = cells[width:] if any(c.strip() for c in cells[width:]) else []  # a row longer than the header
    return [*(neutralize(c) for c in own), str(ref), neutralize(text), *(neutralize(c) for c in more)]


def chunks(job) -> Iterator[str]:
    """The job's report as CSV text, a chunk at a time (for a streamed download)."""
    from . import jobs

    header = header_of(job.params or {}) if job.kind == "contacts.import" else None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_head(header))
    yield ("\ufeff" if header else "") + _take(buffer)
    for n, line in enumerate(rows(header, jobs.problems(job)), start=1):
        writer.writerow(line)
        if n % CHUNK == 0:
            yield _take(buffer)
    yield _take(buffer)


def _head(header: list[str] | None) -> list[str]:
    return [neutralize(h) for h in header] if header else PLAIN


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def write(out, header: list[str] | None, problems: Iterable[tuple]) -> None:
    """The report into the text file ``out`` (the CLI's ``--errors``)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_head(header))
    writer.writerows(rows(header, problems))


def with_cells(path: str, layout, problems: list[tuple[int, str]]) -> list[tuple]:
    """``(ref, message)`` problems of a CSV file as ``(ref, item, message, cells)``, in row order."""
    ordered = sorted(problems, key=lambda p: p[0])
    cells = dict(csv_import.rows_at(path, layout, {ref for ref, _m in ordered if isinstance(ref, int)}))
    return [(ref, str(ref), message, cells.get(ref)) for ref, message in ordered]


def attach_cells(job_id: int, path: str, layout) -> int:
    """Add the original cells to the job's problems that lack them; returns how many rows."""
    table = JobProblem.__table__
    end_read_snapshot(db.session())  # the batches' problems were committed meanwhile (maybe on another thread)
    refs = set(db.session.scalars(
        select(table.c.ref).where(table.c.job_id == job_id, table.c.ref.is_not(None), table.c.cells.is_(None))))
    if not refs:
        return 0
    stmt = (update(table).where(table.c.job_id == bindparam("j"), table.c.ref == bindparam("r"))
            .values(cells=bindparam("c")))
    done, batch = 0, []
    for number, cells in csv_import.rows_at(path, layout, refs):
        batch.append({"j": job_id, "r": number, "c": cells})
        if len(batch) >= CHUNK:
            done += _update(stmt, batch)
            batch = []
    if batch:
        done += _update(stmt, batch)
    return done


def _update(stmt, batch: list) -> int:
    with transaction():
        db.session.execute(stmt, batch)
    return len(batch)
