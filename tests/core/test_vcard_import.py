"""vCard import (a background job) and export (one contact, a streamed list filter) against the
database: every real client export imports with its names, emails and phones; re-imports update
by UID or email; export -> import -> export gives the same file for 3.0 and 4.0."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.errors import ValidationError
from core.extensions import db
from core.models import Contact, Organization, User
from core.models.jobs import Job
from core.services import details, vcard_export, vcard_import
from tests import factories
from tests.conftest import reset_database
from tests.core.test_cli import run  # noqa: F401 - fixture
from tests.core.test_vcard import NAME, SAMPLES, TEXT

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(200))


def actor(user) -> User:
    return db.session.get(User, user.id)


def import_text(user, text: str | bytes, name="cards.vcf") -> Job:
    job = vcard_import.start_import(actor(user), name, text.encode() if isinstance(text, str) else text)
    return db.session.get(Job, job.id, populate_existing=True)


def people():
    """(first, last, email, phone, [other emails], [other phones]) of every contact, by id."""
    out = []
    for c in db.session.scalars(select(Contact).order_by(Contact.id)):
        d = details.details_of([c.id])[c.id]
        out.append((c.first_name, c.last_name, c.email, c.phone, [e["value"] for e in d["emails"]],
                    [p["value"] for p in d["phones"]]))
    return out


# Each sample file's contacts after import (the default phone region is US: numbers that do not
# parse there are kept as written among the other phones; addresses that are not email are skipped).
EXPECTED = {
    "android-1.vcf": [
        ("", "", "john.doe@company.com", "", [], []),
        ("", "", "jane.doe@company.com", "", [], []),
        ("", "Ñ Ñ Ñ Ñ", None, "", [], ["123456789"]),
        ("", "Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ", None, "", [], ["123456", "234567", "3456789", "45678901"]),
        ("Ñ Ñ Ñ", "Ñ Ñ", "bob@company.com", "", [], ["123456"]),
        ("", "ÑÑÑÑ", "henry@company.com", "", [], ["55556666"]),
    ],
    "apple-ios-1.vcf": [("John Richter James", "Doe", "john.doe@ibm.com", "+19055551234", [],
                         ["+19056661234", "+19057771234", "+19058881234", "+19059991234", "905-111-1234",
                          "+19052221234"])],
    "apple-macos-2.vcf": [("Apple Computer AG", "", None, "", [], [])],
    "davx5-1.vcf": [("Pretty Long With-Hyphen", "Name", None, "", [], [])],
    "google-2.vcf": [("Arnold", "Smith", "asmithk@gmail.com", "", [], []),
                     ("Chris", "Beatle", "chrisy55d@yahoo.com", "", [], []),
                     ("Doug", "White", "dwhite@gmail.com", "", [], [])],
    "nextcloud-1.vcf": [("Dummy", "Dummy", "dummy.dummy@dummy.com", "+49987654321", [], ["+49 1234 56789"])],
    "outlook-1.vcf": [("Michael", "Angstadt", "mike.angstadt@gmail.com", "", [],
                       ["(111) 555-1111", "(111) 555-2222", "(111) 555-4444", "(111) 555-3333"])],
    "outlook-2.vcf": [("John", "Doe", "jdoe@hotmail.com", "", [], [])],
    "outlook-3.vcf": [("Rudi", "Wimmel", "Wimmel@wurstdarm.de", "", [], ["0987 /6543", "9876 /11223344"])],
    "sogo-connector-1.vcf": [("Theo", "Tester", "theo.tester@radicale.org", "", [], [])],
    "thunderbird-1.vcf": [("contact", "one", None, "", [], []), ("contact", "two", None, "", [], [])],
    "thunderbird-2.vcf": [("John", "Doe", "doe.john@hotmail.com", "", [
        "additional-email@company.com", "additional-email1@company.com", "additional-email2@company.com",
        "additional-email3@company.com"], ["555-555-1111", "555-555-2222", "555-555-5555", "555-555-3333",
                                           "555-555-4444"])],
    "google-1.vcf": [("VCard", "Test", "email@example.com", "", [
        "homeemail@example.com", "workemail@example.com", "otheremail@example.com", "customcategory@example.com"],
        [f"55555511{n}" for n in range(11, 22)])],
    "evolution-1.vcf": [("John Richter James", "Doe", "john.doe@ibm.com", "+19056661234", [], ["+19055551234"])],
    "apple-macos-1.vcf": [("John Richter James", "Doe", "john.doe@ibm.com", "+19057771234", [],
                           ["+19056661234", "+19055551234", "+19058881234", "+19059991234", "905-111-1234",
                            "+19052221234"])],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_sample_imports_with_its_names_emails_and_phones(ctx, member, name):
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared samples are not here ({SAMPLES})")
    job = import_text(member, (SAMPLES / name).read_bytes(), name)
    assert job.status == "done" and job.result["summary"]["Rejected"] == 0, job.errors
    assert people() == EXPECTED[name]


def test_a_photo_title_address_and_organization_arrive(ctx, member):
    if not SAMPLES.is_dir():
        pytest.skip("the shared samples are not here")
    import_text(member, (SAMPLES / "apple-ios-1.vcf").read_bytes())
    contact = db.session.scalar(select(Contact))
    d = details.details_of([contact.id])[contact.id]
    assert d["has_photo"] and d["title"] == "Money Counter" and contact.organization.name == "IBM"
    assert d["addresses"][1]["street"] == "Street4\nBuilding 6\nFloor 8"


CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nN:{last};{first};;;\r\nEMAIL:{email}\r\nORG:Acme\r\nEND:VCARD\r\n"


def test_reimport_updates_by_uid_then_by_email_and_reuses_the_organization(ctx, member):
    job = import_text(member, CARD.format(uid="u-1", first="Ada", last="Lovelace", email="ada@example.org"))
    assert job.result["summary"] == {"Created": 1, "Updated": 0, "Rejected": 0}
    job = import_text(member, CARD.format(uid="u-1", first="Ada", last="King", email="ada@king.example.org")
                      + CARD.format(uid="u-2", first="Ada", last="K", email="ada@king.example.org"))
    assert job.result["summary"] == {"Created": 0, "Updated": 2, "Rejected": 0}
    [contact] = db.session.scalars(select(Contact)).all()
    assert (contact.last_name, contact.email) == ("K", "ada@king.example.org")
    assert details.details_of([contact.id])[contact.id]["uid"] == "u-2"
    assert db.session.scalar(select(db.func.count()).select_from(Organization)) == 1


def test_cards_that_cannot_be_imported_are_reported_and_the_rest_is_kept(ctx, team, other_team, member):
    factories.contact(db.session.merge(other_team), "Hidden", email="hidden@example.org")
    text = (CARD.format(uid="a", first="Good", last="One", email="good@example.org")
            + CARD.format(uid="b", first="Their", last="Contact", email="hidden@example.org")
            + "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:123\r\nEND:VCARD\r\n"
            + "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Bad;" + "x" * 150 + ";;;\r\nEND:VCARD\r\n"
            + "BEGIN:VCARD\r\nFN:No end\r\n")
    job = import_text(member, text)
    assert job.status == "done" and job.result["summary"] == {"Created": 1, "Updated": 0, "Rejected": 4}
    assert "text" not in job.params  # the file is not kept once the job is over
    refs = [(e["ref"], e["message"]) for e in job.errors]
    assert refs[0] == ("card 2", "Their Contact: email: Another contact has this email address and is not visible to you.")
    assert refs[1] == ("card 3", "The card has no name and no email address.")
    assert refs[2][0] == "card 4" and "first_name" in refs[2][1]
    assert refs[3] == ("card 5", "END:VCARD is missing: the file ends inside this card.")
    assert [c.first_name for c in db.session.scalars(select(Contact).where(Contact.owner_team_id == team.id))] == ["Good"]


def test_start_refuses_empty_non_vcard_and_too_large_files_and_viewers(ctx, member, viewer):
    for data, message in ((b"", "Choose"), (b"a,b\n1,2\n", "not a vCard"),
                          (b"BEGIN:VCARD\n" + b"x" * vcard_import.MAX_FILE_BYTES, "At most")):
        with pytest.raises(ValidationError) as exc:
            vcard_import.start_import(actor(member), "x.vcf", data)
        assert message in exc.value.errors["file"][0]
    with pytest.raises(ValidationError) as exc:
        vcard_import.start_import(actor(member), "x.vcf", CARD.encode(), owner_team_id=999)
    assert "owner_team_id" in exc.value.errors
    with pytest.raises(Exception) as exc:
        vcard_import.start_import(actor(viewer), "x.vcf", CARD.encode())
    assert type(exc.value).__name__ == "PermissionDenied"


def test_a_resumed_job_neither_skips_nor_repeats_cards(ctx, member):
    from core.database import transaction
    from core.services import jobs

    text = "".join(CARD.format(uid=f"u{i}", first=f"P{i}", last="X", email=f"p{i}@example.org") for i in range(1, 5))
    team_id = db.session.get(User, member.id).teams[0].id
    with transaction():
        job = Job(kind=vcard_import.KIND, title="t", created_by_id=member.id, total=4,
                  params={"text": text, "filename": "x.vcf", "owner_team_id": team_id},
                  checkpoint={"card": 2, "counts": {"Created": 2, "Updated": 0, "Rejected": 0}})
        db.session.add(job)
    assert jobs.run(job.id) == "done"
    job = db.session.get(Job, job.id, populate_existing=True)
    assert job.result["summary"]["Created"] == 4 and job.done == 4
    assert [c.first_name for c in db.session.scalars(select(Contact).order_by(Contact.id))] == ["P3", "P4"]


# --- export ---------------------------------------------------------------------------------------


def _rich_contacts(user, team):
    org = factories.organization(db.session.merge(team), "Analytical Engines")
    a = details.create_contact(user, {
        "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org", "phone": "+1 650 253 0000",
        "organization_id": org.id, "title": "Countess", "birthday": "1815-12-10", "notes": "Notes, with; odd\nlines",
        "emails": [{"label": "work", "value": "ada@work.example.org"}],
        "phones": [{"label": "home", "value": "+1 212 555 0100"}, {"label": "other", "value": "+1 415 555 0199"}],
        "urls": [{"label": "work", "value": "https://example.org/ada"}],
        "addresses": [{"label": "home", "street": "12 St James's Square\nFlat 3", "locality": "London",
                       "region": "", "postcode": "SW1Y 4JH", "country": "United Kingdom"}]})
    details.set_photo(user, a.id, JPEG)
    details.create_contact(user, {"first_name": "Ĝřåçé", "last_name": "Hopper 𝔊", "email": "grace@example.org"})
    details.create_contact(user, {"first_name": "", "last_name": "", "email": "only@example.org"})
    return a


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_round_trip_export_import_export_is_identical(app, ctx, team, member, version):
    user = actor(member)
    _rich_contacts(user, team)
    first = "".join(vcard_export.stream_vcards(user, version))
    assert first.count("BEGIN:VCARD") == 3 and "PHOTO" in first
    db.session.remove()
    reset_database(app)  # a new, empty installation with the same secret key
    factories_user = factories.user("member", [factories.team("Elsewhere")], email="again@example.org")
    job = import_text(factories_user, first)
    assert job.result["summary"] == {"Created": 3, "Updated": 0, "Rejected": 0}, job.errors
    second = "".join(vcard_export.stream_vcards(actor(factories_user), version))
    assert second == first


def test_one_contact_and_a_filtered_export_in_keyset_pages(ctx, team, member, monkeypatch):
    user = actor(member)
    ada = _rich_contacts(user, team)
    card = vcard_export.contact_vcard(user, ada.id, "3.0")
    assert "VERSION:3.0" in card and "TITLE:Countess" in card and "PHOTO;ENCODING=b;TYPE=JPEG:" in card
    assert "EMAIL;TYPE=pref:ada@example.org" in card and "EMAIL;TYPE=work:ada@work.example.org" in card
    monkeypatch.setattr(vcard_export, "PAGE", 1)
    assert "".join(vcard_export.stream_vcards(user, "4.0", q="ada")).count("BEGIN:VCARD") == 1
    every = "".join(vcard_export.stream_vcards(user, "4.0", sort="-name"))
    assert every.count("BEGIN:VCARD") == 3 and every.index("FN:Ada Lovelace") < every.index("FN:Ĝřåçé Hopper 𝔊")
    with pytest.raises(ValidationError) as exc:
        vcard_export.stream_vcards(user, "2.1")
    assert "version" in exc.value.errors


def test_the_cli_imports_with_a_summary(app, run, team, member, tmp_path):  # noqa: F811
    path = tmp_path / "people.vcf"
    path.write_text(CARD.format(uid="c1", first="Cli", last="User", email="cli@example.org")
                    + "BEGIN:VCARD\nTEL:1\nEND:VCARD\n")
    result = run("import-vcard", str(path), "--user", member.email.upper())
    assert result.exit_code == 0, result.output
    assert "Created: 1" in result.output and "Rejected: 1" in result.output
    assert "card 2: The card has no name and no email address." in result.output
    with app.app_context():
        assert db.session.scalar(select(Contact.email)) == "cli@example.org"
    bad = run("import-vcard", str(path), "--user", "nobody@example.org")
    assert bad.exit_code == 2 and "No active user" in bad.output


EMAILS = iter(range(10**6))


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(first=NAME, last=NAME, title=TEXT, notes=TEXT, street=TEXT, version=st.sampled_from(["3.0", "4.0"]))
def test_generated_contacts_survive_export_and_reimport_unchanged(app, member, first, last, title, notes, street,
                                                                  version):
    """Property: a contact with odd Unicode, exported and imported again over itself, changes nothing and
    exports the same card (the import is idempotent; normalization is stable)."""
    with app.test_request_context():
        user = actor(member)
        title = title.replace("\n", " ").strip()[:200]
        contact = details.create_contact(user, {
            "first_name": first[:100], "last_name": last[:100], "email": f"p{next(EMAILS)}@example.org",
            "title": title, "notes": notes, "addresses": [{"label": "work", "street": street, "locality": "Zürich"}]})
        first_card = vcard_export.contact_vcard(user, contact.id, version)
        job = import_text(member, first_card)
        assert job.result["summary"] == {"Created": 0, "Updated": 1, "Rejected": 0}, job.errors
        assert vcard_export.contact_vcard(user, contact.id, version) == first_card
        db.session.remove()
