"""CSV export and import through the production server (issue 5: "CSV import of 100,000 rows
(rows/s, end to end with validation) and export of 1,000,000 rows (rows/s and peak memory)").

- Export: ``GET /api/v1/exports/contacts.csv`` with the bench admin's token (every live contact:
  the whole dataset; the member would see ~45 %), read as it streams and counted line by line; the
  resident size of every gunicorn worker is sampled from ``/proc`` every 20 ms meanwhile, and the
  report gives the serving worker's size before and at its peak.
- Import: ``POST /api/v1/imports`` (multipart, the member's token) of a generated CSV (names in
  several scripts, 90 % with an email, phones written the ways people write them, 70 % at one of
  the member's organizations, 0.3 % with a broken email: kept without it, with a warning), then
  ``GET /api/v1/jobs/<id>`` every 0.2 s until the huey worker the bench started has finished it.
  rows/s = rows in the file / (upload sent → job seen done): upload, validation, the writes and
  the queue wait together. Every imported contact has an email at ``write.bench.example.org``
  and is removed with the other bench rows at the end.

``python -m bench.import_speed`` still gives the in-process figure (no HTTP, no worker, a fresh
database) for comparison.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import uuid
from datetime import datetime

from .client import HOST, BenchError
from .server import rss_mb

IMPORT_TARGET = 10_000  # rows/s
EXPORT_ROWS = 1_000_000
IMPORT_ROWS = 100_000
FIRST = ["Ada", "Grace", "Alan", "Zoë", "José", "Łukasz", "Nguyễn", "美咲", "Ingrid", "Olúwásẹ́un", "Renée", "Søren"]
LAST = ["Lovelace", "Hopper", "Turing", "Müller", "García", "Kowalski", "Trần", "佐藤", "O'Brien", "Smith", "Dubois"]
AREAS = ["212", "303", "415", "617", "801", "312", "206", "512"]


def import_rows(contacts: int) -> int:
    """100,000 rows against the full dataset; a fifth of the contacts on smaller ones."""
    return IMPORT_ROWS if contacts >= 1_000_000 else max(100, min(IMPORT_ROWS, contacts // 5))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` so far (/proc/<pid>/stat), a figure the machine's load
    does not inflate."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: PTH123, SIM115
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """The peak resident size of each pid, read from /proc every ``interval`` seconds, and the CPU
    time each spent meanwhile."""

    def __init__(self, pids: list[int], interval: float = 0.02):
        super().__init__(daemon=True)
        self.pids, self.interval = pids, interval
        self.cpu = {pid: cpu_seconds(pid) for pid in pids}
        self.before = {pid: rss_mb(pid) for pid in pids}
        self.peak = dict(self.before)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            for pid in self.pids:
                now = rss_mb(pid)
                if now is not None and now > (self.peak.get(pid) or 0):
                    self.peak[pid] = now

    def stop(self) -> dict:
        self.halt.set()
        self.join()
        spent = {pid: (cpu_seconds(pid) or 0) - (self.cpu.get(pid) or 0) for pid in self.pids}
        busy = max(self.pids, key=lambda p: spent[p], default=None)  # the worker that served the export
        if busy is None:
            return {}
        return {"pid": busy, "before": self.before.get(busy), "peak": self.peak.get(busy),
                "cpu_seconds": round(spent[busy], 2)}


def export_csv(ctx) -> dict:
    admin = ctx.info.get("admin")
    token, who = (admin["api_token"], "admin: every live contact") if admin else (ctx.token, "member: the ~45 % it sees")
    expected_sql = ("SELECT count(*) FROM contacts WHERE deleted_at IS NULL" if admin else
                    f"SELECT count(*) FROM contacts c WHERE {ctx.floor.visible}")
    expected = ctx.floor.rows(expected_sql)[0][0]
    sampler = RssSampler(ctx.server.worker_pids())
    sampler.start()
    conn = http.client.HTTPConnection(HOST, ctx.server.port, timeout=900)
    lines = size = 0
    try:
        started = time.perf_counter()
        conn.request("GET", "/api/v1/exports/contacts.csv", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise BenchError(f"GET /api/v1/exports/contacts.csv answered {resp.status}: {resp.read(300)!r}")
        first_byte = time.perf_counter() - started
        try:
            while chunk := resp.read(1 << 20):
                lines += chunk.count(b"\n")
                size += len(chunk)
        except http.client.IncompleteRead as exc:  # the server dropped the stream (e.g. a worker timeout)
            lines += exc.partial.count(b"\n")
            size += len(exc.partial)
            cut = time.perf_counter() - started
        else:
            cut = None
        seconds = time.perf_counter() - started
    finally:
        conn.close()
        memory = sampler.stop()
    rows = max(0, lines - 1)  # the header line (no value holds a line break in this dataset)
    out = {"status": "ok", "user": who, "rows": rows, "expected_rows": expected, "bytes": size,
           "seconds": round(seconds, 2), "first_byte_seconds": round(first_byte, 3),
           "rows_per_s": round(rows / seconds), "worker_rss_mb": memory}
    if memory.get("cpu_seconds"):
        out["rows_per_cpu_s"] = round(rows / memory["cpu_seconds"])
    if cut is not None:
        out.update(status="error", reason=f"the stream ended after {cut:.1f} s and {rows:,} of {expected:,} rows "
                   f"({rows / cut:,.0f} rows/s until then): see the gunicorn log (WORKER TIMEOUT?)")
    elif rows != expected:
        out["note"] = f"unverified: {rows:,} data lines for {expected:,} contacts"
    return out


def _csv(ctx, rows: int, seed: int = 7) -> tuple[bytes, str]:
    """The import file and the tag its emails share."""
    from .run import WRITE_DOMAIN

    rng = random.Random(seed)
    tag = f"imp{ctx.run_tag}"
    orgs = [name for (name,) in ctx.floor.rows(
        f"SELECT o.name FROM organizations o WHERE o.deleted_at IS NULL AND o.owner_team_id IN ({ctx.floor.teams}) "
        "ORDER BY o.id LIMIT 2000")] or [""]
    out = ["First Name,Last Name,E-mail Address,Mobile Phone,Company,Job Title"]
    for i in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{tag}.{i}"
        email = f"{local}@{WRITE_DOMAIN}"
        if rng.random() < 0.003:
            email = f"{local}.{WRITE_DOMAIN}"  # no @: the contact is kept without it and the row reported (a warning)
        r = rng.random()
        number = f"{rng.choice(AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        phone = (f"+1 {number[:3]} {number[3:6]} {number[6:]}" if r < 0.3 else
                 f"({number[:3]}) {number[3:6]}-{number[6:]}" if r < 0.6 else number if r < 0.8 else "")
        org = rng.choice(orgs).replace('"', '""') if rng.random() < 0.7 else ""
        title = rng.choice(["", "Engineer", "Director, Sales", "Owner"])
        out.append(f'{first},{last},{email},{phone},"{org}","{title}"')
    return ("\r\n".join(out) + "\r\n").encode(), tag


def import_csv(ctx, rows: int) -> dict:
    if ctx.server.worker is None:
        return {"status": "skipped", "reason": "no huey worker (--no-worker)"}
    data, tag = _csv(ctx, rows)
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nemail\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench-import.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    client = ctx.api()
    consumer = ctx.server.worker.pid
    cpu_before = cpu_seconds(consumer)
    started = time.perf_counter()
    resp = client.request("POST", "/api/v1/imports", body=body,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    if resp.status == 404:
        return {"status": "skipped", "reason": "route missing: /api/v1/imports"}
    if resp.status != 202:
        raise BenchError(f"POST /api/v1/imports answered {resp.status}: {resp.text[:300]}")
    accepted = time.perf_counter() - started
    job_id = json.loads(resp.body)["id"]
    deadline = started + max(900, rows / 50)
    failed_polls: dict[str, int] = {}
    while True:
        got = client.request("GET", f"/api/v1/jobs/{job_id}")
        if got.status != 200:  # recorded and asked again: the job goes on without the poll
            failed_polls[str(got.status)] = failed_polls.get(str(got.status), 0) + 1
            job = {"status": "unknown"}
        else:
            job = json.loads(got.body)
        if job["status"] in ("done", "failed", "cancelled"):
            break
        if time.perf_counter() > deadline:
            raise BenchError(f"import job {job_id} still {job['status']} ({job.get('done')} done) after "
                             f"{time.perf_counter() - started:.0f} s")
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    cpu = (cpu_seconds(consumer) or 0) - (cpu_before or 0)
    client.close()
    from .run import WRITE_DOMAIN

    made = ctx.floor.rows("SELECT count(*) FROM contacts WHERE email_key LIKE ?", (f"{tag}.%@{WRITE_DOMAIN}",))[0][0]
    summary = (job.get("result") or {}).get("summary")
    out = {"status": "ok" if job["status"] == "done" else "error", "job_status": job["status"], "rows": rows,
           "bytes": len(data), "seconds": round(seconds, 2), "upload_accepted_seconds": round(accepted, 3),
           "rows_per_s": round(rows / seconds), "contacts_created": made, "job_errors": job.get("error_count"),
           "summary": summary, "job": {k: job.get(k) for k in ("id", "created_at", "started_at", "finished_at")},
           "worker_cpu_seconds": round(cpu, 2), "rows_per_cpu_s": round(rows / cpu) if cpu > 0 else None,
           "failed_polls": failed_polls}
    stamps = [job.get(k) for k in ("created_at", "started_at", "finished_at")]
    if all(stamps):
        created, began, ended = (datetime.fromisoformat(v) for v in stamps)
        out["queued_seconds"] = round((began - created).total_seconds(), 2)
        out["job_seconds"] = round((ended - began).total_seconds(), 2)
    if job["status"] != "done":
        out["reason"] = job.get("message") or job["status"]
    return out


def measure(ctx, only: str | None, log) -> dict:
    """Both transfers (each skipped when ``--only`` names neither)."""
    out = {}
    for name, run in (("CSV export", lambda: export_csv(ctx)),
                      ("CSV import", lambda: import_csv(ctx, import_rows(ctx.info["params"]["contacts"])))):
        if only and only not in name:
            continue
        log(f"- {name}")
        try:
            out[name] = run()
        except (BenchError, OSError, KeyError, ValueError) as exc:
            out[name] = {"status": "error", "reason": str(exc)}
    return out


def report_lines(transfers: dict) -> list[str]:
    lines = []
    exp = transfers.get("CSV export")
    if exp and exp.get("status") == "ok":
        mem = exp.get("worker_rss_mb") or {}
        growth = (mem.get("peak") or 0) - (mem.get("before") or 0)
        lines.append(
            f"CSV export (API, streamed, as the {exp['user']}): {exp['rows']:,} rows, {exp['bytes'] / 1e6:,.0f} MB in "
            f"{exp['seconds']:,.1f} s = {exp['rows_per_s']:,} rows/s (first byte after {exp['first_byte_seconds']:.2f} s; "
            f"the worker spent {mem.get('cpu_seconds') or 0:,.1f} CPU s: {exp.get('rows_per_cpu_s') or 0:,} rows per "
            "CPU second); "
            f"serving worker resident {mem.get('before') or 0:,.0f} MB before, peak {mem.get('peak') or 0:,.0f} MB "
            f"(+{growth:,.0f} MB).{' ' + exp['note'] if exp.get('note') else ''}")
    elif exp:
        mem = exp.get("worker_rss_mb") or {}
        cpu = (f" The serving worker spent {mem['cpu_seconds']:,.1f} CPU s ({exp.get('rows_per_cpu_s') or 0:,} rows per "
               f"CPU second); resident {mem.get('before') or 0:,.0f} MB before, peak {mem.get('peak') or 0:,.0f} MB."
               if mem.get("cpu_seconds") else "")
        lines.append(f"CSV export: {exp.get('status')}: {exp.get('reason')}.{cpu}")
    imp = transfers.get("CSV import")
    if imp and imp.get("status") == "ok":
        rate = imp["rows_per_s"]
        verdict = "met" if rate >= IMPORT_TARGET else f"missed ×{IMPORT_TARGET / rate:.2f}"
        lines.append(
            f"CSV import (API upload as the member, background job on the huey worker, polled until done): "
            f"{imp['rows']:,} rows in {imp['seconds']:,.1f} s end to end = {rate:,} rows/s (target ≥ 10,000 rows/s: "
            f"{verdict}); upload accepted after {imp['upload_accepted_seconds']:.2f} s; {imp['contacts_created']:,} "
            f"contacts created, {imp['job_errors'] or 0:,} rows reported (rejected, or kept with a bad value left out)"
            + (f"; the job waited {imp['queued_seconds']:.1f} s in the queue and ran {imp['job_seconds']:.1f} s "
               f"({imp['rows'] / imp['job_seconds']:,.0f} rows/s on the worker)" if imp.get("job_seconds") else "")
            + (f"; the huey worker spent {imp['worker_cpu_seconds']:,.1f} CPU s ({imp['rows_per_cpu_s']:,} rows per CPU "
               "second)" if imp.get("rows_per_cpu_s") else "")
            + (f"; polls of the job that failed: {imp['failed_polls']} (see the gunicorn log)"
               if imp.get("failed_polls") else "")
            + ".")
    elif imp:
        lines.append(f"CSV import: {imp.get('status')}: {imp.get('reason')}")
    return lines
