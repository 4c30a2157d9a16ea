"""CSV import: the real client exports, upsert by email or external id, dry run, per-row errors,
malformed files, and resuming a job after a crash without importing twice."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.database import transaction
from core.errors import ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, ContactExternalId, Job, Organization, User, utcnow
from core.services import audit, csv_import, import_jobs, importer, jobs

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "csv"
if not SAMPLES.is_dir():
    SAMPLES = Path("/work/shared/samples/csv")


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} not found in ../shared/samples (the real client exports live beside the project)")
    return path


def _user(user_id):
    return db.session.get(User, user_id)


def _count(model=Contact, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def upload(actor, path_or_bytes, name="people.csv"):
    import io

    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return import_jobs.save_upload(actor, io.BytesIO(data), name)


def import_file(actor, path_or_bytes, *, key="email", dry_run=False, mapping=None, source=None):
    token = upload(actor, path_or_bytes)
    info = import_jobs.inspect(actor, token)
    options = importer.Options(key=key, source=source or info["source"], dry_run=dry_run)
    job = import_jobs.start(actor, token, mapping or info["mapping"], options)
    db.session.refresh(job)
    return job


def names():
    return sorted(f"{c.first_name} {c.last_name}".strip() for c in db.session.scalars(select(Contact)))


# --- the real client exports ------------------------------------------------------------------


def test_google_export_imports_every_contact_with_organizations(ctx, member):
    actor = _user(member.id)
    job = import_file(actor, sample("google-1.csv"))
    assert job.status == "done", job.message
    assert job.result["summary"]["Created"] == 44 and job.error_count == 0
    sarah = db.session.scalar(select(Contact).where(Contact.email_key == "sarah.mitchell83@gmail.com"))
    assert (sarah.first_name, sarah.last_name, sarah.phone) == ("Sarah", "Mitchell", "+18015550142")
    assert sarah.organization.name == "Sandy Landscape Co" and sarah.owner_team_id == member.teams[0].id
    renee = db.session.scalar(select(Contact).where(Contact.email_key == "renee.whitaker@icloud.com"))
    assert renee.first_name == "Renée"
    assert db.session.scalar(select(Contact).where(Contact.email_key == "megan.wilson721@example.com")).first_name == "Megan"
    assert _count(AuditEntry, AuditEntry.action == "created", AuditEntry.entity_type == "contact") == 44
    assert audit.verify().ok


def test_addresses_websites_birthdays_and_further_emails_of_the_exports_arrive(ctx, member):
    # The CSV import mapped none of these columns: Google's and HubSpot's addresses and websites,
    # a birthday and a second email address were dropped without a word.
    from core.services import details

    actor = _user(member.id)
    import_file(actor, sample("google-1.csv"))
    james = db.session.scalar(select(Contact).where(Contact.email_key == "jwhitfield@comcast.net"))
    assert ["".join(ch for ch in p["value"] if ch.isdigit())[-10:] for p in details.details_of([james.id])[james.id]["phones"]] == [
        "4355550321"]  # Google's "Phone 2 - Value"
    import_file(actor, sample("hubspot-1.csv"), key="external_id")
    sarah = db.session.scalar(select(Contact).where(Contact.email_key == "sarah.mitchell83@gmail.com"))
    found = details.details_of([sarah.id])[sarah.id]
    assert found["addresses"] == [{"label": "other", "street": "", "locality": "Orem", "region": "UT",
                                   "postcode": "84078", "country": "United States"}]  # HubSpot's, the later file
    assert [u["value"] for u in found["urls"]] == ["https://www.mitchelllandscaping.com"]
    data = (b"First Name,E-mail 1 - Value,E-mail 2 - Value,Birthday,Website 1 - Value,Address 1 - Street,"
            b"Address 1 - City,Address 1 - Postal Code,Address 1 - Country\n"
            b"Ada,ada@example.org,ADA@work.example.org,1815-12-10,https://example.org/ada,12 St James's Square,"
            b"London,SW1Y 4JH,United Kingdom\n")
    job = import_file(actor, data)
    assert job.error_count == 0 and job.result["summary"]["Created"] == 1, job.errors
    ada = db.session.scalar(select(Contact).where(Contact.email_key == "ada@example.org"))
    found = details.details_of([ada.id])[ada.id]
    assert [e["value"] for e in found["emails"]] == ["ADA@work.example.org"] and str(found["birthday"]) == "1815-12-10"
    assert found["addresses"][0]["street"] == "12 St James's Square" and found["addresses"][0]["locality"] == "London"
    assert [u["value"] for u in found["urls"]] == ["https://example.org/ada"]
    assert import_file(actor, data).result["summary"]["Unchanged"] == 1


def test_linkedin_export_skips_the_notes_preamble_and_merges_repeated_people(ctx, member):
    actor = _user(member.id)
    path = sample("linkedin-1.csv")
    info = import_jobs.inspect(actor, upload(actor, path))
    assert info["layout"].preset == "linkedin" and info["layout"].header_row == 4
    assert info["mapping"][2] == "external_id"  # the profile URL identifies a connection
    job = import_file(actor, path)
    assert job.status == "done"
    created = job.result["summary"]["Created"]
    assert created == _count() and created >= 30
    paul = db.session.scalars(select(Contact).where(Contact.last_name == "Brandner")).all()
    assert len(paul) == 1 and paul[0].email == "paul.brandner@example.com"  # the later row added the email
    assert _count(Contact, Contact.first_name == "Tomaž") == 1
    assert _count(ContactExternalId, ContactExternalId.source == "linkedin") >= 30
    again = import_file(actor, path)
    assert again.result["summary"]["Created"] == 0 and _count() == created


def test_hubspot_export_keys_on_record_id(ctx, member):
    actor = _user(member.id)
    job = import_file(actor, sample("hubspot-1.csv"), key="external_id")
    assert job.status == "done" and job.result["summary"]["Created"] == 52
    link = db.session.scalar(select(ContactExternalId).where(ContactExternalId.external_id == "100001"))
    assert link.source == "hubspot" and db.session.get(Contact, link.contact_id).last_name == "Mitchell"
    again = import_file(actor, sample("hubspot-1.csv"), key="external_id")
    assert again.result["summary"]["Created"] == 0 and _count() == 52


@pytest.mark.parametrize(("name", "phones"), [("thunderbird-2.csv", 3), ("google-legacy-1.csv", 7)])
def test_exports_whose_phone_cells_are_placeholders_keep_the_contact_and_warn(ctx, member, name, phones):
    # These test exports hold words ("phone work", "pager") in every phone column: not a phone
    # number. As for a vCard, the contact is kept without them and each is reported as a warning
    # on its row (it was rejected whole before).
    job = import_file(_user(member.id), sample(name))
    assert job.status == "done" and _count() == 1
    summary = job.result["summary"]
    assert summary["Created"] == 1 and summary["Rejected"] == 0 and summary["Warnings"] >= phones
    skipped = [e for e in job.errors if e["message"].startswith("Imported, but phone ")]
    assert len(skipped) == phones and {e["ref"] for e in job.errors} == {2}
    assert db.session.scalar(select(Contact.phone)) == ""


def test_the_first_valid_of_several_phone_columns_is_used(ctx, member):
    data = b"First Name,Email,Work Phone,Home Phone,Mobile Number\nAda,ada@example.org,reception,,+1 415 555 0123\n"
    job = import_file(_user(member.id), data)
    assert db.session.scalar(select(Contact.phone)) == "+14155550123"
    # "reception" is not kept among the other phones, and the report says so (it said nothing).
    assert [e["message"][:42] for e in job.errors] == ["Imported, but phone 'reception' skipped: T"]


def test_thunderbird_rows_with_multi_line_cells_are_one_row_each(ctx, member):
    # Thunderbird's own test export uses "contact1@invalid": not an address, so both contacts are
    # kept without it and reported (as rows 2 and 3: the cell spanning two lines does not split
    # its row). They were rejected whole before. The email was the key: each makes a new contact.
    job = import_file(_user(member.id), sample("thunderbird-1.csv"))
    assert job.status == "done" and job.result["summary"]["Created"] == 2 and _count() == 2
    assert job.result["summary"]["Rejected"] == 0 and job.result["summary"]["Warnings"] == 2
    assert [e["ref"] for e in job.errors] == [2, 3]
    assert job.errors[0]["message"].startswith("Imported, but email 'contact1@invalid' skipped: ")
    assert all("a new contact is made" in e["message"] for e in job.errors)
    assert names() == ["contact one", "contact two"]
    # Known by their other cells (as a card without email or UID): the same file again finds them.
    again = import_file(_user(member.id), sample("thunderbird-1.csv"))
    assert again.result["summary"]["Created"] == 0 and again.result["summary"]["Unchanged"] == 2 and _count() == 2


def test_rejected_rows_are_reported_and_the_good_ones_kept(ctx, member, client_for):
    # A bad email or phone is left out of a row that is still a contact (a warning; it rejected the
    # row before); a row with nothing left to make a contact of is rejected, naming each problem.
    data = ("First Name,Last Name,Email,Phone\nAda,Lovelace,ada@example.org,\nBad,Mail,not-an-email,\n,,,\n"
            "Bad,Phone,,12\n,,nobody,12\n")
    job = import_file(_user(member.id), data.encode())
    assert job.result["summary"] == {"Created": 3, "Updated": 0, "Unchanged": 0, "Rejected": 1, "Warnings": 2}
    assert [e["ref"] for e in job.errors] == [3, 5, 6]
    assert job.errors[0]["message"].startswith("Imported, but email 'not-an-email' skipped:")
    assert job.errors[1]["message"].startswith("Imported, but phone '12' skipped:")
    assert job.errors[2]["message"].startswith("email:") and "phone:" in job.errors[2]["message"]
    assert names() == ["Ada Lovelace", "Bad Mail", "Bad Phone"]
    report = client_for(member).get(f"/jobs/{job.id}/errors.csv")
    assert report.status_code == 200 and "email:" in report.text


# --- upsert, dry run ----------------------------------------------------------------------------


def test_reimport_by_email_updates_and_creates_nothing(ctx, member):
    actor = _user(member.id)
    first = b"First Name,Last Name,Email,Company\nAda,Lovelace,ADA@example.org,Engines\nAlan,Turing,alan@example.org,\n"
    assert import_file(actor, first).result["summary"]["Created"] == 2
    second = b"First Name,Last Name,Email,Company\nAugusta Ada,,ada@example.org,\nAlan,Turing,alan@example.org,\n"
    job = import_file(actor, second)
    assert job.result["summary"] == {"Created": 0, "Updated": 1, "Unchanged": 1, "Rejected": 0}
    ada = db.session.scalar(select(Contact).where(Contact.email_key == "ada@example.org"))
    db.session.refresh(ada)
    assert ada.first_name == "Augusta Ada" and ada.last_name == "Lovelace"  # empty cells keep the stored value
    assert ada.organization.name == "Engines" and ada.version == 2
    assert _count(Organization) == 1
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "updated")).one()
    assert entry.entity_id == ada.id and entry.changes["first_name"] == ["Ada", "Augusta Ada"]


def test_dry_run_counts_and_shows_rows_but_writes_nothing(ctx, member):
    actor = _user(member.id)
    import_file(actor, b"First Name,Email\nAda,ada@example.org\n")
    before = (_count(), _count(AuditEntry), _count(Organization))
    data = b"First Name,Email,Company\nAda Augusta,ada@example.org,Engines\nAlan,alan@example.org,Bletchley\n,bad,\n"
    job = import_file(actor, data, dry_run=True)
    assert job.status == "done"
    assert job.result["summary"] == {
        "Created": 1, "Updated": 1, "Unchanged": 0, "Rejected": 1, "New organizations": 2
    }
    samples = job.result["samples"]
    assert samples["created"][0]["email"] == "alan@example.org"
    assert samples["updated"][0]["changes"]["first_name"] == ["Ada", "Ada Augusta"]
    assert samples["rejected"][0]["row"] == 4
    assert (_count(), _count(AuditEntry), _count(Organization)) == before


def test_preview_dry_run_in_the_request(ctx, member):
    actor = _user(member.id)
    token = upload(actor, b"Name;E-mail Address\nAda Lovelace;ada@example.org\nAda L;ada@example.org\n")
    info = import_jobs.inspect(actor, token)
    assert info["layout"].delimiter == ";" and info["mapping"] == {0: "full_name", 1: "email"}
    outcome = import_jobs.dry_run(actor, token, info["mapping"], importer.Options())
    assert outcome.counts == {"created": 1, "updated": 1, "unchanged": 0, "rejected": 0}
    # The second row is the same person (same email): it merges, the later non-empty value wins.
    assert outcome.samples["created"][0] == {"row": 2, "first_name": "Ada", "last_name": "L",
                                             "email": "ada@example.org", "type": "person", "status": "lead"}
    assert _count() == 0


def test_an_existing_contact_of_another_team_is_not_touched(ctx, member, outsider):
    import_file(_user(outsider.id), b"First Name,Email\nEve,eve@example.org\n")
    job = import_file(_user(member.id), b"First Name,Email\nMallory,eve@example.org\n")
    assert job.result["summary"]["Rejected"] == 1 and "you may edit" in job.errors[0]["message"]
    assert db.session.scalar(select(Contact.first_name)) == "Eve"


def test_viewers_cannot_import(ctx, viewer):
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        upload(_user(viewer.id), b"First Name\nAda\n")


# --- malformed files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\n\r\n  \n", "empty"),
        (bytes(range(256)) * 50, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4000), "binary"),
    ],
)
def test_unreadable_files_are_refused_naming_the_problem(ctx, member, data, message):
    actor = _user(member.id)
    with pytest.raises(ValidationError) as exc:
        token = upload(actor, data)
        import_jobs.inspect(actor, token)
    assert message in " ".join(exc.value.errors["file"])


def test_encodings_are_detected(ctx, member):
    actor = _user(member.id)
    text = "First Name,Last Name,Email\nRenée,Müller,renee@example.org\nJosé,Ñúñez,jose@example.org\n"
    for data in (
        text.encode("utf-8"),
        b"\xef\xbb\xbf" + text.encode("utf-8"),
        text.replace(",", "\t").encode("utf-16"),  # Excel "Unicode text"
        text.encode("cp1252"),
        text.encode("latin-1"),
    ):
        db.session.execute(Contact.__table__.delete())
        db.session.commit()
        job = import_file(actor, data)
        assert job.status == "done" and job.error_count == 0, (data[:20], job.errors)
        assert names() == ["José Ñúñez", "Renée Müller"]


def test_broken_rows_are_reported_and_the_rest_imported(ctx, member):
    actor = _user(member.id)
    huge = "x" * (csv_import.MAX_FIELD + 10)
    data = (
        "First Name,Last Name,Email\n"
        "Ada,Lovelace,ada@example.org\n"
        "Too,Many,cells@example.org,extra,more\n"
        "Short\n"
        f'Huge,"{huge}",huge@example.org\n'
        "Alan,Turing,alan@example.org\n"
    ).encode()
    job = import_file(actor, data)
    assert job.status == "done"
    assert "Ada Lovelace" in names() and "Short" in names()
    messages = " ".join(e["message"] for e in job.errors)
    assert "5 cells but the header names 3" in messages
    assert "KiB" in messages


def test_an_open_quote_does_not_hang_or_crash(ctx, member):
    data = b'First Name,Email\nAda,ada@example.org\n"Broken,broken@example.org\nAlan,alan@example.org\n'
    job = import_file(_user(member.id), data)
    assert job.status == "done"
    assert "Ada" in names()


@pytest.mark.parametrize("tail", [b"\n", b""])
def test_a_quote_never_closed_rejects_its_row_naming_the_lines_it_swallowed(ctx, member, tail):
    # The lenient reader takes the rest of the file as one cell: that row is reported, not imported
    # as a contact named "Broken,broken@example.org\nAlan,alan@example.org".
    data = b'First Name,Email\nAda,ada@example.org\n"Broken,broken@example.org\nAlan,alan@example.org' + tail
    job = import_file(_user(member.id), data)
    assert job.status == "done" and names() == ["Ada"]
    assert [e["ref"] for e in job.errors] == [3]
    assert "never closed" in job.errors[0]["message"] and "(2 lines)" in job.errors[0]["message"]


def test_a_closed_multi_line_cell_in_the_last_row_is_kept(ctx, member):
    data = b'First Name,Email,Notes\nAda,ada@example.org,"two\nlines"\n'
    job = import_file(_user(member.id), data)
    assert job.status == "done" and job.error_count == 0 and names() == ["Ada"]


def test_bad_bytes_in_a_utf8_file_reject_that_row(ctx, member):
    data = b"First Name,Email\n" + ("Renée,r@example.org\n" * 15000).encode() + b"Zo\xeb,zoe@example.org\n"
    job = import_file(_user(member.id), data)
    assert job.status == "done" and job.error_count == 1 and "UTF-8" in job.errors[0]["message"]


def test_rows_as_read_blank_ones_skipped_and_cells_to_their_fields(ctx, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes("First Name,Last Name,Email,Phone,Company,Status,Job Title\n"
                     "Ada , Lovelace,ada@example.org,+44 20 7946 0958,Engines,active, Countess\n"
                     "\n ,  , ,\t\n,,,,,,\n"
                     ",,,,,,Only a title\n"
                     "Bad,\ufffd,b@example.org\n".encode())
    layout = csv_import.sniff(str(path))
    mapping = csv_import.auto_mapping(layout.headers, layout.preset)
    rows = list(csv_import.records(str(path), layout, mapping))
    assert [n for n, _r in rows] == [2, 6, 7]  # lines 3 to 5 hold nothing
    assert rows[0][1] == {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
                          "phone": "+44 20 7946 0958", "organization": "Engines", "status": "active",
                          "extra": {"phones": ["+44 20 7946 0958"], "title": "Countess"}}
    assert rows[1][1] == {"extra": {"title": "Only a title"}}
    assert "cannot be read as utf-8" in rows[2][1]


def test_a_header_only_file_imports_nothing(ctx, member):
    job = import_file(_user(member.id), b"First Name,Email\n")
    assert job.status == "done" and job.result["summary"]["Created"] == 0


def test_bad_options_and_mappings_name_the_field(ctx, member):
    actor = _user(member.id)
    with pytest.raises(ValidationError) as exc:
        import_jobs.options_from(actor, {"key": "phone"})
    assert "key" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        csv_import.clean_mapping({"0": "shoe_size"}, 3)
    assert "mapping" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        import_jobs.upload_path(actor, "u1-../../etc/passwd")
    assert "file" in exc.value.errors


# --- resume after a crash -----------------------------------------------------------------------


def test_a_crashed_import_resumes_after_its_last_batch_without_importing_twice(ctx, member, monkeypatch):
    actor = _user(member.id)
    rows = "".join(f"P{i},Person,p{i}@example.org\n" for i in range(1, 26))
    token = upload(actor, ("First Name,Last Name,Email\n" + rows).encode())
    info = import_jobs.inspect(actor, token)
    monkeypatch.setattr(importer, "BATCH", 10)
    real_plan = importer._plan
    calls = {"n": 0}

    def crash_on_second_batch(*args, **kwargs):  # while the first batch is being written
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")  # not an Exception: the job runner cannot catch it
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(importer, "_plan", crash_on_second_batch)
    with pytest.raises(SystemExit):
        import_jobs.start(actor, token, info["mapping"], importer.Options(batch_size=10))
    db.session.rollback()
    job = db.session.scalars(select(Job)).one()
    assert job.status == "running" and job.checkpoint["row"] == 11 and job.done == 10
    assert _count() == 10
    monkeypatch.setattr(importer, "_plan", real_plan)
    with transaction():
        db.session.get(Job, job.id).heartbeat_at = utcnow() - timedelta(minutes=5)  # the worker died
    assert jobs.sweep() == 1
    db.session.refresh(job)
    assert job.status == "done" and job.done == 25
    assert _count() == 25 and job.result["summary"]["Created"] == 25
    assert _count(AuditEntry, AuditEntry.action == "created", AuditEntry.entity_type == "contact") == 25
    assert not os.path.exists(os.path.join(import_jobs._folder(), token))


def test_cancel_stops_after_the_current_batch(ctx, member, monkeypatch):
    actor = _user(member.id)
    rows = "".join(f"P{i},p{i}@example.org\n" for i in range(1, 31))
    token = upload(actor, ("First Name,Email\n" + rows).encode())
    info = import_jobs.inspect(actor, token)
    real = importer._plan

    def cancel_during_first(state, batch, *args, **kwargs):
        if not db.session.scalars(select(Job)).one().cancel_requested:
            with transaction():  # as the cancel request, from another request, commits it
                db.session.scalars(select(Job)).one().cancel_requested = True
        return real(state, batch, *args, **kwargs)

    monkeypatch.setattr(importer, "_plan", cancel_during_first)
    job = import_jobs.start(actor, token, info["mapping"], importer.Options(batch_size=10))
    db.session.refresh(job)
    assert job.status == "cancelled" and _count() == 10
    assert not os.path.exists(os.path.join(import_jobs._folder(), token))  # a cancelled import keeps no upload


def test_appliers_receive_tags_and_extra(ctx, member, monkeypatch):
    seen = []
    monkeypatch.setattr(importer, "APPLIERS", [lambda actor, rows, dry: seen.extend((r[1], r[2], dry) for r in rows)])
    import_file(_user(member.id), sample("google-1.csv"))
    record, created, dry = seen[0]
    assert created is True and dry is False and record["tags"] == ["Suppliers"]
    assert seen[1][0]["extra"]["notes"] == "Existing customer, renewing service"


def test_external_ids_follow_a_merge_and_go_back_on_unmerge(app, ctx, member):
    actor = _user(member.id)
    import_file(actor, b"Record ID,First Name,Email\n1,Ada,ada@example.org\n2,Ada L,ada.l@example.org\n",
                key="external_id", source="crm")
    ada, ada_l = (db.session.scalar(select(Contact).where(Contact.email_key == e)) for e in ("ada@example.org",
                                                                                            "ada.l@example.org"))
    relay = app.extensions["contacts_pm"].hook
    undo = {}
    for answer in relay.contacts_contacts_merged(target=ada, source=ada_l, actor=actor):
        undo.update(answer or {})
    assert undo["imports"] == {"external_ids": [db.session.scalar(
        select(ContactExternalId.id).where(ContactExternalId.external_id == "2"))]}
    assert _count(ContactExternalId, ContactExternalId.contact_id == ada.id) == 2
    relay.contacts_contacts_unmerged(target=ada, source=ada_l, actor=actor, undo=undo)
    relay.contacts_contacts_unmerged(target=ada, source=ada_l, actor=actor, undo=undo)  # idempotent
    assert _count(ContactExternalId, ContactExternalId.contact_id == ada_l.id) == 1
    assert _count(ContactExternalId, ContactExternalId.contact_id == ada.id) == 1


OUTLOOK_HEADER = (
    '"Title","First Name","Middle Name","Last Name","Suffix","Company","Department","Job Title",'
    '"Business Street","Business City","Business Phone","Home Phone","Mobile Phone","Categories",'
    '"E-mail Address","E-mail Display Name","Notes","Birthday","Sensitivity","Priority"'
)


def test_outlook_layout_in_cp1252_with_ragged_rows(ctx, member):
    # As Outlook for Windows writes it: cp1252, CRLF, every field quoted, trailing empty fields left out.
    rows = [
        '"","Antoní","","Gaudí","","Sagrada Família SL","","Arquitecto","Carrer de Mallorca 401","Barcelona",'
        '"+34 932 080 414","","","Clientes;VIP","antoni@example.es","Antoní Gaudí","1° 2ª","0/0/00","Normal","Normal"',
        '"","Zoë","","Ærø","","","","","","","","","+44 20 7946 0958","","zoe@example.co.uk"',
    ]
    data = ("\r\n".join([OUTLOOK_HEADER, *rows]) + "\r\n").encode("cp1252")
    actor = _user(member.id)
    info = import_jobs.inspect(actor, upload(actor, data))
    assert info["layout"].preset == "outlook" and info["layout"].encoding == "cp1252"
    seen = []
    importer.APPLIERS.append(lambda actor, rows, dry: seen.extend(r[1] for r in rows))
    try:
        job = import_file(actor, data)
    finally:
        importer.APPLIERS.pop()
    assert job.status == "done" and job.result["summary"]["Rejected"] == 0, job.errors
    # Outlook's "0/0/00" (no birthday) is not a date: left out, and now said so.
    assert [(e["ref"], e["message"]) for e in job.errors] == [(2, "Imported, but birthday skipped: Use a date like 1990-12-31.")]
    assert names() == ["Antoní Gaudí", "Zoë Ærø"]
    gaudi = db.session.scalar(select(Contact).where(Contact.email_key == "antoni@example.es"))
    assert gaudi.phone == "+34932080414" and gaudi.organization.name == "Sagrada Família SL"
    assert seen[0]["tags"] == ["Clientes", "VIP"] and seen[0]["extra"] == {
        "title": "Arquitecto", "notes": "1° 2ª", "phones": ["+34 932 080 414"], "birthday": "0/0/00",
        "addresses": [{"label": "other", "street": "Carrer de Mallorca 401", "locality": "Barcelona"}]}
    from core.services import details  # Outlook's "0/0/00" is no birthday: left out

    assert details.details_of([gaudi.id])[gaudi.id]["birthday"] is None


def test_a_batch_that_fails_on_the_database_is_redone_row_by_row(ctx, member, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    def clash_on_bob(actor, rows, dry):
        # Stands in for another writer taking bob's email between our lookup and our insert.
        if any((record.get("email") or "").startswith("bob") for _id, record, _created in rows):
            raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: contacts.email_key"))

    monkeypatch.setattr(importer, "APPLIERS", [clash_on_bob])
    job = import_file(_user(member.id), b"First Name,Email\nAda,ada@example.org\nBob,bob@example.org\nCy,cy@example.org\n")
    assert job.status == "done"
    assert job.result["summary"] == {"Created": 2, "Updated": 0, "Unchanged": 0, "Rejected": 1}
    assert job.errors == [{"ref": 3, "message": "email: Another contact already has this email address."}]
    assert names() == ["Ada", "Cy"]
    assert _count(AuditEntry, AuditEntry.action == "created", AuditEntry.entity_type == "contact") == 2
    assert audit.verify().ok


def test_imported_contacts_fire_the_same_hooks_as_a_save(app, ctx, member):
    from core.plugins import hookimpl

    seen = []

    class Spy:
        @hookimpl
        def contacts_contact_created(self, contact, actor):
            seen.append(("created", contact.email))

        @hookimpl
        def contacts_record_changed(self, entity_type, entity_id, action, actor, changes):
            if entity_type == "contact":
                seen.append((action, entity_id))

    pm = app.extensions["contacts_pm"]
    spy = Spy()
    pm.register(spy, name="test-import-spy")
    try:
        actor = _user(member.id)
        import_file(actor, b"First Name,Email\nAda,ada@example.org\n")
        import_file(actor, b"First Name,Email\nAugusta,ada@example.org\n")
    finally:
        pm.unregister(spy)
    ada_id = db.session.scalar(select(Contact.id))
    assert seen == [("created", "ada@example.org"), ("created", ada_id), ("updated", ada_id)]


def test_a_batch_goes_to_contacts_records_changed_once_and_per_record_to_the_others(app, ctx, member):
    from core.plugins import hookimpl
    from core.services import contacts as contact_service

    batches, singles, only_singles = [], [], []

    class Batcher:  # implements both: the batch hook for imports, the per-record one for single edits
        @hookimpl
        def contacts_records_changed(self, entity_type, items, actor):
            batches.append((entity_type, [(entity_id, action) for entity_id, action, _changes in items]))

        @hookimpl
        def contacts_record_changed(self, entity_type, entity_id, action, actor, changes):
            singles.append((entity_type, entity_id, action))

    class PerRecord:  # written before the batch hook existed: still told about every record
        @hookimpl
        def contacts_record_changed(self, entity_type, entity_id, action, actor, changes):
            only_singles.append((entity_type, entity_id, action))

    pm = app.extensions["contacts_pm"]
    plugins = {"test-batcher": Batcher(), "test-per-record": PerRecord()}
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    try:
        actor = _user(member.id)
        import_file(actor, b"First Name,Email,Company\nAda,ada@example.org,Engines\nBob,bob@example.org,\n")
        ada, bob = (db.session.scalar(select(Contact.id).where(Contact.email_key == e)) for e in ("ada@example.org",
                                                                                                 "bob@example.org"))
        org = db.session.scalar(select(Organization.id))
        assert batches == [("organization", [(org, "created")]), ("contact", [(ada, "created"), (bob, "created")])]
        assert singles == []
        assert only_singles == [("organization", org, "created"), ("contact", ada, "created"), ("contact", bob, "created")]
        import_file(actor, b"First Name,Email\nAugusta,ada@example.org\n")
        assert batches[-1] == ("contact", [(ada, "updated")]) and only_singles[-1] == ("contact", ada, "updated")
        contact_service.update_contact(actor, bob, {"first_name": "Robert"}, None)  # a single edit
        assert singles == [("contact", bob, "updated")] and len(batches) == 3
    finally:
        for plugin in plugins.values():
            pm.unregister(plugin)


def test_matching_by_external_id_never_takes_another_contacts_email(ctx, member):
    actor = _user(member.id)
    import_file(actor, b"Record ID,First Name,Email\n1,Ada,ada@example.org\n2,Bob,bob@example.org\n",
                key="external_id", source="crm")
    job = import_file(actor, b"Record ID,First Name,Email\n1,Ada,bob@example.org\n2,Robert,\n",
                      key="external_id", source="crm")
    assert job.result["summary"] == {"Created": 0, "Updated": 1, "Unchanged": 0, "Rejected": 1}
    assert job.errors[0] == {"ref": 2, "message": "email: Another contact already has this email address."}
    assert sorted(db.session.scalars(select(Contact.first_name))) == ["Ada", "Robert"]


def test_a_trashed_contact_with_the_email_is_reported_not_duplicated(ctx, member):
    from core.services import contacts

    actor = _user(member.id)
    import_file(actor, b"First Name,Email\nAda,ada@example.org\n")
    contacts.delete_contact(actor, db.session.scalar(select(Contact.id)))
    job = import_file(actor, b"First Name,Email\nAda,ada@example.org\n")
    assert job.result["summary"]["Rejected"] == 1 and "in the trash" in job.errors[0]["message"]
    assert _count() == 1


def test_excel_sep_line_and_semicolons(ctx, member):
    data = "sep=;\r\nVorname;Nachname;E-Mail;First Name;Email\r\n;;;Jürgen;j@example.de\r\n".encode("cp1252")
    actor = _user(member.id)
    info = import_jobs.inspect(actor, upload(actor, data))
    assert info["layout"].delimiter == ";" and info["layout"].header_row == 2
    job = import_file(actor, data)
    assert job.error_count == 0 and names() == ["Jürgen"]


def test_new_organizations_are_created_once_audited_and_only_for_kept_rows(ctx, member):
    data = (b"First Name,Email,Company\nAda,ada@example.org,Engines\nBob,bob@example.org,engines\n"
            b",not-an-email,Ghost Ltd\n")
    job = import_file(_user(member.id), data)
    assert job.result["summary"]["New organizations"] == 1 and job.result["summary"]["Created"] == 2
    assert [o.name for o in db.session.scalars(select(Organization))] == ["Engines"]
    assert [e["ref"] for e in job.errors] == [4]  # its organization "Ghost Ltd" is not created
    org = db.session.scalar(select(Organization))
    assert {c.organization_id for c in db.session.scalars(select(Contact))} == {org.id}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "organization"))
    assert entry.entity_id == org.id and entry.changes["name"] == [None, "Engines"]
    assert audit.verify().ok


def test_an_import_freezes_the_heap_while_it_runs_and_gives_it_back(ctx, member, monkeypatch):
    import gc

    seen = []

    def note(actor, rows, dry):
        seen.append(gc.get_freeze_count())

    def boom(actor, rows, dry):
        raise RuntimeError("a failing batch")

    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(importer, "APPLIERS", [note])
    job = import_file(_user(member.id), b"First Name,Email\nAda,ada@example.org\n")
    assert job.status == "done" and seen and seen[0] > 0  # the objects from before the import are frozen
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(importer, "APPLIERS", [boom])
    job = import_file(_user(member.id), b"First Name,Email\nBob,bob@example.org\n")
    assert job.status == "failed"
    assert gc.get_freeze_count() == 0


def test_organizations_of_the_team_are_found_by_name_and_others_not_taken(ctx, member, outsider):
    from core.services import organizations

    team_id = member.teams[0].id
    mine = organizations.create_organization(_user(member.id), {"name": "Analytical Engines", "owner_team_id": team_id})
    trashed = organizations.create_organization(_user(member.id), {"name": "Old Works", "owner_team_id": team_id})
    organizations.delete_organization(_user(member.id), trashed.id)
    theirs = organizations.create_organization(_user(outsider.id), {"name": "Babbage Ltd"})
    data = (b"First Name,Email,Company\nAda,ada@example.org,analytical engines\nBob,bob@example.org,Old Works\n"
            b"Cy,cy@example.org,Babbage Ltd\n")
    job = import_file(_user(member.id), data)
    assert job.status == "done" and job.result["summary"]["New organizations"] == 2, (job.message, job.result)
    by_name = {c.first_name: c.organization for c in db.session.scalars(select(Contact))}
    assert by_name["Ada"].id == mine.id
    assert by_name["Bob"].id != trashed.id and by_name["Bob"].owner_team_id == team_id
    assert by_name["Cy"].id != theirs.id and by_name["Cy"].owner_team_id == team_id
