"""The import pages and POST /api/v1/imports: upload (CSV or vCard), mapping with preview, start,
errors as 4xx."""

from __future__ import annotations

import io
import json
import re

from sqlalchemy import func, select

from core.extensions import db
from core.models import Contact, Job
from tests.core.test_api_contacts import Api, make_token

CSV = b"First Name,Last Name,E-mail Address,Company\nAda,Lovelace,ada@example.org,Engines\n,,nope,\n"
VCF = (b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u-ada\r\nN:Lovelace;Ada;;;\r\nEMAIL:ada@example.org\r\nTITLE:Countess\r\n"
       b"END:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nTEL:1\r\nEND:VCARD\r\n")


def _upload(client, data=CSV, name="people.csv"):
    return client.post("/imports", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Contact))


def test_upload_preview_and_start(app, member_client):
    assert member_client.get("/imports/new").status_code == 200
    response = _upload(member_client)
    assert response.status_code == 303
    page = member_client.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'<option value="email" selected>', text)
    assert 'id="import-preview-counts"' in text and "<strong>1</strong> to create" in text
    assert "<strong>1</strong> rejected" in text and "Nothing is saved yet" in text
    assert _count(app) == 0
    token = response.headers["Location"].split("/imports/")[1].split("?")[0]
    form = {"col0": "first_name", "col1": "last_name", "col2": "email", "col3": "", "key": "email", "source": "csv"}
    preview = member_client.post(f"/imports/{token}/preview", data=form, headers={"HX-Request": "true"})
    assert preview.status_code == 200 and "new organizations" not in preview.get_data(as_text=True)
    started = member_client.post(f"/imports/{token}/start", data=form)
    assert started.status_code == 303 and "/jobs/" in started.headers["Location"]
    job_page = member_client.get(started.headers["Location"]).get_data(as_text=True)
    assert "Created" in job_page and "1 problem" in job_page
    assert _count(app) == 1


def test_a_vcard_upload_previews_without_columns_and_starts(app, member_client, viewer_client):
    index = member_client.get("/").get_data(as_text=True)
    assert "Import CSV or vCards" in index
    response = _upload(member_client, VCF, "people.vcf")
    assert response.status_code == 303
    text = member_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "vCard file" in text and "<h2>Columns</h2>" not in text and 'name="source"' not in text
    assert re.search(r'<option value="external_id" selected>The card&#39;s UID</option>', text)
    assert "<strong>1</strong> to create" in text and "<strong>1</strong> rejected" in text
    assert "The card has no name and no email address." in text and _count(app) == 0
    token = response.headers["Location"].split("/imports/")[1].split("?")[0]
    preview = member_client.post(f"/imports/{token}/preview", data={"key": "email"}, headers={"HX-Request": "true"})
    assert preview.status_code == 200 and re.search(r'<option value="email" selected>', preview.get_data(as_text=True))
    started = member_client.post(f"/imports/{token}/start", data={"key": "external_id", "name": "people.vcf"})
    assert started.status_code == 303
    job_page = member_client.get(started.headers["Location"]).get_data(as_text=True)
    assert "Import people.vcf" in job_page and "Created" in job_page and "1 problem" in job_page
    assert _count(app) == 1
    assert viewer_client.post("/imports", data={"file": (io.BytesIO(VCF), "p.vcf")},
                              content_type="multipart/form-data").status_code == 403


