"""Writing an import's batch on a thread of its own while the next one is planned
(core/services/import_pipeline.py): the same contacts, counts, errors and audit as one batch after
another, across batch boundaries (a person or a new organization met in two batches), and a batch
that fails on a unique key is done again without losing or doubling rows. Also the memo of
email-validator's domain check (fields.py), which must give the library's very answers."""

from __future__ import annotations

import sys
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import AuditEntry, Contact, Organization
from core.services import audit, fields, import_jobs, import_pipeline, importer
from tests.core.test_import import _count, _user, upload


def _import(actor, text: str, batch_size: int = 2):
    token = upload(actor, text.encode())
    info = import_jobs.inspect(actor, token)
    job = import_jobs.start(actor, token, info["mapping"], importer.Options(batch_size=batch_size))
    db.session.refresh(job)
    return job


def _seen_by_write(monkeypatch, what) -> list:
    """``what()`` as each ``importer._write`` started, in order."""
    seen = []
    real = importer._write

    def spy(*args, **kwargs):
        seen.append(what())
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "_write", spy)
    return seen


def _threads(monkeypatch) -> list:
    """The threads ``importer._write`` ran on, in order."""
    return _seen_by_write(monkeypatch, threading.get_ident)


def test_batches_are_written_on_another_thread_in_order(ctx, member, monkeypatch):
    seen = _threads(monkeypatch)
    rows = "".join(f"P{i},p{i}@example.org\n" for i in range(1, 8))
    job = _import(_user(member.id), "First Name,Email\n" + rows)
    assert job.status == "done" and job.result["summary"]["Created"] == 7
    assert len(seen) == 4 and threading.get_ident() not in seen
    assert job.done == 7 and job.checkpoint["row"] == 8
    created = db.session.scalars(select(Contact.first_name).order_by(Contact.id)).all()
    assert created == [f"P{i}" for i in range(1, 8)]  # file order
    assert audit.verify().ok


def test_the_gil_changes_hands_more_often_while_the_threads_run_and_as_before_after(ctx, member, monkeypatch):
    """The writer's executemany takes the GIL back after every row it stores: while the import runs
    the interval is import_pipeline.SWITCH_INTERVAL, afterwards (and on an error) what it was."""
    seen = _seen_by_write(monkeypatch, sys.getswitchinterval)
    before = sys.getswitchinterval()
    job = _import(_user(member.id), "First Name,Email\nA,a@example.org\nB,b@example.org\nC,c@example.org\n")
    assert job.status == "done"
    assert seen == [pytest.approx(import_pipeline.SWITCH_INTERVAL)] * 2
    assert sys.getswitchinterval() == before
    with pytest.raises(RuntimeError), import_pipeline._switching(), import_pipeline._switching():
        assert sys.getswitchinterval() == pytest.approx(import_pipeline.SWITCH_INTERVAL)
        raise RuntimeError
    assert sys.getswitchinterval() == before


def test_a_person_in_two_batches_is_created_once_then_updated(ctx, member):
    job = _import(_user(member.id), "First Name,Last Name,Email\n"
                  "Ada,,ada@example.org\nBob,B,bob@example.org\n"
                  "Ada,Lovelace,ada@example.org\nCy,C,cy@example.org\n")
    assert job.status == "done", job.message
    assert job.result["summary"] == {"Created": 3, "Updated": 1, "Unchanged": 0, "Rejected": 0}
    ada = db.session.scalars(select(Contact).where(Contact.email_key == "ada@example.org")).one()
    assert ada.last_name == "Lovelace"
    assert _count(AuditEntry, AuditEntry.action == "updated", AuditEntry.entity_type == "contact") == 1


def test_an_organization_new_in_one_batch_is_not_created_again_by_the_next(ctx, member):
    job = _import(_user(member.id), "First Name,Email,Company\n"
                  "Ada,ada@example.org,Engines\nBob,bob@example.org,\n"
                  "Cy,cy@example.org,Engines\nDi,di@example.org,Looms\n")
    assert job.status == "done", job.message
    assert job.result["summary"]["New organizations"] == 2
    orgs = {o.name: o.id for o in db.session.scalars(select(Organization))}
    assert set(orgs) == {"Engines", "Looms"}
    by_name = {c.first_name: c.organization_id for c in db.session.scalars(select(Contact))}
    assert by_name == {"Ada": orgs["Engines"], "Bob": None, "Cy": orgs["Engines"], "Di": orgs["Looms"]}


