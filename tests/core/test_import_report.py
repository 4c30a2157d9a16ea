"""What an import tells the user: its preview agrees with the job, kept rows' warnings, the
downloadable problem report (the file's own rows with Row and Problem), look-alike rows."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Contact, Job, User
from core.services import csv_export, custom_fields, import_jobs, importer
from tests.core.test_import import _user, import_file, sample, upload

FIRST = (
    "First Name,Last Name,Email,Tags,Shoe size,Job Title\n"
    "Ada,Lovelace,ada@example.org,vip,42,Countess\n"
    "Alan,Turing,alan@example.org,vip,41,\n"
    "Grace,Hopper,grace@example.org,vip,40,\n"
    "Kat,Johnson,kat@example.org,vip,39,\n"
    "Tim,Lee,tim@example.org,vip,38,Director\n"
)
SECOND = (
    "First Name,Last Name,Email,Tags,Shoe size,Job Title,Birthday\n"
    "New,Person,new@example.org,,,,\n"              # 2 new
    "Ada,Byron,ada@example.org,vip,42,Countess,\n"  # 3 a core field changes
    "Alan,Turing,alan@example.org,\"vip,ace\",41,,\n"  # 4 a tag only
    "Grace,Hopper,grace@example.org,vip,44,,\n"     # 5 a custom field only
    "Tim,Lee,tim@example.org,vip,38,CEO,\n"         # 6 a detail only
    "Kat,Johnson,kat@example.org,vip,39,,\n"        # 7 nothing
    ",,not-an-email,,,,\n"                           # 8 rejected: nothing left
    "Bob,Stone,bob@example.org,,,,31/31/1990\n"     # 9 new, its birthday left out
)


def _shoe_size(admin):
    custom_fields.create_field(_user(admin.id), {"key": "shoe", "label": "Shoe size", "kind": "number"})


def test_the_preview_counts_what_the_import_then_does(ctx, admin, member):
    # The preview called a row whose only change is a tag, a custom field or a detail
    # "unchanged" (the appliers did nothing in a dry run), while the import updated it.
    _shoe_size(admin)
    actor = _user(member.id)
    assert import_file(actor, FIRST.encode()).result["summary"]["Created"] == 5
    token = upload(actor, SECOND.encode())
    info = import_jobs.inspect(actor, token)
    preview = import_jobs.dry_run(actor, token, info["mapping"], importer.Options(source=info["source"]))
    assert preview.counts == {"created": 2, "updated": 4, "unchanged": 1, "rejected": 1}
    assert preview.warnings == 1 and preview.samples["warnings"][0]["row"] == 9
    changed = {item["row"]: item["changes"] for item in preview.samples["updated"]}
    assert set(changed) == {3, 4, 5, 6}
    assert changed[4] == {"tags": ["vip", "ace, vip"]} and list(changed[5]) == ["custom.shoe"]
    assert list(changed[6]) == ["title"]
    job = import_file(actor, SECOND.encode())
    summary = job.result["summary"]
    assert {k.lower(): v for k, v in summary.items() if k != "Warnings"} == preview.counts
    assert summary["Warnings"] == preview.warnings
    # And the dry-run job (the API's) says the same.
    dry = import_file(actor, SECOND.encode(), dry_run=True)
    assert dry.result["summary"] == {"Created": 0, "Updated": 0, "Unchanged": 7, "Rejected": 1, "Warnings": 1}


# --- the real exports through the page's job path, and the report ----------------------------------


def _token(response) -> str:
    return response.headers["Location"].split("/imports/")[1].split("?")[0]


def _through_the_pages(client, path):
    """Upload, preview and start as the pages do (the detected mapping); the preview's HTML and the job page."""
    with open(path, "rb") as fh:
        uploaded = client.post("/imports", data={"file": (io.BytesIO(fh.read()), path.name)},
                               content_type="multipart/form-data")
    assert uploaded.status_code == 303
    preview = client.get(uploaded.headers["Location"]).get_data(as_text=True)
    form = {}
    token = _token(uploaded)
    selects = re.findall(r'<select id="(col\d+)" name="col\d+">(.*?)</select>', preview, re.S)
    for name, options in selects:
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        form[name] = chosen.group(1) if chosen else ""
    form |= {"key": "email", "source": re.search(r'name="source" value="([^"]*)"', preview).group(1), "name": path.name}
    started = client.post(f"/imports/{token}/start", data=form)
    assert started.status_code == 303
    job_id = int(started.headers["Location"].rsplit("/", 1)[1])
    return preview, job_id, client.get(started.headers["Location"]).get_data(as_text=True)


