"""The trash page: deleted contacts and organizations, restore, load more, empty state."""

from __future__ import annotations

import re

import pytest

from core.extensions import db
from core.models import Contact, Organization, utcnow
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def deleted(app, team, member):
    """Make deleted contacts / organizations in ``team`` (or another team); return their ids."""

    def _make(kind="contact", n=1, owner=None, **extra):
        ids = []
        with app.app_context():
            t = db.session.merge(owner or team)
            for i in range(n):
                if kind == "contact":
                    record = factories.contact(t, "Gone", f"C{i:03d}", **extra)
                else:
                    record = factories.organization(t, f"Gone Org {i:03d}", **extra)
                record.deleted_at = utcnow()
                record.deleted_by_id = member.id
                db.session.commit()
                ids.append(record.id)
        return ids

    return _make


def test_empty_trash(member_client):
    html = member_client.get("/trash").get_data(as_text=True)
    assert "No deleted contacts" in html and "No deleted organizations" in html


def test_trash_lists_deleted_records_of_my_teams_only(member_client, deleted, other_team, app, team):
    (cid,) = deleted("contact")
    (oid,) = deleted("organization")
    deleted("contact", owner=other_team)
    with app.app_context():
        factories.contact(db.session.merge(team), "Alive", "Here")
    html = member_client.get("/trash").get_data(as_text=True)
    assert "Gone C000" in html and "Gone Org 000" in html and "Alive Here" not in html
    assert len(re.findall(r'<tr id="trash-contact-', html)) == 1
    assert f'hx-post="/contacts/{cid}/restore"' in html
    assert f'hx-post="/trash/organizations/{oid}/restore"' in html
    assert "HX-Request" in member_client.get("/trash").headers["Vary"]


def test_restore_contact_and_organization_from_the_trash(app, member_client, deleted):
    (cid,) = deleted("contact")
    (oid,) = deleted("organization")
    response = member_client.post(f"/contacts/{cid}/restore", headers=HX)
    assert response.status_code == 200 and "Gone C000 was restored." in response.get_data(as_text=True)
    response = member_client.post(f"/trash/organizations/{oid}/restore", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith('<div hx-swap-oob="beforeend:#toasts">')
    assert "Gone Org 000 was restored." in body
    with app.app_context():
        assert db.session.get(Contact, cid).deleted_at is None
        assert db.session.get(Organization, oid).deleted_at is None
    html = member_client.get("/trash").get_data(as_text=True)
    assert "No deleted contacts" in html and "No deleted organizations" in html
    # without JavaScript: a plain POST redirects
    (oid2,) = deleted("organization")
    plain = member_client.post(f"/trash/organizations/{oid2}/restore")
    assert plain.status_code == 302


def test_trash_load_more(member_client, deleted):
    deleted("contact", n=53)
    deleted("organization", n=51)
    html = member_client.get("/trash").get_data(as_text=True)
    assert len(re.findall(r'<tr id="trash-contact-', html)) == 50
    assert len(re.findall(r'<tr id="trash-organization-', html)) == 50
    more = re.search(r'<tr class="more" hx-get="([^"]*kind=contacts[^"]*)"', html).group(1).replace("&amp;", "&")
    rest = member_client.get(more, headers=HX).get_data(as_text=True)
    assert len(re.findall(r'<tr id="trash-contact-', rest)) == 3 and "<html" not in rest and 'class="more"' not in rest
    more = re.search(r'<tr class="more" hx-get="([^"]*kind=organizations[^"]*)"', html).group(1).replace("&amp;", "&")
    rest = member_client.get(more, headers=HX).get_data(as_text=True)
    assert re.findall(r'<tr id="trash-organization-', rest) and "Gone Org 050" in rest
    assert member_client.get("/trash?kind=contacts&cursor=garbage").status_code == 422


def test_viewer_cannot_restore(app, viewer_client, deleted):
    (cid,) = deleted("contact")
    (oid,) = deleted("organization")
    html = viewer_client.get("/trash").get_data(as_text=True)
    assert "Gone C000" in html and "/restore" not in html
    assert viewer_client.post(f"/contacts/{cid}/restore").status_code == 403
    assert viewer_client.post(f"/trash/organizations/{oid}/restore").status_code == 403
    with app.app_context():
        assert db.session.get(Contact, cid).deleted_at is not None


def test_outsider_gets_404_restoring_another_teams_record(outsider_client, deleted):
    (cid,) = deleted("contact")
    (oid,) = deleted("organization")
    assert outsider_client.post(f"/contacts/{cid}/restore").status_code == 404
    assert outsider_client.post(f"/trash/organizations/{oid}/restore").status_code == 404
