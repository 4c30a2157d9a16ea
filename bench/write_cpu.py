"""Instructions, Python calls and SQL statements of one API create and one API update, in process, and
the answers of a fixed sequence of writes to compare two versions of the code byte for byte.

    python -m bench.write_cpu                    # Python calls and statements per create / update
    python -m bench.write_cpu --callgrind        # + instructions per write (valgrind; minutes)
    python -m bench.write_cpu --record FILE      # the answers, audit trail and tables of a write sequence

The two writes of the HTTP benchmark (``POST /api/v1/contacts`` with a bearer token, ``PATCH
/api/v1/contacts/<id>`` with the ETag of the previous answer in ``If-Match``) called on the
production app as a WSGI server calls it (bench/request_cpu.py: no HTTP, no test client), on a fresh
SQLite database holding the bench dataset's four custom fields and a few thousand contacts.

Instructions are callgrind's count for the whole process run twice under valgrind, with and
without ``--writes`` writes after the same set-up and warm-up; the difference over ``--writes`` is
the cost of one write, neighbours or not. ``PYTHONHASHSEED`` is fixed for both runs.

``--record``: creates and updates of every shape the API takes (details, custom fields, tags,
groups, reporting lines, team moves, bad input, stale and missing ETags), each answer's status,
headers and body with times masked, then the audit trail (verified) and every table's rows. Run it
with the old and the new code and ``diff`` the files: what must not change shows at once.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from .request_cpu import call as request_call

FIELDS = [("tier", "Tier", "choice", ["gold", "silver", "bronze"]), ("employees", "Employees", "number", []),
          ("renewal", "Renewal", "date", []), ("source", "Source", "text", [])]  # bench/contact_data.py's


def _app(folder: Path):
    from .request_cpu import _app as request_app

    return request_app(folder, None)


def _setup(app, contacts: int) -> dict:
    """The member, token and contacts of bench/write_speed.py, the bench's custom fields (made by an
    admin), a group and an organization of the member's team, and one contact to update."""
    from core.extensions import db
    from core.models import Team, User
    from core.services import custom_fields, groups, organizations
    from tests import factories

    from .write_speed import _setup as write_setup

    user, token = write_setup(app, contacts)
    with app.app_context():
        admin = factories.user("admin", [])
        for key, label, kind, choices in FIELDS:
            custom_fields.create_field(admin, {"key": key, "label": label, "kind": kind, "choices": choices})
        member = db.session.get(User, user.id)
        team = db.session.scalar(db.select(Team).where(Team.name == "Sales"))
        other = factories.team("Support")
        member.teams.append(other)
        db.session.commit()
        group = groups.create_group(member, {"name": "Key accounts", "owner_team_id": team.id})
        org = organizations.create_organization(member, {"name": "Analytical Engines", "owner_team_id": team.id})
        return {"token": token, "team": team.id, "other_team": other.id, "group": group.id, "org": org.id}