def _report(client, job_id) -> list[list[str]]:
    response = client.get(f"/jobs/{job_id}/errors.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _file_rows(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize(("name", "created", "warned"), [
    ("thunderbird-1.csv", 2, [2, 3]), ("thunderbird-2.csv", 1, [2]), ("google-legacy-1.csv", 1, [2]),
])
def test_real_exports_import_their_contacts_and_report_what_was_left_out(app, member, client_for, name, created, warned):
    # These files imported nothing: every row was rejected for a bad email ("contact1@invalid") or
    # phone ("mainphone"). Now the contacts are kept, the preview and the job say what was left out,
    # and the report holds the file's own rows with Row and Problem.
    path = sample(name)
    client = client_for(member)
    preview, job_id, job_page = _through_the_pages(client, path)
    assert f"<strong>{created}</strong> to create" in preview and "<strong>0</strong> rejected" in preview
    assert 'id="import-preview-warnings"' in preview and "Imported, but " in preview
    assert "Imported, but " in job_page and "Download the problem report (CSV)" in job_page
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.status == "done" and job.result["summary"]["Created"] == created
        assert job.result["summary"]["Rejected"] == 0
        assert db.session.scalar(select(func.count()).select_from(Contact)) == created
    report = _report(client, job_id)
    original = _file_rows(path)
    headers = list(original[0])
    while not headers[-1]:  # as the import reads the header: trailing empty names dropped
        headers.pop()
    assert report[0] == [*headers, "Row", "Problem"]
    width = len(headers)
    assert [int(line[width]) for line in report[1:]] == warned
    for line in report[1:]:
        cells = original[int(line[width]) - 1]  # the file's row (no line above the header in these files)
        assert line[:width] == [csv_export.neutralize(c) for c in cells[:width]]
        assert line[width + 1].startswith("Imported, but ")


def test_the_report_has_every_problem_neutralized_and_can_be_uploaded_again(ctx, member, client_for):
    # The download held the first 1,000 messages only. Now: every row, streamed; cells a spreadsheet
    # would run as a formula are neutralized; the report reads back with the same columns.
    lines = ["First Name,Last Name,Email,Phone"]
    lines += [f",,bad{i},1" for i in range(1, 1101)]  # rejected: nothing left
    lines += ['"=HYPERLINK(""http://x.example"")",Evil,evil-at-example,+1 415 555 0123']  # kept, warned
    actor = _user(member.id)
    job = import_file(actor, ("\n".join(lines) + "\n").encode())
    assert job.result["summary"]["Rejected"] == 1100 and job.error_count == 1101 and len(job.errors) == 1000
    report = _report(client_for(member), job.id)
    assert report[0] == ["First Name", "Last Name", "Email", "Phone", "Row", "Problem"]
    assert len(report) == 1 + 1101
    assert report[1][:5] == ["", "", "bad1", "1", "2"] and report[1][5].startswith("email: ")
    assert report[-1][:5] == ["'=HYPERLINK(\"http://x.example\")", "Evil", "evil-at-example", "'+1 415 555 0123", "1102"]
    # Fixed in a spreadsheet, the report is a file the import reads with the same columns.
    again = upload(actor, ("\ufeff" + "\r\n".join(",".join(f'"{c}"' for c in line) for line in report[:3])).encode())
    info = import_jobs.inspect(actor, again)
    assert info["layout"].headers[:4] == ["First Name", "Last Name", "Email", "Phone"]
    assert {i: t for i, t in info["mapping"].items() if i < 4} == {0: "first_name", 1: "last_name", 2: "email", 3: "phone"}


