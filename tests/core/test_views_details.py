"""Contact details in the HTML views: the form's repeatable rows, the contact page, the photo,
vCard download and the import page."""

from __future__ import annotations

import io

from werkzeug.datastructures import MultiDict

from core.extensions import db
from core.models import Contact
from core.services import details
from tests import factories

HX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def form(**extra) -> MultiDict:
    data = MultiDict([
        ("first_name", "Ada"), ("last_name", "Lovelace"), ("email", "ada@example.org"), ("details", "1"),
        ("emails-label", "work"), ("emails-value", "ada@work.example.org"),
        ("emails-label", "home"), ("emails-value", ""),  # an empty added row is ignored
        ("phones-label", "mobile"), ("phones-value", "+1 650 253 0000"),
        ("urls-label", "other"), ("urls-value", "example.org"),
        ("addresses-label", "home"), ("addresses-street", "12 St James's Square"), ("addresses-postcode", "SW1Y 4JH"),
        ("addresses-locality", "London"), ("addresses-region", ""), ("addresses-country", "United Kingdom"),
        ("title", "Countess"), ("birthday", "1815-12-10"), ("notes", "Line one\r\nLine two"),
    ])
    for key, value in extra.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def only_contact(app):
    with app.app_context():
        contact = db.session.scalar(db.select(Contact))
        return contact.id, details.details_of([contact.id])[contact.id]


def test_the_form_has_repeatable_rows(member_client, team):
    page = member_client.get("/contacts/new").get_data(as_text=True)
    for key in ("emails", "phones", "urls", "addresses"):
        assert f'data-repeat="{key}"' in page
    assert "data-add-row" in page and "<template>" in page and 'name="birthday"' in page


def test_create_with_details_and_show_them_on_the_page(app, member_client, team):
    answer = member_client.post("/contacts/new", data=form())
    assert answer.status_code == 302
    contact_id, found = only_contact(app)
    assert found["emails"] == [{"label": "work", "value": "ada@work.example.org"}]
    assert found["addresses"][0]["locality"] == "London" and found["notes"] == "Line one\nLine two"
    page = member_client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    for text in ("ada@work.example.org", "Email (work)", "+1 650-253-0000", "Countess", "1815-12-10",
                 "12 St James&#39;s Square", "SW1Y 4JH London", "https://example.org", "Line one",
                 f"/contacts/{contact_id}/vcard", "Add photo"):
        assert text in page, text
    edit = member_client.get(f"/contacts/{contact_id}/edit").get_data(as_text=True)
    assert 'value="ada@work.example.org"' in edit and 'value="1815-12-10"' in edit and "Line one" in edit


def test_edit_removes_rows_and_bad_rows_come_back_with_the_error(app, member_client, team):
    member_client.post("/contacts/new", data=form())
    contact_id, _ = only_contact(app)
    bad = member_client.post(f"/contacts/{contact_id}/edit", data=form(**{"emails-value": ["nope", ""]}), headers=HX)
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Row 1:" in html and 'value="nope"' in html
    ok = member_client.post(f"/contacts/{contact_id}/edit", data=form(**{
        "emails-label": [], "emails-value": [], "addresses-label": [], "addresses-street": [], "title": ""}))
    assert ok.status_code == 302
    _, found = only_contact(app)
    assert found["emails"] == [] and found["addresses"] == [] and found["title"] == ""
    assert found["phones"] == [{"label": "mobile", "value": "+16502530000"}]


def test_a_form_without_the_detail_fields_changes_no_details(app, member_client, team):
    member_client.post("/contacts/new", data=form())
    contact_id, _ = only_contact(app)
    member_client.post(f"/contacts/{contact_id}/edit", data={"first_name": "Ada", "last_name": "King"})
    _, found = only_contact(app)
    assert found["title"] == "Countess" and len(found["emails"]) == 1


def test_photo_upload_serve_with_cache_headers_and_remove(app, member_client, viewer_client, team):
    with app.app_context():
        contact_id = factories.contact(db.session.merge(team), "Pic").id
    url = f"/contacts/{contact_id}/photo"
    assert member_client.get(url).status_code == 404
    bad = member_client.post(url, data={"photo": (io.BytesIO(b"text"), "a.txt")}, content_type="multipart/form-data",
                             headers=HX)
    assert bad.status_code == 422 and "JPEG, PNG or GIF" in bad.get_data(as_text=True)
    assert viewer_client.post(url, data={"photo": (io.BytesIO(PNG), "a.png")},
                              content_type="multipart/form-data").status_code == 403
    ok = member_client.post(url, data={"photo": (io.BytesIO(PNG), "a.png")}, content_type="multipart/form-data")
    assert ok.status_code == 302
    got = member_client.get(url)
    assert got.data == PNG and got.mimetype == "image/png" and "private" in got.headers["Cache-Control"]
    assert member_client.get(url, headers={"If-None-Match": got.headers["ETag"]}).status_code == 304
    page = member_client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert f'src="/contacts/{contact_id}/photo?v=' in page and "Remove photo" in page
    member_client.post(f"{url}/delete")
    assert member_client.get(url).status_code == 404


def test_vcard_download_of_one_contact_and_of_the_list(app, member_client, outsider_client, team):
    with app.app_context():
        t = db.session.merge(team)
        ada = factories.contact(t, "Ada", "Lovelace", email="ada@example.org").id
        factories.contact(t, "Grace", "Hopper")
    one = member_client.get(f"/contacts/{ada}/vcard?version=3.0")
    assert one.status_code == 200 and one.mimetype == "text/vcard"
    assert "attachment" in one.headers["Content-Disposition"] and "FN:Ada Lovelace" in one.get_data(as_text=True)
    assert outsider_client.get(f"/contacts/{ada}/vcard").status_code == 404
    assert member_client.get(f"/contacts/{ada}/vcard?version=9").status_code == 422
    listed = member_client.get("/contacts/export.vcf?q=grace").get_data(as_text=True)
    assert listed.count("BEGIN:VCARD") == 1 and "FN:Grace Hopper" in listed
    assert member_client.get("/contacts/export.vcf?organization_id=x").status_code == 422
    index = member_client.get("/").get_data(as_text=True)
    assert "Export vCards" in index
