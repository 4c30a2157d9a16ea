"""Validating an import's next batch in a worker process (core/services/import_ahead.py): the
same answers, the same per-row errors, and a worker that dies costs speed, never rows."""

from __future__ import annotations

import os

import pytest
from flask import current_app
from sqlalchemy import select

from core.extensions import db
from core.models import Contact, Job
from core.services import fields, import_ahead, import_jobs, importer
from tests.core.test_import import _user, upload

ROWS = (
    "First Name,Email,Phone\n"
    + "".join(f"P{i},p{i}@example.org,(212) 555-{1000 + i}\n" for i in range(1, 13))
    + ",not-an-email,\nWorse,worse@example.org,12\n"  # rejected (nothing left); kept without its phone
    + "".join(f"Q{i},q{i}@Example.ORG,+44 20 7946 {1000 + i}\n" for i in range(1, 13))
)


def test_answers_from_ahead_are_used_and_others_worked_out_here(ctx):
    answers = fields.check_many([("email", "Ada@Example.org"), ("email", "nope"), ("phone", "(212) 555-0134")],
                                False, "US")
    assert answers[("email", "Ada@Example.org")] == ("ok", "Ada@example.org")
    assert answers[("email", "nope")][0] == "error"
    with fields.prevalidated({("email", "x@example.org"): ("ok", "answered@example.org"),
                              ("phone", "12"): ("error", "answered: not valid")}):
        assert fields.normalize_email("x@example.org") == "answered@example.org"  # taken from the answers
        with pytest.raises(ValueError, match="answered: not valid"):
            fields.normalize_phone("12")
        assert fields.normalize_email("grace@example.org") == "grace@example.org"  # no answer: checked here
        with pytest.raises(ValueError, match="not valid; check the digits"):
            fields.normalize_phone("12", "GB")  # another region than the answers were made for: checked here
    with pytest.raises(ValueError) as here:
        fields.normalize_email("nope")
    assert str(here.value) == answers[("email", "nope")][1]  # the worker's message is the one given here


def _import(member, monkeypatch, workers: int, batches: list):
    """Import ROWS in batches of 5 with ``workers`` validation processes; ``batches`` gets the
    answers of each batch the worker validated, as the importer first asks them."""
    monkeypatch.setitem(current_app.config, "IMPORT_WORKERS", workers)
    real = import_ahead._answers
    monkeypatch.setattr(import_ahead, "_answers", lambda future: batches.append(real(future)) or batches[-1])
    actor = _user(member.id)
    token = upload(actor, ROWS.encode())
    job = import_jobs.start(actor, token, import_jobs.inspect(actor, token)["mapping"], importer.Options(batch_size=5))
    db.session.refresh(job)
    assert job.status == "done", job.message
    contacts = sorted((c.first_name, c.email, c.phone) for c in db.session.scalars(select(Contact)))
    return job.result["summary"], job.errors, contacts


def test_a_worker_gives_the_same_contacts_and_row_errors_as_validating_here(ctx, member, monkeypatch):
    answered: list = []
    with_worker = _import(member, monkeypatch, 1, answered)
    assert all(answered) and len(answered) == 6  # every batch in the worker, the first one too
    assert ("email", "q1@Example.ORG") in answered[2] and ("phone", "12") in answered[2]
    for model in (Contact, Job):
        db.session.execute(model.__table__.delete())
    db.session.commit()
    here: list = []
    assert _import(member, monkeypatch, 0, here) == with_worker and not any(here)
    summary, errors, contacts = with_worker
    assert summary["Created"] == 25 and summary["Rejected"] == 1 and summary["Warnings"] == 1
    assert [e["ref"] for e in errors] == [14, 15] and errors[0]["message"].startswith("email: ")
    assert errors[1]["message"].startswith("Imported, but phone '12' skipped")
    assert ("Q1", "q1@example.org", "+442079461001") in contacts


def test_a_worker_that_dies_costs_speed_never_rows(ctx, member, monkeypatch, caplog):
    real_submit = import_ahead._submit

    def kill_the_worker(pool, batch, settings):
        if pool._broken:  # as the real one answers once the pool is gone
            return real_submit(pool, batch, settings)
        return pool.submit(os._exit, 1)

    monkeypatch.setattr(import_ahead, "_submit", kill_the_worker)
    answered: list = []
    summary, errors, contacts = _import(member, monkeypatch, 1, answered)
    assert not any(answered) and "validation worker" in caplog.text
    assert summary["Created"] == 25 and [e["ref"] for e in errors] == [14, 15] and len(contacts) == 25


def test_the_worker_runs_below_the_importing_process_priority(ctx):
    pool = import_ahead._start(1)
    try:
        assert pool.submit(os.nice, 0).result(timeout=60) == min(19, os.nice(0) + import_ahead.WORKER_NICE)
    finally:
        import_ahead._stop(pool)