def test_bad_uploads_are_4xx_naming_the_problem(member_client):
    empty = _upload(member_client, b"")
    assert empty.status_code == 422 and "empty" in empty.get_data(as_text=True)
    junk = _upload(member_client, bytes(range(256)) * 40)
    assert junk.status_code == 422 and "binary" in junk.get_data(as_text=True)
    missing = member_client.post("/imports", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choose a CSV or vCard file" in missing.get_data(as_text=True)
    gone = member_client.get("/imports/u1-0000")
    assert gone.status_code == 422 and gone.get_data(as_text=True).count("upload the file again") == 1  # said once
    assert member_client.post("/imports/nope/start", data={}).status_code == 422


def test_bad_mapping_is_422(member_client):
    token = _upload(member_client).headers["Location"].split("/imports/")[1].split("?")[0]
    response = member_client.post(f"/imports/{token}/start", data={"col0": "shoe_size"})
    assert response.status_code == 422 and "Unknown field" in response.get_data(as_text=True)
    none = member_client.post(f"/imports/{token}/start", data={"col0": ""})
    assert none.status_code == 422 and "Map at least one column" in none.get_data(as_text=True)


def test_someone_elses_upload_is_not_usable(member_client, outsider_client):
    token = _upload(member_client).headers["Location"].split("/imports/")[1].split("?")[0]
    assert outsider_client.get(f"/imports/{token}").status_code == 422


def test_an_upload_over_the_limit_is_413(app, member_client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        response = _upload(member_client, b"First Name\n" + b"A\n" * 2000)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413


def test_api_import_returns_the_job(app, member):
    api = Api(app, make_token(app, member))
    response = api.post("/api/v1/imports", data={"file": (io.BytesIO(CSV), "people.csv")},
                        content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    assert response.json["status"] == "done" and response.json["result"]["summary"]["Created"] == 1
    assert response.json["error_count"] == 1 and response.json["errors"][0]["ref"] == 3
    dry = api.post("/api/v1/imports", data={"file": (io.BytesIO(CSV), "p.csv"), "dry_run": "true",
                                            "mapping": json.dumps({"0": "first_name", "2": "email"})},
                   content_type="multipart/form-data")
    assert dry.status_code == 202 and dry.json["result"]["summary"]["Unchanged"] == 1
    assert dry.json["result"]["samples"]["rejected"][0]["row"] == 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 2
    assert _count(app) == 1


def test_api_imports_a_vcard_file_with_per_card_errors(app, member, viewer):
    api = Api(app, make_token(app, member))
    answer = api.post("/api/v1/imports", data={"file": (io.BytesIO(VCF), "people.vcf")},
                      content_type="multipart/form-data")
    assert answer.status_code == 202, answer.json
    job = answer.json
    assert job["status"] == "done" and job["result"]["summary"]["Created"] == 1
    assert job["errors"] == [{"ref": 2, "message": "The card has no name and no email address."}]
    listed = api.get("/api/v1/contacts").json["items"]
    assert [(c["email"], c["title"]) for c in listed] == [("ada@example.org", "Countess")]
    mapped = api.post("/api/v1/imports", data={"file": (io.BytesIO(VCF), "p.vcf"), "mapping": '{"0": "email"}'},
                      content_type="multipart/form-data")
    assert mapped.status_code == 422 and "mapping" in mapped.json["errors"]["json"]
    dry = api.post("/api/v1/imports", data={"file": (io.BytesIO(VCF), "p.vcf"), "dry_run": "true"},
                   content_type="multipart/form-data")
    assert dry.json["result"]["summary"]["Unchanged"] == 1  # found again by its UID
    viewer_api = Api(app, make_token(app, viewer))
    assert viewer_api.post("/api/v1/imports", data={"file": (io.BytesIO(VCF), "p.vcf")},
                           content_type="multipart/form-data").status_code == 403


def test_api_import_errors_name_the_field(app, member, viewer):
    api = Api(app, make_token(app, member))

    def post(data, **files):
        body = {"file": (io.BytesIO(files.get("file", CSV)), "p.csv"), **data}
        return api.post("/api/v1/imports", data=body, content_type="multipart/form-data")

    assert "key" in post({"key": "phone"}).json["errors"]["form"]
    assert "mapping" in post({"mapping": "{not json"}).json["errors"]["json"]
    assert "mapping" in post({"mapping": '{"9": "email"}'}).json["errors"]["json"]
    empty = post({}, file=b"")
    assert empty.status_code == 422 and "file" in empty.json["errors"]["json"]
    assert "team_id" in post({"team_id": "999999"}).json["errors"]["json"]
    no_file = api.post("/api/v1/imports", data={}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and "file" in no_file.json["errors"]["files"]
    viewer_api = Api(app, make_token(app, viewer))
    assert viewer_api.post("/api/v1/imports", data={"file": (io.BytesIO(CSV), "p.csv")},
                           content_type="multipart/form-data").status_code == 403
