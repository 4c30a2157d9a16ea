"""Duplicates: the look-alike warning (service, form, API), the duplicate scan with its blocking,
and the review queue (dismissed pairs never come back, invisible contacts never shown)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, DuplicatePair, Job
from core.services import contacts as contact_service
from core.services import duplicate_scan, duplicates
from tests import factories
from tests.core.test_api_contacts import Api, make_token


def _team(t):
    return db.session.merge(t)


def _contact(t, first, last, **extra):
    return factories.contact(_team(t), first, last, **extra).id


def _ids(similar):
    return [s.contact.id for s in similar]


# --- the warning ------------------------------------------------------------------------------------


def test_find_similar_by_phone_email_and_close_name_at_the_same_org(ctx, member, team):
    org = factories.organization(_team(team), "Acme")
    same_phone = _contact(team, "Zed", "Other", phone="+442079460958")
    close_name = _contact(team, "Jonathan", "Smith", organization_id=org.id)
    _contact(team, "Jonathan", "Smith")  # same name, no organization: not a look-alike
    far_name = _contact(team, "Mary", "Smithers", organization_id=org.id)
    holder = _contact(team, "Ada", "Lovelace", email="ada@example.org")

    found = duplicates.find_similar(member, {"first_name": "Jonathon", "last_name": "Smith", "organization_id": str(org.id),
                                             "phone": "+44 20 7946 0958", "email": "ADA@example.org"})
    assert set(_ids(found)) == {same_phone, close_name, holder}
    assert far_name not in _ids(found)
    by_id = {s.contact.id: s for s in found}
    assert by_id[same_phone].reasons == ["phone"] and by_id[holder].reasons == ["email"]
    assert by_id[close_name].reasons == ["name"] and by_id[close_name].score >= duplicates.NAME_CUTOFF
    assert duplicates.find_similar(member, {"phone": "+44 20 7946 0958"}, exclude_id=same_phone) == []
    assert len(duplicates.find_similar(member, {"first_name": "Jonathon", "last_name": "Smith",
                                                "organization_id": org.id, "phone": "+44 20 7946 0958"}, limit=1)) == 1


def test_find_similar_ignores_bad_values_deleted_and_invisible_contacts(ctx, member, team, other_team):
    theirs = _contact(other_team, "Ann", "Lee", phone="+442079460958")
    gone = _contact(team, "Bob", "Lee", phone="+442079460958")
    db.session.get(Contact, gone).deleted_at = db.func.now()
    db.session.commit()
    assert duplicates.find_similar(member, {"phone": "+44 20 7946 0958"}) == []
    assert duplicates.find_similar(member, {"phone": "nope", "email": "@@", "organization_id": "x\x00",
                                            "first_name": None}) == []
    admin = factories.user("admin", [])
    assert _ids(duplicates.find_similar(admin, {"phone": "+44 20 7946 0958"})) == [theirs]


def test_form_warns_then_creates_anyway(member_client, team):
    with member_client.application.app_context():
        existing = _contact(team, "Grace", "Hopper", phone="+442079460958")
    data = {"first_name": "Grace", "last_name": "Hoper", "phone": "+44 20 7946 0958"}
    answer = member_client.post("/contacts/new", data=data, headers={"HX-Request": "true"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "may already exist" in body
    assert f'href="/contacts/{existing}"' in body and "same phone number" in body
    assert 'name="confirm_duplicates" value="1"' in body and "Create anyway" in body
    with member_client.application.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Contact)) == 1
    answer = member_client.post("/contacts/new", data={**data, "confirm_duplicates": "1"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "was created" in answer.get_data(as_text=True)
    with member_client.application.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Contact)) == 2


def test_form_hides_look_alikes_the_user_may_not_see(member_client, other_team):
    with member_client.application.app_context():
        _contact(other_team, "Grace", "Hopper", phone="+442079460958")
    answer = member_client.post("/contacts/new", data={"first_name": "Grace", "phone": "+44 20 7946 0958"},
                                headers={"HX-Request": "true"})
    assert "may already exist" not in answer.get_data(as_text=True) and "was created" in answer.get_data(as_text=True)


def test_same_email_is_refused_with_a_link_to_the_holder(member_client, team):
    with member_client.application.app_context():
        holder = _contact(team, "Grace", "Hopper", email="grace@example.org")
    answer = member_client.post("/contacts/new", data={"first_name": "G", "email": "Grace@example.org"},
                                headers={"HX-Request": "true"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "already has this email" in body and f'href="/contacts/{holder}"' in body


def test_form_warning_reads_no_email_when_nothing_else_looks_alike(member_client, team, monkeypatch):
    with member_client.application.app_context():
        _contact(team, "Grace", "Hopper", email="grace@example.org", phone="+442079460958")
    asked = []
    real = duplicates.find_similar
    monkeypatch.setattr(duplicates, "find_similar", lambda actor, values, **kw: asked.append(dict(values)) or real(
        actor, values, **kw))
    fresh = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org"}
    answer = member_client.post("/contacts/new", data=fresh, headers={"HX-Request": "true"})
    assert "was created" in answer.get_data(as_text=True)
    assert len(asked) == 1 and "email" not in asked[0]  # one look, without the email
    # same phone AND same email: no warning, the save refuses the email and links its holder (as before)
    asked.clear()
    both = {"first_name": "G", "phone": "+44 20 7946 0958", "email": "grace@example.org"}
    answer = member_client.post("/contacts/new", data=both, headers={"HX-Request": "true"})
    assert answer.status_code == 422 and "already has this email" in answer.get_data(as_text=True)
    assert len(asked) == 2 and asked[1]["email"] == "grace@example.org"


def test_api_create_lists_possible_duplicates(app, member, team):
    with app.app_context():
        existing = _contact(team, "Grace", "Hopper", phone="+442079460958")
    api = Api(app, make_token(app, member))
    answer = api.post("/api/v1/contacts", json={"first_name": "Grace", "phone": "+44 20 7946 0958"})
    assert answer.status_code == 201
    found = answer.json["possible_duplicates"]
    assert [d["contact"]["id"] for d in found] == [existing] and found[0]["reasons"] == ["phone"]
    answer = api.post("/api/v1/contacts", json={"first_name": "Alan", "phone": "+44 20 7946 0000"})
    assert answer.status_code == 201 and answer.json["possible_duplicates"] == []


# --- the scan and the queue ---------------------------------------------------------------------------


@pytest.fixture
def people(app, team, other_team):
    """Look-alikes of every kind, and contacts that must not pair up."""
    with app.app_context():
        acme = factories.organization(_team(team), "Acme").id
        ids = {
            "phone1": _contact(team, "Ann", "Archer", phone="+442079460001"),
            "phone2": _contact(team, "Bea", "Brown", phone="+442079460001"),
            "plus1": _contact(team, "Cy", "Cole", email="cy@example.org"),
            "plus2": _contact(team, "Cyrus", "Cole", email="cy+news@example.org"),
            "gmail1": _contact(team, "Di", "Dean", email="di.dean@gmail.com"),
            "gmail2": _contact(team, "Diana", "Dean", email="didean@googlemail.com"),
            "name1": _contact(team, "Jonathan", "Smith", organization_id=acme),
            "name2": _contact(team, "Jonathon", "Smith", organization_id=acme),
            "loner": _contact(team, "Mary", "Smithers", organization_id=acme),
            "twin1": _contact(team, "Paul", "Young", organization_id=acme, email="p1@x.example", phone="+442079460101"),
            "twin2": _contact(team, "Paul", "Young", organization_id=acme, email="p2@x.example", phone="+442079460102"),
            "half1": _contact(team, "Rosa", "Parks", organization_id=acme, email="r1@x.example"),
            "half2": _contact(team, "Rosa", "Parks", organization_id=acme, email="r2@x.example"),
            "swap1": _contact(team, "John", "Williams", organization_id=acme),
            "swap2": _contact(team, "William", "Johnson", organization_id=acme),
            "noorg1": _contact(team, "Eve", "Evans"),
            "noorg2": _contact(team, "Eve", "Evans"),
            "theirs": _contact(other_team, "Ann", "Archer", phone="+442079460001"),
        }
        return ids


def _pairs(app):
    with app.app_context():
        return {(p.a_id, p.b_id): p for p in db.session.scalars(select(DuplicatePair))}


def _key(people, x, y):
    a, b = people[x], people[y]
    return (min(a, b), max(a, b))


def test_scan_finds_pairs_by_blocking(ctx, app, admin, people):
    job = duplicate_scan.start(admin)
    job = db.session.get(Job, job.id, populate_existing=True)
    assert job.status == "done", job.message
    pairs = _pairs(app)
    expected = {_key(people, "phone1", "phone2"), _key(people, "phone1", "theirs"), _key(people, "phone2", "theirs"),
                _key(people, "plus1", "plus2"), _key(people, "gmail1", "gmail2"), _key(people, "name1", "name2"),
                _key(people, "half1", "half2")}  # not twin1/twin2: both their emails and phones differ

    assert set(pairs) == expected
    assert pairs[_key(people, "phone1", "phone2")].reasons == ["phone"]
    assert pairs[_key(people, "gmail1", "gmail2")].reasons == ["email"]
    assert pairs[_key(people, "name1", "name2")].reasons == ["name"]
    assert pairs[_key(people, "half1", "half2")].score == 100 - duplicates.CONFLICT_PENALTY
    assert job.result["summary"]["New pairs"] == 7
    # A second scan finds the same pairs and adds none.
    again = duplicate_scan.start(admin)
    assert db.session.get(Job, again.id, populate_existing=True).result["summary"]["New pairs"] == 0
    assert set(_pairs(app)) == expected


def test_scan_blocks_large_organizations(ctx, app, admin, team, monkeypatch):
    monkeypatch.setattr(duplicate_scan, "BLOCK_CAP", 4)
    org = factories.organization(_team(team), "Big").id
    for i in range(8):
        _contact(team, f"Person{i}", f"Zz{i:02d}", organization_id=org)
    a = _contact(team, "Katherine", "Johnson", organization_id=org)
    b = _contact(team, "Katharine", "Johnson", organization_id=org)
    duplicate_scan.start(admin)
    assert set(_pairs(app)) == {(a, b)}


def test_only_admins_and_managers_start_a_scan(ctx, member, manager, viewer):
    for user in (member, viewer):
        with pytest.raises(PermissionDenied):
            duplicate_scan.start(user)
    assert duplicate_scan.start(manager).kind == duplicate_scan.KIND


def test_queue_best_first_dismissed_never_back_invisible_never_shown(ctx, app, admin, member, outsider, viewer, people):
    duplicate_scan.start(admin)
    page = duplicates.list_pairs(member)
    keys = [(p.a_id, p.b_id) for p in page.items]
    assert _key(people, "phone1", "theirs") not in keys  # "theirs" is another team's contact
    assert len(keys) == 5 and [p.score for p in page.items] == sorted((p.score for p in page.items), reverse=True)
    assert duplicates.list_pairs(outsider).items == [] and duplicates.list_pairs(viewer).items == []
    assert len(duplicates.list_pairs(admin).items) == 7

    pair = next(p for p in page.items if (p.a_id, p.b_id) == _key(people, "name1", "name2"))
    with pytest.raises(NotFound):
        duplicates.dismiss(outsider, pair.id)
    duplicates.dismiss(member, pair.id)
    with pytest.raises(ValidationError):
        duplicates.dismiss(member, pair.id)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.entity_type == "duplicate_pair")) == "dismissed"
    duplicate_scan.start(admin)
    assert pair.id not in [p.id for p in duplicates.list_pairs(member).items]
    assert db.session.get(DuplicatePair, pair.id, populate_existing=True).status == "dismissed"

    # A contact moved to the trash takes its pairs out of the queue.
    contact_service.delete_contact(member, people["plus1"])
    assert _key(people, "plus1", "plus2") not in [(p.a_id, p.b_id) for p in duplicates.list_pairs(member).items]


def test_queue_page_and_api(app, admin, member, people, client_for):
    api_admin = Api(app, make_token(app, admin))
    answer = api_admin.post("/api/v1/duplicate-scans")
    assert answer.status_code == 202 and answer.json["status"] == "done"
    api = Api(app, make_token(app, member))
    assert api.post("/api/v1/duplicate-scans").status_code == 403
    listed = api.get("/api/v1/duplicates?limit=2")
    assert listed.status_code == 200 and len(listed.json["items"]) == 2 and listed.json["next_cursor"]
    rest = api.get(f"/api/v1/duplicates?cursor={listed.json['next_cursor']}").json["items"]
    assert len(rest) == 3
    pair_id = listed.json["items"][0]["id"]
    assert api.post(f"/api/v1/duplicates/{pair_id}/dismiss").json["status"] == "dismissed"
    assert api.post(f"/api/v1/duplicates/{pair_id}/dismiss").status_code == 422
    assert api.post("/api/v1/duplicates/999999/dismiss").status_code == 404
    assert api.get("/api/v1/duplicates?limit=0").status_code == 422

    client = client_for(member)
    body = client.get("/duplicates/").get_data(as_text=True)
    assert "Not a duplicate" in body and "Later" in body and "Find duplicates" not in body
    shown = [p["id"] for p in rest]
    answer = client.post(f"/duplicates/{shown[0]}/dismiss", headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "will not be suggested again" in answer.get_data(as_text=True)
    assert "Find duplicates" in client_for(admin).get("/duplicates/").get_data(as_text=True)
    assert client.post("/duplicates/scan").status_code == 403


class _Ctx:
    """Stands in for a job context: records the bookmarks the runner saves."""

    def __init__(self, checkpoint):
        self.checkpoint, self.saved, self.beats = checkpoint, [], 0

    def progress(self, done, total=None, checkpoint=None):
        if checkpoint is not None:
            self.saved.append(checkpoint)
        else:
            self.beats += 1


def test_scan_resumes_from_its_checkpoint(ctx, app, people, monkeypatch):
    """A scan resumed in the name phase (a worker died there) does only that phase's work; a long
    batch beats the heartbeat between blocks."""
    monkeypatch.setattr(duplicate_scan, "BEAT_SECONDS", -1)
    monkeypatch.setattr(duplicate_scan, "BLOCK_CAP", 2)  # blocks, so there are beats
    run = _Ctx({"phase": "name", "after": 0, "done": 0, "stats": {}, "total": 24})
    result = duplicate_scan.run(run)
    assert set(_pairs(app)) == {_key(people, "name1", "name2"), _key(people, "half1", "half2")}
    assert result["summary"]["New pairs"] == 2
    assert run.saved[-1]["phase"] == "done" and all(c["phase"] in ("name", "done") for c in run.saved)
    assert run.beats > 0
    full = _Ctx({})
    duplicate_scan.run(full)
    assert {c["phase"] for c in full.saved} == {"phone", "email", "name", "done"}
    assert len(_pairs(app)) == 7 and full.saved[-1]["phase"] == "done"


def test_a_name_common_at_an_organization_is_not_a_duplicate(ctx, app, admin, team):
    org = factories.organization(_team(team), "Big").id
    for _ in range(duplicate_scan.NAME_GROUP_CAP + 1):
        _contact(team, "John", "Smith", organization_id=org)
    a = _contact(team, "Katherine", "Johnson", organization_id=org)
    b = _contact(team, "Katharine", "Johnson", organization_id=org)
    job = duplicate_scan.start(admin)
    assert set(_pairs(app)) == {(a, b)}
    summary = db.session.get(Job, job.id, populate_existing=True).result["summary"]
    assert summary["Contacts left out: their name is shared by more than 5 at their organization"] == 6