class Client:
    """Requests as a WSGI server makes them: an environ built once per shape, a fresh copy per call."""

    def __init__(self, app, token: str):
        from werkzeug.test import EnvironBuilder

        self.app = app
        self.base = EnvironBuilder(path="/api/v1/contacts", method="POST", base_url="http://127.0.0.1:8000",
                                   headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                                   environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()

    def call(self, method: str, path: str, body=None, headers: dict | None = None, raw: bytes | None = None):
        env = dict(self.base)
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        env.update(REQUEST_METHOD=method, PATH_INFO=path, CONTENT_LENGTH=str(len(data)), REQUEST_URI=path,
                   RAW_URI=path)
        for name, value in (headers or {}).items():
            env["HTTP_" + name.upper().replace("-", "_")] = value
        return request_call(self.app, env, data)


class Writes:
    """The bench's create (a name and an email) and update (the first name, alternately, with If-Match)."""

    def __init__(self, client: Client):
        self.client, self.serial, self.target, self.etag = client, 0, None, None

    def create(self):
        self.serial += 1
        n = self.serial
        status, headers, body = self.client.call(
            "POST", "/api/v1/contacts",
            {"first_name": "Bench", "last_name": f"Writer {n}", "email": f"w{n}@write.example.org"})
        assert status.startswith("201"), body[:500]
        if self.target is None:
            self.target, self.etag = json.loads(body)["id"], dict(headers)["ETag"]

    def update(self):
        self.serial += 1
        body = {"first_name": "Bench" if self.serial % 2 else "Benchmark"}
        status, headers, payload = self.client.call("PATCH", f"/api/v1/contacts/{self.target}", body,
                                                    {"If-Match": self.etag})
        assert status.startswith("200"), payload[:500]
        self.etag = dict(headers)["ETag"]


def _statement_counter(app):
    from sqlalchemy import event

    from core.extensions import db

    count = [0]
    with app.app_context():
        engine = db.engine

    def bump(*_args):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", bump)  # BEGIN too: core/database.py sends it as a statement
    event.listen(engine, "commit", bump)  # as bench/write_speed.py
    return count


def run_counts(contacts: int, writes: int) -> dict:
    """Python calls and SQL statements per write (exact counts)."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="write-cpu-") as folder:
        app = _app(Path(folder))
        setup = _setup(app, contacts)
        w = Writes(Client(app, setup["token"]))
        statements = _statement_counter(app)
        for name in ("create", "update"):
            action = getattr(w, name)
            for _ in range(30):
                action()
            statements[0] = 0
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(writes):
                action()
            profile.disable()
            out[name] = {"python_calls": round(pstats.Stats(profile).total_calls / writes),
                         "statements": round(statements[0] / writes, 2)}
    return out


def run_once(kind: str, contacts: int, writes: int) -> None:
    """One process's work under valgrind: set-up, 30 writes of ``kind`` to warm up, ``writes`` more.
    The users get a placeholder password hash: argon2 under valgrind took most of the set-up's
    minutes, and a token request never checks a password."""
    import gc

    from tests import factories

    factories._password_hash = lambda: "$argon2id$placeholder"

    with tempfile.TemporaryDirectory(prefix="write-cpu-") as folder:
        app = _app(Path(folder))
        setup = _setup(app, contacts)
        w = Writes(Client(app, setup["token"]))
        if kind == "update":
            w.create()
        action = getattr(w, kind)
        for _ in range(30):
            action()
        gc.collect()
        for _ in range(writes):
            action()


def _instructions(kind: str, contacts: int, writes: int, folder: Path) -> int:
    out = folder / f"callgrind.{kind}.{writes}"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
                    "bench.write_cpu", "--run", kind, "--contacts", str(contacts), "--writes", str(writes)],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for line in out.read_text().splitlines():
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def run_callgrind(contacts: int, writes: int, keep: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="write-cpu-cg-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for kind in ("create", "update"):
            base = _instructions(kind, contacts, 0, folder)
            total = _instructions(kind, contacts, writes, folder)
            out[kind] = round((total - base) / writes)
        return out


# --- the recorded sequence -----------------------------------------------------------------

_TIME = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:\+00:00|Z)?")


def _masked(data: bytes) -> str:
    return _TIME.sub(b"<time>", data).decode()


def _sequence(setup: dict):
    """(method, path, body, headers) of every write; a callable path or body reads the answers so far."""
    full = {
        "first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.org", "phone": "+44 20 7946 0958",
        "type": "person", "status": "lead", "organization_id": setup["org"], "owner_team_id": setup["team"],
        "custom_fields": {"tier": "gold", "employees": 12, "renewal": "2027-03-01", "source": "web form"},
        "tags": ["vip", "Key"], "group_ids": [setup["group"]],
        "emails": [{"label": "work", "value": "ada@work.example.org"}], "phones": [{"value": "+44 20 7946 0000"}],
        "urls": [{"label": "work", "value": "example.org/ada"}],
        "addresses": [{"label": "home", "street": "12 St James's Square", "locality": "London"}],
        "title": "Countess", "birthday": "1815-12-10", "notes": "Met at the 1843 fair.",
    }
    yield "POST", "/api/v1/contacts", {"first_name": "Bench", "last_name": "Writer 1", "email": "w1@write.example.org"}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Bench", "last_name": "Writer 2", "email": "w2@write.example.org"}, {}
    yield "POST", "/api/v1/contacts", full, {}
    # a multiple choice, and a field archived once a contact has a value of it
    yield "ADMIN", "field", {"key": "interests", "label": "Interests", "kind": "multi_choice",
                             "choices": ["golf", "chess", "music"]}, {}
    yield "ADMIN", "field", {"key": "legacy", "label": "Legacy", "kind": "text"}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Many", "custom_fields": {"interests": "music,golf", "legacy": "x"}}, {}
    yield "ADMIN", "archive", {"key": "legacy"}, {}
    yield "PATCH", "#4", {"custom_fields": {"interests": ["chess", "golf"]}}, {"If-Match": "#etag4"}
    yield "POST", "/api/v1/contacts", {"last_name": "Byron", "phone": "+44 20 7946 0958", "status_reason": "met"}, {}
    yield "POST", "/api/v1/contacts", {"email": "only@example.org", "custom_fields": {"tier": None}}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Boss", "reports_to_id": "#1"}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Other", "owner_team_id": setup["other_team"], "tags": ["vip"]}, {}
    # refused
    yield "POST", "/api/v1/contacts", {"first_name": "Dup", "email": "w1@write.example.org"}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Bad", "phone": "12"}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Bad", "nickname": "x"}, {}
    yield "POST", "/api/v1/contacts", {"first_name": 5}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Nul\x00"}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "x" * 101}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Null", "phone": None}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Null", "email": None, "title": "x" * 200}, {}
    yield "POST", "/api/v1/contacts", {}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Bad", "custom_fields": {"tier": "platinum", "nope": 1}}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Bad", "status": "nope", "type": "nope"}, {}
    yield "POST", "/api/v1/contacts", {"first_name": "Bad", "organization_id": 99999}, {}
    yield "POST", "/api/v1/contacts", None, {"raw": b"{not json"}
    # updates of the first contact, each with the ETag of the answer before
    for body in ({"first_name": "Benchmark"}, {"first_name": "Bench"}, {"email": "w1b@write.example.org"},
                 {"custom_fields": {"tier": "silver", "employees": 3.5}}, {"custom_fields": {"tier": None}},
                 {"tags": ["vip"]}, {"group_ids": [setup["group"]]}, {"title": "Engineer", "phones": []},
                 {"status": "active", "status_reason": "signed"}, {"organization_id": setup["org"]},
                 {"organization_id": None}, {"reports_to_id": "#3"}, {"reports_to_id": None},
                 {"owner_team_id": setup["other_team"]}, {"owner_team_id": setup["team"]}, {},
                 {"first_name": "Bench"}, {"last_name": "Writer 1", "phone": ""}):
        yield "PATCH", "#1", body, {"If-Match": "#etag"}
    yield "PATCH", "#1", {"first_name": "Late"}, {"If-Match": "#stale"}
    yield "PATCH", "#1", {"first_name": "Nobody"}, {}
    yield "PATCH", "#1", {"first_name": "Wrong"}, {"If-Match": '"999999-1"'}
    yield "PATCH", "#1", {"first_name": "Star"}, {"If-Match": "*"}
    yield "PATCH", "#1", {"email": "w2@write.example.org"}, {"If-Match": "#etag"}
    yield "PATCH", "#1", {"phone": "12"}, {"If-Match": "#etag"}
    yield "PATCH", "#1", {"nickname": "x"}, {"If-Match": "#etag"}
    yield "PATCH", "/api/v1/contacts/999999", {"first_name": "Gone"}, {"If-Match": '"999999-1"'}
    yield "PATCH", "#3", {"first_name": "Augusta", "custom_fields": {"employees": 13}, "addresses": []}, {"If-Match": "#etag3"}
    yield "GET", "#1", None, {}
    yield "GET", "#3", None, {}


def run_record(path: str, contacts: int) -> None:
    from core.extensions import db
    from core.services import audit

    lines = []
    with tempfile.TemporaryDirectory(prefix="write-cpu-rec-") as folder:
        app = _app(Path(folder))
        setup = _setup(app, contacts)
        client = Client(app, setup["token"])
        created, etags, stale = [], {}, {}

        def ref(value):
            if isinstance(value, str) and value.startswith("#") and value[1:].isdigit():
                return created[int(value[1:]) - 1]
            return value

        for method, path_or_ref, body, headers in _sequence(setup):
            if method == "ADMIN":
                lines.append(f"ADMIN {path_or_ref} {json.dumps(body)}")
                _admin(app, path_or_ref, body)
                continue
            headers = dict(headers)
            raw = headers.pop("raw", None)
            if body is not None:
                body = {k: ref(v) for k, v in body.items()}
            target = ref(path_or_ref)
            url = f"/api/v1/contacts/{target}" if isinstance(target, int) else target
            for name, value in list(headers.items()):
                if value.startswith("#etag"):
                    headers[name] = etags[ref("#" + (value[5:] or "1"))]
                elif value == "#stale":
                    headers[name] = stale[created[0]]
            status, answer_headers, data = client.call(method, url, body, headers, raw=raw)
            answer = dict(answer_headers)
            if method == "POST" and status.startswith("201"):
                created.append(json.loads(data)["id"])
            if "ETag" in answer and status[:3] in ("200", "201"):
                cid = json.loads(data)["id"]
                stale.setdefault(cid, answer["ETag"])  # its first: stale once it changed
                etags[cid] = answer["ETag"]
            lines.append(f"{method} {url} {json.dumps(body)} {json.dumps(headers)}")
            lines.append(f"  {status}")
            lines.extend(f"  {k}: {_masked(v.encode())}" for k, v in answer_headers)
            lines.append(f"  {_masked(data)}")
        with app.app_context():
            result = audit.verify()
            lines.append(f"audit verify: ok={result.ok} checked={result.checked} bad={result.bad_id}")
            lines.extend(_tables(db))
    Path(path).write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} lines written to {path}; audit chain ok={result.ok}")


def _admin(app, what: str, data: dict) -> None:
    from core.extensions import db
    from core.models import CustomField, User
    from core.services import custom_fields

    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.role == "admin"))
        if what == "field":
            custom_fields.create_field(admin, data)
        else:
            field_id = db.session.scalar(db.select(CustomField.id).where(CustomField.key == data["key"]))
            custom_fields.update_field(admin, field_id, {"archived": True})


_UNSTABLE = {("api_tokens", "token_hash"), ("api_tokens", "prefix"),
             ("users", "password_hash"), ("users", "session_token"), ("audit_entries", "hash"),
             ("audit_entries", "prev_hash")}  # random or hashed over times: the same in no two runs


def _tables(db) -> list[str]:
    """Every table's rows in primary-key order as the database holds them (read by the driver: times
    as their stored text), the digits of times masked (the seed contacts left out; not
    ``cache_stamps``, whose stripes are random)."""
    out = []
    raw = db.engine.raw_connection()
    try:
        for table in db.metadata.sorted_tables:
            if table.name == "cache_stamps":
                continue
            names = [c.name for c in table.columns]
            order = ", ".join(c.name for c in (list(table.primary_key.columns) or list(table.columns)))
            where = " WHERE email IS NULL OR email NOT LIKE 'seed%'" if table.name == "contacts" else ""
            cursor = raw.cursor()
            cursor.execute(f"SELECT {', '.join(names)} FROM {table.name}{where} ORDER BY {order}")
            rows = cursor.fetchall()
            cursor.close()
            out.append(f"table {table.name}: {len(rows)} rows")
            for row in rows:
                cells = []
                for name, value in zip(names, row, strict=True):
                    if (table.name, name) in _UNSTABLE:
                        value = "<unstable>"
                    elif isinstance(value, str) and _TIME.fullmatch(value.encode()):  # its stored format
                        cells.append(f"{name}=time:{re.sub(r'[0-9]', '9', value)}")
                        continue
                    cells.append(f"{name}={_masked(repr(value).encode())}")
                out.append("  " + " ".join(cells))
    finally:
        raw.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.write_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=100, help="measured writes of each kind")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--callgrind", action="store_true", help="also count instructions (valgrind)")
    parser.add_argument("--keep", help="keep callgrind's output files in this folder")
    parser.add_argument("--record", help="write the answers of the write sequence to this file")
    parser.add_argument("--run", choices=("create", "update"), help=argparse.SUPPRESS)  # one valgrind run
    args = parser.parse_args(argv)
    if args.run:
        run_once(args.run, args.contacts, args.writes)
        return 0
    if args.record:
        run_record(args.record, min(args.contacts, 50))
        return 0
    figures = run_counts(args.contacts, args.writes)
    if args.callgrind:
        for kind, instructions in run_callgrind(args.contacts, args.writes, args.keep).items():
            figures[kind]["instructions"] = instructions
    print("| write | instructions | Python calls | SQL statements |")
    print("|---|---:|---:|---:|")
    for kind, row in figures.items():
        print(f"| {kind} | {row.get('instructions', '-'):,} | {row['python_calls']:,} | {row['statements']} |"
              if "instructions" in row else f"| {kind} | - | {row['python_calls']:,} | {row['statements']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
