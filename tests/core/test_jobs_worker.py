"""A background job run by a real ``contacts worker`` process (not huey's immediate mode): a bulk
status change over 250 contacts is queued by the service, taken by the worker, done batch by batch
with its progress saved, and audited per contact. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from core import create_app
from core.extensions import db
from core.models import AuditEntry, Contact, Job, User, utcnow
from core.services import bulk, vocabulary
from core.services.list_query import ListQuery
from core.tasks import huey_of
from tests import conftest, factories
from tests.plugins.test_communications_crash import database_url, redis_url  # noqa: F401 - fixture

CONTACTS = str(Path(sys.executable).with_name("contacts"))
DEADLINE = 60  # seconds


def test_a_bulk_job_runs_in_a_real_worker(tmp_path, tmp_path_factory, database_url):  # noqa: F811
    folder = tmp_path / "instance"
    folder.mkdir()
    huey_file = str(folder / "huey.db")
    app = create_app(conftest.test_config(
        tmp_path_factory, INSTANCE_PATH=str(folder), SQLALCHEMY_DATABASE_URI=database_url, HUEY_IMMEDIATE=False,
        HUEY_FILENAME=huey_file, REDIS_URL=redis_url(), CACHE_TYPE="SimpleCache",
    ), plugins=[])
    with app.app_context():
        huey_of(app).flush()
        db.create_all()
        vocabulary.ensure_defaults()
        team = factories.team("Sales")
        user = factories.user("member", [team])
        now = utcnow()
        db.session.execute(insert(Contact), [
            {"first_name": "P", "last_name": f"Person{i:03}", "sort_name": f"person{i:03} p", "phone": "",
             "type": "person", "status": "active", "owner_team_id": team.id, "version": 1,
             "created_at": now, "updated_at": now} for i in range(250)
        ])
        db.session.commit()
        user_id = user.id
    with app.test_request_context():
        actor = db.session.get(User, user_id)
        result = bulk.start(actor, "status", {"status": "lead"}, query=ListQuery.from_args({"f": ["name.starts.person"]}))
        assert result.job is not None  # over 200: queued, not run in the request
        job_id = result.job.id
        assert db.session.get(Job, job_id).status == "queued"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
    env.update({"CONTACTS_INSTANCE_PATH": str(folder), "CONTACTS_DATABASE_URL": database_url,
                "CONTACTS_HUEY_FILE": huey_file, "CONTACTS_PLUGINS": "",
                "CONTACTS_SECRET_KEY": "test-secret-key-not-for-production"})
    if redis_url():
        env["CONTACTS_REDIS_URL"] = redis_url()
    log = folder / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([CONTACTS, "worker", "-w", "1", "--no-periodic"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        end = time.monotonic() + DEADLINE
        status = "queued"
        while time.monotonic() < end:
            with app.app_context():
                job = db.session.get(Job, job_id)
                status = job.status
                db.session.remove()
            if status in ("done", "failed", "cancelled"):
                break
            time.sleep(0.2)
        assert status == "done", f"job {status} after {DEADLINE} s: {log.read_text()[-2000:]}"
        with app.app_context():
            job = db.session.get(Job, job_id)
            assert (job.done, job.total, job.error_count) == (250, 250, 0)
            assert job.result["summary"]["Changed"] == 250
            leads = db.session.scalar(select(func.count()).select_from(Contact).where(Contact.status == "lead"))
            audited = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "updated"))
            assert leads == 250 and audited == 250
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=DEADLINE)
        with app.app_context():
            huey_of(app).flush()
            db.session.remove()
            db.engine.dispose()