def test_the_cli_errors_file_is_the_same_report(app, member, client_for, tmp_path):
    from core.cli import cli

    source = tmp_path / "in.csv"
    source.write_text("First Name,Email,Phone\nAda,ada@example.org,mainphone\n,nope,\nGrace,grace@example.org,\n")
    out = tmp_path / "problems.csv"
    runner = app.test_cli_runner()
    with app.app_context():
        email = db.session.get(User, member.id).email
    result = runner.invoke(cli, ["import", str(source), "--as", email, "--errors", str(out)])
    assert result.exit_code == 0, result.output
    assert "Created: 2" in result.output and "Rejected: 1" in result.output and "Warnings: 1" in result.output
    written = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert written[0] == ["First Name", "Email", "Phone", "Row", "Problem"]
    assert [line[:4] for line in written[1:]] == [["Ada", "ada@example.org", "mainphone", "2"], ["", "nope", "", "3"]]
    assert written[1][4].startswith("Imported, but phone 'mainphone' skipped")
    # The same file through a job gives the same report.
    with app.app_context():
        db.session.execute(Contact.__table__.delete())
        db.session.commit()
        job = import_file(_user(member.id), source.read_bytes())
        job_id = job.id
    assert _report(client_for(member), job_id) == written


def test_the_api_job_reports_the_warnings(app, member):
    from tests.core.test_api_contacts import Api, make_token

    api = Api(app, make_token(app, member))
    response = api.post("/api/v1/imports", data={"file": (io.BytesIO(sample("thunderbird-1.csv").read_bytes()), "tb.csv")},
                        content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    summary = response.json["result"]["summary"]
    assert summary["Created"] == 2 and summary["Rejected"] == 0 and summary["Warnings"] == 2
    assert [e["ref"] for e in response.json["errors"]] == [2, 3]
    report = api.get(f"/api/v1/jobs/{response.json['id']}/problems.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0][-2:] == ["Row", "Problem"] and [line[4] for line in lines[1:]] == ["contact1@invalid", "contact2@invalid"]


# --- look-alike rows of one file ----------------------------------------------------------------


def test_the_preview_warns_of_rows_of_the_file_that_look_alike(ctx, member):
    data = (
        "First Name,Last Name,Email,Phone\n"
        "Ada,Lovelace,ada@example.org,+44 20 7946 0958\n"      # 2
        "Ada,King,countess@example.org,+44 20-7946-0958\n"      # 3 the same phone (as E.164), another email
        "Ada,L,ADA@example.org,\n"                             # 4 the same email: the same contact (key)
        "Alan,Turing,alan@example.org,+1 415 555 0123\n"       # 5
        "Bob,Stone,,+1 (415) 555-0123\n"                       # 6 Alan's phone, no email
    )
    actor = _user(member.id)
    token = upload(actor, data.encode())
    info = import_jobs.inspect(actor, token)
    preview = import_jobs.dry_run(actor, token, info["mapping"], importer.Options(source=info["source"]))
    alike = {(item["row"], item["other"], item["why"]) for item in preview.samples["look_alikes"]}
    assert alike == {(3, 2, "same phone number"), (6, 5, "same phone number")}
    # The CLI's dry run says so too.
    from flask import current_app

    from core.cli import cli

    path = current_app.instance_path + "/alike.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(data)
    result = current_app.test_cli_runner().invoke(cli, ["import", path, "--dry-run", "--as", actor.email])
    assert "row 3 looks like row 2 (same phone number)" in result.output, result.output
    # The import does as the preview says: two contacts each.
    job = import_file(actor, data.encode())
    assert job.result["summary"]["Created"] == 4
