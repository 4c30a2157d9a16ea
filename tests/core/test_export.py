"""CSV export: filters like the list, streamed page by page, formulas neutralized by default,
raw for round-trips (export -> import -> export gives the same file), the web and API routes
and the CLI commands."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from core.cli import cli
from core.extensions import db
from core.models import AuditEntry, Contact, ContactExternalId, Job, Organization, User
from core.services import csv_export, import_jobs, importer, vcard_export
from tests import factories
from tests.core.test_api_contacts import Api, make_token


def _user(user_id):
    return db.session.get(User, user_id)


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_default_export_neutralizes_formulas_and_raw_keeps_them(ctx, member, team):
    factories.contact(team, "=HYPERLINK(\"http://evil\")", "+Plus", email="at@example.org", phone="+14155550123")
    factories.contact(team, "@SUM(A1)", "-minus")
    factories.contact(team, "\tTab", "\rReturn")
    safe = csv_export.export_text(_user(member.id))
    raw = csv_export.export_text(_user(member.id), raw=True)
    assert safe.startswith("\ufeff") and not raw.startswith("\ufeff")
    cells = [cell for row in parse(safe)[1:] for cell in row if cell]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert "'=HYPERLINK(\"http://evil\")" in cells and "'+14155550123" in cells
    raw_cells = [cell for row in parse(raw)[1:] for cell in row]
    assert "=HYPERLINK(\"http://evil\")" in raw_cells and "\rReturn" in raw_cells and "+14155550123" in raw_cells


def test_export_follows_the_list_filters_and_visibility(ctx, member, team, other_team):
    factories.contact(team, "Ada", "Active", status="active")
    factories.contact(team, "Lea", "Lead", status="lead")
    factories.contact(other_team, "Otto", "Other", status="active")
    rows = parse(csv_export.export_text(_user(member.id), filters={"status": "active"}))
    assert rows[0] == csv_export.HEADERS + csv_export.MORE_HEADERS + [csv_export.UID_HEADER] and [r[0] for r in rows[1:]] == ["Ada"]
    rows = parse(csv_export.export_text(_user(member.id), filters={"sort": "-name"}))
    assert [r[0] for r in rows[1:]] == ["Lea", "Ada"]


def test_export_streams_page_by_page_without_keeping_the_rows(ctx, member, team):
    for i in range(csv_export.PAGE * 2 + 5):
        db.session.add(Contact(first_name=f"P{i:04d}", last_name="X", sort_name=f"x p{i:04d}", type="person",
                               status="active", owner_team_id=team.id))
    db.session.commit()
    chunks = csv_export.stream(_user(member.id))
    header = next(chunks)
    assert header.startswith("\ufeffFirst name")
    sizes = []
    for chunk in chunks:
        sizes.append(chunk.count("\r\n"))
        assert sum(isinstance(o, Contact) for o in db.session.identity_map.values()) <= csv_export.PAGE
    assert sizes == [csv_export.PAGE, csv_export.PAGE, 5]


def _reset_contacts():
    db.session.execute(delete(ContactExternalId))
    db.session.execute(delete(Contact))
    db.session.execute(delete(Organization))
    db.session.execute(delete(Job))
    db.session.execute(delete(AuditEntry))
    db.session.commit()


def _import_text(actor, text: str):
    token = import_jobs.save_upload(actor, io.BytesIO(text.encode("utf-8")), "round.csv")
    info = import_jobs.inspect(actor, token)
    assert info["layout"].preset == "contacts"
    job = import_jobs.start(actor, token, info["mapping"], importer.Options(source=info["source"]))
    db.session.refresh(job)
    assert job.status == "done", job.message
    return job


# Names with odd Unicode: combining marks, RTL, CJK, emoji, quotes, commas, line breaks, formula starts.
NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufeff\ufffd")
    | st.sampled_from(list(",;\"'=+-@\n\t\r")),
    min_size=1, max_size=30,
).map(lambda s: s.strip()).filter(lambda s: s and "\x00" not in s)
PHONES = st.sampled_from(["", "+14155550123", "+442079460958", "+33142685300", "+81312345678"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(
    st.tuples(NAME, NAME, st.booleans(), PHONES, st.sampled_from(["", "Ørsted A/S", "Acme, Inc.", "=cmd|' /C calc'!A0"]),
              st.sampled_from(["active", "lead", "inactive"])),
    min_size=1, max_size=8,
))
def test_raw_export_import_export_round_trips(ctx, member, team, people):
    _reset_contacts()
    actor = _user(member.id)
    orgs = {}
    for i, (first, last, has_email, phone, org_name, status) in enumerate(people):
        org = None
        if org_name:
            org = orgs.get(org_name) or factories.organization(db.session.merge(team), org_name)
            orgs[org_name] = org
        factories.contact(team, first, last, email=f"p{i}.ü@example.org" if has_email else None, phone=phone,
                          status=status, organization_id=org.id if org else None)
    first_export = csv_export.export_text(actor, raw=True)
    _reset_contacts()
    job = _import_text(actor, first_export)
    assert job.error_count == 0, job.errors
    assert csv_export.export_text(actor, raw=True) == first_export
    again = _import_text(actor, first_export)  # and importing it again changes nothing
    assert again.result["summary"]["Created"] == 0
    assert csv_export.export_text(actor, raw=True) == first_export


# --- web, API, CLI ------------------------------------------------------------------------------


def test_export_route_streams_csv_with_the_filters(member_client, team):
    from tests.conftest import reset_database  # noqa: F401 - the fixtures reset the database

    with member_client.application.app_context():
        factories.contact(db.session.merge(team), "Ada", "A", status="active")
        factories.contact(db.session.merge(team), "Lea", "L", status="lead")
    response = member_client.get("/contacts/export.csv?status=lead")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert [r[0] for r in parse(response.get_data(as_text=True))[1:]] == ["Lea"]
    assert member_client.get("/contacts/export.csv?sort=shoe").status_code == 422
    assert member_client.get("/contacts/export.csv?organization_id=abc").status_code == 422


def test_contacts_list_has_the_export_and_import_links(member_client):
    page = member_client.get("/?status=lead").get_data(as_text=True)
    assert 'id="export-csv"' in page and "/contacts/export.csv?status=lead" in page
    assert "/imports/new" in page


def test_api_export(app, member, team):
    api = Api(app, make_token(app, member))
    with app.app_context():
        factories.contact(db.session.merge(team), "=Ada", "A")
    response = api.get("/api/v1/exports/contacts.csv?raw=true")
    assert response.status_code == 200 and "=Ada" in response.get_data(as_text=True)
    assert "'=Ada" in api.get("/api/v1/exports/contacts.csv").get_data(as_text=True)
    bad = api.get("/api/v1/exports/contacts.csv?cursor=x")
    assert bad.status_code == 422 and "cursor" in bad.json["errors"]["query"]


def test_cli_export_and_import(app, member, team, tmp_path):
    runner = app.test_cli_runner()
    source = tmp_path / "in.csv"
    source.write_text("First Name,Last Name,E-mail Address\nAda,Lovelace,ada@example.org\n,,nope\n")
    with app.app_context():
        email = db.session.get(User, member.id).email
    dry = runner.invoke(cli, ["import", str(source), "--dry-run", "--as", email])
    assert dry.exit_code == 0, dry.output
    assert "Unrecognized layout, utf-8" in dry.output  # not "Unrecognized layout layout"
    assert "Created: 1" in dry.output and "Rejected: 1" in dry.output
    with app.app_context():
        assert db.session.scalar(select(Contact.id)) is None
    done = runner.invoke(cli, ["import", str(source), "--as", email, "--team", "Sales"])
    assert done.exit_code == 0 and "Created: 1" in done.output and "row 3: email:" in done.output
    out = tmp_path / "out.csv"
    exported = runner.invoke(cli, ["export", "--raw", "--out", str(out), "--as", email, "--status", "lead"])
    assert exported.exit_code == 0, exported.output
    assert "exported 1 contact\n" in exported.output
    assert parse(out.read_text(encoding="utf-8"))[1][:3] == ["Ada", "Lovelace", "ada@example.org"]
    missing = runner.invoke(cli, ["import", str(source), "--as", "nobody@example.org"])
    assert missing.exit_code == 2 and "No active user" in missing.output
    bad_team = runner.invoke(cli, ["import", str(source), "--as", email, "--team", "Nope"])
    assert bad_team.exit_code == 2 and "No team named" in bad_team.output


def test_cli_exports_vcards_as_the_api_does(app, member, team, tmp_path):
    # The CLI only wrote CSV: "contacts export" offers the vCard export of the web and the API too.
    runner = app.test_cli_runner()
    with app.app_context():
        factories.contact(db.session.merge(team), "Ada", "Lovelace", email="ada@example.org")
        factories.contact(db.session.merge(team), "Alan", "Turing", email="alan@example.org")
        email = db.session.get(User, member.id).email
    out = tmp_path / "people.vcf"
    done = runner.invoke(cli, ["export", "--out", str(out), "--as", email, "-q", "ada"])
    assert done.exit_code == 0, done.output
    assert "exported 1 contact\n" in done.output
    text = out.read_text(encoding="utf-8")
    assert text.count("BEGIN:VCARD") == 1 and "VERSION:4.0" in text and "FN:Ada Lovelace" in text
    both = runner.invoke(cli, ["export", "--format", "vcard", "--vcard-version", "3.0", "--as", email])
    assert both.exit_code == 0 and both.output.count("BEGIN:VCARD") == 2 and "VERSION:3.0" in both.output
    again = runner.invoke(cli, ["import", str(out), "--as", email])
    assert again.exit_code == 0 and "Created: 0" in again.output and "Unchanged: 1" in again.output
    bad = runner.invoke(cli, ["export", "--format", "vcard", "--as", email, "--sort", "shoe"])
    assert bad.exit_code == 2 and "sort" in bad.output


def test_reimporting_our_own_csv_export_updates_contacts_without_an_email(ctx, member, team):
    # The export had no column naming the contact: every contact without an email address was
    # created again on re-import. Its UID column is the contact's vCard UID, found again.
    actor = _user(member.id)
    lena = factories.contact(team, "Lena", "Schmidt", email=None)
    factories.contact(team, "Ada", "Lovelace", email="ada@example.org")
    exported = csv_export.export_text(actor, raw=True)
    job = _import_text(actor, exported)
    assert job.result["summary"]["Created"] == 0 and job.result["summary"]["Unchanged"] == 2
    job = _import_text(actor, exported.replace("Lena,Schmidt", "Lena,Schmidt-Berg"))
    assert job.result["summary"]["Created"] == 0 and job.result["summary"]["Updated"] == 1
    assert db.session.get(Contact, lena.id, populate_existing=True).last_name == "Schmidt-Berg"
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 2
    [uid] = [row[-1] for row in parse(exported) if row[0] == "Lena"]
    assert f"UID:{uid}\r\n" in vcard_export.contact_vcard(actor, lena.id)  # both exports name the contact alike