def test_a_batch_failing_on_a_unique_key_is_redone_and_the_next_planned_again(ctx, member, monkeypatch):
    def clash_on_bob(actor, rows, dry):
        # Stands in for another writer taking bob's email between our lookup and our insert.
        if any((record.get("email") or "").startswith("bob") for _id, record, _created in rows):
            raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: contacts.email_key"))

    monkeypatch.setattr(importer, "APPLIERS", [clash_on_bob])
    job = _import(_user(member.id), "First Name,Email,Company\n"
                  "Ada,ada@example.org,Engines\nBob,bob@example.org,Looms\n"
                  "Cy,cy@example.org,Looms\nDi,di@example.org,\nEd,ed@example.org,Engines\n")
    assert job.status == "done", job.message
    assert job.result["summary"] == {"Created": 4, "Updated": 0, "Unchanged": 0, "Rejected": 1,
                                     "New organizations": 2}
    assert job.errors == [{"ref": 3, "message": "email: Another contact already has this email address."}]
    assert sorted(db.session.scalars(select(Contact.first_name))) == ["Ada", "Cy", "Di", "Ed"]
    assert sorted(db.session.scalars(select(Organization.name))) == ["Engines", "Looms"]
    assert _count(AuditEntry, AuditEntry.action == "created", AuditEntry.entity_type == "contact") == 4
    assert job.checkpoint["row"] == 6 and job.done == 5
    assert audit.verify().ok


def test_a_contact_changed_after_its_batch_was_planned_is_updated_from_what_it_is_now(ctx, member, team, monkeypatch):
    from sqlalchemy import text

    from core.services import import_pipeline
    from tests import factories

    factories.contact(team, "Ada", "Old", email="ada@example.org")
    db.session.commit()
    real = import_pipeline._hand_over

    def edited_meanwhile(plan):
        handed = real(plan)
        if handed:  # someone renames her between the plan and the write
            with db.engine.begin() as conn:
                conn.execute(text("UPDATE contacts SET last_name = 'Byron', version = version + 1 "
                                  "WHERE email_key = 'ada@example.org'"))
        return handed

    monkeypatch.setattr(import_pipeline, "_hand_over", edited_meanwhile)
    job = _import(_user(member.id), "First Name,Last Name,Email\nAda,Lovelace,ada@example.org\nBob,B,bob@example.org\n")
    assert job.status == "done", job.message
    assert job.result["summary"] == {"Created": 1, "Updated": 1, "Unchanged": 0, "Rejected": 0}
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "updated")).one()
    assert entry.changes == {"last_name": ["Byron", "Lovelace"]}  # done again against the renamed contact
    assert audit.verify().ok


def test_dry_runs_and_vcard_files_are_not_pipelined(ctx, member, monkeypatch):
    seen = _threads(monkeypatch)
    actor = _user(member.id)
    token = upload(actor, b"First Name,Email\nAda,ada@example.org\nBob,bob@example.org\nCy,cy@example.org\n")
    info = import_jobs.inspect(actor, token)
    job = import_jobs.start(actor, token, info["mapping"], importer.Options(batch_size=1, dry_run=True))
    db.session.refresh(job)
    assert job.status == "done" and set(seen) == {threading.get_ident()}
    seen.clear()
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{n}\r\nN:;{n};;;\r\nEMAIL:{n}@example.org\r\nUID:{n}\r\nEND:VCARD\r\n"
    token = upload(actor, "".join(card.format(n=n) for n in ("ada", "bob", "cy")).encode(), "people.vcf")
    job = import_jobs.start(actor, token, {}, importer.Options(batch_size=1))
    db.session.refresh(job)
    assert job.status == "done", job.message
    assert len(seen) == 3 and set(seen) == {threading.get_ident()}


ADDRESSES = ["ada@example.org", "Ada@EXAMPLE.ORG", "x@bücher.de", "x@xn--bcher-kva.de", "Jörg@bücher.de",
             "a@ＥＸ.com", "l@Ex.Com.", "bad@@example.org", "c@localhost", "d@.org", "e@a..b", "f@test",
             "i@-a.com", '"q"@example.com', "k@[1.2.3.4]", "m@invalid", "n@ex.onion", "p@a.b", "nope"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_remembered_domain_checks_give_the_librarys_answers(address):
    from email_validator import EmailNotValidError, syntax

    def answer(fn):
        try:
            return "ok", fn(address)
        except (ValueError, EmailNotValidError) as exc:
            return "error", str(exc)

    fields._DOMAIN_CHECKS.clear()
    first = answer(lambda a: fields.normalize_email(a, False))
    again = answer(lambda a: fields.normalize_email(a, False))  # from the memo when the domain was valid
    import importlib

    module = importlib.import_module("email_validator.validate_email")
    memo = module.validate_email_domain_name
    module.validate_email_domain_name = syntax.validate_email_domain_name  # the library alone
    try:
        library = answer(lambda a: module.validate_email(a, check_deliverability=False).normalized)
    finally:
        module.validate_email_domain_name = memo
    assert first == again == library


def test_a_remembered_domain_check_follows_the_special_use_list(monkeypatch):
    import email_validator

    fields._DOMAIN_CHECKS.clear()
    assert fields.normalize_email("ada@example.org", False) == "ada@example.org"
    monkeypatch.setattr(email_validator, "SPECIAL_USE_DOMAIN_NAMES", [*email_validator.SPECIAL_USE_DOMAIN_NAMES, "org"])
    with pytest.raises(ValueError, match="special-use"):
        fields.normalize_email("ada@example.org", False)
